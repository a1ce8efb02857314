//! Injected faults: retries converge, and no fault leaves an object outside the inventory.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{configmap, deployment, inventory, namespace, options, server, service};
use kiln_kube::{Action, Applier, Manifests, no_progress};
use kiln_test_apiserver::{Fault, Options, Server};
use serde_json::Value;

fn v1() -> Vec<Value> {
    vec![
        namespace("shop"),
        configmap("shop", "settings", "one"),
        configmap("shop", "extra", "x"),
        deployment("shop", "web", "nginx:1.27"),
        service("shop", "web"),
    ]
}

fn v2() -> Vec<Value> {
    vec![
        namespace("shop"),
        configmap("shop", "settings", "two"),
        configmap("shop", "new", "n"),
        deployment("shop", "web", "nginx:1.28"),
        service("shop", "web"),
    ]
}

/// Every object kiln could have made: (group, plural, namespace, name, inventory line).
const CANDIDATES: [(&str, &str, &str, &str, &str); 6] = [
    ("", "namespaces", "", "shop", "v1 Namespace - shop"),
    (
        "",
        "configmaps",
        "shop",
        "settings",
        "v1 ConfigMap shop settings",
    ),
    ("", "configmaps", "shop", "extra", "v1 ConfigMap shop extra"),
    ("", "configmaps", "shop", "new", "v1 ConfigMap shop new"),
    (
        "apps",
        "deployments",
        "shop",
        "web",
        "apps/v1 Deployment shop web",
    ),
    ("", "services", "shop", "web", "v1 Service shop web"),
];

/// Objects in the cluster marked as this app's but missing from its inventory.
fn orphans(server: &Server) -> Vec<String> {
    let listed: BTreeSet<String> = inventory(server, "shop").into_iter().collect();
    CANDIDATES
        .iter()
        .filter(|(g, p, ns, name, _)| {
            server.object(g, p, ns, name).is_some_and(|o| {
                o.pointer("/metadata/annotations/kiln.dev~1inventory-id")
                    .is_some()
            })
        })
        .filter(|c| !listed.contains(c.4))
        .map(|c| c.4.to_owned())
        .collect()
}

/// The state after a clean v2 apply: v2's objects, extra gone, the inventory listing v2.
fn assert_converged(server: &Server) {
    let live: Vec<&str> = CANDIDATES
        .iter()
        .filter(|(g, p, ns, name, _)| server.object(g, p, ns, name).is_some())
        .map(|c| c.4)
        .collect();
    let want = [
        "v1 Namespace - shop",
        "v1 ConfigMap shop settings",
        "v1 ConfigMap shop new",
        "apps/v1 Deployment shop web",
        "v1 Service shop web",
    ];
    assert_eq!(live, want);
    let mut inv = inventory(server, "shop");
    inv.sort();
    let mut want = want.map(str::to_owned).to_vec();
    want.sort();
    assert_eq!(inv, want);
    let cm = server
        .object("", "configmaps", "shop", "settings")
        .expect("exists");
    assert_eq!(cm["data"]["key"], "two");
}

struct Case {
    name: &'static str,
    faults: Vec<Fault>,
    /// Attempts per request (1: any fault is final).
    attempts: u32,
    /// Abort the apply future after this long.
    abort_after: Option<Duration>,
}

fn case(name: &'static str, faults: Vec<Fault>) -> Case {
    Case {
        name,
        faults,
        attempts: 8,
        abort_after: None,
    }
}

fn cases() -> Vec<Case> {
    let inv = "/configmaps/kiln-inventory-shop";
    vec![
        case(
            "429 on apply",
            vec![Fault::status(429).verb("PATCH").count(2).retry_after(1)],
        ),
        case(
            "500 on apply",
            vec![Fault::status(500).verb("PATCH").count(3)],
        ),
        case("503 on everything", vec![Fault::status(503).count(4)]),
        case("502 every third", vec![Fault::status(502).every(3)]),
        case(
            "504 on deployments",
            vec![Fault::status(504).path("/deployments").count(2)],
        ),
        case(
            "drop on apply",
            vec![Fault::drop_connection().verb("PATCH").count(2)],
        ),
        case(
            "drop on reads",
            vec![Fault::drop_connection().verb("GET").count(3)],
        ),
        case("drop every fourth", vec![Fault::drop_connection().every(4)]),
        case("latency", vec![Fault::latency(Duration::from_millis(30))]),
        case(
            "latency and 503",
            vec![
                Fault::latency(Duration::from_millis(10)),
                Fault::status(503).every(5),
            ],
        ),
        case(
            "500 on the inventory write",
            vec![Fault::status(500).path(inv).verb("PATCH").count(2)],
        ),
        case(
            "503 on prune",
            vec![Fault::status(503).verb("DELETE").count(2)],
        ),
        case(
            "drop on prune",
            vec![Fault::drop_connection().verb("DELETE").count(1)],
        ),
        case(
            "500 on lists",
            vec![Fault::status(500).verb("list").count(8)],
        ),
        case(
            "429 on a get",
            vec![Fault::status(429).verb("get").count(1).retry_after(1)],
        ),
        case(
            "503 on discovery",
            vec![Fault::status(503).path("/apis/apps").count(2)],
        ),
        case("500 every second", vec![Fault::status(500).every(2)]),
        Case {
            name: "inventory read fails",
            attempts: 1,
            ..case("", vec![Fault::status(503).path(inv).verb("GET").count(1)])
        },
        Case {
            name: "union inventory write fails",
            attempts: 1,
            ..case(
                "",
                vec![Fault::drop_connection().path(inv).verb("PATCH").count(1)],
            )
        },
        Case {
            name: "crash at the final inventory write",
            attempts: 1,
            ..case(
                "",
                vec![Fault::drop_connection().path(inv).verb("PATCH").every(2)],
            )
        },
        Case {
            name: "403 on prune",
            attempts: 1,
            ..case("", vec![Fault::status(403).verb("DELETE").count(1)])
        },
        Case {
            name: "409 on an apply",
            attempts: 1,
            ..case(
                "",
                vec![
                    Fault::status(409)
                        .verb("apply")
                        .path("/configmaps/new")
                        .count(1),
                ],
            )
        },
        Case {
            name: "500 on an apply, no retries",
            attempts: 1,
            ..case(
                "",
                vec![Fault::status(500).path("/services/").verb("PATCH").count(1)],
            )
        },
        Case {
            name: "aborted early",
            abort_after: Some(Duration::from_millis(60)),
            ..case("", vec![Fault::latency(Duration::from_millis(20))])
        },
        Case {
            name: "aborted midway",
            abort_after: Some(Duration::from_millis(150)),
            ..case("", vec![Fault::latency(Duration::from_millis(20))])
        },
        Case {
            name: "aborted late",
            abort_after: Some(Duration::from_millis(260)),
            ..case("", vec![Fault::latency(Duration::from_millis(20))])
        },
    ]
}

async fn run(client: &kube::Client, attempts: u32, abort_after: Option<Duration>) -> Option<bool> {
    let mut opts = options("shop");
    opts.retry.attempts = attempts;
    let applier = Applier::new(client.clone(), opts);
    let fut = applier.apply(Manifests::new(v2()).expect("valid"), &no_progress);
    let outcome = match abort_after {
        Some(d) => tokio::time::timeout(d, fut).await.ok()?,
        None => fut.await,
    };
    Some(outcome.is_ok_and(|r| !r.failed()))
}

#[tokio::test]
async fn faults_leave_no_orphan_and_converge_on_the_next_run() {
    let cases = cases();
    assert!(cases.len() >= 20);
    let mut fired_cases = 0;
    for c in cases {
        let (server, client) = server(Options::default()).await;
        let applier = Applier::new(client.clone(), options("shop"));
        let (first, _) = common::apply(&applier, v1()).await;
        assert!(!first.failed(), "{}: {first:?}", c.name);
        for f in c.faults.clone() {
            server.faults().add(f);
        }
        let outcome = run(&client, c.attempts, c.abort_after).await;
        if server.faults().fired().iter().any(|n| *n > 0) {
            fired_cases += 1;
        }
        assert_eq!(
            orphans(&server),
            Vec::<String>::new(),
            "{}: orphans after the faulty run",
            c.name
        );
        server.faults().clear();
        if outcome != Some(true) {
            let again = run(&client, 8, None).await;
            assert_eq!(again, Some(true), "{}: the next run succeeds", c.name);
        }
        assert_converged(&server);
        server.requests().clear();
        let (report, _) = common::apply(&applier, v2()).await;
        assert_eq!(
            report.count(&Action::Unchanged),
            5,
            "{}: {report:?}",
            c.name
        );
        assert_eq!(server.requests().writes(), 0, "{}: settled", c.name);
    }
    assert!(
        fired_cases >= 20,
        "only {fired_cases} cases injected a fault"
    );
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let (server, client) = server(Options::default()).await;
    server
        .faults()
        .add(Fault::status(429).verb("PATCH").count(1).retry_after(1));
    let events = std::sync::Mutex::new(Vec::new());
    let progress = |e: kiln_kube::Event| events.lock().expect("not poisoned").push(e);
    let applier = Applier::new(client, options("shop"));
    let started = std::time::Instant::now();
    let report = applier
        .apply(
            Manifests::new(vec![configmap("default", "a", "1")]).expect("valid"),
            &progress,
        )
        .await
        .expect("runs");
    assert!(!report.failed(), "{report:?}");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited {:?}",
        started.elapsed()
    );
    let retries: Vec<_> = events
        .lock()
        .expect("not poisoned")
        .iter()
        .filter_map(|e| match e {
            kiln_kube::Event::Retrying { delay, error, .. } => Some((*delay, error.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(retries.len(), 1, "{retries:?}");
    assert_eq!(retries[0].0, Duration::from_secs(1));
    assert!(retries[0].1.contains("429"), "{}", retries[0].1);
}

#[tokio::test]
async fn permanent_errors_are_not_retried() {
    let (server, client) = server(Options::default()).await;
    server.faults().add(
        Fault::status(422)
            .verb("PATCH")
            .path("/configmaps/a")
            .count(1),
    );
    let applier = Applier::new(client, options("shop"));
    let report = applier
        .apply(
            Manifests::new(vec![configmap("default", "a", "1")]).expect("valid"),
            &no_progress,
        )
        .await
        .expect("runs");
    assert!(report.failed());
    let apply_requests = server
        .requests()
        .entries()
        .iter()
        .filter(|e| e.verb == "apply" && !e.path.contains("kiln-inventory"))
        .count();
    assert_eq!(apply_requests, 1);
}

#[tokio::test]
async fn a_crash_at_the_final_inventory_write_is_reported_and_repaired() {
    let (server, client) = server(Options::default()).await;
    let applier = Applier::new(client.clone(), options("shop"));
    common::apply(&applier, v1()).await;
    // the union write (1st inventory PATCH) goes through, the final one (2nd) is dropped
    server.faults().add(
        Fault::drop_connection()
            .path("/configmaps/kiln-inventory-shop")
            .verb("PATCH")
            .every(2),
    );
    let mut opts = options("shop");
    opts.retry.attempts = 1;
    let report = Applier::new(client, opts)
        .apply(Manifests::new(v2()).expect("valid"), &no_progress)
        .await
        .expect("runs");
    assert!(report.failed());
    assert_eq!(report.errors.len(), 1, "{report:?}");
    assert!(
        report.errors[0].contains("kiln-inventory-shop"),
        "{}",
        report.errors[0]
    );
    assert_eq!(report.count(&Action::Pruned), 1, "{report:?}");
    // the inventory is the union: it lists the pruned object and the new one
    let inv = inventory(&server, "shop");
    assert!(
        inv.contains(&"v1 ConfigMap shop extra".to_owned()),
        "{inv:?}"
    );
    assert!(inv.contains(&"v1 ConfigMap shop new".to_owned()), "{inv:?}");
    server.faults().clear();
    let (report, _) = common::apply(&applier, v2()).await;
    assert!(!report.failed(), "{report:?}");
    assert_converged(&server);
}
