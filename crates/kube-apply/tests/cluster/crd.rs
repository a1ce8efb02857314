//! CRDs and Namespaces before the objects in them, waiting for CRDs to be `Established`, and
//! waiting for workloads whose status is written as their controllers would.

use std::time::Duration;

use kiln_kube::{Action, Applier, Event};
use serde_json::{Value, json};

use crate::{apply, cluster, configmap, deployment, namespace, object, options};

/// A CRD of a group of its own, so that tests do not share it.
fn crd(group: &str) -> Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("widgets.{group}")},
        "spec": {"group": group, "scope": "Namespaced",
                 "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                 "versions": [{"name": "v1", "served": true, "storage": true,
                               "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}})
}

fn widget(group: &str, ns: &str, size: i64) -> Value {
    json!({"apiVersion": format!("{group}/v1"), "kind": "Widget",
           "metadata": {"name": "w", "namespace": ns}, "spec": {"size": size}})
}

fn job(ns: &str) -> Value {
    json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate", "namespace": ns},
           "spec": {"template": {"spec": {"restartPolicy": "Never",
               "containers": [{"name": "m", "image": "busybox"}]}}}})
}

#[tokio::test]
async fn crds_and_namespaces_go_first_whatever_the_render_order() {
    let (cluster, client) = cluster().await;
    let tools = cluster.unique("tools");
    let group = format!("{tools}.example.com");
    let applier = Applier::new(client.clone(), options(&tools));
    // custom resource and namespaced object listed before their CRD and namespace: the
    // custom resource can only be applied once the new type is established and served
    let objs = vec![
        widget(&group, &tools, 3),
        configmap(&tools, "c", "1"),
        namespace(&tools),
        crd(&group),
    ];
    let (report, _) = apply(&applier, objs.clone()).await;
    assert!(!report.failed(), "{report:?}");
    let order: Vec<&str> = report.objects.iter().map(|o| o.id.kind.as_str()).collect();
    assert_eq!(
        order,
        [
            "CustomResourceDefinition",
            "Namespace",
            "Widget",
            "ConfigMap"
        ]
    );
    assert_eq!(report.count(&Action::Created), 4);
    let w = kiln_test_cluster::get(&client, &format!("{group}/v1"), "widgets", &tools, "w")
        .await
        .expect("created");
    assert_eq!(w["spec"]["size"], 3);
    let crd_live = object(
        &client,
        "apiextensions.k8s.io",
        "customresourcedefinitions",
        "",
        &format!("widgets.{group}"),
    )
    .await
    .expect("created");
    let established = crd_live["status"]["conditions"]
        .as_array()
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Established" && c["status"] == "True")
        });
    assert!(established, "{crd_live}");

    let (report, _) = apply(&applier, objs).await;
    assert_eq!(report.count(&Action::Unchanged), 4, "{report:?}");

    // dropping the CRD and its resource prunes the resource before the CRD
    let (report, _) = apply(&applier, vec![namespace(&tools)]).await;
    assert!(!report.failed(), "{report:?}");
    let pruned: Vec<&str> = report
        .objects
        .iter()
        .filter(|o| o.action == Action::Pruned)
        .map(|o| o.id.kind.as_str())
        .collect();
    assert_eq!(pruned, ["ConfigMap", "Widget", "CustomResourceDefinition"]);
    // the API server's own finalizer removes the custom resources, then the CRD
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while object(
        &client,
        "apiextensions.k8s.io",
        "customresourcedefinitions",
        "",
        &format!("widgets.{group}"),
    )
    .await
    .is_some()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the CRD is still there"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Plays the deployment controller: the status of a rolled-out `replicas`.
fn deployment_ready(generation: i64, replicas: i64) -> Value {
    json!({"observedGeneration": generation, "replicas": replicas, "updatedReplicas": replicas,
           "readyReplicas": replicas, "availableReplicas": replicas,
           "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                           "message": "Deployment has minimum availability.",
                           "lastUpdateTime": "2026-01-01T00:00:00Z", "lastTransitionTime": "2026-01-01T00:00:00Z"}]})
}

/// Plays the job controller: a Job that has succeeded.
fn job_complete() -> Value {
    json!({"startTime": "2026-01-01T00:00:00Z", "completionTime": "2026-01-01T00:00:05Z",
           "succeeded": 1, "ready": 0, "terminating": 0,
           "uncountedTerminatedPods": {},
           "conditions": [
             {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached",
              "message": "Reached expected number of succeeded pods",
              "lastProbeTime": "2026-01-01T00:00:05Z", "lastTransitionTime": "2026-01-01T00:00:05Z"},
             {"type": "Complete", "status": "True", "reason": "CompletionsReached",
              "message": "Reached expected number of succeeded pods",
              "lastProbeTime": "2026-01-01T00:00:05Z", "lastTransitionTime": "2026-01-01T00:00:05Z"}]})
}

/// Plays the job controller: a Job that has failed.
fn job_failed() -> Value {
    json!({"startTime": "2026-01-01T00:00:00Z", "failed": 1, "ready": 0, "terminating": 0,
           "uncountedTerminatedPods": {},
           "conditions": [
             {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded",
              "message": "Job has reached the specified backoff limit",
              "lastProbeTime": "2026-01-01T00:00:05Z", "lastTransitionTime": "2026-01-01T00:00:05Z"},
             {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
              "message": "Job has reached the specified backoff limit",
              "lastProbeTime": "2026-01-01T00:00:05Z", "lastTransitionTime": "2026-01-01T00:00:05Z"}]})
}

/// Waits until the object exists, then writes its status.
async fn when_created(
    client: &kube::Client,
    av: &str,
    plural: &str,
    ns: &str,
    name: &str,
    status: impl Fn(&Value) -> Value,
) {
    loop {
        if let Some(obj) = kiln_test_cluster::get(client, av, plural, ns, name).await {
            tokio::time::sleep(Duration::from_millis(300)).await;
            kiln_test_cluster::set_status(client, av, plural, ns, name, status(&obj)).await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn wait_reports_progress_until_workloads_are_ready() {
    let (cluster, client) = cluster().await;
    let shop = cluster.unique("shop");
    let mut opts = options(&shop);
    opts.wait = Some(Duration::from_secs(30));
    let applier = Applier::new(client.clone(), opts);
    let controllers = async {
        tokio::join!(
            when_created(&client, "apps/v1", "deployments", &shop, "web", |d| {
                deployment_ready(d["metadata"]["generation"].as_i64().unwrap_or(1), 2)
            }),
            when_created(&client, "batch/v1", "jobs", &shop, "migrate", |_| {
                job_complete()
            }),
        );
    };
    let ((report, events), ()) = tokio::join!(
        apply(
            &applier,
            vec![
                namespace(&shop),
                deployment(&shop, "web", "nginx"),
                job(&shop)
            ],
        ),
        controllers
    );
    assert!(!report.failed(), "{report:?}");
    assert_eq!(report.waits.len(), 2, "{report:?}");
    assert!(
        report.waits.iter().all(|w| w.blocked.is_none()),
        "{report:?}"
    );
    let waiting = events
        .iter()
        .filter(|e| matches!(e, Event::Waiting { .. }))
        .count();
    let ready = events
        .iter()
        .filter(|e| matches!(e, Event::Ready { .. }))
        .count();
    assert!(waiting >= 2, "{events:?}");
    assert_eq!(ready, 2, "{events:?}");
    let lines: Vec<String> = events.iter().map(ToString::to_string).collect();
    assert!(
        lines.contains(&format!("batch/v1/Job/{shop}/migrate ready")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("waiting for apps/v1/Deployment/{shop}/web: "))),
        "{lines:?}"
    );
}

#[tokio::test]
async fn a_failed_wait_names_the_object_and_the_condition() {
    let (cluster, client) = cluster().await;
    let shop = cluster.unique("shop");
    let mut opts = options(&shop);
    opts.wait = Some(Duration::from_millis(1500));
    let applier = Applier::new(client.clone(), opts);
    let (report, _) = apply(
        &applier,
        vec![namespace(&shop), deployment(&shop, "web", "nginx")],
    )
    .await;
    assert!(report.failed());
    let blocked = report.waits[0].blocked.as_deref().expect("blocked");
    assert_eq!(report.waits[0].id.name, "web");
    assert!(
        blocked.contains("timed out") && blocked.contains("generation"),
        "{blocked}"
    );

    // a failed Job fails the wait at once, with its condition's message
    let jobs = cluster.unique("jobs");
    let mut opts = options(&jobs);
    opts.wait = Some(Duration::from_mins(1));
    let applier = Applier::new(client.clone(), opts);
    let started = std::time::Instant::now();
    let ((report, _), ()) = tokio::join!(
        apply(&applier, vec![job(&shop)]),
        when_created(&client, "batch/v1", "jobs", &shop, "migrate", |_| {
            job_failed()
        })
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    let blocked = report.waits[0].blocked.as_deref().expect("failed");
    assert!(blocked.contains("backoff limit"), "{blocked}");
}

#[tokio::test]
async fn an_inventory_entry_of_a_removed_api_version_is_pruned_through_the_served_one() {
    let (cluster, client) = cluster().await;
    let tools = cluster.unique("tools");
    let group = format!("{tools}.example.com");
    let applier = Applier::new(client.clone(), options(&tools));
    let (report, _) = apply(
        &applier,
        vec![crd(&group), namespace(&tools), widget(&group, &tools, 1)],
    )
    .await;
    assert!(!report.failed(), "{report:?}");
    // the inventory was written when the kind was served as v1alpha1
    let cms: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(client.clone(), "default");
    let objects = format!(
        "apiextensions.k8s.io/v1 CustomResourceDefinition - widgets.{group}\n\
         {group}/v1alpha1 Widget {tools} w\nv1 Namespace - {tools}\n"
    );
    cms.patch(
        &format!("kiln-inventory-{tools}"),
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(json!({"data": {"objects": objects}})),
    )
    .await
    .expect("edit the inventory");
    let (report, _) = apply(&applier, vec![crd(&group), namespace(&tools)]).await;
    assert!(!report.failed(), "{report:?}");
    assert_eq!(report.count(&Action::Pruned), 1, "{report:?}");
    assert!(
        kiln_test_cluster::get(&client, &format!("{group}/v1"), "widgets", &tools, "w")
            .await
            .is_none()
    );
}
