//! A small Kubernetes API-server emulator for kiln's tests.
//!
//! It serves discovery, CRUD, the patch types and server-side apply with managed fields for the
//! common built-in kinds and for custom resources of applied CRDs, over plain HTTP on loopback.
//! See the crate README for what it emulates and what it does not.
//!
//! ```no_run
//! # async fn demo() -> Result<(), kiln_test_apiserver::Error> {
//! let server = kiln_test_apiserver::start(kiln_test_apiserver::Options::default()).await?;
//! server.write_kubeconfig(std::path::Path::new("kubeconfig"))?;
//! println!("{}", server.url());
//! # Ok(()) }
//! ```

mod api;
mod apply;
mod clock;
mod controllers;
mod crd;
mod create;
mod delete;
mod discovery;
pub mod faults;
mod fieldset;
pub mod kubeconfig;
pub mod log;
mod managed;
mod meta;
mod patch;
mod scale;
mod schema;
mod selectors;
mod server;
mod ssa;
mod status;
mod store;
mod validate;
mod watch;
mod write;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use faults::{Fault, Faults};
pub use log::RequestLog;

/// How to run the server. Defaults: listen on `127.0.0.1:0` (a free port), CRDs established at
/// once, no faults, no stand-in controllers.
#[derive(Debug, Clone)]
pub struct Options {
    pub listen: SocketAddr,
    /// How long a new CRD stays un-`Established` (its types are not served until then).
    pub crd_established_delay: Duration,
    /// Faults active from the start (more can be added with [`Server::faults`]).
    pub faults: Vec<Fault>,
    /// When set, stand-in controllers mark `Deployment`s, `StatefulSet`s, `DaemonSet`s and `ReplicaSet`s
    /// ready and Jobs complete this long after each spec change.
    pub workloads_ready_after: Option<Duration>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            crd_established_delay: Duration::ZERO,
            faults: Vec::new(),
            workloads_ready_after: None,
        }
    }
}

/// Why the server could not start or write its kubeconfig.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("refusing to listen on {0}: the emulator serves loopback addresses only")]
    NotLoopback(SocketAddr),
    #[error("cannot write the kubeconfig {path}: {source}")]
    Kubeconfig {
        path: String,
        source: std::io::Error,
    },
}

/// A running server; it stops when dropped.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    shared: Arc<server::Shared>,
    shutdown: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

/// Starts a server on the current tokio runtime.
pub async fn start(opts: Options) -> Result<Server, Error> {
    if !opts.listen.ip().is_loopback() {
        return Err(Error::NotLoopback(opts.listen));
    }
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .map_err(|source| Error::Listen {
            addr: opts.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| Error::Listen {
        addr: opts.listen,
        source,
    })?;
    let faults = Faults::default();
    for f in opts.faults {
        faults.add(f);
    }
    let (shutdown, shutdown_rx) = tokio::sync::watch::channel(false);
    let shared = Arc::new(server::Shared {
        state: Mutex::new(api::State::new(opts.crd_established_delay)),
        faults,
        log: RequestLog::default(),
        url: format!("http://{addr}"),
        shutdown: shutdown_rx,
    });
    if let Some(delay) = opts.workloads_ready_after {
        tokio::spawn(controllers::run(Arc::clone(&shared), delay));
    }
    let task = tokio::spawn(server::accept_loop(listener, Arc::clone(&shared)));
    Ok(Server {
        addr,
        shared,
        shutdown,
        task,
    })
}

impl Server {
    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.shared.url.clone()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Writes a kubeconfig pointing at this server (plain http, no credentials).
    pub fn write_kubeconfig(&self, path: &Path) -> Result<(), Error> {
        kubeconfig::write(&self.shared.url, path).map_err(|source| Error::Kubeconfig {
            path: path.display().to_string(),
            source,
        })
    }

    /// The request log.
    pub fn requests(&self) -> RequestLog {
        self.shared.log.clone()
    }

    /// The live fault rules.
    pub fn faults(&self) -> Faults {
        self.shared.faults.clone()
    }

    /// How many times the store really changed (no-op writes and dry runs do not count).
    pub fn store_writes(&self) -> u64 {
        self.shared.lock().store.writes
    }

    /// The stored object, as a test would inspect it without a client (`group` is empty for the
    /// core group; `namespace` is empty for cluster-scoped types).
    pub fn object(
        &self,
        group: &str,
        plural: &str,
        namespace: &str,
        name: &str,
    ) -> Option<serde_json::Value> {
        self.shared
            .lock()
            .store
            .get(&store::Key::of(group, plural, namespace, name))
            .cloned()
    }

    /// Replaces an object's `status`, as a controller would (a new resource version and a watch
    /// event; `generation` and managed fields untouched). Returns whether the object exists.
    pub fn set_status(
        &self,
        group: &str,
        plural: &str,
        namespace: &str,
        name: &str,
        status: serde_json::Value,
    ) -> bool {
        let key = store::Key::of(group, plural, namespace, name);
        let mut state = self.shared.lock();
        let Some(mut obj) = state.store.get(&key).cloned() else {
            return false;
        };
        obj["status"] = status;
        state.store.put_uncounted(&key, obj);
        true
    }

    /// Stops serving now.
    pub fn shutdown(self) {
        drop(self);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
        self.task.abort();
    }
}
