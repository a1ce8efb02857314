//! Create (POST): names (`generateName`), the namespace, `AlreadyExists`.

use serde_json::json;

use crate::api::{Reply, Request, State};
use crate::discovery::ResourceType;
use crate::status::ApiError;
use crate::write::{check_identity, finish_create, manager, parse_body, require_namespace, writer};
use crate::{clock, ssa};

/// Five characters from the alphabet the real server uses for `generateName` suffixes.
fn generated_suffix(seed: u64) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut n = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 20;
    (0..5)
        .map(|_| {
            let c = ALPHABET[usize::try_from(n % 27).unwrap_or(0)];
            n /= 27;
            char::from(c)
        })
        .collect()
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
        let mut seed = state.store.resource_version();
        let name = loop {
            let candidate = format!("{prefix}{}", generated_suffix(seed));
            if state.store.get(&State::key(rt, req, &candidate)).is_none() {
                break candidate;
            }
            seed += 1;
        };
        obj["metadata"]["name"] = json!(name);
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
    let crd = crate::crd::schema_of(state, rt);
    let w = writer(rt, req, &mgr, &now, &av, crd.as_ref());
    if rt.status_subresource
        && let Some(map) = obj.as_object_mut()
    {
        map.shift_remove("status");
    }
    ssa::track_update(&w, None, &mut obj);
    finish_create(state, rt, req, obj, &now)
}
