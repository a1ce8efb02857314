//! Metadata chores shared by the writes.

use serde_json::Value;

use crate::discovery::ResourceType;

/// Everything but `metadata` (and `status` where it is a subresource): changes here bump
/// `generation`.
pub(crate) fn spec_part(rt: &ResourceType, obj: &Value) -> Value {
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
pub(crate) fn normalize_meta(obj: &mut Value) {
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
pub(crate) fn without_times(obj: &Value) -> Value {
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
