//! Apply, re-apply, change, prune and the guards around pruning, against the emulator.

mod common;

use common::{apply, configmap, exists, inventory, options, server};
use kiln_kube::{Action, Applier, ApplyError, Manifests, ManifestsError, Propagation};
use kiln_test_apiserver::Options;
use serde_json::json;

#[tokio::test]
async fn first_apply_creates_and_second_sends_no_writes() {
    let (server, client) = server(Options::default()).await;
    let applier = Applier::new(client, options("shop"));
    let (report, events) = apply(&applier, common::app("shop", "one")).await;
    assert!(!report.failed(), "{report:?}");
    assert_eq!(report.count(&Action::Created), 4, "{report:?}");
    assert_eq!(events.len(), 4, "one progress event per object");
    assert!(exists(&server, "apps", "deployments", "shop", "web"));
    let cm = server
        .object("", "configmaps", "shop", "settings")
        .expect("created");
    assert_eq!(
        cm["metadata"]["annotations"]["kiln.dev/inventory-id"],
        "default/shop"
    );
    assert_eq!(inventory(&server, "shop").len(), 4);

    server.requests().clear();
    let (report, _) = apply(&applier, common::app("shop", "one")).await;
    assert!(!report.failed(), "{report:?}");
    assert_eq!(report.count(&Action::Unchanged), 4, "{report:?}");
    assert_eq!(
        server.requests().writes(),
        0,
        "{:#?}",
        server.requests().entries()
    );
    let dry_runs = server
        .requests()
        .entries()
        .iter()
        .filter(|e| e.dry_run)
        .count();
    assert_eq!(
        dry_runs, 0,
        "unchanged objects are recognised without asking the server"
    );
}

#[tokio::test]
async fn a_change_is_applied_and_only_it_is_written() {
    let (server, client) = server(Options::default()).await;
    let applier = Applier::new(client, options("shop"));
    apply(&applier, common::app("shop", "one")).await;
    server.requests().clear();
    let (report, _) = apply(&applier, common::app("shop", "two")).await;
    assert_eq!(report.count(&Action::Configured), 1, "{report:?}");
    assert_eq!(report.count(&Action::Unchanged), 3, "{report:?}");
    assert_eq!(server.requests().writes(), 1);
    let cm = server
        .object("", "configmaps", "shop", "settings")
        .expect("exists");
    assert_eq!(cm["data"]["key"], "two");
}

#[tokio::test]
async fn a_dropped_field_is_removed() {
    let (server, client) = server(Options::default()).await;
    let applier = Applier::new(client, options("shop"));
    let mut cm = configmap("default", "settings", "one");
    cm["data"]["extra"] = json!("x");
    apply(&applier, vec![cm]).await;
    let (report, _) = apply(&applier, vec![configmap("default", "settings", "one")]).await;
    assert_eq!(report.count(&Action::Configured), 1, "{report:?}");
    let live = server
        .object("", "configmaps", "default", "settings")
        .expect("exists");
    assert!(live["data"].get("extra").is_none(), "{live}");
}

#[tokio::test]
async fn drift_by_another_manager_conflicts_unless_forced() {
    let (server, client) = server(Options::default()).await;
    let applier = Applier::new(client.clone(), options("shop"));
    apply(&applier, vec![configmap("default", "settings", "one")]).await;
    let client_again = client.clone();
    let cms: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(client, "default");
    cms.patch(
        "settings",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(json!({"data": {"key": "edited"}})),
    )
    .await
    .expect("edit");
    // the edit made someone else the owner of the field: a conflict, named by the server
    let (report, _) = apply(&applier, vec![configmap("default", "settings", "one")]).await;
    assert!(report.failed());
    let action = report.objects[0].action.to_string();
    assert!(
        action.contains("conflict") && action.contains(".data.key"),
        "{action}"
    );
    let live = server
        .object("", "configmaps", "default", "settings")
        .expect("exists");
    assert_eq!(live["data"]["key"], "edited");
    // forcing conflicts takes the field back
    let mut opts = options("shop");
    opts.force_conflicts = true;
    let applier = Applier::new(client_again, opts);
    let (report, _) = apply(&applier, vec![configmap("default", "settings", "one")]).await;
    assert_eq!(report.count(&Action::Configured), 1, "{report:?}");
    let live = server
        .object("", "configmaps", "default", "settings")
        .expect("exists");
    assert_eq!(live["data"]["key"], "one");
}

#[tokio::test]
async fn a_removed_resource_is_pruned_unless_it_says_not_to() {
    let (server, client) = server(Options::default()).await;
    let mut opts = options("shop");
    opts.propagation = Propagation::Foreground;
    let applier = Applier::new(client, opts);
    let mut keep = configmap("shop", "keep", "k");
    keep["metadata"]["annotations"] = json!({"kiln.dev/prune": "disabled"});
    let mut objs = common::app("shop", "one");
    objs.push(keep);
    apply(&applier, objs).await;
    let (report, _) = apply(&applier, common::app("shop", "one")[..2].to_vec()).await;
    assert!(!report.failed(), "{report:?}");
    assert_eq!(report.count(&Action::Pruned), 2, "{report:?}");
    assert_eq!(report.count(&Action::Kept(String::new())), 1, "{report:?}");
    assert!(!exists(&server, "apps", "deployments", "shop", "web"));
    assert!(!exists(&server, "", "services", "shop", "web"));
    assert!(exists(&server, "", "configmaps", "shop", "keep"));
    assert_eq!(
        inventory(&server, "shop").len(),
        2,
        "{:?}",
        inventory(&server, "shop")
    );
    let deletes: Vec<_> = server
        .requests()
        .entries()
        .into_iter()
        .filter(|e| e.verb == "delete")
        .collect();
    assert_eq!(deletes.len(), 2);
}

#[tokio::test]
async fn a_failed_render_never_reaches_the_cluster() {
    let (server, client) = server(Options::default()).await;
    let applier = Applier::new(client, options("shop"));
    apply(&applier, common::app("shop", "one")).await;
    server.requests().clear();
    // a render with a broken object is no render: nothing to apply or prune with
    let broken = vec![
        configmap("shop", "settings", "one"),
        json!({"kind": "ConfigMap"}),
    ];
    let err = Manifests::new(broken).expect_err("invalid render");
    assert!(
        matches!(err, ManifestsError::MissingField { index: 1, .. }),
        "{err}"
    );
    let dup = vec![configmap("shop", "a", "1"), configmap("shop", "a", "2")];
    assert!(matches!(
        Manifests::new(dup),
        Err(ManifestsError::Duplicate { .. })
    ));
    assert_eq!(server.requests().entries().len(), 0);
    assert!(exists(&server, "apps", "deployments", "shop", "web"));
}

#[tokio::test]
async fn an_empty_render_is_refused_unless_allowed() {
    let (server, client) = server(Options::default()).await;
    let applier = Applier::new(client.clone(), options("shop"));
    apply(&applier, common::app("shop", "one")).await;
    server.requests().clear();
    let err = applier
        .apply(
            Manifests::new(vec![]).expect("empty is valid"),
            &kiln_kube::no_progress,
        )
        .await
        .expect_err("refused");
    assert!(matches!(err, ApplyError::EmptyRender { .. }), "{err}");
    assert_eq!(server.requests().entries().len(), 0);
    assert!(exists(&server, "", "configmaps", "shop", "settings"));

    let mut opts = options("shop");
    opts.allow_empty = true;
    let applier = Applier::new(client, opts);
    let (report, _) = apply(&applier, vec![]).await;
    assert_eq!(report.count(&Action::Pruned), 4, "{report:?}");
    assert!(!exists(&server, "", "namespaces", "", "shop"));
    assert!(inventory(&server, "shop").is_empty());
}

#[tokio::test]
async fn pruning_is_skipped_when_an_object_fails() {
    let (server, client) = server(Options::default()).await;
    let applier = Applier::new(client, options("shop"));
    apply(&applier, common::app("shop", "one")).await;
    let bad = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "Bad_Name", "namespace": "shop"}});
    let (report, _) = apply(&applier, vec![common::namespace("shop"), bad]).await;
    assert!(report.failed());
    let failed: Vec<_> = report
        .objects
        .iter()
        .filter(|o| matches!(o.action, Action::Failed(_)))
        .collect();
    assert_eq!(failed.len(), 1, "{report:?}");
    assert!(
        failed[0].action.to_string().contains("422"),
        "{}",
        failed[0].action
    );
    assert!(report.prune_skipped.is_some());
    assert!(exists(&server, "apps", "deployments", "shop", "web"));
}

#[tokio::test]
async fn one_bad_object_does_not_hide_the_others() {
    let (server, client) = server(Options::default()).await;
    let applier = Applier::new(client, options("shop"));
    let objs = vec![
        configmap("default", "a", "1"),
        configmap("missing-ns", "b", "2"),
        json!({"apiVersion": "example.com/v1", "kind": "Nope", "metadata": {"name": "x"}}),
        configmap("default", "c", "3"),
    ];
    let (report, _) = apply(&applier, objs).await;
    assert!(report.failed());
    assert_eq!(report.count(&Action::Created), 2, "{report:?}");
    assert_eq!(
        report.count(&Action::Failed(String::new())),
        2,
        "{report:?}"
    );
    let text: Vec<String> = report
        .objects
        .iter()
        .map(|o| format!("{}: {}", o.id, o.action))
        .collect();
    assert!(
        text.iter()
            .any(|t| t.contains("missing-ns") && t.contains("not found")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|t| t.contains("Nope") && t.contains("serves no kind")),
        "{text:?}"
    );
    assert!(exists(&server, "", "configmaps", "default", "c"));
}

#[tokio::test]
async fn many_objects_in_one_namespace_are_listed_page_by_page() {
    let (server, client) = server(Options::default()).await;
    let applier = Applier::new(client, options("many"));
    let objs: Vec<_> = (0..1200)
        .map(|i| configmap("default", &format!("cm-{i}"), "v"))
        .collect();
    let (report, _) = apply(&applier, objs.clone()).await;
    assert_eq!(report.count(&Action::Created), 1200);
    server.requests().clear();
    let (report, _) = apply(&applier, objs).await;
    assert_eq!(
        report.count(&Action::Unchanged),
        1200,
        "{:?}",
        report
            .objects
            .iter()
            .find(|o| o.action != Action::Unchanged)
    );
    assert_eq!(server.requests().writes(), 0);
    let lists = server
        .requests()
        .entries()
        .into_iter()
        .filter(|e| e.verb == "list")
        .count();
    assert_eq!(
        lists, 3,
        "1,200 config maps (and the inventory) in pages of 500"
    );
    assert_eq!(
        report.objects[0].to_string(),
        "v1/ConfigMap/default/cm-0 unchanged"
    );
}
