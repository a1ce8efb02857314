//! Small helpers on resources held as [`serde_json::Value`].

use serde_json::{Map, Value};

/// Accessors and builders for Kubernetes resources.
pub trait ResourceExt {
    /// `apiVersion`, or `""`.
    fn api_version(&self) -> &str;
    /// `kind`, or `""`.
    fn kind(&self) -> &str;
    /// `metadata.name`, or `""`.
    fn name(&self) -> &str;
    /// `metadata.namespace`, if set.
    fn namespace(&self) -> Option<&str>;
    /// The value of label `key`, if set.
    fn label(&self, key: &str) -> Option<&str>;
    /// The value of annotation `key`, if set.
    fn annotation(&self, key: &str) -> Option<&str>;
    /// `metadata`, created if missing.
    fn metadata_mut(&mut self) -> &mut Map<String, Value>;
    /// Sets label `key` to `value`.
    #[must_use]
    fn with_label(self, key: &str, value: &str) -> Self;
    /// Sets annotation `key` to `value`.
    #[must_use]
    fn with_annotation(self, key: &str, value: &str) -> Self;
    /// Sets `metadata.namespace`.
    #[must_use]
    fn with_namespace(self, namespace: &str) -> Self;
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

fn object_at<'a>(map: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let slot = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut().expect("just made an object")
}

impl ResourceExt for Value {
    fn api_version(&self) -> &str {
        str_at(self, &["apiVersion"]).unwrap_or_default()
    }
    fn kind(&self) -> &str {
        str_at(self, &["kind"]).unwrap_or_default()
    }
    fn name(&self) -> &str {
        str_at(self, &["metadata", "name"]).unwrap_or_default()
    }
    fn namespace(&self) -> Option<&str> {
        str_at(self, &["metadata", "namespace"])
    }
    fn label(&self, key: &str) -> Option<&str> {
        str_at(self, &["metadata", "labels", key])
    }
    fn annotation(&self, key: &str) -> Option<&str> {
        str_at(self, &["metadata", "annotations", key])
    }
    fn metadata_mut(&mut self) -> &mut Map<String, Value> {
        if !self.is_object() {
            *self = Value::Object(Map::new());
        }
        let root = self.as_object_mut().expect("just made an object");
        object_at(root, "metadata")
    }
    fn with_label(mut self, key: &str, value: &str) -> Self {
        object_at(self.metadata_mut(), "labels").insert(key.to_owned(), value.into());
        self
    }
    fn with_annotation(mut self, key: &str, value: &str) -> Self {
        object_at(self.metadata_mut(), "annotations").insert(key.to_owned(), value.into());
        self
    }
    fn with_namespace(mut self, namespace: &str) -> Self {
        self.metadata_mut()
            .insert("namespace".to_owned(), namespace.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn builders_create_missing_metadata() {
        let r = json!({"apiVersion": "v1", "kind": "ConfigMap"})
            .with_label("team", "a")
            .with_annotation("x", "y")
            .with_namespace("prod");
        assert_eq!(r.label("team"), Some("a"));
        assert_eq!(r.annotation("x"), Some("y"));
        assert_eq!(r.namespace(), Some("prod"));
        assert_eq!(r.kind(), "ConfigMap");
        assert_eq!(r.name(), "");
    }
}
