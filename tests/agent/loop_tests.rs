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
    // Four more commits: the history keeps the last five runs, newest first.
    let mut revisions = vec![format!("main@sha1:{first}"), format!("main@sha1:{second}")];
    for v in 3..=6 {
        app(&repo, "web", &c.ns, &[("settings", &format!("v{v}"))]);
        revisions.push(format!("main@sha1:{}", repo.commit(&format!("v{v}"))));
        let want = revisions.last().cloned();
        eventually(LATER, "the commit applied", || async {
            c.status("web").await.and_then(|s| s.last_applied_revision) == want
        })
        .await;
    }
    let history: Vec<String> = c
        .status("web")
        .await
        .expect("status")
        .history
        .into_iter()
        .map(|r| r.revision)
        .collect();
    let newest: Vec<String> = revisions.iter().rev().take(5).cloned().collect();
    assert_eq!(history, newest);
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

/// A Deployment `web` with `replicas: 2` in `ns`, added to the app `web`.
fn deployment(repo: &Repo, ns: &str) {
    repo.write(
        "apps/web/kustomization.yaml",
        "resources: [settings.yaml, other.yaml, deployment.yaml]\n",
    );
    repo.write(
        "apps/web/deployment.yaml",
        &format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: {ns}\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {{app: web}}\n  template:\n    metadata:\n      labels: {{app: web}}\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n"
        ),
    );
}

/// `spec.replicas` of the Deployment `web`.
async fn replicas(c: &Cluster) -> Option<i64> {
    kiln_test_cluster::get(&c.client, "apps/v1", "deployments", &c.ns, "web")
        .await
        .and_then(|d| {
            d.pointer("/spec/replicas")
                .and_then(serde_json::Value::as_i64)
        })
}

/// `kubectl scale deployment web --replicas=N`: the scale subresource, as kubectl.
async fn scale(c: &Cluster, n: i32) {
    use kube::api::{Patch, PatchParams};
    let api: kube::Api<k8s_openapi::api::apps::v1::Deployment> =
        kube::Api::namespaced(c.client.clone(), &c.ns);
    api.patch_scale(
        "web",
        &PatchParams {
            field_manager: Some("kubectl".to_owned()),
            ..PatchParams::default()
        },
        &Patch::Merge(serde_json::json!({"spec": {"replicas": n}})),
    )
    .await
    .expect("scale");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_is_corrected() {
    let c = Cluster::new("agent-drift").await;
    let repo = Repo::new();
    repo.write("agent.yaml", &agent_file(&c.ns, FAST));
    app(&repo, "web", &c.ns, &[("settings", "v1"), ("other", "o")]);
    deployment(&repo, &c.ns);
    repo.commit("v1");
    let agent = start(settings(&repo, Duration::from_millis(300)), &c);
    eventually(FIRST, "v1 applied", || async {
        c.value("settings").await.as_deref() == Some("v1") && replicas(&c).await == Some(2)
    })
    .await;
    let server = kiln_test_cluster::shared();
    let mark = server.request_mark();
    c.edit("settings", "edited").await;
    scale(&c, 5).await;
    eventually(LATER, "the edit and the scale reverted", || async {
        c.value("settings").await.as_deref() == Some("v1") && replicas(&c).await == Some(2)
    })
    .await;
    // Only the drifted objects were written; the other one was left alone.
    let writes: Vec<_> = server
        .requests_since(mark)
        .into_iter()
        .filter(|r| r.in_namespace(&c.ns) && r.is_write() && r.resource != "events")
        .collect();
    assert!(
        writes.iter().all(|r| r.name != "other"),
        "the undrifted object was written: {writes:?}"
    );
    assert!(
        writes.iter().any(|r| r.resource == "deployments"
            && r.name == "web"
            && r.verb == "patch"
            && !r.uri.contains("/scale")),
        "the Deployment was re-applied: {writes:?}"
    );
    let metrics = agent.shared.metrics.encode();
    let corrections: u64 = metrics
        .lines()
        .filter(|l| l.starts_with("kiln_drift_corrections_total{name=\"web\"}"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert!(corrections >= 2, "{metrics}");
    for name in [
        "kiln_drift_objects{name=\"web\"} 0",
        "kiln_k8s_request_total{verb=\"patch\",code=\"200\"}",
    ] {
        assert!(metrics.contains(name), "{name} missing in:\n{metrics}");
    }
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
    let metrics = agent.shared.metrics.encode();
    assert!(
        metrics.contains("kiln_drift_objects{name=\"web\"} 1"),
        "{metrics}"
    );
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

/// The Events about an app's inventory: `(type, reason)`, oldest first.
async fn events(c: &Cluster, inventory: &str) -> Vec<(String, String)> {
    let api: kube::Api<k8s_openapi::api::core::v1::Event> =
        kube::Api::namespaced(c.client.clone(), &c.ns);
    let mut list: Vec<_> = api
        .list(&kube::api::ListParams::default())
        .await
        .expect("list events")
        .items
        .into_iter()
        .filter(|e| {
            e.involved_object.name.as_deref() == Some(&format!("kiln-inventory-{inventory}"))
        })
        .collect();
    // Creation times have seconds only: the order of writes is the resourceVersions'.
    list.sort_by_key(|e| {
        e.metadata
            .resource_version
            .as_deref()
            .and_then(|v| v.parse::<u64>().ok())
    });
    list.into_iter()
        .map(|e| (e.type_.unwrap_or_default(), e.reason.unwrap_or_default()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_recorded_on_change_only() {
    let c = Cluster::new("agent-events").await;
    let repo = Repo::new();
    repo.write("agent.yaml", &agent_file(&c.ns, FAST));
    app(&repo, "web", &c.ns, &[("settings", "v1")]);
    repo.commit("v1");
    let agent = start(settings(&repo, Duration::from_millis(300)), &c);
    eventually(FIRST, "one event for the first apply", || async {
        events(&c, "web").await.len() == 1
    })
    .await;
    let normal = ("Normal".to_owned(), "ReconciliationSucceeded".to_owned());
    // Drift checks every second find nothing: no event.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(events(&c, "web").await, std::slice::from_ref(&normal));
    // A new revision applied: one event.
    app(&repo, "web", &c.ns, &[("settings", "v2")]);
    repo.commit("v2");
    eventually(LATER, "an event for the new revision", || async {
        events(&c, "web").await.len() == 2
    })
    .await;
    // A commit that changes nothing of the app: applied, no event.
    repo.write("NOTES.md", "unrelated\n");
    let unrelated = format!("main@sha1:{}", repo.commit("notes"));
    eventually(LATER, "the unrelated commit applied", || async {
        c.status("web").await.and_then(|s| s.last_applied_revision) == Some(unrelated.clone())
    })
    .await;
    assert_eq!(events(&c, "web").await.len(), 2);
    // A failing render: one warning, however often it is retried.
    repo.write("apps/web/kustomization.yaml", "resources: [missing.yaml]\n");
    repo.commit("broken");
    eventually(LATER, "a warning", || async {
        events(&c, "web").await.len() == 3
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let warning = ("Warning".to_owned(), "BuildFailed".to_owned());
    assert_eq!(events(&c, "web").await, [normal.clone(), normal, warning]);
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_app_commit_goes_first_and_the_others_are_not_reapplied() {
    let c = Cluster::new("agent-first").await;
    let repo = Repo::new();
    let policy = "defaults: {interval: 10m, retryInterval: 1s, timeout: 30s}\n";
    repo.write("agent.yaml", &agent_file(&c.ns, policy));
    let apps = ["a", "b", "c", "d", "e"];
    for a in apps {
        app(&repo, a, &c.ns, &[(a, "v1")]);
    }
    repo.commit("v1");
    let agent = start(settings(&repo, Duration::from_millis(300)), &c);
    eventually(FIRST, "all applied", || async {
        for a in apps {
            if !ready_is(
                c.status(a).await.as_ref(),
                "True",
                "ReconciliationSucceeded",
            ) {
                return false;
            }
        }
        true
    })
    .await;
    // The last app in order changes.
    app(&repo, "e", &c.ns, &[("e", "v2")]);
    let revision = format!("main@sha1:{}", repo.commit("e v2"));
    eventually(LATER, "every app at the new revision", || async {
        for a in apps {
            if c.status(a).await.and_then(|s| s.last_applied_revision) != Some(revision.clone()) {
                return false;
            }
        }
        true
    })
    .await;
    assert_eq!(c.value("e").await.as_deref(), Some("v2"));
    let written = |a: &'static str| {
        let c = &c;
        async move {
            c.configmap(&format!("kiln-inventory-{a}"))
                .await
                .and_then(|cm| {
                    cm.pointer("/metadata/resourceVersion")
                        .and_then(|v| v.as_str())
                        .and_then(|v| v.parse::<u64>().ok())
                })
                .expect("inventory")
        }
    };
    let e = written("e").await;
    for a in ["a", "b", "c", "d"] {
        assert!(e < written(a).await, "e was reconciled before {a}");
        let ready = c.status(a).await.expect("status");
        let message = &ready.condition("Ready").expect("Ready").message;
        assert!(message.contains("render unchanged"), "{a}: {message}");
    }
    agent.stop().await;
}
