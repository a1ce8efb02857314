//! Request timeouts, which only the emulator can provoke (the rest runs against a real
//! kube-apiserver: `tests/cluster/`).

mod common;

use std::time::Duration;

use common::{configmap, options, server};
use kiln_kube::{Applier, Manifests};
use kiln_test_apiserver::{Fault, Options};

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
