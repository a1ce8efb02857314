//! The `/scale` subresource of deployments, statefulsets and replicasets: an `autoscaling/v1`
//! `Scale` view of `spec.replicas`, as `kubectl scale` and autoscalers use it.

use serde_json::{Value, json};

use crate::api::{Reply, Request, State};
use crate::discovery::ResourceType;
use crate::status::ApiError;
use crate::{patch, ssa, write};

/// Whether the type has a `/scale` subresource.
pub(crate) fn has_scale(rt: &ResourceType) -> bool {
    rt.builtin
        && rt.group == "apps"
        && matches!(
            rt.plural.as_str(),
            "deployments" | "statefulsets" | "replicasets"
        )
}

/// The `Scale` view of a workload.
fn to_scale(obj: &Value) -> Value {
    let meta = &obj["metadata"];
    let selector: Vec<String> = obj["spec"]["selector"]["matchLabels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"],
            "resourceVersion": meta["resourceVersion"], "creationTimestamp": meta["creationTimestamp"],
        },
        "spec": {"replicas": obj["spec"]["replicas"].as_u64().unwrap_or(1)},
        "status": {"replicas": obj["status"]["replicas"].as_u64().unwrap_or(0), "selector": selector.join(",")},
    })
}

/// Serves get, update and (merge, JSON or strategic) patch on `/scale`.
pub(crate) fn handle(
    state: &mut State,
    rt: &ResourceType,
    req: &Request,
) -> Result<Reply, ApiError> {
    let name = req.name.clone().unwrap_or_default();
    let key = State::key(rt, req, &name);
    let old = state
        .store
        .get(&key)
        .cloned()
        .ok_or_else(|| ApiError::not_found(rt, &name))?;
    let current = to_scale(&old);
    let wanted = match (
        req.verb(),
        req.content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim(),
    ) {
        ("get", _) => return Ok((200, current)),
        ("update", _) => write::parse_body(req)?,
        ("patch", "application/merge-patch+json" | "application/strategic-merge-patch+json") => {
            patch::merge_patch(&current, &write::parse_body(req)?)
        }
        ("patch", "application/json-patch+json") => {
            patch::json_patch(&current, &write::parse_body(req)?)
                .map_err(|e| ApiError::new(422, "Invalid", e.to_string()))?
        }
        ("patch" | "apply", other) => {
            return Err(ApiError::new(
                415,
                "UnsupportedMediaType",
                format!(
                    "the emulator's /scale does not take {other} bodies: use a merge, strategic merge or JSON patch, or PUT"
                ),
            ));
        }
        (verb, _) => {
            return Err(ApiError::new(
                405,
                "MethodNotAllowed",
                format!("/scale does not allow {verb}"),
            ));
        }
    };
    let wanted_rv = wanted["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_default();
    if !wanted_rv.is_empty() && Some(wanted_rv) != old["metadata"]["resourceVersion"].as_str() {
        return Err(ApiError::stale(rt, &name));
    }
    let Some(replicas) = wanted["spec"]["replicas"].as_u64() else {
        return Err(ApiError::invalid(
            rt,
            &name,
            "spec.replicas",
            "Invalid value: must be a non-negative integer",
        ));
    };
    let mut new = old.clone();
    new["spec"]["replicas"] = json!(replicas);
    let now = crate::clock::now_rfc3339();
    let manager = write::manager(req);
    let av = rt.api_version();
    let w = write::writer(rt, req, &manager, &now, &av, None);
    ssa::track_update(&w, Some(&old), &mut new);
    let (code, stored) = write::store_update(state, rt, req, &old, new)?;
    Ok((code, to_scale(&stored)))
}
