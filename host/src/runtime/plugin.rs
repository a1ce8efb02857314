//! A loaded plugin and one call of it.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store, Trap};

use super::bindings::kiln::plugin::types as wit;
use super::bindings::{Plugin, PluginPre};
use super::sandbox::{Grants, State};
use super::{EPOCH_TICK, Limits, LoadError, limits, text};

/// A plugin compiled and pre-instantiated, ready for calls.
pub struct Loaded {
    name: String,
    digest: blake3::Hash,
    contract: Option<String>,
    pre: PluginPre<State>,
}

/// What a plugin says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Description.
    pub description: String,
    /// JSON Schema of its config, if published.
    pub config_schema: Option<String>,
}

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Fails the step.
    Error,
    /// Shown; the render goes on.
    Warning,
    /// For information.
    Info,
}

/// A diagnostic returned by a plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Severity.
    pub severity: Severity,
    /// Message.
    pub message: String,
    /// `apiVersion/Kind/[namespace/]name` of the resource concerned.
    pub resource: Option<String>,
    /// Field path.
    pub field_path: Option<String>,
    /// `file[:line[:column]]` relative to the source root.
    pub file: Option<String>,
}

/// A line a plugin had kiln show (a log line, a warning or an info
/// diagnostic), as shown: kept with a cached result and shown again when
/// the result is served from the cache.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Note {
    /// The level it is shown at.
    pub level: NoteLevel,
    /// The text, escaped.
    pub text: String,
}

/// The level of a [`Note`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoteLevel {
    /// Trace.
    Trace,
    /// Debug.
    Debug,
    /// Info.
    Info,
    /// Warning.
    Warn,
    /// Error (a log line; an error diagnostic fails the step instead).
    Error,
}

impl Note {
    /// Shows the note as a line of `plugin` in `step`.
    pub fn emit(&self, plugin: &str, step: &str) {
        let text = &self.text;
        match self.level {
            NoteLevel::Trace => tracing::trace!(target: "kiln::plugin", plugin, step, "{text}"),
            NoteLevel::Debug => tracing::debug!(target: "kiln::plugin", plugin, step, "{text}"),
            NoteLevel::Info => tracing::info!(target: "kiln::plugin", plugin, step, "{text}"),
            NoteLevel::Warn => tracing::warn!(target: "kiln::plugin", plugin, step, "{text}"),
            NoteLevel::Error => tracing::error!(target: "kiln::plugin", plugin, step, "{text}"),
        }
    }
}

/// Which side is at fault when a plugin returns an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The step's config.
    BadConfig,
    /// The input resources or source files.
    BadInput,
    /// The plugin itself.
    PluginFailure,
}

/// The inputs of one call.
pub struct Call<'a> {
    /// Name of the step.
    pub step: &'a str,
    /// Input resources, one JSON document each.
    pub resources: &'a [String],
    /// The step's config as JSON text.
    pub config: &'a str,
    /// The render context.
    pub context: Context,
    /// Host directory preopened read-only at `/src`.
    pub source_root: &'a Path,
    /// Limits of the call.
    pub limits: Limits,
    /// Seed of the plugin's randomness (the step's cache key).
    pub seed: [u8; 32],
    /// Secrets granted to the step.
    pub grants: Arc<Grants>,
}

pub use wit::Context;

/// The successful result of a call.
#[derive(Debug, Clone)]
pub struct Output {
    /// Output resources, one JSON document each.
    pub resources: Vec<String>,
    /// Diagnostics.
    pub diagnostics: Vec<Diagnostic>,
    /// The lines the plugin logged (already shown), within the log caps.
    pub log: Vec<Note>,
}

/// A failed call. The pipeline adds the step and plugin names.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The plugin returned an error.
    #[error("{message}")]
    Plugin {
        /// Who is at fault.
        kind: ErrorKind,
        /// The plugin's message.
        message: String,
        /// The file at fault, `path[:line[:column]]`.
        file: Option<String>,
        /// The plugin's hint.
        hint: Option<String>,
    },
    /// The plugin trapped (a panic, an `unreachable`, a bad memory access…).
    #[error("the plugin crashed: {message}")]
    Trap {
        /// The trap and, when the plugin printed one, its panic message.
        message: String,
    },
    /// The call ran past its time bound.
    #[error("the plugin ran longer than {}s and was stopped", .0.as_secs_f64())]
    Timeout(std::time::Duration),
    /// The plugin tried to grow its memory past the cap.
    #[error("the plugin tried to use more than {0} bytes of memory and was stopped")]
    Memory(usize),
    /// The plugin returned more than the output cap.
    #[error("the plugin returned {size} bytes of resources, more than the limit of {limit} bytes")]
    OutputTooLarge {
        /// Bytes returned.
        size: usize,
        /// The cap.
        limit: usize,
    },
    /// The plugin went past another bound of the sandbox (instances,
    /// memories or tables created, resources returned).
    #[error("the plugin went past a limit of the sandbox: {0}")]
    Limit(String),
    /// The plugin asked for a secret not granted to the step.
    #[error("the plugin asked for secret `{0}`, which the pipeline does not grant to this step")]
    SecretDenied(String),
    /// The sandbox could not be set up (e.g. the source root cannot be opened).
    #[error("cannot set up the sandbox")]
    Sandbox(#[source] std::io::Error),
}

impl Loaded {
    pub(super) fn new(
        engine: &Engine,
        name: &str,
        digest: blake3::Hash,
        component: &Component,
    ) -> Result<Self, LoadError> {
        let mut linker = Linker::<State>::new(engine);
        let wrong = |source| LoadError::WrongWorld {
            name: name.to_owned(),
            source,
        };
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(wrong)?;
        super::fs::guard(&mut linker).map_err(wrong)?;
        Plugin::add_to_linker::<_, wasmtime::component::HasSelf<_>>(&mut linker, |s| s)
            .map_err(wrong)?;
        let pre = linker.instantiate_pre(component).map_err(wrong)?;
        let pre = PluginPre::new(pre).map_err(wrong)?;
        let ty = component.component_type();
        let contract = ty
            .imports(engine)
            .map(|(import, _)| import)
            .chain(ty.exports(engine).map(|(export, _)| export))
            .find_map(|n| {
                n.strip_prefix("kiln:plugin/")
                    .and_then(|rest| rest.split_once('@'))
                    .map(|(_, v)| v.to_owned())
            });
        Ok(Self {
            name: name.to_owned(),
            digest,
            contract,
            pre,
        })
    }

    /// The blake3 digest of the plugin's wasm bytes.
    pub fn digest(&self) -> blake3::Hash {
        self.digest
    }

    /// The version of the `kiln:plugin` contract the plugin was built against.
    pub fn contract_version(&self) -> Option<&str> {
        self.contract.as_deref()
    }

    /// The plugin's name as the pipeline refers to it.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn store(
        &self,
        step: &str,
        root: &Path,
        seed: [u8; 32],
        limits: Limits,
        grants: Arc<Grants>,
    ) -> Result<Store<State>, CallError> {
        new_store(
            self.pre.engine(),
            &self.name,
            step,
            root,
            seed,
            limits,
            grants,
        )
    }

    /// Calls `info()` in a fresh instance, within `limits`.
    pub fn info(&self, root: &Path, limits: Limits) -> Result<PluginInfo, CallError> {
        let mut store = self.store("info", root, [0; 32], limits, Arc::default())?;
        let result = bounded(limits.time, async {
            let plugin = self.pre.instantiate_async(&mut store).await?;
            plugin.call_info(&mut store).await
        });
        let info = match result {
            None => return Err(CallError::Timeout(limits.time)),
            Some(r) => r.map_err(|e| classify(&e, &mut store, limits))?,
        };
        let field = |s: String| text::line(&s, Limits::MAX_MESSAGE);
        Ok(PluginInfo {
            name: field(info.name),
            version: field(info.version),
            description: field(info.description),
            config_schema: info.config_schema.filter(|s| s.len() <= Limits::MAX_TEXT),
        })
    }

    /// Calls `render()` in a fresh instance.
    pub fn render(&self, call: Call<'_>) -> Result<Output, CallError> {
        let mut store = self.store(
            call.step,
            call.source_root,
            call.seed,
            call.limits,
            call.grants,
        )?;
        let request = wit::Request {
            resources: call.resources.to_vec(),
            config: call.config.to_owned(),
            context: call.context,
        };
        let result = bounded(call.limits.time, async {
            let plugin: Plugin = self.pre.instantiate_async(&mut store).await?;
            plugin.call_render(&mut store, &request).await
        });
        drop(request);
        let response = match result {
            None => return Err(CallError::Timeout(call.limits.time)),
            Some(Ok(Ok(response))) => response,
            Some(Ok(Err(e))) => return Err(plugin_error(e)),
            Some(Err(e)) => return Err(classify(&e, &mut store, call.limits)),
        };
        let log = std::mem::take(&mut store.data_mut().log);
        drop(store);
        let count = response.resources.len();
        if count > Limits::MAX_RESOURCES {
            return Err(CallError::Limit(format!(
                "it returned {count} resources, more than the limit of {}",
                Limits::MAX_RESOURCES
            )));
        }
        let size = response
            .resources
            .iter()
            .fold(0usize, |n, r| n.saturating_add(r.len()));
        if size > call.limits.output {
            return Err(CallError::OutputTooLarge {
                size,
                limit: call.limits.output,
            });
        }
        let values = response
            .resources
            .iter()
            .fold(0usize, |n, r| n.saturating_add(limits::json_values(r)));
        if values > call.limits.max_values() {
            return Err(CallError::Limit(format!(
                "its resources hold {values} JSON values, more than the limit of {} (each takes \
                 the host many times its bytes; raise --output-limit for more)",
                call.limits.max_values()
            )));
        }
        Ok(Output {
            resources: response.resources,
            diagnostics: diagnostics(response.diagnostics),
            log,
        })
    }
}

/// A store for one call, its limiter and time bound set.
fn new_store(
    engine: &Engine,
    plugin: &str,
    step: &str,
    root: &Path,
    seed: [u8; 32],
    limits: Limits,
    grants: Arc<Grants>,
) -> Result<Store<State>, CallError> {
    let state =
        State::new(plugin, step, root, seed, limits.memory, grants).map_err(CallError::Sandbox)?;
    let mut store = Store::new(engine, state);
    store.limiter(|s| &mut s.limiter);
    store.set_hostcall_fuel(hostcall_fuel(limits.output));
    // Running wasm is stopped by the epoch; a call waiting in the host
    // (a sleep, a poll) by the deadline of `bounded`.
    store.set_epoch_deadline(limits::epoch_ticks(limits.time, EPOCH_TICK));
    store.epoch_deadline_trap();
    Ok(store)
}

/// What a call may hand the host at once (wasmtime's "hostcall fuel",
/// about the bytes the host allocates for what it copies out of the
/// guest): the output cap with room for the list and the diagnostics, and
/// never less than wasmtime's default, so an operator who raises the
/// output cap gets outputs that large.
fn hostcall_fuel(output: usize) -> usize {
    output.saturating_add(64 << 20).max(128 << 20)
}

/// Runs `call` on this thread under a deadline of `time`; `None` when the
/// deadline passed first. Wasm that runs is stopped by the epoch deadline
/// set on its store; this deadline stops a call that waits in the host (a
/// sleep, a poll, with any timeout). File reads stay on this thread (see
/// `sandbox`); opens that could block are refused (see `fs`).
pub(super) fn bounded<F: Future>(time: Duration, call: F) -> Option<F::Output> {
    wasmtime_wasi::runtime::in_tokio(async move { tokio::time::timeout(time, call).await.ok() })
}

pub(super) fn classify(e: &wasmtime::Error, store: &mut Store<State>, limits: Limits) -> CallError {
    let state = store.data();
    if let Some(name) = &state.denied_secret {
        return CallError::SecretDenied(name.clone());
    }
    if state.limiter.hit {
        return CallError::Memory(limits.memory);
    }
    if e.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
        return CallError::Timeout(limits.time);
    }
    // What wasmtime says when a count of `ResourceLimiter` is exceeded.
    let chain = format!("{e:#}");
    if chain.contains("count too high") {
        return CallError::Limit(format!(
            "{} (a call may create at most {} instances, {} memories and {} tables)",
            text::line(&chain, Limits::MAX_MESSAGE),
            super::sandbox::MAX_INSTANCES,
            super::sandbox::MAX_MEMORIES,
            super::sandbox::MAX_TABLES
        ));
    }
    // What wasmtime says when a call hands the host more than its fuel.
    if chain.contains("fuel allocated for hostcalls has been exhausted") {
        return CallError::Limit(format!(
            "it handed the host more than {} bytes at once (resources, diagnostics or a log line)",
            hostcall_fuel(limits.output)
        ));
    }
    // What wasmtime says when the host's table of handles is full.
    if chain.contains("resource table has no free keys") {
        return CallError::Limit(format!(
            "it held more than {} handles (open files and directories, streams, timers) at once",
            super::sandbox::MAX_HANDLES
        ));
    }
    let stderr = String::from_utf8_lossy(&state.stderr.contents()).into_owned();
    let panic = stderr
        .lines()
        .skip_while(|l| !l.contains("panicked at"))
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    let trap = e
        .downcast_ref::<Trap>()
        .map_or_else(|| format!("{e:#}"), ToString::to_string);
    let message = if panic.is_empty() {
        trap
    } else {
        format!("{panic} ({trap})")
    };
    CallError::Trap {
        message: text::block(&message, Limits::MAX_MESSAGE),
    }
}

fn plugin_error(e: wit::Error) -> CallError {
    CallError::Plugin {
        kind: match e.kind {
            wit::ErrorKind::BadConfig => ErrorKind::BadConfig,
            wit::ErrorKind::BadInput => ErrorKind::BadInput,
            wit::ErrorKind::PluginFailure => ErrorKind::PluginFailure,
        },
        message: text::block(&e.message, Limits::MAX_MESSAGE),
        file: e.file.as_ref().map(location),
        hint: e.hint.map(|h| text::block(&h, Limits::MAX_MESSAGE)),
    }
}

fn location(f: &wit::FileLocation) -> String {
    let path = text::line(&f.path, Limits::MAX_MESSAGE);
    match (f.line, f.column) {
        (Some(l), Some(c)) => format!("{path}:{l}:{c}"),
        (Some(l), None) => format!("{path}:{l}"),
        _ => path,
    }
}

/// The diagnostics of a call, escaped and within
/// [`Limits::MAX_DIAGNOSTICS`] and [`Limits::MAX_TEXT`]; those past the
/// caps are dropped and counted in a last diagnostic, an error when any
/// error was dropped.
pub(super) fn diagnostics(all: Vec<wit::Diagnostic>) -> Vec<Diagnostic> {
    let mut kept = Vec::new();
    let (mut bytes, mut dropped, mut dropped_errors) = (0usize, 0usize, 0usize);
    for d in all {
        if kept.len() < Limits::MAX_DIAGNOSTICS && bytes < Limits::MAX_TEXT {
            let d = diagnostic(d);
            bytes = bytes.saturating_add(d.text_len());
            kept.push(d);
        } else {
            dropped += 1;
            dropped_errors += usize::from(matches!(d.severity, wit::Severity::Error));
        }
    }
    if dropped > 0 {
        kept.push(Diagnostic {
            severity: if dropped_errors > 0 {
                Severity::Error
            } else {
                Severity::Warning
            },
            message: format!(
                "{dropped} more diagnostics ({dropped_errors} of them errors) were dropped: a step may report at most {} diagnostics and {} bytes of them",
                Limits::MAX_DIAGNOSTICS,
                Limits::MAX_TEXT
            ),
            resource: None,
            field_path: None,
            file: None,
        });
    }
    kept
}

impl Diagnostic {
    fn text_len(&self) -> usize {
        [&self.resource, &self.field_path, &self.file]
            .into_iter()
            .flatten()
            .fold(self.message.len(), |n, s| n.saturating_add(s.len()))
    }
}

fn diagnostic(d: wit::Diagnostic) -> Diagnostic {
    let line = |s: String| text::line(&s, Limits::MAX_MESSAGE);
    Diagnostic {
        severity: match d.severity {
            wit::Severity::Error => Severity::Error,
            wit::Severity::Warning => Severity::Warning,
            wit::Severity::Info => Severity::Info,
        },
        message: line(d.message),
        resource: d.resource_ref.map(|r| {
            line(match r.namespace {
                Some(ns) => format!("{}/{}/{ns}/{}", r.api_version, r.kind, r.name),
                None => format!("{}/{}/{}", r.api_version, r.kind, r.name),
            })
        }),
        field_path: d.field_path.map(line),
        file: d.file.as_ref().map(location),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Instantiates the component written as `wat` in a call's store under
    /// a 16 MiB cap, as a plugin would be.
    fn instantiate(wat: &str) -> Result<(), CallError> {
        let runtime = super::super::Runtime::new(None).expect("runtime");
        let engine = runtime.engine().expect("engine");
        let bytes = wat::parse_str(wat).expect("valid WAT");
        let component = Component::new(engine, bytes).expect("compiles");
        let limits = Limits {
            memory: 16 << 20,
            ..Limits::default()
        };
        let root = tempfile::tempdir().expect("temp dir");
        let mut store = new_store(
            engine,
            "test",
            "step",
            root.path(),
            [0; 32],
            limits,
            Arc::default(),
        )?;
        let linker = Linker::<State>::new(engine);
        match bounded(
            limits.time,
            linker.instantiate_async(&mut store, &component),
        ) {
            None => Err(CallError::Timeout(limits.time)),
            Some(Ok(_)) => Ok(()),
            Some(Err(e)) => Err(classify(&e, &mut store, limits)),
        }
    }

    /// `count` core instances of `module`, in one component.
    fn instances_of(module: &str, count: usize) -> String {
        let instances = (0..count)
            .map(|i| format!("(core instance $i{i} (instantiate $m))"))
            .collect::<Vec<_>>()
            .join("\n");
        format!("(component (core module $m {module})\n{instances})")
    }

    /// Regression test for issue #12, with real components: the cap is a
    /// total over every memory and table of every core instance of a
    /// call, not a bound per memory.
    #[test]
    fn several_memories_and_tables_of_a_component_are_capped_by_their_total() {
        // 80 pages are 5 MiB: three fit in 16 MiB, four do not.
        let memory = "(memory 80)";
        assert!(instantiate(&instances_of(memory, 3)).is_ok());
        let err = instantiate(&instances_of(memory, 4)).expect_err("20 MiB under 16");
        assert!(
            matches!(err, CallError::Memory(n) if n == 16 << 20),
            "{err}"
        );
        // Four memories of one module (multi-memory).
        let err = instantiate(&instances_of(
            "(memory 80) (memory 80) (memory 80) (memory 80)",
            1,
        ))
        .expect_err("one module, 20 MiB");
        assert!(matches!(err, CallError::Memory(_)), "{err}");
        // Tables count too: 2^20 funcrefs fill the cap alone.
        let err = instantiate(&instances_of("(table 1048576 funcref) (memory 1)", 1))
            .expect_err("a table past the cap");
        assert!(matches!(err, CallError::Memory(_)), "{err}");
        let err = instantiate(&instances_of("(table 400000 funcref) (memory 80)", 2))
            .expect_err("tables and memories together past the cap");
        assert!(matches!(err, CallError::Memory(_)), "{err}");
        assert!(instantiate(&instances_of("(table 100000 funcref) (memory 16)", 2)).is_ok());
    }

    /// The number of memories, tables and instances is bounded even when
    /// each is empty.
    #[test]
    fn the_count_of_memories_tables_and_instances_is_bounded() {
        let err = instantiate(&instances_of("(memory 0)", 9)).expect_err("9 memories");
        assert!(
            matches!(&err, CallError::Limit(m) if m.contains("at most")),
            "{err}"
        );
        let err = instantiate(&instances_of("(table 0 funcref)", 17)).expect_err("17 tables");
        assert!(matches!(&err, CallError::Limit(_)), "{err}");
        let err = instantiate(&instances_of("", 65)).expect_err("65 instances");
        assert!(matches!(&err, CallError::Limit(_)), "{err}");
        assert!(instantiate(&instances_of("(memory 0) (table 0 funcref)", 8)).is_ok());
    }
}
