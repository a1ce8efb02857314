//! CRDs before their custom resources, and waiting for readiness.

mod common;

use std::time::Duration;

use common::{apply, configmap, deployment, namespace, options, server};
use kiln_kube::{Action, Applier, Event};
use kiln_test_apiserver::Options;
use serde_json::{Value, json};

fn crd() -> Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
                 "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                 "versions": [{"name": "v1", "served": true, "storage": true,
                               "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}})
}

fn widget(ns: &str, size: i64) -> Value {
    json!({"apiVersion": "example.com/v1", "kind": "Widget",
           "metadata": {"name": "w", "namespace": ns}, "spec": {"size": size}})
}

fn job(ns: &str) -> Value {
    json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate", "namespace": ns},
           "spec": {"template": {"spec": {"restartPolicy": "Never",
               "containers": [{"name": "m", "image": "busybox"}]}}}})
}

#[tokio::test]
async fn crds_and_namespaces_go_first_whatever_the_render_order() {
    let (server, client) = server(Options {
        crd_established_delay: Duration::from_millis(300),
        ..Options::default()
    })
    .await;
    let applier = Applier::new(client, options("widgets"));
    // custom resource and namespaced object listed before their CRD and namespace
    let objs = vec![
        widget("tools", 3),
        configmap("tools", "c", "1"),
        namespace("tools"),
        crd(),
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
    let w = server
        .object("example.com", "widgets", "tools", "w")
        .expect("created");
    assert_eq!(w["spec"]["size"], 3);

    server.requests().clear();
    let (report, _) = apply(&applier, objs).await;
    assert_eq!(report.count(&Action::Unchanged), 4, "{report:?}");
    assert_eq!(server.requests().writes(), 0);

    // dropping the CRD and its resource prunes the resource before the CRD
    let (report, _) = apply(&applier, vec![namespace("tools")]).await;
    assert!(!report.failed(), "{report:?}");
    let pruned: Vec<&str> = report
        .objects
        .iter()
        .filter(|o| o.action == Action::Pruned)
        .map(|o| o.id.kind.as_str())
        .collect();
    assert_eq!(pruned, ["ConfigMap", "Widget", "CustomResourceDefinition"]);
    assert!(
        server
            .object(
                "apiextensions.k8s.io",
                "customresourcedefinitions",
                "",
                "widgets.example.com"
            )
            .is_none()
    );
}

#[tokio::test]
async fn wait_reports_progress_until_workloads_are_ready() {
    let (_server, client) = server(Options {
        workloads_ready_after: Some(Duration::from_millis(300)),
        ..Options::default()
    })
    .await;
    let mut opts = options("shop");
    opts.wait = Some(Duration::from_secs(10));
    let applier = Applier::new(client, opts);
    let (report, events) = apply(
        &applier,
        vec![
            namespace("shop"),
            deployment("shop", "web", "nginx"),
            job("shop"),
        ],
    )
    .await;
    assert!(!report.failed(), "{report:?}");
    assert_eq!(report.waits.len(), 2, "{report:?}");
    assert!(report.waits.iter().all(|w| w.blocked.is_none()));
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
        lines.contains(&"batch/v1/Job/shop/migrate ready".to_owned()),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("waiting for apps/v1/Deployment/shop/web: ")),
        "{lines:?}"
    );
}

#[tokio::test]
async fn a_failed_wait_names_the_object_and_the_condition() {
    let (server, client) = server(Options::default()).await;
    let mut opts = options("shop");
    opts.wait = Some(Duration::from_millis(600));
    let applier = Applier::new(client, opts);
    let (report, _) = apply(
        &applier,
        vec![namespace("shop"), deployment("shop", "web", "nginx")],
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
    let applier_job = {
        let mut opts = options("jobs");
        opts.wait = Some(Duration::from_secs(30));
        Applier::new(applier_client(&server), opts)
    };
    let setter = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        server.set_status("batch", "jobs", "shop", "migrate", json!({"conditions": [
            {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]}));
    };
    let started = std::time::Instant::now();
    let ((report, _), ()) = tokio::join!(apply(&applier_job, vec![job("shop")]), setter);
    assert!(started.elapsed() < Duration::from_secs(10));
    let blocked = report.waits[0].blocked.as_deref().expect("failed");
    assert!(blocked.contains("backoff limit"), "{blocked}");
}

fn applier_client(server: &kiln_test_apiserver::Server) -> kube::Client {
    let mut config = kube::Config::new(server.url().parse().expect("url"));
    "default".clone_into(&mut config.default_namespace);
    kube::Client::try_from(config).expect("client")
}

#[tokio::test]
async fn an_inventory_entry_of_a_removed_api_version_is_pruned_through_the_served_one() {
    let (server, client) = server(Options::default()).await;
    let applier = Applier::new(client.clone(), options("widgets"));
    apply(
        &applier,
        vec![crd(), namespace("tools"), widget("tools", 1)],
    )
    .await;
    // the inventory was written when the kind was served as v1alpha1
    let cms: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(client, "default");
    let objects = "apiextensions.k8s.io/v1 CustomResourceDefinition - widgets.example.com\n\
                   example.com/v1alpha1 Widget tools w\nv1 Namespace - tools\n";
    cms.patch(
        "kiln-inventory-widgets",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(json!({"data": {"objects": objects}})),
    )
    .await
    .expect("edit the inventory");
    let (report, _) = apply(&applier, vec![crd(), namespace("tools")]).await;
    assert!(!report.failed(), "{report:?}");
    assert_eq!(report.count(&Action::Pruned), 1, "{report:?}");
    assert!(
        server
            .object("example.com", "widgets", "tools", "w")
            .is_none()
    );
}
