//! Reading and writing app statuses on the inventory `ConfigMaps`
//! (`kiln-inventory-<app>`, the same objects `kiln-kube` keeps the
//! inventory in; the agent owns only the `status` key and its annotations,
//! as field manager [`FIELD_MANAGER`]).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams};
use serde_json::json;

use super::status::AppStatus;

/// The server-side apply field manager of status writes.
pub const FIELD_MANAGER: &str = "kiln-agent";
/// The label every inventory carries; its value is the app's inventory name.
pub const INVENTORY_LABEL: &str = "kiln.dev/inventory";
/// Annotation: set it (to any new value, e.g. a time) to reconcile the app now.
pub const REQUESTED_AT: &str = "kiln.dev/requestedAt";
/// Annotation: `disabled` suspends the app.
pub const RECONCILE: &str = "kiln.dev/reconcile";
/// Annotation written by the agent: `True` or `False`, as `Ready`.
pub const READY: &str = "kiln.dev/ready";
/// Annotation written by the agent: the last applied revision.
pub const REVISION: &str = "kiln.dev/revision";
/// The data key holding the status record.
pub const STATUS_KEY: &str = "status";

/// An inventory `ConfigMap` as the agent sees it.
#[derive(Debug, Clone, Default)]
pub struct Stored {
    /// The namespace.
    pub namespace: String,
    /// The inventory name (`kiln.dev/inventory` label).
    pub inventory: String,
    /// The status record, when there is one this kiln can read.
    pub status: Option<AppStatus>,
    /// The annotations.
    pub annotations: BTreeMap<String, String>,
    /// How many objects the inventory lists.
    pub objects: usize,
}

impl Stored {
    fn of(cm: &ConfigMap) -> Option<Self> {
        let inventory = cm.metadata.labels.as_ref()?.get(INVENTORY_LABEL)?.clone();
        let data = cm.data.clone().unwrap_or_default();
        Some(Stored {
            namespace: cm.metadata.namespace.clone().unwrap_or_default(),
            inventory,
            status: data.get(STATUS_KEY).and_then(|s| AppStatus::from_json(s)),
            annotations: cm.metadata.annotations.clone().unwrap_or_default(),
            objects: data
                .get("objects")
                .map_or(0, |o| o.lines().filter(|l| !l.trim().is_empty()).count()),
        })
    }

    /// Whether `kiln.dev/reconcile: disabled` suspends the app.
    pub fn disabled(&self) -> bool {
        self.annotations.get(RECONCILE).map(String::as_str) == Some("disabled")
    }
}

/// Every inventory in `namespace` (all namespaces when `None`).
pub async fn list(client: &kube::Client, namespace: Option<&str>) -> kube::Result<Vec<Stored>> {
    let api: Api<ConfigMap> = match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let list = api
        .list(&ListParams::default().labels(INVENTORY_LABEL))
        .await?;
    Ok(list.items.iter().filter_map(Stored::of).collect())
}

/// One app's inventory, if it exists.
pub async fn read(
    client: &kube::Client,
    namespace: &str,
    inventory: &str,
) -> kube::Result<Option<Stored>> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    Ok(api
        .get_opt(&kiln_kube::inventory::name(inventory))
        .await?
        .as_ref()
        .and_then(Stored::of))
}

/// Stores `status` on the inventory of `inventory` (creating the `ConfigMap`
/// when the app never applied), with the `kiln.dev/ready` and
/// `kiln.dev/revision` annotations.
pub async fn write(
    client: &kube::Client,
    namespace: &str,
    inventory: &str,
    status: &AppStatus,
) -> kube::Result<()> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let name = kiln_kube::inventory::name(inventory);
    let ready = status
        .condition(super::status::condition::READY)
        .map_or("Unknown", |c| c.status.as_str());
    let body = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "kiln", INVENTORY_LABEL: inventory},
            "annotations": {
                READY: ready,
                REVISION: status.last_applied_revision.clone().unwrap_or_default(),
            },
        },
        "data": {STATUS_KEY: status.to_json()},
    });
    api.patch(
        &name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&body),
    )
    .await
    .map(|_| ())
}

/// Records a Kubernetes Event about the inventory when `Ready` changed
/// (Normal on success, Warning otherwise); a failure is only logged.
pub async fn event(
    client: &kube::Client,
    namespace: &str,
    inventory: &str,
    ready: &super::status::Condition,
    revision: Option<&str>,
) {
    use kube::api::{ApiResource, DynamicObject, PostParams};
    let res = ApiResource::erase::<k8s_openapi::api::core::v1::Event>(&());
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &res);
    let name = kiln_kube::inventory::name(inventory);
    let kind = if ready.status == "True" {
        "Normal"
    } else {
        "Warning"
    };
    let body = json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "generateName": format!("{name}."),
            "namespace": namespace,
            "annotations": {REVISION: revision.unwrap_or_default()},
        },
        "involvedObject": {"apiVersion": "v1", "kind": "ConfigMap", "name": name, "namespace": namespace},
        "reason": ready.reason,
        "message": ready.message,
        "type": kind,
        "source": {"component": "kiln-agent"},
        "firstTimestamp": ready.last_transition_time,
        "lastTimestamp": ready.last_transition_time,
        "count": 1,
    });
    let Ok(obj) = serde_json::from_value::<DynamicObject>(body) else {
        return;
    };
    if let Err(e) = api.create(&PostParams::default(), &obj).await {
        tracing::debug!(error = %e, "cannot record an event");
    }
}
