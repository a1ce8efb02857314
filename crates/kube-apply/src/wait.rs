//! Waiting for applied objects to become ready.

use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use crate::api::Kube;
use crate::plan::Planned;
use crate::report::{Event, WaitResult};

/// How often an object is read while waiting.
const POLL: Duration = Duration::from_millis(200);

/// Where an object stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Readiness {
    Ready,
    /// Not yet; the condition being waited for.
    Pending(String),
    /// It will not become ready by waiting (a failed Job, a stalled rollout).
    Failed(String),
}

/// Whether kiln knows how to wait for this kind.
pub(crate) fn waitable(group: &str, kind: &str) -> bool {
    matches!(
        (group, kind),
        ("apps", "Deployment" | "StatefulSet" | "DaemonSet")
            | ("batch", "Job")
            | ("apiextensions.k8s.io", "CustomResourceDefinition")
    )
}

fn int(obj: &Value, pointer: &str) -> Option<i64> {
    obj.pointer(pointer).and_then(Value::as_i64)
}

fn condition<'a>(obj: &'a Value, kind: &str) -> Option<&'a Value> {
    obj.pointer("/status/conditions")
        .and_then(Value::as_array)?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))
}

fn condition_is(obj: &Value, kind: &str, status: &str) -> bool {
    condition(obj, kind)
        .and_then(|c| c.get("status"))
        .and_then(Value::as_str)
        == Some(status)
}

fn message(c: Option<&Value>) -> String {
    c.and_then(|c| c.get("message").or_else(|| c.get("reason")))
        .and_then(Value::as_str)
        .unwrap_or("no message")
        .to_owned()
}

/// The readiness of a live object of a waitable kind.
pub(crate) fn readiness(kind: &str, obj: &Value) -> Readiness {
    let pending = |s: String| Readiness::Pending(s);
    if matches!(kind, "Deployment" | "StatefulSet" | "DaemonSet") {
        let generation = int(obj, "/metadata/generation").unwrap_or(0);
        let observed = int(obj, "/status/observedGeneration").unwrap_or(0);
        if observed < generation {
            return pending(format!(
                "observedGeneration {observed} < generation {generation}: the controller has not seen the change"
            ));
        }
    }
    match kind {
        "Deployment" => {
            if let Some(c) = condition(obj, "Progressing")
                && c.get("reason").and_then(Value::as_str) == Some("ProgressDeadlineExceeded")
            {
                return Readiness::Failed(format!("Progressing: {}", message(Some(c))));
            }
            let want = int(obj, "/spec/replicas").unwrap_or(1);
            let updated = int(obj, "/status/updatedReplicas").unwrap_or(0);
            let total = int(obj, "/status/replicas").unwrap_or(0);
            let available = int(obj, "/status/availableReplicas").unwrap_or(0);
            if updated < want {
                pending(format!("{updated} of {want} replicas updated"))
            } else if total > updated {
                pending(format!(
                    "{} old replicas pending termination",
                    total - updated
                ))
            } else if available < updated {
                pending(format!(
                    "{available} of {updated} updated replicas available"
                ))
            } else {
                Readiness::Ready
            }
        }
        "StatefulSet" => {
            let want = int(obj, "/spec/replicas").unwrap_or(1);
            let ready = int(obj, "/status/readyReplicas").unwrap_or(0);
            let current = obj
                .pointer("/status/currentRevision")
                .and_then(Value::as_str);
            let update = obj
                .pointer("/status/updateRevision")
                .and_then(Value::as_str);
            if ready < want {
                pending(format!("{ready} of {want} replicas ready"))
            } else if let (Some(c), Some(u)) = (current, update)
                && c != u
            {
                pending(format!("revision {u} rolling out (current {c})"))
            } else {
                Readiness::Ready
            }
        }
        "DaemonSet" => {
            let want = int(obj, "/status/desiredNumberScheduled").unwrap_or(0);
            let updated = int(obj, "/status/updatedNumberScheduled").unwrap_or(0);
            let available = int(obj, "/status/numberAvailable").unwrap_or(0);
            if updated < want {
                pending(format!("{updated} of {want} pods updated"))
            } else if available < want {
                pending(format!("{available} of {want} pods available"))
            } else {
                Readiness::Ready
            }
        }
        "Job" => {
            if condition_is(obj, "Failed", "True") {
                Readiness::Failed(format!("Failed: {}", message(condition(obj, "Failed"))))
            } else if condition_is(obj, "Complete", "True") {
                Readiness::Ready
            } else {
                let done = int(obj, "/status/succeeded").unwrap_or(0);
                pending(format!(
                    "condition Complete not true ({done} pods succeeded)"
                ))
            }
        }
        "CustomResourceDefinition" => {
            if condition_is(obj, "NamesAccepted", "False") {
                Readiness::Failed(format!(
                    "NamesAccepted: {}",
                    message(condition(obj, "NamesAccepted"))
                ))
            } else if condition_is(obj, "Established", "True") {
                Readiness::Ready
            } else {
                pending("condition Established not true".to_owned())
            }
        }
        _ => Readiness::Ready,
    }
}

/// Waits for every object until `deadline`, all at once.
pub(crate) async fn wait_all(
    kube: &Kube<'_>,
    objects: &[&Planned],
    deadline: Instant,
) -> Vec<WaitResult> {
    let waits = objects.iter().map(|p| wait_one(kube, p, deadline));
    futures_util::future::join_all(waits).await
}

async fn wait_one(kube: &Kube<'_>, p: &Planned, deadline: Instant) -> WaitResult {
    let mut last = String::new();
    loop {
        let state = match kube
            .get(&p.res, p.id.namespace.as_deref(), &p.id.name)
            .await
        {
            Ok(Some(obj)) => readiness(&p.id.kind, &obj),
            Ok(None) => Readiness::Pending("the object does not exist".to_owned()),
            Err(e) => Readiness::Pending(format!("cannot read it: {e}")),
        };
        let blocked = match state {
            Readiness::Ready => {
                (kube.progress)(Event::Ready { id: p.id.clone() });
                return WaitResult {
                    id: p.id.clone(),
                    blocked: None,
                };
            }
            Readiness::Failed(why) => Some(why),
            Readiness::Pending(why) => {
                if Instant::now() >= deadline {
                    Some(format!("timed out waiting: {why}"))
                } else {
                    if why != last {
                        (kube.progress)(Event::Waiting {
                            id: p.id.clone(),
                            message: why.clone(),
                        });
                        last = why;
                    }
                    None
                }
            }
        };
        if blocked.is_some() {
            return WaitResult {
                id: p.id.clone(),
                blocked,
            };
        }
        tokio::time::sleep(POLL.min(deadline.saturating_duration_since(Instant::now()))).await;
    }
}

#[cfg(test)]
#[path = "wait_tests.rs"]
mod tests;
