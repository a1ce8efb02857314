//! Sharding: replicas split the apps over Leases, each app is applied by one replica at a
//! time, a killed replica's apps move once its Lease expires, a stopped one's at once, and a
//! replica that cannot renew its Lease stops applying.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use kiln::agent::http::Shared;
use kiln::agent::shard::{ShardSettings, TraceEvent, Traced, owner};
use kiln::agent::store;

use crate::harness::{Cluster, FIRST, LATER, Repo, agent_file, eventually, settings, start_on};

/// How many apps the three replicas split (one `ConfigMap` each, short Lease timings).
const APPS: usize = 300;
const LEASE: Duration = Duration::from_secs(2);
const RENEW: Duration = Duration::from_millis(1500);
const RETRY: Duration = Duration::from_millis(250);

fn shard(c: &Cluster, member: &str) -> ShardSettings {
    let mut s = ShardSettings::new(member, &c.ns, &c.ns);
    s.lease_duration = LEASE;
    s.renew_deadline = RENEW;
    s.retry_period = RETRY;
    s
}

fn traced() -> Shared {
    Shared {
        trace: Some(std::sync::Mutex::new(Vec::new())),
        ..Shared::default()
    }
}

fn events(shared: &Shared) -> Vec<TraceEvent> {
    shared
        .trace
        .as_ref()
        .expect("traced")
        .lock()
        .expect("trace lock")
        .clone()
}

fn app_name(i: usize) -> String {
    format!("app-{i:03}")
}

/// Every app one `ConfigMap` `cm-NNN` with `k: value`.
fn write_apps(repo: &Repo, ns: &str, value: &str) {
    for i in 0..APPS {
        let name = app_name(i);
        repo.write(
            &format!("apps/{name}/kustomization.yaml"),
            "resources: [cm.yaml]\n",
        );
        repo.write(
            &format!("apps/{name}/cm.yaml"),
            &format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i:03}\n  namespace: {ns}\ndata:\n  k: {value}\n"
            ),
        );
    }
}

/// How many apps are Ready with `revision` applied.
async fn converged(c: &Cluster, revision: &str) -> usize {
    store::list(&c.client, Some(&c.ns))
        .await
        .expect("list inventories")
        .into_iter()
        .filter_map(|s| s.status)
        .filter(|s| s.ready() && s.last_applied_revision.as_deref() == Some(revision))
        .count()
}

/// Apply intervals per app and member; an apply still open ends at `cut` (the kill).
fn intervals(
    all: &[TraceEvent],
    cut: Option<(&str, Instant)>,
) -> BTreeMap<String, Vec<(String, Instant, Instant)>> {
    let mut open: BTreeMap<(String, String), Instant> = BTreeMap::new();
    let mut out: BTreeMap<String, Vec<(String, Instant, Instant)>> = BTreeMap::new();
    for e in all {
        let key = (e.app.clone(), e.member.clone());
        match e.what {
            Traced::ApplyStarted => {
                assert!(
                    open.insert(key, e.at).is_none(),
                    "{} started twice at once on {}",
                    e.app,
                    e.member
                );
            }
            Traced::ApplyEnded => {
                let start = open.remove(&key).expect("an end follows a start");
                out.entry(e.app.clone())
                    .or_default()
                    .push((e.member.clone(), start, e.at));
            }
            Traced::Claimed | Traced::Gained => {}
        }
    }
    for ((app, member), start) in open {
        let end = match cut {
            Some((killed, at)) if killed == member => at,
            _ => panic!("{member} left an apply of {app} open"),
        };
        out.entry(app).or_default().push((member, start, end));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(
    clippy::print_stderr,
    reason = "the figures are worth seeing with --nocapture"
)]
async fn three_replicas_split_the_apps_and_a_dead_ones_move() {
    let c = Cluster::new("agent-shard").await;
    let repo = Repo::new();
    repo.write(
        "agent.yaml",
        &agent_file(
            &c.ns,
            "defaults: {interval: 10m, retryInterval: 1s, timeout: 30s}\n",
        ),
    );
    write_apps(&repo, &c.ns, "v1");
    let first = format!("main@sha1:{}", repo.commit("v1"));
    let members: Vec<String> = ["r0", "r1", "r2"].map(str::to_owned).to_vec();
    let mut replicas: Vec<Option<crate::harness::Running>> = members
        .iter()
        .map(|m| {
            let mut s = settings(&repo, Duration::from_millis(300));
            s.shard = Some(shard(&c, m).into());
            Some(start_on(s, c.client.clone(), traced()))
        })
        .collect();
    let agents: Vec<Arc<Shared>> = replicas
        .iter()
        .map(|r| r.as_ref().expect("running").shared.clone())
        .collect();
    let all_events = || {
        let mut all: Vec<TraceEvent> = agents.iter().flat_map(|s| events(s)).collect();
        all.sort_by_key(|e| e.at);
        all
    };

    let started = Instant::now();
    eventually(FIRST, "every app applied at v1", || async {
        converged(&c, &first).await == APPS
    })
    .await;
    eprintln!(
        "{APPS} apps converged on 3 replicas in {:?}",
        started.elapsed()
    );

    // Each app applied exactly once, by the replica rendezvous hashing names.
    let mut applied: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in all_events() {
        if e.what == Traced::ApplyStarted && e.revision == first {
            applied.entry(e.app).or_default().push(e.member);
        }
    }
    assert_eq!(applied.len(), APPS, "every app applied");
    let mut shares: BTreeMap<String, usize> = BTreeMap::new();
    for (app, by) in &applied {
        assert_eq!(by.len(), 1, "{app} applied {} times: {by:?}", by.len());
        assert_eq!(Some(by[0].as_str()), owner(&members, app), "{app}");
        *shares.entry(by[0].clone()).or_default() += 1;
    }
    eprintln!("shares: {shares:?}");
    for (m, n) in &shares {
        // |n - APPS/3| <= 20% of APPS/3
        assert!(
            (3 * n).abs_diff(APPS) * 5 <= APPS,
            "{m} holds {n} apps, not within ±20% of {APPS}/3"
        );
    }
    let inventory = |app: &str| kiln::agent::source::inventory_name(app, "kiln");
    for app in applied.keys() {
        let s = store::read(&c.client, &c.ns, &inventory(app))
            .await
            .expect("read")
            .expect("inventory");
        assert_eq!(Some(s.owner()), owner(&members, app), "{app}'s holder");
    }

    // A new commit; r0 is killed in the middle of applying it.
    write_apps(&repo, &c.ns, "v2");
    let second = format!("main@sha1:{}", repo.commit("v2"));
    eventually(LATER, "r0 applying v2", || async {
        events(&agents[0])
            .last()
            .is_some_and(|e| e.what == Traced::ApplyStarted && e.revision == second)
    })
    .await;
    replicas[0].take().expect("r0").kill();
    let killed = Instant::now();
    eventually(FIRST, "every app applied at v2", || async {
        converged(&c, &second).await == APPS
    })
    .await;
    eprintln!("v2 converged {:?} after the kill", killed.elapsed());

    let all = all_events();
    let r0_apps: BTreeSet<String> = (0..APPS)
        .map(app_name)
        .filter(|a| owner(&members, a) == Some("r0"))
        .collect();
    // r0's apps moved once its Lease expired: within lease duration + retry period (plus one
    // more retry period for when its last renewal was seen, and the slack of a loaded
    // machine), and not before r0 could have been seen gone.
    let gained: BTreeMap<&str, Instant> = all
        .iter()
        .filter(|e| e.what == Traced::Gained && e.member != "r0" && e.at > killed)
        .map(|e| (e.app.as_str(), e.at))
        .collect();
    for app in &r0_apps {
        let at = gained
            .get(app.as_str())
            .unwrap_or_else(|| panic!("{app} did not move"));
        let after = *at - killed;
        assert!(
            after <= LEASE + RETRY + Duration::from_secs(1),
            "{app} moved {after:?} after the kill"
        );
        assert!(
            after >= LEASE.saturating_sub(RETRY),
            "{app} moved {after:?} after the kill, too early"
        );
        let new = owner(&members[1..], app).expect("an owner");
        assert!(
            all.iter()
                .any(|e| e.what == Traced::Claimed && e.member == new && &e.app == app),
            "{new} took {app}"
        );
    }

    // Nothing was applied by two replicas at once.
    for (app, spans) in intervals(&all, Some(("r0", killed))) {
        for (i, (m1, s1, e1)) in spans.iter().enumerate() {
            for (m2, s2, e2) in &spans[i + 1..] {
                if m1 != m2 {
                    assert!(
                        e1 <= s2 || e2 <= s1,
                        "{app} applied by {m1} and {m2} at once"
                    );
                }
            }
        }
    }

    // No object lost or orphaned: every app's ConfigMap at v2, each inventory listing exactly it.
    for i in 0..APPS {
        assert_eq!(
            c.value(&format!("cm-{i:03}")).await.as_deref(),
            Some("v2"),
            "cm-{i:03}"
        );
        let cm = c
            .configmap(&format!("kiln-inventory-{}", app_name(i)))
            .await
            .expect("inventory");
        let objects = cm.pointer("/data/objects").and_then(|v| v.as_str());
        assert_eq!(
            objects,
            Some(format!("v1 ConfigMap {} cm-{i:03}\n", c.ns).as_str())
        );
    }

    // A graceful stop releases r1's Lease at once; r2 takes its apps well within a lease.
    let leases: kube::Api<k8s_openapi::api::coordination::v1::Lease> =
        kube::Api::namespaced(c.client.clone(), &c.ns);
    assert!(
        leases
            .get_opt("kiln-member-r0")
            .await
            .expect("get")
            .is_some(),
        "a killed replica leaves its Lease to expire"
    );
    replicas[1].take().expect("r1").stop().await;
    let stopped = Instant::now();
    assert!(
        leases
            .get_opt("kiln-member-r1")
            .await
            .expect("get")
            .is_none(),
        "the Lease is released"
    );
    let r1_apps: Vec<String> = (0..APPS)
        .map(app_name)
        .filter(|a| owner(&members[1..], a) == Some("r1"))
        .collect();
    eventually(LATER, "r2 took r1's apps", || async {
        let ev = events(&agents[2]);
        r1_apps.iter().all(|app| {
            ev.iter()
                .any(|e| e.what == Traced::Claimed && &e.app == app && e.at > stopped)
        })
    })
    .await;
    let ev = events(&agents[2]);
    for app in &r1_apps {
        let at = ev
            .iter()
            .find(|e| e.what == Traced::Gained && &e.app == app && e.at > stopped)
            .unwrap_or_else(|| panic!("r2 gained {app}"))
            .at;
        assert!(
            at - stopped < LEASE,
            "{app} moved {:?} after a graceful stop",
            at - stopped
        );
    }
    for app in &r1_apps {
        let s = store::read(&c.client, &c.ns, &inventory(app))
            .await
            .expect("read")
            .expect("inventory");
        assert_eq!(s.owner(), "r2", "{app}");
    }
    replicas[2].take().expect("r2").stop().await;
}

/// A client whose Lease requests fail while `cut` is set (a partition between one replica and
/// the API server's Lease traffic).
fn partitioned(client: kube::Client, cut: Arc<AtomicBool>) -> kube::Client {
    let ns = client.default_namespace().to_owned();
    let service = tower::service_fn(move |req: http::Request<kube::client::Body>| {
        let client = client.clone();
        let cut = cut.clone();
        async move {
            if cut.load(Ordering::SeqCst) && req.uri().path().contains("/leases") {
                return Err(kube::Error::Service("partitioned".into()));
            }
            client.send(req).await
        }
    });
    kube::Client::new(service, ns)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_that_cannot_renew_its_lease_stops_applying() {
    let c = Cluster::new("agent-fence").await;
    let repo = Repo::new();
    repo.write(
        "agent.yaml",
        &agent_file(
            &c.ns,
            "defaults: {interval: 1s, retryInterval: 1s, timeout: 30s}\n",
        ),
    );
    crate::harness::app(&repo, "web", &c.ns, &[("settings", "v1")]);
    repo.commit("v1");
    let cut = Arc::new(AtomicBool::new(false));
    let mut s = settings(&repo, Duration::from_millis(200));
    s.shard = Some(shard(&c, "solo").into());
    let agent = start_on(s, partitioned(c.client.clone(), cut.clone()), traced());
    eventually(FIRST, "v1 applied", || async {
        c.value("settings").await.as_deref() == Some("v1")
    })
    .await;
    cut.store(true, Ordering::SeqCst);
    tokio::time::sleep(RENEW + RETRY * 2).await;
    // Neither a commit nor drift is acted on while the Lease cannot be renewed.
    crate::harness::app(&repo, "web", &c.ns, &[("settings", "v2")]);
    repo.commit("v2");
    c.edit("settings", "edited").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(c.value("settings").await.as_deref(), Some("edited"));
    cut.store(false, Ordering::SeqCst);
    eventually(LATER, "v2 applied once the Lease is renewed", || async {
        c.value("settings").await.as_deref() == Some("v2")
    })
    .await;
    agent.stop().await;
}

fn configmap(ns: &str, name: &str) -> serde_json::Value {
    serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns}, "data": {"k": "v"}})
}

/// A client that, before the first write of `object`, writes the inventory of `app` as another
/// replica taking the app would.
fn taken_over_during(client: kube::Client, ns: &str, app: &str, object: &str) -> kube::Client {
    let default_ns = client.default_namespace().to_owned();
    let done = Arc::new(AtomicBool::new(false));
    let (ns, inventory, object) = (
        ns.to_owned(),
        format!("kiln-inventory-{app}"),
        object.to_owned(),
    );
    let service = tower::service_fn(move |req: http::Request<kube::client::Body>| {
        let client = client.clone();
        let done = done.clone();
        let (ns, inventory, object) = (ns.clone(), inventory.clone(), object.clone());
        async move {
            let write = req.method() == http::Method::PATCH
                && req.uri().path().ends_with(&format!("/configmaps/{object}"))
                && !req.uri().query().unwrap_or_default().contains("dryRun");
            if write && !done.swap(true, Ordering::SeqCst) {
                let api: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
                    kube::Api::namespaced(client.clone(), &ns);
                api.patch(
                    &inventory,
                    &kube::api::PatchParams::default(),
                    &kube::api::Patch::Merge(serde_json::json!(
                        {"metadata": {"annotations": {"kiln.dev/owner": "other", "kiln.dev/epoch": "9"}}}
                    )),
                )
                .await
                .expect("take the app over");
            }
            client.send(req).await
        }
    });
    kube::Client::new(service, default_ns)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_fence_writes_and_prunes_nothing() {
    use kiln_kube::{Applier, ApplyError, ApplyOptions, Manifests, no_progress};
    let c = Cluster::new("agent-cas").await;
    let apply = |client: kube::Client, fence: Option<String>, names: &[&str]| {
        let mut opts = ApplyOptions::new("fenced", &c.ns);
        opts.fence = fence;
        let manifests =
            Manifests::new(names.iter().map(|n| configmap(&c.ns, n)).collect()).expect("manifests");
        async move {
            Applier::new(client, opts)
                .apply(manifests, &no_progress)
                .await
        }
    };
    let first = apply(c.client.clone(), None, &["a"]).await.expect("apply");
    let version = first.inventory_version.clone().expect("a version");

    // A stale fence: refused before anything is written.
    let stale = apply(c.client.clone(), Some("1".to_owned()), &["b"]).await;
    assert!(matches!(stale, Err(ApplyError::Fenced { .. })), "{stale:?}");
    assert!(c.configmap("b").await.is_none(), "nothing applied");

    // The fence held: applied and pruned, and the next fence returned.
    let held = apply(c.client.clone(), Some(version.clone()), &["b"])
        .await
        .expect("apply");
    assert!(!held.fenced && !held.failed(), "{held:?}");
    assert!(c.configmap("a").await.is_none(), "a pruned");
    let version = held.inventory_version.expect("the next fence");

    // Taken over while applying: the apply carries on with its objects but prunes nothing
    // and leaves the inventory to the new holder.
    let client = taken_over_during(c.client.clone(), &c.ns, "fenced", "d");
    let moved = apply(client, Some(version), &["d"]).await.expect("apply");
    assert!(moved.fenced, "{moved:?}");
    assert!(c.configmap("b").await.is_some(), "b not pruned");
    let inventory = c
        .configmap("kiln-inventory-fenced")
        .await
        .expect("inventory");
    assert_eq!(
        inventory.pointer("/metadata/annotations/kiln.dev~1owner"),
        Some(&serde_json::json!("other"))
    );
    let objects = inventory
        .pointer("/data/objects")
        .and_then(|v| v.as_str())
        .expect("objects");
    assert!(objects.contains(" b\n"), "b still listed: {objects}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_to_one_replica_reaches_the_others() {
    const TOKEN: &str = "hook-token";
    let c = Cluster::new("agent-shardhook").await;
    let repo = Repo::new();
    repo.write(
        "agent.yaml",
        &agent_file(
            &c.ns,
            "metadata: {name: hooks}\ndefaults: {interval: 10m, retryInterval: 1s, timeout: 30s}\n",
        ),
    );
    let apps = ["a", "b", "c", "d", "e", "f"];
    for a in apps {
        crate::harness::app(&repo, a, &c.ns, &[(a, "v1")]);
    }
    repo.commit("v1");
    let members: Vec<String> = ["r0", "r1"].map(str::to_owned).to_vec();
    assert!(
        apps.iter().any(|a| owner(&members, a) == Some("r1")),
        "r1 holds some app"
    );
    let replicas: Vec<_> = members
        .iter()
        .map(|m| {
            // The remote is listed only every 10 minutes: only a webhook brings v2 in time.
            let mut s = settings(&repo, Duration::from_mins(10));
            s.webhook_token = Some(TOKEN.to_owned());
            s.shard = Some(shard(&c, m).into());
            start_on(s, c.client.clone(), Shared::default())
        })
        .collect();
    eventually(FIRST, "v1 applied", || async {
        for a in apps {
            if c.value(a).await.as_deref() != Some("v1") {
                return false;
            }
        }
        true
    })
    .await;
    for a in apps {
        crate::harness::app(&repo, a, &c.ns, &[(a, "v2")]);
    }
    repo.commit("v2");
    // Only r0 serves HTTP.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let router = kiln::agent::http::router(replicas[0].shared.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let path = format!(
        "/hook/{}",
        kiln::agent::http::hook_path(TOKEN, "hooks", &c.ns)
    );
    let body = br#"{"ref":"refs/heads/main"}"#;
    let headers = [(
        "x-hub-signature-256",
        crate::webhook::signature(TOKEN, body),
    )];
    assert_eq!(
        crate::webhook::request(addr, "POST", &path, &headers, body).await,
        202
    );
    eventually(Duration::from_secs(5), "every app at v2", || async {
        for a in apps {
            if c.value(a).await.as_deref() != Some("v2") {
                return false;
            }
        }
        true
    })
    .await;
    for r in replicas {
        r.stop().await;
    }
}

/// The first of `candidates` that `member` owns among `members`.
fn owned_by(members: &[String], member: &str, candidates: &str) -> String {
    (0..100)
        .map(|i| format!("{candidates}-{i}"))
        .find(|a| owner(members, a) == Some(member))
        .unwrap_or_else(|| panic!("{member} owns no {candidates}-N"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn depends_on_waits_for_an_app_another_replica_holds() {
    let c = Cluster::new("agent-sharddeps").await;
    let repo = Repo::new();
    let members: Vec<String> = ["r0", "r1"].map(str::to_owned).to_vec();
    // `back` is r0's, `front` (which depends on it) r1's.
    let back = owned_by(&members, "r0", "back");
    let front = owned_by(&members, "r1", "front");
    // The sharding settings come from the Agent file; the replicas get only their names.
    repo.write(
        "agent.yaml",
        &agent_file(
            &c.ns,
            &format!(
                "defaults: {{interval: 10m, retryInterval: 500ms, timeout: 30s}}\n\
                 overrides:\n- match: {front}\n  dependsOn: [{back}]\n\
                 sharding: {{group: deps, leaseNamespace: {ns}, leaseDuration: 2s, renewDeadline: 1500ms, retryPeriod: 250ms}}\n",
                ns = c.ns
            ),
        ),
    );
    crate::harness::app(&repo, &front, &c.ns, &[("front", "v1")]);
    // The dependency's render fails at first.
    repo.write(
        &format!("apps/{back}/kustomization.yaml"),
        "resources: [missing.yaml]\n",
    );
    repo.commit("back broken");
    let replicas: Vec<_> = members
        .iter()
        .map(|m| {
            let mut s = settings(&repo, Duration::from_millis(300));
            s.shard = Some(kiln::agent::shard::ShardFlags {
                member: m.clone(),
                ..kiln::agent::shard::ShardFlags::default()
            });
            start_on(s, c.client.clone(), traced())
        })
        .collect();
    // Each replica holds a Lease of the file's group, with the file's duration.
    let leases: kube::Api<k8s_openapi::api::coordination::v1::Lease> =
        kube::Api::namespaced(c.client.clone(), &c.ns);
    eventually(FIRST, "both Leases held", || async {
        let mut held = 0;
        for m in &members {
            if let Some(l) = leases
                .get_opt(&format!("kiln-member-{m}"))
                .await
                .expect("get")
            {
                let labels = l.metadata.labels.unwrap_or_default();
                assert_eq!(
                    labels.get("kiln.dev/agent").map(String::as_str),
                    Some("deps")
                );
                assert_eq!(l.spec.and_then(|s| s.lease_duration_seconds), Some(2));
                held += 1;
            }
        }
        held == members.len()
    })
    .await;
    eventually(FIRST, "front waits: DependencyNotReady", || async {
        crate::harness::ready_is(
            c.status(&front).await.as_ref(),
            "False",
            "DependencyNotReady",
        )
    })
    .await;
    eventually(LATER, "back failed: BuildFailed", || async {
        crate::harness::ready_is(c.status(&back).await.as_ref(), "False", "BuildFailed")
    })
    .await;
    // Several retries of front have passed meanwhile; none applied it.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        c.configmap("front").await.is_none(),
        "front was not applied before back"
    );

    crate::harness::app(&repo, &back, &c.ns, &[("back", "v1")]);
    let fixed = format!("main@sha1:{}", repo.commit("back fixed"));
    eventually(LATER, "front Ready at the fixed commit", || async {
        let s = c.status(&front).await;
        crate::harness::ready_is(s.as_ref(), "True", "ReconciliationSucceeded")
            && s.and_then(|s| s.last_applied_revision).as_deref() == Some(fixed.as_str())
    })
    .await;
    // Each applied by its own replica, front only after back's apply ended.
    let applies = |r: usize, app: &str, what: Traced| -> Vec<Instant> {
        events(&replicas[r].shared)
            .into_iter()
            .filter(|e| e.what == what && e.app == app && e.revision == fixed)
            .map(|e| e.at)
            .collect()
    };
    let back_ended = applies(0, &back, Traced::ApplyEnded);
    let front_started = applies(1, &front, Traced::ApplyStarted);
    assert_eq!(back_ended.len(), 1, "r0 applied {back} once");
    assert_eq!(front_started.len(), 1, "r1 applied {front} once");
    assert!(
        applies(1, &back, Traced::ApplyStarted).is_empty()
            && applies(0, &front, Traced::ApplyStarted).is_empty(),
        "neither replica applied the other's app"
    );
    assert!(
        back_ended[0] < front_started[0],
        "{front} started before {back} was applied"
    );
    let version = |cm: Option<serde_json::Value>| {
        cm.and_then(|v| {
            v.pointer("/metadata/resourceVersion")
                .and_then(|r| r.as_str())
                .and_then(|r| r.parse::<u64>().ok())
        })
        .expect("created")
    };
    assert!(
        version(c.configmap("back").await) < version(c.configmap("front").await),
        "back was written before front"
    );
    for r in replicas {
        r.stop().await;
    }
}

/// A commit that changes the `sharding` block takes effect without a
/// restart: the replica leaves its group (its Lease goes) and joins the new
/// one, and keeps applying.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_sharding_block_takes_effect_without_a_restart() {
    let c = Cluster::new("agent-reshard").await;
    let repo = Repo::new();
    let sharding = |group: &str| {
        agent_file(
            &c.ns,
            &format!(
                "defaults: {{interval: 10m, retryInterval: 500ms, timeout: 30s}}\n\
                 sharding: {{group: {group}, leaseNamespace: {ns}, leaseDuration: 2s, renewDeadline: 1500ms, retryPeriod: 250ms}}\n",
                ns = c.ns
            ),
        )
    };
    repo.write("agent.yaml", &sharding("before"));
    crate::harness::app(&repo, "web", &c.ns, &[("web", "v1")]);
    repo.commit("first");
    let mut s = settings(&repo, Duration::from_millis(300));
    s.shard = Some(kiln::agent::shard::ShardFlags {
        member: "solo".to_owned(),
        ..kiln::agent::shard::ShardFlags::default()
    });
    let _agent = start_on(s, c.client.clone(), traced());
    let leases: kube::Api<k8s_openapi::api::coordination::v1::Lease> =
        kube::Api::namespaced(c.client.clone(), &c.ns);
    let group = || async {
        leases
            .get_opt("kiln-member-solo")
            .await
            .expect("get")
            .and_then(|l| l.metadata.labels)
            .and_then(|l| l.get("kiln.dev/agent").cloned())
    };
    eventually(FIRST, "web applied in group `before`", || async {
        c.value("web").await.as_deref() == Some("v1") && group().await.as_deref() == Some("before")
    })
    .await;

    repo.write("agent.yaml", &sharding("after"));
    crate::harness::app(&repo, "web", &c.ns, &[("web", "v2")]);
    repo.commit("new group");
    eventually(LATER, "web applied again, in group `after`", || async {
        c.value("web").await.as_deref() == Some("v2") && group().await.as_deref() == Some("after")
    })
    .await;
}
