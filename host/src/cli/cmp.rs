//! `kiln cmp-server`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;

use super::cache::CacheArgs;
use super::{ExitStatus, GlobalArgs, Hint};
use crate::cmp::{self, Operator, Settings, SopsKey, client, unpack::Caps};
use crate::runtime::limits;
use crate::service::{RenderService, ServiceConfig};

/// Serve Argo CD's Config Management Plugin protocol (CMP v2) on the plugins
/// socket, rendering each app with one warm engine and cache.
///
/// Run it as a sidecar of argocd-repo-server (see deploy/argocd/); an
/// Application then names the plugin (`plugin: {name: kiln}`).
#[derive(Debug, clap::Args)]
pub struct CmpServerCommand {
    /// The socket to listen on (default: <plugins dir>/<name>[-<version>].sock).
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Argo CD's plugins socket directory.
    #[arg(long, value_name = "DIR", env = cmp::PLUGINS_DIR_ENV, default_value = cmp::DEFAULT_PLUGINS_DIR)]
    pub plugins_dir: PathBuf,
    /// The plugin's name, as Applications give it.
    #[arg(long, default_value = cmp::DEFAULT_NAME)]
    pub name: String,
    /// The plugin's version: the socket becomes <name>-<version>.sock and Applications name `<name>-<version>`.
    #[arg(long, value_name = "VERSION")]
    pub plugin_version: Option<String>,
    /// Where requests are unpacked (one directory each, removed after it).
    #[arg(long, value_name = "DIR", env = "KILN_CMP_WORK_DIR")]
    pub work_dir: Option<PathBuf>,
    /// Renders at once; further requests wait until their deadline (default: the number of CPUs).
    #[arg(short = 'j', long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// Turn discovery on: an app is this plugin's when a file in its directory matches GLOB (repeatable, e.g. kiln.yaml).
    #[arg(long, value_name = "GLOB")]
    pub discover: Vec<String>,
    /// Requests held at once, from first message to answer; more wait unread (default: 2 × -j, at least 4).
    #[arg(long, value_name = "N")]
    pub max_requests: Option<usize>,
    /// Requests that may wait to be admitted; more are refused with `RESOURCE_EXHAUSTED` (default 64).
    #[arg(long, value_name = "N")]
    pub queue: Option<usize>,
    /// Bytes of gzipped tarball all requests in flight may hold together (default 512MiB).
    #[arg(long, value_name = "SIZE", value_parser = limits::parse_size)]
    pub max_in_flight: Option<usize>,
    /// Largest gRPC message (tarball chunk) decoded; raise it if Argo CD's `ARGOCD_CMP_CHUNK_SIZE` is larger (default 4MiB).
    #[arg(long, value_name = "SIZE", value_parser = limits::parse_size)]
    pub max_message: Option<usize>,
    /// How long a request's stream may send nothing before it is dropped (default 60s).
    #[arg(long, value_name = "DURATION", value_parser = limits::parse_duration)]
    pub stall_timeout: Option<std::time::Duration>,
    /// Largest gzipped tarball accepted (default 256MiB).
    #[arg(long, value_name = "SIZE", value_parser = limits::parse_size)]
    pub max_stream: Option<usize>,
    /// Largest unpacked tarball (default 1GiB).
    #[arg(long, value_name = "SIZE", value_parser = limits::parse_size)]
    pub max_unpacked: Option<usize>,
    /// Most entries in a tarball (default 100000).
    #[arg(long, value_name = "N")]
    pub max_files: Option<u64>,
    /// Largest ratio of unpacked to gzipped bytes (default 100).
    #[arg(long, value_name = "N")]
    pub max_ratio: Option<u64>,
    #[command(flatten)]
    pub limits: super::render::LimitArgs,
    #[command(flatten)]
    pub ceiling: super::render::CeilingArgs,
    /// Decrypt SOPS files. Argo CD caches generated manifests in Redis, so
    /// the decrypted secrets end up there in plain text: opt in only if you accept that.
    #[arg(long, env = "KILN_CMP_ALLOW_SOPS", value_parser = clap::builder::BoolishValueParser::new())]
    pub allow_sops: bool,
    /// A SOPS key (age identities or an armored `OpenPGP` secret key), named by its file stem (repeatable).
    #[arg(
        long,
        value_name = "PATH",
        env = "KILN_CMP_KEY_FILES",
        value_delimiter = ',',
        requires = "allow_sops"
    )]
    pub key_file: Vec<PathBuf>,
    /// Memory for answers to unchanged repositories (same tarball, app and
    /// environment), which are then only read and checked (default 64MiB; 0: off).
    #[arg(long, value_name = "SIZE", value_parser = limits::parse_size)]
    pub response_cache: Option<usize>,
    /// Serve Prometheus metrics on `http://ADDR/metrics`.
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// Do not serve: drive the server on SOCKET as Argo CD's repo-server would, and report.
    #[arg(long, value_name = "SOCKET", conflicts_with_all = ["socket", "metrics_addr"])]
    pub check: Option<PathBuf>,
    /// With --check: the app directory to send (default: a small app kiln writes).
    #[arg(long, value_name = "DIR", requires = "check")]
    pub check_app: Option<PathBuf>,
    #[command(flatten)]
    pub cache: CacheArgs,
}

impl CmpServerCommand {
    /// Runs the command.
    pub fn execute(self, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        if let Some(socket) = &self.check {
            return runtime.block_on(check(socket, self.check_app.as_deref()));
        }
        let settings = self.settings()?;
        let socket = self.socket.clone().unwrap_or_else(|| {
            cmp::socket_path(
                &self.plugins_dir,
                &self.name,
                self.plugin_version.as_deref(),
            )
        });
        let mut config = ServiceConfig::new(crate::env::cache_dir());
        config.cache = self.cache.choice();
        config.offline = global.offline;
        // Every request is unpacked afresh: memos would never be read again
        // (the render cache still serves unchanged content).
        config.memo = false;
        let renderer = Arc::new(RenderService::new(config)?);
        let (metrics, registry) = cmp::metrics::Metrics::new();
        let service = cmp::Service::new(settings, renderer, metrics).map_err(|e| {
            Hint::error(
                format!("invalid --discover glob: {e}"),
                "e.g. --discover kiln.yaml",
            )
        })?;
        runtime.block_on(async move {
            let listener = cmp::bind(&socket)?;
            let (stop, stopped) = tokio::sync::watch::channel(false);
            tokio::spawn(async move {
                signal().await;
                tracing::info!("stopping: letting requests in flight finish");
                let _ = stop.send(true);
            });
            let wait = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
                let _ = rx.wait_for(|s| *s).await;
            };
            if let Some(addr) = self.metrics_addr {
                let shutdown = wait(stopped.clone());
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot serve metrics on {addr}"))?;
                tokio::spawn(async move {
                    if let Err(e) = cmp::metrics::serve(listener, registry, shutdown).await {
                        tracing::error!("metrics server failed: {e}");
                    }
                });
            }
            cmp::serve(service, listener, &socket, wait(stopped)).await?;
            Ok::<_, anyhow::Error>(())
        })?;
        Ok(ExitStatus::Success)
    }

    fn settings(&self) -> anyhow::Result<Settings> {
        let defaults = Caps::default();
        let caps = Caps {
            stream_bytes: self.max_stream.map_or(defaults.stream_bytes, |s| s as u64),
            unpacked_bytes: self
                .max_unpacked
                .map_or(defaults.unpacked_bytes, |s| s as u64),
            entries: self.max_files.unwrap_or(defaults.entries),
            ratio: self.max_ratio.unwrap_or(defaults.ratio),
        };
        let mut keys: Vec<SopsKey> = Vec::new();
        for file in &self.key_file {
            let bytes = fs_err::read(file)
                .with_context(|| format!("cannot read key file {}", file.display()))?;
            let name = file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            if keys.iter().any(|k| k.name == name) {
                return Err(Hint::error(
                    format!("two key files are named `{name}`"),
                    "key files are named by their stem (the `sops-keys` parameter selects them): give them distinct names",
                ));
            }
            let secret = if String::from_utf8_lossy(&bytes)
                .contains("-----BEGIN PGP PRIVATE KEY BLOCK-----")
            {
                crate::pipeline::KEY_SECRETS[1]
            } else {
                crate::pipeline::KEY_SECRETS[0]
            };
            keys.push(SopsKey {
                name,
                secret,
                bytes,
            });
        }
        if self.allow_sops {
            tracing::warn!(
                "SOPS decryption is on: Argo CD caches the manifests kiln returns, decrypted secrets included, in Redis"
            );
        }
        let defaults = Settings::default();
        let concurrency = self.concurrency.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(2, std::num::NonZero::get)
        });
        Ok(Settings {
            caps,
            requests: self
                .max_requests
                .unwrap_or_else(|| concurrency.saturating_mul(2).max(4)),
            queue: self.queue.unwrap_or(defaults.queue),
            in_flight_bytes: self
                .max_in_flight
                .map_or(defaults.in_flight_bytes, |s| s as u64),
            max_message: self.max_message.unwrap_or(defaults.max_message),
            stall: self.stall_timeout.unwrap_or(defaults.stall),
            work_dir: self
                .work_dir
                .clone()
                .unwrap_or_else(|| std::env::temp_dir().join("kiln-cmp")),
            concurrency,
            discovery: (!self.discover.is_empty()).then(|| self.discover.clone()),
            operator: Operator {
                limits: self.limits.limits(),
                ceiling: self.ceiling.ceiling(),
                keys,
                render_seed: Some(crate::service::keys::render_seed()?),
            },
            sops: self.allow_sops,
            response_cache: self.response_cache.unwrap_or(64 << 20),
        })
    }
}

/// Resolves on SIGTERM or Ctrl-C.
async fn signal() {
    #[cfg(unix)]
    {
        let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// `--check`: Argo CD 2.13+'s call sequence against the server on `socket`.
async fn check(socket: &Path, app: Option<&Path>) -> anyhow::Result<ExitStatus> {
    let sample;
    let (root, rel) = if let Some(dir) = app {
        (dir.to_path_buf(), ".".to_owned())
    } else {
        sample = tempfile::tempdir().context("cannot create a temporary directory")?;
        let dir = sample.path().join("check");
        fs_err::create_dir_all(&dir)?;
        fs_err::write(
            dir.join("configmap.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kiln-check\ndata:\n  ok: \"true\"\n",
        )?;
        (sample.path().to_path_buf(), "check".to_owned())
    };
    let mut client = client::connect(socket)
        .await
        .with_context(|| format!("cannot connect to {}", socket.display()))?;
    let started = Instant::now();
    let config = client
        .check_plugin_configuration(())
        .await
        .context("CheckPluginConfiguration failed")?
        .into_inner();
    super::print::say(&format!(
        "CheckPluginConfiguration: discovery {}, git credentials {}",
        if config.is_discovery_configured {
            "on"
        } else {
            "off"
        },
        if config.provide_git_creds {
            "wanted"
        } else {
            "not wanted"
        },
    ));
    let tarball = client::tarball(&root, &[".git/*".to_owned()])?;
    let application = client::Application {
        name: "kiln-check".into(),
        namespace: "default".into(),
        path: rel.clone(),
        kube_version: "1.32.0".into(),
        ..client::Application::default()
    };
    let env = application.generate_env();
    if config.is_discovery_configured {
        let answer = client
            .match_repository(client::streaming(
                client::messages(&rel, &env, &tarball, client::DEFAULT_CHUNK),
                None,
            ))
            .await
            .context("MatchRepository failed")?
            .into_inner();
        super::print::say(&format!(
            "MatchRepository: {}",
            if answer.is_supported {
                "supported"
            } else {
                "not supported (an Application must name the plugin)"
            }
        ));
    }
    let response = client
        .generate_manifest(client::streaming(
            client::messages(&rel, &env, &tarball, client::DEFAULT_CHUNK),
            None,
        ))
        .await
        .context("GenerateManifest failed")?
        .into_inner();
    super::print::say(&format!(
        "GenerateManifest: {} manifests from a {}-byte tarball; {} ms in all",
        response.manifests.len(),
        tarball.bytes.len(),
        started.elapsed().as_millis()
    ));
    for m in &response.manifests {
        super::write_stdout(&format!("{m}\n"))?;
    }
    Ok(ExitStatus::Success)
}
