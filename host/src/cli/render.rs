//! `kiln render`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;

use super::cache::CacheArgs;
use super::print;
use super::{ExitStatus, GlobalArgs, Hint, write_stdout};
use crate::backend::{self, stdout::Format};
use crate::runtime::{Limits, limits};
use crate::service::{
    AppRequest, HelmSettings, Origin, RenderService, RenderSettings, Resolved, ServiceConfig,
    TreeOutcome, TreeRequest, keys,
};

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
    /// Whose render this is, when one machine renders for many tenants
    /// (e.g. the repository URL): the same files under another scope draw
    /// other random values (passwords, keys).
    #[arg(long, env = "KILN_SEED_SCOPE")]
    pub seed_scope: Option<String>,
    /// API versions the target serves, in addition to the built-in ones (helm -a).
    #[arg(short = 'a', long, value_delimiter = ',')]
    pub api_versions: Vec<String>,
    #[command(flatten)]
    pub helm: HelmArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub ceiling: CeilingArgs,
    /// Give a secret's value: NAME=FILE (it reaches only plugins granted it with --grant-secret).
    #[arg(long, value_name = "NAME=FILE")]
    pub secret: Vec<String>,
    /// Grant a secret to a plugin: PLUGIN=NAME, PLUGIN a `blake3:<digest>`, a .wasm file or a built-in name.
    #[arg(long, value_name = "PLUGIN=NAME", env = keys::KILN_GRANT_SECRET, value_delimiter = ',')]
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
    /// Fail unless kiln.lock pins every plugin of kiln.yaml that is not built in, as it is now.
    #[arg(long, env = crate::env::KILN_LOCKED, value_parser = clap::builder::BoolishValueParser::new())]
    pub locked: bool,
    #[command(flatten)]
    pub cache: CacheArgs,
}

/// The limits of each plugin call (`--memory-limit`, `--timeout`,
/// `--output-limit`).
#[derive(Debug, Default, Clone, clap::Args)]
pub struct LimitArgs {
    /// Memory cap of each plugin call (e.g. 512MiB).
    #[arg(long, value_name = "SIZE", env = crate::env::KILN_MEMORY_LIMIT, value_parser = limits::parse_size)]
    pub memory_limit: Option<usize>,
    /// Time bound of each plugin call (e.g. 30s).
    #[arg(long, value_name = "DURATION", env = crate::env::KILN_TIMEOUT, value_parser = limits::parse_duration)]
    pub timeout: Option<std::time::Duration>,
    /// Output cap of each plugin call (e.g. 64MiB).
    #[arg(long, value_name = "SIZE", env = crate::env::KILN_OUTPUT_LIMIT, value_parser = limits::parse_size)]
    pub output_limit: Option<usize>,
}

impl LimitArgs {
    /// The default limits of plugin calls, from the flags.
    pub(crate) fn limits(&self) -> Limits {
        Limits {
            memory: self.memory_limit.unwrap_or(Limits::DEFAULT_MEMORY),
            time: self.timeout.unwrap_or(Limits::DEFAULT_TIME),
            output: self.output_limit.unwrap_or(Limits::DEFAULT_OUTPUT),
        }
    }
}

/// The operator's ceiling on every step's limits (`--max-memory`,
/// `--max-timeout`, `--max-output`).
#[derive(Debug, Default, Clone, clap::Args)]
#[expect(
    clippy::struct_field_names,
    reason = "the fields are the flags --max-*"
)]
pub struct CeilingArgs {
    /// Ceiling on every step's memory cap, `kiln.yaml`'s `limits:` included (e.g. 1GiB).
    #[arg(long, value_name = "SIZE", env = crate::env::KILN_MAX_MEMORY, value_parser = limits::parse_size)]
    pub max_memory: Option<usize>,
    /// Ceiling on every step's time bound, `kiln.yaml`'s `limits:` included (e.g. 2m).
    #[arg(long, value_name = "DURATION", env = crate::env::KILN_MAX_TIMEOUT, value_parser = limits::parse_duration)]
    pub max_timeout: Option<std::time::Duration>,
    /// Ceiling on every step's output cap, `kiln.yaml`'s `limits:` included.
    #[arg(long, value_name = "SIZE", env = crate::env::KILN_MAX_OUTPUT, value_parser = limits::parse_size)]
    pub max_output: Option<usize>,
}

impl CeilingArgs {
    /// The ceiling the flags give, if any.
    pub(crate) fn ceiling(&self) -> Option<Limits> {
        crate::env::ceiling(self.max_memory, self.max_timeout, self.max_output)
    }
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

impl HelmArgs {
    /// The flags as the service's helm settings.
    fn settings(&self) -> HelmSettings {
        HelmSettings {
            release_name: self.release_name.clone(),
            values: self.values.clone(),
            set: self.set.clone(),
            set_string: self.set_string.clone(),
            set_file: self.set_file.clone(),
            set_json: self.set_json.clone(),
            show_only: self.show_only.clone(),
            include_crds: self.include_crds,
            skip_tests: self.skip_tests,
        }
    }
}

impl RenderCommand {
    /// Runs the command.
    pub fn execute(self, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        let service = self.service(global)?;
        if let Some(root) = &self.all {
            if self.locked {
                let root = service.resolve(&self.git.origin(root, self.root.as_deref()))?;
                for app in service.discover(&root)? {
                    crate::pipeline::locking::check_locked(&app.app)?;
                }
            }
            return self.render_all(&service, root);
        }
        let to_stdout_yaml = self.output_dir.is_none() && self.output == Format::Yaml;
        let request = AppRequest {
            origin: self.git.origin(&self.dir, self.root.as_deref()),
            settings: self.settings(to_stdout_yaml)?,
        };
        let rendered = if self.locked {
            let resolved = service.resolve(&request.origin)?;
            crate::pipeline::locking::check_locked(&resolved.app)?;
            let out = service.render(&resolved, &request.settings);
            service.trim_cache();
            out?
        } else {
            service.render_app(&request)?
        };
        if self.explain {
            print::explain(&rendered.report.app.name, &rendered.report.steps);
        }
        match (&self.output_dir, rendered.text) {
            (Some(dir), _) => backend::dir::write(dir, &rendered.resources)
                .with_context(|| format!("cannot write the output to {}", dir.display()))?,
            (None, Some(text)) if to_stdout_yaml => write_stdout(&text)?,
            (None, _) => write_stdout(&backend::stdout::format(&rendered.resources, self.output))?,
        }
        Ok(ExitStatus::Success)
    }

    /// The render service these flags ask for.
    pub(crate) fn service(&self, global: &GlobalArgs) -> anyhow::Result<RenderService> {
        service(&self.cache, global)
    }

    /// The default limits of plugin calls, from the flags.
    pub(crate) fn limits(&self) -> Limits {
        self.limits.limits()
    }

    /// Renders the apps `dirs` (or, with `--all`, every app under its
    /// root) for a backend: each with its label, in order; a failed render
    /// is an `Err` outcome, the others still render.
    pub(crate) fn render_for_backend(
        &self,
        global: &GlobalArgs,
        dirs: &[PathBuf],
    ) -> anyhow::Result<Vec<(String, Resolved, anyhow::Result<crate::service::AppRender>)>> {
        let service = self.service(global)?;
        let apps: Vec<(String, Resolved)> = if let Some(root) = &self.all {
            let root = service.resolve(&self.git.origin(root, self.root.as_deref()))?;
            service.discover_labelled(&root)?
        } else {
            dirs.iter()
                .map(|dir| {
                    let r = service.resolve(&self.git.origin(dir, self.root.as_deref()))?;
                    Ok((dir.display().to_string(), r))
                })
                .collect::<anyhow::Result<_>>()?
        };
        let settings = self.settings(false)?;
        let jobs = self.jobs.unwrap_or_else(crate::service::default_jobs);
        let results = service.render_apps(&apps, &settings, jobs);
        Ok(apps
            .into_iter()
            .zip(results)
            .map(|((label, resolved), result)| (label, resolved, result.outcome))
            .collect())
    }

    /// Renders every app under `root`; exit 2 if any failed.
    fn render_all(&self, service: &RenderService, root: &Path) -> anyhow::Result<ExitStatus> {
        let request = TreeRequest {
            root: self.git.origin(root, self.root.as_deref()),
            settings: self.settings(false)?,
            jobs: self.jobs.unwrap_or_else(crate::service::default_jobs),
            stream: self.output_dir.is_none().then_some(self.output),
            memo: !self.explain,
            memo_context: String::new(),
        };
        let tree = service.render_tree(&request)?;
        for app in &tree.apps {
            match &app.outcome {
                TreeOutcome::Kept => {}
                TreeOutcome::Rendered(Ok(done)) => {
                    if self.explain {
                        print::explain(&app.label, &done.report.steps);
                    }
                    if let Some(dir) = &self.output_dir {
                        let out = print::output_dir_of(dir, &app.label);
                        backend::dir::write(&out, &done.resources).with_context(|| {
                            format!(
                                "cannot write the output of {} to {}",
                                app.label,
                                out.display()
                            )
                        })?;
                    }
                }
                TreeOutcome::Rendered(Err(error)) => {
                    print::say_failed(&format!("app {} failed", app.label), error);
                }
            }
        }
        if let Some(stream) = &tree.stream {
            write_stdout(stream)?;
        }
        let failed = tree.failed();
        let total = tree.apps.len();
        // The process ends with this command: freeing the run's thousands
        // of small allocations one by one would only delay the exit.
        std::mem::forget(tree);
        if failed > 0 {
            print::say(&format!("{failed} of {total} apps failed"));
            return Ok(ExitStatus::Error);
        }
        Ok(ExitStatus::Success)
    }

    /// The render settings these flags ask for: the SOPS keys and secrets
    /// read, the grants resolved. With `emit_text`, helm steps also give
    /// their exact text, for printing one app as YAML.
    pub(crate) fn settings(&self, emit_text: bool) -> anyhow::Result<RenderSettings> {
        let mut api_versions = self.api_versions.clone();
        if let Ok(extra) = std::env::var(crate::env::KUBE_API_VERSIONS) {
            api_versions.extend(
                extra
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
            );
        }
        let mut secrets = keys::sops_secrets(&self.key_file)?;
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
        Ok(RenderSettings {
            namespace: self.namespace.clone(),
            kube_version: self.kube_version.clone(),
            api_versions,
            helm: self.helm.settings(),
            secrets,
            grants: keys::secret_grants(&self.grant_secret)?,
            limits: self.limits(),
            ceiling: self.ceiling.ceiling(),
            render_seed: Some(keys::render_seed()?),
            seed_scope: self.seed_scope.clone().filter(|s| !s.is_empty()),
            emit_text,
        })
    }
}

/// The render service of a command: the cache its flags select, the
/// cache directory of the environment, and the notes and progress printed
/// on stderr.
pub(crate) fn service(cache: &CacheArgs, global: &GlobalArgs) -> anyhow::Result<RenderService> {
    let mut config = ServiceConfig::new(crate::env::cache_dir());
    config.cache = cache.choice();
    config.offline = global.offline;
    config.observer = Arc::new(super::progress::Printer::new(global.progress()));
    RenderService::new(config)
}
