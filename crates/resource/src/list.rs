//! `List` kinds and non-manifest documents.

use serde_json::Value;

/// Whether a document is a Kubernetes manifest: an object with non-empty
/// `apiVersion` and `kind` strings.
pub fn is_manifest(doc: &Value) -> bool {
    let text = |k: &str| {
        doc.get(k)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
    };
    doc.is_object() && text("apiVersion") && text("kind")
}

/// Replaces every `List` kind (`kind: List`, or any kind ending in `List`
/// that has an `items` array, as `kubectl` does) by its items, recursively.
pub fn flatten_lists(docs: Vec<Value>) -> Vec<Value> {
    let mut out = Vec::with_capacity(docs.len());
    for doc in docs {
        flatten_into(doc, &mut out);
    }
    out
}

fn flatten_into(mut doc: Value, out: &mut Vec<Value>) {
    let is_list = doc
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k.ends_with("List"))
        && doc.get("items").is_some_and(Value::is_array);
    if is_list {
        if let Some(Value::Array(items)) = doc.get_mut("items").map(Value::take) {
            for item in items {
                flatten_into(item, out);
            }
        }
    } else {
        out.push(doc);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn nested_lists_are_flattened_in_order() {
        let docs = vec![
            json!({"apiVersion": "v1", "kind": "List", "items": [
                {"apiVersion": "v1", "kind": "A", "metadata": {"name": "a"}},
                {"apiVersion": "v1", "kind": "ConfigMapList", "items": [
                    {"apiVersion": "v1", "kind": "B", "metadata": {"name": "b"}}
                ]}
            ]}),
            json!({"apiVersion": "v1", "kind": "C"}),
        ];
        let kinds: Vec<_> = flatten_lists(docs)
            .iter()
            .map(|d| d["kind"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(kinds, ["A", "B", "C"]);
    }

    #[test]
    fn a_kind_named_list_without_items_is_kept() {
        let doc = json!({"apiVersion": "x/v1", "kind": "PriorityList", "spec": {}});
        assert_eq!(flatten_lists(vec![doc.clone()]), vec![doc]);
    }

    #[test]
    fn manifests_need_api_version_and_kind() {
        assert!(is_manifest(&json!({"apiVersion": "v1", "kind": "Pod"})));
        assert!(!is_manifest(&json!({"kind": "Pod"})));
        assert!(!is_manifest(&json!({"apiVersion": "v1", "kind": ""})));
        assert!(!is_manifest(&json!(["a"])));
    }
}
