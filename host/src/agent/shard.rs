//! Sharding over Kubernetes Leases: N replicas split the apps.
//!
//! Each replica holds its own `coordination.k8s.io/v1` Lease,
//! `kiln-member-<member>` in the agent's namespace, labelled
//! `kiln.dev/agent: <group>`, and renews it every `retryPeriod` with a Get
//! and an Update carrying the `resourceVersion` it read (client-go's
//! semantics). Every replica lists the group's Leases at the same pace and
//! judges a member alive by *local* observation: a Lease whose
//! `resourceVersion` has not moved for `leaseDuration` (as this replica's
//! clock measures it) is expired, whatever its `renewTime` says. A deleted
//! Lease (a graceful stop) leaves at once.
//!
//! An app belongs to the live member with the highest
//! `blake3(member ‖ 0 ‖ app)` (rendezvous hashing): deterministic, and only
//! the apps of a joining or leaving member move.
//!
//! A replica that has not renewed for `renewDeadline` (shorter than
//! `leaseDuration`) stops applying before anyone else can see its Lease
//! expire; it applies again once a renewal succeeds. Taking an app is fenced
//! on the app's inventory `ConfigMap` (see [`super::store::claim`]).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::Api;
use kube::api::{DeleteParams, ListParams, PostParams};
use tokio::sync::watch;
use tokio::time::Instant;

/// What a replica did to an app, for [`TraceEvent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Traced {
    /// Its view of the members made the app its own.
    Gained,
    /// It took the app (a new epoch).
    Claimed,
    /// It started applying (after the fence held).
    ApplyStarted,
    /// The apply returned.
    ApplyEnded,
}

/// One step of one replica on one app (recorded when [`super::http::Shared::trace`] is on).
#[derive(Debug, Clone)]
pub struct TraceEvent {
    /// The replica.
    pub member: String,
    /// The app's path.
    pub app: String,
    /// What happened.
    pub what: Traced,
    /// The revision being reconciled.
    pub revision: String,
    /// When.
    pub at: std::time::Instant,
}

/// Annotation on a member Lease: how many webhooks the replica received. A change makes the
/// other replicas look at the remote too (a webhook reaches one replica).
pub const HOOKS: &str = "kiln.dev/hooks";

/// The label on member Leases; its value is the group.
pub const GROUP_LABEL: &str = "kiln.dev/agent";

/// How a replica takes part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardSettings {
    /// This replica's name (the pod's name), unique in the group.
    pub member: String,
    /// Where the Leases are (the agent's namespace).
    pub namespace: String,
    /// The replicas that split one set of apps share this (the agent's name).
    pub group: String,
    /// A member whose Lease has not moved for this long is gone.
    pub lease_duration: Duration,
    /// A replica that has not renewed for this long stops applying.
    pub renew_deadline: Duration,
    /// How often Leases are renewed and listed.
    pub retry_period: Duration,
}

impl ShardSettings {
    /// controller-runtime's defaults: 15 s, 10 s, 2 s.
    pub fn new(member: &str, namespace: &str, group: &str) -> Self {
        ShardSettings {
            member: member.to_owned(),
            namespace: namespace.to_owned(),
            group: group.to_owned(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }

    /// The name of this replica's Lease.
    pub fn lease_name(&self) -> String {
        lease_name(&self.member)
    }
}

/// How a replica was started to take part: its name, and the sharding
/// settings its flags give. Each flag given overrides the `Agent` file's
/// `sharding` block; the rest comes from the file, then the defaults.
#[derive(Debug, Clone, Default)]
pub struct ShardFlags {
    /// This replica's name (the pod's name), unique in the group.
    pub member: String,
    /// `--lease-namespace`.
    pub namespace: Option<String>,
    /// `--shard-group`.
    pub group: Option<String>,
    /// `--lease-duration`.
    pub lease_duration: Option<Duration>,
    /// `--renew-deadline`.
    pub renew_deadline: Option<Duration>,
    /// `--retry-period`.
    pub retry_period: Option<Duration>,
}

impl From<ShardSettings> for ShardFlags {
    /// Flags that set every field: the file changes nothing.
    fn from(s: ShardSettings) -> Self {
        ShardFlags {
            member: s.member,
            namespace: Some(s.namespace),
            group: Some(s.group),
            lease_duration: Some(s.lease_duration),
            renew_deadline: Some(s.renew_deadline),
            retry_period: Some(s.retry_period),
        }
    }
}

impl ShardFlags {
    /// The settings of this replica: the flags, over the file's `sharding`,
    /// over the defaults (the group defaults to the agent's `name`, the
    /// namespace to `namespace`, the agent's own). Fails when retry period <
    /// renew deadline < lease duration does not hold: a replica must stop
    /// applying before the others can see its Lease expire.
    pub fn resolve(
        &self,
        file: &super::config::Sharding,
        name: &str,
        namespace: &str,
    ) -> Result<ShardSettings, String> {
        let group = self
            .group
            .as_deref()
            .or(file.group.as_deref())
            .unwrap_or(name);
        let ns = self
            .namespace
            .as_deref()
            .or(file.lease_namespace.as_deref())
            .unwrap_or(namespace);
        let mut s = ShardSettings::new(&self.member, ns, group);
        s.lease_duration = self
            .lease_duration
            .or(file.lease_duration)
            .unwrap_or(s.lease_duration);
        s.renew_deadline = self
            .renew_deadline
            .or(file.renew_deadline)
            .unwrap_or(s.renew_deadline);
        s.retry_period = self
            .retry_period
            .or(file.retry_period)
            .unwrap_or(s.retry_period);
        if !(s.retry_period < s.renew_deadline && s.renew_deadline < s.lease_duration) {
            return Err(format!(
                "retry period ({:?}) < renew deadline ({:?}) < lease duration ({:?}) does not hold \
                 (flags over the Agent file's sharding block); e.g. 2s, 10s, 15s",
                s.retry_period, s.renew_deadline, s.lease_duration
            ));
        }
        Ok(s)
    }
}

/// The Lease name of `member`.
pub fn lease_name(member: &str) -> String {
    format!("kiln-member-{member}")
}

/// What a replica knows of the group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct View {
    /// The live members, sorted (this one included while it holds its Lease).
    pub members: Vec<String>,
    /// Whether this replica may apply: it renewed within `renewDeadline`.
    pub can_apply: bool,
}

impl View {
    /// Whether `member` owns `app` in this view.
    pub fn owns(&self, member: &str, app: &str) -> bool {
        self.can_apply && owner(&self.members, app) == Some(member)
    }
}

/// The member that owns `app`: the highest `blake3(member ‖ 0 ‖ app)`.
pub fn owner<'a>(members: &'a [String], app: &str) -> Option<&'a str> {
    members
        .iter()
        .max_by_key(|m| {
            let mut h = blake3::Hasher::new();
            h.update(m.as_bytes());
            h.update(&[0]);
            h.update(app.as_bytes());
            *h.finalize().as_bytes()
        })
        .map(String::as_str)
}

fn now_micro() -> MicroTime {
    MicroTime(k8s_openapi::chrono::Utc::now())
}

/// Holds this replica's Lease and watches the others' until `stop` turns
/// true, then deletes its Lease (so its apps move at once). Publishes the
/// view on `view`.
pub async fn run(
    client: kube::Client,
    settings: ShardSettings,
    shared: std::sync::Arc<super::http::Shared>,
    view: watch::Sender<View>,
    mut stop: watch::Receiver<bool>,
) {
    let api: Api<Lease> = Api::namespaced(client, &settings.namespace);
    let name = settings.lease_name();
    let mut last_renew: Option<Instant> = None;
    // Lease name -> (resourceVersion, when this replica saw it change).
    let mut seen: HashMap<String, (String, Instant)> = HashMap::new();
    // Lease name -> its webhook count as last seen.
    let mut hooks_seen: HashMap<String, String> = HashMap::new();
    let started = Instant::now();
    loop {
        let tick = Instant::now();
        let hooks = shared.hooks.load(std::sync::atomic::Ordering::SeqCst);
        if renew(&api, &settings, &name, hooks).await {
            last_renew = Some(Instant::now());
        }
        let listed = api
            .list(&ListParams::default().labels(&format!("{GROUP_LABEL}={}", settings.group)))
            .await;
        let now = Instant::now();
        // A new replica waits one retry period, so that it sees the members that
        // started with it before it takes anything.
        let can_apply = last_renew.is_some_and(|t| now - t < settings.renew_deadline)
            && now - started >= settings.retry_period;
        if let Ok(list) = listed {
            let mut next: HashMap<String, (String, Instant)> = HashMap::new();
            for lease in list.items {
                let (Some(lname), Some(rv)) = (
                    lease.metadata.name.clone(),
                    lease.metadata.resource_version.clone(),
                ) else {
                    continue;
                };
                let at = match seen.get(&lname) {
                    Some((old, at)) if *old == rv => *at,
                    _ => now,
                };
                let hooks = lease
                    .metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(HOOKS))
                    .cloned()
                    .unwrap_or_default();
                if lname != name
                    && hooks_seen
                        .insert(lname.clone(), hooks.clone())
                        .is_some_and(|old| old != hooks)
                {
                    tracing::info!(member = %lname, "another replica received a webhook");
                    shared.poke.notify_one();
                }
                next.insert(lname, (rv, at));
            }
            seen = next;
        }
        let members = live(&seen, &settings, now, last_renew);
        let next = View { members, can_apply };
        view.send_if_modified(|v| {
            if *v == next {
                false
            } else {
                tracing::info!(members = ?next.members, can_apply = next.can_apply, "shard view");
                *v = next;
                true
            }
        });
        tokio::select! {
            () = tokio::time::sleep_until(tick + settings.retry_period) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            break;
        }
    }
    // Release: stop applying, then delete the Lease so the others take over at once.
    view.send_modify(|v| v.can_apply = false);
    match api.delete(&name, &DeleteParams::default()).await {
        Ok(_) => tracing::info!(lease = %name, "lease released"),
        Err(e) => tracing::warn!(lease = %name, error = %e, "cannot release the lease; it expires"),
    }
}

/// The live members: Leases that moved within `leaseDuration`, named by
/// the part after `kiln-member-`; this replica while it renews.
fn live(
    seen: &HashMap<String, (String, Instant)>,
    settings: &ShardSettings,
    now: Instant,
    last_renew: Option<Instant>,
) -> Vec<String> {
    let prefix = lease_name("");
    let mut members: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    for (lname, (_, at)) in seen {
        let Some(member) = lname.strip_prefix(&prefix) else {
            continue;
        };
        if member == settings.member {
            continue;
        }
        if now - *at < settings.lease_duration {
            members.insert(member.to_owned());
        }
    }
    if last_renew.is_some_and(|t| now - t < settings.lease_duration) {
        members.insert(settings.member.clone());
    }
    members.into_iter().collect()
}

/// Creates or renews this replica's Lease; whether it succeeded.
async fn renew(api: &Api<Lease>, settings: &ShardSettings, name: &str, hooks: u64) -> bool {
    let seconds = i32::try_from(settings.lease_duration.as_secs().max(1)).unwrap_or(i32::MAX);
    match api.get_opt(name).await {
        Ok(Some(mut lease)) => {
            lease
                .metadata
                .annotations
                .get_or_insert_with(BTreeMap::new)
                .insert(HOOKS.to_owned(), hooks.to_string());
            let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
            spec.holder_identity = Some(settings.member.clone());
            spec.lease_duration_seconds = Some(seconds);
            spec.renew_time = Some(now_micro());
            // `lease` carries the resourceVersion read: a concurrent writer makes this 409.
            match api.replace(name, &PostParams::default(), &lease).await {
                Ok(_) => true,
                Err(e) => {
                    tracing::warn!(lease = %name, error = %e, "cannot renew the lease");
                    false
                }
            }
        }
        Ok(None) => {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(name.to_owned()),
                    namespace: Some(settings.namespace.clone()),
                    labels: Some(BTreeMap::from([(
                        GROUP_LABEL.to_owned(),
                        settings.group.clone(),
                    )])),
                    annotations: Some(BTreeMap::from([(HOOKS.to_owned(), hooks.to_string())])),
                    ..ObjectMeta::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(settings.member.clone()),
                    lease_duration_seconds: Some(seconds),
                    acquire_time: Some(now_micro()),
                    renew_time: Some(now_micro()),
                    ..LeaseSpec::default()
                }),
            };
            match api.create(&PostParams::default(), &lease).await {
                Ok(_) => true,
                Err(e) => {
                    tracing::warn!(lease = %name, error = %e, "cannot create the lease");
                    false
                }
            }
        }
        Err(e) => {
            tracing::warn!(lease = %name, error = %e, "cannot read the lease");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_are_stable_and_only_a_leavers_apps_move() {
        let three: Vec<String> = ["a", "b", "c"].iter().map(|s| (*s).to_owned()).collect();
        let two: Vec<String> = ["a", "c"].iter().map(|s| (*s).to_owned()).collect();
        let mut counts = BTreeMap::new();
        for i in 0..3000 {
            let app = format!("app-{i}");
            let before = owner(&three, &app).unwrap();
            let after = owner(&two, &app).unwrap();
            if before != "b" {
                assert_eq!(before, after, "{app} moved though its owner stayed");
            }
            *counts.entry(before).or_insert(0) += 1;
        }
        for (m, n) in counts {
            assert!((800..1200).contains(&n), "{m}: {n}");
        }
        assert_eq!(owner(&[], "x"), None);
    }
}
