//! The loop of one agent: poll the remote (refs only), fetch and read the
//! `Agent` file on a new commit, and reconcile each app when it is due, in
//! `dependsOn` order, with backoff and jitter after failures.
//!
//! An app is due when a new commit arrives, when its `kiln.dev/requestedAt`
//! annotation changes, when an app it depends on becomes ready, and at its
//! `interval` (a drift check). Apps are reconciled one at a time; a
//! shutdown lets the current one finish within a grace period, then stops.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::config::{AgentConfig, Policy, SecretSource};
use super::http::{Shared, Webhook};
use super::metrics::labels;
use super::reconcile::{self, Fence, Job, Mode, Outcome};
use super::shard::{ShardFlags, ShardSettings, View};
use super::source::{self, AppRef, Remote, Snapshot};
use super::status::{self, AppStatus, reason};
use super::store;
use crate::runtime::Limits;
use crate::service::{CacheChoice, RenderService, RenderSettings, ServiceConfig};

/// How the agent runs (the operator's settings; the rest is in the `Agent` file).
#[derive(Debug, Clone)]
pub struct Settings {
    /// The config repository.
    pub repo: String,
    /// The branch, `refs/tags/<tag>`, or `HEAD`.
    pub reference: String,
    /// The `Agent` file's path in the repository.
    pub config_path: String,
    /// The kiln cache directory.
    pub cache_dir: PathBuf,
    /// Target Kubernetes version of renders.
    pub kube_version: String,
    /// Default plugin limits.
    pub limits: Limits,
    /// The operator's ceiling on plugin limits (the `Agent` file may only lower it).
    pub ceiling: Option<Limits>,
    /// The agent's own namespace: Secrets named by the `Agent` file are read there.
    pub namespace: String,
    /// Files named by the `Agent` file must lie in this directory (none: no file secrets).
    pub secrets_dir: Option<PathBuf>,
    /// The webhook token (none: webhooks are off).
    pub webhook_token: Option<String>,
    /// Overrides the `Agent` file's `source.interval` (for tests and benchmarks).
    pub poll_interval: Option<Duration>,
    /// Retries of API calls.
    pub retry: kiln_kube::RetryOptions,
    /// How long a shutdown waits for the current reconcile.
    pub grace: Duration,
    /// Split the apps with the other replicas of the group over Leases (none: this agent
    /// reconciles every app); the flags here override the `Agent` file's `sharding`.
    pub shard: Option<ShardFlags>,
    /// The render cache (`None`: as the `Agent` file's `cache` says, else the disk cache).
    pub cache: Option<CacheChoice>,
    /// The render seed every random value follows from (see
    /// [`crate::pipeline::RenderSeed`]); the same for every replica.
    pub render_seed: Option<crate::pipeline::RenderSeed>,
}

/// Per app.
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent facts about one app, not a state machine"
)]
struct AppState {
    app: AppRef,
    policy: Policy,
    due: Instant,
    failures: u32,
    /// The commit last applied in full (a drift check is enough while it holds).
    applied_commit: Option<String>,
    status: AppStatus,
    /// What is stored in the cluster.
    stored: Option<AppStatus>,
    /// `kiln.dev/requestedAt` as last seen.
    requested_at: Option<String>,
    /// `kiln.dev/reconcile: disabled`.
    disabled: bool,
    /// A reconcile was asked for (requestedAt): apply even at the same commit.
    forced: bool,
    /// Sharding: the epoch this replica holds the app at (0: not taken).
    epoch: Arc<AtomicU64>,
    /// Sharding: whether the app is this replica's in the current view (always without).
    owned: bool,
    /// Objects the last reconcile created, changed or pruned.
    changed: usize,
    /// The render changed at a new commit: reconcile before the others.
    priority: bool,
}

/// The agent.
pub struct Agent {
    settings: Settings,
    client: kube::Client,
    shared: Arc<Shared>,
    service: Arc<RenderService>,
    remote: Remote,
    snapshot: Option<Snapshot>,
    config: Option<AgentConfig>,
    secrets: Vec<(String, Vec<u8>, Vec<blake3::Hash>, super::config::Grant)>,
    apps: BTreeMap<String, AppState>,
    next_poll: Instant,
    /// The shard view (sharded agents).
    view: Option<watch::Receiver<View>>,
    /// Where the view is published until the membership task starts.
    view_tx: Option<watch::Sender<View>>,
    /// The sharding settings in force, once the membership task started.
    shard: Option<ShardSettings>,
    /// The membership task and its stop signal.
    membership: Option<(watch::Sender<bool>, AbortOnDrop)>,
    /// The render cache in use.
    cache: CacheChoice,
}

/// Aborts a task when dropped (the membership task dies with the agent).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Jitter of ±10 %.
fn jitter(d: Duration) -> Duration {
    let r: f64 = rand::random::<f64>() * 0.2 + 0.9;
    d.mul_f64(r)
}

/// The wait after the `failures`-th failure in a row: `retry` doubling, at
/// most 5 minutes (or `retry` when that is longer), with jitter.
pub fn backoff(retry: Duration, failures: u32) -> Duration {
    let cap = retry.max(Duration::from_mins(5));
    let exp = 2u32.saturating_pow(failures.saturating_sub(1).min(16));
    jitter(retry.saturating_mul(exp).min(cap))
}

impl Agent {
    /// An agent on `client`; `shared` is what the HTTP endpoints see.
    pub fn new(
        settings: Settings,
        client: kube::Client,
        shared: Arc<Shared>,
    ) -> anyhow::Result<Self> {
        let mut config = ServiceConfig::new(&settings.cache_dir);
        if let Some(cache) = &settings.cache {
            config.cache = cache.clone();
        }
        let mut cache = config.cache.clone();
        // The shared cache is optional: one that cannot be reached leaves the disk cache in
        // use, and is tried again at each new commit.
        let service = match RenderService::new(config.clone()) {
            Err(e) if matches!(cache, CacheChoice::Shared(_)) => {
                tracing::warn!(error = %crate::error_chain(e.as_ref()), "cannot use the shared render cache; using the disk cache until a new commit");
                config.cache = CacheChoice::Disk {
                    max_size: crate::cache::DEFAULT_MAX_SIZE,
                };
                cache = config.cache.clone();
                RenderService::new(config)?
            }
            other => other?,
        };
        let remote = Remote {
            url: settings.repo.clone(),
            reference: settings.reference.clone(),
            cache_dir: settings.cache_dir.clone(),
        };
        Ok(Agent {
            settings,
            client,
            shared,
            service: Arc::new(service),
            remote,
            snapshot: None,
            config: None,
            secrets: Vec::new(),
            apps: BTreeMap::new(),
            next_poll: Instant::now(),
            view: None,
            view_tx: None,
            shard: None,
            membership: None,
            cache,
        })
    }

    fn poll_interval(&self) -> Duration {
        self.settings
            .poll_interval
            .or_else(|| self.config.as_ref().map(|c| c.source.interval))
            .unwrap_or(Duration::from_mins(1))
    }

    /// Runs until `shutdown` turns true; a sharded agent then releases its Lease.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        if self.settings.shard.is_some() {
            // Nothing is this replica's until its membership runs, which starts once the
            // `Agent` file (with its `sharding` block) is read.
            let (tx, rx) = watch::channel(View::default());
            self.view = Some(rx);
            self.view_tx = Some(tx);
        }
        self.run_loop(&mut shutdown).await;
        if let Some((stop, mut task)) = self.membership.take() {
            let _ = stop.send(true);
            let _ = (&mut task.0).await;
        }
        tracing::info!("agent stopped");
    }

    /// Starts the membership task with the flags over the `Agent` file's
    /// `sharding` block. When a later commit changes the block, the replica
    /// leaves its group (its Lease deleted, so its apps move at once) and
    /// joins with the new settings, owning nothing until the new view says.
    async fn start_membership(&mut self, config: &AgentConfig) {
        let Some(flags) = &self.settings.shard else {
            return;
        };
        let resolved = match flags.resolve(&config.sharding, &config.name, &self.settings.namespace)
        {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(
                    "the sharding settings cannot be used; this replica applies nothing: {e}"
                );
                return;
            }
        };
        if let Some(running) = &self.shard {
            if *running == resolved {
                return;
            }
            tracing::info!(running = ?running, wanted = ?resolved, "the sharding settings changed; leaving the group to join again");
            if let Some((stop, mut task)) = self.membership.take() {
                let _ = stop.send(true);
                let _ = (&mut task.0).await;
            }
            // A new view, empty: nothing is this replica's until the new
            // membership publishes one.
            let (tx, rx) = watch::channel(View::default());
            self.view = Some(rx);
            self.view_tx = Some(tx);
            self.shard = None;
            self.take_view().await;
        }
        let Some(tx) = self.view_tx.take() else {
            return;
        };
        tracing::info!(member = %resolved.member, group = %resolved.group, namespace = %resolved.namespace,
            lease_duration = ?resolved.lease_duration, renew_deadline = ?resolved.renew_deadline,
            retry_period = ?resolved.retry_period, "joining the group");
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(super::shard::run(
            self.client.clone(),
            resolved.clone(),
            self.shared.clone(),
            tx,
            stopped,
        ));
        self.membership = Some((stop, AbortOnDrop(task)));
        self.shard = Some(resolved);
    }

    /// Switches to the render cache the flags choose, else the one the `Agent` file names.
    /// A cache that cannot be opened leaves the current one in use (tried again at the next
    /// commit).
    fn choose_cache(&mut self, config: &AgentConfig) {
        let wanted = match (&self.settings.cache, config.cache.as_deref()) {
            (Some(flag), _) => flag.clone(),
            (None, None) => CacheChoice::Disk {
                max_size: crate::cache::DEFAULT_MAX_SIZE,
            },
            (None, Some("off")) => CacheChoice::Off,
            (None, Some(url)) => CacheChoice::Shared(url.to_owned()),
        };
        if wanted == self.cache {
            return;
        }
        let mut service = ServiceConfig::new(&self.settings.cache_dir);
        service.cache = wanted.clone();
        match RenderService::new(service) {
            Ok(s) => {
                tracing::info!(cache = ?wanted, "render cache");
                self.service = Arc::new(s);
                self.cache = wanted;
            }
            Err(e) => {
                tracing::warn!(error = %crate::error_chain(e.as_ref()), "cannot use the render cache; keeping the current one until a new commit");
            }
        }
    }

    /// Whether this replica may apply now (always, unsharded).
    fn can_apply(&self) -> bool {
        self.view.as_ref().is_none_or(|v| v.borrow().can_apply)
    }

    async fn run_loop(&mut self, shutdown: &mut watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                break;
            }
            // A webhook that came while reconciling counts now, not once the queue is empty.
            if futures_util::FutureExt::now_or_never(self.shared.poke.notified()).is_some() {
                self.next_poll = Instant::now();
            }
            if Instant::now() >= self.next_poll {
                self.poll().await;
                self.next_poll = Instant::now() + jitter(self.poll_interval());
            }
            if self
                .view
                .as_ref()
                .is_some_and(|v| v.has_changed().unwrap_or(false))
            {
                self.take_view().await;
            }
            if let Some(path) = self.next_due() {
                let grace = self.settings.grace;
                let mut view = self.view.clone();
                let work = self.reconcile(&path);
                tokio::pin!(work);
                // A replica that cannot renew its Lease stops applying at once.
                let fenced = async {
                    match view.as_mut() {
                        Some(v) => {
                            let _ = v.wait_for(|v| !v.can_apply).await;
                        }
                        None => std::future::pending::<()>().await,
                    }
                };
                tokio::select! {
                    () = &mut work => {}
                    () = fenced => {
                        tracing::warn!(app = %path, "the lease was not renewed in time: the reconcile is abandoned");
                    }
                    _ = shutdown.changed() => {
                        tracing::info!(app = %path, "shutting down: letting the current reconcile finish");
                        if tokio::time::timeout(grace, work).await.is_err() {
                            tracing::warn!(app = %path, "the reconcile did not finish in time; abandoned (the inventory still lists everything it applied)");
                        }
                        break;
                    }
                }
                continue;
            }
            let wake = self
                .apps
                .values()
                .filter(|a| self.snapshot.is_some() && !Self::suspended(a) && a.owned)
                .map(|a| a.due)
                .chain([self.next_poll])
                .min()
                .unwrap_or(self.next_poll);
            let mut view = self.view.clone();
            let view_changed = async {
                match view.as_mut() {
                    Some(v) => {
                        let _ = v.changed().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = tokio::time::sleep_until(wake) => {}
                () = self.shared.poke.notified() => { self.next_poll = Instant::now(); }
                () = view_changed => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// Takes a new shard view: releases the apps this replica lost, and
    /// reloads the ones it gained from the cluster (another replica may have
    /// applied them since).
    async fn take_view(&mut self) {
        let Some(view) = self.view.as_mut().map(|v| v.borrow_and_update().clone()) else {
            return;
        };
        let Some(shard) = self.settings.shard.clone() else {
            return;
        };
        let ns = self.config.as_ref().map(|c| c.inventory_namespace.clone());
        let stored: BTreeMap<String, store::Stored> = match &ns {
            Some(ns) => store::list(&self.client, Some(ns))
                .await
                .map(|l| l.into_iter().map(|s| (s.inventory.clone(), s)).collect())
                .unwrap_or_default(),
            None => BTreeMap::new(),
        };
        let now = Instant::now();
        let mut count = 0i64;
        for a in self.apps.values_mut() {
            let owned = view.owns(&shard.member, &a.app.path);
            count += i64::from(owned);
            if a.owned && !owned {
                let epoch = a.epoch.swap(0, Ordering::SeqCst);
                if epoch > 0
                    && let Some(ns) = &ns
                    && view.can_apply
                {
                    let _ =
                        store::release(&self.client, ns, &a.app.inventory, &shard.member, epoch)
                            .await;
                }
            } else if !a.owned && owned {
                if let Some(trace) = &self.shared.trace {
                    trace
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push(super::shard::TraceEvent {
                            member: shard.member.clone(),
                            app: a.app.path.clone(),
                            what: super::shard::Traced::Gained,
                            revision: String::new(),
                            at: std::time::Instant::now(),
                        });
                }
                let found = stored.get(&a.app.inventory);
                let status = found
                    .and_then(|s| s.status.clone())
                    .filter(|s| s.app == a.app.path);
                if let Some(status) = status {
                    a.applied_commit = applied_commit(&status);
                    a.stored = Some(status.clone());
                    a.status = status;
                }
                a.failures = 0;
                a.due = now;
            }
            a.owned = owned;
        }
        self.shared
            .metrics
            .shard_apps
            .get_or_create(&labels(&[("member", &shard.member)]))
            .set(count);
    }

    fn suspended(a: &AppState) -> bool {
        a.policy.suspend || a.disabled
    }

    /// The due app that comes first in `dependsOn` order.
    fn next_due(&self) -> Option<String> {
        self.snapshot.as_ref()?;
        let now = Instant::now();
        if !self.can_apply() {
            return None;
        }
        let due: BTreeSet<&String> = self
            .apps
            .iter()
            .filter(|(_, a)| a.owned && a.due <= now)
            .map(|(p, _)| p)
            .collect();
        // An app whose due dependency has not run yet waits for it; apps whose render
        // changed go first.
        let free = |p: &&&String| {
            self.apps[p.as_str()]
                .policy
                .depends_on
                .iter()
                .all(|d| !due.contains(d))
        };
        due.iter()
            .filter(free)
            .find(|p| self.apps[p.as_str()].priority)
            .or_else(|| due.iter().find(free))
            .or_else(|| due.first())
            .map(|p| (*p).clone())
    }

    /// Lists the remote's refs; on a new commit fetches it, reads the
    /// `Agent` file and the apps, and makes every app due.
    async fn poll(&mut self) {
        let remote = self.remote.clone();
        let tip = tokio::task::spawn_blocking(move || remote.tip()).await;
        let tip = match tip {
            Ok(Ok(Some(tip))) => {
                self.git_metric("ls-refs", "ok");
                tip
            }
            Ok(Ok(None)) => {
                self.git_metric("ls-refs", "error");
                tracing::warn!(reference = %self.remote.full_ref(), "the remote has no such ref; the cluster stays as it is");
                return;
            }
            Ok(Err(e)) => {
                self.git_metric("ls-refs", "error");
                tracing::warn!(error = %crate::error_chain(&e), "cannot list the remote's refs; the cluster stays as it is");
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "the git task failed");
                return;
            }
        };
        self.read_annotations().await;
        if self.snapshot.as_ref().is_some_and(|s| s.commit == tip) {
            self.shared.ready.store(true, Ordering::Relaxed);
            return;
        }
        let remote = self.remote.clone();
        let fetching = Instant::now();
        let snapshot = match tokio::task::spawn_blocking(move || remote.snapshot()).await {
            Ok(Ok(s)) => {
                self.git_metric("fetch", "ok");
                s
            }
            Ok(Err(e)) => {
                self.git_metric("fetch", "error");
                tracing::warn!(error = %crate::error_chain(&e), "cannot fetch the new commit; the cluster stays as it is");
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "the git task failed");
                return;
            }
        };
        tracing::info!(revision = %snapshot.revision, fetched_in = ?fetching.elapsed(), "new revision");
        let config = match snapshot.config(&self.settings.config_path) {
            Ok(c) => c,
            Err(e) => {
                let message = format!(
                    "the Agent file at {} cannot be used; nothing applied: {e}",
                    snapshot.revision
                );
                tracing::error!("{message}");
                self.mark_all(&snapshot.revision, reason::ARTIFACT_FAILED, &message)
                    .await;
                self.shared.ready.store(true, Ordering::Relaxed);
                return;
            }
        };
        let apps = match snapshot.apps(&config) {
            Ok(a) => a,
            Err(e) => {
                let message = format!(
                    "cannot find the apps at {}: {}",
                    snapshot.revision,
                    crate::error_chain(&e)
                );
                tracing::error!("{message}");
                self.mark_all(&snapshot.revision, reason::ARTIFACT_FAILED, &message)
                    .await;
                return;
            }
        };
        self.secrets = self.load_secrets(&config).await;
        self.set_webhook(&config);
        self.choose_cache(&config);
        self.start_membership(&config).await;
        let first_config = self.config.is_none();
        self.adopt(&config, &snapshot, apps).await;
        self.config = Some(config);
        let previous = self.snapshot.replace(snapshot);
        if first_config {
            self.read_annotations().await;
        }
        if let Some(previous) = previous {
            self.prioritize(&previous).await;
        }
        self.shared.ready.store(true, Ordering::Relaxed);
    }

    fn git_metric(&self, op: &str, result: &str) {
        self.shared
            .metrics
            .git_requests
            .get_or_create(&labels(&[("op", op), ("result", result)]))
            .inc();
    }

    fn set_webhook(&self, config: &AgentConfig) {
        let hook = self.settings.webhook_token.as_ref().map(|token| Webhook {
            token: token.clone(),
            kind: config.webhook,
            path: super::http::hook_path(token, &config.name, &config.inventory_namespace),
        });
        if let Some(h) = &hook {
            tracing::info!(path = %format!("/hook/{}", h.path), "webhook receiver");
        }
        *self
            .shared
            .webhook
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = hook;
    }

    /// Takes the apps of a new commit: new ones start from their stored status.
    async fn adopt(&mut self, config: &AgentConfig, snapshot: &Snapshot, apps: Vec<AppRef>) {
        // Only apps new to this agent start from what is stored (a list of every inventory).
        let fresh = apps.iter().any(|a| !self.apps.contains_key(&a.path));
        let stored: BTreeMap<String, store::Stored> = if fresh {
            match store::list(&self.client, Some(&config.inventory_namespace)).await {
                Ok(list) => list.into_iter().map(|s| (s.inventory.clone(), s)).collect(),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the stored statuses");
                    BTreeMap::new()
                }
            }
        } else {
            BTreeMap::new()
        };
        let now = Instant::now();
        let mut next = BTreeMap::new();
        for app in apps {
            let policy = config.policy(&app.path);
            let source = format!("{}#{}", snapshot.source, app.dir);
            let state = if let Some(mut s) = self.apps.remove(&app.path) {
                s.policy = policy;
                s.due = now;
                s.failures = 0;
                s.app = app;
                s.status.source = source;
                s
            } else {
                let found = stored.get(&app.inventory);
                let status = found
                    .and_then(|s| s.status.clone())
                    .filter(|s| s.app == app.path)
                    .unwrap_or_else(|| AppStatus::new(&app.path, &source));
                let applied_commit = applied_commit(&status);
                let owned = self.view.as_ref().is_none_or(|v| {
                    self.settings
                        .shard
                        .as_ref()
                        .is_some_and(|s| v.borrow().owns(&s.member, &app.path))
                });
                AppState {
                    epoch: Arc::new(AtomicU64::new(0)),
                    owned,
                    changed: 0,
                    priority: false,
                    policy,
                    due: now,
                    failures: 0,
                    applied_commit,
                    stored: found.and_then(|s| s.status.clone()),
                    status,
                    requested_at: found
                        .and_then(|s| s.annotations.get(store::REQUESTED_AT).cloned()),
                    disabled: found.is_some_and(store::Stored::disabled),
                    forced: false,
                    app,
                }
            };
            next.insert(state.app.path.clone(), state);
        }
        for gone in self.apps.keys() {
            tracing::warn!(app = %gone, "the app left the repository; its objects stay in the cluster");
            self.shared.metrics.forget(gone);
        }
        self.apps = next;
    }

    /// Sets every known app's Ready to False with `why` (the commit could not be used).
    async fn mark_all(&mut self, revision: &str, why: &str, message: &str) {
        let at = status::now();
        let paths: Vec<String> = self.apps.keys().cloned().collect();
        for path in paths {
            let a = self.apps.get_mut(&path).expect("listed above");
            a.status.last_attempted_revision = Some(revision.to_owned());
            a.status.set_ready(false, why, message, &at);
            self.store(&path).await;
        }
    }

    /// Reads `kiln.dev/requestedAt` and `kiln.dev/reconcile` from the inventories.
    async fn read_annotations(&mut self) {
        let Some(ns) = self.config.as_ref().map(|c| c.inventory_namespace.clone()) else {
            return;
        };
        let list = match store::list(&self.client, Some(&ns)).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the inventories");
                return;
            }
        };
        let by_inventory: BTreeMap<&str, &store::Stored> =
            list.iter().map(|s| (s.inventory.as_str(), s)).collect();
        let now = Instant::now();
        for a in self.apps.values_mut() {
            let Some(s) = by_inventory.get(a.app.inventory.as_str()) else {
                continue;
            };
            let was_disabled = a.disabled;
            a.disabled = s.disabled();
            if was_disabled && !a.disabled {
                a.due = now;
            }
            let requested = s.annotations.get(store::REQUESTED_AT).cloned();
            if requested.is_some()
                && requested != a.requested_at
                && requested != a.status.last_handled_reconcile_at
            {
                tracing::info!(app = %a.app.path, "reconcile requested");
                a.forced = true;
                a.due = now;
            }
            a.requested_at = requested;
        }
    }

    async fn load_secrets(
        &self,
        config: &AgentConfig,
    ) -> Vec<(String, Vec<u8>, Vec<blake3::Hash>, super::config::Grant)> {
        let mut out = Vec::new();
        for g in &config.grants {
            let value = match &g.source {
                SecretSource::File(path) => {
                    let path = PathBuf::from(path);
                    match &self.settings.secrets_dir {
                        Some(dir) if source::inside(dir, &path) => fs_err::read(&path).ok(),
                        _ => {
                            tracing::warn!(secret = %g.name, file = %path.display(), "the file is outside the agent's --secrets-dir; the secret is withheld");
                            None
                        }
                    }
                }
                SecretSource::Secret(r) => {
                    let api: kube::Api<k8s_openapi::api::core::v1::Secret> =
                        kube::Api::namespaced(self.client.clone(), &self.settings.namespace);
                    if let Ok(Some(s)) = api.get_opt(&r.name).await {
                        s.data
                            .and_then(|d| d.get(r.key.as_deref().unwrap_or_default()).cloned())
                            .map(|b| b.0)
                    } else {
                        tracing::warn!(secret = %g.name, from = %r.name, "cannot read the Secret; the secret is withheld");
                        None
                    }
                }
            };
            let Some(value) = value else { continue };
            let digests = g
                .plugins
                .iter()
                .filter_map(|p| {
                    p.strip_prefix("blake3:")
                        .and_then(|h| blake3::Hash::from_hex(h).ok())
                        .or_else(|| crate::builtin::digest(p))
                })
                .collect();
            out.push((g.name.clone(), value, digests, g.clone()));
        }
        out
    }

    /// Reconciles the app at `path` and schedules its next run.
    async fn reconcile(&mut self, path: &str) {
        let (Some(snapshot), Some(config)) = (self.snapshot.clone(), self.config.clone()) else {
            return;
        };
        let now = Instant::now();
        let a = self.apps.get_mut(path).expect("the app is known");
        if a.policy.suspend || a.disabled {
            a.status.suspended = true;
            a.due = now + a.policy.interval;
            self.store(path).await;
            return;
        }
        a.status.suspended = false;
        // dependsOn: every dependency ready at this very commit (as stored in the
        // cluster when another replica holds it).
        let mut waiting = Vec::new();
        for d in a.policy.depends_on.clone() {
            let ready = match self.apps.get(&d) {
                None => false,
                Some(s) if s.owned => {
                    s.status.ready() && s.applied_commit.as_deref() == Some(&snapshot.commit)
                }
                Some(s) => store::read(&self.client, &config.inventory_namespace, &s.app.inventory)
                    .await
                    .ok()
                    .flatten()
                    .and_then(|st| st.status)
                    .is_some_and(|st| {
                        st.ready()
                            && st.last_applied_revision.as_deref() == Some(&snapshot.revision)
                    }),
            };
            if !ready {
                waiting.push(d);
            }
        }
        let a = self.apps.get_mut(path).expect("the app is known");
        if !waiting.is_empty() {
            let message = format!(
                "dependencies not ready at {}: {}",
                snapshot.revision,
                waiting.join(", ")
            );
            a.status.last_attempted_revision = Some(snapshot.revision.clone());
            a.status.set_ready(
                false,
                reason::DEPENDENCY_NOT_READY,
                &message,
                &status::now(),
            );
            a.due = now + jitter(a.policy.retry_interval.min(Duration::from_secs(30)));
            self.store(path).await;
            return;
        }
        let mode = if a.forced
            || a.applied_commit.as_deref() != Some(&snapshot.commit)
            || a.failures > 0
        {
            Mode::Apply
        } else if a.policy.drift == super::config::Drift::Off {
            a.due = now + jitter(a.policy.interval);
            return;
        } else {
            Mode::DriftCheck
        };
        let requested = a.forced.then(|| a.requested_at.clone()).flatten();
        a.forced = false;
        let app = a.app.clone();
        let policy = a.policy.clone();
        let mut status = a.status.clone();
        let epoch = a.epoch.clone();
        // A new commit that leaves the app's render as it was needs no apply (drift
        // checks still run at the interval).
        let skip_unchanged = mode == Mode::Apply
            && requested.is_none()
            && a.failures == 0
            && a.status.ready()
            && a.applied_commit.is_some();
        a.priority = false;
        let render = self.render_fn(&config, &app.path);
        let job = Job {
            client: self.client.clone(),
            snapshot: &snapshot,
            app: &app,
            policy: &policy,
            inventory_namespace: &config.inventory_namespace,
            render,
            skip_unchanged,
            metrics: &self.shared.metrics,
            retry: self.settings.retry.clone(),
            fence: self.settings.shard.as_ref().map(|s| Fence {
                member: s.member.clone(),
                live: self
                    .view
                    .as_ref()
                    .map(|v| v.borrow().members.clone())
                    .unwrap_or_default(),
                epoch: epoch.clone(),
            }),
            trace: self.shared.trace.as_ref(),
            changed: std::sync::atomic::AtomicUsize::new(0),
        };
        let outcome = reconcile::reconcile(&job, mode, &mut status).await;
        let changed = job.changed.load(Ordering::SeqCst);
        if let Some(r) = requested {
            status.last_handled_reconcile_at = Some(r);
        }
        let a = self.apps.get_mut(path).expect("the app is known");
        a.status = status;
        a.changed = changed;
        let now = Instant::now();
        let mut newly_ready = false;
        match outcome {
            Outcome::Ok => {
                if mode == Mode::Apply {
                    newly_ready = a.applied_commit.as_deref() != Some(&snapshot.commit);
                    a.applied_commit = Some(snapshot.commit.clone());
                }
                a.failures = 0;
                a.due = now + jitter(a.policy.interval);
            }
            Outcome::Failed(_) => {
                a.failures += 1;
                a.due = now + backoff(a.policy.retry_interval, a.failures);
            }
            Outcome::Busy(holder) => {
                // Its holder has not let go yet: nothing done, nothing to store.
                tracing::debug!(app = %path, %holder, "the app is held by another replica");
                let retry = self
                    .shard
                    .as_ref()
                    .map_or(Duration::from_secs(1), |s| s.retry_period);
                a.due = now + retry;
                a.status = a.stored.clone().unwrap_or_else(|| a.status.clone());
                return;
            }
        }
        self.store(path).await;
        if newly_ready {
            // Dependents waiting for this app go now.
            for other in self.apps.values_mut() {
                if other.policy.depends_on.iter().any(|d| d == path) {
                    other.due = now;
                }
            }
        }
    }

    /// How the app at `path` is rendered (its secrets and the ceilings).
    fn render_fn(&self, config: &AgentConfig, path: &str) -> reconcile::RenderFn {
        let ceiling = source::lower(self.settings.ceiling, config.ceiling);
        let (secrets, grants) = self.secrets_for(path);
        let render_settings = RenderSettings {
            kube_version: Some(self.settings.kube_version.clone()),
            limits: self.settings.limits,
            ceiling,
            secrets,
            grants,
            render_seed: self.settings.render_seed.clone(),
            // Without credentials: the scope may show in debug output.
            seed_scope: Some(crate::source::git::redact(&self.settings.repo)),
            ..RenderSettings::default()
        };
        let service = self.service.clone();
        Arc::new(move |s: &Snapshot, a: &AppRef| source::render(&service, &render_settings, s, a))
    }

    /// Puts first the apps of a new commit whose directory changed since `previous`, so
    /// that a one-app commit reaches the cluster without waiting for the others (an app
    /// that changed through files outside its directory still comes, after them).
    async fn prioritize(&mut self, previous: &Snapshot) {
        let Some(snapshot) = self.snapshot.clone() else {
            return;
        };
        let (old, new) = (previous.root.clone(), snapshot.root.clone());
        let dirs: Vec<(String, String)> = self
            .apps
            .iter()
            .filter(|(_, a)| a.owned && !Self::suspended(a))
            .map(|(p, a)| (p.clone(), a.app.dir.clone()))
            .collect();
        let changed = tokio::task::spawn_blocking(move || {
            dirs.into_iter()
                .filter(|(_, dir)| !source::same_dir(&old.join(dir), &new.join(dir)))
                .map(|(p, _)| p)
                .collect::<Vec<String>>()
        })
        .await
        .unwrap_or_default();
        for p in changed {
            if let Some(a) = self.apps.get_mut(&p) {
                a.priority = true;
            }
        }
    }

    fn secrets_for(&self, path: &str) -> (Secrets, Grants) {
        let mut secrets = Vec::new();
        let mut grants = Vec::new();
        for (name, value, digests, grant) in &self.secrets {
            if !grant.applies_to(path) {
                continue;
            }
            secrets.push((name.clone(), value.clone()));
            grants.extend(digests.iter().map(|d| (*d, name.clone())));
        }
        (secrets, grants)
    }

    /// Stores the app's status when it changed, and its info metric.
    async fn store(&mut self, path: &str) {
        let Some(ns) = self.config.as_ref().map(|c| c.inventory_namespace.clone()) else {
            return;
        };
        let writer = self.settings.shard.as_ref().map(|s| {
            let a = &self.apps[path];
            store::Writer {
                member: s.member.clone(),
                epoch: a.epoch.load(Ordering::SeqCst),
                live: self
                    .view
                    .as_ref()
                    .map(|v| v.borrow().members.clone())
                    .unwrap_or_default(),
            }
        });
        let a = self.apps.get_mut(path).expect("the app is known");
        if !a.owned {
            return;
        }
        let ready = a
            .status
            .condition(status::condition::READY)
            .map_or("Unknown", |c| c.status.as_str())
            .to_owned();
        self.shared.metrics.set_info(
            path,
            labels(&[
                ("name", path),
                ("namespace", &ns),
                ("source", &a.status.source),
                (
                    "revision",
                    a.status.last_applied_revision.as_deref().unwrap_or(""),
                ),
                ("sync_status", &a.status.sync_status),
                ("health_status", &a.status.health_status),
                ("ready", &ready),
                (
                    "suspended",
                    if a.status.suspended { "true" } else { "false" },
                ),
            ]),
        );
        if a.stored.as_ref() == Some(&a.status) {
            return;
        }
        let previous = a
            .stored
            .as_ref()
            .and_then(|s| s.condition(status::condition::READY).cloned());
        let previous_applied = a
            .stored
            .as_ref()
            .and_then(|s| s.last_applied_revision.clone());
        match store::write(
            &self.client,
            &ns,
            &a.app.inventory,
            &a.status,
            writer.as_ref(),
        )
        .await
        {
            Ok(false) => {
                tracing::debug!(app = %path, "another replica holds the app; its status is left to it");
            }
            Ok(true) => {
                a.stored = Some(a.status.clone());
                let current = a.status.condition(status::condition::READY).cloned();
                // Events on change only: Ready changed, or a new revision changed objects.
                let new_revision = a.status.last_applied_revision.is_some()
                    && a.status.last_applied_revision != previous_applied
                    && a.changed > 0;
                if let Some(c) = current
                    && (new_revision
                        || previous
                            .as_ref()
                            .is_none_or(|p| p.reason != c.reason || p.status != c.status))
                {
                    store::event(
                        &self.client,
                        &ns,
                        &a.app.inventory,
                        &c,
                        a.status.last_attempted_revision.as_deref(),
                    )
                    .await;
                }
            }
            Err(e) => tracing::warn!(app = %path, error = %e, "cannot store the status"),
        }
    }
}

/// The commit of a status' last applied revision.
fn applied_commit(status: &AppStatus) -> Option<String> {
    status
        .last_applied_revision
        .as_deref()
        .and_then(|r| r.rsplit_once("@sha1:"))
        .map(|(_, sha)| sha.to_owned())
}

/// Secret values by name.
type Secrets = Vec<(String, Vec<u8>)>;
/// `(plugin digest, secret name)`.
type Grants = Vec<(blake3::Hash, String)>;
