//! Resolving where apps come from (a directory, a local revision, a remote
//! repository) and rendering many apps on a bounded pool of threads.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::cache::{CacheStatus, StepCache};
use crate::pipeline::{self, App, RenderOptions, StepReport};
use crate::runtime::{Limits, Runtime};
use crate::source::git;
use crate::stamp::Watch;

/// Where the app (or the root of `--all`) comes from.
#[derive(Debug, Clone, Default)]
pub(crate) struct Origin {
    /// A remote repository.
    pub(crate) repo: Option<String>,
    /// A revision: of `repo`, or of the git work tree holding the directory.
    pub(crate) rev: Option<String>,
    /// The directory: inside `repo` when given, else on disk.
    pub(crate) dir: PathBuf,
    /// `--root`.
    pub(crate) root: Option<PathBuf>,
}

/// An app ready to render, with what the render context needs to know.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub(crate) app: App,
    pub(crate) commit: Option<String>,
    pub(crate) source_id: String,
}

impl Origin {
    /// Resolves the origin into an app (fetching or snapshotting as needed).
    pub(crate) fn resolve(&self, offline: bool) -> anyhow::Result<Resolved> {
        let cache_dir = crate::env::cache_dir();
        let git = if let Some(url) = &self.repo {
            let path = self.dir.to_string_lossy();
            let opts = git::Options { offline, cache_dir };
            git::remote_app(url, self.rev.as_deref(), Some(&path), &opts)?
        } else if let Some(rev) = &self.rev {
            git::local_rev_app(&self.dir, rev, &cache_dir)?
        } else {
            let app = crate::source::local_app(&self.dir, self.root.as_deref())?;
            let source_id = app.path().display().to_string();
            return Ok(Resolved {
                app,
                commit: None,
                source_id,
            });
        };
        if offline {
            say(&format!(
                "offline: using {} at {} (commit {}) from the local mirror",
                self.repo
                    .as_deref()
                    .map_or_else(|| self.dir.display().to_string(), git::redact),
                self.rev.as_deref().unwrap_or("HEAD"),
                git.commit
            ));
        }
        Ok(Resolved {
            app: git.app,
            commit: Some(git.commit),
            source_id: git.source_id,
        })
    }
}

/// Prints a message for people on stderr.
#[expect(clippy::print_stderr, reason = "messages for people go to stderr")]
pub(crate) fn say(text: &str) {
    eprintln!("{text}");
}

/// Says that `headline` failed, with the causes of `error` one per line and
/// its hint, if any (how a failed app of a run is reported; the run goes on).
pub(crate) fn say_failed(headline: &str, error: &anyhow::Error) {
    let mut text = format!("error: {headline}:");
    for cause in error.chain() {
        text.push_str("\n  ");
        text.push_str(&cause.to_string());
    }
    if let Some(hint) = super::hint(error) {
        text.push_str("\nhint: ");
        text.push_str(&hint);
    }
    say(&text);
}

/// The apps under `root` (an app-like resolved origin), each as its own app.
pub(crate) fn discover(root: &Resolved) -> anyhow::Result<Vec<Resolved>> {
    let found = crate::source::discover::apps(&root.app.path())?;
    Ok(resolve_found(root, found))
}

/// [`discover`], recording what the search read in `watch` (relative to
/// the source root).
pub(crate) fn discover_watched(
    root: &Resolved,
    watch: &mut Watch,
) -> anyhow::Result<(Vec<String>, Vec<Resolved>)> {
    let found = crate::source::discover::apps_watched(&root.app.path(), watch, &root.app.dir)?;
    Ok((found.clone(), resolve_found(root, found)))
}

/// The apps found under `root` (directories relative to it) as apps.
pub(crate) fn resolve_found(root: &Resolved, found: Vec<String>) -> Vec<Resolved> {
    found
        .into_iter()
        .map(|rel| {
            let dir = match (root.app.dir.as_str(), rel.as_str()) {
                (".", r) => r.to_owned(),
                (d, ".") => d.to_owned(),
                (d, r) => format!("{d}/{r}"),
            };
            let name = dir
                .rsplit('/')
                .next()
                .filter(|n| *n != ".")
                .unwrap_or(&root.app.name)
                .to_owned();
            Resolved {
                app: App {
                    root: root.app.root.clone(),
                    dir: dir.clone(),
                    name,
                },
                commit: root.commit.clone(),
                source_id: format!("{}#{rel}", root.source_id),
            }
        })
        .collect()
}

/// One app's render.
#[derive(Debug)]
pub(crate) struct Done {
    pub(crate) resources: Vec<Value>,
    pub(crate) steps: Vec<StepReport>,
    /// What the render read (see [`crate::stamp`]).
    pub(crate) watch: Watch,
}

/// The outcome of rendering one app.
pub(crate) type Outcome = anyhow::Result<Done>;

/// The result of rendering one app.
#[derive(Debug)]
pub(crate) struct AppResult {
    /// The app's directory relative to the `--all` root.
    pub(crate) label: String,
    pub(crate) outcome: Outcome,
}

/// Renders one app (from its memo when nothing it read changed).
pub(crate) fn render_one(
    resolved: &Resolved,
    limits: Limits,
    runtime: &Runtime,
    options: &dyn Fn(&App) -> anyhow::Result<RenderOptions>,
    cache: Option<&Arc<StepCache>>,
) -> Outcome {
    let mut opts = options(&resolved.app)?;
    opts.source_revision.clone_from(&resolved.commit);
    opts.source_id = Some(resolved.source_id.clone());
    opts.cache = cache.cloned();
    let (rendered, watch) = pipeline::render_memoized(&resolved.app, limits, &opts, runtime)?;
    Ok(Done {
        resources: rendered.resources,
        steps: rendered.steps,
        watch,
    })
}

/// Renders `apps` on up to `jobs` threads; results in the order of `apps`.
pub(crate) fn render_many(
    apps: &[(String, Resolved)],
    jobs: usize,
    progress: bool,
    render: &(dyn Fn(&Resolved) -> Outcome + Sync),
) -> Vec<AppResult> {
    pool(apps.len(), jobs, progress, &|(): &mut (), i| {
        let (label, resolved) = &apps[i];
        AppResult {
            label: label.clone(),
            outcome: render(resolved),
        }
    })
}

/// Runs `task(state, i)` for each `i` in `0..tasks` on up to `jobs`
/// threads, each thread with its own `state`; results in the order of `i`.
/// With `progress`, a bar on a terminal counts the tasks done.
pub(crate) fn pool<S: Default, T: Send>(
    tasks: usize,
    jobs: usize,
    progress: bool,
    task: &(dyn Fn(&mut S, usize) -> T + Sync),
) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<T>>> = Mutex::new((0..tasks).map(|_| None).collect());
    let progress = progress && std::io::stderr().is_terminal();
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, tasks.max(1)) {
            scope.spawn(|| {
                let mut state = S::default();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= tasks {
                        break;
                    }
                    let result = task(&mut state, i);
                    results.lock().expect("lock poisoned by a panic")[i] = Some(result);
                    if progress {
                        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                        bar(n, tasks);
                    }
                }
            });
        }
    });
    if progress {
        clear_bar();
    }
    results
        .into_inner()
        .expect("lock poisoned by a panic")
        .into_iter()
        .map(|r| r.expect("every task is run by some worker"))
        .collect()
}

#[expect(clippy::print_stderr, reason = "the progress bar is drawn on stderr")]
fn bar(done: usize, total: usize) {
    const WIDTH: usize = 30;
    let filled = done * WIDTH / total.max(1);
    eprint!(
        "\r[{}{}] {done}/{total} apps",
        "#".repeat(filled),
        " ".repeat(WIDTH - filled)
    );
}

#[expect(clippy::print_stderr, reason = "the progress bar is drawn on stderr")]
fn clear_bar() {
    eprint!("\r\x1b[2K");
}

/// The default number of render threads.
pub(crate) fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZero::get)
}

/// Prints the `--explain` lines of one app's steps on stderr.
pub(crate) fn explain(app: &str, steps: &[StepReport]) {
    for s in steps {
        let what = match s.cache {
            CacheStatus::Hit => "hit".to_owned(),
            CacheStatus::Unchanged => {
                "hit (no file the app reads changed since its last render)".to_owned()
            }
            CacheStatus::Miss => match &s.changed {
                None => "miss (no earlier render of this step)".to_owned(),
                Some(c) if c.is_empty() => {
                    "miss (same inputs as last time; the entry was evicted or damaged)".to_owned()
                }
                Some(c) => format!("miss (changed: {})", c.join(", ")),
            },
            CacheStatus::Secret => {
                "not cached (the step or one before it holds a secret)".to_owned()
            }
            CacheStatus::Off => "not cached (cache off)".to_owned(),
        };
        say(&format!(
            "explain: {app}: step `{}` ({}): {what}, key {}",
            s.step,
            s.plugin,
            &s.key[..16]
        ));
    }
}

/// The directory of an app's output under `--output-dir`.
pub(crate) fn output_dir_of(base: &Path, label: &str) -> PathBuf {
    if label == "." {
        base.join("_root")
    } else {
        base.join(label)
    }
}
