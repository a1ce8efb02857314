//! The inventory: a `ConfigMap` per app listing every object the app applied.
//!
//! `kiln-inventory-<app>` in the inventory namespace, labelled `kiln.dev/inventory: <app>`, with
//! one data key `objects`: a line per object, `apiVersion kind namespace name` (`-` for no
//! namespace), sorted.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use kiln_resource::ResourceId;
use kube::api::PatchParams;
use serde_json::{Value, json};

use crate::api::{CallError, Kube};
use crate::resolve::ApiRes;

/// Identity of an object across API versions: group, kind, namespace, name.
pub(crate) type Key = (String, String, Option<String>, String);

/// The inventory's contents, by key.
pub(crate) type Set = BTreeMap<Key, ResourceId>;

pub(crate) fn key(id: &ResourceId) -> Key {
    (
        id.group.clone(),
        id.kind.clone(),
        id.namespace.clone(),
        id.name.clone(),
    )
}

/// The `ConfigMap` name of an app's inventory.
pub fn name(app: &str) -> String {
    format!("kiln-inventory-{app}")
}

/// The `objects` text of a set.
pub(crate) fn encode(set: &Set) -> String {
    let mut out = String::new();
    for id in set.values() {
        let ns = id.namespace.as_deref().unwrap_or("-");
        let _ = writeln!(out, "{} {} {ns} {}", id.api_version(), id.kind, id.name);
    }
    out
}

/// Parses the `objects` text; lines that do not have four fields are skipped.
pub(crate) fn decode(text: &str) -> Set {
    let mut set = Set::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [api_version, kind, ns, name] = fields[..] else {
            continue;
        };
        let (group, version) = api_version
            .rsplit_once('/')
            .map_or(("", api_version), |(g, v)| (g, v));
        let id = ResourceId {
            group: group.to_owned(),
            version: version.to_owned(),
            kind: kind.to_owned(),
            namespace: (ns != "-").then(|| ns.to_owned()),
            name: name.to_owned(),
        };
        set.insert(key(&id), id);
    }
    set
}

/// Reads an app's inventory; empty when there is none yet.
pub(crate) async fn read(kube: &Kube<'_>, ns: &str, app: &str) -> Result<Set, CallError> {
    read_versioned(kube, ns, app).await.map(|(set, _)| set)
}

/// Reads an app's inventory and its `ConfigMap`'s `resourceVersion` (none when there is none).
pub(crate) async fn read_versioned(
    kube: &Kube<'_>,
    ns: &str,
    app: &str,
) -> Result<(Set, Option<String>), CallError> {
    let cm = kube
        .get(&ApiRes::configmaps(), Some(ns), &name(app))
        .await?;
    let set = cm
        .as_ref()
        .and_then(|cm| cm.pointer("/data/objects"))
        .and_then(Value::as_str)
        .map(decode)
        .unwrap_or_default();
    Ok((set, cm.as_ref().and_then(version)))
}

/// An object's `metadata.resourceVersion`.
pub(crate) fn version(obj: &Value) -> Option<String> {
    obj.pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// The label every inventory carries (its value is the app).
pub(crate) const LABEL: &str = "kiln.dev/inventory";

/// Every inventory in the cluster but `ours`, by inventory id (`namespace/app`).
pub(crate) async fn others(kube: &Kube<'_>, ours: &str) -> Result<Vec<(String, Set)>, CallError> {
    let cms = kube
        .list_selected(&ApiRes::configmaps(), None, Some(LABEL))
        .await?;
    Ok(cms
        .iter()
        .filter_map(|cm| {
            let ns = cm.pointer("/metadata/namespace")?.as_str()?;
            let app = cm.pointer("/metadata/labels")?.get(LABEL)?.as_str()?;
            let id = format!("{ns}/{app}");
            let objects = cm
                .pointer("/data/objects")
                .and_then(Value::as_str)
                .unwrap_or("");
            (id != ours).then(|| (id, decode(objects)))
        })
        .collect())
}

/// Stores an app's inventory (a forced server-side apply: kiln owns this object); with
/// `version`, only if the `ConfigMap` still has that `resourceVersion` (else 409). Returns the
/// stored `resourceVersion`.
pub(crate) async fn write(
    kube: &Kube<'_>,
    ns: &str,
    app: &str,
    manager: &str,
    set: &Set,
    version: Option<&str>,
) -> Result<Option<String>, CallError> {
    let name = name(app);
    let mut body = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": ns,
            "labels": {"app.kubernetes.io/managed-by": "kiln", LABEL: app},
        },
        "data": {"objects": encode(set)},
    });
    if let Some(v) = version {
        body["metadata"]["resourceVersion"] = Value::String(v.to_owned());
    }
    let params = PatchParams::apply(manager).force();
    kube.apply(&ApiRes::configmaps(), Some(ns), &name, &body, &params)
        .await
        .map(|stored| self::version(&stored))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_and_decode_round_trip() {
        let mut set = Set::new();
        for text in [
            "apps/v1 Deployment web api",
            "rbac.authorization.k8s.io/v1 ClusterRole - reader",
            "v1 ConfigMap web settings",
        ] {
            let one = decode(text);
            assert_eq!(one.len(), 1, "{text}");
            set.extend(one);
        }
        let text = encode(&set);
        assert_eq!(decode(&text), set);
        assert!(text.contains("rbac.authorization.k8s.io/v1 ClusterRole - reader\n"));
        let cluster = set
            .values()
            .find(|id| id.kind == "ClusterRole")
            .expect("decoded");
        assert_eq!(cluster.namespace, None);
        assert_eq!(cluster.group, "rbac.authorization.k8s.io");
    }

    #[test]
    fn malformed_lines_are_skipped() {
        assert!(decode("garbage\n\nv1 ConfigMap\n").is_empty());
    }
}
