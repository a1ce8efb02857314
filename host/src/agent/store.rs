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
/// Annotation: the replica that holds the app (empty: released).
pub const OWNER: &str = "kiln.dev/owner";
/// Annotation: how many times the app changed hands (the fencing epoch).
pub const EPOCH: &str = "kiln.dev/epoch";
/// The field manager of [`OWNER`] and [`EPOCH`].
pub const SHARD_MANAGER: &str = "kiln-shard";

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

    /// The replica holding the app (`kiln.dev/owner`; empty when none).
    pub fn owner(&self) -> &str {
        self.annotations.get(OWNER).map_or("", String::as_str)
    }
}

/// The owner and epoch annotations of an inventory `ConfigMap`.
fn holder(cm: &ConfigMap) -> (String, u64) {
    let ann = cm.metadata.annotations.as_ref();
    let get = |k: &str| ann.and_then(|a| a.get(k)).cloned().unwrap_or_default();
    (get(OWNER), get(EPOCH).parse().unwrap_or(0))
}

/// Taking an app before applying it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This replica holds the app at `epoch`; `version` is the inventory's
    /// `resourceVersion` now (the fence for the apply).
    Held {
        /// The inventory `ConfigMap`'s `resourceVersion`.
        version: String,
        /// The epoch.
        epoch: u64,
    },
    /// Another live replica holds it (and has not released it), or the
    /// `ConfigMap` changed while taking it.
    Busy(String),
}

/// Takes the app of `inventory` for `member`, by compare-and-swap on its
/// inventory `ConfigMap`: the app is taken when this replica holds it at
/// `epoch` already, or nobody holds it, or its holder is not among `live`;
/// taking it writes `kiln.dev/owner` and an epoch one higher, conditional
/// on the `resourceVersion` read.
pub async fn claim(
    client: &kube::Client,
    namespace: &str,
    inventory: &str,
    member: &str,
    live: &[String],
    epoch: u64,
) -> kube::Result<Claim> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let name = kiln_kube::inventory::name(inventory);
    let Some(cm) = api.get_opt(&name).await? else {
        let body: ConfigMap = serde_json::from_value(json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "labels": {"app.kubernetes.io/managed-by": "kiln", INVENTORY_LABEL: inventory},
                "annotations": {OWNER: member, EPOCH: "1"},
            },
        }))
        .map_err(kube::Error::SerdeError)?;
        return match api
            .create(
                &kube::api::PostParams {
                    field_manager: Some(SHARD_MANAGER.to_owned()),
                    ..Default::default()
                },
                &body,
            )
            .await
        {
            Ok(cm) => Ok(Claim::Held {
                version: cm.metadata.resource_version.unwrap_or_default(),
                epoch: 1,
            }),
            Err(kube::Error::Api(e)) if e.code == 409 => {
                Ok(Claim::Busy("created by another replica".to_owned()))
            }
            Err(e) => Err(e),
        };
    };
    let version = cm.metadata.resource_version.clone().unwrap_or_default();
    let (owner, current) = holder(&cm);
    if owner == member && current == epoch && epoch > 0 {
        return Ok(Claim::Held { version, epoch });
    }
    if !(owner.is_empty() || owner == member || !live.contains(&owner)) {
        return Ok(Claim::Busy(owner));
    }
    let next = current + 1;
    let body = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "resourceVersion": version,
            "annotations": {OWNER: member, EPOCH: next.to_string()},
        },
    });
    match api
        .patch(
            &name,
            &PatchParams::apply(SHARD_MANAGER).force(),
            &Patch::Apply(&body),
        )
        .await
    {
        Ok(cm) => Ok(Claim::Held {
            version: cm.metadata.resource_version.unwrap_or_default(),
            epoch: next,
        }),
        Err(kube::Error::Api(e)) if e.code == 409 => {
            Ok(Claim::Busy("changed while taking it".to_owned()))
        }
        Err(e) => Err(e),
    }
}

/// Releases the app of `inventory` when `member` holds it at `epoch`
/// (conditional on the `resourceVersion` read), so that its next owner
/// takes it without waiting for this replica's Lease to expire.
pub async fn release(
    client: &kube::Client,
    namespace: &str,
    inventory: &str,
    member: &str,
    epoch: u64,
) -> kube::Result<bool> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let name = kiln_kube::inventory::name(inventory);
    let Some(cm) = api.get_opt(&name).await? else {
        return Ok(false);
    };
    if holder(&cm) != (member.to_owned(), epoch) {
        return Ok(false);
    }
    let body = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "resourceVersion": cm.metadata.resource_version,
            "annotations": {OWNER: "", EPOCH: epoch.to_string()},
        },
    });
    match api
        .patch(
            &name,
            &PatchParams::apply(SHARD_MANAGER).force(),
            &Patch::Apply(&body),
        )
        .await
    {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
        Err(e) => Err(e),
    }
}

/// Who may write an app's status when the agent is sharded.
#[derive(Debug, Clone)]
pub struct Writer {
    /// This replica.
    pub member: String,
    /// The epoch it holds the app at (0: not taken).
    pub epoch: u64,
    /// The live members.
    pub live: Vec<String>,
}

impl Writer {
    fn may(&self, owner: &str, epoch: u64) -> bool {
        if owner == self.member {
            return self.epoch == 0 || epoch == self.epoch;
        }
        owner.is_empty() || !self.live.iter().any(|m| m == owner)
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
/// `kiln.dev/revision` annotations. With a `writer` (sharding), only while
/// the `ConfigMap`'s holder lets it, conditional on the `resourceVersion`
/// read; `false` when another replica holds the app.
pub async fn write(
    client: &kube::Client,
    namespace: &str,
    inventory: &str,
    status: &AppStatus,
    writer: Option<&Writer>,
) -> kube::Result<bool> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let name = kiln_kube::inventory::name(inventory);
    let Some(writer) = writer else {
        return write_once(&api, namespace, inventory, status, None)
            .await
            .map(|()| true);
    };
    for _ in 0..3 {
        let version = match api.get_opt(&name).await? {
            Some(cm) => {
                let (owner, epoch) = holder(&cm);
                if !writer.may(&owner, epoch) {
                    return Ok(false);
                }
                cm.metadata.resource_version
            }
            None => None,
        };
        match write_once(&api, namespace, inventory, status, version).await {
            Ok(()) => return Ok(true),
            // Changed meanwhile (a request annotation, or a new holder): look again.
            Err(kube::Error::Api(e)) if e.code == 409 => {}
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}

async fn write_once(
    api: &Api<ConfigMap>,
    namespace: &str,
    inventory: &str,
    status: &AppStatus,
    version: Option<String>,
) -> kube::Result<()> {
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
    let mut body = body;
    if let Some(v) = version {
        body["metadata"]["resourceVersion"] = serde_json::Value::String(v);
    }
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
