//! Diff against the live cluster: a server-side dry-run apply per object.

use std::fmt;

use futures_util::StreamExt;
use kiln_resource::ResourceId;
use kube::api::PatchParams;
use serde_json::{Map, Value};

use crate::apply::{self, Applier};
use crate::inventory::{self, Set};
use crate::manifests::Manifests;
use crate::plan::{self, Planned};
use crate::prune::{namespace_user, verdict};
use crate::report::{Progress, no_progress};
use crate::resolve::Discovery;

/// Why a diff did not run (per-object failures are in the [`DiffReport`]).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "the app name {app:?} cannot name an inventory: use lowercase letters, digits and '-', at most 48 characters"
    )]
    BadApp { app: String },
    #[error("cannot read the inventory {name} in namespace {namespace}: {message}")]
    ReadInventory {
        name: String,
        namespace: String,
        message: String,
    },
}

/// What an apply would do to one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Create,
    Update,
    /// Pruned: the previous inventory lists it and the render does not.
    Delete,
    Unchanged,
    /// The dry run failed: the server's message.
    Failed(String),
}

/// One object's diff.
#[derive(Debug, Clone)]
pub struct ObjectDiff {
    pub id: ResourceId,
    pub change: Change,
    /// A unified diff of the live and the would-be object as YAML (empty when unchanged or
    /// failed); Secret values are masked, `managedFields`, `status` and server-set metadata left out.
    pub diff: String,
}

/// The diff of a whole render.
#[derive(Debug, Clone, Default)]
pub struct DiffReport {
    pub objects: Vec<ObjectDiff>,
}

impl DiffReport {
    /// Whether any object would change (exit code 1 of `kiln diff`).
    pub fn differs(&self) -> bool {
        self.objects
            .iter()
            .any(|o| matches!(o.change, Change::Create | Change::Update | Change::Delete))
    }

    /// Whether any dry run failed (exit code 2 of `kiln diff`).
    pub fn failed(&self) -> bool {
        self.objects
            .iter()
            .any(|o| matches!(o.change, Change::Failed(_)))
    }
}

impl fmt::Display for DiffReport {
    /// All diffs, then one `error: id: message` line per failed object.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for o in &self.objects {
            f.write_str(&o.diff)?;
        }
        for o in &self.objects {
            if let Change::Failed(why) = &o.change {
                writeln!(f, "error: {}: {why}", o.id)?;
            }
        }
        Ok(())
    }
}

/// Metadata the server sets, left out of diffs.
const SERVER_META: [&str; 7] = [
    "managedFields",
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "selfLink",
    "deletionGracePeriodSeconds",
];

fn clean(obj: &Value) -> Value {
    let mut obj = obj.clone();
    if let Some(map) = obj.as_object_mut() {
        map.remove("status");
        if let Some(Value::Object(meta)) = map.get_mut("metadata") {
            for k in SERVER_META {
                meta.remove(k);
            }
        }
    }
    obj
}

/// Replaces Secret values by `***`, marking the ones that change.
fn mask(before: &mut Value, after: &mut Value) {
    for field in ["data", "stringData"] {
        let b_map = before
            .get(field)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let a_map = after
            .get(field)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let masked = |own: &Map<String, Value>, other: &Map<String, Value>, tag: &str| {
            own.iter()
                .map(|(k, v)| {
                    let text = match other.get(k) {
                        Some(o) if o != v => format!("*** ({tag})"),
                        _ => "***".to_owned(),
                    };
                    (k.clone(), Value::String(text))
                })
                .collect::<Map<String, Value>>()
        };
        let (mb, ma) = (
            masked(&b_map, &a_map, "before"),
            masked(&a_map, &b_map, "after"),
        );
        if let Some(obj) = before.as_object_mut().filter(|o| o.contains_key(field)) {
            obj.insert(field.to_owned(), Value::Object(mb));
        }
        if let Some(obj) = after.as_object_mut().filter(|o| o.contains_key(field)) {
            obj.insert(field.to_owned(), Value::Object(ma));
        }
    }
}

/// The change and unified diff between a live object (if any) and the would-be one (if any).
pub(crate) fn render_diff(
    id: &ResourceId,
    live: Option<&Value>,
    merged: Option<&Value>,
) -> (Change, String) {
    let mut before = live.map_or(Value::Null, clean);
    let mut after = merged.map_or(Value::Null, clean);
    if id.group.is_empty() && id.kind == "Secret" {
        mask(&mut before, &mut after);
    }
    let change = match (live, merged) {
        (None, Some(_)) => Change::Create,
        (Some(_), None) => Change::Delete,
        _ if before == after => return (Change::Unchanged, String::new()),
        _ => Change::Update,
    };
    let text = |v: &Value| {
        if v.is_null() {
            String::new()
        } else {
            kiln_resource::yaml::to_string(v)
        }
    };
    let (a, b) = (text(&before), text(&after));
    let diff = similar::TextDiff::from_lines(&a, &b)
        .unified_diff()
        .context_radius(3)
        .header(&format!("live/{id}"), &format!("merged/{id}"))
        .to_string();
    (change, diff)
}

impl Applier {
    /// What an apply of this render would change, object by object, plus the prunes; nothing
    /// is written (each object is a server-side dry-run apply).
    pub async fn diff(&self, manifests: Manifests) -> Result<DiffReport, Error> {
        let opts = &self.opts;
        if !apply::valid_app(&opts.app) {
            return Err(Error::BadApp {
                app: opts.app.clone(),
            });
        }
        let progress: Progress<'_> = &no_progress;
        let kube = self.kube(progress);
        let inv_ns = opts.inventory_namespace.as_str();
        let previous = inventory::read(&kube, inv_ns, &opts.app)
            .await
            .map_err(|e| Error::ReadInventory {
                name: inventory::name(&opts.app),
                namespace: inv_ns.to_owned(),
                message: e.to_string(),
            })?;
        let mut discovery = Discovery::default();
        let (planned, unresolved) = plan::plan(&kube, &manifests, opts, &mut discovery).await;
        let mut report = DiffReport::default();
        for r in unresolved {
            let why = match r.action {
                crate::report::Action::Failed(why) => why,
                other => other.to_string(),
            };
            report.objects.push(ObjectDiff {
                id: r.id,
                change: Change::Failed(why),
                diff: String::new(),
            });
        }
        let kube_ref = &kube;
        // collected first so that the diff future stays `Send` (see `Applier::apply_group`)
        let futures: Vec<_> = planned.iter().map(|p| self.diff_one(kube_ref, p)).collect();
        let diffs: Vec<ObjectDiff> = futures_util::stream::iter(futures)
            .buffered(opts.concurrency.max(1))
            .collect()
            .await;
        report.objects.extend(diffs);

        let current: Set = planned
            .iter()
            .map(|p| (inventory::key(&p.id), p.id.clone()))
            .collect();
        let mut others = None;
        for (k, id) in &previous {
            if current.contains_key(k) {
                continue;
            }
            let Ok(Some(res)) = discovery
                .resolve_any_version(&kube, &id.group, &id.version, &id.kind)
                .await
            else {
                continue;
            };
            if crate::resolve::is_namespace(&id.group, &id.kind) {
                if others.is_none() {
                    others = Some(inventory::others(&kube, &opts.inventory_id()).await);
                }
                match others.as_ref().expect("fetched above") {
                    Ok(list) if namespace_user(list, &id.name).is_some() => continue,
                    Ok(_) => {}
                    Err(e) => {
                        report.objects.push(ObjectDiff {
                            id: id.clone(),
                            change: Change::Failed(format!(
                                "cannot read the other inventories: {e}"
                            )),
                            diff: String::new(),
                        });
                        continue;
                    }
                }
            }
            match kube.get(&res, id.namespace.as_deref(), &id.name).await {
                Ok(Some(live)) if verdict(&live, opts).is_none() => {
                    let (change, diff) = render_diff(id, Some(&live), None);
                    report.objects.push(ObjectDiff {
                        id: id.clone(),
                        change,
                        diff,
                    });
                }
                Ok(_) => {}
                Err(e) => report.objects.push(ObjectDiff {
                    id: id.clone(),
                    change: Change::Failed(e.to_string()),
                    diff: String::new(),
                }),
            }
        }
        Ok(report)
    }

    async fn diff_one(&self, kube: &crate::api::Kube<'_>, p: &Planned) -> ObjectDiff {
        let ns = p.id.namespace.as_deref();
        let failed = |why: String| ObjectDiff {
            id: p.id.clone(),
            change: Change::Failed(why),
            diff: String::new(),
        };
        let live = match kube.get(&p.res, ns, &p.id.name).await {
            Ok(live) => live,
            Err(e) => return failed(format!("cannot read the live object: {e}")),
        };
        if let Some(why) = live
            .as_ref()
            .and_then(|l| plan::ownership_conflict(l, &self.opts))
        {
            return failed(why);
        }
        let mut params = PatchParams::apply(&self.opts.field_manager);
        params.force = self.opts.force_conflicts;
        params.dry_run = true;
        let merged = match kube.apply(&p.res, ns, &p.id.name, &p.body, &params).await {
            Ok(merged) => merged,
            // A new object whose namespace or CRD the render creates: the server cannot dry-run
            // it yet, so the manifest stands for the result.
            Err(e) if live.is_none() && e.code() == Some(404) && p.needs_render => p.body.clone(),
            Err(e) => return failed(e.to_string()),
        };
        let (change, diff) = render_diff(&p.id, live.as_ref(), Some(&merged));
        ObjectDiff {
            id: p.id.clone(),
            change,
            diff,
        }
    }
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;
