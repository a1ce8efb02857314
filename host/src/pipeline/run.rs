//! Running a pipeline: each step a sandboxed plugin call.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;
use tracing::{info_span, warn};

use super::{App, Pipeline, PluginRef, RunWhen, Step, StepReport};
use crate::cache::{CacheStatus, Cached, KeyInputs, StepCache};
use crate::runtime::{self, Call, CallError, Context, Grants, Note, NoteLevel, Runtime, Severity};

/// What a render needs beyond the app and its pipeline.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// Target namespace (a flag, or `kiln.yaml` metadata).
    pub namespace: Option<String>,
    /// Target Kubernetes version.
    pub kube_version: String,
    /// API versions the target serves.
    pub api_versions: Vec<String>,
    /// Source revision, when the source is git.
    pub source_revision: Option<String>,
    /// Extra config merged into the `with:` of every step running a given
    /// built-in plugin (e.g. the helm flags of `kiln render`).
    pub plugin_config: Vec<(String, serde_json::Map<String, Value>)>,
    /// Values of secrets, by name, as the operator gave them. A step that
    /// lists one in `kiln.yaml` receives it only when [`Self::grants`]
    /// grants it to the step's plugin; SOPS decryption keys
    /// ([`KEY_SECRETS`]) reach only the built-in `sops` plugin.
    pub secrets: Vec<(String, Vec<u8>)>,
    /// The operator's grants: `(plugin digest, secret name)`.
    pub grants: Vec<(blake3::Hash, String)>,
    /// Never contact a registry: `oci://` plugins come from the cache only.
    pub offline: bool,
    /// The secret every call's randomness is keyed by (see
    /// [`super::RenderSeed`]); `None` draws it from the step's cache key
    /// alone, which whoever has the inputs can repeat.
    pub render_seed: Option<super::RenderSeed>,
    /// Whose render this is when one server renders for many (see
    /// `RenderSettings::seed_scope`): part of every step key, so also of
    /// every call's random seed.
    pub seed_scope: Option<String>,
    /// The operator's ceiling on every step's limits, what `kiln.yaml`
    /// asks included; `None` leaves `kiln.yaml` free to raise them.
    pub ceiling: Option<crate::runtime::Limits>,
    /// The render cache; `None` runs every step.
    pub cache: Option<Arc<StepCache>>,
    /// The closure of the source tree plugins may read, when the caller has
    /// walked it; else [`crate::source::tree_digest`] of the app.
    pub source_digest: Option<crate::source::Closure>,
    /// Keep `DecryptedFile` documents in the output (`kiln decrypt` wants
    /// them); a render drops them: they are inputs for steps.
    pub keep_decrypted_files: bool,
    /// A stable name of the app across renders (e.g. repo URL and path), for
    /// `--explain`; default the app directory on the host.
    pub source_id: Option<String>,
    /// The source root never changes once written (a git snapshot named by
    /// its tree id): a memo of the app needs no stamps to hold.
    pub immutable_source: bool,
}

/// A finished render.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The final resources.
    pub resources: Vec<Value>,
    /// One report per step.
    pub steps: Vec<StepReport>,
}

/// A render failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The app directory does not exist.
    #[error("app directory {} does not exist", .0.display())]
    MissingApp(PathBuf),
    /// `kiln.yaml` is invalid.
    #[error(transparent)]
    Pipeline(#[from] super::file::Error),
    /// A plugin path leaves the source root.
    #[error("{file}: plugin path `{path}` is outside the source root")]
    PluginOutsideRoot {
        /// The pipeline file.
        file: String,
        /// The path as written.
        path: String,
    },
    /// A plugin file cannot be read.
    #[error("{file}: cannot read plugin `{path}`")]
    ReadPlugin {
        /// The path as written.
        path: String,
        /// The pipeline file.
        file: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A step names a plugin that is not built in.
    #[error("step `{step}` uses unknown plugin `{plugin}`")]
    UnknownPlugin {
        /// The step.
        step: String,
        /// The name.
        plugin: String,
    },
    /// A plugin could not be loaded.
    #[error("step `{step}`: cannot load plugin `{plugin}`")]
    Load {
        /// The step.
        step: String,
        /// The plugin.
        plugin: String,
        /// Why.
        #[source]
        source: runtime::LoadError,
    },
    /// A plugin call failed.
    #[error("step `{step}` (plugin `{plugin}`) failed{}", .file.as_ref().map(|f| format!(" at {f}")).unwrap_or_default())]
    Step {
        /// The step.
        step: String,
        /// The plugin.
        plugin: String,
        /// The source file at fault, if the plugin named one.
        file: Option<String>,
        /// Why.
        #[source]
        source: Box<CallError>,
    },
    /// A plugin reported error diagnostics.
    #[error("step `{step}` (plugin `{plugin}`) reported errors:{}", bullets(.messages))]
    Diagnostics {
        /// The step.
        step: String,
        /// The plugin.
        plugin: String,
        /// The messages.
        messages: Vec<String>,
    },
    /// A plugin returned something that is not a JSON object.
    #[error(
        "step `{step}` (plugin `{plugin}`) returned resource #{index} that is not a JSON object: {problem}"
    )]
    BadOutput {
        /// The step.
        step: String,
        /// The plugin.
        plugin: String,
        /// 0-based position.
        index: usize,
        /// What is wrong.
        problem: String,
    },
    /// An I/O error outside plugins.
    #[error(transparent)]
    Io(std::io::Error),
    /// An `oci://` plugin reference cannot be parsed.
    #[error("{file}: bad plugin reference")]
    BadReference {
        /// The pipeline file.
        file: String,
        /// Why.
        #[source]
        source: crate::oci::reference::ParseError,
    },
    /// An `oci://` plugin given by tag has no entry in `kiln.lock`.
    #[error("{file}: plugin `{plugin}` is not in kiln.lock, and renders never resolve a tag")]
    Unlocked {
        /// The pipeline file.
        file: String,
        /// The reference.
        plugin: String,
    },
    /// `trust:` of `kiln.yaml` cannot be used.
    #[error("{file}: trust: {message}")]
    Trust {
        /// The pipeline file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// `kiln.lock` cannot be read.
    #[error(transparent)]
    Lock(#[from] super::lock::Error),
    /// An `oci://` plugin cannot be fetched or is refused.
    #[error("step `{step}`: cannot use plugin `{plugin}`")]
    Fetch {
        /// The step.
        step: String,
        /// The reference.
        plugin: String,
        /// Why.
        #[source]
        source: Box<super::oci::FetchError>,
    },
}

impl Error {
    /// What the user can do about the error, if anything specific.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::MissingApp(_) => Some("pass the directory of an app (one with kiln.yaml, a kustomization, a Chart.yaml or manifests)".into()),
            Self::UnknownPlugin { .. } => Some(format!(
                "use a built-in plugin ({}) or a path to a .wasm component, e.g. `plugin: ./plugins/x.wasm`",
                crate::builtin::names().join(", ")
            )),
            Self::PluginOutsideRoot { .. } => Some(crate::source::outside_root_hint()),
            Self::Unlocked { plugin, .. } => Some(format!(
                "run `kiln plugin add {plugin}` in the app directory to resolve the tag once and pin its digest in kiln.lock"
            )),
            Self::Fetch { source, .. } => Some(match source.as_ref() {
                super::oci::FetchError::Blake3 { .. } => "check where the artifact came from; if the change is wanted, run `kiln plugin update` and review the kiln.lock diff".into(),
                super::oci::FetchError::Signature(crate::oci::signature::Error::Operator { .. }) => "the operator requires plugins signed by the keys or identities of the policy file that KILN_PLUGIN_POLICY names: use a plugin signed so, or ask the operator".into(),
                super::oci::FetchError::Signature(_) => "sign the artifact with a key that trust.keys of kiln.yaml names (`kiln plugin push --sign-key`, or cosign), or change the trust policy".into(),
                super::oci::FetchError::Registry(crate::oci::client::Error::Registry { .. }) => "check that the registry is reachable (renders work offline only for plugins already in the cache)".into(),
                super::oci::FetchError::Registry(crate::oci::client::Error::Offline { .. }) => "render once online to pull the plugin into the cache (`kiln plugin verify` pulls every plugin of kiln.lock)".into(),
                super::oci::FetchError::Registry(crate::oci::client::Error::TimedOut(_)) => "the registry stalls or is slow; if it is only slow, raise KILN_REGISTRY_TIMEOUT (e.g. 15m)".into(),
                super::oci::FetchError::Registry(_) => return None,
            }),
            Self::Load { source: runtime::LoadError::NotAComponent { .. }, .. } => {
                Some("build the plugin as a component, e.g. `cargo build --target wasm32-wasip2`".into())
            }
            Self::Load { source: runtime::LoadError::NotAKrmFunction { .. }, .. } => {
                Some("build the plugin as a component (`kiln plugin build`, or `cargo build --target wasm32-wasip2`), or a KRM function as a WASI command (`GOOS=wasip1 go build`)".into())
            }
            Self::Load { source: runtime::LoadError::WrongWorld { .. }, .. } => {
                Some("build the plugin against the kiln:plugin WIT world (the kiln-sdk crate does this)".into())
            }
            Self::Step { source, .. } => match source.as_ref() {
                CallError::Plugin { message, hint, .. }
                    if message.contains("outside the source root") =>
                {
                    Some(match hint {
                        Some(h) => format!("{h}; {}", crate::source::outside_root_hint()),
                        None => crate::source::outside_root_hint(),
                    })
                }
                CallError::Plugin { hint, .. } => hint.clone(),
                CallError::Timeout(_) => Some("raise the step's `limits.timeout` in kiln.yaml or pass --timeout".into()),
                CallError::Memory(_) => Some("raise the step's `limits.memory` in kiln.yaml or pass --memory-limit".into()),
                CallError::OutputTooLarge { .. } => Some("raise the step's `limits.output` in kiln.yaml or pass --output-limit".into()),
                CallError::Limit(_) => Some("these bounds are fixed; split the plugin's work over several steps".into()),
                CallError::SecretDenied(name) => Some(format!("grant it in kiln.yaml: `secrets: [{name}]` on this step; the operator must also grant it to the plugin: --grant-secret PLUGIN={name}")),
                CallError::Trap { .. } => Some("this is a bug in the plugin; run with -v for its log".into()),
                CallError::Sandbox(_) => None,
            },
            _ => None,
        }
    }
}

/// How long the walk of the source tree may take: the longest time bound
/// of the pipeline's steps, under the operator's ceiling.
fn walk_time(pipeline: &Pipeline, opts: &RenderOptions) -> std::time::Duration {
    let time = pipeline
        .steps
        .iter()
        .map(|s| s.limits.time)
        .max()
        .unwrap_or(runtime::Limits::DEFAULT_TIME);
    opts.ceiling.map_or(time, |c| time.min(c.time))
}

/// Renders `app` with `pipeline`.
pub fn render(
    app: &App,
    pipeline: &Pipeline,
    opts: &RenderOptions,
    runtime: &Runtime,
) -> Result<Rendered, Error> {
    let mut resources: Vec<String> = Vec::new();
    let mut reports = Vec::with_capacity(pipeline.steps.len());
    let namespace = opts
        .namespace
        .clone()
        .or_else(|| pipeline.namespace.clone());
    let closure = match opts.source_digest {
        Some(c) => c,
        None => digest_while_loading(
            app,
            || Some(pipeline.clone()),
            runtime,
            || {
                crate::source::tree_digest_within(
                    &app.root,
                    &app.dir,
                    &named_by_options(opts),
                    walk_time(pipeline, opts),
                )
            },
        )
        .map_err(Error::Io)?,
    };
    let tree = closure.digest;
    let source_id = opts
        .source_id
        .clone()
        .unwrap_or_else(|| app.path().display().to_string());
    let last = opts
        .cache
        .as_ref()
        .map(|c| c.last_inputs(&source_id))
        .unwrap_or_default();
    let mut recorded = Vec::with_capacity(pipeline.steps.len());
    // Once a step holds a secret, its output and all that follows stay out of the cache.
    let mut secret_seen = false;
    for step in &pipeline.steps {
        // Exact text for stdout (a `RenderedText` document) only means
        // something as the pipeline's final output, never as a step's input.
        resources.retain(|doc| !is_rendered_text(doc));
        // The app's name is a directory's: shown on one line whatever it holds.
        let app_name = runtime::printable_line(&app.name);
        let span = info_span!("step", app = %app_name, step = %step.name, plugin = %step.plugin, cache.key = tracing::field::Empty);
        let _entered = span.enter();
        let plugin_name = step.plugin.to_string();
        let runs = match step.when {
            RunWhen::Always => true,
            RunWhen::EncryptedResources => resources.iter().any(|doc| is_sops_encrypted(doc)),
            RunWhen::EncryptedSources => closure.sops_files,
        };
        if !runs {
            tracing::debug!("nothing encrypted; step skipped");
            continue;
        }
        let wasm = plugin_bytes(app, step, opts.offline)?;
        // Hashing is all a cache hit needs; the plugin is loaded on a miss.
        let digest = plugin_digest(step, &wasm);
        let config = step_config(step, opts);
        let context = Context {
            app_name: pipeline.name.clone().unwrap_or_else(|| app.name.clone()),
            app_dir: app.dir.clone(),
            namespace: namespace.clone(),
            source_revision: opts.source_revision.clone(),
            kube_version: opts.kube_version.clone(),
            api_versions: opts.api_versions.clone(),
            step: step.name.clone(),
        };
        let config_text = config.to_string();
        let inputs = KeyInputs::new(
            &digest,
            &config,
            &context_fields(
                &context,
                opts.render_seed.as_ref(),
                opts.seed_scope.as_deref(),
            ),
            &resources,
            &tree,
        );
        let key = inputs.key();
        span.record("cache.key", key.to_string());
        // What the step receives: each secret it lists that the operator
        // gave and granted to this plugin. A grant whose secret was not
        // given passes nothing secret on.
        let granted: Vec<(String, Option<Vec<u8>>)> = step
            .secrets
            .iter()
            .map(|name| {
                let value = opts.secrets.iter().find(|(n, _)| n == name).map(|(_, v)| v);
                let allowed = operator_grants(step, &digest, name, &opts.grants);
                if value.is_some() && !allowed && KEY_SECRETS.contains(&name.as_str()) {
                    warn!("the step lists secret `{name}`; decryption keys reach only the built-in sops plugin");
                } else if value.is_some() && !allowed {
                    warn!(
                        "the step lists secret `{name}`, which the operator did not grant to its plugin; \
                         it is withheld (grant it with --grant-secret blake3:{}={name})",
                        digest.to_hex()
                    );
                }
                (name.clone(), value.filter(|_| allowed).cloned())
            })
            .collect();
        secret_seen |= granted.iter().any(|(_, v)| v.is_some());
        let cache = opts.cache.as_ref().filter(|_| !secret_seen);
        let changed = last
            .iter()
            .find(|(name, _)| *name == step.name)
            .map(|(_, before)| inputs.changed_since(before));
        recorded.push((step.name.clone(), inputs));
        let hit = cache
            .and_then(|c| c.get(&key))
            .filter(|hit| hit.resources.iter().all(|d| check_object(d).is_ok()));
        if let Some(hit) = hit {
            tracing::debug!("cache hit");
            for note in &hit.notes {
                note.emit(&plugin_name, &step.name);
            }
            reports.push(StepReport {
                step: step.name.clone(),
                plugin: plugin_name,
                plugin_digest: digest.to_hex().to_string(),
                key: key.to_string(),
                resources: hit.resources.len(),
                cache: CacheStatus::Hit,
                changed,
                notes: hit.notes,
            });
            resources = hit.resources;
            continue;
        }
        let loaded = runtime
            .load_digested(&plugin_name, &wasm, digest)
            .map_err(|source| Error::Load {
                step: step.name.clone(),
                plugin: plugin_name.clone(),
                source,
            })?;
        let grants = Grants { secrets: granted };
        let output = loaded
            .render(Call {
                step: &step.name,
                resources: &resources,
                config: &config_text,
                context,
                source_root: &app.root,
                limits: within_ceiling(step, opts.ceiling),
                seed: opts
                    .render_seed
                    .as_ref()
                    .map_or(*key.as_bytes(), |s| s.for_call(key.as_bytes())),
                grants: Arc::new(grants),
            })
            .map_err(|source| Error::Step {
                step: step.name.clone(),
                plugin: plugin_name.clone(),
                file: match &source {
                    CallError::Plugin { file, .. } => file.clone(),
                    _ => None,
                },
                source: Box::new(source),
            })?;
        let mut errors = Vec::new();
        let mut notes = output.log;
        for d in &output.diagnostics {
            let mut text = d.message.clone();
            if let Some(r) = &d.resource {
                text = format!("{r}: {text}");
            }
            if let Some(f) = &d.file {
                text = format!("{f}: {text}");
            }
            let level = match d.severity {
                Severity::Error => {
                    errors.push(text);
                    continue;
                }
                Severity::Warning => NoteLevel::Warn,
                Severity::Info => NoteLevel::Info,
            };
            let note = Note { level, text };
            note.emit(&plugin_name, &step.name);
            notes.push(note);
        }
        if !errors.is_empty() {
            return Err(Error::Diagnostics {
                step: step.name.clone(),
                plugin: plugin_name,
                messages: errors,
            });
        }
        for (index, doc) in output.resources.iter().enumerate() {
            check_object(doc).map_err(|problem| Error::BadOutput {
                step: step.name.clone(),
                plugin: plugin_name.clone(),
                index,
                problem,
            })?;
        }
        reports.push(StepReport {
            step: step.name.clone(),
            plugin: plugin_name,
            plugin_digest: loaded.digest().to_hex().to_string(),
            key: key.to_string(),
            resources: output.resources.len(),
            cache: match (&opts.cache, cache) {
                (None, _) => CacheStatus::Off,
                (Some(_), None) => CacheStatus::Secret,
                (Some(_), Some(_)) => CacheStatus::Miss,
            },
            changed,
            notes: Vec::new(),
        });
        let cached = Cached {
            resources: output.resources,
            notes,
        };
        if let Some(c) = cache {
            c.put(&key, &cached);
        }
        if let Some(report) = reports.last_mut() {
            report.notes = cached.notes;
        }
        resources = cached.resources;
    }
    if let Some(c) = &opts.cache {
        c.record(&source_id, &recorded);
    }
    // Decrypted source files are for the steps, never part of the output.
    // Each text is dropped once parsed: the texts and the values are not
    // all held at once.
    let resources = resources
        .into_iter()
        .map(|doc| serde_json::from_str::<Value>(&doc).expect("checked to be a JSON object above"))
        .filter(|doc| {
            opts.keep_decrypted_files
                || !(doc["apiVersion"] == "kiln.dev/v1alpha1" && doc["kind"] == DECRYPTED_FILE_KIND)
        })
        .collect();
    Ok(Rendered {
        resources,
        steps: reports,
    })
}

/// The secrets that hold SOPS decryption keys: they reach only the
/// built-in `sops` plugin, whatever a pipeline lists or an operator grants.
pub const KEY_SECRETS: [&str; 2] = ["sops-age-keys", "sops-pgp-keys"];

/// Whether the operator lets `step`'s plugin (of `digest`) have secret
/// `name`: decryption keys go to the built-in `sops` plugin only (the
/// embedded one, by digest: a repository's plugin named `sops` is another
/// digest), any other secret to the plugins the operator granted it to.
fn operator_grants(
    step: &Step,
    digest: &blake3::Hash,
    name: &str,
    grants: &[(blake3::Hash, String)],
) -> bool {
    if KEY_SECRETS.contains(&name) {
        return matches!(&step.plugin, PluginRef::Builtin(n) if n == "sops")
            && crate::builtin::digest("sops").is_some_and(|d| d == *digest);
    }
    grants.iter().any(|(d, n)| d == digest && n == name)
}

/// `step`'s limits, each at most the operator's `ceiling`.
fn within_ceiling(step: &Step, ceiling: Option<crate::runtime::Limits>) -> crate::runtime::Limits {
    let Some(max) = ceiling else {
        return step.limits;
    };
    let asked = step.limits;
    let limits = crate::runtime::Limits {
        memory: asked.memory.min(max.memory),
        time: asked.time.min(max.time),
        output: asked.output.min(max.output),
    };
    if limits != asked {
        warn!(
            "the step asks for limits above the operator's ceiling; it runs within the ceiling \
             (memory {} bytes, timeout {:?}, output {} bytes)",
            limits.memory, limits.time, limits.output
        );
    }
    limits
}

fn check_object(doc: &str) -> Result<(), String> {
    // Checked without building the document (a value near the output cap
    // would cost its size again): an object's keys only, values skipped.
    if serde_json::from_str::<AnObject>(doc).is_ok() {
        return Ok(());
    }
    match serde_json::from_str::<Value>(doc) {
        Ok(Value::Object(_)) => Ok(()),
        Ok(other) => Err(format!("found a JSON {}", json_type(&other))),
        Err(e) => Err(format!("invalid JSON ({e})")),
    }
}

/// A JSON object, read and thrown away.
struct AnObject;

impl<'de> serde::Deserialize<'de> for AnObject {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = AnObject;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<AnObject, A::Error> {
                while map
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(AnObject)
            }
        }
        d.deserialize_map(Visitor)
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The blake3 digest of a step's plugin: built-in ones were hashed when kiln
/// was built.
fn plugin_digest(step: &Step, wasm: &[u8]) -> blake3::Hash {
    match &step.plugin {
        PluginRef::Builtin(name) => crate::builtin::digest(name),
        PluginRef::File(_) | PluginRef::Oci(_) => None,
    }
    .unwrap_or_else(|| blake3::hash(wasm))
}

/// Runs `digest` while another thread loads the plugin of the first step
/// that always runs: the two take about as long as each other and need
/// nothing from each other. Once the runtime holds any plugin (the later
/// apps of `--all`), `digest` just runs. `pipeline` is
/// called on that thread. A failed load is left for the step to meet and
/// report; a render the cache then serves wasted one load.
pub(super) fn digest_while_loading<T>(
    app: &App,
    pipeline: impl FnOnce() -> Option<Pipeline> + Send,
    runtime: &Runtime,
    digest: impl FnOnce() -> T,
) -> T {
    if runtime.holds_any() {
        return digest();
    }
    std::thread::scope(|scope| {
        let spawned = std::thread::Builder::new()
            .name("kiln-prefetch".into())
            .spawn_scoped(scope, || {
                let Some(pipeline) = pipeline() else { return };
                let Some(step) = pipeline.steps.iter().find(|s| s.when == RunWhen::Always) else {
                    return;
                };
                // From the cache only: a pull is the step's to make (or refuse).
                let Ok(wasm) = plugin_bytes(app, step, true) else {
                    return;
                };
                let digest = plugin_digest(step, &wasm);
                if !runtime.is_loaded(digest) {
                    let _ = runtime.load_digested(&step.plugin.to_string(), &wasm, digest);
                }
            });
        if let Err(e) = spawned {
            tracing::debug!(error = %e, "cannot start a thread to load the plugin early");
        }
        digest()
    })
}

/// The plugin of `step`; an `oci://` one only from the cache when `offline`.
fn plugin_bytes(
    app: &App,
    step: &Step,
    offline: bool,
) -> Result<std::borrow::Cow<'static, [u8]>, Error> {
    match &step.plugin {
        PluginRef::Builtin(name) => crate::builtin::get(name)
            .map(std::borrow::Cow::Borrowed)
            .ok_or_else(|| Error::UnknownPlugin {
                step: step.name.clone(),
                plugin: name.clone(),
            }),
        PluginRef::File(rel) => runtime::read_plugin_file(&app.root.join(rel))
            .map(std::borrow::Cow::Owned)
            .map_err(|source| Error::ReadPlugin {
                path: rel.clone(),
                file: "kiln.yaml".into(),
                source,
            }),
        PluginRef::Oci(p) => super::oci::fetch(p, &crate::env::cache_dir(), offline)
            .map(std::borrow::Cow::Owned)
            .map_err(|source| Error::Fetch {
                step: step.name.clone(),
                plugin: p.source.clone(),
                source: Box::new(source),
            }),
    }
}

/// `\n  - item` for each item.
fn bullets(items: &[String]) -> String {
    items.iter().fold(String::new(), |mut out, m| {
        out.push_str("\n  - ");
        out.push_str(m);
        out
    })
}

/// The kind of the documents the `sops` plugin hands decrypted source files in.
pub const DECRYPTED_FILE_KIND: &str = "DecryptedFile";

/// Whether a JSON document carries SOPS metadata: a top-level `sops` object,
/// or (as Flux also decrypts) a Secret whose `data` values are whole SOPS
/// files.
fn is_sops_encrypted(doc: &str) -> bool {
    if doc.contains("\"sops\"")
        && serde_json::from_str::<Value>(doc).is_ok_and(|v| v["sops"].is_object())
    {
        return true;
    }
    if !doc.contains("\"Secret\"") {
        return false;
    }
    let Ok(v) = serde_json::from_str::<Value>(doc) else {
        return false;
    };
    v["kind"] == "Secret"
        && v["data"].as_object().is_some_and(|data| {
            data.values().filter_map(Value::as_str).any(|text| {
                base64::Engine::decode(&base64::engine::general_purpose::STANDARD, text)
                    .is_ok_and(|bytes| crate::source::is_sops_file(&bytes))
            })
        })
}

/// Whether a JSON document is a `kiln.dev/v1alpha1` `RenderedText`.
fn is_rendered_text(doc: &str) -> bool {
    doc.contains("RenderedText")
        && serde_json::from_str::<Value>(doc)
            .is_ok_and(|v| v["apiVersion"] == "kiln.dev/v1alpha1" && v["kind"] == "RenderedText")
}

/// The config the command line adds to steps, as text in which the source
/// digest finds the files it names.
pub(crate) fn named_by_options(opts: &RenderOptions) -> String {
    serde_json::to_string(&opts.plugin_config).expect("JSON values always serialize")
}

/// The step's `with:` plus any config the command line adds for its plugin.
fn step_config(step: &Step, opts: &RenderOptions) -> Value {
    let mut config = step.config.clone();
    if let (PluginRef::Builtin(name), Value::Object(map)) = (&step.plugin, &mut config) {
        for (plugin, extra) in &opts.plugin_config {
            if plugin == name {
                for (k, v) in extra {
                    map.insert(k.clone(), v.clone());
                }
            }
        }
    }
    config
}

/// The context as it enters the step key. The source revision is left out,
/// so that an app whose files did not change between two commits hits the
/// cache (what `kiln diff` relies on); the tree digest covers what the app
/// reads. A plugin whose output depends on the revision itself would be
/// served the output of an earlier commit; no built-in plugin reads it.
///
/// The render seed's id and the seed scope are part of it: what one seed
/// or scope rendered is not served to a render under another.
fn context_fields(c: &Context, seed: Option<&super::RenderSeed>, scope: Option<&str>) -> Value {
    serde_json::json!({
        "render-seed": seed.map(super::RenderSeed::id),
        "seed-scope": scope,
        "app-name": c.app_name,
        "app-dir": c.app_dir,
        "namespace": c.namespace,
        "kube-version": c.kube_version,
        "api-versions": c.api_versions,
        "step": c.step,
    })
}
