//! Reconciling one app: render, apply (or check drift), and the status and
//! metrics that follow. The loop ([`super::run`]) decides when.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use kiln_kube::{Action, Applier, ApplyOptions, Change, Manifests, Report};

use super::config::{Drift, Policy};
use super::metrics::{Metrics, labels};
use super::source::{AppRef, Snapshot};
use super::status::{AppStatus, PluginDigest, Run, now, reason};
use crate::cache::CacheStatus;
use crate::pipeline::Rendered;

/// What a reconcile should do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// Render and apply (a new revision, a request, or a retry).
    Apply,
    /// Render (from the cache) and compare with the cluster by server-side dry run.
    DriftCheck,
}

/// How a reconcile ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Applied, or no drift, or drift handled as the policy says.
    Ok,
    /// Failed with this Ready reason; retry with backoff.
    Failed(&'static str),
    /// Another replica holds the app (sharding): nothing was done; look again soon.
    Busy(String),
}

/// Fencing, when the agent is sharded.
#[derive(Debug, Clone)]
pub(super) struct Fence {
    /// This replica.
    pub member: String,
    /// The live members as this replica sees them.
    pub live: Vec<String>,
    /// The epoch this replica holds the app at (0: not taken).
    pub epoch: Arc<AtomicU64>,
}

/// Renders an app of a snapshot (on a blocking thread); the error is its text.
pub(super) type RenderFn =
    Arc<dyn Fn(&Snapshot, &AppRef) -> Result<Rendered, String> + Send + Sync>;

/// Everything one reconcile needs.
pub(super) struct Job<'a> {
    /// The cluster.
    pub client: kube::Client,
    /// The commit.
    pub snapshot: &'a Snapshot,
    /// The app.
    pub app: &'a AppRef,
    /// Its policy.
    pub policy: &'a Policy,
    /// Where inventories live.
    pub inventory_namespace: &'a str,
    /// Render settings (moved to the render thread).
    pub render: RenderFn,
    /// A new commit for an app applied and ready: when the render key is the one last
    /// applied, record the revision without applying.
    pub skip_unchanged: bool,
    /// Metrics.
    pub metrics: &'a Metrics,
    /// Retries of API calls.
    pub retry: kiln_kube::RetryOptions,
    /// Fencing (sharded agents).
    pub fence: Option<Fence>,
    /// How many objects the reconcile created, changed or pruned (set by it).
    pub changed: std::sync::atomic::AtomicUsize,
    /// Where claims and applies are traced, when they are.
    pub trace: Option<&'a std::sync::Mutex<Vec<super::shard::TraceEvent>>>,
}

impl Job<'_> {
    fn trace(&self, what: super::shard::Traced) {
        if let (Some(trace), Some(f)) = (self.trace, &self.fence) {
            trace
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(super::shard::TraceEvent {
                    member: f.member.clone(),
                    app: self.app.path.clone(),
                    what,
                    revision: self.snapshot.revision.clone(),
                    at: Instant::now(),
                });
        }
    }

    /// Takes the app (or confirms this replica holds it); `Ok(None)` without sharding,
    /// `Err` with the outcome to return when it cannot.
    async fn claim(&self) -> Result<Option<String>, Outcome> {
        let Some(f) = &self.fence else {
            return Ok(None);
        };
        let held = f.epoch.load(Ordering::SeqCst);
        match super::store::claim(
            &self.client,
            self.inventory_namespace,
            &self.app.inventory,
            &f.member,
            &f.live,
            held,
        )
        .await
        {
            Ok(super::store::Claim::Held { version, epoch }) => {
                if epoch != held {
                    f.epoch.store(epoch, Ordering::SeqCst);
                    self.trace(super::shard::Traced::Claimed);
                    tracing::info!(app = %self.app.path, epoch, "took the app");
                }
                Ok(Some(version))
            }
            Ok(super::store::Claim::Busy(holder)) => {
                f.epoch.store(0, Ordering::SeqCst);
                Err(Outcome::Busy(holder))
            }
            Err(e) => Err(Outcome::Busy(format!("cannot take the app: {e}"))),
        }
    }
}

/// Renders on a blocking thread, timing it by cache use.
async fn render(job: &Job<'_>) -> Result<Rendered, String> {
    let render = job.render.clone();
    let snapshot = job.snapshot.clone();
    let app = job.app.clone();
    let started = Instant::now();
    let rendered = tokio::task::spawn_blocking(move || render(&snapshot, &app))
        .await
        .map_err(|e| format!("the render task failed: {e}"))?;
    if let Ok(r) = &rendered {
        let hit = r
            .steps
            .iter()
            .all(|s| matches!(s.cache, CacheStatus::Hit | CacheStatus::Unchanged));
        job.metrics
            .render_duration
            .get_or_create(&labels(&[("cache", if hit { "hit" } else { "miss" })]))
            .observe(started.elapsed().as_secs_f64());
    }
    rendered
}

fn applier(job: &Job<'_>, dry_check: bool, fence: Option<String>) -> Applier {
    let mut opts = ApplyOptions::new(&job.app.inventory, job.inventory_namespace);
    // As Flux: what git says wins over other managers.
    opts.force_conflicts = true;
    opts.prune = job.policy.prune;
    opts.wait = (job.policy.wait && !dry_check).then_some(job.policy.timeout);
    opts.retry = job.retry.clone();
    opts.fence = fence;
    Applier::new(job.client.clone(), opts)
}

/// Reconciles one app; updates `status` (the caller stores it when it changed).
pub(super) async fn reconcile(job: &Job<'_>, mode: Mode, status: &mut AppStatus) -> Outcome {
    let started = Instant::now();
    let revision = job.snapshot.revision.clone();
    let at = now();
    // A replica that gains an app takes it at once, whatever it does next.
    if job
        .fence
        .as_ref()
        .is_some_and(|f| f.epoch.load(Ordering::SeqCst) == 0)
        && let Err(busy) = job.claim().await
    {
        return busy;
    }
    let rendered = match render(job).await {
        Ok(r) => r,
        Err(message) => {
            status.last_attempted_revision = Some(revision.clone());
            let message =
                format!("render failed at {revision}; nothing applied or pruned: {message}");
            return finish(
                job,
                status,
                started,
                "",
                reason::BUILD_FAILED,
                &message,
                &at,
            );
        }
    };
    let key = rendered
        .steps
        .last()
        .map(|s| s.key.clone())
        .unwrap_or_default();
    let plugins: Vec<PluginDigest> = rendered
        .steps
        .iter()
        .map(|s| PluginDigest {
            name: s.plugin.clone(),
            digest: s.plugin_digest.clone(),
        })
        .collect();
    if rendered.resources.is_empty() {
        status.last_attempted_revision = Some(revision.clone());
        let message = format!(
            "the render at {revision} is empty; nothing applied or pruned (an empty render would delete everything the app has)"
        );
        return finish(
            job,
            status,
            started,
            &key,
            reason::BUILD_FAILED,
            &message,
            &at,
        );
    }
    let manifests = match Manifests::new(rendered.resources) {
        Ok(m) => m,
        Err(e) => {
            status.last_attempted_revision = Some(revision.clone());
            let message = format!("the render at {revision} cannot be applied: {e}");
            return finish(
                job,
                status,
                started,
                &key,
                reason::BUILD_FAILED,
                &message,
                &at,
            );
        }
    };
    let unchanged = status.render_key.as_deref() == Some(key.as_str());
    status.render_key = Some(key.clone());
    status.plugins = plugins;
    if mode == Mode::Apply && job.skip_unchanged && unchanged {
        status.last_attempted_revision = Some(revision.clone());
        status.last_applied_revision = Some(revision.clone());
        let message = format!("Applied revision: {revision} (render unchanged)");
        return finish(job, status, started, &key, reason::SUCCEEDED, &message, &at);
    }
    match mode {
        Mode::Apply => {
            status.last_attempted_revision = Some(revision.clone());
            apply(job, manifests, status, started, &key, &at).await
        }
        Mode::DriftCheck => drift(job, manifests, status, started, &key, &at).await,
    }
}

async fn apply(
    job: &Job<'_>,
    manifests: Manifests,
    status: &mut AppStatus,
    started: Instant,
    key: &str,
    at: &str,
) -> Outcome {
    let revision = job.snapshot.revision.clone();
    // Fence: confirm (or take) the app right before writing anything.
    let fence = match job.claim().await {
        Ok(f) => f,
        Err(busy) => return busy,
    };
    let applier = applier(job, false, fence);
    job.trace(super::shard::Traced::ApplyStarted);
    let outcome = tokio::time::timeout(
        job.policy.timeout,
        applier.apply(manifests, &kiln_kube::no_progress),
    )
    .await;
    job.trace(super::shard::Traced::ApplyEnded);
    let lost = |job: &Job<'_>| {
        if let Some(f) = &job.fence {
            f.epoch.store(0, Ordering::SeqCst);
        }
        tracing::warn!(app = %job.app.path, "another replica took the app during the apply; it carries on");
        Outcome::Busy("taken over during the apply".to_owned())
    };
    let report = match outcome {
        Err(_) => {
            let message = format!(
                "applying {revision} took longer than the timeout of {:?}",
                job.policy.timeout
            );
            return finish(job, status, started, key, reason::FAILED, &message, at);
        }
        Ok(Err(kiln_kube::ApplyError::Fenced { .. })) => return lost(job),
        Ok(Err(e)) => {
            let message = format!("cannot apply {revision}: {}", crate::error_chain(&e));
            return finish(job, status, started, key, reason::FAILED, &message, at);
        }
        Ok(Ok(report)) => report,
    };
    count_actions(job.metrics, &report);
    if report.fenced {
        return lost(job);
    }
    if report.failed() {
        let (why, message) = failure(&report, &revision);
        return finish(job, status, started, key, why, &message, at);
    }
    status.last_applied_revision = Some(revision.clone());
    "Synced".clone_into(&mut status.sync_status);
    let health = if job.policy.wait {
        "Healthy"
    } else {
        "Unknown"
    };
    health.clone_into(&mut status.health_status);
    status.drifted_objects.clear();
    job.metrics
        .drift_objects
        .get_or_create(&labels(&[("name", &job.app.path)]))
        .set(0);
    let changed = report
        .objects
        .iter()
        .filter(|o| {
            matches!(
                o.action,
                Action::Created | Action::Configured | Action::Pruned
            )
        })
        .count();
    job.changed.fetch_add(changed, Ordering::SeqCst);
    let message = format!("Applied revision: {revision} ({changed} changed)");
    finish(job, status, started, key, reason::SUCCEEDED, &message, at)
}

/// The Ready reason and message of a failed apply.
fn failure(report: &Report, revision: &str) -> (&'static str, String) {
    let failed: Vec<String> = report
        .objects
        .iter()
        .filter_map(|o| match &o.action {
            Action::Failed(why) => Some(format!("{}: {why}", o.id)),
            _ => None,
        })
        .collect();
    let blocked: Vec<String> = report
        .waits
        .iter()
        .filter_map(|w| w.blocked.as_ref().map(|b| format!("{}: {b}", w.id)))
        .collect();
    // A failure after every object applied can only be a prune (pruning runs then).
    let pruning = report.prune_skipped.is_none() && !failed.is_empty();
    let (why, what) = if pruning {
        (reason::PRUNE_FAILED, "pruning failed")
    } else if !failed.is_empty() || !report.errors.is_empty() {
        (reason::FAILED, "applying failed")
    } else {
        (reason::HEALTH_CHECK_FAILED, "health check failed")
    };
    let mut details = failed;
    details.extend(blocked);
    details.extend(report.errors.iter().cloned());
    details.truncate(5);
    (why, format!("{what} at {revision}: {}", details.join("; ")))
}

fn count_actions(metrics: &Metrics, report: &Report) {
    for o in &report.objects {
        let action = match &o.action {
            Action::Created => "created",
            Action::Configured => "configured",
            Action::Unchanged => "unchanged",
            Action::Pruned => "pruned",
            Action::Kept(_) => "kept",
            Action::Failed(_) => "failed",
        };
        metrics
            .apply_objects
            .get_or_create(&labels(&[("action", action)]))
            .inc();
    }
}

async fn drift(
    job: &Job<'_>,
    manifests: Manifests,
    status: &mut AppStatus,
    started: Instant,
    key: &str,
    at: &str,
) -> Outcome {
    let revision = job.snapshot.revision.clone();
    let checker = applier(job, true, None);
    let diff = match tokio::time::timeout(job.policy.timeout, checker.diff(manifests.clone())).await
    {
        Ok(Ok(d)) => d,
        Ok(Err(e)) => {
            let message = format!("cannot check drift: {}", crate::error_chain(&e));
            return finish(job, status, started, key, reason::FAILED, &message, at);
        }
        Err(_) => {
            let message = "the drift check took longer than the timeout".to_owned();
            return finish(job, status, started, key, reason::FAILED, &message, at);
        }
    };
    let drifted: Vec<String> = diff
        .objects
        .iter()
        .filter(|o| matches!(o.change, Change::Create | Change::Update))
        .map(|o| o.id.to_string())
        .collect();
    job.metrics
        .drift_objects
        .get_or_create(&labels(&[("name", &job.app.path)]))
        .set(i64::try_from(drifted.len()).unwrap_or(i64::MAX));
    if drifted.is_empty() {
        status.drifted_objects.clear();
        "Synced".clone_into(&mut status.sync_status);
        let message = format!("Applied revision: {revision}");
        let keep = status.ready();
        if keep {
            // Nothing to say: the status stays as it is.
            return Outcome::Ok;
        }
        return finish(job, status, started, key, reason::SUCCEEDED, &message, at);
    }
    if job.policy.drift == Drift::Detect {
        tracing::warn!(app = %job.app.path, objects = ?drifted, "drift detected");
        "OutOfSync".clone_into(&mut status.sync_status);
        let message = format!(
            "{} object(s) drifted from {revision}: {}",
            drifted.len(),
            drifted.join(", ")
        );
        status.drifted_objects = drifted;
        finish(
            job,
            status,
            started,
            key,
            reason::DRIFT_DETECTED,
            &message,
            at,
        );
        // Reported, not a failure: check again at the next interval.
        return Outcome::Ok;
    }
    tracing::info!(app = %job.app.path, objects = ?drifted, "correcting drift");
    let corrections = u64::try_from(drifted.len()).unwrap_or(u64::MAX);
    let outcome = apply(job, manifests, status, started, key, at).await;
    if outcome == Outcome::Ok {
        job.metrics
            .drift_corrections
            .get_or_create(&labels(&[("name", &job.app.path)]))
            .inc_by(corrections);
    }
    outcome
}

/// Sets Ready, records the run and the metrics; the outcome follows the reason.
fn finish(
    job: &Job<'_>,
    status: &mut AppStatus,
    started: Instant,
    key: &str,
    why: &'static str,
    message: &str,
    at: &str,
) -> Outcome {
    let ok = why == reason::SUCCEEDED;
    status.set_ready(ok, why, message, at);
    let elapsed = started.elapsed();
    status.record(Run {
        revision: job.snapshot.revision.clone(),
        render_key: key.to_owned(),
        reason: why.to_owned(),
        first_reconciled: at.to_owned(),
        duration_seconds: round_ms(elapsed),
    });
    let ns = job.inventory_namespace;
    job.metrics
        .reconcile_duration
        .get_or_create(&labels(&[
            ("kind", "App"),
            ("name", &job.app.path),
            ("namespace", ns),
        ]))
        .observe(elapsed.as_secs_f64());
    let phase = if ok || why == reason::DRIFT_DETECTED {
        "Succeeded"
    } else {
        "Failed"
    };
    job.metrics
        .app_sync
        .get_or_create(&labels(&[
            ("name", &job.app.path),
            ("namespace", ns),
            ("phase", phase),
        ]))
        .inc();
    if ok {
        tracing::info!(app = %job.app.path, "{message}");
        Outcome::Ok
    } else {
        tracing::warn!(app = %job.app.path, reason = why, "{message}");
        Outcome::Failed(why)
    }
}

fn round_ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}
