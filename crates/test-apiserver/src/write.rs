//! Writes: create, update, the patch types and server-side apply, delete.

use serde_json::{Value, json};

use crate::api::{Reply, Request, State, present};
use crate::discovery::ResourceType;
use crate::meta::{fold_string_data, normalize_meta, spec_part, without_times};
use crate::schema::Schema;
use crate::ssa::{self, Writer};
use crate::status::ApiError;
use crate::store::Key;
use crate::{clock, patch};

/// The request body as JSON (YAML accepted too, as the apply content type says).
pub(crate) fn parse_body(req: &Request) -> Result<Value, ApiError> {
    if req.body.is_empty() {
        return Err(ApiError::bad_request("the request body is empty"));
    }
    let text = String::from_utf8_lossy(&req.body);
    serde_json::from_str(&text)
        .or_else(|json_err| kiln_resource::yaml::parse_one(&text, "body").map_err(|_| json_err))
        .map_err(|e| {
            ApiError::bad_request(format!("the body of the request could not be decoded: {e}"))
        })
}

pub(crate) fn manager(req: &Request) -> String {
    if let Some(m) = req.query.get("fieldManager").filter(|m| !m.is_empty()) {
        return m.clone();
    }
    let agent = req.user_agent.split('/').next().unwrap_or_default();
    if agent.is_empty() {
        "unknown".to_owned()
    } else {
        agent.to_owned()
    }
}

pub(crate) fn writer<'a>(
    rt: &'a ResourceType,
    req: &'a Request,
    manager: &'a str,
    now: &'a str,
    api_version: &'a str,
    crd: Option<&'a Value>,
) -> Writer<'a> {
    Writer {
        schema: Schema {
            builtin: rt.builtin,
            kind: &rt.kind,
            crd,
        },
        api_version,
        manager,
        subresource: req.subresource.as_deref(),
        status_subresource: rt.status_subresource,
        now,
    }
}

/// Checks `apiVersion`, `kind`, name and namespace of a body against the request.
pub(crate) fn check_identity(
    rt: &ResourceType,
    req: &Request,
    obj: &Value,
) -> Result<(), ApiError> {
    if !obj.is_object() {
        return Err(ApiError::bad_request(format!(
            "the object must be a JSON object, not {obj}"
        )));
    }
    for field in ["metadata", "spec", "status"] {
        if obj
            .get(field)
            .is_some_and(|v| !v.is_object() && !v.is_null())
        {
            return Err(ApiError::bad_request(format!("{field} must be an object")));
        }
    }
    let meta = &obj["metadata"];
    for field in ["labels", "annotations"] {
        if meta
            .get(field)
            .is_some_and(|v| !v.is_object() && !v.is_null())
        {
            return Err(ApiError::bad_request(format!(
                "metadata.{field} must be a map of strings"
            )));
        }
    }
    for field in ["finalizers", "ownerReferences"] {
        if meta
            .get(field)
            .is_some_and(|v| !v.is_array() && !v.is_null())
        {
            return Err(ApiError::bad_request(format!(
                "metadata.{field} must be a list"
            )));
        }
    }
    let av = obj["apiVersion"].as_str().unwrap_or_default();
    let kind = obj["kind"].as_str().unwrap_or_default();
    if !av.is_empty() && av != rt.api_version() {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({av}) does not match the expected API version ({})",
            rt.api_version()
        )));
    }
    if !kind.is_empty() && kind != rt.kind {
        return Err(ApiError::bad_request(format!(
            "the kind in the data ({kind}) does not match the expected kind ({})",
            rt.kind
        )));
    }
    let body_ns = obj["metadata"]["namespace"].as_str().unwrap_or_default();
    if rt.namespaced && !body_ns.is_empty() && body_ns != req.ns() {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    if let (Some(url_name), Some(body_name)) =
        (req.name.as_deref(), obj["metadata"]["name"].as_str())
        && url_name != body_name
    {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({url_name})"
        )));
    }
    Ok(())
}

pub(crate) fn require_namespace(
    state: &State,
    rt: &ResourceType,
    req: &Request,
) -> Result<(), ApiError> {
    if rt.namespaced
        && state
            .store
            .get(&Key::of("", "namespaces", "", req.ns()))
            .is_none()
    {
        return Err(ApiError::namespace_not_found(req.ns()));
    }
    Ok(())
}

/// Fills server-owned metadata of a new object and stores it (unless dry run).
pub(crate) fn finish_create(
    state: &mut State,
    rt: &ResourceType,
    req: &Request,
    mut obj: Value,
    now: &str,
) -> Result<Reply, ApiError> {
    let name = obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    normalize_meta(&mut obj);
    fold_string_data(rt, &mut obj);
    crate::validate::object(rt, &obj)?;
    obj["apiVersion"] = json!(rt.api_version());
    obj["kind"] = json!(rt.kind);
    if rt.namespaced {
        obj["metadata"]["namespace"] = json!(req.ns());
    } else if let Some(meta) = obj["metadata"].as_object_mut() {
        meta.shift_remove("namespace");
    }
    obj["metadata"]["uid"] = json!(state.store.new_uid());
    obj["metadata"]["creationTimestamp"] = json!(now);
    if rt.status_subresource || !rt.builtin {
        obj["metadata"]["generation"] = json!(1);
    }
    if rt.status_subresource
        && let Some(map) = obj.as_object_mut()
    {
        map.shift_remove("status");
    }
    if rt.kind == "Namespace" {
        obj["status"] = json!({"phase": "Active"});
    }
    if rt.kind == "CustomResourceDefinition" {
        crate::crd::validate_crd(rt, &name, &obj)?;
        crate::crd::set_crd_conditions(&mut obj, state.crd_delay.is_zero());
    }
    let key = State::key(rt, req, &name);
    if req.dry_run() {
        return Ok((201, present(rt, &obj)));
    }
    if rt.kind == "CustomResourceDefinition" && !state.crd_delay.is_zero() {
        state.pending_crds.push(key.clone());
    }
    Ok((201, present(rt, &state.store.put(&key, obj))))
}

pub(crate) fn update(
    state: &mut State,
    rt: &ResourceType,
    req: &Request,
) -> Result<Reply, ApiError> {
    let body = parse_body(req)?;
    check_identity(rt, req, &body)?;
    let name = req.name.clone().unwrap_or_default();
    let old = state
        .store
        .get(&State::key(rt, req, &name))
        .cloned()
        .ok_or_else(|| ApiError::not_found(rt, &name))?;
    finish_update(state, rt, req, &old, body)
}

pub(crate) fn patch(
    state: &mut State,
    rt: &ResourceType,
    req: &Request,
) -> Result<Reply, ApiError> {
    let name = req.name.clone().unwrap_or_default();
    let old = state.store.get(&State::key(rt, req, &name)).cloned();
    let ct = req
        .content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim();
    if ct == "application/apply-patch+yaml" {
        return crate::apply::apply(state, rt, req, old.as_ref());
    }
    let old = old.ok_or_else(|| ApiError::not_found(rt, &name))?;
    let body = parse_body(req)?;
    let current = present(rt, &old);
    let patched = match ct {
        "application/merge-patch+json" => patch::merge_patch(&current, &body),
        "application/json-patch+json" => patch::json_patch(&current, &body)
            .map_err(|e| ApiError::new(422, "Invalid", e.to_string()))?,
        "application/strategic-merge-patch+json" if rt.builtin => {
            let schema = Schema {
                builtin: true,
                kind: &rt.kind,
                crd: None,
            };
            patch::strategic(schema, &current, &body)
                .map_err(|e| ApiError::new(422, "Invalid", e.to_string()))?
        }
        _ => {
            return Err(ApiError::new(
                415,
                "UnsupportedMediaType",
                format!(
                    "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml{}",
                    if rt.builtin {
                        ", application/strategic-merge-patch+json"
                    } else {
                        ""
                    }
                ),
            ));
        }
    };
    check_identity(rt, req, &patched)?;
    finish_update(state, rt, req, &old, patched)
}

/// Shared tail of update and patch: preconditions, subresource rules, managed fields,
/// generation, no-op detection, finalizers.
fn finish_update(
    state: &mut State,
    rt: &ResourceType,
    req: &Request,
    old: &Value,
    body: Value,
) -> Result<Reply, ApiError> {
    let name = req.name.clone().unwrap_or_default();
    let wanted_rv = body["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_default();
    if !wanted_rv.is_empty() && Some(wanted_rv) != old["metadata"]["resourceVersion"].as_str() {
        return Err(ApiError::stale(rt, &name));
    }
    let mut new = if req.subresource.is_some() {
        let mut n = old.clone();
        match (body.get("status"), n.as_object_mut()) {
            (Some(status), _) => n["status"] = status.clone(),
            (None, Some(map)) => {
                map.shift_remove("status");
            }
            (None, None) => {}
        }
        n
    } else {
        let mut n = body;
        if rt.status_subresource {
            match old.get("status") {
                Some(s) => n["status"] = s.clone(),
                None => {
                    if let Some(m) = n.as_object_mut() {
                        m.shift_remove("status");
                    }
                }
            }
        }
        n
    };
    for field in [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
        "namespace",
        "name",
        "resourceVersion",
    ] {
        match old["metadata"].get(field) {
            Some(v) => new["metadata"][field] = v.clone(),
            None => {
                if let Some(m) = new["metadata"].as_object_mut() {
                    m.shift_remove(field);
                }
            }
        }
    }
    new["apiVersion"] = json!(rt.api_version());
    new["kind"] = json!(rt.kind);
    let now = clock::now_rfc3339();
    let (mgr, av) = (manager(req), rt.api_version());
    let given = new["metadata"].get("managedFields").cloned();
    let known = old["metadata"].get("managedFields").cloned();
    if given.is_none() || given == known {
        if let Some(k) = &known {
            new["metadata"]["managedFields"] = k.clone();
        }
        let crd = crate::crd::schema_of(state, rt);
        let w = writer(rt, req, &mgr, &now, &av, crd.as_ref());
        ssa::track_update(&w, Some(old), &mut new);
    } else if given
        .as_ref()
        .and_then(Value::as_array)
        .is_some_and(Vec::is_empty)
        && let Some(m) = new["metadata"].as_object_mut()
    {
        m.shift_remove("managedFields");
    }
    store_update(state, rt, req, old, new)
}

pub(crate) fn store_update(
    state: &mut State,
    rt: &ResourceType,
    req: &Request,
    old: &Value,
    mut new: Value,
) -> Result<Reply, ApiError> {
    normalize_meta(&mut new);
    fold_string_data(rt, &mut new);
    crate::validate::object(rt, &new)?;
    if !rt.namespaced
        && let Some(meta) = new["metadata"].as_object_mut()
    {
        meta.shift_remove("namespace");
    }
    if spec_part(rt, old) != spec_part(rt, &new) && old["metadata"]["generation"].is_number() {
        new["metadata"]["generation"] =
            json!(old["metadata"]["generation"].as_u64().unwrap_or(1) + 1);
    }
    if rt.kind == "CustomResourceDefinition" {
        let name = req.name.clone().unwrap_or_default();
        crate::crd::validate_crd(rt, &name, &new)?;
        if req.subresource.is_none() {
            new["status"] = old["status"].clone();
            new["status"]["acceptedNames"] = new["spec"]["names"].clone();
        }
    }
    if without_times(&new) == without_times(old) {
        return Ok((200, present(rt, old)));
    }
    if req.dry_run() {
        return Ok((200, present(rt, &new)));
    }
    let key = State::key(
        rt,
        req,
        new["metadata"]["name"].as_str().unwrap_or_default(),
    );
    let finalized = new["metadata"]["finalizers"]
        .as_array()
        .is_none_or(Vec::is_empty);
    if new["metadata"]["deletionTimestamp"].is_string() && finalized {
        state.store.put(&key, new);
        let gone = state.store.remove(&key).unwrap_or(Value::Null);
        return Ok((200, present(rt, &gone)));
    }
    Ok((200, present(rt, &state.store.put(&key, new))))
}
