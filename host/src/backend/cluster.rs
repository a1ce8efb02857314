//! The cluster backend: server-side apply with field manager `kiln`, an
//! inventory per app and pruning, through [`kiln_kube`].

use std::io::IsTerminal as _;
use std::path::PathBuf;

use kiln_kube::{Action, Applier, ApplyOptions, Event, Manifests};

use super::{Backend, Delivered, Delivery};

/// How to reach the cluster and how to apply.
#[derive(Debug, Clone)]
pub struct Settings {
    /// A kubeconfig file (default: `KUBECONFIG`, `~/.kube/config`, or the
    /// in-cluster service account).
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context (default: the current one).
    pub context: Option<String>,
    /// How every app is applied; its `app` is set per app.
    pub apply: ApplyOptions,
    /// Show progress on stderr when it is a terminal.
    pub progress: bool,
}

/// Applies apps to a cluster.
pub struct Cluster {
    runtime: tokio::runtime::Runtime,
    client: kube::Client,
    settings: Settings,
}

impl Cluster {
    /// Connects to the cluster.
    pub fn connect(settings: Settings) -> anyhow::Result<Self> {
        // The provider the whole binary uses; an `Err` means it is
        // installed already.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let client = runtime.block_on(kiln_kube::client(
            settings.kubeconfig.as_deref(),
            settings.context.as_deref(),
        ))?;
        Ok(Self {
            runtime,
            client,
            settings,
        })
    }

    fn options(&self, app: &str) -> ApplyOptions {
        ApplyOptions {
            app: app.to_owned(),
            ..self.settings.apply.clone()
        }
    }

    /// Diffs an app against the live cluster.
    pub fn diff(&self, delivery: &Delivery<'_>) -> anyhow::Result<kiln_kube::DiffReport> {
        let applier = Applier::new(self.client.clone(), self.options(delivery.app));
        let manifests = Manifests::new(delivery.resources.to_vec())?;
        Ok(self.runtime.block_on(applier.diff(manifests))?)
    }
}

impl Backend for Cluster {
    fn deliver(&mut self, delivery: &Delivery<'_>) -> anyhow::Result<Delivered> {
        let applier = Applier::new(self.client.clone(), self.options(delivery.app));
        let manifests = Manifests::new(delivery.resources.to_vec())?;
        let show = self.settings.progress && std::io::stderr().is_terminal();
        let app = delivery.app.to_owned();
        let progress = move |event: Event| {
            if show {
                progress_line(&app, &event);
            }
        };
        let report = self.runtime.block_on(applier.apply(manifests, &progress))?;
        let mut lines = Vec::new();
        for o in &report.objects {
            lines.push(format!("{} {}", o.id, o.action));
        }
        for w in &report.waits {
            if let Some(why) = &w.blocked {
                lines.push(format!("{} not ready: {why}", w.id));
            }
        }
        if let Some(why) = &report.prune_skipped {
            lines.push(format!("pruning skipped: {why}"));
        }
        lines.extend(report.errors.iter().cloned());
        let changed = report.objects.iter().any(|o| {
            matches!(
                o.action,
                Action::Created | Action::Configured | Action::Pruned
            )
        });
        Ok(Delivered {
            changed,
            lines,
            failed: report.failed(),
        })
    }
}

#[expect(clippy::print_stderr, reason = "progress for people goes to stderr")]
fn progress_line(app: &str, event: &Event) {
    match event {
        Event::Object(o) => eprintln!("{app}: {} {}", o.id, o.action),
        Event::Retrying {
            what,
            attempt,
            delay,
            error,
        } => eprintln!("{app}: {what}: {error}; retry {attempt} in {delay:?}"),
        Event::Waiting { id, message } => eprintln!("{app}: waiting for {id}: {message}"),
        Event::Ready { id } => eprintln!("{app}: {id} ready"),
    }
}
