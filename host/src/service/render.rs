//! The render service itself: its configuration, and rendering one app or
//! a list of apps.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;

use super::origin::{self, Origin, Resolved};
use super::pool::{self, Logged, Observer};
use super::settings::RenderSettings;
use crate::cache::{CacheStatus, DEFAULT_MAX_SIZE, StepCache};
use crate::model::{App, StepReport};
use crate::runtime::{CompiledCache, Runtime};
use crate::stamp::Watch;

/// Which render cache a service keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheChoice {
    /// No render cache: every step runs.
    Off,
    /// The disk cache under the cache directory, bounded in bytes.
    Disk {
        /// The size bound; least recently used entries go first.
        max_size: u64,
    },
    /// A shared cache: `redis://HOST:PORT[/DB]`.
    Shared(String),
}

/// How to build a [`RenderService`].
#[derive(Clone)]
pub struct ServiceConfig {
    /// The cache directory: compiled plugins, the disk render cache, memos
    /// and git mirrors.
    pub cache_dir: PathBuf,
    /// The render cache.
    pub cache: CacheChoice,
    /// Never touch the network: read git sources from the local mirrors.
    pub offline: bool,
    /// Keep a memo per app of what its render read, so that a render of an
    /// app whose files did not change costs a few `stat` calls (default).
    /// Turn it off for sources unpacked afresh for every request: their
    /// memos would never be used again, and the step cache still serves
    /// unchanged content.
    pub memo: bool,
    /// Who hears notes and the progress of runs (default: logs).
    pub observer: Arc<dyn Observer>,
}

impl ServiceConfig {
    /// The defaults with the cache directory `cache_dir`: the disk cache
    /// with its default bound, online, notes logged.
    pub fn new(cache_dir: impl Into<PathBuf>) -> Self {
        Self {
            cache_dir: cache_dir.into(),
            cache: CacheChoice::Disk {
                max_size: DEFAULT_MAX_SIZE,
            },
            offline: false,
            memo: true,
            observer: Arc::new(Logged),
        }
    }
}

impl std::fmt::Debug for ServiceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceConfig")
            .field("cache_dir", &self.cache_dir)
            .field("cache", &self.cache)
            .field("offline", &self.offline)
            .field("memo", &self.memo)
            .finish_non_exhaustive()
    }
}

/// A render of one app.
#[derive(Debug, Clone, Default)]
pub struct AppRequest {
    /// Where the app is.
    pub origin: Origin,
    /// How to render it.
    pub settings: RenderSettings,
}

/// One rendered app.
#[derive(Debug)]
pub struct AppRender {
    /// The resources, in output order.
    pub resources: Vec<Value>,
    /// Helm's own text of the same resources, when
    /// [`RenderSettings::emit_text`] asked for it and the last step ran the
    /// built-in helm plugin (see [`crate::backend::stdout::split_rendered_text`]).
    pub text: Option<String>,
    /// How it was rendered.
    pub report: Report,
}

/// How an app was rendered: its steps (plugins, digests, cache keys, cache
/// hits) and where it came from.
#[derive(Debug, Clone)]
pub struct Report {
    /// The app.
    pub app: App,
    /// A stable name of its source (see [`Resolved::source_id`]).
    pub source_id: String,
    /// The commit, when the source is git.
    pub revision: Option<String>,
    /// One report per step, in order.
    pub steps: Vec<StepReport>,
    /// What the render read (for the run memo).
    pub(crate) watch: Watch,
}

impl Report {
    /// How many steps were served from the cache.
    pub fn cache_hits(&self) -> usize {
        self.steps
            .iter()
            .filter(|s| matches!(s.cache, CacheStatus::Hit | CacheStatus::Unchanged))
            .count()
    }

    /// Whether every step was served from the cache.
    pub fn all_cached(&self) -> bool {
        !self.steps.is_empty() && self.cache_hits() == self.steps.len()
    }

    /// Whether a step held a decrypted secret (its output then never
    /// reaches a cache).
    pub fn held_secret(&self) -> bool {
        self.steps.iter().any(|s| s.cache == CacheStatus::Secret)
    }

    /// The key of the render: the last step's cache key.
    pub fn render_key(&self) -> Option<&str> {
        self.steps.last().map(|s| s.key.as_str())
    }
}

/// The outcome of rendering one app of a list.
#[derive(Debug)]
pub struct AppResult {
    /// The app's label (e.g. its directory relative to the root of a run).
    pub label: String,
    /// Its render, or why it failed.
    pub outcome: anyhow::Result<AppRender>,
}

/// The render engine as a long-lived object: it owns the plugin runtime
/// (engine and compiled components), the render cache and its memos, and
/// renders one app or many. It is `Send + Sync`: one service serves
/// concurrent requests from several threads, and a repeated render of
/// unchanged content is a cache (or memo) hit.
pub struct RenderService {
    runtime: Runtime,
    cache: Option<Arc<StepCache>>,
    cache_dir: PathBuf,
    offline: bool,
    memo: bool,
    observer: Arc<dyn Observer>,
}

impl std::fmt::Debug for RenderService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenderService")
            .field("cache", &self.cache.is_some())
            .field("cache_dir", &self.cache_dir)
            .field("offline", &self.offline)
            .finish_non_exhaustive()
    }
}

impl RenderService {
    /// A service as `config` says: opens the render cache (connecting to a
    /// shared one) and prepares the runtime (the engine starts on first use).
    pub fn new(config: ServiceConfig) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        let cache = match &config.cache {
            CacheChoice::Off => None,
            CacheChoice::Disk { max_size } => {
                Some(Arc::new(StepCache::disk(&config.cache_dir, *max_size)))
            }
            CacheChoice::Shared(spec) => Some(Arc::new(
                StepCache::open(spec, &config.cache_dir)
                    .with_context(|| format!("cannot use the render cache `{spec}`"))?,
            )),
        };
        let runtime = Runtime::new(Some(CompiledCache::new(&config.cache_dir)))?;
        Ok(Self {
            runtime,
            cache,
            cache_dir: config.cache_dir,
            offline: config.offline,
            memo: config.memo,
            observer: config.observer,
        })
    }

    /// The render cache, if any.
    pub fn cache(&self) -> Option<&Arc<StepCache>> {
        self.cache.as_ref()
    }

    /// The plugin runtime.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// The cache directory (compiled plugins, memos, git mirrors and snapshots).
    pub(crate) fn cache_dir(&self) -> &std::path::Path {
        &self.cache_dir
    }

    /// The observer of this service.
    pub(crate) fn observer(&self) -> &dyn Observer {
        self.observer.as_ref()
    }

    /// Resolves `origin` into an app (fetching or snapshotting as needed).
    pub fn resolve(&self, origin: &Origin) -> anyhow::Result<Resolved> {
        origin::resolve(origin, self.offline, &self.cache_dir, &|t| {
            self.observer.note(t);
        })
    }

    /// The apps under `root`, each as its own app, in discovery order.
    pub fn discover(&self, root: &Resolved) -> anyhow::Result<Vec<Resolved>> {
        origin::discover(root)
    }

    /// The apps under `root`, each with its label: its directory relative
    /// to the root (`.` for the root itself).
    pub fn discover_labelled(&self, root: &Resolved) -> anyhow::Result<Vec<(String, Resolved)>> {
        Ok(origin::labelled(root, origin::discover(root)?))
    }

    /// Renders the app of `request`.
    pub fn render_app(&self, request: &AppRequest) -> anyhow::Result<AppRender> {
        let resolved = self.resolve(&request.origin)?;
        let out = self.render(&resolved, &request.settings);
        self.trim_cache();
        out
    }

    /// Renders a resolved app (from its memo when nothing it read changed).
    pub fn render(
        &self,
        resolved: &Resolved,
        settings: &RenderSettings,
    ) -> anyhow::Result<AppRender> {
        let mut opts = settings.options(&resolved.app)?;
        opts.source_revision.clone_from(&resolved.commit);
        opts.source_id = Some(resolved.source_id.clone());
        opts.immutable_source = resolved.commit.is_some()
            && crate::source::git::is_snapshot(&resolved.app.root, &self.cache_dir);
        opts.cache.clone_from(&self.cache);
        opts.offline = self.offline;
        let (rendered, watch) = if self.memo {
            crate::pipeline::render_memoized(&resolved.app, settings.limits, &opts, &self.runtime)?
        } else {
            let pipeline = crate::pipeline::load(&resolved.app, settings.limits)?;
            let rendered = crate::pipeline::render(&resolved.app, &pipeline, &opts, &self.runtime)?;
            // Nothing was watched: a run memo must not keep this app.
            let mut watch = Watch::default();
            watch.mark_racy();
            (rendered, watch)
        };
        let producer = rendered.steps.last().map(|s| s.plugin_digest.as_str());
        let (text, resources) =
            crate::backend::stdout::split_rendered_text(rendered.resources, producer);
        Ok(AppRender {
            resources,
            text,
            report: Report {
                app: resolved.app.clone(),
                source_id: resolved.source_id.clone(),
                revision: resolved.commit.clone(),
                steps: rendered.steps,
                watch,
            },
        })
    }

    /// Renders `apps` on up to `jobs` threads, each with `settings`; results
    /// in the order of `apps`. A failed app does not stop the others.
    pub fn render_apps(
        &self,
        apps: &[(String, Resolved)],
        settings: &RenderSettings,
        jobs: usize,
    ) -> Vec<AppResult> {
        let out = pool::pool(apps.len(), jobs, self.observer(), &|(): &mut (), i| {
            let (label, resolved) = &apps[i];
            AppResult {
                label: label.clone(),
                outcome: self.render(resolved, settings),
            }
        });
        self.trim_cache();
        out
    }

    /// Bounds the disk cache if this service wrote enough to it.
    pub(crate) fn trim_cache(&self) {
        if let Some(cache) = &self.cache {
            cache.trim();
        }
    }
}
