//! The emulator driven by a real `kube::Client`, the way kiln's kube backend uses it.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kiln_test_apiserver::{Fault, Options, Server};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::discovery::{Discovery, Scope};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Client, Config};
use serde_json::json;

async fn client(opts: Options) -> (Server, Client) {
    let server = kiln_test_apiserver::start(opts)
        .await
        .expect("server starts");
    let mut config = Config::new(server.url().parse().expect("server url"));
    "default".clone_into(&mut config.default_namespace);
    let client = Client::try_from(config).expect("kube client");
    (server, client)
}

fn configmap(value: &str) -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "demo", "labels": {"app": "demo"}}, "data": {"key": value}})
}

#[tokio::test]
async fn typed_apply_get_list_delete() {
    let (server, client) = client(Options::default()).await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client);
    let params = PatchParams::apply("kiln");
    let applied = cms
        .patch("demo", &params, &Patch::Apply(configmap("one")))
        .await
        .expect("apply");
    assert_eq!(
        applied
            .data
            .as_ref()
            .and_then(|d| d.get("key"))
            .map(String::as_str),
        Some("one")
    );
    let writes = server.store_writes();
    cms.patch("demo", &params, &Patch::Apply(configmap("one")))
        .await
        .expect("re-apply");
    assert_eq!(
        server.store_writes(),
        writes,
        "re-apply of the same config changes nothing"
    );

    let listed = cms
        .list(&ListParams::default().labels("app=demo"))
        .await
        .expect("list");
    assert_eq!(listed.items.len(), 1);
    assert!(listed.metadata.resource_version.is_some());

    let err = cms
        .patch(
            "demo",
            &PatchParams::apply("other"),
            &Patch::Apply(configmap("two")),
        )
        .await
        .expect_err("conflict");
    match err {
        kube::Error::Api(status) => {
            assert_eq!((status.code, status.reason.as_str()), (409, "Conflict"));
            assert!(
                status.message.contains("conflict with \"kiln\": .data.key"),
                "{}",
                status.message
            );
        }
        other => panic!("expected an API error, got {other}"),
    }
    cms.delete("demo", &DeleteParams::background())
        .await
        .expect("delete");
    match cms.get("demo").await {
        Err(kube::Error::Api(status)) => assert_eq!(status.code, 404),
        other => panic!("expected 404, got {other:?}"),
    }
}

#[tokio::test]
async fn discovery_then_dynamic_apply_of_a_custom_resource() {
    let (_server, client) = client(Options {
        crd_established_delay: Duration::from_millis(200),
        ..Options::default()
    })
    .await;
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        Api::all(client.clone());
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced", "names": {"plural": "widgets", "kind": "Widget"},
                 "versions": [{"name": "v1", "served": true, "storage": true,
                               "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}});
    crds.patch(
        "widgets.example.com",
        &PatchParams::apply("kiln"),
        &Patch::Apply(crd),
    )
    .await
    .expect("apply crd");
    let established = await_condition(
        crds,
        "widgets.example.com",
        conditions::is_crd_established(),
    );
    tokio::time::timeout(Duration::from_secs(5), established)
        .await
        .expect("established in time")
        .expect("watch works");

    let discovery = Discovery::new(client.clone())
        .run()
        .await
        .expect("discovery");
    let (resource, caps) = discovery
        .groups()
        .flat_map(kube::discovery::ApiGroup::recommended_resources)
        .find(|(r, _)| r.kind == "Widget")
        .expect("the CRD's kind is discovered");
    assert_eq!(caps.scope, Scope::Namespaced);
    let deployments = discovery
        .groups()
        .flat_map(kube::discovery::ApiGroup::recommended_resources)
        .find(|(r, _)| r.kind == "Deployment");
    assert_eq!(
        deployments.map(|(r, _)| r.plural),
        Some("deployments".to_owned())
    );

    let widgets: Api<DynamicObject> = Api::namespaced_with(client, "default", &resource);
    let widget = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 3}});
    let applied = widgets
        .patch("w", &PatchParams::apply("kiln"), &Patch::Apply(widget))
        .await
        .expect("apply widget");
    assert_eq!(applied.data["spec"]["size"], 3);
}

#[tokio::test]
async fn wait_for_a_deployment_marked_available_through_status() {
    let (_server, client) = client(Options::default()).await;
    let deployments: Api<Deployment> = Api::default_namespaced(client);
    let deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}});
    deployments
        .patch("web", &PatchParams::apply("kiln"), &Patch::Apply(deploy))
        .await
        .expect("apply");
    let waiter = tokio::spawn(await_condition(
        deployments.clone(),
        "web",
        |d: Option<&Deployment>| {
            d.and_then(|d| d.status.as_ref())
                .and_then(|s| s.available_replicas)
                == Some(1)
        },
    ));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let status = json!({"status": {"availableReplicas": 1, "replicas": 1}});
    deployments
        .patch_status("web", &PatchParams::default(), &Patch::Merge(status))
        .await
        .expect("status patch");
    let done = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("condition seen in time");
    assert!(done.expect("waiter task").expect("watch works").is_some());
}

#[tokio::test]
async fn client_sees_injected_throttling() {
    let (server, client) = client(Options::default()).await;
    server.faults().add(Fault::status(429).count(1).verb("GET"));
    let cms: Api<ConfigMap> = Api::default_namespaced(client);
    match cms.get_opt("demo").await {
        Err(kube::Error::Api(status)) => assert_eq!(status.code, 429),
        other => panic!("expected the injected 429, got {other:?}"),
    }
    assert!(
        cms.get_opt("demo")
            .await
            .expect("second try is served")
            .is_none()
    );
}

#[tokio::test]
async fn a_test_can_play_controller_through_the_library() {
    let (server, client) = client(Options::default()).await;
    let deployments: Api<Deployment> = Api::default_namespaced(client);
    assert!(
        !server.set_status("apps", "deployments", "default", "web", json!({})),
        "absent objects are reported"
    );
    let deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}});
    deployments
        .patch("web", &PatchParams::apply("kiln"), &Patch::Apply(deploy))
        .await
        .expect("apply");
    let waiter = tokio::spawn(await_condition(
        deployments,
        "web",
        |d: Option<&Deployment>| {
            d.and_then(|d| d.status.as_ref())
                .and_then(|s| s.ready_replicas)
                == Some(2)
        },
    ));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(server.set_status(
        "apps",
        "deployments",
        "default",
        "web",
        json!({"readyReplicas": 2})
    ));
    let done = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("condition seen in time");
    assert!(done.expect("waiter task").expect("watch works").is_some());
    let stored = server
        .object("apps", "deployments", "default", "web")
        .expect("stored");
    assert_eq!(stored["status"]["readyReplicas"], 2);
    assert_eq!(stored["metadata"]["generation"], 1);
}

#[tokio::test]
async fn stand_in_controllers_mark_workloads_ready_after_each_spec_change() {
    let opts = Options {
        workloads_ready_after: Some(Duration::from_millis(500)),
        ..Options::default()
    };
    let (server, client) = client(opts).await;
    let deployments: Api<Deployment> = Api::default_namespaced(client.clone());
    let deploy = |image: &str| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": image}]}}}})
    };
    let ready = |generation: i64| {
        move |d: Option<&Deployment>| {
            d.and_then(|d| d.status.as_ref()).is_some_and(|s| {
                s.observed_generation == Some(generation) && s.available_replicas == Some(3)
            })
        }
    };
    deployments
        .patch(
            "web",
            &PatchParams::apply("kiln"),
            &Patch::Apply(deploy("nginx:1")),
        )
        .await
        .expect("apply");
    let first = tokio::time::timeout(
        Duration::from_secs(5),
        await_condition(deployments.clone(), "web", ready(1)),
    );
    assert!(
        first
            .await
            .expect("ready in time")
            .expect("watch works")
            .is_some()
    );
    let writes = server.store_writes();
    assert_eq!(writes, 1, "controller writes are not client writes");

    deployments
        .patch(
            "web",
            &PatchParams::apply("kiln"),
            &Patch::Apply(deploy("nginx:2")),
        )
        .await
        .expect("update");
    let stale = deployments.get("web").await.expect("get");
    assert_eq!(
        stale.status.and_then(|s| s.observed_generation),
        Some(1),
        "not ready before the delay"
    );
    let second = tokio::time::timeout(
        Duration::from_secs(5),
        await_condition(deployments, "web", ready(2)),
    );
    assert!(
        second
            .await
            .expect("ready in time")
            .expect("watch works")
            .is_some()
    );

    let jobs: Api<k8s_openapi::api::batch::v1::Job> = Api::default_namespaced(client);
    let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "once"},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}});
    jobs.patch("once", &PatchParams::apply("kiln"), &Patch::Apply(job))
        .await
        .expect("apply job");
    let done = tokio::time::timeout(
        Duration::from_secs(5),
        await_condition(jobs, "once", conditions::is_job_completed()),
    );
    assert!(
        done.await
            .expect("complete in time")
            .expect("watch works")
            .is_some()
    );
}
