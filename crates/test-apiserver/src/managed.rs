//! `metadata.managedFields` entries: reading, writing, and naming managers as the real server does.

use serde_json::{Value, json};

use crate::fieldset::FieldSet;

/// One `managedFields` entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub(crate) manager: String,
    pub(crate) operation: String,
    pub(crate) api_version: String,
    pub(crate) time: String,
    pub(crate) subresource: Option<String>,
    pub(crate) fields: FieldSet,
}

impl Entry {
    pub(crate) fn is(&self, manager: &str, operation: &str, subresource: Option<&str>) -> bool {
        self.manager == manager
            && self.operation == operation
            && self.subresource.as_deref() == subresource
    }

    /// The manager as the real server names it in conflict messages.
    pub(crate) fn describe(&self) -> String {
        let sub = self
            .subresource
            .as_ref()
            .map(|s| format!(" with subresource {s:?}"));
        let using = (self.operation == "Update").then(|| format!(" using {}", self.api_version));
        format!(
            "{:?}{}{}",
            self.manager,
            sub.unwrap_or_default(),
            using.unwrap_or_default()
        )
    }
}

/// The entries in `obj.metadata.managedFields`.
pub(crate) fn entries(obj: &Value) -> Vec<Entry> {
    let list = obj["metadata"]["managedFields"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    list.iter()
        .map(|e| Entry {
            manager: e["manager"].as_str().unwrap_or_default().to_owned(),
            operation: e["operation"].as_str().unwrap_or("Update").to_owned(),
            api_version: e["apiVersion"].as_str().unwrap_or_default().to_owned(),
            time: e["time"].as_str().unwrap_or_default().to_owned(),
            subresource: e["subresource"].as_str().map(str::to_owned),
            fields: FieldSet::from_fields_v1(&e["fieldsV1"]),
        })
        .collect()
}

/// Writes `entries` into `obj.metadata.managedFields` (dropping empty ones).
pub(crate) fn set_entries(obj: &mut Value, entries: &[Entry]) {
    let list: Vec<Value> = entries
        .iter()
        .filter(|e| !e.fields.is_empty())
        .map(|e| {
            let mut v = json!({
                "manager": e.manager,
                "operation": e.operation,
                "apiVersion": e.api_version,
                "time": e.time,
                "fieldsType": "FieldsV1",
                "fieldsV1": e.fields.to_fields_v1(),
            });
            if let Some(sub) = &e.subresource {
                v["subresource"] = json!(sub);
            }
            v
        })
        .collect();
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        if list.is_empty() {
            meta.shift_remove("managedFields");
        } else {
            meta.insert("managedFields".to_owned(), Value::Array(list));
        }
    }
}
