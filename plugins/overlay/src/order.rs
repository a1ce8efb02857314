//! Output order: kustomize's legacy kind order, or first-in first-out.

use crate::kustomization::SortOptions;
use crate::res::{Gvk, Res, ResId};

/// Why sort options are invalid.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("the field 'sortOptions.order' must be one of [fifo, legacy]")]
    Order,
    #[error(
        "the field 'sortOptions.legacySortOptions' is set but the selected sort order is 'fifo', not 'legacy'"
    )]
    FifoWithLegacy,
}

const ORDER_FIRST: &[&str] = &[
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];
const ORDER_LAST: &[&str] = &[
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

fn gvk_key(g: &Gvk) -> String {
    let or = |s: &str, d: &str| {
        if s.is_empty() {
            d.to_owned()
        } else {
            s.to_owned()
        }
    };
    format!(
        "{}_{}_{}",
        or(&g.group, "~G"),
        or(&g.version, "~V"),
        or(&g.kind, "~K")
    )
}

fn id_key(id: &ResId) -> String {
    let ns = if id.namespace.is_empty() {
        "~X"
    } else {
        &id.namespace
    };
    let name = if id.name.is_empty() { "~N" } else { &id.name };
    format!("{}|{ns}|{name}", id.gvk)
}

/// Sorts resources as the options (or kustomize's default, legacy) say.
pub(crate) fn sort(res: &mut [Res], options: Option<&SortOptions>) -> Result<(), Error> {
    let (first, last): (Vec<String>, Vec<String>) = match options {
        None => (
            ORDER_FIRST.iter().map(|s| (*s).to_owned()).collect(),
            ORDER_LAST.iter().map(|s| (*s).to_owned()).collect(),
        ),
        Some(o) => match o.order.as_str() {
            "fifo" if o.legacy_sort_options.is_some() => return Err(Error::FifoWithLegacy),
            "fifo" => return Ok(()),
            "legacy" => match &o.legacy_sort_options {
                Some(l) => (l.order_first.clone(), l.order_last.clone()),
                None => (
                    ORDER_FIRST.iter().map(|s| (*s).to_owned()).collect(),
                    ORDER_LAST.iter().map(|s| (*s).to_owned()).collect(),
                ),
            },
            _ => return Err(Error::Order),
        },
    };
    let rank = |kind: &str| -> i64 {
        let len = i64::try_from(first.len()).unwrap_or(0);
        if let Some(i) = first.iter().position(|k| k == kind) {
            return i64::try_from(i).unwrap_or(0) - len;
        }
        last.iter()
            .position(|k| k == kind)
            .map_or(0, |i| i64::try_from(i).unwrap_or(0) + 1)
    };
    res.sort_by(|a, b| {
        let (ia, ib) = (a.cur_id(), b.cur_id());
        if ia.gvk != ib.gvk {
            let (ra, rb) = (rank(&ia.gvk.kind), rank(&ib.gvk.kind));
            if ra != rb {
                return ra.cmp(&rb);
            }
            let (ka, kb) = (gvk_key(&ia.gvk), gvk_key(&ib.gvk));
            if ia.gvk.kind == "Namespace"
                && ib.gvk.kind == "Namespace"
                && (ia.gvk.group.is_empty() || ib.gvk.group.is_empty())
            {
                return kb.cmp(&ka);
            }
            return ka.cmp(&kb);
        }
        id_key(&ia).cmp(&id_key(&ib))
    });
    Ok(())
}
