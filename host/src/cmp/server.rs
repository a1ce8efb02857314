//! The gRPC service `plugin.ConfigManagementPluginService` on a Unix socket.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kiln_cmp_proto::config_management_plugin_service_server::{
    ConfigManagementPluginService, ConfigManagementPluginServiceServer,
};
use kiln_cmp_proto::{
    AppStreamRequest, CheckPluginConfigurationResponse, ManifestRequestMetadata, ManifestResponse,
    ParametersAnnouncementResponse, RepositoryResponse,
};
use tokio::sync::Semaphore;
use tonic::{Code, Request, Response, Status, Streaming};
use tracing::{Instrument as _, info, info_span, warn};

use super::admission::{Admission, Ticket};
use super::metrics::Metrics;
use super::receive::{self, Received};
use super::render::{self, Operator, Renderer};
use super::request::{self, AppRequest};
use super::status;
use super::unpack::Caps;

/// How long before the caller's deadline the server gives up, so that its
/// answer (naming what was slow) still reaches the caller; Argo CD's own
/// server keeps the same margin.
pub const DEADLINE_MARGIN: Duration = Duration::from_millis(100);

/// Argo CD's cap on a gRPC message each way (`ARGOCD_GRPC_MAX_SIZE_MB`):
/// kiln's answers may be this large.
pub const MAX_MESSAGE: usize = 100 << 20;

/// What the server is configured with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Caps of each streamed tarball.
    pub caps: Caps,
    /// Where each request's tarball is unpacked (one directory per request,
    /// removed when it ends).
    pub work_dir: PathBuf,
    /// Renders at once; more requests wait for a slot until their deadline.
    pub concurrency: usize,
    /// Requests held at once, from their first message to their answer
    /// (receiving, unpacking, waiting for a render slot, rendering); more
    /// wait in the queue, their streams unread.
    pub requests: usize,
    /// Requests that may wait to be admitted; past it, a request is refused
    /// at once with `RESOURCE_EXHAUSTED`.
    pub queue: usize,
    /// Bytes of gzipped tarball the admitted requests may hold together:
    /// each reserves the size its metadata announces (the stream cap when it
    /// announces none) before its first chunk is read, and waits until
    /// enough is free. A stream cap above it is lowered to it.
    pub in_flight_bytes: u64,
    /// Largest gRPC message the server decodes: one tarball chunk is held
    /// in memory whole (Argo CD sends 1 KiB chunks unless
    /// `ARGOCD_CMP_CHUNK_SIZE` says otherwise).
    pub max_message: usize,
    /// How long a stream may send nothing before it is dropped.
    pub stall: Duration,
    /// File name globs that make an app this plugin's in `MatchRepository`
    /// (matched in the app directory); `None`: discovery off, the
    /// Application names the plugin.
    pub discovery: Option<Vec<String>>,
    /// Limits and keys.
    pub operator: Operator,
    /// Whether SOPS decryption is allowed (the operator's opt-in).
    pub sops: bool,
    /// Bytes of answers kept in memory, keyed by the tarball's checksum, the
    /// app path and the environment: an unchanged repository streamed again
    /// is only read and checked, not unpacked or rendered. 0 turns it off.
    /// Renders that held a secret are never kept.
    pub response_cache: usize,
}

impl Default for Settings {
    /// Default caps, the system temp dir, 2 renders at once, 8 requests
    /// held and 64 waiting, 512 MiB of tarball in flight, 4 MiB messages,
    /// 60 s of silence, discovery off, no keys, SOPS refused, 64 MiB of
    /// answers kept.
    fn default() -> Self {
        Self {
            caps: Caps::default(),
            work_dir: std::env::temp_dir().join("kiln-cmp"),
            concurrency: 2,
            requests: 8,
            queue: 64,
            in_flight_bytes: 512 << 20,
            max_message: 4 << 20,
            stall: Duration::from_mins(1),
            discovery: None,
            operator: Operator::default(),
            sops: false,
            response_cache: 64 << 20,
        }
    }
}

/// The service.
#[derive(Clone)]
pub struct Service {
    settings: Arc<Settings>,
    renderer: Arc<dyn Renderer>,
    slots: Arc<Semaphore>,
    admission: Arc<Admission>,
    metrics: Arc<Metrics>,
    discovery: Option<Arc<globset::GlobSet>>,
    responses: Arc<std::sync::Mutex<super::responses::Responses>>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Service {
    /// A service rendering with `renderer`, counting into `metrics`.
    pub fn new(
        mut settings: Settings,
        renderer: Arc<dyn Renderer>,
        metrics: Arc<Metrics>,
    ) -> Result<Self, globset::Error> {
        let discovery = match &settings.discovery {
            Some(globs) => {
                let mut set = globset::GlobSetBuilder::new();
                for g in globs {
                    set.add(
                        globset::GlobBuilder::new(g)
                            .literal_separator(true)
                            .build()?,
                    );
                }
                Some(Arc::new(set.build()?))
            }
            None => None,
        };
        let admission = Admission::new(
            settings.requests,
            settings.queue,
            settings.in_flight_bytes,
            Arc::clone(&metrics),
        );
        settings.caps.stream_bytes = settings.caps.stream_bytes.min(admission.budget());
        Ok(Self {
            admission: Arc::new(admission),
            responses: Arc::new(std::sync::Mutex::new(super::responses::Responses::new(
                settings.response_cache,
            ))),
            slots: Arc::new(Semaphore::new(settings.concurrency.max(1))),
            settings: Arc::new(settings),
            renderer,
            metrics,
            discovery,
        })
    }

    /// The tonic service, with Argo CD's message caps.
    pub fn into_server(self) -> ConfigManagementPluginServiceServer<Self> {
        let max_message = self.settings.max_message;
        ConfigManagementPluginServiceServer::new(self)
            .max_decoding_message_size(max_message)
            .max_encoding_message_size(MAX_MESSAGE)
    }

    /// Admits a request, then receives its stream into a fresh work
    /// directory; the directory and the admission go when the returned
    /// guard is dropped.
    async fn receive(
        &self,
        mut stream: Streaming<AppStreamRequest>,
        deadline: Option<Instant>,
        unpack: impl FnOnce(&ManifestRequestMetadata) -> bool + Send,
    ) -> Result<(Received, Held), Status> {
        let mut ticket = self.admission.enter(deadline).await?;
        let stall = self.settings.stall;
        let caps = self.settings.caps;
        let metadata = until(
            deadline,
            "receiving the request metadata",
            receive::metadata(&mut stream, stall),
        )
        .await?
        .map_err(|e| status::of_receive(&e))?;
        let needed = receive::needed(&metadata, caps).map_err(|e| status::of_receive(&e))?;
        self.admission
            .reserve(&mut ticket, needed, deadline)
            .await?;
        fs_err::create_dir_all(&self.settings.work_dir).map_err(|e| {
            Status::internal(format!("kiln: cannot create the work directory: {e}"))
        })?;
        let work = tempfile::Builder::new()
            .prefix("req-")
            .tempdir_in(&self.settings.work_dir)
            .map_err(|e| {
                Status::internal(format!("kiln: cannot create a request directory: {e}"))
            })?;
        let received = until(
            deadline,
            "receiving and unpacking the repository",
            receive::receive(metadata, stream, work.path(), caps, stall, unpack),
        )
        .await?
        .map_err(|e| status::of_receive(&e))?;
        self.metrics.stream_bytes.inc_by(received.stream_bytes);
        Ok((
            received,
            Held {
                _work: work,
                _ticket: ticket,
            },
        ))
    }

    /// The app directory of `request` under `root`, which must exist.
    fn app_dir(root: &Path, request: &AppRequest) -> Result<PathBuf, Status> {
        let dir = if request.app_dir == "." {
            root.to_path_buf()
        } else {
            root.join(&request.app_dir)
        };
        match fs_err::symlink_metadata(&dir) {
            Ok(m) if m.is_dir() => Ok(dir),
            _ => Err(status::with_hint(
                Code::NotFound,
                &format!(
                    "app path `{}` is not a directory of the streamed repository",
                    request.app_dir
                ),
                "check spec.source.path, and that --plugin-tar-exclude does not leave the app out",
            )),
        }
    }

    async fn generate(
        &self,
        stream: Streaming<AppStreamRequest>,
        deadline: Option<Instant>,
    ) -> Result<ManifestResponse, Status> {
        let mut key = None;
        let mut kept = None;
        let (received, work) = self
            .receive(stream, deadline, |metadata| {
                let k = super::responses::key(metadata);
                kept = self.responses.lock().ok().and_then(|mut r| r.get(&k));
                key = Some(k);
                kept.is_none()
            })
            .await?;
        let labels = |cache: &str| super::metrics::CacheLabels {
            cache: cache.to_owned(),
        };
        if let Some(response) = kept {
            // The checksum the answer was kept under has just been verified.
            self.metrics.responses.get_or_create(&labels("hit")).inc();
            return Ok(response.as_ref().clone());
        }
        self.metrics.responses.get_or_create(&labels("miss")).inc();
        let root = received
            .root
            .clone()
            .ok_or_else(|| Status::internal("kiln: the tarball was not unpacked"))?;
        let request = AppRequest::read(&received.metadata.app_rel_path, &received.metadata.env)
            .map_err(|e| status::with_hint(Code::InvalidArgument, &e.to_string(), &e.hint()))?;
        Self::app_dir(&root, &request)?;
        tracing::Span::current().record("app", request.app_name.as_str());
        let permit = until(
            deadline,
            "waiting for a render slot (all are busy)",
            Arc::clone(&self.slots).acquire_owned(),
        )
        .await?
        .map_err(|_| Status::unavailable("kiln: the server is shutting down"))?;
        let time_left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let job = render::job(root, &request, &self.settings.operator, time_left).map_err(|e| {
            status::with_hint(
                Code::InvalidArgument,
                &e.to_string(),
                "name keys the sidecar mounts (see the Parameters tab), or leave `sops-keys` unset",
            )
        })?;
        let renderer = Arc::clone(&self.renderer);
        let started = Instant::now();
        let task = tokio::task::spawn_blocking(move || {
            // The slot and the unpacked tree are held until the render ends,
            // even when the caller has gone.
            let _permit = permit;
            let _work = work;
            renderer.render(&job)
        });
        let what = format!("rendering app `{}`", request.app_dir);
        let output = until(deadline, &what, task)
            .await?
            .map_err(|e| Status::internal(format!("kiln: the render task failed: {e}")))?
            .map_err(|e| status::of_render(&e, &request, self.settings.sops))?;
        // Without the opt-in, an app with SOPS-encrypted content is refused
        // rather than answered with its secrets still encrypted: a sops step
        // runs only when there is encrypted content (or kiln.yaml asks for
        // it), and with no key it would keep the content as it is.
        if !self.settings.sops
            && let Some(step) = output.steps.iter().find(|s| s.plugin == "sops")
        {
            return Err(status::sops_off(&format!(
                "app `{}`: step `{}` found SOPS-encrypted content",
                request.app_dir, step.step
            )));
        }
        let hits = output.cache_hits();
        let misses = output.steps.len() - hits;
        self.metrics
            .steps
            .get_or_create(&labels("hit"))
            .inc_by(hits as u64);
        self.metrics
            .steps
            .get_or_create(&labels("miss"))
            .inc_by(misses as u64);
        let manifests = output
            .resources
            .iter()
            .map(serde_json::Value::to_string)
            .collect::<Vec<_>>();
        info!(
            app = %request.app_name,
            path = %request.app_dir,
            resources = manifests.len(),
            steps = output.steps.len(),
            cache_hits = hits,
            render_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "rendered"
        );
        let response = ManifestResponse {
            manifests,
            source_type: String::new(),
        };
        let secret = output
            .steps
            .iter()
            .any(|s| matches!(s.cache, crate::cache::CacheStatus::Secret));
        if !secret && let (Some(key), Ok(mut responses)) = (key, self.responses.lock()) {
            responses.put(key, &response);
        }
        Ok(response)
    }

    async fn matches(
        &self,
        stream: Streaming<AppStreamRequest>,
        deadline: Option<Instant>,
    ) -> Result<RepositoryResponse, Status> {
        // The whole stream is read even when discovery is off: Argo CD sends
        // every chunk before it reads the answer.
        let (received, _work) = self.receive(stream, deadline, |_| true).await?;
        let root = received
            .root
            .clone()
            .ok_or_else(|| Status::internal("kiln: the tarball was not unpacked"))?;
        let Some(globs) = &self.discovery else {
            return Ok(RepositoryResponse {
                is_supported: false,
                is_discovery_enabled: false,
            });
        };
        let rel = request::normalise(&received.metadata.app_rel_path).ok_or_else(|| {
            Status::invalid_argument("kiln: the app path is outside the streamed repository")
        })?;
        let dir = if rel == "." { root } else { root.join(rel) };
        let supported = fs_err::read_dir(&dir).is_ok_and(|entries| {
            entries
                .filter_map(Result::ok)
                .any(|e| globs.is_match(e.file_name()))
        });
        Ok(RepositoryResponse {
            is_supported: supported,
            is_discovery_enabled: true,
        })
    }

    async fn parameters(
        &self,
        stream: Streaming<AppStreamRequest>,
        deadline: Option<Instant>,
    ) -> Result<ParametersAnnouncementResponse, Status> {
        let (received, _work) = self.receive(stream, deadline, |_| true).await?;
        let root = received
            .root
            .clone()
            .ok_or_else(|| Status::internal("kiln: the tarball was not unpacked"))?;
        let request = AppRequest::read(&received.metadata.app_rel_path, &received.metadata.env)
            .map_err(|e| status::with_hint(Code::InvalidArgument, &e.to_string(), &e.hint()))?;
        let dir = Self::app_dir(&root, &request)?;
        let app = crate::pipeline::App {
            root,
            dir: request.app_dir.clone(),
            name: request.app_name.clone(),
        };
        let helm = match crate::pipeline::load(&app, self.settings.operator.limits) {
            Ok(p) => p.steps.iter().any(
                |s| matches!(&s.plugin, crate::pipeline::PluginRef::Builtin(n) if n == "helm"),
            ),
            Err(_) => dir.join("Chart.yaml").is_file(),
        };
        let keys: Vec<String> = if self.settings.sops {
            self.settings
                .operator
                .keys
                .iter()
                .map(|k| k.name.clone())
                .collect()
        } else {
            Vec::new()
        };
        Ok(ParametersAnnouncementResponse {
            parameter_announcements: request::announcements(&request, helm, &keys),
        })
    }

    /// Runs one RPC in its span, counted in the metrics.
    async fn run<T, F>(&self, rpc: &'static str, f: F) -> Result<Response<T>, Status>
    where
        F: std::future::Future<Output = Result<T, Status>>,
    {
        let span = info_span!("cmp", rpc, app = tracing::field::Empty);
        let flight = self.metrics.start(rpc);
        let result = f.instrument(span.clone()).await;
        let code = result.as_ref().map_or_else(Status::code, |_| Code::Ok);
        if let Err(status) = &result {
            span.in_scope(|| warn!(code = ?status.code(), "{}", status.message()));
        }
        flight.finish(code);
        result.map(Response::new)
    }
}

/// What a request holds until it ends: its work directory (removed on
/// drop) and its admission.
#[derive(Debug)]
struct Held {
    _work: tempfile::TempDir,
    _ticket: Ticket,
}

/// The caller's deadline from the `grpc-timeout` header, less the margin.
fn deadline_of<T>(request: &Request<T>) -> Option<Instant> {
    let value = request.metadata().get("grpc-timeout")?.to_str().ok()?;
    let timeout = parse_grpc_timeout(value)?;
    Some(Instant::now() + timeout.saturating_sub(DEADLINE_MARGIN))
}

/// A `grpc-timeout` value: up to 8 digits and a unit (H, M, S, m, u, n).
pub fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.checked_mul(3600)?),
        "M" => Duration::from_secs(n.checked_mul(60)?),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// Runs `f` until `deadline`; past it, `DEADLINE_EXCEEDED` naming `what`.
pub(super) async fn until<F: std::future::Future>(
    deadline: Option<Instant>,
    what: &str,
    f: F,
) -> Result<F::Output, Status> {
    match deadline {
        None => Ok(f.await),
        Some(at) => tokio::time::timeout_at(at.into(), f).await.map_err(|_| {
            status::with_hint(
                Code::DeadlineExceeded,
                &format!("the caller's deadline passed while {what}"),
                "raise the repo-server's timeout (`server.repo.server.timeout.seconds` / `controller.repo.server.timeout.seconds`) or make the render cheaper",
            )
        }),
    }
}

#[tonic::async_trait]
impl ConfigManagementPluginService for Service {
    async fn generate_manifest(
        &self,
        request: Request<Streaming<AppStreamRequest>>,
    ) -> Result<Response<ManifestResponse>, Status> {
        let deadline = deadline_of(&request);
        self.run(
            "GenerateManifest",
            self.generate(request.into_inner(), deadline),
        )
        .await
    }

    async fn check_plugin_configuration(
        &self,
        _request: Request<()>,
    ) -> Result<Response<CheckPluginConfigurationResponse>, Status> {
        let discovery = self.discovery.is_some();
        self.run("CheckPluginConfiguration", async move {
            Ok(CheckPluginConfigurationResponse {
                is_discovery_configured: discovery,
                provide_git_creds: false,
            })
        })
        .await
    }

    async fn match_repository(
        &self,
        request: Request<Streaming<AppStreamRequest>>,
    ) -> Result<Response<RepositoryResponse>, Status> {
        let deadline = deadline_of(&request);
        self.run(
            "MatchRepository",
            self.matches(request.into_inner(), deadline),
        )
        .await
    }

    async fn get_parameters_announcement(
        &self,
        request: Request<Streaming<AppStreamRequest>>,
    ) -> Result<Response<ParametersAnnouncementResponse>, Status> {
        let deadline = deadline_of(&request);
        self.run(
            "GetParametersAnnouncement",
            self.parameters(request.into_inner(), deadline),
        )
        .await
    }
}

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Something not a socket is at the socket path.
    #[error("{} exists and is not a socket", .0.display())]
    NotASocket(PathBuf),
    /// The socket could not be bound.
    #[error("cannot listen on {}", .path.display())]
    Bind {
        /// The socket path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The discovery globs are invalid.
    #[error("invalid discovery glob")]
    Glob(#[from] globset::Error),
    /// The metrics address could not be served.
    #[error("cannot serve metrics")]
    Metrics(#[source] std::io::Error),
    /// The gRPC server failed.
    #[error("the gRPC server failed")]
    Transport(#[from] tonic::transport::Error),
}

/// Binds `socket` (removing a stale socket first) and returns the listener.
pub fn bind(socket: &Path) -> Result<tokio::net::UnixListener, Error> {
    match fs_err::symlink_metadata(socket) {
        Ok(m) if is_socket(&m) => {
            let _ = fs_err::remove_file(socket);
        }
        Ok(_) => return Err(Error::NotASocket(socket.to_path_buf())),
        Err(_) => {}
    }
    if let Some(parent) = socket.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs_err::create_dir_all(parent).map_err(|source| Error::Bind {
            path: socket.to_path_buf(),
            source,
        })?;
    }
    tokio::net::UnixListener::bind(socket).map_err(|source| Error::Bind {
        path: socket.to_path_buf(),
        source,
    })
}

#[cfg(unix)]
fn is_socket(m: &std::fs::Metadata) -> bool {
    std::os::unix::fs::FileTypeExt::is_socket(&m.file_type())
}

#[cfg(not(unix))]
fn is_socket(_m: &std::fs::Metadata) -> bool {
    false
}

/// Serves `service` on `listener` (bound at `socket`) until `shutdown`
/// resolves, then lets requests in flight finish and removes the socket.
pub async fn serve(
    service: Service,
    listener: tokio::net::UnixListener,
    socket: &Path,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> Result<(), Error> {
    info!(socket = %socket.display(), "kiln cmp-server listening");
    let incoming = tokio_stream::wrappers::UnixListenerStream::new(listener);
    let result = tonic::transport::Server::builder()
        .add_service(service.into_server())
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await;
    let _ = fs_err::remove_file(socket);
    info!("kiln cmp-server stopped");
    Ok(result?)
}
