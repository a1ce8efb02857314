//! The one call the CMP server makes into the render engine, behind a
//! narrow trait, and the options a request turns into.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use super::request::AppRequest;
use crate::cache::{CacheStatus, StepCache};
use crate::pipeline::{self, App, RenderOptions, StepReport};
use crate::runtime::{Limits, Runtime};

/// One render the server asks for.
#[derive(Debug, Clone)]
pub struct Job {
    /// The app: the unpacked source root and the directory in it.
    pub app: App,
    /// The render options, the request's and the operator's merged.
    pub options: RenderOptions,
    /// Default limits of each plugin call.
    pub limits: Limits,
}

/// A finished render.
#[derive(Debug, Clone)]
pub struct Output {
    /// The resources, in kiln's order.
    pub resources: Vec<Value>,
    /// One report per step.
    pub steps: Vec<StepReport>,
}

impl Output {
    /// Steps served from the render cache.
    pub fn cache_hits(&self) -> usize {
        self.steps
            .iter()
            .filter(|s| matches!(s.cache, CacheStatus::Hit | CacheStatus::Unchanged))
            .count()
    }
}

/// Renders one app. The server holds one for its lifetime, shared by every
/// request, so the engine, the compiled plugins and the caches stay warm.
pub trait Renderer: Send + Sync + 'static {
    /// Renders `job`; blocking (the server calls it off the async threads).
    fn render(&self, job: &Job) -> anyhow::Result<Output>;
}

/// Renders with the pipeline directly: one runtime and one step cache for
/// every request. The cache is keyed by content, so a repository streamed
/// again unchanged is served from it although it lands in a new directory.
pub struct PipelineRenderer {
    runtime: Runtime,
    cache: Option<Arc<StepCache>>,
}

impl std::fmt::Debug for PipelineRenderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipelineRenderer")
            .field("cache", &self.cache.is_some())
            .finish_non_exhaustive()
    }
}

impl PipelineRenderer {
    /// A renderer over `runtime` and `cache`.
    pub fn new(runtime: Runtime, cache: Option<Arc<StepCache>>) -> Self {
        Self { runtime, cache }
    }
}

impl Renderer for PipelineRenderer {
    fn render(&self, job: &Job) -> anyhow::Result<Output> {
        let pipeline = pipeline::load(&job.app, job.limits)?;
        let mut options = job.options.clone();
        options.cache.clone_from(&self.cache);
        let rendered = pipeline::render(&job.app, &pipeline, &options, &self.runtime)?;
        if let Some(cache) = &self.cache {
            cache.trim();
        }
        Ok(Output {
            resources: rendered.resources,
            steps: rendered.steps,
        })
    }
}

/// What the operator fixed for every request.
#[derive(Debug, Clone, Default)]
pub struct Operator {
    /// Default limits of each plugin call.
    pub limits: Limits,
    /// Ceiling on every step's limits.
    pub ceiling: Option<Limits>,
    /// SOPS keys by name: `(name, secret name, bytes)`; empty unless the
    /// operator opted in to decryption in CMP mode.
    pub keys: Vec<SopsKey>,
}

/// One SOPS key the operator mounted.
#[derive(Debug, Clone)]
pub struct SopsKey {
    /// Its name (the file's stem), as the `sops-keys` parameter selects it.
    pub name: String,
    /// The secret it joins: `sops-age-keys` or `sops-pgp-keys`.
    pub secret: &'static str,
    /// The key material.
    pub bytes: Vec<u8>,
}

/// Why a request's keys were refused.
#[derive(Debug, thiserror::Error)]
#[error("parameter `sops-keys` names `{0}`, which is not a key this server holds")]
pub struct UnknownKey(pub String);

/// The job for `request` on the source unpacked at `root`, with at most
/// `time_left` for each plugin call.
pub fn job(
    root: PathBuf,
    request: &AppRequest,
    operator: &Operator,
    time_left: Option<Duration>,
) -> Result<Job, UnknownKey> {
    let app = App {
        root,
        dir: request.app_dir.clone(),
        name: request.app_name.clone(),
    };
    // A chart without `kiln.yaml` is released under the Application's name,
    // as Argo CD's own Helm support does; a `kiln.yaml` keeps its own
    // unless a parameter says otherwise.
    let release_name = request
        .release_name
        .clone()
        .or_else(|| (!app.path().join("kiln.yaml").is_file()).then(|| request.app_name.clone()));
    let mut secrets: Vec<(String, Vec<u8>)> = Vec::new();
    for key in &operator.keys {
        let chosen = request
            .sops_keys
            .as_ref()
            .is_none_or(|names| names.contains(&key.name));
        if !chosen {
            continue;
        }
        if let Some((_, bytes)) = secrets.iter_mut().find(|(n, _)| n == key.secret) {
            bytes.extend_from_slice(&key.bytes);
            bytes.push(b'\n');
        } else {
            let mut bytes = key.bytes.clone();
            bytes.push(b'\n');
            secrets.push((key.secret.to_owned(), bytes));
        }
    }
    if let Some(names) = &request.sops_keys
        && let Some(missing) = names
            .iter()
            .find(|n| !operator.keys.iter().any(|k| k.name == **n))
    {
        return Err(UnknownKey(missing.clone()));
    }
    let mut ceiling = operator.ceiling;
    if let Some(left) = time_left {
        let mut c = ceiling.unwrap_or(Limits {
            memory: usize::MAX,
            time: Duration::MAX,
            output: usize::MAX,
        });
        c.time = c.time.min(left);
        ceiling = Some(c);
    }
    let options = RenderOptions {
        namespace: request.namespace.clone(),
        kube_version: pipeline::kube_version(request.kube_version.as_deref()),
        api_versions: request.api_versions.clone(),
        source_revision: request.revision.clone(),
        plugin_config: vec![("helm".to_owned(), helm_config(request, release_name))],
        secrets,
        ceiling,
        source_id: Some(request.source_id.clone()),
        ..RenderOptions::default()
    };
    Ok(Job {
        app,
        options,
        limits: operator.limits,
    })
}

/// The request's helm settings as a helm step's config (as `kiln render`'s
/// helm flags give them).
fn helm_config(request: &AppRequest, release_name: Option<String>) -> Map<String, Value> {
    let mut m = Map::new();
    let strings = |v: &[String]| Value::Array(v.iter().cloned().map(Value::String).collect());
    if let Some(name) = release_name {
        m.insert("release-name".into(), name.into());
    }
    if let Some(ns) = &request.namespace {
        m.insert("namespace".into(), ns.clone().into());
    }
    if !request.values.is_empty() {
        m.insert("values".into(), strings(&request.values));
    }
    if !request.set.is_empty() {
        m.insert("set".into(), strings(&request.set));
    }
    if !request.set_string.is_empty() {
        m.insert("set-string".into(), strings(&request.set_string));
    }
    if !request.api_versions.is_empty() {
        m.insert("api-versions".into(), strings(&request.api_versions));
    }
    if let Some(v) = &request.kube_version {
        m.insert("kube-version".into(), v.clone().into());
    }
    if request.include_crds {
        m.insert("include-crds".into(), true.into());
    }
    if request.skip_tests {
        m.insert("skip-tests".into(), true.into());
    }
    m
}
