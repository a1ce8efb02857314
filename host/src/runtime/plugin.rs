//! A loaded plugin and one call of it.

use std::path::Path;
use std::sync::Arc;

use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store, Trap};

use super::bindings::kiln::plugin::types as wit;
use super::bindings::{Plugin, PluginPre};
use super::sandbox::{Grants, State};
use super::{EPOCH_TICK, Limits, LoadError};

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
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(wrong)?;
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
        let state = State::new(&self.name, step, root, seed, limits.memory, grants)
            .map_err(CallError::Sandbox)?;
        let mut store = Store::new(self.pre.engine(), state);
        store.limiter(|s| &mut s.limiter);
        let ticks = limits
            .time
            .as_micros()
            .div_ceil(EPOCH_TICK.as_micros())
            .max(1);
        store.set_epoch_deadline(u64::try_from(ticks).unwrap_or(u64::MAX));
        store.epoch_deadline_trap();
        Ok(store)
    }

    /// Calls `info()`.
    pub fn info(&self, root: &Path) -> Result<PluginInfo, CallError> {
        let limits = Limits::default();
        let mut store = self.store("info", root, [0; 32], limits, Arc::default())?;
        let result = self
            .pre
            .instantiate(&mut store)
            .and_then(|p| p.call_info(&mut store));
        let info = result.map_err(|e| classify(&e, &mut store, limits))?;
        Ok(PluginInfo {
            name: info.name,
            version: info.version,
            description: info.description,
            config_schema: info.config_schema,
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
        let result = self
            .pre
            .instantiate(&mut store)
            .and_then(|p: Plugin| p.call_render(&mut store, &request));
        let response = match result {
            Ok(Ok(response)) => response,
            Ok(Err(e)) => return Err(plugin_error(e)),
            Err(e) => return Err(classify(&e, &mut store, call.limits)),
        };
        let size: usize = response.resources.iter().map(String::len).sum();
        if size > call.limits.output {
            return Err(CallError::OutputTooLarge {
                size,
                limit: call.limits.output,
            });
        }
        Ok(Output {
            resources: response.resources,
            diagnostics: response.diagnostics.into_iter().map(diagnostic).collect(),
        })
    }
}

fn classify(e: &wasmtime::Error, store: &mut Store<State>, limits: Limits) -> CallError {
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
    CallError::Trap { message }
}

fn plugin_error(e: wit::Error) -> CallError {
    CallError::Plugin {
        kind: match e.kind {
            wit::ErrorKind::BadConfig => ErrorKind::BadConfig,
            wit::ErrorKind::BadInput => ErrorKind::BadInput,
            wit::ErrorKind::PluginFailure => ErrorKind::PluginFailure,
        },
        message: e.message,
        file: e.file.map(location),
        hint: e.hint,
    }
}

fn location(f: wit::FileLocation) -> String {
    match (f.line, f.column) {
        (Some(l), Some(c)) => format!("{}:{l}:{c}", f.path),
        (Some(l), None) => format!("{}:{l}", f.path),
        _ => f.path,
    }
}

fn diagnostic(d: wit::Diagnostic) -> Diagnostic {
    Diagnostic {
        severity: match d.severity {
            wit::Severity::Error => Severity::Error,
            wit::Severity::Warning => Severity::Warning,
            wit::Severity::Info => Severity::Info,
        },
        message: d.message,
        resource: d.resource_ref.map(|r| match r.namespace {
            Some(ns) => format!("{}/{}/{ns}/{}", r.api_version, r.kind, r.name),
            None => format!("{}/{}/{}", r.api_version, r.kind, r.name),
        }),
        field_path: d.field_path,
        file: d.file.map(location),
    }
}
