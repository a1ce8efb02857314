//! kiln-kube against a real kube-apiserver and etcd (`kiln-test-cluster`): server-side apply,
//! conflicts, inventory and prune, CRD and Namespace ordering, wait, diff and kubectl.
//!
//! One control plane serves the whole binary; every test works in namespaces and apps named
//! for it alone. There is no controller-manager: tests write `status` as the controllers would,
//! and an object deleted in the foreground, or a namespace, stays (with a deletion timestamp)
//! until its finalizers are removed — the tests check for "deleted or being deleted".

#![allow(
    unreachable_pub,
    reason = "helpers shared by the test modules of one binary"
)]

mod apply;
mod apps;
mod client;
mod crd;
mod diff;

use std::sync::Mutex;
use std::time::Duration;

use kiln_kube::{Applier, ApplyOptions, Event, Manifests, Report, RetryOptions};
use serde_json::{Value, json};

/// The shared control plane and a client of this test's own.
pub async fn cluster() -> (&'static kiln_test_cluster::Cluster, kube::Client) {
    let cluster = kiln_test_cluster::shared();
    let client = cluster.client().await;
    (cluster, client)
}

/// Options for `app`, its inventory in `default`.
pub fn options(app: &str) -> ApplyOptions {
    let mut opts = ApplyOptions::new(app, "default");
    opts.retry = RetryOptions {
        attempts: 4,
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(500),
        max_retry_after: Duration::from_secs(2),
        request_timeout: Duration::from_secs(30),
    };
    opts
}

/// The `apiVersion` of the group's `v1` (the core group is empty).
fn api_version(group: &str) -> String {
    if group.is_empty() {
        "v1".to_owned()
    } else {
        format!("{group}/v1")
    }
}

/// The live object (`group` empty for the core group; `ns` empty for cluster-scoped kinds).
pub async fn object(
    client: &kube::Client,
    group: &str,
    plural: &str,
    ns: &str,
    name: &str,
) -> Option<Value> {
    kiln_test_cluster::get(client, &api_version(group), plural, ns, name).await
}

/// Whether the object exists and is not being deleted.
pub async fn exists(
    client: &kube::Client,
    group: &str,
    plural: &str,
    ns: &str,
    name: &str,
) -> bool {
    !kiln_test_cluster::deleted(client, &api_version(group), plural, ns, name).await
}

/// The object's `resourceVersion`, which changes with every stored write.
pub async fn version(
    client: &kube::Client,
    group: &str,
    plural: &str,
    ns: &str,
    name: &str,
) -> String {
    object(client, group, plural, ns, name)
        .await
        .and_then(|o| {
            o.pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_default()
}

/// The requests sent since `mark` about `app`'s objects: those in namespace `app` (or the
/// namespace itself) and its inventory.
pub fn requests(
    cluster: &kiln_test_cluster::Cluster,
    mark: usize,
    app: &str,
) -> Vec<kiln_test_cluster::Request> {
    let inventory = format!("kiln-inventory-{app}");
    cluster
        .requests_since(mark)
        .into_iter()
        .filter(|r| r.in_namespace(app) || (r.namespace == "default" && r.name == inventory))
        .collect()
}

/// The inventory's object lines.
pub async fn inventory(client: &kube::Client, app: &str) -> Vec<String> {
    object(
        client,
        "",
        "configmaps",
        "default",
        &format!("kiln-inventory-{app}"),
    )
    .await
    .and_then(|cm| {
        cm.pointer("/data/objects")
            .and_then(Value::as_str)
            .map(str::to_owned)
    })
    .unwrap_or_default()
    .lines()
    .map(str::to_owned)
    .collect()
}

/// Applies, collecting the progress events.
pub async fn apply(applier: &Applier, objs: Vec<Value>) -> (Report, Vec<Event>) {
    let events = Mutex::new(Vec::new());
    let progress = |e: Event| events.lock().expect("not poisoned").push(e);
    let report = applier
        .apply(Manifests::new(objs).expect("valid manifests"), &progress)
        .await
        .expect("apply runs");
    (report, events.into_inner().expect("not poisoned"))
}

pub fn configmap(ns: &str, name: &str, value: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": name, "namespace": ns}, "data": {"key": value}})
}

pub fn namespace(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
}

pub fn deployment(ns: &str, name: &str, image: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
      "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
      "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}},
          "spec": {"containers": [{"name": "main", "image": image,
            "ports": [{"containerPort": 8080}],
            "env": [{"name": "MODE", "value": "prod"}]}]}}}})
}

pub fn service(ns: &str, name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Service",
      "metadata": {"name": name, "namespace": ns},
      "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}})
}

/// A small app: a namespace, a config map, a deployment and a service.
pub fn app(ns: &str, value: &str) -> Vec<Value> {
    vec![
        namespace(ns),
        configmap(ns, "settings", value),
        deployment(ns, "web", "nginx:1.27"),
        service(ns, "web"),
    ]
}
