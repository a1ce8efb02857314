//! The plain data the layers share: an app, the `kiln.yaml` document, and
//! the report of one pipeline step. It sits below `source`, `pipeline` and
//! `backend`, so that none of them imports another for its types.

pub mod file;

use std::path::PathBuf;

use crate::cache::CacheStatus;

/// An application: a directory inside a source root.
#[derive(Debug, Clone)]
pub struct App {
    /// Host directory preopened at `/src` for plugins.
    pub root: PathBuf,
    /// The app's directory relative to `root`, `/`-separated; `.` for the root.
    pub dir: String,
    /// The app's name.
    pub name: String,
}

impl App {
    /// The app directory on the host.
    pub fn path(&self) -> PathBuf {
        if self.dir == "." {
            self.root.clone()
        } else {
            self.root.join(&self.dir)
        }
    }
}

/// What happened in one step.
#[derive(Debug, Clone)]
pub struct StepReport {
    /// The step's name.
    pub step: String,
    /// The plugin.
    pub plugin: String,
    /// blake3 digest of the plugin's wasm.
    pub plugin_digest: String,
    /// The step's cache key.
    pub key: String,
    /// Number of output resources.
    pub resources: usize,
    /// Whether the output came from the cache.
    pub cache: CacheStatus,
    /// The key inputs that differ from the app's last render (`None` when
    /// there was no last render of this step).
    pub changed: Option<Vec<&'static str>>,
}
