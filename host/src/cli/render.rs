//! `kiln render`.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde_json::{Map, Value};

use super::all::{self, Origin, Resolved};
use super::cache::CacheArgs;
use super::{ExitStatus, GlobalArgs, Hint, write_stdout};
use crate::backend::{self, stdout::Format};
use crate::cache::MemoId;
use crate::pipeline::{self, App, RenderOptions};
use crate::runtime::{CompiledCache, Limits, Runtime, limits};
use crate::stamp::{Base, Stats, Watch, WatchView};

/// Render an app directory into manifests (a YAML stream on stdout).
///
/// The app kind is read from `kiln.yaml`, or detected: a `Chart.yaml` is
/// rendered like `helm template`, a kustomization like `kustomize build`,
/// anything else as a directory of manifests.
#[derive(Debug, clap::Args)]
pub struct RenderCommand {
    /// The app directory.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Output format on stdout.
    #[arg(short, long, value_enum, default_value_t = Format::Yaml)]
    pub output: Format,
    /// Write one file per resource into this directory (replaced atomically) instead of stdout.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// The source root plugins see as /src (default: the git work tree holding the app, else the app directory).
    #[arg(long, value_name = "DIR", env = "KILN_ROOT")]
    pub root: Option<PathBuf>,
    /// Target namespace.
    #[arg(short, long)]
    pub namespace: Option<String>,
    /// Target Kubernetes version (e.g. 1.32.0).
    #[arg(long, env = crate::env::KUBE_VERSION)]
    pub kube_version: Option<String>,
    /// API versions the target serves, in addition to the built-in ones (helm -a).
    #[arg(short = 'a', long, value_delimiter = ',')]
    pub api_versions: Vec<String>,
    #[command(flatten)]
    pub helm: HelmArgs,
    /// Memory cap of each plugin call (e.g. 512MiB).
    #[arg(long, value_name = "SIZE", env = crate::env::KILN_MEMORY_LIMIT, value_parser = limits::parse_size)]
    pub memory_limit: Option<usize>,
    /// Time bound of each plugin call (e.g. 30s).
    #[arg(long, value_name = "DURATION", env = crate::env::KILN_TIMEOUT, value_parser = limits::parse_duration)]
    pub timeout: Option<std::time::Duration>,
    /// Output cap of each plugin call (e.g. 64MiB).
    #[arg(long, value_name = "SIZE", env = crate::env::KILN_OUTPUT_LIMIT, value_parser = limits::parse_size)]
    pub output_limit: Option<usize>,
    /// Ceiling on every step's memory cap, `kiln.yaml`'s `limits:` included (e.g. 1GiB).
    #[arg(long, value_name = "SIZE", env = crate::env::KILN_MAX_MEMORY, value_parser = limits::parse_size)]
    pub max_memory: Option<usize>,
    /// Ceiling on every step's time bound, `kiln.yaml`'s `limits:` included (e.g. 2m).
    #[arg(long, value_name = "DURATION", env = crate::env::KILN_MAX_TIMEOUT, value_parser = limits::parse_duration)]
    pub max_timeout: Option<std::time::Duration>,
    /// Ceiling on every step's output cap, `kiln.yaml`'s `limits:` included.
    #[arg(long, value_name = "SIZE", env = crate::env::KILN_MAX_OUTPUT, value_parser = limits::parse_size)]
    pub max_output: Option<usize>,
    /// Give a secret's value: NAME=FILE (it reaches only plugins granted it with --grant-secret).
    #[arg(long, value_name = "NAME=FILE")]
    pub secret: Vec<String>,
    /// Grant a secret to a plugin: PLUGIN=NAME, PLUGIN a `blake3:<digest>`, a .wasm file or a built-in name.
    #[arg(long, value_name = "PLUGIN=NAME", env = super::keys::KILN_GRANT_SECRET, value_delimiter = ',')]
    pub grant_secret: Vec<String>,
    /// A SOPS key: an age identity file or an armored `OpenPGP` secret key (repeatable).
    #[arg(long, value_name = "PATH")]
    pub key_file: Vec<PathBuf>,
    #[command(flatten)]
    pub git: GitArgs,
    /// Render every app found under ROOT, in parallel (with --output-dir, one directory per app).
    #[arg(long, value_name = "ROOT")]
    pub all: Option<PathBuf>,
    /// Apps rendered at once with --all (default: the number of CPUs).
    #[arg(short = 'j', long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Say on stderr, per step, whether it came from the render cache and which input changed.
    #[arg(long)]
    pub explain: bool,
    #[command(flatten)]
    pub cache: CacheArgs,
}

/// Where to read the app from, when not the work tree.
#[derive(Debug, Default, Clone, clap::Args)]
#[command(next_help_heading = "Git options")]
pub struct GitArgs {
    /// Read the app from this git repository (https, ssh, file:// or a path); DIR is then a path inside it.
    #[arg(long, value_name = "URL")]
    pub repo: Option<String>,
    /// The revision to render (branch, tag or commit id): of --repo, or of the git work tree holding DIR.
    #[arg(long, value_name = "REV")]
    pub rev: Option<String>,
    /// The app's path inside --repo (instead of DIR).
    #[arg(long, value_name = "PATH", requires = "repo")]
    pub path: Option<String>,
}

impl GitArgs {
    /// The origin of the app at `dir`.
    pub(crate) fn origin(&self, dir: &Path, root: Option<&Path>) -> Origin {
        Origin {
            repo: self.repo.clone(),
            rev: self.rev.clone(),
            dir: self
                .path
                .as_ref()
                .map_or_else(|| dir.to_path_buf(), PathBuf::from),
            root: root.map(Path::to_path_buf),
        }
    }
}

/// The options of `helm template`, passed to helm steps.
#[derive(Debug, Default, clap::Args)]
#[command(next_help_heading = "Helm options")]
pub struct HelmArgs {
    /// Release name.
    #[arg(long)]
    pub release_name: Option<String>,
    /// Values files, merged in order.
    #[arg(short = 'f', long = "values", value_name = "FILE")]
    pub values: Vec<PathBuf>,
    /// Set values (a.b=c, list={x,y}, a[0].b=c).
    #[arg(long, value_name = "K=V")]
    pub set: Vec<String>,
    /// Set string values.
    #[arg(long, value_name = "K=V")]
    pub set_string: Vec<String>,
    /// Set values from files (K=PATH).
    #[arg(long, value_name = "K=PATH")]
    pub set_file: Vec<String>,
    /// Set JSON values (K=JSON).
    #[arg(long, value_name = "K=JSON")]
    pub set_json: Vec<String>,
    /// Only print the manifests rendered from these templates.
    #[arg(short = 's', long, value_name = "PATH")]
    pub show_only: Vec<String>,
    /// Include the chart's crds/ in the output.
    #[arg(long)]
    pub include_crds: bool,
    /// Leave out test hooks.
    #[arg(long)]
    pub skip_tests: bool,
}

impl RenderCommand {
    /// Runs the command.
    pub fn execute(self, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        let defaults = self.limits();
        let cache = self.cache.open()?;
        if let Some(root) = &self.all {
            let root = self
                .git
                .origin(root, self.root.as_deref())
                .resolve(global.offline)?;
            let runtime = Runtime::new(Some(CompiledCache::new(&crate::env::cache_dir())))?;
            return self.render_all(&root, global, defaults, &runtime, cache.as_ref());
        }
        let resolved = self
            .git
            .origin(&self.dir, self.root.as_deref())
            .resolve(global.offline)?;
        let app = resolved.app.clone();
        let to_stdout_yaml = self.output_dir.is_none() && self.output == Format::Yaml;
        let runtime = Runtime::new(Some(CompiledCache::new(&crate::env::cache_dir())))?;
        let options = |app: &App| self.options(app, to_stdout_yaml);
        let all::Done {
            resources, steps, ..
        } = all::render_one(&resolved, defaults, &runtime, &options, cache.as_ref())?;
        if self.explain {
            all::explain(&app.name, &steps);
        }
        if let Some(cache) = &cache {
            cache.trim();
        }
        let producer = steps.last().map(|s| s.plugin_digest.as_str());
        let (text, resources) = backend::stdout::split_rendered_text(resources, producer);
        match (&self.output_dir, text) {
            (Some(dir), _) => backend::dir::write(dir, &resources)
                .with_context(|| format!("cannot write the output to {}", dir.display()))?,
            (None, Some(text)) if to_stdout_yaml => write_stdout(&text)?,
            (None, _) => write_stdout(&backend::stdout::format(&resources, self.output))?,
        }
        Ok(ExitStatus::Success)
    }

    /// The default limits of plugin calls, from the flags.
    pub(crate) fn limits(&self) -> Limits {
        Limits {
            memory: self.memory_limit.unwrap_or(Limits::DEFAULT_MEMORY),
            time: self.timeout.unwrap_or(Limits::DEFAULT_TIME),
            output: self.output_limit.unwrap_or(Limits::DEFAULT_OUTPUT),
        }
    }

    /// Renders the apps `dirs` (or, with `--all`, every app under its
    /// root) for a backend: each with its label, in order; a failed render
    /// is an `Err` outcome, the others still render.
    pub(crate) fn render_for_backend(
        &self,
        global: &GlobalArgs,
        dirs: &[PathBuf],
    ) -> anyhow::Result<Vec<(String, Resolved, all::Outcome)>> {
        let cache = self.cache.open()?;
        let apps: Vec<(String, Resolved)> = if let Some(root) = &self.all {
            let root = self
                .git
                .origin(root, self.root.as_deref())
                .resolve(global.offline)?;
            labelled(&root, all::discover(&root)?)
        } else {
            dirs.iter()
                .map(|dir| {
                    let r = self
                        .git
                        .origin(dir, self.root.as_deref())
                        .resolve(global.offline)?;
                    Ok((dir.display().to_string(), r))
                })
                .collect::<anyhow::Result<_>>()?
        };
        let runtime = Runtime::new(Some(CompiledCache::new(&crate::env::cache_dir())))?;
        let defaults = self.limits();
        let options = |app: &App| self.options(app, false);
        let render =
            |r: &Resolved| all::render_one(r, defaults, &runtime, &options, cache.as_ref());
        let jobs = self.jobs.unwrap_or_else(all::default_jobs);
        let results = all::render_many(
            &apps,
            jobs,
            !global.no_progress && global.verbose == 0,
            &render,
        );
        if let Some(cache) = &cache {
            cache.trim();
        }
        Ok(apps
            .into_iter()
            .zip(results)
            .map(|((label, resolved), result)| {
                let outcome = result.outcome.map(|mut done| {
                    done.resources = backend::stdout::split_rendered_text(done.resources, None).1;
                    done
                });
                (label, resolved, outcome)
            })
            .collect())
    }

    /// Renders every app under `root`; exit 2 if any failed.
    ///
    /// With the cache on and the output on stdout, the run keeps a memo
    /// (see [`crate::cache::MemoId`]): the apps found and, per app, its
    /// output and the stamps of what it read. The next run with the same
    /// arguments takes the app list from it while no directory changed, and
    /// each app's output while none of its files changed, so a run where
    /// nothing changed costs a few `stat` calls per file.
    fn render_all(
        &self,
        root: &Resolved,
        global: &GlobalArgs,
        defaults: Limits,
        runtime: &Runtime,
        cache: Option<&std::sync::Arc<crate::cache::StepCache>>,
    ) -> anyhow::Result<ExitStatus> {
        let memo = cache
            .filter(|_| root.commit.is_none() && self.output_dir.is_none() && !self.explain)
            .map(|c| (c, self.run_memo_id(root)));
        let stored = memo.and_then(|(c, id)| c.memo_body(id));
        let previous: Option<RunMemo<'_>> = stored.as_deref().and_then(crate::cache::memo_value);
        let base = &root.app.root;
        // Apps whose files did not change since the memo keep their output,
        // kept beside the memo as the stream it was written as.
        let blob = memo
            .zip(previous.as_ref())
            .and_then(|((c, id), p)| c.memo_blob(id, p.blob))
            .and_then(|b| String::from_utf8(b).ok());
        let kept_from = previous.as_ref().filter(|_| blob.is_some());
        let options = |app: &App| self.options(app, false);
        let render = |r: &Resolved| all::render_one(r, defaults, runtime, &options, cache);
        let pool = Pool {
            base,
            jobs: self.jobs.unwrap_or_else(all::default_jobs),
            progress: !global.no_progress && global.verbose == 0,
            render: &render,
        };
        // The memo's app list is taken on trust while the stamps of what
        // discovery read are checked beside the apps' own: when discovery
        // turns out to have changed, the apps are found again.
        let trusted = kept_from.and_then(|p| {
            let found: Vec<String> = p.apps.iter().map(|a| a.found.to_owned()).collect();
            let labelled = labelled(root, all::resolve_found(root, found.clone()));
            pool.run(&labelled, Some(p), Some(&p.discovery))
                .map(|slots| (Watched::Kept(&p.discovery), found, labelled, slots))
        });
        let (discovery, found, labelled, slots) = if let Some(run) = trusted {
            run
        } else {
            let mut watch = Watch::default();
            let (found, apps) = all::discover_watched(root, &mut watch)?;
            let labelled = labelled(root, apps);
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
        let text_of = |k: &RunMemoApp<'_>| -> &str {
            blob.as_deref()
                .and_then(|b| b.get(k.start..k.start + k.len))
                .unwrap_or_default()
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
            write_stdout(blob)?;
            return Ok(ExitStatus::Success);
        }
        let rendered_any = slots.iter().any(|s| matches!(s, Slot::Rendered(_)));
        if let Some(cache) = cache {
            cache.trim();
        }
        let mut failed = 0;
        let mut stream = String::new();
        // A discovery too recent to trust is not memoised, as no watch is.
        let mut memoisable = !discovery.is_racy();
        let mut next = RunMemoOut {
            discovery,
            apps: Vec::with_capacity(labelled.len()),
            blob: String::new(),
        };
        for (((label, _), slot), found) in labelled.iter().zip(slots).zip(&found) {
            let (text, watch, shown) = match slot {
                Slot::Kept(k) => {
                    show_again(&k.shown);
                    (
                        Cow::Borrowed(text_of(k)),
                        Cow::Borrowed(k.watch),
                        Cow::Borrowed(k.shown.as_slice()),
                    )
                }
                Slot::Rendered(outcome) => match outcome {
                    Ok(done) => {
                        if self.explain {
                            all::explain(label, &done.steps);
                        }
                        let (_, resources) =
                            backend::stdout::split_rendered_text(done.resources, None);
                        if let Some(dir) = &self.output_dir {
                            let out = all::output_dir_of(dir, label);
                            backend::dir::write(&out, &resources).with_context(|| {
                                format!("cannot write the output of {} to {}", label, out.display())
                            })?;
                            continue;
                        }
                        memoisable &= !done.watch.is_racy();
                        (
                            Cow::Owned(self.app_text(label, &resources)),
                            Cow::Owned(
                                postcard::to_allocvec(&done.watch).expect("watches serialise"),
                            ),
                            Cow::Owned(shown_by(&done.steps)),
                        )
                    }
                    Err(error) => {
                        failed += 1;
                        memoisable = false;
                        all::say_failed(&format!("app {label} failed"), &error);
                        continue;
                    }
                },
            };
            if !stream.is_empty() && self.output == Format::Yaml {
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
        }
        write_stdout(&stream)?;
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
        let total = labelled.len();
        // The process ends with this command: freeing the memos' thousands of
        // small allocations one by one would only delay the exit.
        std::mem::forget(next);
        std::mem::forget((previous, labelled, found));
        if failed > 0 {
            all::say(&format!("{failed} of {total} apps failed"));
            return Ok(ExitStatus::Error);
        }
        Ok(ExitStatus::Success)
    }

    /// The output of one app in an `--all` stream.
    fn app_text(&self, label: &str, resources: &[Value]) -> String {
        if self.output == Format::Yaml {
            format!(
                "# app: {label}\n{}",
                kiln_resource::yaml::to_stream(resources)
            )
        } else {
            backend::stdout::format(resources, self.output)
        }
    }

    /// The id of the memo of this `--all` run: its arguments, the working
    /// directory, the environment that changes a render, and the root.
    fn run_memo_id(&self, root: &Resolved) -> MemoId {
        let env: Vec<(String, Option<String>)> = [
            crate::env::KUBE_VERSION,
            crate::env::KUBE_API_VERSIONS,
            crate::env::KILN_MEMORY_LIMIT,
            crate::env::KILN_TIMEOUT,
            crate::env::KILN_OUTPUT_LIMIT,
            crate::env::KILN_MAX_MEMORY,
            crate::env::KILN_MAX_TIMEOUT,
            crate::env::KILN_MAX_OUTPUT,
            super::keys::KILN_GRANT_SECRET,
            "SOPS_AGE_KEY",
            "SOPS_AGE_KEY_FILE",
        ]
        .iter()
        .map(|name| ((*name).to_owned(), std::env::var(name).ok()))
        .collect();
        let cwd = std::env::current_dir().unwrap_or_default();
        MemoId::new(
            "all-v2",
            &[
                format!("{self:?}").as_bytes(),
                format!("{env:?}").as_bytes(),
                cwd.as_os_str().as_encoded_bytes(),
                root.source_id.as_bytes(),
                root.app.root.as_os_str().as_encoded_bytes(),
            ],
        )
    }

    fn options(&self, app: &App, emit_text: bool) -> anyhow::Result<RenderOptions> {
        let kube_version = pipeline::kube_version(self.kube_version.as_deref());
        let mut api_versions = self.api_versions.clone();
        if let Ok(extra) = std::env::var(crate::env::KUBE_API_VERSIONS) {
            api_versions.extend(
                extra
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
            );
        }
        let mut secrets = super::keys::sops_secrets(&self.key_file)?;
        for spec in &self.secret {
            let (name, file) = spec.split_once('=').ok_or_else(|| {
                Hint::error(
                    format!("--secret `{spec}` is not NAME=FILE"),
                    "e.g. --secret api-token=./token.txt",
                )
            })?;
            let value =
                fs_err::read(file).with_context(|| format!("cannot read secret `{name}`"))?;
            secrets.push((name.to_owned(), value));
        }
        Ok(RenderOptions {
            namespace: self.namespace.clone(),
            kube_version,
            api_versions,
            source_revision: None,
            plugin_config: vec![("helm".to_owned(), self.helm_config(app, emit_text)?)],
            secrets,
            grants: super::keys::secret_grants(&self.grant_secret)?,
            ceiling: crate::env::ceiling(self.max_memory, self.max_timeout, self.max_output),
            ..RenderOptions::default()
        })
    }

    /// The helm flags as a helm step's config; paths made relative to the app directory.
    fn helm_config(&self, app: &App, emit_text: bool) -> anyhow::Result<Map<String, Value>> {
        let h = &self.helm;
        let mut m = Map::new();
        let strings = |v: &[String]| Value::Array(v.iter().cloned().map(Value::String).collect());
        if let Some(name) = &h.release_name {
            m.insert("release-name".into(), name.clone().into());
        }
        if let Some(ns) = &self.namespace {
            m.insert("namespace".into(), ns.clone().into());
        }
        if !h.values.is_empty() {
            let files = h
                .values
                .iter()
                .map(|f| app_relative(app, f))
                .collect::<anyhow::Result<Vec<_>>>()?;
            m.insert("values".into(), strings(&files));
        }
        for (key, list) in [
            ("set", &h.set),
            ("set-string", &h.set_string),
            ("set-json", &h.set_json),
            ("show-only", &h.show_only),
        ] {
            if !list.is_empty() {
                m.insert(key.into(), strings(list));
            }
        }
        if !h.set_file.is_empty() {
            let mut out = Vec::new();
            for spec in &h.set_file {
                let (k, path) = spec.split_once('=').ok_or_else(|| {
                    Hint::error(
                        format!("--set-file `{spec}` is not K=PATH"),
                        "e.g. --set-file config=./config.txt",
                    )
                })?;
                out.push(format!("{k}={}", app_relative(app, Path::new(path))?));
            }
            m.insert("set-file".into(), strings(&out));
        }
        if !self.api_versions.is_empty() {
            m.insert("api-versions".into(), strings(&self.api_versions));
        }
        if let Some(v) = &self.kube_version {
            m.insert("kube-version".into(), v.clone().into());
        }
        if h.include_crds {
            m.insert("include-crds".into(), true.into());
        }
        if h.skip_tests {
            m.insert("skip-tests".into(), true.into());
        }
        if emit_text {
            m.insert("emit-text".into(), true.into());
        }
        Ok(m)
    }
}

/// A path given on the command line, relative to the app directory as
/// plugins see it; it must be inside the source root.
fn app_relative(app: &App, path: &Path) -> anyhow::Result<String> {
    let abs = path
        .canonicalize()
        .with_context(|| format!("cannot read {}", path.display()))?;
    let inside = abs.strip_prefix(&app.root).map_err(|_| {
        Hint::error(
            format!(
                "{} is outside the source root {}",
                path.display(),
                app.root.display()
            ),
            crate::source::outside_root_hint(),
        )
    })?;
    let depth = if app.dir == "." {
        0
    } else {
        app.dir.split('/').count()
    };
    let mut rel = "../".repeat(depth);
    rel.push_str(&inside.to_string_lossy());
    Ok(rel)
}

/// The apps found under `root`, each with its label: its directory relative
/// to the root (`.` for the root itself).
fn labelled(root: &Resolved, apps: Vec<Resolved>) -> Vec<(String, Resolved)> {
    let prefix = if root.app.dir == "." {
        String::new()
    } else {
        format!("{}/", root.app.dir)
    };
    apps.into_iter()
        .map(|r| {
            let label = r.app.dir.strip_prefix(&prefix).unwrap_or(&r.app.dir);
            let label = if label == root.app.dir { "." } else { label };
            (label.to_owned(), r)
        })
        .collect()
}

/// What became of one app of an `--all` run.
enum Slot<'m> {
    /// Nothing it read changed: its part of the memo's output stands.
    Kept(&'m RunMemoApp<'m>),
    /// It was rendered.
    Rendered(all::Outcome),
}

/// The threads of an `--all` run, and what each app needs.
struct Pool<'a> {
    base: &'a Path,
    jobs: usize,
    progress: bool,
    render: &'a (dyn Fn(&Resolved) -> all::Outcome + Sync),
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
        let done = all::pool(
            labelled.len(),
            self.jobs,
            self.progress,
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
                    _ => Slot::Rendered((self.render)(resolved)),
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

/// The memo of an `--all` run, read in place from its stored form.
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
fn shown_by(steps: &[pipeline::StepReport]) -> Vec<Shown> {
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
