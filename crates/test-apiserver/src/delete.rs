//! Deletes: one object (with propagation to dependents, a namespace's contents, a CRD's
//! custom resources) or a whole selected collection.

use serde_json::{Value, json};

use crate::api::{Reply, Request, State, present};
use crate::clock;
use crate::discovery::ResourceType;
use crate::status::ApiError;
use crate::store::{Key, Propagation};
use crate::write::parse_body;

fn propagation(req: &Request, options: &Value) -> Result<Propagation, ApiError> {
    let policy = req
        .query
        .get("propagationPolicy")
        .map(String::as_str)
        .or_else(|| options["propagationPolicy"].as_str());
    match policy {
        None | Some("Background") => Ok(Propagation::Background),
        Some("Foreground") => Ok(Propagation::Foreground),
        Some("Orphan") => Ok(Propagation::Orphan),
        Some(other) => Err(ApiError::bad_request(format!(
            "unknown propagationPolicy {other:?}: use Background, Foreground or Orphan"
        ))),
    }
}

pub(crate) fn delete(
    state: &mut State,
    rt: &ResourceType,
    req: &Request,
) -> Result<Reply, ApiError> {
    let options = if req.body.is_empty() {
        json!({})
    } else {
        parse_body(req)?
    };
    let dry_run = req.dry_run()
        || options["dryRun"]
            .as_array()
            .is_some_and(|d| d.iter().any(|v| v == "All"));
    let name = req.name.clone().unwrap_or_default();
    let key = State::key(rt, req, &name);
    let obj = state
        .store
        .get(&key)
        .cloned()
        .ok_or_else(|| ApiError::not_found(rt, &name))?;
    let pre = &options["preconditions"];
    if pre["uid"].is_string() && pre["uid"] != obj["metadata"]["uid"] {
        return Err(ApiError::conflict(
            rt,
            &name,
            "Precondition failed: UID in precondition does not match the UID of the object",
        ));
    }
    if pre["resourceVersion"].is_string()
        && pre["resourceVersion"] != obj["metadata"]["resourceVersion"]
    {
        return Err(ApiError::stale(rt, &name));
    }
    let policy = propagation(req, &options)?;
    if dry_run {
        return Ok((200, present(rt, &obj)));
    }
    Ok((
        200,
        present(rt, &delete_key(state, rt, &key, policy).unwrap_or(obj)),
    ))
}

/// Deletes one object with what hangs on it: a namespace's contents, a CRD's custom resources.
fn delete_key(
    state: &mut State,
    rt: &ResourceType,
    key: &Key,
    policy: Propagation,
) -> Option<Value> {
    let now = clock::now_rfc3339();
    if rt.kind == "Namespace" {
        for k in state.store.keys_where(|k, _| k.namespace == key.name) {
            state.store.remove(&k);
        }
    }
    if rt.kind == "CustomResourceDefinition"
        && let Some(crd) = state.store.get(key)
    {
        let group = crd["spec"]["group"].as_str().unwrap_or_default().to_owned();
        let plural = crd["spec"]["names"]["plural"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        for k in state
            .store
            .keys_where(|k, _| k.group == group && k.plural == plural)
        {
            state.store.remove(&k);
        }
    }
    state.store.delete(key, policy, &now)
}

pub(crate) fn delete_collection(
    state: &mut State,
    rt: &ResourceType,
    req: &Request,
) -> Result<Reply, ApiError> {
    let options = if req.body.is_empty() {
        json!({})
    } else {
        parse_body(req)?
    };
    let policy = propagation(req, &options)?;
    let items = state.select(rt, req)?;
    if !req.dry_run() {
        for item in &items {
            let name = item["metadata"]["name"].as_str().unwrap_or_default();
            let key = State::key(rt, req, name);
            delete_key(state, rt, &key, policy);
        }
    }
    Ok((
        200,
        json!({
            "apiVersion": rt.api_version(),
            "kind": format!("{}List", rt.kind),
            "metadata": {"resourceVersion": state.store.resource_version().to_string()},
            "items": items,
        }),
    ))
}
