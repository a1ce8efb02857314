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
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};
use wasmtime_wasi::{
    FsPerms, HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView,
};

use super::bindings::kiln::plugin::{host, types};
use super::{Limits, Note, NoteLevel, text};

/// Where the source root appears inside the sandbox.
pub const GUEST_ROOT: &str = "/src";

/// How much a plugin may write to stdout or stderr (kept for error messages).
const PIPE_CAPACITY: usize = 64 << 10;

/// How many log lines one call may emit.
const MAX_LOG_LINES: usize = 10_000;

/// How many core instances, linear memories and tables one call may create.
/// A plugin built by wit-bindgen and the WASI adapter needs a handful.
pub(super) const MAX_INSTANCES: usize = 64;
pub(super) const MAX_MEMORIES: usize = 8;
pub(super) const MAX_TABLES: usize = 16;

/// How many host handles (open files and directories, streams, pollables)
/// one call may hold at once: each costs host memory outside the memory
/// cap, and an open file an operating system descriptor that every other
/// render in the process draws from too.
pub(super) const MAX_HANDLES: usize = 1_024;

/// The bytes a table element is counted at (a pointer, with room to spare).
const TABLE_ELEMENT_BYTES: usize = 16;

/// Secrets granted to one step.
#[derive(Default)]
pub struct Grants {
    /// `(name, value)`; a `None` value is granted but unset in this run.
    pub secrets: Vec<(String, Option<Vec<u8>>)>,
}

/// The standard streams and arguments of a command.
pub(super) struct Stdio {
    /// `argv`, the program's name first.
    pub(super) args: Vec<String>,
    /// What it reads on stdin.
    pub(super) stdin: Vec<u8>,
    /// Where its stdout goes (bounded by the pipe's capacity).
    pub(super) stdout: MemoryOutputPipe,
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
    log_bytes: usize,
    /// The lines logged and shown, for the cache to show again.
    pub(super) log: Vec<Note>,
    pub(super) stderr: MemoryOutputPipe,
    /// The source root as the operating system names it (symlinks
    /// resolved), to tell where an opened file really is (see `fs`).
    pub(super) root: Arc<Path>,
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
        Self::with_stdio(plugin, step, root, seed, memory, grants, None)
    }

    /// [`State::new`] for a command (a KRM function): `stdio` gives its
    /// arguments, its stdin and the pipe its stdout goes to.
    pub(super) fn with_stdio(
        plugin: &str,
        step: &str,
        root: &Path,
        seed: [u8; 32],
        memory: usize,
        grants: Arc<Grants>,
        stdio: Option<Stdio>,
    ) -> std::io::Result<Self> {
        let stderr = MemoryOutputPipe::new(PIPE_CAPACITY);
        let mut b = builder(Some(root), seed, stdio, &stderr)?;
        Ok(Self {
            wasi: b.build(),
            table: {
                let mut table = ResourceTable::new();
                table.set_max_capacity(MAX_HANDLES);
                table
            },
            limiter: Limiter::new(memory),
            plugin: plugin.to_owned(),
            step: step.to_owned(),
            grants,
            denied_secret: None,
            log_lines: 0,
            log_bytes: 0,
            log: Vec::new(),
            stderr,
            root: fs_err::canonicalize(root)
                .unwrap_or_else(|_| root.to_owned())
                .into(),
        })
    }
}

/// The WASI context every call starts from (see the module's docs), with
/// `stdio` for a command and `stderr` as its stderr.
fn builder(
    root: Option<&Path>,
    seed: [u8; 32],
    stdio: Option<Stdio>,
    stderr: &MemoryOutputPipe,
) -> std::io::Result<WasiCtxBuilder> {
    let mut b = WasiCtxBuilder::new();
    match stdio {
        Some(stdio) => {
            b.stdin(MemoryInputPipe::new(stdio.stdin))
                .stdout(stdio.stdout)
                .args(&stdio.args);
        }
        None => {
            b.stdout(MemoryOutputPipe::new(PIPE_CAPACITY));
        }
    }
    b.stderr(stderr.clone())
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
    if let Some(root) = root {
        b.preopened_dir(root, GUEST_ROOT, FsPerms::ReadOnly)
            .map_err(|e| std::io::Error::other(format!("cannot open {}: {e}", root.display())))?;
    }
    Ok(b)
}

/// The state of a call of a `wasip1` core module (a KRM function), run by
/// wasmtime's own preview 1 implementation over the same WASI context.
pub(super) struct P1State {
    pub(super) wasi: wasmtime_wasi::p1::WasiP1Ctx,
    pub(super) limiter: Limiter,
    pub(super) stderr: MemoryOutputPipe,
}

impl P1State {
    pub(super) fn new(seed: [u8; 32], memory: usize, stdio: Stdio) -> std::io::Result<Self> {
        let stderr = MemoryOutputPipe::new(PIPE_CAPACITY);
        // No file system at all: a KRM function's input is the ResourceList
        // on stdin (kpt, too, runs functions without mounts), and preview 1
        // opens cannot be guarded as a component's are (`fs`: no `.git`, no
        // FIFOs or devices).
        let mut b = builder(None, seed, Some(stdio), &stderr)?;
        // A component's opens go through `fs`, which refuses FIFOs and
        // devices before they can block; preview 1 opens cannot be wrapped,
        // so they run on tokio's blocking pool instead, where the call's
        // time bound still ends the call if one blocks.
        b.allow_blocking_current_thread(false);
        let wasi = b.build_p1();
        Ok(Self {
            wasi,
            limiter: Limiter::new(memory),
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

impl State {
    /// Shows `note` and keeps it for the cache.
    fn note(&mut self, note: Note) {
        note.emit(&self.plugin, &self.step);
        self.log.push(note);
    }
}

impl types::Host for State {}

impl host::Host for State {
    fn log(&mut self, level: host::Level, message: String) -> wasmtime::Result<()> {
        if self.log_lines >= MAX_LOG_LINES || self.log_bytes >= Limits::MAX_TEXT {
            if self.log_lines != usize::MAX {
                self.log_lines = usize::MAX;
                self.note(Note {
                    level: NoteLevel::Warn,
                    text: format!(
                        "the plugin logged more than {MAX_LOG_LINES} lines or {} bytes; the rest of its log is dropped",
                        Limits::MAX_TEXT
                    ),
                });
            }
            return Ok(());
        }
        self.log_lines += 1;
        // Escaped, so a message cannot forge kiln's own lines.
        let text = text::line(&message, Limits::MAX_MESSAGE);
        self.log_bytes = self.log_bytes.saturating_add(text.len());
        let level = match level {
            host::Level::Trace => NoteLevel::Trace,
            host::Level::Debug => NoteLevel::Debug,
            host::Level::Info => NoteLevel::Info,
            host::Level::Warn => NoteLevel::Warn,
            host::Level::Error => NoteLevel::Error,
        };
        self.note(Note { level, text });
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

/// Caps the bytes of all linear memories and tables of a call together,
/// and the number of instances, memories and tables; records whether the
/// cap was hit.
pub(super) struct Limiter {
    /// The cap, in bytes.
    pub(super) memory: usize,
    /// Bytes of memories and tables granted so far.
    used: usize,
    /// The bytes of the last growth granted, returned if it then fails.
    pending: usize,
    pub(super) hit: bool,
}

impl Limiter {
    pub(super) fn new(memory: usize) -> Self {
        Self {
            memory,
            used: 0,
            pending: 0,
            hit: false,
        }
    }

    /// Grants `bytes` more, or refuses (a trap) past the cap.
    fn grow(&mut self, bytes: Option<usize>) -> wasmtime::Result<bool> {
        match bytes.and_then(|b| self.used.checked_add(b)) {
            Some(total) if total <= self.memory => {
                self.used = total;
                self.pending = bytes.unwrap_or(0);
                Ok(true)
            }
            _ => {
                self.hit = true;
                Err(wasmtime::Error::msg(format!(
                    "memory limit of {} bytes exceeded",
                    self.memory
                )))
            }
        }
    }

    fn failed(&mut self) {
        self.used = self.used.saturating_sub(self.pending);
        self.pending = 0;
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.grow(desired.checked_sub(current))
    }

    fn memory_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        self.failed();
        Ok(())
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.grow(
            desired
                .checked_sub(current)
                .and_then(|n| n.checked_mul(TABLE_ELEMENT_BYTES)),
        )
    }

    fn table_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        self.failed();
        Ok(())
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression test for issue #12: the cap held per memory, so N
    /// memories got N times the cap, and tables were not counted at all.
    #[test]
    fn the_memory_cap_is_a_total_over_memories_and_tables() {
        let mut limiter = Limiter::new(100 << 20);
        assert!(limiter.memory_growing(0, 60 << 20, None).is_ok());
        assert!(
            limiter.memory_growing(0, 60 << 20, None).is_err(),
            "a second memory past the total"
        );
        assert!(limiter.hit);

        let mut limiter = Limiter::new(16 << 20);
        // 1M funcrefs is 16 MiB here: one such table fills the cap.
        assert!(limiter.table_growing(0, 1 << 20, None).is_ok());
        assert!(limiter.table_growing(0, 1, None).is_err());

        // A growth that fails after it was granted is given back.
        let mut limiter = Limiter::new(10 << 20);
        assert!(limiter.memory_growing(0, 8 << 20, None).is_ok());
        limiter
            .memory_grow_failed(wasmtime::Error::msg("no"))
            .expect("recorded");
        assert!(limiter.memory_growing(0, 8 << 20, None).is_ok());

        assert!(limiter.instances() <= 64 && limiter.memories() <= 8 && limiter.tables() <= 16);
    }
}
