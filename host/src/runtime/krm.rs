//! KRM functions: the second kind of plugin. A KRM function is a WASI
//! command (a `wasip1` core module with `_start`, or a `wasi:cli/run`
//! component) that reads a `config.kubernetes.io/v1` `ResourceList` on stdin
//! and writes one on stdout, as the KRM functions specification asks.
//!
//! A core module runs on wasmtime's own `wasip1` implementation, a command
//! component on WASI 0.2, both over the WASI context every plugin gets (see
//! `sandbox`), under the same limits, compiled and cached the same way. A
//! core module is not turned into a component with the WASI adapter: the
//! adapter takes a page of the module's memory for itself, which the Go
//! runtime, owning all memory up to the size it sees at start, then
//! overwrites. A core module gets no preopened directory: its opens could
//! not be guarded as a component's are (no `.git`, no FIFOs or devices).
//!
//! What kiln sends: the step's input resources as `items`, each annotated
//! with its position (`config.kubernetes.io/index` and
//! `internal.config.kubernetes.io/index`, as kpt does), and the step's
//! `with:` as `functionConfig` (see [`function_config`]). What it takes
//! back: `items`, with the annotations kiln and the function's SDK use for
//! bookkeeping removed, and `results`, which become diagnostics. A function
//! that exits with a code other than 0 fails the step; so does an `error`
//! result.

use std::sync::Arc;

use serde_json::{Map, Value};
use wasmtime::component::{Component, Linker};
use wasmtime::{Store, Trap};
use wasmtime_wasi::I32Exit;
use wasmtime_wasi::p2::bindings::CommandPre;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

use super::bindings::kiln::plugin::types as wit;
use super::plugin::{Call, CallError, ErrorKind, Output, bounded, classify, diagnostics};
use super::sandbox::{P1State, State, Stdio};
use super::{EPOCH_TICK, Limits, LoadError, limits, text};

/// Annotations that locate a resource in the function's input or in files
/// (kiln's, kpt's and the SDKs'); removed from the output, since a render
/// writes no files.
const BOOKKEEPING: [&str; 6] = [
    "config.kubernetes.io/index",
    "config.kubernetes.io/path",
    "config.k8s.io/id",
    "internal.config.kubernetes.io/index",
    "internal.config.kubernetes.io/path",
    "internal.config.kubernetes.io/id",
];

/// Prefix of the annotations the SDKs keep for themselves; removed too.
const INTERNAL: &str = "internal.config.kubernetes.io/";

/// A KRM function, compiled and pre-instantiated.
pub(super) struct Function {
    name: String,
    pre: Pre,
}

enum Pre {
    /// A `wasi:cli/run` component.
    Command(CommandPre<State>),
    /// A `wasip1` core module with `_start`.
    Module(wasmtime::InstancePre<P1State>),
}

/// How a run ended.
enum Ended {
    /// With this exit code.
    Exit(i32),
    /// Stopped by kiln or by a trap.
    Failed(CallError),
}

impl Function {
    /// A `wasi:cli/run` component.
    pub(super) fn command(
        engine: &wasmtime::Engine,
        name: &str,
        component: &Component,
    ) -> Result<Self, LoadError> {
        let mut linker = Linker::<State>::new(engine);
        let refused = |source| LoadError::NotAKrmFunction {
            name: name.to_owned(),
            source,
        };
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(refused)?;
        super::fs::guard(&mut linker).map_err(refused)?;
        let pre = linker.instantiate_pre(component).map_err(refused)?;
        let pre = CommandPre::new(pre).map_err(refused)?;
        Ok(Self {
            name: name.to_owned(),
            pre: Pre::Command(pre),
        })
    }

    /// A `wasip1` core module: it must export `_start` and import nothing
    /// but `wasi_snapshot_preview1`.
    pub(super) fn module(
        engine: &wasmtime::Engine,
        name: &str,
        module: &wasmtime::Module,
    ) -> Result<Self, LoadError> {
        let refused = |source| LoadError::NotAKrmFunction {
            name: name.to_owned(),
            source,
        };
        if module.get_export("_start").is_none() {
            return Err(refused(wasmtime::Error::msg(
                "it exports no `_start`: build it as a command (a program with `main`), not a library",
            )));
        }
        let mut linker = wasmtime::Linker::<P1State>::new(engine);
        wasmtime_wasi::p1::add_to_linker_async(&mut linker, |s: &mut P1State| &mut s.wasi)
            .map_err(refused)?;
        let pre = linker.instantiate_pre(module).map_err(refused)?;
        Ok(Self {
            name: name.to_owned(),
            pre: Pre::Module(pre),
        })
    }

    /// Runs the function once on the call's resources and config.
    pub(super) fn render(&self, call: &Call<'_>) -> Result<Output, CallError> {
        let list = resource_list(call.resources, call.config)?;
        let stdout = MemoryOutputPipe::new(call.limits.output);
        let streams = Stdio {
            args: vec![self.name.clone()],
            stdin: list,
            stdout: stdout.clone(),
        };
        let (ended, stderr) = match &self.pre {
            Pre::Command(pre) => self.run_command(pre, call, streams)?,
            Pre::Module(pre) => run_module(pre, call, streams)?,
        };
        self.log_stderr(call.step, &stderr);
        let out = stdout.contents();
        if out.len() >= call.limits.output {
            return Err(too_large(out.len(), call.limits));
        }
        let code = match ended {
            Ended::Exit(code) => code,
            Ended::Failed(CallError::Trap { message }) if !stderr_tail(&stderr).is_empty() => {
                // Go, TinyGo and most languages print a panic as text of
                // their own: its end says what happened.
                return Err(CallError::Trap {
                    message: text::block(
                        &format!(
                            "{message}; the function's stderr ends with:\n{}",
                            stderr_tail(&stderr)
                        ),
                        Limits::MAX_MESSAGE,
                    ),
                });
            }
            Ended::Failed(e) => return Err(e),
        };
        let parsed = parse_output(&out, &self.name);
        if code != 0 {
            return Err(failed(code, parsed.ok(), &stderr));
        }
        let (resources, diagnostics) = parsed.map_err(|message| CallError::Plugin {
            kind: ErrorKind::PluginFailure,
            message,
            file: None,
            hint: stderr_hint(&stderr),
        })?;
        let size = resources
            .iter()
            .fold(0usize, |n, r: &String| n.saturating_add(r.len()));
        if size > call.limits.output {
            return Err(CallError::OutputTooLarge {
                size,
                limit: call.limits.output,
            });
        }
        Ok(Output {
            resources,
            diagnostics,
            // A KRM function's stderr is not a log of lines kiln shows.
            log: Vec::new(),
        })
    }

    fn run_command(
        &self,
        pre: &CommandPre<State>,
        call: &Call<'_>,
        streams: Stdio,
    ) -> Result<(Ended, String), CallError> {
        let state = State::with_stdio(
            &self.name,
            call.step,
            call.source_root,
            call.seed,
            call.limits.memory,
            Arc::clone(&call.grants),
            Some(streams),
        )
        .map_err(CallError::Sandbox)?;
        let mut store = Store::new(pre.engine(), state);
        store.limiter(|s| &mut s.limiter);
        store.set_epoch_deadline(limits::epoch_ticks(call.limits.time, EPOCH_TICK));
        store.epoch_deadline_trap();
        let result = bounded(call.limits.time, async {
            let command = pre.instantiate_async(&mut store).await?;
            command.wasi_cli_run().call_run(&mut store).await
        });
        let ended = match result {
            None => Ended::Failed(CallError::Timeout(call.limits.time)),
            Some(Ok(Ok(()))) => Ended::Exit(0),
            Some(Ok(Err(()))) => Ended::Exit(1),
            Some(Err(e)) => match e.downcast_ref::<I32Exit>() {
                Some(exit) => Ended::Exit(exit.0),
                None => Ended::Failed(classify(&e, &mut store, call.limits)),
            },
        };
        let stderr = String::from_utf8_lossy(&store.data().stderr.contents()).into_owned();
        Ok((ended, stderr))
    }

    /// Re-emits what the function wrote on stderr in the step's log, at
    /// `debug`, one escaped line at a time.
    fn log_stderr(&self, step: &str, stderr: &str) {
        for line in stderr.lines().filter(|l| !l.trim().is_empty()).take(1_000) {
            let line = text::line(line, Limits::MAX_MESSAGE);
            tracing::debug!(target: "kiln::plugin", plugin = %self.name, step, "{line}");
        }
    }
}

fn run_module(
    pre: &wasmtime::InstancePre<P1State>,
    call: &Call<'_>,
    streams: Stdio,
) -> Result<(Ended, String), CallError> {
    let state = P1State::new(call.seed, call.limits.memory, streams).map_err(CallError::Sandbox)?;
    let mut store = Store::new(pre.module().engine(), state);
    store.limiter(|s| &mut s.limiter);
    store.set_epoch_deadline(limits::epoch_ticks(call.limits.time, EPOCH_TICK));
    store.epoch_deadline_trap();
    let result = bounded(call.limits.time, async {
        let instance = pre.instantiate_async(&mut store).await?;
        let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
        start.call_async(&mut store, ()).await
    });
    let ended = match result {
        None => Ended::Failed(CallError::Timeout(call.limits.time)),
        Some(Ok(())) => Ended::Exit(0),
        Some(Err(e)) => match e.downcast_ref::<I32Exit>() {
            Some(exit) => Ended::Exit(exit.0),
            None if store.data().limiter.hit => {
                Ended::Failed(CallError::Memory(call.limits.memory))
            }
            None if e.downcast_ref::<Trap>() == Some(&Trap::Interrupt) => {
                Ended::Failed(CallError::Timeout(call.limits.time))
            }
            None => Ended::Failed(CallError::Trap {
                message: text::block(
                    &e.downcast_ref::<Trap>()
                        .map_or_else(|| format!("{e:#}"), ToString::to_string),
                    Limits::MAX_MESSAGE,
                ),
            }),
        },
    };
    let stderr = String::from_utf8_lossy(&store.data().stderr.contents()).into_owned();
    Ok((ended, stderr))
}

fn too_large(size: usize, limits: Limits) -> CallError {
    CallError::OutputTooLarge {
        size,
        limit: limits.output,
    }
}

/// The error of a function that exited with `code`: its `error` results
/// when it wrote any (the SDKs do before they exit), else its stderr.
fn failed(
    code: i32,
    parsed: Option<(Vec<String>, Vec<super::Diagnostic>)>,
    stderr: &str,
) -> CallError {
    let errors: Vec<String> = parsed
        .map(|(_, diagnostics)| {
            diagnostics
                .into_iter()
                .filter(|d| d.severity == super::Severity::Error)
                .map(|d| describe(&d))
                .collect()
        })
        .unwrap_or_default();
    let message = if errors.is_empty() {
        let tail = stderr_tail(stderr);
        if tail.is_empty() {
            format!("the KRM function exited with code {code}")
        } else {
            format!("the KRM function exited with code {code}: {tail}")
        }
    } else {
        format!(
            "the KRM function exited with code {code}:\n- {}",
            errors.join("\n- ")
        )
    };
    CallError::Plugin {
        kind: ErrorKind::PluginFailure,
        message: text::block(&message, Limits::MAX_MESSAGE),
        file: None,
        hint: None,
    }
}

/// A diagnostic on one line: `file: resource: field: message`.
fn describe(d: &super::Diagnostic) -> String {
    let mut text = d.message.clone();
    if let Some(f) = &d.field_path {
        text = format!("{f}: {text}");
    }
    if let Some(r) = &d.resource {
        text = format!("{r}: {text}");
    }
    if let Some(f) = &d.file {
        text = format!("{f}: {text}");
    }
    text
}

/// The last lines of stderr, for an error message.
fn stderr_tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = lines[lines.len().saturating_sub(5)..].join("\n");
    text::block(tail.trim(), Limits::MAX_MESSAGE)
}

fn stderr_hint(stderr: &str) -> Option<String> {
    let tail = stderr_tail(stderr);
    (!tail.is_empty()).then(|| format!("the function's stderr ends with: {tail}"))
}

/// The `ResourceList` a function reads, as JSON (which every YAML parser
/// the KRM SDKs use reads as YAML).
pub(super) fn resource_list(resources: &[String], config: &str) -> Result<Vec<u8>, CallError> {
    let mut items = Vec::with_capacity(resources.len());
    for (index, doc) in resources.iter().enumerate() {
        let mut item: Value = serde_json::from_str(doc).map_err(|e| CallError::Plugin {
            kind: ErrorKind::BadInput,
            message: format!("input resource #{index} is not JSON: {e}"),
            file: None,
            hint: None,
        })?;
        annotate(&mut item, index);
        items.push(item);
    }
    let mut list = Map::new();
    list.insert("apiVersion".into(), "config.kubernetes.io/v1".into());
    list.insert("kind".into(), "ResourceList".into());
    list.insert("items".into(), Value::Array(items));
    if let Some(config) = function_config(config)? {
        list.insert("functionConfig".into(), config);
    }
    Ok(serde_json::to_vec(&Value::Object(list)).expect("JSON values serialise"))
}

/// Adds the index annotations to a resource (an object; anything else is
/// left for the function to judge).
fn annotate(item: &mut Value, index: usize) {
    let Some(object) = item.as_object_mut() else {
        return;
    };
    let metadata = object
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(metadata) = metadata.as_object_mut() else {
        return;
    };
    let annotations = metadata
        .entry("annotations")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(annotations) = annotations.as_object_mut() {
        let index = Value::String(index.to_string());
        annotations.insert("config.kubernetes.io/index".into(), index.clone());
        annotations.insert("internal.config.kubernetes.io/index".into(), index);
    }
}

/// The `functionConfig` for the step's `with:` (JSON text):
///
/// - `{}` (no `with:`): none;
/// - an object with `apiVersion` and `kind` (a typed config such as
///   `SetNamespace`, or a `ConfigMap` written out): as it is;
/// - any other object: a `ConfigMap` named `function-input` whose `data`
///   holds its keys, numbers and booleans as their text, which is what kpt
///   makes of `kpt fn eval -- key=value` and what most catalog functions
///   accept. Nested values are refused: give a typed object instead.
pub(super) fn function_config(config: &str) -> Result<Option<Value>, CallError> {
    let bad = |message: String| {
        CallError::Plugin {
        kind: ErrorKind::BadConfig,
        message,
        file: None,
        hint: Some(
            "give `with:` as a KRM object (`apiVersion`, `kind` and its fields), or as flat `key: value` pairs for a ConfigMap".into(),
        ),
    }
    };
    let value: Value =
        serde_json::from_str(config).map_err(|e| bad(format!("`with:` is not JSON: {e}")))?;
    let Value::Object(map) = value else {
        return Err(bad("`with:` must be a mapping".into()));
    };
    if map.is_empty() {
        return Ok(None);
    }
    if map.contains_key("apiVersion") && map.contains_key("kind") {
        return Ok(Some(Value::Object(map)));
    }
    let mut data = Map::new();
    for (key, value) in map {
        let text = match value {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => String::new(),
            Value::Array(_) | Value::Object(_) => {
                return Err(bad(format!(
                    "`with.{key}` is a list or mapping, which a ConfigMap's `data` cannot hold"
                )));
            }
        };
        data.insert(key, Value::String(text));
    }
    Ok(Some(serde_json::json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "function-input"},
        "data": data,
    })))
}

/// The resources (JSON text each) and diagnostics of a function's output.
pub(super) fn parse_output(
    out: &[u8],
    name: &str,
) -> Result<(Vec<String>, Vec<super::Diagnostic>), String> {
    let text = std::str::from_utf8(out)
        .map_err(|e| format!("the KRM function wrote stdout that is not UTF-8: {e}"))?;
    if text.trim().is_empty() {
        return Err(
            "the KRM function wrote nothing on stdout (a ResourceList was expected)".into(),
        );
    }
    let docs = kiln_resource::yaml::parse_stream(text, name).map_err(|e| {
        text::line(
            &format!("the KRM function's stdout is not YAML: {e}"),
            Limits::MAX_MESSAGE,
        )
    })?;
    let mut docs = docs.into_iter();
    let (Some(Value::Object(mut list)), None) = (docs.next(), docs.next()) else {
        return Err("the KRM function's stdout is not one ResourceList".into());
    };
    if list.get("kind").and_then(Value::as_str) != Some("ResourceList") {
        return Err(format!(
            "the KRM function's stdout is a `{}`, not a ResourceList",
            text::line(
                list.get("kind")
                    .and_then(Value::as_str)
                    .unwrap_or("document without kind"),
                200
            )
        ));
    }
    let items = match list.remove("items") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items,
        Some(_) => return Err("the ResourceList's `items` is not a list".into()),
    };
    if items.len() > Limits::MAX_RESOURCES {
        return Err(format!(
            "the KRM function returned {} resources, more than the limit of {}",
            items.len(),
            Limits::MAX_RESOURCES
        ));
    }
    let resources = items
        .into_iter()
        .map(|mut item| {
            strip(&mut item);
            serde_json::to_string(&item).expect("JSON values serialise")
        })
        .collect();
    // `results` is a list; functions built on kyaml before v0.11 write an
    // object `{name, items: [...]}` whose items have no severity unless
    // they are errors or warnings.
    let (results, default) = match list.remove("results") {
        None | Some(Value::Null) => (Vec::new(), wit::Severity::Error),
        Some(Value::Array(results)) => (results, wit::Severity::Error),
        Some(Value::Object(mut legacy)) => match legacy.remove("items") {
            None | Some(Value::Null) => (Vec::new(), wit::Severity::Info),
            Some(Value::Array(items)) => (items, wit::Severity::Info),
            Some(_) => return Err("the ResourceList's `results.items` is not a list".into()),
        },
        Some(_) => return Err("the ResourceList's `results` is not a list".into()),
    };
    Ok((
        resources,
        diagnostics(results.iter().map(|r| result(r, default)).collect()),
    ))
}

/// Removes the bookkeeping annotations, and `annotations` itself when
/// nothing else is left in it.
fn strip(item: &mut Value) {
    let Some(metadata) = item.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let Some(annotations) = metadata
        .get_mut("annotations")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let before = annotations.len();
    annotations.retain(|k, _| !BOOKKEEPING.contains(&k.as_str()) && !k.starts_with(INTERNAL));
    if annotations.is_empty() && before > 0 {
        metadata.shift_remove("annotations");
    }
}

/// A KRM `result` as a diagnostic of the WIT contract (then bounded and
/// escaped like a plugin's).
fn result(r: &Value, default: wit::Severity) -> wit::Diagnostic {
    let string = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    let severity = match r.get("severity").and_then(Value::as_str) {
        Some("warning") => wit::Severity::Warning,
        Some("info") => wit::Severity::Info,
        None | Some("") => default,
        // An unknown severity is not taken for less than an error.
        Some(_) => wit::Severity::Error,
    };
    let resource_ref = r.get("resourceRef").map(|rr| wit::ResourceRef {
        api_version: string(rr.get("apiVersion")).unwrap_or_default(),
        kind: string(rr.get("kind")).unwrap_or_default(),
        name: string(rr.get("name")).unwrap_or_default(),
        namespace: string(rr.get("namespace")).filter(|n| !n.is_empty()),
    });
    let file = r.get("file").and_then(|f| {
        let path = string(f.get("path"))?;
        Some(wit::FileLocation {
            path,
            index: f
                .get("index")
                .and_then(Value::as_u64)
                .and_then(|i| u32::try_from(i).ok()),
            line: None,
            column: None,
        })
    });
    let tags = r
        .get("tags")
        .and_then(Value::as_object)
        .map(|tags| {
            tags.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    wit::Diagnostic {
        severity,
        message: string(r.get("message")).unwrap_or_else(|| "(a result without a message)".into()),
        resource_ref,
        field_path: r.get("field").and_then(|f| string(f.get("path"))),
        file,
        tags,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_becomes_a_config_map_unless_it_is_a_krm_object() {
        assert_eq!(function_config("{}").expect("ok"), None);
        let typed = r#"{"apiVersion":"fn.kpt.dev/v1alpha1","kind":"SetNamespace","namespace":"x"}"#;
        assert_eq!(
            function_config(typed)
                .expect("ok")
                .expect("some")
                .to_string(),
            typed
        );
        let flat = function_config(r#"{"namespace":"prod","replicas":3,"on":true}"#)
            .expect("ok")
            .expect("some");
        assert_eq!(
            flat.to_string(),
            r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"function-input"},"data":{"namespace":"prod","replicas":"3","on":"true"}}"#
        );
        let nested = function_config(r#"{"labels":{"a":"b"}}"#).expect_err("refused");
        assert!(nested.to_string().contains("`with.labels`"), "{nested}");
    }

    #[test]
    fn items_are_annotated_in_and_stripped_out_keeping_key_order() {
        let resources = vec![
            r#"{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"a"}}"#.to_owned(),
            r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"b","annotations":{"keep":"me"}}}"#.to_owned(),
        ];
        let stdin = resource_list(&resources, "{}").expect("list");
        let stdin = String::from_utf8(stdin).expect("utf-8");
        assert_eq!(
            stdin,
            concat!(
                r#"{"apiVersion":"config.kubernetes.io/v1","kind":"ResourceList","items":["#,
                r#"{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"a","annotations":{"config.kubernetes.io/index":"0","internal.config.kubernetes.io/index":"0"}}},"#,
                r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"b","annotations":{"keep":"me","config.kubernetes.io/index":"1","internal.config.kubernetes.io/index":"1"}}}]}"#
            )
        );
        // What a function writes back: YAML, with the SDK's own annotations.
        let out = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- kind: ConfigMap\n  apiVersion: v1\n  metadata:\n    name: a\n    annotations:\n      config.kubernetes.io/index: '0'\n      internal.config.kubernetes.io/seqindent: compact\n- apiVersion: v1\n  kind: Secret\n  metadata:\n    name: b\n    annotations:\n      keep: me\n      config.kubernetes.io/path: x.yaml\n";
        let (items, diagnostics) = parse_output(out.as_bytes(), "fn").expect("parsed");
        assert!(diagnostics.is_empty());
        assert_eq!(
            items,
            [
                r#"{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"a"}}"#,
                r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"b","annotations":{"keep":"me"}}}"#
            ]
        );
    }

    #[test]
    fn results_become_diagnostics() {
        let out = r"apiVersion: config.kubernetes.io/v1
kind: ResourceList
items: []
results:
- message: bad image
  severity: error
  resourceRef: {apiVersion: apps/v1, kind: Deployment, name: web, namespace: prod}
  field:
    path: spec.template.spec.containers[0].image
  file: {path: web.yaml, index: 2}
- message: just so you know
  severity: info
- message: no severity means error
";
        let (_, d) = parse_output(out.as_bytes(), "fn").expect("parsed");
        assert_eq!(d.len(), 3);
        assert_eq!(d[0].severity, super::super::Severity::Error);
        assert_eq!(
            d[0].resource.as_deref(),
            Some("apps/v1/Deployment/prod/web")
        );
        assert_eq!(
            d[0].field_path.as_deref(),
            Some("spec.template.spec.containers[0].image")
        );
        assert_eq!(d[0].file.as_deref(), Some("web.yaml"));
        assert_eq!(d[1].severity, super::super::Severity::Info);
        assert_eq!(d[2].severity, super::super::Severity::Error);
        assert_eq!(
            describe(&d[0]),
            "web.yaml: apps/v1/Deployment/prod/web: spec.template.spec.containers[0].image: bad image"
        );
    }

    /// kyaml before v0.11 (apply-setters v0.2.0, list-setters v0.1.0).
    #[test]
    fn legacy_results_are_read_with_info_as_the_default() {
        let out = "kind: ResourceList\nitems: []\nresults:\n  name: apply-setters\n  items:\n  - message: no matches\n  - message: broken\n    severity: error\n";
        let (_, d) = parse_output(out.as_bytes(), "fn").expect("parsed");
        assert_eq!(
            d.iter()
                .map(|d| (d.severity, d.message.as_str()))
                .collect::<Vec<_>>(),
            [
                (super::super::Severity::Info, "no matches"),
                (super::super::Severity::Error, "broken")
            ]
        );
    }

    #[test]
    fn stdout_that_is_not_a_resource_list_is_refused() {
        for (out, expect) in [
            ("", "wrote nothing"),
            ("kind: ConfigMap\n", "not a ResourceList"),
            (
                "kind: ResourceList\n---\nkind: ResourceList\n",
                "not one ResourceList",
            ),
            ("kind: ResourceList\nitems: 3\n", "`items` is not a list"),
        ] {
            let err = parse_output(out.as_bytes(), "fn").expect_err(out);
            assert!(err.contains(expect), "{out:?}: {err}");
        }
    }
}
