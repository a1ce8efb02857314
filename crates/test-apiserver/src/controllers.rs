//! Opt-in stand-in controllers: after a delay, workloads whose spec changed are reported ready
//! (`Deployment`, `StatefulSet`, `DaemonSet`, `ReplicaSet`) or complete (`Job`), so readiness waits can
//! be tested without writing `/status` by hand.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::clock;
use crate::server::Shared;
use crate::store::{Event, Key};

/// Whether `event` is a workload that has not been reported ready for its current spec.
fn pending(event: &Event) -> bool {
    let obj = &event.object;
    match (
        event.kind,
        event.key.group.as_str(),
        event.key.plural.as_str(),
    ) {
        ("DELETED", _, _) => false,
        (_, "apps", "deployments" | "statefulsets" | "daemonsets" | "replicasets") => {
            obj["status"]["observedGeneration"] != obj["metadata"]["generation"]
        }
        (_, "batch", "jobs") => !obj["status"]["conditions"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["type"] == "Complete")),
        _ => false,
    }
}

/// The status a healthy controller would have written for `obj`.
fn ready_status(plural: &str, obj: &Value) -> Value {
    let generation = obj["metadata"]["generation"].clone();
    let replicas = obj["spec"]["replicas"].as_u64().unwrap_or(1);
    let now = clock::now_rfc3339();
    let condition = |t: &str, reason: &str| json!({"type": t, "status": "True", "reason": reason, "lastTransitionTime": now, "lastUpdateTime": now});
    match plural {
        "deployments" => json!({
            "observedGeneration": generation, "replicas": replicas, "updatedReplicas": replicas,
            "readyReplicas": replicas, "availableReplicas": replicas,
            "conditions": [condition("Available", "MinimumReplicasAvailable"), condition("Progressing", "NewReplicaSetAvailable")],
        }),
        "statefulsets" => {
            let revision = format!(
                "{}-{}",
                obj["metadata"]["name"].as_str().unwrap_or_default(),
                generation
            );
            json!({
                "observedGeneration": generation, "replicas": replicas, "readyReplicas": replicas,
                "currentReplicas": replicas, "updatedReplicas": replicas, "availableReplicas": replicas,
                "currentRevision": revision, "updateRevision": revision,
            })
        }
        "daemonsets" => json!({
            "observedGeneration": generation, "desiredNumberScheduled": 1, "currentNumberScheduled": 1,
            "numberReady": 1, "updatedNumberScheduled": 1, "numberAvailable": 1, "numberMisscheduled": 0,
        }),
        "replicasets" => json!({
            "observedGeneration": generation, "replicas": replicas, "fullyLabeledReplicas": replicas,
            "readyReplicas": replicas, "availableReplicas": replicas,
        }),
        _ => {
            let completions = obj["spec"]["completions"].as_u64().unwrap_or(1);
            json!({
                "startTime": now, "completionTime": now, "succeeded": completions, "ready": 0,
                "conditions": [condition("SuccessCriteriaMet", "CompletionsReached"), condition("Complete", "CompletionsReached")],
            })
        }
    }
}

/// Runs until the server stops: watches the store and marks pending workloads ready after `delay`.
pub(crate) async fn run(shared: Arc<Shared>, delay: Duration) {
    let mut changes = shared.lock().store.subscribe();
    let mut shutdown = shared.shutdown.clone();
    let mut seen = shared.lock().store.resource_version();
    loop {
        tokio::select! {
            result = changes.changed() => if result.is_err() { return },
            _ = shutdown.changed() => return,
        }
        let events = shared.lock().store.events_since(seen);
        for event in events {
            seen = event.rv;
            if pending(&event) {
                let generation = event.object["metadata"]["generation"].clone();
                tokio::spawn(mark_ready(
                    Arc::clone(&shared),
                    event.key,
                    generation,
                    delay,
                ));
            }
        }
    }
}

async fn mark_ready(shared: Arc<Shared>, key: Key, generation: Value, delay: Duration) {
    tokio::time::sleep(delay).await;
    let mut state = shared.lock();
    let Some(mut obj) = state.store.get(&key).cloned() else {
        return;
    };
    // A newer spec has its own timer.
    if obj["metadata"]["generation"] != generation
        || obj["metadata"]["deletionTimestamp"].is_string()
    {
        return;
    }
    obj["status"] = ready_status(&key.plural, &obj);
    state.store.put_uncounted(&key, obj);
}
