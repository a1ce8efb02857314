//! The sandbox around one plugin call: the WASI context, the host imports
//! and the resource limiter.
//!
//! The WASI context starts from a builder that grants nothing, then gets the
//! source root preopened read-only at `/src`, a fixed wall clock, a
//! deterministic monotonic clock and randomness seeded from the call's seed.
//! No environment, no arguments, no sockets, no name lookups; stdout and
//! stderr go to bounded in-memory pipes.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{
    FsPerms, HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView,
};

use super::bindings::kiln::plugin::{host, types};

/// Where the source root appears inside the sandbox.
pub const GUEST_ROOT: &str = "/src";

/// How much a plugin may write to stdout or stderr (kept for error messages).
const PIPE_CAPACITY: usize = 64 << 10;

/// How many log lines one call may emit.
const MAX_LOG_LINES: usize = 10_000;

/// Secrets granted to one step.
#[derive(Default)]
pub struct Grants {
    /// `(name, value)`; a `None` value is granted but unset in this run.
    pub secrets: Vec<(String, Option<Vec<u8>>)>,
}

/// The state of one call's store.
pub(super) struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(super) limiter: Limiter,
    pub(super) plugin: String,
    pub(super) step: String,
    grants: Arc<Grants>,
    /// Set when the plugin asked for a secret that is not granted.
    pub(super) denied_secret: Option<String>,
    log_lines: usize,
    pub(super) stderr: MemoryOutputPipe,
}

impl State {
    pub(super) fn new(
        plugin: &str,
        step: &str,
        root: &Path,
        seed: [u8; 32],
        memory: usize,
        grants: Arc<Grants>,
    ) -> std::io::Result<Self> {
        let stderr = MemoryOutputPipe::new(PIPE_CAPACITY);
        let mut b = WasiCtxBuilder::new();
        b.stdout(MemoryOutputPipe::new(PIPE_CAPACITY))
            .stderr(stderr.clone())
            .wall_clock(FixedClock)
            .monotonic_clock(StepClock::default())
            .secure_random(StdRng::from_seed(seed))
            .insecure_random(StdRng::from_seed(*blake3::hash(&seed).as_bytes()))
            .insecure_random_seed(u128::from_le_bytes(
                seed[..16].try_into().expect("16 bytes"),
            ))
            // File reads under /src run on this thread: handing each one to
            // tokio's blocking pool and back cost more than the reads.
            .allow_blocking_current_thread(true)
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .socket_addr_check(|_, _| Box::pin(async { false }));
        b.preopened_dir(root, GUEST_ROOT, FsPerms::ReadOnly)
            .map_err(|e| std::io::Error::other(format!("cannot open {}: {e}", root.display())))?;
        Ok(Self {
            wasi: b.build(),
            table: ResourceTable::new(),
            limiter: Limiter { memory, hit: false },
            plugin: plugin.to_owned(),
            step: step.to_owned(),
            grants,
            denied_secret: None,
            log_lines: 0,
            stderr,
        })
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl types::Host for State {}

impl host::Host for State {
    fn log(&mut self, level: host::Level, message: String) -> wasmtime::Result<()> {
        self.log_lines += 1;
        if self.log_lines > MAX_LOG_LINES {
            return Ok(());
        }
        let message: String = message.chars().take(8192).collect();
        let (plugin, step) = (self.plugin.as_str(), self.step.as_str());
        match level {
            host::Level::Trace => {
                tracing::trace!(target: "kiln::plugin", plugin, step, "{message}");
            }
            host::Level::Debug => {
                tracing::debug!(target: "kiln::plugin", plugin, step, "{message}");
            }
            host::Level::Info => tracing::info!(target: "kiln::plugin", plugin, step, "{message}"),
            host::Level::Warn => tracing::warn!(target: "kiln::plugin", plugin, step, "{message}"),
            host::Level::Error => {
                tracing::error!(target: "kiln::plugin", plugin, step, "{message}");
            }
        }
        Ok(())
    }

    fn granted_secrets(&mut self) -> wasmtime::Result<Vec<String>> {
        Ok(self.grants.secrets.iter().map(|(n, _)| n.clone()).collect())
    }

    fn secret(&mut self, name: String) -> wasmtime::Result<Option<Vec<u8>>> {
        if let Some((_, value)) = self.grants.secrets.iter().find(|(n, _)| *n == name) {
            Ok(value.clone())
        } else {
            let message = format!("asked for secret `{name}`, which is not granted to this step");
            self.denied_secret = Some(name);
            Err(wasmtime::Error::msg(message))
        }
    }
}

/// Caps linear memory and records whether the cap was hit.
pub(super) struct Limiter {
    pub(super) memory: usize,
    pub(super) hit: bool,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory {
            self.hit = true;
            return Err(wasmtime::Error::msg(format!(
                "memory limit of {} bytes exceeded",
                self.memory
            )));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1 << 20)
    }
}

/// A wall clock stopped at the Unix epoch, so output never depends on the time.
struct FixedClock;

impl HostWallClock for FixedClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

/// A monotonic clock that advances one microsecond per reading.
#[derive(Default)]
struct StepClock(std::sync::atomic::AtomicU64);

impl HostMonotonicClock for StepClock {
    fn resolution(&self) -> u64 {
        1_000
    }
    fn now(&self) -> u64 {
        self.0
            .fetch_add(1_000, std::sync::atomic::Ordering::Relaxed)
    }
}
