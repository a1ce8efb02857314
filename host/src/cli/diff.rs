//! `kiln diff`: render two revisions and print a per-resource diff.

mod compare;

use std::path::PathBuf;

use super::cache::CacheArgs;
use super::{ExitStatus, GlobalArgs, print, write_stdout};
use crate::runtime::Limits;
use crate::service::{Origin, RenderService, RenderSettings, Resolved};

/// Render an app (or every app under a root) at two revisions and print
/// what changed, resource by resource; or, without --base and --head,
/// render it and compare it with the live cluster (a server-side apply dry
/// run per object, as `kubectl diff --server-side`). Secret values are
/// masked.
///
/// Exit status: 0 when equal, 1 when different, 2 on error.
#[derive(Debug, clap::Args)]
pub struct DiffCommand {
    /// The app directory (in the work tree, or inside --repo).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// The base revision (branch, tag or commit id).
    #[arg(long, value_name = "REV", requires = "head")]
    pub base: Option<String>,
    /// The head revision.
    #[arg(long, value_name = "REV", requires = "base")]
    pub head: Option<String>,
    /// Compare every app found under ROOT.
    #[arg(long, value_name = "ROOT")]
    pub all: Option<PathBuf>,
    /// Read the revisions from this repository (https, ssh, file:// or a path).
    #[arg(long, value_name = "URL")]
    pub repo: Option<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = DiffFormat::Text)]
    pub output: DiffFormat,
    /// Lines of context around each change.
    #[arg(short = 'U', long = "unified", default_value_t = 3)]
    pub unified: usize,
    /// Target namespace.
    #[arg(short, long)]
    pub namespace: Option<String>,
    /// Target Kubernetes version (e.g. 1.32.0).
    #[arg(long, env = crate::env::KUBE_VERSION)]
    pub kube_version: Option<String>,
    /// Apps rendered at once (default: the number of CPUs).
    #[arg(short = 'j', long, value_name = "N")]
    pub jobs: Option<usize>,
    /// A SOPS key, to render apps with encrypted Secrets (repeatable; Secret values are masked).
    #[arg(long, value_name = "PATH")]
    pub key_file: Vec<PathBuf>,
    #[command(flatten)]
    pub cache: CacheArgs,
    #[command(flatten)]
    pub cluster: super::ClusterArgs,
}

/// How `kiln diff` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffFormat {
    /// Unified diffs.
    Text,
    /// One JSON document.
    Json,
    /// A summary table and collapsible diffs, for a pull-request comment.
    Markdown,
}

impl DiffCommand {
    /// Runs the command.
    pub fn execute(self, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        let service = super::render::service(&self.cache, global)?;
        let (Some(base_rev), Some(head_rev)) = (&self.base, &self.head) else {
            return self.live(&service, global);
        };
        let base = self.side(&service, base_rev)?;
        let head = self.side(&service, head_rev)?;
        let mut jobs: Vec<(String, Resolved)> = base
            .iter()
            .map(|(l, r)| (format!("base:{l}"), r.clone()))
            .collect();
        jobs.extend(head.iter().map(|(l, r)| (format!("head:{l}"), r.clone())));
        let settings = self.settings()?;
        let threads = self.jobs.unwrap_or_else(crate::service::default_jobs);
        let results = service.render_apps(&jobs, &settings, threads);
        let mut base_out = Vec::new();
        let mut head_out = Vec::new();
        for result in results {
            let outcome = result.outcome.map(|done| done.resources).map_err(|e| {
                e.chain()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(": ")
            });
            if let Some(label) = result.label.strip_prefix("base:") {
                base_out.push((label.to_owned(), outcome));
            } else if let Some(label) = result.label.strip_prefix("head:") {
                head_out.push((label.to_owned(), outcome));
            }
        }
        let diffs = compare::compare(&base_out, &head_out, self.unified);
        let text = match self.output {
            DiffFormat::Text => compare::text(&diffs),
            DiffFormat::Json => compare::json(&diffs, base_rev, head_rev),
            DiffFormat::Markdown => compare::markdown(&diffs, base_rev, head_rev),
        };
        write_stdout(&text)?;
        let failed = diffs.iter().filter(|d| d.error.is_some()).count();
        if failed > 0 {
            print::say(&format!("error: {failed} app render(s) failed"));
            for d in diffs.iter().filter(|d| d.error.is_some()) {
                print::say(&format!(
                    "  {}: {}",
                    d.app,
                    d.error.as_deref().unwrap_or_default()
                ));
            }
            Ok(ExitStatus::Error)
        } else if diffs.iter().any(|d| !d.resources.is_empty()) {
            Ok(ExitStatus::Failure)
        } else {
            Ok(ExitStatus::Success)
        }
    }

    /// Renders the app (or the apps under --all) from the work tree and
    /// compares each with the live cluster.
    fn live(&self, service: &RenderService, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        let dir = self.all.clone().unwrap_or_else(|| self.dir.clone());
        let origin = Origin {
            repo: self.repo.clone(),
            rev: None,
            dir,
            root: None,
        };
        let root = service.resolve(&origin)?;
        let apps = if self.all.is_some() {
            service.discover(&root)?
        } else {
            vec![root]
        };
        let cluster = crate::backend::cluster::Cluster::connect(self.cluster.settings(global))?;
        let mut text = String::new();
        let (mut differs, mut failed) = (false, 0);
        let settings = self.settings()?;
        for resolved in &apps {
            let done = match service.render(resolved, &settings) {
                Ok(done) => done,
                Err(e) => {
                    failed += 1;
                    print::say_failed(&format!("app {} failed to render", resolved.app.name), &e);
                    continue;
                }
            };
            if let Some(error) = crate::service::keys::still_encrypted(&done.resources) {
                failed += 1;
                print::say_failed(&format!("app {}", resolved.app.name), &error);
                continue;
            }
            let delivery = crate::backend::Delivery {
                app: &resolved.app.name,
                label: &resolved.app.dir,
                resources: &done.resources,
                source: &resolved.source_id,
                revision: None,
                steps: &done.report.steps,
                apps_in_run: apps.len(),
            };
            let report = match cluster.diff(&delivery) {
                Ok(report) => report,
                Err(e) => {
                    failed += 1;
                    print::say_failed(&format!("app {}", resolved.app.name), &e);
                    continue;
                }
            };
            differs |= report.differs();
            for o in &report.objects {
                match &o.change {
                    kiln_kube::Change::Unchanged => {}
                    kiln_kube::Change::Failed(why) => {
                        failed += 1;
                        print::say(&format!("error: {}: {}: {why}", resolved.app.name, o.id));
                    }
                    _ => text.push_str(&o.diff),
                }
            }
        }
        write_stdout(&text)?;
        Ok(if failed > 0 {
            ExitStatus::Error
        } else if differs {
            ExitStatus::Failure
        } else {
            ExitStatus::Success
        })
    }

    /// The apps of one side, labelled by their path under the root.
    fn side(&self, service: &RenderService, rev: &str) -> anyhow::Result<Vec<(String, Resolved)>> {
        let dir = self.all.clone().unwrap_or_else(|| self.dir.clone());
        let origin = Origin {
            repo: self.repo.clone(),
            rev: Some(rev.to_owned()),
            dir,
            root: None,
        };
        let root = service.resolve(&origin)?;
        if self.all.is_none() {
            return Ok(vec![(root.app.dir.clone(), root)]);
        }
        let prefix = if root.app.dir == "." {
            String::new()
        } else {
            format!("{}/", root.app.dir)
        };
        Ok(service
            .discover(&root)?
            .into_iter()
            .map(|r| {
                (
                    r.app
                        .dir
                        .strip_prefix(&prefix)
                        .unwrap_or(&r.app.dir)
                        .to_owned(),
                    r,
                )
            })
            .collect())
    }

    /// The render settings of both sides.
    fn settings(&self) -> anyhow::Result<RenderSettings> {
        Ok(RenderSettings {
            namespace: self.namespace.clone(),
            kube_version: self.kube_version.clone(),
            secrets: crate::service::keys::sops_secrets(&self.key_file)?,
            limits: Limits::default(),
            ceiling: crate::env::limits_ceiling().map_err(anyhow::Error::msg)?,
            render_seed: Some(crate::service::keys::render_seed()?),
            ..RenderSettings::default()
        })
    }
}
