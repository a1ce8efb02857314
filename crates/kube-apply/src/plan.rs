//! Resolving a render into ordered apply groups, and applying one object.

use std::collections::HashMap;

use futures_util::StreamExt;

use kiln_resource::ResourceId;
use kube::api::PatchParams;
use serde_json::{Value, json};

use crate::api::{CallError, Kube};
use crate::compare;
use crate::manifests::Manifests;
use crate::options::ApplyOptions;
use crate::report::{Action, ObjectResult};
use crate::resolve::{self, ApiRes, Discovery};

/// The annotation naming the inventory an object belongs to.
pub const INVENTORY_ANNOTATION: &str = "kiln.dev/inventory-id";
/// The annotation that keeps an object from being pruned (value `disabled`).
pub const PRUNE_ANNOTATION: &str = "kiln.dev/prune";

/// Apply groups, in order; pruning goes the other way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Phase {
    Crds,
    Namespaces,
    Cluster,
    Namespaced,
}

/// One object ready to apply.
#[derive(Debug, Clone)]
pub(crate) struct Planned {
    /// Its id, with the namespace it really goes to (none for cluster-scoped kinds).
    pub(crate) id: ResourceId,
    pub(crate) res: ApiRes,
    /// The manifest as sent: namespace set, inventory annotation added.
    pub(crate) body: Value,
    pub(crate) phase: Phase,
    /// Whether the render itself creates what it needs (its namespace or its CRD), so that a dry
    /// run cannot check it before they exist.
    pub(crate) needs_render: bool,
}

pub(crate) fn phase_of(res: &ApiRes) -> Phase {
    if resolve::is_crd(&res.group, &res.kind) {
        Phase::Crds
    } else if resolve::is_namespace(&res.group, &res.kind) {
        Phase::Namespaces
    } else if res.namespaced {
        Phase::Namespaced
    } else {
        Phase::Cluster
    }
}

/// Resolves every manifest; those whose kind is not served fail here.
pub(crate) async fn plan(
    kube: &Kube<'_>,
    manifests: &Manifests,
    opts: &ApplyOptions,
    discovery: &mut Discovery,
) -> (Vec<Planned>, Vec<ObjectResult>) {
    for (id, obj) in &manifests.objects {
        if resolve::is_crd(&id.group, &id.kind) {
            discovery.pending.extend(resolve::from_crd(obj));
        }
    }
    let default_ns = kube.client.default_namespace().to_owned();
    let mut planned = Vec::new();
    let mut failed = Vec::new();
    for (id, obj) in &manifests.objects {
        let res = match discovery
            .resolve(kube, &id.group, &id.version, &id.kind)
            .await
        {
            Ok(Some(res)) => res,
            Ok(None) => {
                let why = format!(
                    "the cluster serves no kind {} in {}",
                    id.kind,
                    id.api_version()
                );
                failed.push(ObjectResult {
                    id: id.clone(),
                    action: Action::Failed(why),
                });
                continue;
            }
            Err(e) => {
                failed.push(ObjectResult {
                    id: id.clone(),
                    action: Action::Failed(format!(
                        "discovery of {} failed: {e}",
                        id.api_version()
                    )),
                });
                continue;
            }
        };
        let mut id = id.clone();
        let mut body = obj.clone();
        let meta = body
            .as_object_mut()
            .expect("manifests are mappings")
            .entry("metadata")
            .or_insert_with(|| json!({}));
        let meta = meta
            .as_object_mut()
            .expect("metadata.name was found, so it is a mapping");
        if res.namespaced {
            let ns = id.namespace.clone().unwrap_or_else(|| default_ns.clone());
            meta.insert("namespace".to_owned(), Value::String(ns.clone()));
            id.namespace = Some(ns);
        } else {
            meta.remove("namespace");
            id.namespace = None;
        }
        let annotations = meta.entry("annotations").or_insert_with(|| json!({}));
        if !annotations.is_object() {
            *annotations = json!({});
        }
        annotations
            .as_object_mut()
            .expect("made a mapping above")
            .insert(
                INVENTORY_ANNOTATION.to_owned(),
                Value::String(opts.inventory_id()),
            );
        planned.push(Planned {
            phase: phase_of(&res),
            id,
            res,
            body,
            needs_render: false,
        });
    }
    for i in 0..planned.len() {
        planned[i].needs_render = created_by_render(&planned[i], &planned);
    }
    (planned, failed)
}

/// Whether the render itself creates what `p` needs: its namespace or its CRD.
fn created_by_render(p: &Planned, all: &[Planned]) -> bool {
    let text = |o: &Planned, ptr: &str| {
        o.body
            .pointer(ptr)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    all.iter().any(|o| {
        (resolve::is_namespace(&o.id.group, &o.id.kind)
            && Some(&o.id.name) == p.id.namespace.as_ref())
            || (resolve::is_crd(&o.id.group, &o.id.kind)
                && text(o, "/spec/group").as_deref() == Some(p.id.group.as_str())
                && text(o, "/spec/names/kind").as_deref() == Some(p.id.kind.as_str()))
    })
}

/// Live objects by resource and namespace, then name; `None` where the list failed.
pub(crate) type LiveMap = HashMap<(ApiRes, Option<String>), Option<HashMap<String, Value>>>;

/// The live objects of a group, by (resource, namespace, name); `None` where the list failed.
pub(crate) async fn live_objects(
    kube: &Kube<'_>,
    group: &[&Planned],
    concurrency: usize,
) -> LiveMap {
    let mut wanted: Vec<(ApiRes, Option<String>)> = Vec::new();
    for p in group {
        let k = (p.res.clone(), p.id.namespace.clone());
        if !wanted.contains(&k) {
            wanted.push(k);
        }
    }
    let lists: Vec<_> = wanted
        .into_iter()
        .map(|(res, ns)| async move {
            let listed = kube.list(&res, ns.as_deref()).await.ok().map(|items| {
                items
                    .into_iter()
                    .filter_map(|o| {
                        let name = o.pointer("/metadata/name")?.as_str()?.to_owned();
                        Some((name, o))
                    })
                    .collect()
            });
            ((res, ns), listed)
        })
        .collect();
    futures_util::stream::iter(lists)
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await
}

/// The annotation value of an object, if any.
pub(crate) fn annotation<'a>(obj: &'a Value, name: &str) -> Option<&'a str> {
    obj.pointer("/metadata/annotations")
        .and_then(|a| a.get(name))
        .and_then(Value::as_str)
}

/// Why applying over `live` is refused: it belongs to another app's inventory (and adoption
/// is off).
pub(crate) fn ownership_conflict(live: &Value, opts: &ApplyOptions) -> Option<String> {
    let ours = opts.inventory_id();
    match annotation(live, INVENTORY_ANNOTATION) {
        Some(owner) if owner != ours && !opts.adopt => Some(format!(
            "conflict: the object belongs to the inventory {owner}; allow adoption to move it to {ours}"
        )),
        _ => None,
    }
}

/// What is known about the live object before applying.
pub(crate) enum Live {
    /// A list told: the object, or `None` when it does not exist.
    Known(Option<Value>),
    /// The list failed: read it.
    Unknown,
}

/// Applies one object unless it is unchanged or owned by another app.
pub(crate) async fn apply_one(
    kube: &Kube<'_>,
    opts: &ApplyOptions,
    p: &Planned,
    live: Live,
) -> Action {
    let ns = p.id.namespace.as_deref();
    let live = match live {
        Live::Known(found) => found,
        Live::Unknown => match kube.get(&p.res, ns, &p.id.name).await {
            Ok(found) => found,
            Err(e) => return Action::Failed(format!("cannot read the live object: {e}")),
        },
    };
    if let Some(live) = &live {
        if let Some(why) = ownership_conflict(live, opts) {
            return Action::Failed(why);
        }
        if compare::unchanged(&p.body, live, &opts.field_manager) {
            return Action::Unchanged;
        }
    }
    let mut params = PatchParams::apply(&opts.field_manager);
    params.force = opts.force_conflicts;
    if let Some(live) = &live {
        params.dry_run = true;
        match kube.apply(&p.res, ns, &p.id.name, &p.body, &params).await {
            Ok(merged) if same_object(&merged, live) => return Action::Unchanged,
            Ok(_) => {}
            Err(e) => return failed(&e),
        }
        params.dry_run = false;
    }
    params.dry_run = opts.dry_run;
    match kube.apply(&p.res, ns, &p.id.name, &p.body, &params).await {
        Ok(_) if live.is_some() => Action::Configured,
        Ok(_) => Action::Created,
        // a dry run of an object in a namespace (or of a CRD) that the render creates
        Err(e) if opts.dry_run && live.is_none() && p.needs_render && e.code() == Some(404) => {
            Action::Created
        }
        Err(e) => failed(&e),
    }
}

fn failed(e: &CallError) -> Action {
    Action::Failed(e.to_string())
}

/// Whether a dry-run result equals the live object (ignoring `resourceVersion` and the times in
/// `managedFields`).
pub(crate) fn same_object(merged: &Value, live: &Value) -> bool {
    normalize(merged) == normalize(live)
}

fn normalize(obj: &Value) -> Value {
    let mut obj = obj.clone();
    if let Some(Value::Object(meta)) = obj.get_mut("metadata") {
        meta.remove("resourceVersion");
        if let Some(Value::Array(entries)) = meta.get_mut("managedFields") {
            for e in entries {
                if let Some(e) = e.as_object_mut() {
                    e.remove("time");
                }
            }
        }
    }
    obj
}
