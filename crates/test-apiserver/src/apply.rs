//! Server-side apply (`application/apply-patch+yaml`).

use serde_json::{Value, json};

use crate::api::{Reply, Request, State, present};
use crate::clock;
use crate::discovery::ResourceType;
use crate::ssa;
use crate::status::ApiError;
use crate::write::{
    check_identity, finish_create, parse_body, require_namespace, store_update, writer,
};

pub(crate) fn apply(
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
    let crd = crate::crd::schema_of(state, rt);
    let w = writer(rt, req, &mgr, &now, &av, crd.as_ref());
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
