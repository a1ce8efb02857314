//! Two apps in one cluster: neither deletes nor silently takes the other's objects.

mod common;

use common::{apply, configmap, exists, inventory, options, server};
use kiln_kube::{Action, Applier};
use kiln_test_apiserver::Options;

fn owner(server: &kiln_test_apiserver::Server, name: &str) -> String {
    server
        .object("", "configmaps", "default", name)
        .and_then(|o| {
            o.pointer("/metadata/annotations/kiln.dev~1inventory-id")
                .and_then(|v| v.as_str().map(str::to_owned))
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_shared_object_is_a_conflict_unless_adopted() {
    let (server, client) = server(Options::default()).await;
    let a = Applier::new(client.clone(), options("a"));
    let b = Applier::new(client.clone(), options("b"));
    apply(
        &a,
        vec![
            configmap("default", "shared", "from-a"),
            configmap("default", "a-only", "1"),
        ],
    )
    .await;
    // the diff already tells
    let diff = b
        .diff(
            kiln_kube::Manifests::new(vec![configmap("default", "shared", "from-b")])
                .expect("valid"),
        )
        .await
        .expect("diff runs");
    assert!(diff.failed(), "{diff}");
    assert!(
        diff.to_string()
            .contains("belongs to the inventory default/a"),
        "{diff}"
    );
    let (report, _) = apply(
        &b,
        vec![
            configmap("default", "shared", "from-b"),
            configmap("default", "b-only", "1"),
        ],
    )
    .await;
    assert!(report.failed());
    let shared = report
        .objects
        .iter()
        .find(|o| o.id.name == "shared")
        .expect("reported");
    assert!(
        shared.action.to_string().contains("default/a"),
        "{}",
        shared.action
    );
    assert_eq!(owner(&server, "shared"), "default/a");
    let live = server
        .object("", "configmaps", "default", "shared")
        .expect("exists");
    assert_eq!(live["data"]["key"], "from-a", "b did not write it");
    assert!(exists(&server, "", "configmaps", "default", "b-only"));

    // b drops it: it is a's, so b keeps its hands off
    let (report, _) = apply(&b, vec![configmap("default", "b-only", "1")]).await;
    assert!(!report.failed(), "{report:?}");
    let kept = report
        .objects
        .iter()
        .find(|o| o.id.name == "shared")
        .expect("reported");
    assert!(
        matches!(&kept.action, Action::Kept(why) if why.contains("default/a")),
        "{:?}",
        kept.action
    );
    assert!(exists(&server, "", "configmaps", "default", "shared"));
    assert!(!inventory(&server, "b").iter().any(|l| l.contains("shared")));

    // adoption moves it to b; then a dropping it does not delete it
    let mut opts = options("b");
    opts.adopt = true;
    let b_adopting = Applier::new(client.clone(), opts);
    let (report, _) = apply(
        &b_adopting,
        vec![
            configmap("default", "shared", "from-b"),
            configmap("default", "b-only", "1"),
        ],
    )
    .await;
    assert!(!report.failed(), "{report:?}");
    assert_eq!(owner(&server, "shared"), "default/b");
    let (report, _) = apply(&a, vec![configmap("default", "a-only", "1")]).await;
    assert!(!report.failed(), "{report:?}");
    assert!(
        exists(&server, "", "configmaps", "default", "shared"),
        "a must not prune b's object"
    );
    assert!(exists(&server, "", "configmaps", "default", "a-only"));
}

#[tokio::test]
async fn an_inventory_listing_another_apps_object_does_not_delete_it() {
    let (server, client) = server(Options::default()).await;
    let a = Applier::new(client.clone(), options("a"));
    let b = Applier::new(client.clone(), options("b"));
    apply(&b, vec![configmap("default", "b-only", "1")]).await;
    // a's inventory claims b's object (a hand edit, a bug elsewhere...)
    apply(&a, vec![configmap("default", "a-only", "1")]).await;
    let cms: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(client.clone(), "default");
    cms.patch(
        "kiln-inventory-a",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(serde_json::json!({"data": {"objects": "v1 ConfigMap default a-only\nv1 ConfigMap default b-only\n"}})),
    )
    .await
    .expect("edit the inventory");
    let (report, _) = apply(&a, vec![configmap("default", "a-new", "1")]).await;
    assert!(!report.failed(), "{report:?}");
    assert!(exists(&server, "", "configmaps", "default", "b-only"));
    assert!(!exists(&server, "", "configmaps", "default", "a-only"));
    assert_eq!(report.count(&Action::Pruned), 1, "{report:?}");
    assert_eq!(report.count(&Action::Kept(String::new())), 1, "{report:?}");
}

#[tokio::test]
async fn an_unmarked_object_in_the_cluster_is_never_pruned() {
    let (server, client) = server(Options::default()).await;
    let cms: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(client.clone(), "default");
    cms.patch(
        "handmade",
        &kube::api::PatchParams::apply("kubectl"),
        &kube::api::Patch::Apply(configmap("default", "handmade", "1")),
    )
    .await
    .expect("someone else's object");
    let a = Applier::new(client, options("a"));
    apply(&a, vec![configmap("default", "a-only", "1")]).await;
    let (report, _) = apply(&a, vec![configmap("default", "a-only", "2")]).await;
    assert!(!report.failed(), "{report:?}");
    assert!(exists(&server, "", "configmaps", "default", "handmade"));
    assert!(report.objects.iter().all(|o| o.id.name != "handmade"));
}

#[tokio::test]
async fn a_namespace_is_not_pruned_while_another_app_has_objects_in_it() {
    let (server, client) = server(Options::default()).await;
    let a = Applier::new(client.clone(), options("a"));
    let b = Applier::new(client.clone(), options("b"));
    apply(
        &a,
        vec![
            common::namespace("team"),
            configmap("team", "a-cm", "1"),
            configmap("default", "a-keep", "1"),
        ],
    )
    .await;
    apply(&b, vec![configmap("team", "b-cm", "1")]).await;
    let diff = a
        .diff(kiln_kube::Manifests::new(vec![configmap("default", "a-keep", "1")]).expect("valid"))
        .await
        .expect("diff runs");
    let deletes: Vec<String> = diff
        .objects
        .iter()
        .filter(|o| o.change == kiln_kube::Change::Delete)
        .map(|o| o.id.to_string())
        .collect();
    assert_eq!(deletes, ["v1/ConfigMap/team/a-cm"], "{diff}");
    let (report, _) = apply(&a, vec![configmap("default", "a-keep", "1")]).await;
    assert!(!report.failed(), "{report:?}");
    let ns = report
        .objects
        .iter()
        .find(|o| o.id.kind == "Namespace")
        .expect("reported");
    assert!(
        matches!(&ns.action, Action::Kept(why) if why.contains("default/b")),
        "{}",
        ns.action
    );
    assert!(exists(&server, "", "namespaces", "", "team"));
    assert!(exists(&server, "", "configmaps", "team", "b-cm"));
    assert!(!exists(&server, "", "configmaps", "team", "a-cm"));

    // it stays in a's inventory, and goes once b has left it
    assert!(
        inventory(&server, "a")
            .iter()
            .any(|l| l == "v1 Namespace - team")
    );
    let mut opts = options("b");
    opts.allow_empty = true;
    apply(&Applier::new(client, opts), vec![]).await;
    let (report, _) = apply(&a, vec![configmap("default", "a-keep", "1")]).await;
    assert_eq!(report.count(&Action::Pruned), 1, "{report:?}");
    assert!(!exists(&server, "", "namespaces", "", "team"));
}
