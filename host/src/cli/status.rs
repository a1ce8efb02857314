//! `kiln status`: the apps the agent reconciles, from their inventories.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;

use super::{ExitStatus, GlobalArgs, write_stdout};
use crate::agent::status::condition;
use crate::agent::store;

/// Print a table of the apps in the cluster: readiness, reason, revision.
///
/// Reads the inventory `ConfigMaps` (`kiln-inventory-<app>`) and the status
/// the agent keeps in them. Exit status 1 when some app is not ready.
#[derive(Debug, clap::Args)]
pub struct StatusCommand {
    /// Namespace of the inventories.
    #[arg(short, long, value_name = "NS", default_value = "kiln-system")]
    pub namespace: String,
    /// Every namespace.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Print the status records as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// The kubeconfig file (default: KUBECONFIG, ~/.kube/config, or the in-cluster service account).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context (default: the current one).
    #[arg(id = "kube_context", long = "context", value_name = "NAME")]
    pub context: Option<String>,
}

impl StatusCommand {
    /// Runs the command.
    pub fn execute(self, _global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let list = runtime.block_on(async {
            let client = kiln_kube::client(self.kubeconfig.as_deref(), self.context.as_deref())
                .await
                .context("cannot reach the cluster")?;
            let ns = (!self.all_namespaces).then_some(self.namespace.as_str());
            store::list(&client, ns)
                .await
                .context("cannot list the inventories")
        })?;
        let mut rows: Vec<&store::Stored> = list.iter().collect();
        rows.sort_by(|a, b| (&a.namespace, &a.inventory).cmp(&(&b.namespace, &b.inventory)));
        if self.json {
            let records: Vec<serde_json::Value> = rows
                .iter()
                .map(|s| {
                    serde_json::json!({
                        "namespace": s.namespace,
                        "inventory": s.inventory,
                        "objects": s.objects,
                        "status": s.status,
                    })
                })
                .collect();
            write_stdout(&format!("{}\n", serde_json::Value::Array(records)))?;
        } else {
            write_stdout(&table(&rows, self.all_namespaces))?;
        }
        let all_ready = rows.iter().all(|s| {
            s.status
                .as_ref()
                .is_some_and(|st| st.ready() || st.suspended)
        });
        Ok(if all_ready {
            ExitStatus::Success
        } else {
            ExitStatus::Failure
        })
    }
}

/// The table: one line per app.
pub(crate) fn table(rows: &[&store::Stored], with_namespace: bool) -> String {
    let mut lines: Vec<Vec<String>> = vec![
        [
            "NAMESPACE",
            "APP",
            "READY",
            "REASON",
            "REVISION",
            "OBJECTS",
            "SUSPENDED",
            "MESSAGE",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect(),
    ];
    for s in rows {
        let st = s.status.as_ref();
        let ready = st.and_then(|st| st.condition(condition::READY));
        let revision = st
            .and_then(|st| st.last_applied_revision.as_deref())
            .map_or("-".to_owned(), |r| {
                // main@sha1:<40 hex> shows as main@sha1:<12 hex>
                r.split_once("@sha1:").map_or(r.to_owned(), |(n, sha)| {
                    format!("{n}@sha1:{}", &sha[..sha.len().min(12)])
                })
            });
        let mut message = ready.map_or(String::new(), |c| c.message.clone());
        if message.chars().count() > 80 {
            message = message.chars().take(77).collect::<String>() + "...";
        }
        lines.push(vec![
            s.namespace.clone(),
            st.map_or_else(|| s.inventory.clone(), |st| st.app.clone()),
            ready.map_or("Unknown".to_owned(), |c| c.status.clone()),
            ready.map_or("-".to_owned(), |c| c.reason.clone()),
            revision,
            s.objects.to_string(),
            st.is_some_and(|st| st.suspended).to_string(),
            message,
        ]);
    }
    let skip = usize::from(!with_namespace);
    let cols = lines[0].len();
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            lines
                .iter()
                .map(|l| l[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for l in &lines {
        let mut line = String::new();
        for (c, cell) in l.iter().enumerate().skip(skip) {
            if c + 1 == cols {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<w$}   ", w = widths[c]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
