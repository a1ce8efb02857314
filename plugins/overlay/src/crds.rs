//! Field specs read from CRD-style `OpenAPI` definitions (`crds:`): object
//! references, annotations, label selectors and identities they mark.

use serde_json::Value;

use crate::fieldspec::{FieldSpec, NameRef, TransformerConfig};
use crate::res::Gvk;

fn props(def: &Value) -> Option<&serde_json::Map<String, Value>> {
    def.get("Schema")
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
}

/// A transformer config from a map of type name to `OpenAPI` definition.
pub(crate) fn config_from_crds(doc: &Value) -> TransformerConfig {
    let mut tc = TransformerConfig::default();
    let Some(defs) = doc.as_object() else {
        return tc;
    };
    for (name, def) in defs {
        let Some(p) = props(def) else { continue };
        if !(p.contains_key("kind") && p.contains_key("apiVersion") && p.contains_key("metadata")) {
            continue;
        }
        let kind = name.rsplit('.').next().unwrap_or(name);
        let gvk = Gvk {
            kind: kind.to_owned(),
            ..Gvk::default()
        };
        load(&mut tc, &gvk, defs, name, &mut Vec::new(), 0);
    }
    tc
}

fn load(
    tc: &mut TransformerConfig,
    gvk: &Gvk,
    defs: &serde_json::Map<String, Value>,
    ty: &str,
    path: &mut Vec<String>,
    depth: usize,
) {
    if depth > 20 {
        return;
    }
    let Some(p) = defs.get(ty).and_then(props) else {
        return;
    };
    for (prop, schema) in p {
        path.push(prop.clone());
        let fs = |extra: Option<&str>| {
            let mut full = path.join("/");
            if let Some(e) = extra {
                full = format!("{full}/{e}");
            }
            FieldSpec {
                gvk: gvk.clone(),
                path: full,
                create: false,
            }
        };
        if schema.get("x-kubernetes-annotation").is_some() {
            tc.common_annotations.push(fs(None));
        }
        if schema.get("x-kubernetes-label-selector").is_some() {
            tc.common_labels.push(fs(None));
        }
        if schema.get("x-kubernetes-identity").is_some() {
            tc.name_prefix.push(fs(None));
        }
        if let (Some(version), Some(kind)) = (
            schema
                .get("x-kubernetes-object-ref-api-version")
                .and_then(Value::as_str),
            schema
                .get("x-kubernetes-object-ref-kind")
                .and_then(Value::as_str),
        ) {
            let key = schema
                .get("x-kubernetes-object-ref-name-key")
                .and_then(Value::as_str)
                .unwrap_or("name");
            let spec = fs(Some(key));
            let target = Gvk {
                kind: kind.to_owned(),
                version: version.to_owned(),
                group: String::new(),
            };
            tc.merge(&TransformerConfig {
                name_reference: vec![NameRef {
                    gvk: target,
                    specs: vec![spec],
                }],
                ..TransformerConfig::default()
            });
        }
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            load(tc, gvk, defs, r, path, depth + 1);
        }
        path.pop();
    }
}
