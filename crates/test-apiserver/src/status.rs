//! Errors as `metav1.Status` objects, the way the real server words them.

use serde_json::{Value, json};

use crate::discovery::ResourceType;
use crate::ssa::Conflict;

/// An API error answered as a `Status` object.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub(crate) code: u16,
    pub(crate) reason: &'static str,
    pub(crate) message: String,
    pub(crate) details: Option<Box<Value>>,
    pub(crate) retry_after: Option<u64>,
}

fn details(rt: &ResourceType, name: &str) -> Value {
    let mut d = json!({"name": name});
    if !rt.group.is_empty() {
        d["group"] = json!(rt.group);
    }
    d["kind"] = json!(rt.plural);
    d
}

impl ApiError {
    pub(crate) fn new(code: u16, reason: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    pub(crate) fn not_found(rt: &ResourceType, name: &str) -> ApiError {
        ApiError {
            details: Some(Box::new(details(rt, name))),
            ..ApiError::new(
                404,
                "NotFound",
                format!("{} {name:?} not found", rt.qualified()),
            )
        }
    }

    pub(crate) fn namespace_not_found(ns: &str) -> ApiError {
        ApiError {
            details: Some(Box::new(json!({"name": ns, "kind": "namespaces"}))),
            ..ApiError::new(404, "NotFound", format!("namespaces {ns:?} not found"))
        }
    }

    pub(crate) fn already_exists(rt: &ResourceType, name: &str) -> ApiError {
        ApiError {
            details: Some(Box::new(details(rt, name))),
            ..ApiError::new(
                409,
                "AlreadyExists",
                format!("{} {name:?} already exists", rt.qualified()),
            )
        }
    }

    pub(crate) fn conflict(rt: &ResourceType, name: &str, why: &str) -> ApiError {
        ApiError {
            details: Some(Box::new(details(rt, name))),
            ..ApiError::new(
                409,
                "Conflict",
                format!(
                    "Operation cannot be fulfilled on {} {name:?}: {why}",
                    rt.qualified()
                ),
            )
        }
    }

    pub(crate) fn stale(rt: &ResourceType, name: &str) -> ApiError {
        ApiError::conflict(
            rt,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "BadRequest", message)
    }

    /// 422 Invalid with one cause.
    pub(crate) fn invalid(rt: &ResourceType, name: &str, field: &str, what: &str) -> ApiError {
        let mut d = details(rt, name);
        d["kind"] = json!(rt.kind);
        d["causes"] = json!([{"reason": "FieldValueInvalid", "message": what, "field": field}]);
        ApiError {
            details: Some(Box::new(d)),
            ..ApiError::new(
                422,
                "Invalid",
                format!("{} {name:?} is invalid: {field}: {what}", rt.kind),
            )
        }
    }

    /// The 409 of a server-side apply whose fields other managers own.
    pub(crate) fn apply_conflict(conflicts: &[Conflict]) -> ApiError {
        let message = if let [only] = conflicts {
            format!(
                "Apply failed with 1 conflict: conflict with {}: {}",
                only.manager, only.path
            )
        } else {
            let mut managers: Vec<&str> = conflicts.iter().map(|c| c.manager.as_str()).collect();
            managers.sort_unstable();
            managers.dedup();
            let mut lines = Vec::new();
            for m in managers {
                lines.push(format!("conflicts with {m}:"));
                lines.extend(
                    conflicts
                        .iter()
                        .filter(|c| c.manager == m)
                        .map(|c| format!("- {}", c.path)),
                );
            }
            format!(
                "Apply failed with {} conflicts: {}",
                conflicts.len(),
                lines.join("\n")
            )
        };
        let causes: Vec<Value> = conflicts
            .iter()
            .map(|c| json!({"reason": "FieldManagerConflict", "message": format!("conflict with {}", c.manager), "field": c.path}))
            .collect();
        ApiError {
            details: Some(Box::new(json!({"causes": causes}))),
            ..ApiError::new(409, "Conflict", message)
        }
    }

    /// The `Status` body.
    pub(crate) fn to_json(&self) -> Value {
        let mut v = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            v["details"] = (**d).clone();
        }
        if let Some(secs) = self.retry_after {
            v["details"]["retryAfterSeconds"] = json!(secs);
        }
        v
    }
}
