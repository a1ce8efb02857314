//! Splitting rendered templates into documents, separating hooks, and
//! sorting by kind in Helm's install order.

use std::collections::BTreeMap;

use serde_json::Value;

/// Helm's install order of kinds; unknown kinds go last, by name.
pub(crate) const INSTALL_ORDER: &[&str] = &[
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

const HOOK_EVENTS: &[&str] = &[
    "pre-install",
    "post-install",
    "pre-delete",
    "post-delete",
    "pre-upgrade",
    "post-upgrade",
    "pre-rollback",
    "post-rollback",
    "test",
    "test-success",
];

/// One document of a rendered template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Manifest {
    /// Template path (`chart/templates/x.yaml`).
    pub path: String,
    /// The document text, leading whitespace removed.
    pub content: String,
    /// `kind`.
    pub kind: String,
    /// Whether it is a test hook (`helm.sh/hook` includes `test`).
    pub is_test: bool,
    /// The document as the printed stream reads back (`content` followed by
    /// a line break), parsed once here and reused for the resources.
    pub value: Value,
}

/// A rendered document that is not valid YAML (or not a mapping).
#[derive(Debug, thiserror::Error)]
#[error("YAML parse error on {path}: {message}")]
pub struct YamlError {
    /// Template path.
    pub path: String,
    /// What is wrong, in Helm's words.
    pub message: String,
}

/// Splits a rendered file into documents at lines starting with `---`;
/// each is trimmed at both ends, as Helm's `SplitManifests` does (Helm then
/// prints each followed by one line break).
pub(crate) fn split_documents(text: &str) -> Vec<String> {
    let text = text.trim_start();
    let mut docs = Vec::new();
    // Where the current document starts, and the start of the line looked at.
    let mut start = 0;
    let mut line = 0;
    loop {
        if text[line..].starts_with("---") {
            docs.push(&text[start..line]);
            let after = text[line + 3..].trim_start_matches([' ', '\t']);
            start = text.len() - after.len();
            // What follows on this line belongs to the next document and
            // is not at a line start.
            line = start;
        }
        match text[line..].find('\n') {
            Some(i) => line += i + 1,
            None => break,
        }
    }
    docs.push(&text[start..]);
    docs.into_iter()
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Sorts rendered files into (hooks, manifests), each ordered by kind.
pub(crate) fn sort_manifests(
    files: &BTreeMap<String, String>,
) -> Result<(Vec<Manifest>, Vec<Manifest>), YamlError> {
    let mut hooks = Vec::new();
    let mut generic = Vec::new();
    for (path, content) in files {
        let base = path.rsplit('/').next().unwrap_or(path);
        if base.starts_with('_') || content.trim().is_empty() {
            continue;
        }
        for doc in split_documents(content) {
            let (head, value) = head(path, &doc)?;
            let hook = head.annotations.get("helm.sh/hook");
            let manifest = Manifest {
                path: path.clone(),
                content: doc,
                kind: head.kind,
                is_test: false,
                value,
            };
            let Some(hook) = hook else {
                generic.push(manifest);
                continue;
            };
            let events: Vec<String> = hook.split(',').map(|e| e.trim().to_lowercase()).collect();
            if events.iter().any(|e| !HOOK_EVENTS.contains(&e.as_str())) {
                continue;
            }
            let is_test = events.iter().any(|e| e == "test" || e == "test-success");
            hooks.push(Manifest {
                is_test,
                ..manifest
            });
        }
    }
    sort_by_kind(&mut hooks);
    sort_by_kind(&mut generic);
    Ok((hooks, generic))
}

fn rank(kind: &str) -> Option<usize> {
    INSTALL_ORDER.iter().position(|k| *k == kind)
}

fn sort_by_kind(items: &mut [Manifest]) {
    items.sort_by(|a, b| match (rank(&a.kind), rank(&b.kind)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.kind.cmp(&b.kind),
    });
}

struct Head {
    kind: String,
    annotations: BTreeMap<String, String>,
}

/// The kind and annotations of a document, as Helm reads them (`doc` as it
/// is, without a final line break), and the document as the printed stream
/// reads back (`doc` and a line break): one parse gives both.
fn head(path: &str, doc: &str) -> Result<(Head, Value), YamlError> {
    let err = |message: String| YamlError {
        path: path.to_owned(),
        message,
    };
    let printed = parse_lenient(&format!("{doc}\n"), path).map_err(|e| {
        err(format!(
            "error converting YAML to JSON: yaml: line {}: {}",
            e.line,
            without_position(&e.message)
        ))
    })?;
    if !ends_in_unterminated_block(doc, &printed) {
        return Ok((read_head(&printed, &err)?, printed));
    }
    let mut value = printed.clone();
    kiln_sdk::yaml::unterminated_block_end(doc, &mut value);
    Ok((read_head(&value, &err)?, printed))
}

/// Whether the last scalar of `value` is a block that `doc` ends on without a
/// line break (where the two readings of the document differ).
fn ends_in_unterminated_block(doc: &str, value: &Value) -> bool {
    if doc.is_empty() || doc.ends_with('\n') {
        return false;
    }
    let last_line = doc.rsplit('\n').next().unwrap_or_default().trim_start();
    if last_line.trim().is_empty() {
        return false;
    }
    let mut cur = value;
    loop {
        cur = match cur {
            Value::Object(m) => match m.values().next_back() {
                Some(v) => v,
                None => return false,
            },
            Value::Array(a) => match a.last() {
                Some(v) => v,
                None => return false,
            },
            Value::String(s) => {
                return s.ends_with('\n') && s.trim_end_matches('\n').ends_with(last_line);
            }
            _ => return false,
        };
    }
}

fn read_head(value: &Value, err: &dyn Fn(String) -> YamlError) -> Result<Head, YamlError> {
    let unmarshal = |what: &str, field: &str| {
        err(format!(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {what} into Go {field}"
        ))
    };
    let obj = match value {
        Value::Null => {
            return Ok(Head {
                kind: String::new(),
                annotations: BTreeMap::new(),
            });
        }
        Value::Object(m) => m,
        other => return Err(unmarshal(json_kind(other), "value of type util.SimpleHead")),
    };
    let kind = match obj.get("kind") {
        Some(Value::String(s)) => s.clone(),
        None | Some(Value::Null) => String::new(),
        Some(other) => {
            return Err(unmarshal(
                json_kind(other),
                "struct field SimpleHead.kind of type string",
            ));
        }
    };
    let mut annotations = BTreeMap::new();
    if let Some(Value::Object(ann)) = obj.get("metadata").and_then(|m| m.get("annotations")) {
        for (k, v) in ann {
            match v {
                Value::String(s) => {
                    annotations.insert(k.clone(), s.clone());
                }
                Value::Null => {
                    annotations.insert(k.clone(), String::new());
                }
                other => {
                    return Err(unmarshal(
                        json_kind(other),
                        "struct field .metadata.annotations of type string",
                    ));
                }
            }
        }
    }
    Ok(Head { kind, annotations })
}

/// Parses one document as Helm's YAML decoder does: like the project codec,
/// but a repeated mapping key keeps its last value instead of failing.
pub(crate) fn parse_lenient(doc: &str, file: &str) -> Result<Value, kiln_sdk::yaml::Error> {
    match kiln_sdk::yaml::parse_one(doc, file) {
        Err(e) if e.message.contains("duplicate mapping key") => {
            let mut options = serde_saphyr::Options::default();
            options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::LastWins;
            serde_saphyr::from_str_with_options(doc, options).map_err(|_| e)
        }
        other => other,
    }
}

/// Parses a values file or a chart's YAML file (`Chart.yaml`,
/// `requirements.yaml`) as sigs.k8s.io/yaml reads it: repeated keys keep the
/// last value, and keys YAML 1.1 reads as bools or numbers (`y`, `on`,
/// `0x1F`) become the strings Go prints for them (`true`, `31`).
pub(crate) fn parse_values_stream(
    text: &str,
    file: &str,
) -> Result<Vec<Value>, kiln_sdk::yaml::Error> {
    let docs = parse_stream_dups(text, file)?;
    Ok(kiln_gotmpl::goyaml::convert_keys(text).unwrap_or(docs))
}

/// [`parse_lenient`] for a stream; empty and `null` documents are dropped.
fn parse_stream_dups(text: &str, file: &str) -> Result<Vec<Value>, kiln_sdk::yaml::Error> {
    match kiln_sdk::yaml::parse_stream(text, file) {
        Err(e) if e.message.contains("duplicate mapping key") => {
            let mut options = serde_saphyr::Options::default();
            options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::LastWins;
            let docs: Vec<Value> =
                serde_saphyr::from_multiple_with_options(text, options).map_err(|_| e)?;
            Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
        }
        other => other,
    }
}

/// The parser's message without the " at line L, column C" it ends with
/// (the line is already given, as yaml.v2 gives it).
pub(crate) fn without_position(message: &str) -> &str {
    match message.rsplit_once(" at line ") {
        Some((head, tail))
            if tail.split_once(", column ").is_some_and(|(l, c)| {
                l.bytes().all(|b| b.is_ascii_digit()) && c.bytes().all(|b| b.is_ascii_digit())
            }) =>
        {
            head
        }
        _ => message,
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
        Value::Null => "null",
    }
}

#[cfg(test)]
#[path = "order_tests.rs"]
mod tests;
