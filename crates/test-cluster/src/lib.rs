//! A real Kubernetes control plane for kiln's tests: etcd and kube-apiserver, started by
//! `tests/cluster/up.sh` in a temporary directory (one source of truth for how they run), with
//! RBAC on and a client-certificate admin identity.
//!
//! kube-apiserver takes seconds to start, so a test binary shares one control plane through
//! [`shared`], and each test works in namespaces and apps of its own ([`Cluster::unique`]). A
//! shared control plane lives as long as the test process: `up.sh` leaves a watcher that stops it
//! and removes its directory once the process has exited. [`Cluster::start`] gives one of its own
//! that stops when dropped.
//!
//! The binaries come from `KILN_CLUSTER_BIN`, else from the cache directory that
//! `tests/cluster/build.sh` builds into; when they are missing, starting fails and says how to
//! build them. There is no controller-manager or kubelet: tests play the controllers with
//! [`set_status`] and [`finalize_namespace`].
//!
//! ```no_run
//! # async fn demo() {
//! let cluster = kiln_test_cluster::shared();
//! let client = cluster.client().await;
//! let ns = cluster.unique("shop");
//! # }
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::Value;

/// Why a control plane could not start or be reached.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "the control plane binaries are missing: {missing} (build them with `tests/cluster/build.sh`, which needs Go and the Go module proxy, or set KILN_CLUSTER_BIN to a directory holding kube-apiserver and etcd)"
    )]
    Missing { missing: String },
    #[error("cannot run {script}: {source}")]
    Spawn {
        script: String,
        source: std::io::Error,
    },
    #[error("{script} failed ({status}):\n{stderr}")]
    Script {
        script: String,
        status: std::process::ExitStatus,
        stderr: String,
    },
    #[error("cannot make a temporary directory for the control plane: {0}")]
    TempDir(std::io::Error),
    #[error("cannot read the kubeconfig {path}: {message}")]
    Kubeconfig { path: String, message: String },
    #[error("{method} {path}: {source}")]
    Request {
        method: &'static str,
        path: String,
        source: Box<kube::Error>,
    },
}

/// A running control plane.
#[derive(Debug)]
pub struct Cluster {
    dir: PathBuf,
    url: String,
    /// Set for a control plane of its own: stopped and removed on drop.
    owned: Option<tempfile::TempDir>,
}

/// The directory of `tests/cluster` in this repository.
fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/cluster")
}

/// Where the binaries are: `KILN_CLUSTER_BIN`, else the directory `build.sh` builds into.
pub fn bin_dir() -> Result<PathBuf, Error> {
    if let Some(dir) = std::env::var_os("KILN_CLUSTER_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let script = scripts().join("build.sh");
    let out = Command::new(&script)
        .arg("--dir")
        .output()
        .map_err(|source| Error::Spawn {
            script: script.display().to_string(),
            source,
        })?;
    if !out.status.success() {
        return Err(Error::Script {
            script: script.display().to_string(),
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

static SHARED: OnceLock<Cluster> = OnceLock::new();

/// The control plane this test binary shares, started on first use.
///
/// # Panics
///
/// When it cannot start (the message says why, and how to build missing binaries).
pub fn shared() -> &'static Cluster {
    SHARED.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("kiln-cluster-")
            .tempdir()
            .map_err(Error::TempDir)
            .and_then(|dir| {
                // the watcher removes it once this process has exited
                let dir = dir.keep();
                Cluster::up(dir, true)
            });
        match dir {
            Ok(cluster) => cluster,
            Err(e) => panic!("cannot start the test control plane: {e}"),
        }
    })
}

impl Cluster {
    /// Starts a control plane of its own, stopped when dropped.
    pub fn start() -> Result<Cluster, Error> {
        let dir = tempfile::Builder::new()
            .prefix("kiln-cluster-")
            .tempdir()
            .map_err(Error::TempDir)?;
        let mut cluster = Cluster::up(dir.path().to_owned(), false)?;
        cluster.owned = Some(dir);
        Ok(cluster)
    }

    fn up(dir: PathBuf, cleanup: bool) -> Result<Cluster, Error> {
        let bin = bin_dir()?;
        let missing: Vec<String> = ["kube-apiserver", "etcd"]
            .iter()
            .map(|b| bin.join(b))
            .filter(|p| !p.is_file())
            .map(|p| p.display().to_string())
            .collect();
        if !missing.is_empty() {
            return Err(Error::Missing {
                missing: missing.join(", "),
            });
        }
        let script = scripts().join("up.sh");
        let out = Command::new(&script)
            .arg(&dir)
            .env("KILN_CLUSTER_BIN", &bin)
            .env("KILN_CLUSTER_WATCH_PID", std::process::id().to_string())
            .env("KILN_CLUSTER_CLEANUP", if cleanup { "1" } else { "0" })
            .output()
            .map_err(|source| Error::Spawn {
                script: script.display().to_string(),
                source,
            })?;
        if !out.status.success() {
            return Err(Error::Script {
                script: script.display().to_string(),
                status: out.status,
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            });
        }
        Ok(Cluster {
            dir,
            url: String::from_utf8_lossy(&out.stdout).trim().to_owned(),
            owned: None,
        })
    }

    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The admin kubeconfig (client certificate, `system:masters`).
    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }

    /// The directory with the logs, certificates and etcd data.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How many requests the server has received so far: a mark for [`Cluster::requests_since`].
    pub fn request_mark(&self) -> usize {
        self.requests_since(0).len()
    }

    /// The requests received after `mark` (from [`Cluster::request_mark`]), oldest first. Other
    /// tests share the server: filter them by namespace or name.
    pub fn requests_since(&self, mark: usize) -> Vec<Request> {
        let text = fs_err::read_to_string(self.dir.join("audit.log")).unwrap_or_default();
        text.lines().filter_map(Request::parse).skip(mark).collect()
    }

    /// A name no other test of this process gets: `PREFIX-N`.
    pub fn unique(&self, prefix: &str) -> String {
        static NEXT: AtomicU32 = AtomicU32::new(1);
        format!("{prefix}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
    }

    /// A client with the admin identity on the current tokio runtime (a client belongs to the
    /// runtime it was made on, so each test makes its own). Its default namespace is `default`.
    pub async fn client(&self) -> kube::Client {
        match self.try_client().await {
            Ok(client) => client,
            Err(e) => panic!("{e}"),
        }
    }

    pub async fn try_client(&self) -> Result<kube::Client, Error> {
        // kube's TLS stack needs a process-wide rustls provider; `Err` means one is installed
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let path = self.kubeconfig();
        let bad = |message: String| Error::Kubeconfig {
            path: path.display().to_string(),
            message,
        };
        let kubeconfig =
            kube::config::Kubeconfig::read_from(&path).map_err(|e| bad(e.to_string()))?;
        let config = kube::Config::from_custom_kubeconfig(
            kubeconfig,
            &kube::config::KubeConfigOptions::default(),
        )
        .await
        .map_err(|e| bad(e.to_string()))?;
        kube::Client::try_from(config).map_err(|e| bad(e.to_string()))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.owned.is_some() {
            // best effort: the watcher stops it anyway once the process exits
            let _ = Command::new(scripts().join("down.sh"))
                .arg(&self.dir)
                .output();
        }
    }
}

/// A request the API server received from the admin identity, from its audit log (written as
/// each request arrives, before it is handled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The API verb: `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, ...
    pub verb: String,
    /// The path and query.
    pub uri: String,
    /// The resource (`configmaps`), empty for discovery and other non-resource paths.
    pub resource: String,
    pub namespace: String,
    pub name: String,
    /// Sent as a dry run (`dryRun=All`).
    pub dry_run: bool,
}

impl Request {
    /// Whether it could change what is stored: a write that is not a dry run.
    pub fn is_write(&self) -> bool {
        !self.dry_run
            && matches!(
                self.verb.as_str(),
                "create" | "update" | "patch" | "delete" | "deletecollection"
            )
    }

    /// Whether it is about namespace `ns`: an object in it, or the namespace itself.
    pub fn in_namespace(&self, ns: &str) -> bool {
        self.namespace == ns || (self.resource == "namespaces" && self.name == ns)
    }

    fn parse(line: &str) -> Option<Request> {
        let event: Value = serde_json::from_str(line).ok()?;
        let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_owned();
        let uri = text(event.get("requestURI"));
        let dry_run = uri
            .split_once('?')
            .is_some_and(|(_, q)| q.split('&').any(|p| p == "dryRun=All"));
        Some(Request {
            verb: text(event.get("verb")),
            resource: text(event.pointer("/objectRef/resource")),
            namespace: text(event.pointer("/objectRef/namespace")),
            name: text(event.pointer("/objectRef/name")),
            uri,
            dry_run,
        })
    }
}

/// The URL path of an object: `api_version` as in manifests (`v1`, `apps/v1`), `plural` the
/// resource, `namespace` empty for cluster-scoped ones.
pub fn path(api_version: &str, plural: &str, namespace: &str, name: &str) -> String {
    let root = if api_version.contains('/') {
        format!("/apis/{api_version}")
    } else {
        format!("/api/{api_version}")
    };
    let ns = if namespace.is_empty() {
        String::new()
    } else {
        format!("/namespaces/{namespace}")
    };
    format!("{root}{ns}/{plural}/{name}")
}

async fn send(
    client: &kube::Client,
    method: &'static str,
    path: String,
    body: Option<(&str, &Value)>,
) -> Result<Option<Value>, Error> {
    let mut req = http::Request::builder().method(method).uri(&path);
    let bytes = match body {
        Some((content_type, body)) => {
            req = req.header(http::header::CONTENT_TYPE, content_type);
            serde_json::to_vec(body).unwrap_or_default()
        }
        None => Vec::new(),
    };
    let req = req.body(bytes).map_err(|e| Error::Request {
        method,
        path: path.clone(),
        source: Box::new(kube::Error::HttpError(e)),
    })?;
    match client.request::<Value>(req).await {
        Ok(v) => Ok(Some(v)),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(None),
        Err(source) => Err(Error::Request {
            method,
            path,
            source: Box::new(source),
        }),
    }
}

/// The live object, or `None` when the server answers 404.
///
/// # Panics
///
/// On any other error (a test helper).
pub async fn get(
    client: &kube::Client,
    api_version: &str,
    plural: &str,
    namespace: &str,
    name: &str,
) -> Option<Value> {
    match send(
        client,
        "GET",
        path(api_version, plural, namespace, name),
        None,
    )
    .await
    {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    }
}

/// Whether the object is gone, or being deleted (a `deletionTimestamp`: without the garbage
/// collector and namespace controller of kube-controller-manager, an object deleted in the
/// foreground, or a namespace, stays until its finalizers are removed).
pub async fn deleted(
    client: &kube::Client,
    api_version: &str,
    plural: &str,
    namespace: &str,
    name: &str,
) -> bool {
    get(client, api_version, plural, namespace, name)
        .await
        .is_none_or(|o| o.pointer("/metadata/deletionTimestamp").is_some())
}

/// Merges `status` into the object's status subresource, as a controller would.
///
/// # Panics
///
/// When the server refuses (a test helper).
pub async fn set_status(
    client: &kube::Client,
    api_version: &str,
    plural: &str,
    namespace: &str,
    name: &str,
    status: Value,
) -> Value {
    let body = serde_json::json!({ "status": status });
    let path = format!("{}/status", path(api_version, plural, namespace, name));
    match send(
        client,
        "PATCH",
        path.clone(),
        Some(("application/merge-patch+json", &body)),
    )
    .await
    {
        Ok(Some(v)) => v,
        Ok(None) => panic!("PATCH {path}: not found"),
        Err(e) => panic!("{e}"),
    }
}

/// Creates a namespace.
///
/// # Panics
///
/// When the server refuses (a test helper).
pub async fn create_namespace(client: &kube::Client, name: &str) {
    let body =
        serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
    if let Err(e) = send(
        client,
        "POST",
        "/api/v1/namespaces".to_owned(),
        Some(("application/json", &body)),
    )
    .await
    {
        panic!("{e}");
    }
}

/// Finishes deleting a namespace, as the namespace controller would once it has emptied it:
/// clears its `spec.finalizers` through the `finalize` subresource. (The objects in it stay in
/// etcd: there is no controller to delete them.) Returns whether the namespace existed.
///
/// # Panics
///
/// When the server refuses (a test helper).
pub async fn finalize_namespace(client: &kube::Client, name: &str) -> bool {
    let Some(mut ns) = get(client, "v1", "namespaces", "", name).await else {
        return false;
    };
    ns["spec"]["finalizers"] = serde_json::json!([]);
    let path = format!("/api/v1/namespaces/{name}/finalize");
    match send(client, "PUT", path, Some(("application/json", &ns))).await {
        Ok(_) => true,
        Err(e) => panic!("{e}"),
    }
}
