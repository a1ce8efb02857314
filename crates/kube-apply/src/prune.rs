//! Deleting what an app's previous inventory lists and its render no longer has.

use kiln_resource::ResourceId;

use crate::api::Kube;
use crate::inventory::{self, Set};
use crate::options::ApplyOptions;
use crate::plan::{self, INVENTORY_ANNOTATION, PRUNE_ANNOTATION, Phase};
use crate::report::{Action, Event, ObjectResult};
use crate::resolve::Discovery;

/// What pruning did, and what must stay in the inventory (objects whose deletion failed).
pub(crate) struct Pruned {
    pub(crate) results: Vec<ObjectResult>,
    pub(crate) keep: Set,
}

/// Prunes `previous` minus `current`, in reverse apply order. Only objects that carry this
/// app's inventory annotation and do not say `kiln.dev/prune: disabled` are deleted.
pub(crate) async fn prune(
    kube: &Kube<'_>,
    opts: &ApplyOptions,
    discovery: &mut Discovery,
    previous: &Set,
    current: &Set,
) -> Pruned {
    let mut out = Pruned {
        results: Vec::new(),
        keep: Set::new(),
    };
    let mut candidates = Vec::new();
    for (k, id) in previous {
        if current.contains_key(k) {
            continue;
        }
        let res = match discovery
            .resolve_any_version(kube, &id.group, &id.version, &id.kind)
            .await
        {
            Ok(Some(res)) => res,
            Ok(None) => {
                // Nothing serves the kind any more (its CRD is gone): nothing to delete.
                continue;
            }
            Err(e) => {
                out.fail(id, format!("discovery failed: {e}"), kube);
                continue;
            }
        };
        candidates.push((plan::phase_of(&res), id, res));
    }
    // namespaced objects first, CRDs last; then by name for a stable report
    candidates.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    // Deleting a namespace deletes everything in it: not while another app has objects there.
    let others = if candidates.iter().any(|c| c.0 == Phase::Namespaces) {
        match inventory::others(kube, &opts.inventory_id()).await {
            Ok(others) => Some(others),
            Err(e) => {
                for (phase, id, _) in &candidates {
                    if *phase == Phase::Namespaces {
                        out.fail(id, format!("cannot read the other inventories: {e}"), kube);
                    }
                }
                None
            }
        }
    } else {
        Some(Vec::new())
    };
    for (phase, id, res) in candidates {
        if phase == Phase::Namespaces {
            let Some(others) = &others else {
                continue;
            };
            if let Some(other) = namespace_user(others, &id.name) {
                // still this app's: listed again, so a later run prunes it once it is empty
                out.keep.insert(inventory::key(id), id.clone());
                out.push(
                    id,
                    Action::Kept(format!(
                        "the namespace holds objects of the inventory {other}"
                    )),
                    kube,
                );
                continue;
            }
        }
        let ns = id.namespace.as_deref();
        let live = match kube.get(&res, ns, &id.name).await {
            Ok(Some(live)) => live,
            Ok(None) => continue,
            Err(e) => {
                out.fail(id, format!("cannot read the live object: {e}"), kube);
                continue;
            }
        };
        let kept = verdict(&live, opts);
        let action = if let Some(why) = kept {
            Action::Kept(why)
        } else if opts.dry_run {
            Action::Pruned
        } else {
            let uid = live
                .pointer("/metadata/uid")
                .and_then(serde_json::Value::as_str);
            match kube.delete(&res, ns, &id.name, uid, opts.propagation).await {
                Ok(()) => Action::Pruned,
                Err(e) => {
                    out.fail(id, e.to_string(), kube);
                    continue;
                }
            }
        };
        out.push(id, action, kube);
    }
    out
}

impl Pruned {
    fn push(&mut self, id: &ResourceId, action: Action, kube: &Kube<'_>) {
        let result = ObjectResult {
            id: id.clone(),
            action,
        };
        (kube.progress)(Event::Object(result.clone()));
        self.results.push(result);
    }

    fn fail(&mut self, id: &ResourceId, why: String, kube: &Kube<'_>) {
        self.keep.insert(inventory::key(id), id.clone());
        self.push(id, Action::Failed(why), kube);
    }
}

/// Why a live object listed in the inventory must not be pruned, if it must not.
pub(crate) fn verdict(live: &serde_json::Value, opts: &ApplyOptions) -> Option<String> {
    let ours = opts.inventory_id();
    if plan::annotation(live, PRUNE_ANNOTATION) == Some("disabled") {
        return Some(format!("{PRUNE_ANNOTATION}: disabled"));
    }
    match plan::annotation(live, INVENTORY_ANNOTATION) {
        Some(owner) if owner == ours => None,
        Some(owner) => Some(format!("owned by the inventory {owner}")),
        None => Some(format!("not marked with {INVENTORY_ANNOTATION}: {ours}")),
    }
}

/// Another inventory that lists objects in namespace `ns` (or is stored there), if any.
pub(crate) fn namespace_user<'a>(others: &'a [(String, Set)], ns: &str) -> Option<&'a str> {
    others
        .iter()
        .find(|(other, set)| {
            other.split('/').next() == Some(ns)
                || set.values().any(|o| o.namespace.as_deref() == Some(ns))
        })
        .map(|(other, _)| other.as_str())
}
