//! The one call the CMP server makes into the render engine, behind a
//! narrow trait, and the options a request turns into.

use std::path::PathBuf;
use std::time::Duration;

use super::request::AppRequest;
use crate::cache::CacheStatus;
use crate::model::{App, StepReport};
use crate::runtime::Limits;
use crate::service::{HelmSettings, RenderService, RenderSettings, Resolved};

/// One render the server asks for.
#[derive(Debug, Clone)]
pub struct Job {
    /// The app: the unpacked source root and the directory in it, the
    /// commit Argo CD resolved, a stable name of its source.
    pub resolved: Resolved,
    /// What to render it with: the request's and the operator's settings.
    pub settings: RenderSettings,
}

/// A finished render.
#[derive(Debug, Clone)]
pub struct Output {
    /// The resources, in kiln's order.
    pub resources: Vec<serde_json::Value>,
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

/// The render service as the server's renderer. Its cache is keyed by
/// content, so a repository streamed again unchanged is served from it
/// although it lands in a new directory.
impl Renderer for RenderService {
    fn render(&self, job: &Job) -> anyhow::Result<Output> {
        let rendered = RenderService::render(self, &job.resolved, &job.settings)?;
        if let Some(cache) = self.cache() {
            cache.trim();
        }
        Ok(Output {
            resources: rendered.resources,
            steps: rendered.report.steps,
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
    /// The render seed every random value follows from (see
    /// [`crate::pipeline::RenderSeed`]); give every repo-server replica the
    /// same one for the same output.
    pub render_seed: Option<crate::pipeline::RenderSeed>,
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
    // Canonical, so that paths inside it compare as the service expects.
    let root = fs_err::canonicalize(&root).unwrap_or(root);
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
    let app_path = app.path();
    let settings = RenderSettings {
        namespace: request.namespace.clone(),
        kube_version: request.kube_version.clone(),
        api_versions: request.api_versions.clone(),
        helm: HelmSettings {
            release_name,
            values: request.values.iter().map(|v| app_path.join(v)).collect(),
            set: request.set.clone(),
            set_string: request.set_string.clone(),
            include_crds: request.include_crds,
            skip_tests: request.skip_tests,
            ..HelmSettings::default()
        },
        secrets,
        limits: operator.limits,
        ceiling,
        render_seed: operator.render_seed.clone(),
        // Without credentials: the scope may show in debug output.
        seed_scope: request.repo_url.as_deref().map(crate::source::git::redact),
        ..RenderSettings::default()
    };
    Ok(Job {
        resolved: Resolved {
            app,
            commit: request.revision.clone(),
            source_id: request.source_id.clone(),
        },
        settings,
    })
}
