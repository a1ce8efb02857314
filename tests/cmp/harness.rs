//! An in-process server on a socket in a temporary directory, and the
//! repo-server's side of each call.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kiln::cmp::client::{self, Application, Tarball};
use kiln::cmp::{Renderer, Service, Settings};
use kiln::service::{RenderService, ServiceConfig};
use kiln_cmp_proto::config_management_plugin_service_client::ConfigManagementPluginServiceClient;
use kiln_cmp_proto::{AppStreamRequest, ManifestResponse};
use serde_json::Value;
use tonic::transport::Channel;

/// Compiled plugins and the render cache, shared by every test of this
/// binary (each plugin is compiled once per run).
pub(crate) fn compiled_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("kiln-cmp-cache")
}

/// The repository root.
pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A renderer like the server's: the render service, without memos.
pub(crate) fn service_renderer() -> Arc<RenderService> {
    let mut config = ServiceConfig::new(compiled_cache());
    config.memo = false;
    Arc::new(RenderService::new(config).unwrap())
}

/// A running server.
pub(crate) struct Server {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) socket: PathBuf,
    pub(crate) work: PathBuf,
    pub(crate) rt: tokio::runtime::Runtime,
    pub(crate) metrics: Arc<kiln::cmp::metrics::Metrics>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    done: Option<tokio::task::JoinHandle<()>>,
}

impl Server {
    /// A server with default settings changed by `tweak`, rendering with
    /// `renderer` (default: the render service).
    pub(crate) fn start(
        tweak: impl FnOnce(&mut Settings),
        renderer: Option<Arc<dyn Renderer>>,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let work = dir.path().join("work");
        let mut settings = Settings {
            work_dir: work.clone(),
            concurrency: 2,
            ..Settings::default()
        };
        tweak(&mut settings);
        let renderer = renderer.unwrap_or_else(|| service_renderer() as Arc<dyn Renderer>);
        let (metrics, _registry) = kiln::cmp::metrics::Metrics::new();
        let service = Service::new(settings, renderer, Arc::clone(&metrics)).unwrap();
        let socket = kiln::cmp::socket_path(&dir.path().join("plugins"), "kiln", None);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let done = {
            let _guard = rt.enter();
            let listener = kiln::cmp::bind(&socket).unwrap();
            let socket = socket.clone();
            rt.spawn(async move {
                kiln::cmp::serve(service, listener, &socket, async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
            })
        };
        Self {
            dir,
            socket,
            work,
            rt,
            metrics,
            stop: Some(stop),
            done: Some(done),
        }
    }

    /// A default server.
    pub(crate) fn default_server() -> Self {
        Self::start(|_| {}, None)
    }

    /// A connected client.
    pub(crate) fn client(&self) -> ConfigManagementPluginServiceClient<Channel> {
        self.rt.block_on(client::connect(&self.socket)).unwrap()
    }

    /// Runs `f` on the server's runtime.
    pub(crate) fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// Request directories left in the work directory.
    pub(crate) fn leftovers(&self) -> Vec<String> {
        std::fs::read_dir(&self.work)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Waits until no request directory is left (a render abandoned at the
    /// deadline finishes in the background), up to `within`.
    pub(crate) fn wait_clean(&self, within: Duration) -> Vec<String> {
        let until = std::time::Instant::now() + within;
        loop {
            let left = self.leftovers();
            if left.is_empty() || std::time::Instant::now() > until {
                return left;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server as SIGTERM would and waits for it.
    pub(crate) fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(done) = self.done.take() {
            self.rt.block_on(done).unwrap();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The Application the tests stand for: named `web`, in `prod`.
pub(crate) fn application(path: &str) -> Application {
    Application {
        name: "web".into(),
        namespace: "prod".into(),
        project: "default".into(),
        revision: "0123456789abcdef0123456789abcdef01234567".into(),
        repo_url: "https://git.example.com/org/config.git".into(),
        path: path.into(),
        target_revision: "HEAD".into(),
        kube_version: "1.30.0".into(),
        api_versions: vec!["v1".into(), "apps/v1".into()],
        plugin_env: Vec::new(),
        parameters: None,
    }
}

/// The messages of one stream, as Argo CD sends them (1 KiB chunks).
pub(crate) fn stream(
    path: &str,
    env: &[(String, String)],
    tarball: &Tarball,
) -> Vec<AppStreamRequest> {
    client::messages(path, env, tarball, client::DEFAULT_CHUNK)
}

/// `GenerateManifest` of the app at `path` in `root`, as Argo CD sends it.
pub(crate) async fn generate(
    client: &mut ConfigManagementPluginServiceClient<Channel>,
    root: &Path,
    app: &Application,
) -> Result<ManifestResponse, tonic::Status> {
    let tarball = client::tarball(root, &[".git/*".to_owned()]).unwrap();
    let messages = stream(&app.path, &app.generate_env(), &tarball);
    client
        .generate_manifest(client::streaming(messages, None))
        .await
        .map(tonic::Response::into_inner)
}

/// The manifests of a response, parsed as the repo-server parses them.
pub(crate) fn parsed(response: &ManifestResponse) -> Vec<Value> {
    response
        .manifests
        .iter()
        .map(|m| serde_json::from_str(m).unwrap_or_else(|e| panic!("not JSON ({e}): {m}")))
        .collect()
}

/// The documents of a YAML stream file.
pub(crate) fn yaml_docs(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    kiln_resource::yaml::parse_stream(&text, &path.display().to_string())
        .unwrap()
        .into_iter()
        .filter(|d| !d.is_null())
        .collect()
}

/// `docs` sorted by kind, namespace and name (for comparing sets).
pub(crate) fn sorted(mut docs: Vec<Value>) -> Vec<Value> {
    docs.sort_by_key(|d| {
        (
            d["kind"].as_str().unwrap_or_default().to_owned(),
            d["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            d["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        )
    });
    docs
}

/// Copies the tree at `from` to `to` (files and directories only).
pub(crate) fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Writes `rel` under `root`, creating directories.
pub(crate) fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}
