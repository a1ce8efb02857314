//! `client()` from a kubeconfig, dry runs, request timeouts, and a future the host can spawn.

mod common;

use std::time::Duration;

use common::{apply, configmap, inventory, options, server};
use kiln_kube::{Action, Applier, Manifests, no_progress};
use kiln_test_apiserver::{Fault, Options};

#[tokio::test]
async fn a_client_from_a_kubeconfig_and_a_context() {
    let (server, _) = server(Options::default()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("kubeconfig");
    server.write_kubeconfig(&path).expect("kubeconfig");
    let client = kiln_kube::client(Some(&path), None).await.expect("client");
    let applier = Applier::new(client, options("shop"));
    let (report, _) = apply(&applier, vec![configmap("default", "a", "1")]).await;
    assert_eq!(report.count(&Action::Created), 1, "{report:?}");
    assert!(server.object("", "configmaps", "default", "a").is_some());

    let Err(err) = kiln_kube::client(Some(&path), Some("no-such-context")).await else {
        panic!("an unknown context is an error");
    };
    assert!(err.to_string().contains("no-such-context"), "{err}");
    let Err(err) = kiln_kube::client(Some(&dir.path().join("missing")), None).await else {
        panic!("a missing kubeconfig is an error");
    };
    assert!(err.to_string().contains("missing"), "{err}");
}

#[tokio::test]
async fn a_dry_run_writes_nothing_and_reports_what_would_happen() {
    let (server, client) = server(Options::default()).await;
    let applier = Applier::new(client.clone(), options("shop"));
    apply(
        &applier,
        vec![
            configmap("default", "old", "1"),
            configmap("default", "kept", "1"),
        ],
    )
    .await;
    let mut opts = options("shop");
    opts.dry_run = true;
    let dry = Applier::new(client, opts);
    server.requests().clear();
    let (report, _) = apply(
        &dry,
        [
            common::app("fresh", "x"),
            vec![configmap("default", "kept", "2")],
        ]
        .concat(),
    )
    .await;
    assert!(!report.failed(), "{report:?}");
    assert_eq!(
        server.requests().writes(),
        0,
        "{:#?}",
        server.requests().entries()
    );
    assert_eq!(report.count(&Action::Created), 4, "{report:?}");
    assert_eq!(report.count(&Action::Configured), 1, "{report:?}");
    assert_eq!(report.count(&Action::Pruned), 1, "{report:?}");
    assert!(server.object("", "configmaps", "default", "old").is_some());
    assert_eq!(inventory(&server, "shop").len(), 2);
}

#[tokio::test]
async fn a_slow_answer_times_out_and_is_retried() {
    let (server, client) = server(Options::default()).await;
    server.faults().add(
        Fault::latency(Duration::from_millis(800))
            .verb("PATCH")
            .count(1),
    );
    let mut opts = options("shop");
    opts.retry.request_timeout = Duration::from_millis(200);
    let events = std::sync::Mutex::new(Vec::new());
    let progress = |e: kiln_kube::Event| events.lock().expect("not poisoned").push(e);
    let report = Applier::new(client, opts)
        .apply(
            Manifests::new(vec![configmap("default", "a", "1")]).expect("valid"),
            &progress,
        )
        .await
        .expect("runs");
    assert!(!report.failed(), "{report:?}");
    let retried = events.lock().expect("not poisoned").iter().any(
        |e| matches!(e, kiln_kube::Event::Retrying { error, .. } if error.contains("no answer")),
    );
    assert!(retried);
}

#[tokio::test]
async fn apply_and_diff_futures_can_be_spawned() {
    let (server, client) = server(Options::default()).await;
    let applier = Applier::new(client, options("shop"));
    let differ = applier.clone();
    let diff = tokio::spawn(async move {
        differ
            .diff(Manifests::new(vec![configmap("default", "a", "1")]).expect("valid"))
            .await
    });
    let diff = diff.await.expect("joins").expect("runs");
    assert!(diff.differs(), "{diff}");
    let task = tokio::spawn(async move {
        applier
            .apply(
                Manifests::new(vec![configmap("default", "a", "1")]).expect("valid"),
                &no_progress,
            )
            .await
    });
    let report = task.await.expect("joins").expect("runs");
    assert!(!report.failed(), "{report:?}");
    assert!(server.object("", "configmaps", "default", "a").is_some());
}
