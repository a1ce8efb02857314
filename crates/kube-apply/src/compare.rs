//! Deciding without a write whether an apply would change anything.
//!
//! An object is unchanged when the live object contains every desired field with an equal value
//! and the field manager's `Apply` entry in `managedFields` owns exactly the desired fields (so
//! no field was dropped from the render, which an apply would remove). Anything this check
//! cannot decide (null values, positional list entries) counts as changed; the caller then asks
//! the server with a dry run.

use serde_json::{Map, Value};

/// Top-level fields that are not part of a manager's field set.
const UNOWNED_TOP: [&str; 3] = ["apiVersion", "kind", "status"];
/// Metadata fields that identify the object rather than belong to a manager.
const UNOWNED_META: [&str; 2] = ["name", "namespace"];

/// Whether applying `desired` as `manager` would leave `live` as it is.
pub(crate) fn unchanged(desired: &Value, live: &Value, manager: &str) -> bool {
    let Some(desired) = desired.as_object() else {
        return false;
    };
    let mut trimmed = desired.clone();
    for k in UNOWNED_TOP {
        trimmed.remove(k);
    }
    if let Some(Value::Object(meta)) = trimmed.get_mut("metadata") {
        for k in UNOWNED_META {
            meta.remove(k);
        }
        if meta.is_empty() {
            trimmed.remove("metadata");
        }
    }
    let trimmed = Value::Object(trimmed);
    if !contains(&trimmed, live) {
        return false;
    }
    let api_version = desired.get("apiVersion").and_then(Value::as_str);
    let entry = live
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|e| {
            e.get("manager").and_then(Value::as_str) == Some(manager)
                && e.get("operation").and_then(Value::as_str) == Some("Apply")
                && e.get("subresource")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
        });
    let Some(entry) = entry else {
        return false;
    };
    if entry.get("apiVersion").and_then(Value::as_str) != api_version {
        return false;
    }
    match (
        trimmed.as_object(),
        entry.get("fieldsV1").and_then(Value::as_object),
    ) {
        (Some(d), Some(f)) => same_fields(d, f),
        (Some(d), None) => d.is_empty(),
        _ => false,
    }
}

/// Whether every field of `desired` is in `live` with an equal value (lists: same length,
/// item by item). A null in `desired` is undecidable here.
pub(crate) fn contains(desired: &Value, live: &Value) -> bool {
    match (desired, live) {
        (Value::Null, _) => false,
        (Value::Object(d), Value::Object(l)) => d
            .iter()
            .all(|(k, v)| l.get(k).is_some_and(|lv| contains(v, lv))),
        (Value::Array(d), Value::Array(l)) => {
            d.len() == l.len() && d.iter().zip(l).all(|(dv, lv)| contains(dv, lv))
        }
        (Value::Number(d), Value::Number(l)) => d == l || d.as_f64() == l.as_f64(),
        (d, l) => d == l,
    }
}

/// Whether the field set `f` (`FieldsV1`) covers exactly the fields of the map `d`.
fn same_fields(d: &Map<String, Value>, f: &Map<String, Value>) -> bool {
    for (k, v) in d {
        let Some(child) = f.get(&format!("f:{k}")).and_then(Value::as_object) else {
            return false;
        };
        if !same_value_fields(v, child) {
            return false;
        }
    }
    f.keys().filter(|k| k.as_str() != ".").all(|k| {
        k.strip_prefix("f:")
            .is_some_and(|name| d.contains_key(name))
    })
}

fn same_value_fields(v: &Value, f: &Map<String, Value>) -> bool {
    match v {
        // a map whose entry lists no members is atomic (label selectors) and owned whole
        Value::Object(m) => f.keys().all(|k| k == ".") || same_fields(m, f),
        Value::Array(items) => same_list_fields(items, f),
        Value::Null => false,
        _ => f.keys().all(|k| k == "."),
    }
}

/// List items are owned by key (`k:{...}`) or by value (`v:...`); a list without such entries
/// is atomic and owned as a whole.
fn same_list_fields(items: &[Value], f: &Map<String, Value>) -> bool {
    let entries: Vec<(&String, &Value)> = f.iter().filter(|(k, _)| k.as_str() != ".").collect();
    if entries.is_empty() {
        return true;
    }
    let mut used = vec![false; entries.len()];
    for item in items {
        let found = entries.iter().position(|(k, _)| match item {
            Value::Object(obj) => k
                .strip_prefix("k:")
                .and_then(|json| serde_json::from_str::<Map<String, Value>>(json).ok())
                .is_some_and(|keys| keys_match(&keys, obj)),
            scalar => k
                .strip_prefix("v:")
                .and_then(|json| serde_json::from_str::<Value>(json).ok())
                .is_some_and(|v| &v == scalar),
        });
        let Some(i) = found else {
            return false;
        };
        if used[i] {
            return false;
        }
        used[i] = true;
        if let (Value::Object(obj), Some(child)) = (item, entries[i].1.as_object())
            && !same_fields(obj, child)
        {
            return false;
        }
    }
    used.iter().all(|u| *u)
}

/// Whether a list item has the key values of a `k:{...}` entry.
fn keys_match(keys: &Map<String, Value>, item: &Map<String, Value>) -> bool {
    keys.iter().all(|(k, v)| match item.get(k) {
        Some(iv) => contains(v, iv) && contains(iv, v),
        // ports are keyed with their protocol, which defaults to TCP
        None => k == "protocol" && v == "TCP",
    })
}

#[cfg(test)]
#[path = "compare_tests.rs"]
mod tests;
