//! Writes: create, update, the patch types and server-side apply, delete.

use serde_json::{Value, json};

use crate::api::{Reply, Request, State, present};
use crate::discovery::{self, ResourceType};
use crate::schema::Schema;
use crate::ssa::{self, Writer};
use crate::status::ApiError;
use crate::store::{Key, Propagation};
use crate::{clock, patch};

/// The request body as JSON (YAML accepted too, as the apply content type says).
fn parse_body(req: &Request) -> Result<Value, ApiError> {
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

fn manager(req: &Request) -> String {
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

fn writer<'a>(
    rt: &'a ResourceType,
    req: &'a Request,
    manager: &'a str,
    now: &'a str,
    api_version: &'a str,
) -> Writer<'a> {
    Writer {
        schema: Schema {
            builtin: rt.builtin,
            kind: &rt.kind,
        },
        api_version,
        manager,
        subresource: req.subresource.as_deref(),
        status_subresource: rt.status_subresource,
        now,
    }
}

/// Checks `apiVersion`, `kind`, name and namespace of a body against the request.
fn check_identity(rt: &ResourceType, req: &Request, obj: &Value) -> Result<(), ApiError> {
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

fn require_namespace(state: &State, rt: &ResourceType, req: &Request) -> Result<(), ApiError> {
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

/// Everything but `metadata` (and `status` where it is a subresource): changes here bump
/// `generation`.
fn spec_part(rt: &ResourceType, obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Some(map) = v.as_object_mut() {
        map.shift_remove("metadata");
        if rt.status_subresource {
            map.shift_remove("status");
        }
    }
    v
}

/// Drops empty `labels`, `annotations`, `finalizers` and `ownerReferences`, as the real server's
/// typed `ObjectMeta` does.
fn normalize_meta(obj: &mut Value) {
    if let Some(meta) = obj["metadata"].as_object_mut() {
        for field in ["labels", "annotations", "finalizers", "ownerReferences"] {
            let empty = meta.get(field).is_some_and(|v| {
                v.is_null()
                    || v.as_object().is_some_and(serde_json::Map::is_empty)
                    || v.as_array().is_some_and(Vec::is_empty)
            });
            if empty {
                meta.shift_remove(field);
            }
        }
    }
}

/// The object without `managedFields` timestamps, to tell no-op writes.
fn without_times(obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Some(list) = v["metadata"]["managedFields"].as_array_mut() {
        for e in list {
            if let Some(e) = e.as_object_mut() {
                e.shift_remove("time");
            }
        }
    }
    v
}

/// Fills server-owned metadata of a new object and stores it (unless dry run).
fn finish_create(
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
    obj["apiVersion"] = json!(rt.api_version());
    obj["kind"] = json!(rt.kind);
    if rt.namespaced {
        obj["metadata"]["namespace"] = json!(req.ns());
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
        validate_crd(rt, &name, &obj)?;
        set_crd_conditions(&mut obj, state.crd_delay.is_zero());
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

pub(crate) fn create(
    state: &mut State,
    rt: &ResourceType,
    req: &Request,
) -> Result<Reply, ApiError> {
    let mut obj = parse_body(req)?;
    check_identity(rt, req, &obj)?;
    if obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .is_empty()
    {
        let prefix = obj["metadata"]["generateName"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if prefix.is_empty() {
            return Err(ApiError::invalid(
                rt,
                "",
                "metadata.name",
                "Required value: name or generateName is required",
            ));
        }
        let suffix = state.store.resource_version() * 7919 % 100_000;
        obj["metadata"]["name"] = json!(format!("{prefix}{suffix:05}"));
    }
    let name = obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    require_namespace(state, rt, req)?;
    if state.store.get(&State::key(rt, req, &name)).is_some() {
        return Err(ApiError::already_exists(rt, &name));
    }
    let now = clock::now_rfc3339();
    let (mgr, av) = (manager(req), rt.api_version());
    if let Some(meta) = obj["metadata"].as_object_mut() {
        meta.shift_remove("managedFields");
        meta.shift_remove("resourceVersion");
    }
    let w = writer(rt, req, &mgr, &now, &av);
    if rt.status_subresource
        && let Some(map) = obj.as_object_mut()
    {
        map.shift_remove("status");
    }
    ssa::track_update(&w, None, &mut obj);
    finish_create(state, rt, req, obj, &now)
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
        return apply(state, rt, req, old.as_ref());
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
        n["status"] = body.get("status").cloned().unwrap_or(Value::Null);
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
        ssa::track_update(&writer(rt, req, &mgr, &now, &av), Some(old), &mut new);
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

fn store_update(
    state: &mut State,
    rt: &ResourceType,
    req: &Request,
    old: &Value,
    mut new: Value,
) -> Result<Reply, ApiError> {
    normalize_meta(&mut new);
    if spec_part(rt, old) != spec_part(rt, &new) && old["metadata"]["generation"].is_number() {
        new["metadata"]["generation"] =
            json!(old["metadata"]["generation"].as_u64().unwrap_or(1) + 1);
    }
    if rt.kind == "CustomResourceDefinition" {
        let name = req.name.clone().unwrap_or_default();
        validate_crd(rt, &name, &new)?;
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

fn apply(
    state: &mut State,
    rt: &ResourceType,
    req: &Request,
    old: Option<&Value>,
) -> Result<Reply, ApiError> {
    let name = req.name.clone().unwrap_or_default();
    let Some(mgr) = req
        .query
        .get("fieldManager")
        .filter(|m| !m.is_empty())
        .cloned()
    else {
        return Err(ApiError::invalid(
            rt,
            &name,
            "fieldManager",
            "Required value: is required for apply patch",
        ));
    };
    let mut config = parse_body(req)?;
    if !config.is_object() {
        return Err(ApiError::bad_request(
            "the apply configuration must be an object",
        ));
    }
    check_identity(rt, req, &config)?;
    if config["apiVersion"].as_str().is_none() || config["kind"].as_str().is_none() {
        return Err(ApiError::bad_request(
            "apiVersion and kind must be set in an apply configuration",
        ));
    }
    if old.is_none() && req.subresource.is_some() {
        return Err(ApiError::not_found(rt, &name));
    }
    if let Some(rv) = config["metadata"]["resourceVersion"].as_str()
        && old.is_none_or(|o| o["metadata"]["resourceVersion"].as_str() != Some(rv))
    {
        return Err(ApiError::stale(rt, &name));
    }
    if let Some(meta) = config["metadata"].as_object_mut() {
        meta.shift_remove("managedFields");
    }
    if old.is_none() {
        require_namespace(state, rt, req)?;
    }
    let now = clock::now_rfc3339();
    let av = rt.api_version();
    let force = req.query.get("force").is_some_and(|f| f == "true");
    let w = writer(rt, req, &mgr, &now, &av);
    let live = old.map_or(Value::Null, |o| present(rt, o));
    let mut new =
        ssa::apply(&w, &live, &config, force).map_err(|c| ApiError::apply_conflict(&c))?;
    new["metadata"]["name"] = json!(name);
    match old {
        None => finish_create(state, rt, req, new, &now),
        Some(old) => {
            if req.subresource.is_some() {
                let mut n = old.clone();
                n["status"] = new["status"].clone();
                n["metadata"]["managedFields"] = new["metadata"]["managedFields"].clone();
                new = n;
            } else if rt.status_subresource {
                new["status"] = old["status"].clone();
            }
            for field in [
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "generation",
                "namespace",
                "resourceVersion",
            ] {
                if let Some(v) = old["metadata"].get(field) {
                    new["metadata"][field] = v.clone();
                }
            }
            if new["status"].is_null()
                && let Some(m) = new.as_object_mut()
            {
                m.shift_remove("status");
            }
            store_update(state, rt, req, old, new)
        }
    }
}

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

fn validate_crd(rt: &ResourceType, name: &str, crd: &Value) -> Result<(), ApiError> {
    let group = crd["spec"]["group"].as_str().unwrap_or_default();
    let plural = crd["spec"]["names"]["plural"].as_str().unwrap_or_default();
    if group.is_empty() || plural.is_empty() || crd["spec"]["names"]["kind"].as_str().is_none() {
        return Err(ApiError::invalid(
            rt,
            name,
            "spec",
            "Required value: spec.group, spec.names.plural and spec.names.kind are required",
        ));
    }
    if name != format!("{plural}.{group}") {
        return Err(ApiError::invalid(
            rt,
            name,
            "metadata.name",
            &format!("Invalid value: {name:?}: must be spec.names.plural+\".\"+spec.group"),
        ));
    }
    if discovery::crd_storage_version(crd).is_none() {
        return Err(ApiError::invalid(
            rt,
            name,
            "spec.versions",
            "Invalid value: must have exactly one version marked as storage version",
        ));
    }
    Ok(())
}

/// Sets a CRD's `acceptedNames` and its `NamesAccepted` / `Established` conditions.
pub(crate) fn set_crd_conditions(crd: &mut Value, established: bool) {
    let now = clock::now_rfc3339();
    let cond = |t: &str, ok: bool, reason: &str, message: &str| json!({"type": t, "status": if ok { "True" } else { "False" }, "lastTransitionTime": now, "reason": reason, "message": message});
    crd["status"] = json!({
        "acceptedNames": crd["spec"]["names"].clone(),
        "conditions": [
            cond("NamesAccepted", true, "NoConflicts", "no conflicts found"),
            if established {
                cond("Established", true, "InitialNamesAccepted", "the initial names have been accepted")
            } else {
                cond("Established", false, "Installing", "the initial names are being installed")
            }
        ],
        "storedVersions": [discovery::crd_storage_version(crd).unwrap_or_default()],
    });
}
