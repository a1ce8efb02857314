//! Reading `Chart.yaml` fields and presenting them to templates as `.Chart`.

use serde_json::{Map, Value, json};

use crate::chart::{Dependency, Maintainer, Metadata};

/// A scalar as the string Helm's YAML decoder would give a string field.
fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn texts(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(items)) => items.iter().map(|i| text(Some(i))).collect(),
        _ => Vec::new(),
    }
}

/// Scalar fields of `Chart.yaml` read as their source text, as Helm's
/// decoder does for string fields (`appVersion: 1.10` stays `1.10`).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawScalars {
    name: Option<RawText>,
    version: Option<RawText>,
    app_version: Option<RawText>,
    kube_version: Option<RawText>,
    description: Option<RawText>,
}

/// A scalar kept as written.
#[derive(Debug)]
struct RawText(String);

impl<'de> serde::Deserialize<'de> for RawText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(RawText)
    }
}

/// Replaces number-like scalars of `md` by their source text in `text`.
pub(crate) fn keep_scalar_text(md: &mut Metadata, text: &str) {
    let Ok(raw) = serde_saphyr::from_str::<RawScalars>(text) else {
        return;
    };
    for (field, value) in [
        (&mut md.name, raw.name),
        (&mut md.version, raw.version),
        (&mut md.app_version, raw.app_version),
        (&mut md.kube_version, raw.kube_version),
        (&mut md.description, raw.description),
    ] {
        if let Some(RawText(v)) = value {
            *field = v;
        }
    }
}

/// Reads `Chart.yaml` (already parsed).
pub(crate) fn metadata(doc: &Value) -> Metadata {
    let g = |k: &str| doc.get(k);
    Metadata {
        name: text(g("name")),
        home: text(g("home")),
        sources: texts(g("sources")),
        version: text(g("version")),
        description: text(g("description")),
        keywords: texts(g("keywords")),
        maintainers: match g("maintainers") {
            Some(Value::Array(items)) => items
                .iter()
                .map(|m| Maintainer {
                    name: text(m.get("name")),
                    email: text(m.get("email")),
                    url: text(m.get("url")),
                })
                .collect(),
            _ => Vec::new(),
        },
        icon: text(g("icon")),
        api_version: text(g("apiVersion")),
        condition: text(g("condition")),
        tags: text(g("tags")),
        app_version: text(g("appVersion")),
        deprecated: matches!(g("deprecated"), Some(Value::Bool(true))),
        annotations: match g("annotations") {
            Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), text(Some(v)))).collect(),
            _ => std::collections::BTreeMap::new(),
        },
        kube_version: text(g("kubeVersion")),
        dependencies: dependencies(doc),
        chart_type: text(g("type")),
    }
}

/// Reads the `dependencies` list of `Chart.yaml` or `requirements.yaml`.
pub(crate) fn dependencies(doc: &Value) -> Vec<Dependency> {
    let Some(Value::Array(items)) = doc.get("dependencies") else {
        return Vec::new();
    };
    items
        .iter()
        .filter(|d| d.is_object())
        .map(|d| Dependency {
            name: text(d.get("name")),
            version: text(d.get("version")),
            repository: text(d.get("repository")),
            condition: text(d.get("condition")),
            tags: texts(d.get("tags")),
            enabled: matches!(d.get("enabled"), Some(Value::Bool(true))),
            import_values: match d.get("import-values") {
                Some(Value::Array(v)) => v.clone(),
                _ => Vec::new(),
            },
            alias: text(d.get("alias")),
        })
        .collect()
}

fn strings(v: &[String]) -> Value {
    Value::Array(v.iter().map(|s| Value::String(s.clone())).collect())
}

/// `.Chart` as templates see it: the metadata with Go field names.
pub(crate) fn chart_object(md: &Metadata, is_root: bool) -> Value {
    let deps: Vec<Value> = md
        .dependencies
        .iter()
        .map(|d| {
            json!({
                "Name": d.name, "Version": d.version, "Repository": d.repository,
                "Condition": d.condition, "Tags": strings(&d.tags), "Enabled": d.enabled,
                "ImportValues": d.import_values, "Alias": d.alias,
            })
        })
        .collect();
    let maintainers: Vec<Value> = md
        .maintainers
        .iter()
        .map(|m| json!({"Name": m.name, "Email": m.email, "URL": m.url}))
        .collect();
    let annotations: Map<String, Value> = md
        .annotations
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    json!({
        "Name": md.name, "Home": md.home, "Sources": strings(&md.sources), "Version": md.version,
        "Description": md.description, "Keywords": strings(&md.keywords),
        "Maintainers": maintainers, "Icon": md.icon, "APIVersion": md.api_version,
        "Condition": md.condition, "Tags": md.tags, "AppVersion": md.app_version,
        "Deprecated": md.deprecated, "Annotations": annotations, "KubeVersion": md.kube_version,
        "Dependencies": deps, "Type": md.chart_type, "IsRoot": is_root,
    })
}
