//! The status record of an app, in Flux's vocabulary, kept as JSON in the
//! data key `status` of the app's inventory `ConfigMap`.
//!
//! The record is versioned (`apiVersion: kiln.dev/v1alpha1`, `kind:
//! AppStatus`) and frozen: fields may be added, never renamed or removed, so
//! that an `App` custom resource can later carry the same record as its
//! `.status`. Readers ignore fields they do not know.
//!
//! ```json
//! {"apiVersion": "kiln.dev/v1alpha1", "kind": "AppStatus", "app": "payments/api",
//!  "source": "https://git.example/config.git#apps/payments/api",
//!  "conditions": [{"type": "Ready", "status": "True", "reason": "ReconciliationSucceeded",
//!                  "message": "Applied revision: main@sha1:…", "lastTransitionTime": "…"}],
//!  "lastAttemptedRevision": "main@sha1:…", "lastAppliedRevision": "main@sha1:…",
//!  "renderKey": "…", "plugins": [{"name": "directory", "digest": "…"}],
//!  "syncStatus": "Synced", "healthStatus": "Healthy", "suspended": false, "driftedObjects": [],
//!  "history": [{"revision": "main@sha1:…", "renderKey": "…", "reason": "ReconciliationSucceeded",
//!               "firstReconciled": "…", "durationSeconds": 0.2}]}
//! ```
//!
//! History keeps the last [`HISTORY`] distinct runs: a run whose revision,
//! render key and reason equal the latest entry's is not recorded again, so
//! a steady app writes nothing.

use serde::{Deserialize, Serialize};

/// The record's `apiVersion`.
pub const API_VERSION: &str = "kiln.dev/v1alpha1";
/// The record's `kind`.
pub const KIND: &str = "AppStatus";
/// How many runs the history keeps.
pub const HISTORY: usize = 5;

/// Condition types.
pub mod condition {
    /// The app is converged to its last attempted revision.
    pub const READY: &str = "Ready";
    /// A reconcile is in progress.
    pub const RECONCILING: &str = "Reconciling";
    /// The app cannot converge without a change to its source or config.
    pub const STALLED: &str = "Stalled";
}

/// Condition reasons (Flux's, plus `DriftDetected`).
pub mod reason {
    /// Applied (and, with `wait`, healthy).
    pub const SUCCEEDED: &str = "ReconciliationSucceeded";
    /// Applying failed for some objects.
    pub const FAILED: &str = "ReconciliationFailed";
    /// The render failed or came out empty.
    pub const BUILD_FAILED: &str = "BuildFailed";
    /// The source could not be fetched or read.
    pub const ARTIFACT_FAILED: &str = "ArtifactFailed";
    /// A waited-for object did not become ready in time.
    pub const HEALTH_CHECK_FAILED: &str = "HealthCheckFailed";
    /// Deleting what the render dropped failed.
    pub const PRUNE_FAILED: &str = "PruneFailed";
    /// An app this one depends on is not ready at the same revision.
    pub const DEPENDENCY_NOT_READY: &str = "DependencyNotReady";
    /// Live objects differ from the render (`drift: detect`).
    pub const DRIFT_DETECTED: &str = "DriftDetected";
    /// A reconcile is running.
    pub const PROGRESSING: &str = "Progressing";
    /// The app is suspended.
    pub const SUSPENDED: &str = "Suspended";
}

/// A condition, as Kubernetes' `metav1.Condition`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// `Ready`, `Reconciling` or `Stalled`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// A reason from [`reason`].
    pub reason: String,
    /// For people.
    pub message: String,
    /// RFC 3339; changes only when `status` changes.
    pub last_transition_time: String,
}

/// A plugin a render used, for provenance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginDigest {
    /// The step's plugin.
    pub name: String,
    /// blake3 of its code.
    pub digest: String,
}

/// One run in the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    /// The revision, `<ref>@sha1:<sha>`.
    pub revision: String,
    /// The render key (empty when the render failed).
    #[serde(default)]
    pub render_key: String,
    /// The Ready reason the run ended with.
    pub reason: String,
    /// When it was first seen (RFC 3339).
    pub first_reconciled: String,
    /// How long the run took.
    pub duration_seconds: f64,
}

/// The status of one app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppStatus {
    /// [`API_VERSION`].
    pub api_version: String,
    /// [`KIND`].
    pub kind: String,
    /// The app's path below the apps' root.
    pub app: String,
    /// Where it comes from: the repository URL (without credentials) and path.
    #[serde(default)]
    pub source: String,
    /// `Ready`, and `Reconciling` / `Stalled` when they hold.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// The revision of the last reconcile, `<ref>@sha1:<sha>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_revision: Option<String>,
    /// The revision last applied in full.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied_revision: Option<String>,
    /// The last `kiln.dev/requestedAt` value acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
    /// The key of the render's last step (its output's content address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub render_key: Option<String>,
    /// The plugins of the render, in step order.
    #[serde(default)]
    pub plugins: Vec<PluginDigest>,
    /// Argo CD's view: `Synced`, `OutOfSync` or `Unknown`.
    #[serde(default)]
    pub sync_status: String,
    /// Argo CD's view: `Healthy`, `Progressing`, `Degraded` or `Unknown`.
    #[serde(default)]
    pub health_status: String,
    /// Whether reconciling is suspended.
    #[serde(default)]
    pub suspended: bool,
    /// Objects found drifted by the last check (`apiVersion/Kind/namespace/name`).
    #[serde(default)]
    pub drifted_objects: Vec<String>,
    /// The last distinct runs, newest first.
    #[serde(default)]
    pub history: Vec<Run>,
}

impl AppStatus {
    /// A fresh record for `app`.
    pub fn new(app: &str, source: &str) -> Self {
        AppStatus {
            api_version: API_VERSION.to_owned(),
            kind: KIND.to_owned(),
            app: app.to_owned(),
            source: source.to_owned(),
            conditions: Vec::new(),
            last_attempted_revision: None,
            last_applied_revision: None,
            last_handled_reconcile_at: None,
            render_key: None,
            plugins: Vec::new(),
            sync_status: "Unknown".to_owned(),
            health_status: "Unknown".to_owned(),
            suspended: false,
            drifted_objects: Vec::new(),
            history: Vec::new(),
        }
    }

    /// The condition of type `kind`.
    pub fn condition(&self, kind: &str) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.kind == kind)
    }

    /// Whether `Ready` is `True`.
    pub fn ready(&self) -> bool {
        self.condition(condition::READY)
            .is_some_and(|c| c.status == "True")
    }

    /// Sets a condition; the transition time moves only when the status changes.
    pub fn set(&mut self, kind: &str, status: bool, reason: &str, message: &str, now: &str) {
        let status = if status { "True" } else { "False" };
        match self.conditions.iter_mut().find(|c| c.kind == kind) {
            Some(c) => {
                if c.status != status {
                    now.clone_into(&mut c.last_transition_time);
                }
                status.clone_into(&mut c.status);
                reason.clone_into(&mut c.reason);
                message.clone_into(&mut c.message);
            }
            None => self.conditions.push(Condition {
                kind: kind.to_owned(),
                status: status.to_owned(),
                reason: reason.to_owned(),
                message: message.to_owned(),
                last_transition_time: now.to_owned(),
            }),
        }
    }

    /// Removes a condition.
    pub fn clear(&mut self, kind: &str) {
        self.conditions.retain(|c| c.kind != kind);
    }

    /// Sets `Ready` and, for failures that need a change in git, `Stalled`.
    pub fn set_ready(&mut self, ok: bool, reason: &str, message: &str, now: &str) {
        self.set(condition::READY, ok, reason, message, now);
        self.clear(condition::RECONCILING);
        if !ok && reason == reason::BUILD_FAILED {
            self.set(condition::STALLED, true, reason, message, now);
        } else {
            self.clear(condition::STALLED);
        }
    }

    /// Records a run, unless it repeats the latest entry.
    pub fn record(&mut self, run: Run) {
        if let Some(last) = self.history.first()
            && last.revision == run.revision
            && last.render_key == run.render_key
            && last.reason == run.reason
        {
            return;
        }
        self.history.insert(0, run);
        self.history.truncate(HISTORY);
    }

    /// The record as stored.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("the record serializes")
    }

    /// Reads a stored record; `None` when it is not one this kiln can read.
    pub fn from_json(text: &str) -> Option<Self> {
        let status: AppStatus = serde_json::from_str(text).ok()?;
        (status.api_version == API_VERSION && status.kind == KIND).then_some(status)
    }
}

/// A revision as Flux writes it: `<ref>@sha1:<sha>`.
pub fn revision(reference: &str, sha: &str) -> String {
    let short = reference
        .strip_prefix("refs/heads/")
        .or_else(|| reference.strip_prefix("refs/tags/"))
        .unwrap_or(reference);
    format!("{short}@sha1:{sha}")
}

/// The current time, RFC 3339 in UTC with seconds.
pub fn now() -> String {
    rfc3339(std::time::SystemTime::now())
}

/// `t` as RFC 3339 in UTC with seconds.
pub fn rfc3339(t: std::time::SystemTime) -> String {
    k8s_openapi::chrono::DateTime::<k8s_openapi::chrono::Utc>::from(t)
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revisions_are_fluxs() {
        assert_eq!(revision("refs/heads/main", "abc"), "main@sha1:abc");
        assert_eq!(revision("refs/tags/v1", "abc"), "v1@sha1:abc");
        assert_eq!(revision("HEAD", "abc"), "HEAD@sha1:abc");
    }

    #[test]
    fn times_are_rfc3339() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        assert_eq!(rfc3339(t), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(std::time::UNIX_EPOCH), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn transition_time_moves_only_on_a_status_change() {
        let mut s = AppStatus::new("a", "src");
        s.set_ready(true, reason::SUCCEEDED, "ok", "t1");
        s.set_ready(true, reason::SUCCEEDED, "ok again", "t2");
        let c = s.condition(condition::READY).unwrap();
        assert_eq!(
            (c.last_transition_time.as_str(), c.message.as_str()),
            ("t1", "ok again")
        );
        s.set_ready(false, reason::BUILD_FAILED, "bad", "t3");
        assert_eq!(
            s.condition(condition::READY).unwrap().last_transition_time,
            "t3"
        );
        assert!(s.condition(condition::STALLED).is_some());
        s.set_ready(true, reason::SUCCEEDED, "ok", "t4");
        assert!(s.condition(condition::STALLED).is_none());
        assert!(s.ready());
    }

    #[test]
    fn history_keeps_five_distinct_runs() {
        let mut s = AppStatus::new("a", "src");
        let run = |rev: &str, reason: &str| Run {
            revision: rev.to_owned(),
            render_key: "k".to_owned(),
            reason: reason.to_owned(),
            first_reconciled: "t".to_owned(),
            duration_seconds: 0.1,
        };
        s.record(run("r1", reason::SUCCEEDED));
        s.record(run("r1", reason::SUCCEEDED));
        assert_eq!(s.history.len(), 1);
        for i in 2..9 {
            s.record(run(&format!("r{i}"), reason::SUCCEEDED));
        }
        assert_eq!(s.history.len(), HISTORY);
        assert_eq!(s.history[0].revision, "r8");
    }

    #[test]
    fn the_stored_form_round_trips_and_unknown_fields_are_ignored() {
        let mut s = AppStatus::new("web", "file:///r#apps/web");
        s.set_ready(true, reason::SUCCEEDED, "ok", "t");
        s.last_applied_revision = Some(revision("main", "abc"));
        let json = s.to_json();
        assert!(
            json.contains("\"lastAppliedRevision\":\"main@sha1:abc\""),
            "{json}"
        );
        assert_eq!(AppStatus::from_json(&json), Some(s.clone()));
        let newer = json.replacen('{', "{\"fieldOfALaterKiln\":1,", 1);
        assert_eq!(AppStatus::from_json(&newer), Some(s));
        assert_eq!(AppStatus::from_json("{\"apiVersion\":\"x\"}"), None);
    }
}
