//! Shared test helpers: an emulator, a client for it, manifests.

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test file uses a different part"
)]

use std::sync::Mutex;
use std::time::Duration;

use kiln_kube::{Applier, ApplyOptions, Event, Manifests, Report, RetryOptions};
use kiln_test_apiserver::{Options, Server};
use serde_json::{Value, json};

pub async fn server(opts: Options) -> (Server, kube::Client) {
    let server = kiln_test_apiserver::start(opts)
        .await
        .expect("server starts");
    let mut config = kube::Config::new(server.url().parse().expect("server url"));
    "default".clone_into(&mut config.default_namespace);
    let client = kube::Client::try_from(config).expect("kube client");
    (server, client)
}

/// Options with quick retries, so fault tests do not take long.
pub fn options(app: &str) -> ApplyOptions {
    let mut opts = ApplyOptions::new(app, "default");
    opts.retry = RetryOptions {
        attempts: 8,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(100),
        max_retry_after: Duration::from_millis(1500),
        request_timeout: Duration::from_secs(5),
    };
    opts
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

pub fn exists(server: &Server, group: &str, plural: &str, ns: &str, name: &str) -> bool {
    server.object(group, plural, ns, name).is_some()
}

/// The inventory's object lines.
pub fn inventory(server: &Server, app: &str) -> Vec<String> {
    server
        .object(
            "",
            "configmaps",
            "default",
            &format!("kiln-inventory-{app}"),
        )
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
