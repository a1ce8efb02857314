//! Rendering every app under a root, with the run memo.
//!
//! With the cache on and the output a stream, a run keeps a memo (see
//! [`crate::cache::MemoId`]): the apps found and, per app, its output and
//! the stamps of what it read. The next run with the same request takes the
//! app list from it while no directory changed, and each app's output while
//! none of its files changed, so a run where nothing changed costs a few
//! `stat` calls per file.

use std::borrow::Cow;
use std::path::Path;

use super::Hint;
use super::origin::{self, Origin, Resolved};
use super::pool;
use super::render::{AppRender, RenderService};
use super::settings::RenderSettings;
use crate::backend::stdout::Format;
use crate::cache::{CacheStatus, MemoId};
use crate::stamp::{Base, Stats, Watch, WatchView};

/// A render of every app under a root.
#[derive(Debug, Clone, Default)]
pub struct TreeRequest {
    /// The root of the tree.
    pub root: Origin,
    /// How to render each app.
    pub settings: RenderSettings,
    /// Apps rendered at once.
    pub jobs: usize,
    /// Join the apps' outputs into one stream in this format (YAML: each
    /// app led by a `# app: LABEL` comment); `None` hands each app out alone.
    pub stream: Option<Format>,
    /// Keep and use the run memo (only with a stream, a cache and a local
    /// source).
    pub memo: bool,
    /// What else the caller's output depends on, for the memo's id (e.g. its
    /// arguments).
    pub memo_context: String,
}

/// Every app of a tree, rendered or kept.
#[derive(Debug)]
pub struct TreeRender {
    /// The root, resolved.
    pub root: Resolved,
    /// Each app, in discovery order.
    pub apps: Vec<TreeApp>,
    /// The joined output, with [`TreeRequest::stream`] (failed apps left out).
    pub stream: Option<String>,
}

impl TreeRender {
    /// How many apps failed to render.
    pub fn failed(&self) -> usize {
        self.apps
            .iter()
            .filter(|a| matches!(a.outcome, TreeOutcome::Rendered(Err(_))))
            .count()
    }
}

/// One app of a tree.
#[derive(Debug)]
pub struct TreeApp {
    /// Its directory relative to the root (`.` for the root itself).
    pub label: String,
    /// What became of it.
    pub outcome: TreeOutcome,
}

/// What became of one app of a tree.
#[derive(Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "most apps of a run are rendered; boxing each would only add an allocation"
)]
pub enum TreeOutcome {
    /// Nothing it read changed since the memo: its part of the stream stands.
    Kept,
    /// Rendered (resources without helm's text), or failed.
    Rendered(anyhow::Result<AppRender>),
}

impl RenderService {
    /// Renders every app under the root of `request` (see the module docs
    /// on the memo). Fails when the root cannot be read or holds no app; a
    /// failed app is an outcome, and the others still render.
    pub fn render_tree(&self, request: &TreeRequest) -> anyhow::Result<TreeRender> {
        let root = self.resolve(&request.root)?;
        let out = self.render_tree_at(root, request);
        self.trim_cache();
        out
    }

    fn render_tree_at(&self, root: Resolved, request: &TreeRequest) -> anyhow::Result<TreeRender> {
        // A git source is a snapshot named by its tree id, which never
        // changes once written: its memo holds whatever the stamps say.
        let immutable = root.commit.is_some()
            && crate::source::git::is_snapshot(&root.app.root, self.cache_dir());
        let memo = self
            .cache()
            .filter(|_| {
                request.memo && request.stream.is_some() && (root.commit.is_none() || immutable)
            })
            .map(|c| (c.as_ref(), run_memo_id(&root, request)));
        let stored = memo.and_then(|(c, id)| c.memo_body(id));
        let previous: Option<RunMemo<'_>> = stored.as_deref().and_then(crate::cache::memo_value);
        // Apps whose files did not change since the memo keep their output,
        // kept beside the memo as the stream it was written as.
        let blob = memo
            .zip(previous.as_ref())
            .and_then(|((c, id), p)| c.memo_blob(id, p.blob))
            .and_then(|b| String::from_utf8(b).ok());
        let kept_from = previous.as_ref().filter(|_| blob.is_some());
        if immutable && let (Some(p), Some(blob)) = (kept_from, &blob) {
            // The same tree, the same request: the same output, with no
            // file read at all.
            let apps = p
                .apps
                .iter()
                .map(|app| {
                    show_again(&app.shown);
                    TreeApp {
                        label: app.label.to_owned(),
                        outcome: TreeOutcome::Kept,
                    }
                })
                .collect();
            return Ok(TreeRender {
                root,
                apps,
                stream: Some(blob.clone()),
            });
        }
        let render = |r: &Resolved| self.render(r, &request.settings);
        let pool = Pool {
            base: &root.app.root,
            jobs: request.jobs,
            service: self,
            render: &render,
        };
        // The memo's app list is taken on trust while the stamps of what
        // discovery read are checked beside the apps' own: when discovery
        // turns out to have changed, the apps are found again.
        let trusted = kept_from.and_then(|p| {
            let found: Vec<String> = p.apps.iter().map(|a| a.found.to_owned()).collect();
            let labelled = origin::labelled(&root, origin::resolve_found(&root, found.clone()));
            pool.run(&labelled, Some(p), Some(&p.discovery))
                .map(|slots| (Watched::Kept(&p.discovery), found, labelled, slots))
        });
        let (discovery, found, labelled, slots) = if let Some(run) = trusted {
            run
        } else {
            let mut watch = Watch::default();
            let (found, apps) = origin::discover_watched(&root, &mut watch)?;
            let labelled = origin::labelled(&root, apps);
            let slots = pool
                .run(&labelled, kept_from, None)
                .expect("without a discovery to check, every app is done");
            (Watched::Taken(watch), found, labelled, slots)
        };
        if labelled.is_empty() {
            return Err(Hint::error(
                format!("no apps found under {}", root.app.path().display()),
                "an app is a directory with kiln.yaml, a kustomization or a Chart.yaml",
            ));
        }
        let Some(format) = request.stream else {
            let apps = labelled
                .into_iter()
                .zip(slots)
                .map(|((label, _), slot)| TreeApp {
                    label,
                    outcome: slot.into_outcome(),
                })
                .collect();
            return Ok(TreeRender {
                root,
                apps,
                stream: None,
            });
        };
        if let Some(blob) = &blob
            && slots.iter().all(|s| matches!(s, Slot::Kept(_)))
        {
            // Nothing changed: the memo's output, as it was, and what its
            // plugins showed.
            for slot in &slots {
                if let Slot::Kept(k) = slot {
                    show_again(&k.shown);
                }
            }
            let apps = labelled
                .into_iter()
                .map(|(label, _)| TreeApp {
                    label,
                    outcome: TreeOutcome::Kept,
                })
                .collect();
            return Ok(TreeRender {
                root,
                apps,
                stream: Some(blob.clone()),
            });
        }
        let text_of = |k: &RunMemoApp<'_>| -> &str {
            blob.as_deref()
                .and_then(|b| b.get(k.start..k.start + k.len))
                .unwrap_or_default()
        };
        let rendered_any = slots.iter().any(|s| matches!(s, Slot::Rendered(_)));
        let mut stream = String::new();
        // A discovery too recent to trust is not memoised, as no watch is
        // (a snapshot's files are all new, and never change).
        let mut memoisable = immutable || !discovery.is_racy();
        let mut next = RunMemoOut {
            discovery,
            apps: Vec::with_capacity(labelled.len()),
            blob: String::new(),
        };
        let mut apps = Vec::with_capacity(labelled.len());
        for (((label, _), slot), found) in labelled.iter().zip(slots).zip(&found) {
            let (text, watch, shown, outcome) = match slot {
                Slot::Kept(k) => {
                    show_again(&k.shown);
                    (
                        Cow::Borrowed(text_of(k)),
                        Cow::Borrowed(k.watch),
                        Cow::Borrowed(k.shown.as_slice()),
                        TreeOutcome::Kept,
                    )
                }
                Slot::Rendered(Ok(done)) => {
                    memoisable &= if immutable {
                        // Nothing that held a secret is kept.
                        done.report.steps.iter().all(|s| {
                            matches!(
                                s.cache,
                                CacheStatus::Hit | CacheStatus::Miss | CacheStatus::Unchanged
                            )
                        })
                    } else {
                        !done.report.watch.is_racy()
                    };
                    let text = app_text(label, &done.resources, format);
                    let watch =
                        postcard::to_allocvec(&done.report.watch).expect("watches serialise");
                    (
                        Cow::Owned(text),
                        Cow::Owned(watch),
                        Cow::Owned(shown_by(&done.report.steps)),
                        TreeOutcome::Rendered(Ok(done)),
                    )
                }
                Slot::Rendered(Err(error)) => {
                    memoisable = false;
                    apps.push(TreeApp {
                        label: label.clone(),
                        outcome: TreeOutcome::Rendered(Err(error)),
                    });
                    continue;
                }
            };
            if !stream.is_empty() && format == Format::Yaml {
                stream.push_str("---\n");
            }
            let start = stream.len();
            stream.push_str(&text);
            next.apps.push(RunMemoAppOut {
                label,
                found,
                watch: Bytes(watch),
                start,
                len: text.len(),
                shown,
            });
            apps.push(TreeApp {
                label: label.clone(),
                outcome,
            });
        }
        if let Some((c, id)) = memo
            && memoisable
            && rendered_any
            && let Some(hash) = c.put_memo_blob(id, stream.as_bytes())
        {
            next.blob = hash;
            // Its watch is the discovery inside it; the run memo is read
            // unchecked, its watches checked part by part.
            c.put_memo(id, Watch::default(), &next);
        }
        Ok(TreeRender {
            root,
            apps,
            stream: Some(stream),
        })
    }
}

/// The output of one app in a stream.
fn app_text(label: &str, resources: &[serde_json::Value], format: Format) -> String {
    if format == Format::Yaml {
        format!(
            "# app: {label}\n{}",
            kiln_resource::yaml::to_stream(resources)
        )
    } else {
        crate::backend::stdout::format(resources, format)
    }
}

/// The id of the memo of a run: the request, the working directory (the
/// request's relative paths are relative to it) and the root.
fn run_memo_id(root: &Resolved, request: &TreeRequest) -> MemoId {
    let cwd = std::env::current_dir().unwrap_or_default();
    MemoId::new(
        "all-v2",
        &[
            request.settings.fingerprint().as_bytes(),
            format!("{:?}|{:?}", request.root, request.stream).as_bytes(),
            request.memo_context.as_bytes(),
            cwd.as_os_str().as_encoded_bytes(),
            root.source_id.as_bytes(),
            root.app.root.as_os_str().as_encoded_bytes(),
            root.commit.as_deref().unwrap_or_default().as_bytes(),
        ],
    )
}

/// What became of one app of a run.
#[expect(
    clippy::large_enum_variant,
    reason = "a slot is moved once, into the outcome"
)]
enum Slot<'m> {
    /// Nothing it read changed: its part of the memo's output stands.
    Kept(&'m RunMemoApp<'m>),
    /// It was rendered.
    Rendered(anyhow::Result<AppRender>),
}

impl Slot<'_> {
    fn into_outcome(self) -> TreeOutcome {
        match self {
            Self::Kept(_) => TreeOutcome::Kept,
            Self::Rendered(r) => TreeOutcome::Rendered(r.map(without_text)),
        }
    }
}

/// A render of a run hands out resources only.
fn without_text(mut done: AppRender) -> AppRender {
    done.text = None;
    done
}

/// The threads of a run, and what each app needs.
struct Pool<'a> {
    base: &'a Path,
    jobs: usize,
    service: &'a RenderService,
    render: &'a (dyn Fn(&Resolved) -> anyhow::Result<AppRender> + Sync),
}

impl Pool<'_> {
    /// Each app of `labelled` either kept (its memo in `previous` holds) or
    /// rendered, on one pool of threads, so an app found changed is rendered
    /// while the stamps of the others are still being read. With
    /// `discovery`, its stamps are checked on the same threads, a slice
    /// with each app: discovery and apps list paths in the same order, so
    /// the slice holds mostly that app's own directory and files, whose
    /// stamps the thread then reads once for both. `None` when discovery no
    /// longer holds (the apps left are then skipped).
    fn run<'m>(
        &self,
        labelled: &[(String, Resolved)],
        previous: Option<&'m RunMemo<'m>>,
        discovery: Option<&'m WatchView<'m>>,
    ) -> Option<Vec<Slot<'m>>> {
        let by_label: std::collections::HashMap<&str, &'m RunMemoApp<'m>> = previous
            .map(|p| p.apps.iter().map(|a| (a.label, a)).collect())
            .unwrap_or_default();
        let base = Base::open(self.base);
        if labelled.is_empty() {
            let holds = discovery.is_none_or(|d| d.holds_with(&base, &mut Stats::default()));
            return holds.then(Vec::new);
        }
        let apps = labelled.len();
        let slice = |i: usize, d: &WatchView<'_>| {
            let n = d.entry_count();
            (i * n / apps, (i + 1) * n / apps)
        };
        let changed = std::sync::atomic::AtomicBool::new(false);
        let done = pool::pool(
            labelled.len(),
            self.jobs,
            self.service.observer(),
            // `None`: left undone once discovery changed.
            &|stats: &mut Stats<'m>, i| {
                if let Some(d) = discovery {
                    let (start, end) = slice(i, d);
                    if !d.holds_part(&base, stats, start, end) {
                        changed.store(true, std::sync::atomic::Ordering::Relaxed);
                    }
                }
                if changed.load(std::sync::atomic::Ordering::Relaxed) {
                    return None;
                }
                let (label, resolved) = &labelled[i];
                Some(match by_label.get(label.as_str()).copied() {
                    Some(app)
                        if postcard::from_bytes::<WatchView<'m>>(app.watch)
                            .is_ok_and(|w| w.holds_with(&base, stats)) =>
                    {
                        Slot::Kept(app)
                    }
                    _ => Slot::Rendered((self.render)(resolved).map(without_text)),
                })
            },
        );
        if changed.into_inner() {
            return None;
        }
        Some(
            done.into_iter()
                .map(|slot| slot.expect("apps are left undone only when discovery changed"))
                .collect(),
        )
    }
}

/// The memo of a run, read in place from its stored form.
#[derive(serde::Deserialize)]
struct RunMemo<'a> {
    /// What finding the apps read.
    #[serde(borrow)]
    discovery: WatchView<'a>,
    /// Every app, in output order.
    #[serde(borrow)]
    apps: Vec<RunMemoApp<'a>>,
    /// The hash of the output stream, kept beside the memo.
    blob: &'a str,
}

/// [`RunMemo`] as written: borrowing what the last memo or this run holds.
#[derive(serde::Serialize)]
struct RunMemoOut<'a> {
    discovery: Watched<'a>,
    apps: Vec<RunMemoAppOut<'a>>,
    blob: String,
}

#[derive(serde::Serialize)]
struct RunMemoAppOut<'a> {
    label: &'a str,
    found: &'a str,
    watch: Bytes<'a>,
    start: usize,
    len: usize,
    shown: Cow<'a, [Shown]>,
}

/// A line a plugin showed while an app rendered, kept in the run memo to
/// show again when the app's output is kept.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Shown {
    plugin: String,
    step: String,
    note: crate::runtime::Note,
}

/// What the plugins of a render showed, step by step.
fn shown_by(steps: &[crate::model::StepReport]) -> Vec<Shown> {
    steps
        .iter()
        .flat_map(|s| {
            s.notes.iter().map(|note| Shown {
                plugin: s.plugin.clone(),
                step: s.step.clone(),
                note: note.clone(),
            })
        })
        .collect()
}

fn show_again(shown: &[Shown]) {
    for s in shown {
        s.note.emit(&s.plugin, &s.step);
    }
}

/// Bytes written as such (serde writes a `Vec<u8>` as a list of numbers).
struct Bytes<'a>(Cow<'a, [u8]>);

impl serde::Serialize for Bytes<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

/// A watch to write: from this run, or as the last memo held it.
#[derive(serde::Serialize)]
#[serde(untagged)]
enum Watched<'a> {
    Taken(Watch),
    Kept(&'a WatchView<'a>),
}

impl Watched<'_> {
    fn is_racy(&self) -> bool {
        match self {
            Self::Taken(w) => w.is_racy(),
            Self::Kept(w) => w.is_racy(),
        }
    }
}

#[derive(serde::Deserialize)]
struct RunMemoApp<'a> {
    label: &'a str,
    /// The directory as found, relative to the root.
    found: &'a str,
    /// What its render read: a [`Watch`] as stored, read by the thread that
    /// checks it (reading a thousand on one thread cost more than checking
    /// them on all).
    watch: &'a [u8],
    /// Where its part of the output stream starts, and its length.
    start: usize,
    len: usize,
    /// What its plugins showed.
    shown: Vec<Shown>,
}
