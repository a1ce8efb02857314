//! The WebAssembly runtime: one wasmtime [`Engine`] per process, plugins
//! compiled once (and cached on disk), and a fresh sandboxed instance per call.
//!
//! This is the only module that imports wasmtime.

mod bindings;
mod compile;
mod fs;
mod kind;
mod krm;
pub mod limits;
mod plugin;
mod sandbox;
mod text;

pub use compile::CompiledCache;
pub use kind::{Kind, Loaded, contract_version};
pub use limits::Limits;
/// A loaded component plugin (see [`Loaded::component`]).
pub use plugin::Loaded as ComponentPlugin;
pub use plugin::{
    Call, CallError, Context, Diagnostic, ErrorKind, Note, NoteLevel, Output, PluginInfo, Severity,
};
pub use sandbox::{GUEST_ROOT, Grants};
pub use text::{printable, printable_line};

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wasmtime::{Config, Engine};

/// How often the epoch ticks; CPU deadlines are counted in ticks.
const EPOCH_TICK: Duration = Duration::from_millis(5);

/// The plugin runtime: a wasmtime engine and the plugins loaded into it.
pub struct Runtime {
    /// Created on first load: a render served from the cache needs none.
    engine: std::sync::OnceLock<Engine>,
    cache: Option<CompiledCache>,
    /// One slot per plugin digest; a thread loading a plugin holds its slot,
    /// so a second thread asking for it waits instead of loading it again.
    loaded: Mutex<HashMap<blake3::Hash, Arc<Slot>>>,
}

/// Where a loaded plugin is kept; empty until its first load succeeds.
type Slot = Mutex<Option<Arc<Loaded>>>;

/// Loading a plugin failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The bytes are not a WebAssembly component.
    #[error("{name} is not a WebAssembly component")]
    NotAComponent {
        /// The plugin's name or path.
        name: String,
        /// The compiler's message.
        #[source]
        source: wasmtime::Error,
    },
    /// The component does not implement the `kiln:plugin` world.
    #[error("{name} does not implement the kiln:plugin/plugin world")]
    WrongWorld {
        /// The plugin's name or path.
        name: String,
        /// What is missing.
        #[source]
        source: wasmtime::Error,
    },
    /// A core module or command that cannot run as a KRM function (no
    /// `_start`, imports other than WASI).
    #[error(
        "{name} is neither a plugin component nor a KRM function (a WASI command module or component)"
    )]
    NotAKrmFunction {
        /// The plugin's name or path.
        name: String,
        /// Why.
        #[source]
        source: wasmtime::Error,
    },
    /// The component was built for a version of the `kiln:plugin` contract
    /// this kiln does not implement.
    #[error(
        "{name} was built for the plugin contract kiln:plugin@{found}, but this kiln implements kiln:plugin@{supported}: rebuild the plugin against kiln:plugin@{supported}, or run it with a kiln that implements its contract"
    )]
    Contract {
        /// The plugin's name or path.
        name: String,
        /// The version the plugin was built for.
        found: String,
        /// The version this kiln implements.
        supported: String,
    },
    /// The engine could not be set up.
    #[error("failed to set up the WebAssembly engine")]
    Engine(#[source] wasmtime::Error),
}

impl Runtime {
    /// Creates the runtime; `cache` keeps compiled components on disk. The
    /// engine is set up when the first plugin is loaded.
    pub fn new(cache: Option<CompiledCache>) -> Result<Self, LoadError> {
        Ok(Self {
            engine: std::sync::OnceLock::new(),
            cache,
            loaded: Mutex::new(HashMap::new()),
        })
    }

    /// The engine, set up on first use.
    fn engine(&self) -> Result<&Engine, LoadError> {
        if let Some(engine) = self.engine.get() {
            return Ok(engine);
        }
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        config.cranelift_opt_level(wasmtime::OptLevel::Speed);
        let engine = Engine::new(&config).map_err(LoadError::Engine)?;
        // Should another thread win the race, this engine is dropped unused.
        let mut won = false;
        let engine = self.engine.get_or_init(|| {
            won = true;
            engine
        });
        if won {
            start_epoch_ticker(engine);
        }
        Ok(engine)
    }

    /// Loads (compiles, or reads the compiled form from the cache) a plugin.
    pub fn load(&self, name: &str, wasm: &[u8]) -> Result<Arc<Loaded>, LoadError> {
        self.load_digested(name, wasm, blake3::hash(wasm))
    }

    /// Whether any plugin is loaded or being loaded.
    pub fn holds_any(&self) -> bool {
        !self
            .loaded
            .lock()
            .expect("lock poisoned by a panic")
            .is_empty()
    }

    /// Whether the plugin with this digest is loaded (a load under way does
    /// not count).
    pub fn is_loaded(&self, digest: blake3::Hash) -> bool {
        let slot = self
            .loaded
            .lock()
            .expect("lock poisoned by a panic")
            .get(&digest)
            .map(Arc::clone);
        slot.is_some_and(|slot| slot.try_lock().is_ok_and(|s| s.is_some()))
    }

    /// [`Runtime::load`] when the caller knows `digest`, the blake3 hash of
    /// `wasm` (built-in plugins are hashed when kiln is built).
    pub fn load_digested(
        &self,
        name: &str,
        wasm: &[u8],
        digest: blake3::Hash,
    ) -> Result<Arc<Loaded>, LoadError> {
        let slot = Arc::clone(
            self.loaded
                .lock()
                .expect("lock poisoned by a panic")
                .entry(digest)
                .or_default(),
        );
        let mut slot = slot.lock().expect("lock poisoned by a panic");
        if let Some(loaded) = &*slot {
            return Ok(Arc::clone(loaded));
        }
        let engine = self.engine()?;
        let loaded = Arc::new(kind::load(engine, self.cache.as_ref(), name, wasm, digest)?);
        *slot = Some(Arc::clone(&loaded));
        Ok(loaded)
    }
}

/// The largest plugin file kiln reads: 256 MiB.
pub const MAX_PLUGIN_FILE: u64 = 256 << 20;

/// Reads a plugin's `.wasm` file from a repository: only a regular file of
/// at most [`MAX_PLUGIN_FILE`] bytes. It is opened without blocking and
/// checked before any read, so a FIFO, socket or device in its place is
/// refused instead of holding kiln forever.
pub fn read_plugin_file(path: &Path) -> std::io::Result<Vec<u8>> {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY,
        Mode::empty(),
    )?;
    let mut file = std::fs::File::from(fd);
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file (a FIFO, socket or device is never read)",
        ));
    }
    if meta.len() > MAX_PLUGIN_FILE {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "{} bytes, more than the limit of {MAX_PLUGIN_FILE} bytes for a plugin",
                meta.len()
            ),
        ));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    std::io::Read::read_to_end(
        &mut std::io::Read::take(&mut file, MAX_PLUGIN_FILE + 1),
        &mut bytes,
    )?;
    if bytes.len() as u64 > MAX_PLUGIN_FILE {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("grew past the limit of {MAX_PLUGIN_FILE} bytes for a plugin while read"),
        ));
    }
    Ok(bytes)
}

/// Increments the engine's epoch from a background thread, so that calls
/// with an epoch deadline are interrupted when their CPU time is up.
fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("kiln-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .expect("spawning a thread only fails when the OS is out of resources");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Threads asking for one plugin at once (the prefetch and a step, or
    /// the apps of `--all`) wait for a single load and share it.
    #[test]
    fn threads_loading_one_plugin_share_one_load() {
        let wasm = std::fs::read(env!("KILN_TEST_PLUGIN_HELLO")).expect("test plugin");
        let digest = blake3::hash(&wasm);
        let runtime = Runtime::new(None).expect("runtime");
        assert!(!runtime.holds_any() && !runtime.is_loaded(digest));
        let loads: Vec<Arc<Loaded>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|_| scope.spawn(|| runtime.load_digested("hello", &wasm, digest)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("no panic").expect("loads"))
                .collect()
        });
        assert!(loads.iter().all(|l| Arc::ptr_eq(l, &loads[0])), "one load");
        assert!(runtime.holds_any() && runtime.is_loaded(digest));
    }
}
