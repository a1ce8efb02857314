//! The apply: inventory, ordered server-side apply, prune, inventory again, wait.

use std::collections::HashMap;

use futures_util::StreamExt;
use kube::Client;
use tokio::time::Instant;

use crate::api::Kube;
use crate::inventory::{self, Set};
use crate::manifests::Manifests;
use crate::options::ApplyOptions;
use crate::plan::{self, Phase, Planned};
use crate::prune;
use crate::report::{Action, Event, ObjectResult, Progress, Report, WaitResult};
use crate::resolve::Discovery;
use crate::wait;

/// Why an apply did not run (per-object failures are in the [`Report`] instead).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "the app name {app:?} cannot name an inventory: use lowercase letters, digits and '-', at most 48 characters"
    )]
    BadApp { app: String },
    #[error(
        "the render of {app} is empty, which would prune everything the app applied before; allow empty renders to do that"
    )]
    EmptyRender { app: String },
    #[error("cannot read the inventory {name} in namespace {namespace}: {message}")]
    ReadInventory {
        name: String,
        namespace: String,
        message: String,
    },
    #[error(
        "cannot record the objects about to be applied in the inventory {name} in namespace {namespace}: {message}; nothing was applied"
    )]
    WriteInventory {
        name: String,
        namespace: String,
        message: String,
    },
    #[error(
        "the inventory {name} in namespace {namespace} changed since the app was taken (another writer holds it now); nothing was applied"
    )]
    Fenced { name: String, namespace: String },
}

/// Applies renders of one app to one cluster.
#[derive(Clone)]
pub struct Applier {
    pub(crate) client: Client,
    pub(crate) opts: ApplyOptions,
}

impl std::fmt::Debug for Applier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Applier")
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

pub(crate) fn valid_app(app: &str) -> bool {
    !app.is_empty()
        && app.len() <= 48
        && app
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !app.starts_with('-')
        && !app.ends_with('-')
}

impl Applier {
    pub fn new(client: Client, opts: ApplyOptions) -> Self {
        Applier { client, opts }
    }

    pub fn options(&self) -> &ApplyOptions {
        &self.opts
    }

    pub(crate) fn kube<'a>(&'a self, progress: Progress<'a>) -> Kube<'a> {
        Kube {
            client: self.client.clone(),
            retry: &self.opts.retry,
            progress,
        }
    }

    /// Applies a render: records it in the inventory (as the union with the previous one),
    /// applies CRDs, Namespaces, cluster-scoped then namespaced objects, prunes what the previous
    /// inventory lists and the render dropped (only when every object applied), records the new
    /// inventory, then waits if asked. Unchanged objects are not written.
    pub async fn apply(
        &self,
        manifests: Manifests,
        progress: Progress<'_>,
    ) -> Result<Report, Error> {
        let opts = &self.opts;
        if !valid_app(&opts.app) {
            return Err(Error::BadApp {
                app: opts.app.clone(),
            });
        }
        if manifests.is_empty() && !opts.allow_empty {
            return Err(Error::EmptyRender {
                app: opts.app.clone(),
            });
        }
        let kube = self.kube(progress);
        let inv_ns = opts.inventory_namespace.as_str();
        let inv_name = inventory::name(&opts.app);
        let (previous, mut version) = inventory::read_versioned(&kube, inv_ns, &opts.app)
            .await
            .map_err(|e| Error::ReadInventory {
                name: inv_name.clone(),
                namespace: inv_ns.to_owned(),
                message: e.to_string(),
            })?;
        let fenced = || Error::Fenced {
            name: inv_name.clone(),
            namespace: inv_ns.to_owned(),
        };
        if opts.fence.is_some() && opts.fence != version {
            return Err(fenced());
        }
        let mut discovery = Discovery::default();
        let (planned, unresolved) = plan::plan(&kube, &manifests, opts, &mut discovery).await;
        let mut report = Report::default();
        for r in unresolved {
            progress(Event::Object(r.clone()));
            report.objects.push(r);
        }
        let current: Set = planned
            .iter()
            .map(|p| (inventory::key(&p.id), p.id.clone()))
            .collect();

        // The inventory namespace itself, when the render creates it, goes first.
        let (first, rest): (Vec<&Planned>, Vec<&Planned>) = planned
            .iter()
            .partition(|p| p.phase == Phase::Namespaces && p.id.name == opts.inventory_namespace);
        let mut results: HashMap<inventory::Key, Action> = HashMap::new();
        self.apply_group(&kube, &first, &mut report, &mut results)
            .await;

        let mut union = previous.clone();
        union.extend(current.clone());
        if union != previous && !opts.dry_run {
            let expect = opts.fence.as_ref().and(version.as_deref());
            version = inventory::write(
                &kube,
                inv_ns,
                &opts.app,
                &opts.field_manager,
                &union,
                expect,
            )
            .await
            .map_err(|e| {
                if opts.fence.is_some() && e.code() == Some(409) {
                    return fenced();
                }
                Error::WriteInventory {
                    name: inv_name.clone(),
                    namespace: inv_ns.to_owned(),
                    message: e.to_string(),
                }
            })?;
        }
        let stored = union;

        for phase in [
            Phase::Crds,
            Phase::Namespaces,
            Phase::Cluster,
            Phase::Namespaced,
        ] {
            let group: Vec<&Planned> = rest.iter().copied().filter(|p| p.phase == phase).collect();
            self.apply_group(&kube, &group, &mut report, &mut results)
                .await;
            if phase == Phase::Crds && !opts.dry_run {
                let ok: Vec<&Planned> = group
                    .iter()
                    .copied()
                    .filter(|p| !matches!(results.get(&key_of(p)), Some(Action::Failed(_))))
                    .collect();
                let deadline = Instant::now() + opts.crd_timeout;
                let waits = wait::wait_all(&kube, &ok, deadline).await;
                report
                    .waits
                    .extend(waits.into_iter().filter(|w| w.blocked.is_some()));
            }
        }

        let failures = report.count(&Action::Failed(String::new()));
        let final_set = if failures > 0 {
            report.prune_skipped = Some(format!(
                "{failures} object(s) failed to apply; nothing was pruned"
            ));
            stored.clone()
        } else if !opts.prune {
            // The inventory keeps what the render dropped, so pruning can catch up once it is on.
            report.prune_skipped = Some("pruning is off".to_owned());
            stored.clone()
        } else if opts.fence.is_some()
            && !opts.dry_run
            && inventory::read_versioned(&kube, inv_ns, &opts.app)
                .await
                .map(|(_, v)| v)
                .ok()
                != Some(version.clone())
        {
            // Another writer took the app while this apply ran: it prunes, not this one.
            report.prune_skipped = Some("the app was taken over; nothing was pruned".to_owned());
            report.errors.push(fenced().to_string());
            report.fenced = true;
            return Ok(report);
        } else {
            let pruned = prune::prune(&kube, opts, &mut discovery, &previous, &current).await;
            report.objects.extend(pruned.results);
            let mut next = current.clone();
            next.extend(pruned.keep);
            next
        };
        if opts.dry_run {
            report
                .prune_skipped
                .get_or_insert_with(|| "dry run: prunes only reported".to_owned());
        } else if final_set != stored {
            let expect = opts.fence.as_ref().and(version.as_deref());
            match inventory::write(
                &kube,
                inv_ns,
                &opts.app,
                &opts.field_manager,
                &final_set,
                expect,
            )
            .await
            {
                Ok(v) => version = v,
                Err(e) => {
                    version = None;
                    report.errors.push(format!(
                        "cannot update the inventory {inv_name} in namespace {inv_ns}: {e}; the next apply prunes what it still lists"
                    ));
                }
            }
        }
        report.inventory_version = version;

        if let Some(timeout) = opts.wait
            && !opts.dry_run
        {
            let deadline = Instant::now() + timeout;
            let targets: Vec<&Planned> = planned
                .iter()
                .filter(|p| wait::waitable(&p.id.group, &p.id.kind))
                .filter(|p| !matches!(results.get(&key_of(p)), Some(Action::Failed(_))))
                .collect();
            let waits: Vec<WaitResult> = wait::wait_all(&kube, &targets, deadline).await;
            report
                .waits
                .retain(|w| w.blocked.is_some() && !waits.iter().any(|x| x.id == w.id));
            report.waits.extend(waits);
        }
        Ok(report)
    }

    /// Applies one group, several requests at once, reporting in the render's order.
    async fn apply_group(
        &self,
        kube: &Kube<'_>,
        group: &[&Planned],
        report: &mut Report,
        results: &mut HashMap<inventory::Key, Action>,
    ) {
        if group.is_empty() {
            return;
        }
        let live = plan::live_objects(kube, group, self.opts.concurrency).await;
        let opts = &self.opts;
        // Futures collected first: a lazy `map` over borrowed items makes the whole apply
        // future lose `Send` (a higher-ranked closure lifetime), and the host spawns it.
        let futures: Vec<_> = group
            .iter()
            .map(|p| {
                let known = live
                    .get(&(p.res.clone(), p.id.namespace.clone()))
                    .and_then(Option::as_ref)
                    .map_or(plan::Live::Unknown, |objs| {
                        plan::Live::Known(objs.get(&p.id.name).cloned())
                    });
                let p: &Planned = p;
                async move { (p, plan::apply_one(kube, opts, p, known).await) }
            })
            .collect();
        let mut stream = futures_util::stream::iter(futures).buffered(opts.concurrency.max(1));
        while let Some((p, action)) = stream.next().await {
            results.insert(key_of(p), action.clone());
            let result = ObjectResult {
                id: p.id.clone(),
                action,
            };
            (kube.progress)(Event::Object(result.clone()));
            report.objects.push(result);
        }
    }
}

fn key_of(p: &Planned) -> inventory::Key {
    inventory::key(&p.id)
}
