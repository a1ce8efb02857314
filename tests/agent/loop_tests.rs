//! The reconcile loop: commits, drift, failed and empty renders, a vanished remote,
//! `dependsOn`, suspend, `kiln.dev/requestedAt`, and `kiln status`.

use std::time::Duration;

use crate::harness::{
    Cluster, FIRST, LATER, Repo, agent_file, app, eventually, ready_is, settings, start,
};

const FAST: &str = "defaults: {interval: 1s, retryInterval: 1s, timeout: 30s}\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_reaches_the_cluster_and_a_dropped_object_is_pruned() {
    let c = Cluster::new("agent-commit").await;
    let repo = Repo::new();
    repo.write("agent.yaml", &agent_file(&c.ns, FAST));
    app(&repo, "web", &c.ns, &[("settings", "v1"), ("extra", "x")]);
    let first = repo.commit("v1");
    let agent = start(settings(&repo, Duration::from_millis(300)), &c);
    eventually(FIRST, "v1 applied", || async {
        c.value("settings").await.as_deref() == Some("v1")
    })
    .await;
    eventually(LATER, "Ready at the first commit", || async {
        let s = c.status("web").await;
        ready_is(s.as_ref(), "True", "ReconciliationSucceeded")
            && s.and_then(|s| s.last_applied_revision) == Some(format!("main@sha1:{first}"))
    })
    .await;

    app(&repo, "web", &c.ns, &[("settings", "v2")]);
    repo.remove("apps/web/extra.yaml");
    let second = repo.commit("v2");
    eventually(LATER, "v2 applied", || async {
        c.value("settings").await.as_deref() == Some("v2")
    })
    .await;
    eventually(LATER, "the dropped object pruned", || async {
        c.configmap("extra").await.is_none()
    })
    .await;
    eventually(LATER, "the status names the second commit", || async {
        c.status("web").await.and_then(|s| s.last_applied_revision)
            == Some(format!("main@sha1:{second}"))
    })
    .await;
    let status = c.status("web").await.expect("status");
    assert!(status.render_key.is_some_and(|k| !k.is_empty()));
    assert!(!status.plugins.is_empty(), "plugin digests are recorded");
    assert!(status.history.len() >= 2, "{:?}", status.history);
    let metrics = agent.shared.metrics.encode();
    for name in [
        "kiln_app_info{",
        "kiln_reconcile_duration_seconds_bucket{",
        "kiln_app_sync_total{",
        "kiln_apply_objects_total{",
        "kiln_render_duration_seconds_bucket{",
        "kiln_git_request_total{",
    ] {
        assert!(metrics.contains(name), "{name} missing in:\n{metrics}");
    }
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_is_corrected() {
    let c = Cluster::new("agent-drift").await;
    let repo = Repo::new();
    repo.write("agent.yaml", &agent_file(&c.ns, FAST));
    app(&repo, "web", &c.ns, &[("settings", "v1")]);
    repo.commit("v1");
    let agent = start(settings(&repo, Duration::from_millis(300)), &c);
    eventually(FIRST, "v1 applied", || async {
        c.value("settings").await.as_deref() == Some("v1")
    })
    .await;
    c.edit("settings", "edited").await;
    eventually(LATER, "the edit reverted", || async {
        c.value("settings").await.as_deref() == Some("v1")
    })
    .await;
    let metrics = agent.shared.metrics.encode();
    assert!(
        metrics.contains("kiln_drift_corrections_total{name=\"web\"} 1"),
        "{metrics}"
    );
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_is_only_reported_in_detect_mode() {
    let c = Cluster::new("agent-detect").await;
    let repo = Repo::new();
    let policy = "defaults: {interval: 1s, retryInterval: 1s, timeout: 30s, drift: detect}\n";
    repo.write("agent.yaml", &agent_file(&c.ns, policy));
    app(&repo, "web", &c.ns, &[("settings", "v1")]);
    repo.commit("v1");
    let agent = start(settings(&repo, Duration::from_millis(300)), &c);
    eventually(FIRST, "v1 applied", || async {
        c.value("settings").await.as_deref() == Some("v1")
    })
    .await;
    c.edit("settings", "edited").await;
    eventually(LATER, "Ready=False DriftDetected", || async {
        ready_is(c.status("web").await.as_ref(), "False", "DriftDetected")
    })
    .await;
    let status = c.status("web").await.expect("status");
    assert_eq!(status.sync_status, "OutOfSync");
    assert_eq!(
        status.drifted_objects,
        [format!("v1/ConfigMap/{}/settings", c.ns)]
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        c.value("settings").await.as_deref(),
        Some("edited"),
        "detect writes nothing"
    );
    agent.stop().await;
}

/// Applies two objects, then commits `broken` and checks that nothing is pruned and Ready says
/// `BuildFailed` at the new commit.
async fn bad_render_prunes_nothing(prefix: &str, broken: &str) {
    let c = Cluster::new(prefix).await;
    let repo = Repo::new();
    repo.write("agent.yaml", &agent_file(&c.ns, FAST));
    app(&repo, "web", &c.ns, &[("settings", "v1"), ("extra", "x")]);
    repo.commit("v1");
    let agent = start(settings(&repo, Duration::from_millis(300)), &c);
    eventually(FIRST, "v1 applied", || async {
        ready_is(
            c.status("web").await.as_ref(),
            "True",
            "ReconciliationSucceeded",
        )
    })
    .await;
    repo.write("apps/web/kustomization.yaml", broken);
    let bad = repo.commit("broken");
    eventually(
        LATER,
        "Ready=False BuildFailed at the bad commit",
        || async {
            let s = c.status("web").await;
            ready_is(s.as_ref(), "False", "BuildFailed")
                && s.and_then(|s| s.last_attempted_revision) == Some(format!("main@sha1:{bad}"))
        },
    )
    .await;
    let status = c.status("web").await.expect("status");
    assert!(status.condition("Stalled").is_some(), "{status:?}");
    assert_ne!(status.last_applied_revision, status.last_attempted_revision);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(c.value("settings").await.as_deref(), Some("v1"));
    assert_eq!(
        c.value("extra").await.as_deref(),
        Some("x"),
        "nothing was pruned"
    );
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_render_prunes_nothing() {
    bad_render_prunes_nothing("agent-fail", "resources: [settings.yaml, missing.yaml]\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_render_prunes_nothing() {
    bad_render_prunes_nothing("agent-empty", "resources: []\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vanished_remote_keeps_the_cluster_as_it_is() {
    let c = Cluster::new("agent-vanish").await;
    let repo = Repo::new();
    repo.write("agent.yaml", &agent_file(&c.ns, FAST));
    app(&repo, "web", &c.ns, &[("settings", "v1")]);
    repo.commit("v1");
    let agent = start(settings(&repo, Duration::from_millis(300)), &c);
    eventually(FIRST, "v1 applied", || async {
        ready_is(
            c.status("web").await.as_ref(),
            "True",
            "ReconciliationSucceeded",
        )
    })
    .await;
    let moved = repo.path().with_extension("moved");
    std::fs::rename(repo.path(), &moved).expect("move the repository away");
    eventually(LATER, "a failed ls-refs counted", || async {
        agent
            .shared
            .metrics
            .encode()
            .contains("kiln_git_request_total{op=\"ls-refs\",result=\"error\"}")
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(c.value("settings").await.as_deref(), Some("v1"));
    assert!(ready_is(
        c.status("web").await.as_ref(),
        "True",
        "ReconciliationSucceeded"
    ));
    // Drift is still corrected from the last commit.
    c.edit("settings", "edited").await;
    eventually(LATER, "drift corrected without the remote", || async {
        c.value("settings").await.as_deref() == Some("v1")
    })
    .await;
    std::fs::rename(&moved, repo.path()).expect("move it back");
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn depends_on_waits_for_the_dependency() {
    let c = Cluster::new("agent-deps").await;
    let repo = Repo::new();
    let policy = format!("{FAST}overrides:\n- match: front\n  dependsOn: [back]\n");
    repo.write("agent.yaml", &agent_file(&c.ns, &policy));
    app(&repo, "front", &c.ns, &[("front", "v1")]);
    // The dependency's render fails at first.
    repo.write(
        "apps/back/kustomization.yaml",
        "resources: [missing.yaml]\n",
    );
    repo.commit("back broken");
    let agent = start(settings(&repo, Duration::from_millis(300)), &c);
    eventually(FIRST, "front waits: DependencyNotReady", || async {
        ready_is(
            c.status("front").await.as_ref(),
            "False",
            "DependencyNotReady",
        )
    })
    .await;
    assert!(
        c.configmap("front").await.is_none(),
        "front was not applied before back"
    );
    app(&repo, "back", &c.ns, &[("back", "v1")]);
    repo.commit("back fixed");
    eventually(LATER, "both applied", || async {
        ready_is(
            c.status("front").await.as_ref(),
            "True",
            "ReconciliationSucceeded",
        )
    })
    .await;
    let created = |cm: Option<serde_json::Value>| {
        cm.and_then(|v| {
            v.pointer("/metadata/resourceVersion")
                .and_then(|r| r.as_str())
                .and_then(|r| r.parse::<u64>().ok())
        })
        .expect("created")
    };
    assert!(
        created(c.configmap("back").await) < created(c.configmap("front").await),
        "back was written before front"
    );
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspended_apps_are_left_alone() {
    let c = Cluster::new("agent-suspend").await;
    let repo = Repo::new();
    let policy = format!("{FAST}overrides:\n- match: paused\n  suspend: true\n");
    repo.write("agent.yaml", &agent_file(&c.ns, &policy));
    app(&repo, "paused", &c.ns, &[("paused", "v1")]);
    app(&repo, "web", &c.ns, &[("settings", "v1")]);
    repo.commit("v1");
    let agent = start(settings(&repo, Duration::from_millis(300)), &c);
    eventually(FIRST, "web applied", || async {
        c.value("settings").await.as_deref() == Some("v1")
    })
    .await;
    eventually(LATER, "paused marked suspended", || async {
        c.status("paused").await.is_some_and(|s| s.suspended)
    })
    .await;
    assert!(
        c.configmap("paused").await.is_none(),
        "a suspended app is not applied"
    );
    // The annotation suspends an app at run time: drift is then left alone.
    c.annotate("web", "kiln.dev/reconcile", "disabled").await;
    eventually(LATER, "web marked suspended", || async {
        c.status("web").await.is_some_and(|s| s.suspended)
    })
    .await;
    c.edit("settings", "edited").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(c.value("settings").await.as_deref(), Some("edited"));
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requested_at_reconciles_now() {
    let c = Cluster::new("agent-request").await;
    let repo = Repo::new();
    // No drift checks: only the request brings the object back.
    let policy = "defaults: {interval: 1h, retryInterval: 1s, timeout: 30s, drift: off}\n";
    repo.write("agent.yaml", &agent_file(&c.ns, policy));
    app(&repo, "web", &c.ns, &[("settings", "v1")]);
    repo.commit("v1");
    let agent = start(settings(&repo, Duration::from_millis(300)), &c);
    eventually(FIRST, "v1 applied", || async {
        ready_is(
            c.status("web").await.as_ref(),
            "True",
            "ReconciliationSucceeded",
        )
    })
    .await;
    c.edit("settings", "edited").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        c.value("settings").await.as_deref(),
        Some("edited"),
        "drift: off"
    );
    c.annotate("web", "kiln.dev/requestedAt", "2026-12-07T07:00:00Z")
        .await;
    eventually(LATER, "the request re-applied the app", || async {
        c.value("settings").await.as_deref() == Some("v1")
    })
    .await;
    eventually(LATER, "the request is recorded", || async {
        c.status("web")
            .await
            .and_then(|s| s.last_handled_reconcile_at)
            .as_deref()
            == Some("2026-12-07T07:00:00Z")
    })
    .await;
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kiln_status_prints_the_apps() {
    let c = Cluster::new("agent-status").await;
    let repo = Repo::new();
    repo.write("agent.yaml", &agent_file(&c.ns, FAST));
    app(&repo, "web", &c.ns, &[("settings", "v1")]);
    repo.write(
        "apps/broken/kustomization.yaml",
        "resources: [missing.yaml]\n",
    );
    let commit = repo.commit("v1");
    let agent = start(settings(&repo, Duration::from_millis(300)), &c);
    eventually(FIRST, "both apps have a status", || async {
        ready_is(
            c.status("web").await.as_ref(),
            "True",
            "ReconciliationSucceeded",
        ) && ready_is(c.status("broken").await.as_ref(), "False", "BuildFailed")
    })
    .await;
    agent.stop().await;
    let kubeconfig = kiln_test_cluster::shared().kubeconfig();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(["status", "--namespace", &c.ns, "--kubeconfig"])
        .arg(&kubeconfig)
        .output()
        .expect("kiln runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "an app is not ready: {stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("APP"), "{stdout}");
    let web = lines
        .iter()
        .find(|l| l.starts_with("web "))
        .expect("web row");
    assert!(
        web.contains("True") && web.contains("ReconciliationSucceeded"),
        "{web}"
    );
    assert!(
        web.contains(&format!("main@sha1:{}", &commit[..12])),
        "{web}"
    );
    let broken = lines
        .iter()
        .find(|l| l.starts_with("broken "))
        .expect("broken row");
    assert!(
        broken.contains("False") && broken.contains("BuildFailed"),
        "{broken}"
    );
}
