//! `kiln apply`: render apps, then hand them to a backend.

use std::path::PathBuf;
use std::time::Duration;

use super::print;
use super::render::RenderCommand;
use super::{ExitStatus, GlobalArgs};
use crate::backend::{self, Backend, Delivery, Destination};
use crate::runtime::limits;

/// Render apps, then converge a destination to them: server-side apply to
/// the cluster of the kubeconfig (with an inventory per app, pruning what a
/// render dropped), or `--to dir:PATH`, or `--to git:URL#BRANCH[:PATH]`.
///
/// An app whose render fails is reported and never applied or pruned; the
/// others still are. Exit status: 0 when every app was delivered, 2 when
/// any render or delivery failed.
#[derive(Debug, clap::Args)]
#[command(
    mut_arg("timeout", |a| a.long("plugin-timeout")),
    // Render's output flags mean nothing here: the backend is the output.
    mut_arg("output", |a| a.hide(true)),
    mut_arg("output_dir", |a| a.hide(true)),
)]
pub struct ApplyCommand {
    #[command(flatten)]
    pub render: RenderCommand,
    /// More app directories.
    #[arg(value_name = "APP")]
    pub more: Vec<PathBuf>,
    /// Where to apply: cluster, dir:PATH, or git:URL#BRANCH[:PATH].
    #[arg(long, default_value = "cluster", value_name = "DEST")]
    pub to: Destination,
    /// Commit renders that decrypted secrets to a git branch anyway (they
    /// would be stored there in plaintext).
    #[arg(long)]
    pub allow_plaintext_secrets: bool,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// Options of the cluster backend.
#[derive(Debug, clap::Args)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent switches, each a flag"
)]
#[command(next_help_heading = "Cluster options")]
pub struct ClusterArgs {
    /// The kubeconfig file (default: KUBECONFIG, ~/.kube/config, or the in-cluster service account).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context (default: the current one).
    #[arg(id = "kube_context", long = "context", value_name = "NAME")]
    pub context: Option<String>,
    /// Namespace of the apps' inventories (`ConfigMaps` named `kiln-inventory-<app>`).
    #[arg(long, value_name = "NS", default_value = "default")]
    pub inventory_namespace: String,
    /// Take fields another field manager owns instead of failing with a conflict.
    #[arg(long)]
    pub force_conflicts: bool,
    /// Take over objects another app's inventory lists.
    #[arg(long)]
    pub adopt: bool,
    /// How dependents of pruned objects are deleted.
    #[arg(long, value_enum, default_value_t = PropagationArg::Background)]
    pub propagation: PropagationArg,
    /// Apply an empty render (which prunes everything the app had).
    #[arg(long)]
    pub allow_empty: bool,
    /// Send everything as a server-side dry run; nothing changes.
    #[arg(long)]
    pub dry_run: bool,
    /// Wait for workloads (`Deployments`, `StatefulSets`, `DaemonSets`), Jobs and CRDs to become ready.
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits in all.
    #[arg(id = "wait_timeout", long = "timeout", value_name = "DURATION", default_value = "5m", value_parser = limits::parse_duration)]
    pub timeout: Duration,
}

/// `--propagation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PropagationArg {
    /// Dependents are deleted in the background.
    Background,
    /// The object waits for its dependents to go first.
    Foreground,
    /// Dependents are left, without their owner reference.
    Orphan,
}

impl ClusterArgs {
    /// The cluster backend's settings.
    pub(crate) fn settings(&self, global: &GlobalArgs) -> backend::cluster::Settings {
        let mut apply = kiln_kube::ApplyOptions::new("", &self.inventory_namespace);
        apply.force_conflicts = self.force_conflicts;
        apply.adopt = self.adopt;
        apply.propagation = match self.propagation {
            PropagationArg::Background => kiln_kube::Propagation::Background,
            PropagationArg::Foreground => kiln_kube::Propagation::Foreground,
            PropagationArg::Orphan => kiln_kube::Propagation::Orphan,
        };
        apply.allow_empty = self.allow_empty;
        apply.dry_run = self.dry_run;
        apply.wait = self.wait.then_some(self.timeout);
        backend::cluster::Settings {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
            apply,
            progress: !global.no_progress && global.quiet == 0,
        }
    }
}

impl ApplyCommand {
    /// Runs the command.
    pub fn execute(self, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        let mut dirs = vec![self.render.dir.clone()];
        dirs.extend(self.more.iter().cloned());
        let rendered = self.render.render_for_backend(global, &dirs)?;
        let mut target: Box<dyn Backend> = match &self.to {
            Destination::Cluster => Box::new(backend::cluster::Cluster::connect(
                self.cluster.settings(global),
            )?),
            Destination::Dir(path) => Box::new(backend::dir::Dir::new(path.clone())),
            Destination::Git(t) => {
                Box::new(backend::git::Git::new(t.clone(), crate::env::cache_dir()))
            }
        };
        let apps_in_run = rendered.len();
        let mut failed = 0;
        for (label, resolved, outcome) in &rendered {
            let done = match outcome {
                Ok(done) => done,
                Err(error) => {
                    failed += 1;
                    print::say_failed(
                        &format!("app {label} failed to render; nothing applied or pruned"),
                        error,
                    );
                    continue;
                }
            };
            if done.report.held_secret()
                && matches!(self.to, Destination::Git(_))
                && !self.allow_plaintext_secrets
            {
                failed += 1;
                print::say(&format!(
                    "error: app {label} decrypted secrets; its output is not committed to git, where they would be stored in plaintext\nhint: apply it to the cluster instead, keep the Secrets encrypted in the branch, or pass --allow-plaintext-secrets"
                ));
                continue;
            }
            if matches!(self.to, Destination::Cluster)
                && let Some(error) = crate::service::keys::still_encrypted(&done.resources)
            {
                failed += 1;
                print::say_failed(&format!("app {label}"), &error);
                continue;
            }
            let delivery = Delivery {
                app: &resolved.app.name,
                label,
                resources: &done.resources,
                source: &resolved.source_id,
                revision: resolved.commit.as_deref(),
                steps: &done.report.steps,
                apps_in_run,
            };
            match target.deliver(&delivery) {
                Ok(delivered) => {
                    for line in &delivered.lines {
                        print::say(&format!("{}: {line}", resolved.app.name));
                    }
                    if delivered.failed {
                        failed += 1;
                    }
                }
                Err(error) => {
                    failed += 1;
                    print::say_failed(&format!("app {label}"), &error);
                }
            }
        }
        if failed > 0 {
            print::say(&format!("{failed} of {apps_in_run} apps failed"));
            return Ok(ExitStatus::Error);
        }
        Ok(ExitStatus::Success)
    }
}
