//! The little object validation the emulator does: names, label keys and values, as the real
//! server words its 422 Invalid answers.

use serde_json::Value;

use crate::discovery::ResourceType;
use crate::status::ApiError;

const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const QUALIFIED_MSG: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`, at most 63 characters (empty allowed if `empty_ok`).
fn is_qualified_part(s: &str, empty_ok: bool) -> bool {
    let b = s.as_bytes();
    if b.is_empty() {
        return empty_ok;
    }
    b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
}

/// A label or annotation key: an optional DNS-subdomain prefix and `/`, then a qualified name.
fn key_problem(key: &str) -> Option<String> {
    let (prefix, name) = key
        .rsplit_once('/')
        .map_or((None, key), |(p, n)| (Some(p), n));
    if let Some(p) = prefix.filter(|p| !is_dns_subdomain(p)) {
        return Some(format!("prefix part {p:?} is not a valid DNS subdomain"));
    }
    (!is_qualified_part(name, false)).then(|| QUALIFIED_MSG.to_owned())
}

/// Checks `metadata.name`, label keys and values, and annotation keys.
pub(crate) fn object(rt: &ResourceType, obj: &Value) -> Result<(), ApiError> {
    let meta = &obj["metadata"];
    let name = meta["name"].as_str().unwrap_or_default();
    if rt.group == "rbac.authorization.k8s.io" {
        // RBAC names are path segments (`system:aggregate-to-admin` is fine).
        if name.is_empty() || name == "." || name == ".." || name.contains(['/', '%']) {
            let what = format!(
                "Invalid value: {name:?}: may not be '.' or '..' and may not contain '/' or '%'"
            );
            return Err(ApiError::invalid(rt, name, "metadata.name", &what));
        }
        return labels_and_annotations(rt, name, meta);
    }
    let label_only = matches!(rt.kind.as_str(), "Namespace" | "Service");
    if label_only && !is_dns_label(name) {
        return Err(ApiError::invalid(
            rt,
            name,
            "metadata.name",
            &format!("Invalid value: {name:?}: {LABEL_MSG}"),
        ));
    }
    if !label_only && !is_dns_subdomain(name) {
        return Err(ApiError::invalid(
            rt,
            name,
            "metadata.name",
            &format!("Invalid value: {name:?}: {SUBDOMAIN_MSG}"),
        ));
    }
    labels_and_annotations(rt, name, meta)
}

fn labels_and_annotations(rt: &ResourceType, name: &str, meta: &Value) -> Result<(), ApiError> {
    if let Some(labels) = meta["labels"].as_object() {
        for (key, value) in labels {
            if let Some(problem) = key_problem(key) {
                return Err(ApiError::invalid(
                    rt,
                    name,
                    "metadata.labels",
                    &format!("Invalid value: {key:?}: {problem}"),
                ));
            }
            let Some(text) = value.as_str() else {
                return Err(ApiError::bad_request(format!(
                    "label {key:?} of {} {name:?} must be a string, not {value}",
                    rt.kind
                )));
            };
            if !is_qualified_part(text, true) {
                let field = format!("metadata.labels[{key:?}]");
                return Err(ApiError::invalid(
                    rt,
                    name,
                    &field,
                    &format!("Invalid value: {value}: {VALUE_MSG}"),
                ));
            }
        }
    }
    if let Some(annotations) = meta["annotations"].as_object() {
        for (key, value) in annotations {
            if let Some(problem) = key_problem(key) {
                return Err(ApiError::invalid(
                    rt,
                    name,
                    "metadata.annotations",
                    &format!("Invalid value: {key:?}: {problem}"),
                ));
            }
            if !value.is_string() {
                return Err(ApiError::bad_request(format!(
                    "annotation {key:?} of {} {name:?} must be a string, not {value}",
                    rt.kind
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_label_syntax() {
        assert!(is_dns_subdomain("web.example-1"));
        assert!(!is_dns_subdomain("Web"));
        assert!(!is_dns_subdomain("-web"));
        assert!(!is_dns_label("a.b"));
        assert!(is_qualified_part("My_Value.1", false));
        assert!(is_qualified_part("", true));
        assert!(!is_qualified_part("bad value", true));
        assert!(key_problem("app.kubernetes.io/name").is_none());
        assert!(key_problem("Bad_Prefix/name").is_some());
        assert!(key_problem("/name").is_some());
    }
}
