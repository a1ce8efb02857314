//! The three non-apply patch types: JSON merge patch, JSON patch and strategic merge patch.

use serde_json::{Map, Value};

use crate::schema::{ListType, Schema};

/// Why a patch could not be applied.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("the JSON patch is invalid: {0}")]
    InvalidJsonPatch(String),
    #[error("the JSON patch could not be applied: {0}")]
    JsonPatch(String),
    #[error("the strategic merge patch is invalid: {0}")]
    Strategic(String),
}

/// RFC 7386 JSON merge patch.
pub(crate) fn merge_patch(original: &Value, patch: &Value) -> Value {
    let mut out = original.clone();
    json_patch::merge(&mut out, patch);
    out
}

/// RFC 6902 JSON patch.
pub(crate) fn json_patch(original: &Value, patch: &Value) -> Result<Value, Error> {
    let ops: json_patch::Patch = serde_json::from_value(patch.clone())
        .map_err(|e| Error::InvalidJsonPatch(e.to_string()))?;
    let mut out = original.clone();
    json_patch::patch(&mut out, &ops).map_err(|e| Error::JsonPatch(e.to_string()))?;
    Ok(out)
}

/// Strategic merge patch for built-in kinds: maps merge, lists with a merge key merge by it,
/// scalar lists with the merge strategy are unions, other lists are replaced. Directives:
/// `$patch` (`replace`, `delete`, `merge`), `$retainKeys`, `$deleteFromPrimitiveList/<field>` and
/// `$setElementOrder/<field>`.
pub(crate) fn strategic(
    schema: Schema<'_>,
    original: &Value,
    patch: &Value,
) -> Result<Value, Error> {
    let mut names = Vec::new();
    Ok(merge_value(schema, original, patch, &mut names)?.unwrap_or(Value::Null))
}

/// `None` means "delete this value".
fn merge_value(
    schema: Schema<'_>,
    original: &Value,
    patch: &Value,
    names: &mut Vec<String>,
) -> Result<Option<Value>, Error> {
    let Value::Object(p) = patch else {
        return Ok(Some(patch.clone()));
    };
    match p.get("$patch").and_then(Value::as_str) {
        Some("delete") => return Ok(None),
        Some("replace") => return Ok(Some(strip_directives(p))),
        Some("merge") | None => {}
        Some(other) => return Err(Error::Strategic(format!("unknown patch type {other:?}"))),
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    if schema.atomic_map(&refs) {
        return Ok(Some(strip_directives(p)));
    }
    let mut out = original.as_object().cloned().unwrap_or_default();
    if let Some(retain) = p.get("$retainKeys").and_then(Value::as_array) {
        out.retain(|k, _| retain.iter().any(|r| r.as_str() == Some(k)));
    }
    for (key, value) in p {
        if let Some(field) = key.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(items)), Some(gone)) = (out.get_mut(field), value.as_array())
            {
                items.retain(|v| !gone.contains(v));
            }
            continue;
        }
        if key.starts_with('$') {
            continue;
        }
        if value.is_null() {
            out.shift_remove(key);
            continue;
        }
        names.push(key.clone());
        let current = out.get(key).cloned().unwrap_or(Value::Null);
        let merged = match (&current, value) {
            (_, Value::Array(items)) => Some(merge_list(schema, &current, items, names)?),
            _ => merge_value(schema, &current, value, names)?,
        };
        names.pop();
        match merged {
            Some(v) => {
                out.insert(key.clone(), v);
            }
            None => {
                out.shift_remove(key);
            }
        }
    }
    for (key, order) in p {
        if let (Some(field), Some(order)) =
            (key.strip_prefix("$setElementOrder/"), order.as_array())
        {
            names.push(field.to_owned());
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let list_type = schema.list_type(&refs);
            names.pop();
            if let Some(Value::Array(items)) = out.get_mut(field) {
                reorder(items, order, list_type);
            }
        }
    }
    Ok(Some(Value::Object(out)))
}

fn merge_list(
    schema: Schema<'_>,
    current: &Value,
    patch: &[Value],
    names: &mut Vec<String>,
) -> Result<Value, Error> {
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let list_type = schema.list_type(&refs);
    let replace = patch
        .iter()
        .any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace"));
    let original = current.as_array().cloned().unwrap_or_default();
    match list_type {
        _ if replace => Ok(Value::Array(
            patch
                .iter()
                .filter(|i| i.get("$patch").is_none())
                .map(|i| i.as_object().map_or_else(|| i.clone(), strip_directives))
                .collect(),
        )),
        ListType::Atomic => Ok(Value::Array(patch.to_vec())),
        ListType::Set => {
            let mut out = original;
            out.extend(patch.iter().filter(|v| !v.is_object()).cloned());
            let mut seen = Vec::new();
            out.retain(|v| {
                let new = !seen.contains(v);
                seen.push(v.clone());
                new
            });
            Ok(Value::Array(out))
        }
        ListType::Map(keys) => {
            let key_names = keys.names();
            let Some(&key) = key_names.first() else {
                return Ok(Value::Array(patch.to_vec()));
            };
            let mut out = original;
            for item in patch {
                let Some(wanted) = item.get(key) else {
                    return Err(Error::Strategic(format!(
                        "map: {item} does not contain declared merge key: {key}"
                    )));
                };
                let pos = out.iter().position(|o| o.get(key) == Some(wanted));
                let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
                match (pos, delete) {
                    (Some(i), true) => {
                        out.remove(i);
                    }
                    (None, true) => {}
                    (Some(i), false) => match merge_value(schema, &out[i].clone(), item, names)? {
                        Some(v) => out[i] = v,
                        None => {
                            out.remove(i);
                        }
                    },
                    (None, false) => {
                        if let Some(v) = merge_value(schema, &Value::Null, item, names)? {
                            out.push(v);
                        }
                    }
                }
            }
            Ok(Value::Array(out))
        }
    }
}

/// Orders `items` as `order` says; items it does not name keep their relative order at the end.
fn reorder(items: &mut Vec<Value>, order: &[Value], list_type: ListType<'_>) {
    let matches = |item: &Value, wanted: &Value| match list_type {
        ListType::Map(keys) => {
            let names = keys.names();
            names
                .first()
                .is_some_and(|k| item.get(*k).is_some() && item.get(*k) == wanted.get(*k))
        }
        _ => item == wanted,
    };
    let mut rest = std::mem::take(items);
    for wanted in order {
        if let Some(i) = rest.iter().position(|item| matches(item, wanted)) {
            items.push(rest.remove(i));
        }
    }
    items.append(&mut rest);
}

fn strip_directives(map: &Map<String, Value>) -> Value {
    Value::Object(
        map.iter()
            .filter(|(k, _)| !k.starts_with('$'))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const DEPLOY: Schema<'static> = Schema {
        builtin: true,
        kind: "Deployment",
        crd: None,
    };

    #[test]
    fn containers_merge_by_name_and_null_deletes() {
        let original = json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"template": {"spec": {
            "containers": [{"name": "web", "image": "nginx:1"}, {"name": "side", "image": "busybox"}]}}}});
        let patch = json!({"metadata": {"labels": {"b": null, "c": "3"}}, "spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "side"}, {"name": "web"}],
            "containers": [{"name": "web", "image": "nginx:2"}]}}}});
        let out = strategic(DEPLOY, &original, &patch).expect("patch applies");
        assert_eq!(out["metadata"]["labels"], json!({"a": "1", "c": "3"}));
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"],
            json!([{"name": "side", "image": "busybox"}, {"name": "web", "image": "nginx:2"}])
        );
    }

    #[test]
    fn delete_and_replace_directives() {
        let original = json!({"spec": {"template": {"spec": {"containers": [{"name": "a"}, {"name": "b"}],
            "nodeSelector": {"x": "1"}}}}});
        let patch = json!({"spec": {"template": {"spec": {
            "containers": [{"name": "a", "$patch": "delete"}],
            "nodeSelector": {"$patch": "replace", "y": "2"}}}}});
        let out = strategic(DEPLOY, &original, &patch).expect("patch applies");
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"],
            json!([{"name": "b"}])
        );
        assert_eq!(
            out["spec"]["template"]["spec"]["nodeSelector"],
            json!({"y": "2"})
        );
    }

    #[test]
    fn lists_without_merge_key_are_replaced() {
        let original = json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "args": ["x", "y"]}]}}}});
        let patch =
            json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "args": ["z"]}]}}}});
        let out = strategic(DEPLOY, &original, &patch).expect("patch applies");
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"][0]["args"],
            json!(["z"])
        );
    }
}
