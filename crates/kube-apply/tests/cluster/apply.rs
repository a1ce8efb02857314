//! Apply, re-apply, change, conflicts, prune and the guards around pruning.

use kiln_kube::{Action, Applier, ApplyError, Manifests, ManifestsError, Propagation};
use serde_json::json;

use crate::{apply, cluster, configmap, exists, inventory, object, options, version};

/// The `resourceVersion` of each object of `app(ns)`.
async fn versions(client: &kube::Client, ns: &str) -> Vec<String> {
    vec![
        version(client, "", "namespaces", "", ns).await,
        version(client, "", "configmaps", ns, "settings").await,
        version(client, "apps", "deployments", ns, "web").await,
        version(client, "", "services", ns, "web").await,
    ]
}

#[tokio::test]
async fn first_apply_creates_and_the_second_changes_nothing() {
    let (cluster, client) = cluster().await;
    let shop = cluster.unique("shop");
    let applier = Applier::new(client.clone(), options(&shop));
    let (report, events) = apply(&applier, crate::app(&shop, "one")).await;
    assert!(!report.failed(), "{report:?}");
    assert_eq!(report.count(&Action::Created), 4, "{report:?}");
    assert_eq!(events.len(), 4, "one progress event per object");
    assert!(exists(&client, "apps", "deployments", &shop, "web").await);
    let cm = object(&client, "", "configmaps", &shop, "settings")
        .await
        .expect("created");
    assert_eq!(
        cm["metadata"]["annotations"]["kiln.dev/inventory-id"],
        format!("default/{shop}")
    );
    let managers: Vec<&str> = cm["metadata"]["managedFields"]
        .as_array()
        .expect("managed fields")
        .iter()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert_eq!(managers, ["kiln"], "{cm}");
    assert_eq!(cm["metadata"]["managedFields"][0]["operation"], "Apply");
    assert_eq!(inventory(&client, &shop).await.len(), 4);

    // the server stored nothing new: every resourceVersion is the same
    let before = versions(&client, &shop).await;
    let mark = cluster.request_mark();
    let (report, _) = apply(&applier, crate::app(&shop, "one")).await;
    assert!(!report.failed(), "{report:?}");
    assert_eq!(report.count(&Action::Unchanged), 4, "{report:?}");
    assert_eq!(versions(&client, &shop).await, before);
    // and kiln knew it without a write, or even a dry run, despite the server's defaults
    let sent = crate::requests(cluster, mark, &shop);
    assert!(
        sent.iter().all(|r| !r.is_write() && !r.dry_run),
        "{sent:#?}"
    );
}

#[tokio::test]
async fn a_change_is_applied_and_only_it_is_written() {
    let (cluster, client) = cluster().await;
    let shop = cluster.unique("shop");
    let applier = Applier::new(client.clone(), options(&shop));
    apply(&applier, crate::app(&shop, "one")).await;
    let before = versions(&client, &shop).await;
    let mark = cluster.request_mark();
    let (report, _) = apply(&applier, crate::app(&shop, "two")).await;
    let writes: Vec<_> = crate::requests(cluster, mark, &shop)
        .into_iter()
        .filter(kiln_test_cluster::Request::is_write)
        .collect();
    assert_eq!(writes.len(), 1, "{writes:#?}");
    assert_eq!(report.count(&Action::Configured), 1, "{report:?}");
    assert_eq!(report.count(&Action::Unchanged), 3, "{report:?}");
    let after = versions(&client, &shop).await;
    let changed: Vec<usize> = (0..4).filter(|&i| before[i] != after[i]).collect();
    assert_eq!(changed, [1], "only the config map was stored again");
    let cm = object(&client, "", "configmaps", &shop, "settings")
        .await
        .expect("exists");
    assert_eq!(cm["data"]["key"], "two");
}

#[tokio::test]
async fn a_dropped_field_is_removed() {
    let (cluster, client) = cluster().await;
    let app = cluster.unique("drop");
    let applier = Applier::new(client.clone(), options(&app));
    let mut cm = configmap("default", &app, "one");
    cm["data"]["extra"] = json!("x");
    apply(&applier, vec![cm]).await;
    let (report, _) = apply(&applier, vec![configmap("default", &app, "one")]).await;
    assert_eq!(report.count(&Action::Configured), 1, "{report:?}");
    let live = object(&client, "", "configmaps", "default", &app)
        .await
        .expect("exists");
    assert!(live["data"].get("extra").is_none(), "{live}");
    assert_eq!(live["data"]["key"], "one");
}

#[tokio::test]
async fn drift_by_another_manager_conflicts_unless_forced() {
    let (cluster, client) = cluster().await;
    let app = cluster.unique("drift");
    let applier = Applier::new(client.clone(), options(&app));
    apply(&applier, vec![configmap("default", &app, "one")]).await;
    let cms: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(client.clone(), "default");
    cms.patch(
        &app,
        &kube::api::PatchParams {
            field_manager: Some("someone".to_owned()),
            ..kube::api::PatchParams::default()
        },
        &kube::api::Patch::Merge(json!({"data": {"key": "edited"}})),
    )
    .await
    .expect("edit");
    // the edit made someone else the owner of the field: a conflict, named by the server
    let (report, _) = apply(&applier, vec![configmap("default", &app, "one")]).await;
    assert!(report.failed());
    let action = report.objects[0].action.to_string();
    assert!(
        action.contains("conflict") && action.contains(".data.key") && action.contains("someone"),
        "{action}"
    );
    let live = object(&client, "", "configmaps", "default", &app)
        .await
        .expect("exists");
    assert_eq!(live["data"]["key"], "edited");
    // forcing conflicts takes the field back, and kiln is its only manager again
    let mut opts = options(&app);
    opts.force_conflicts = true;
    let applier = Applier::new(client.clone(), opts);
    let (report, _) = apply(&applier, vec![configmap("default", &app, "one")]).await;
    assert_eq!(report.count(&Action::Configured), 1, "{report:?}");
    let live = object(&client, "", "configmaps", "default", &app)
        .await
        .expect("exists");
    assert_eq!(live["data"]["key"], "one");
    let owners: Vec<&str> = live["metadata"]["managedFields"]
        .as_array()
        .expect("managed fields")
        .iter()
        .filter(|m| m.pointer("/fieldsV1/f:data/f:key").is_some())
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert_eq!(owners, ["kiln"], "{live}");
}

#[tokio::test]
async fn a_removed_resource_is_pruned_unless_it_says_not_to() {
    let (cluster, client) = cluster().await;
    let shop = cluster.unique("shop");
    let mut opts = options(&shop);
    opts.propagation = Propagation::Foreground;
    let applier = Applier::new(client.clone(), opts);
    let mut keep = configmap(&shop, "keep", "k");
    keep["metadata"]["annotations"] = json!({"kiln.dev/prune": "disabled"});
    let mut objs = crate::app(&shop, "one");
    objs.push(keep);
    apply(&applier, objs).await;
    let (report, _) = apply(&applier, crate::app(&shop, "one")[..2].to_vec()).await;
    assert!(!report.failed(), "{report:?}");
    assert_eq!(report.count(&Action::Pruned), 2, "{report:?}");
    assert_eq!(report.count(&Action::Kept(String::new())), 1, "{report:?}");
    // deleted in the foreground: without a garbage collector the deployment keeps its
    // `foregroundDeletion` finalizer, being deleted
    let web = object(&client, "apps", "deployments", &shop, "web")
        .await
        .expect("held by its finalizer");
    assert!(
        web.pointer("/metadata/deletionTimestamp").is_some(),
        "{web}"
    );
    assert_eq!(
        web["metadata"]["finalizers"],
        json!(["foregroundDeletion"]),
        "{web}"
    );
    assert!(!exists(&client, "apps", "deployments", &shop, "web").await);
    assert!(!exists(&client, "", "services", &shop, "web").await);
    assert!(exists(&client, "", "configmaps", &shop, "keep").await);
    assert_eq!(
        inventory(&client, &shop).await.len(),
        2,
        "{:?}",
        inventory(&client, &shop).await
    );
}

#[tokio::test]
async fn a_failed_render_never_reaches_the_cluster() {
    let (cluster, client) = cluster().await;
    let shop = cluster.unique("shop");
    let applier = Applier::new(client.clone(), options(&shop));
    apply(&applier, crate::app(&shop, "one")).await;
    let mark = cluster.request_mark();
    // a render with a broken object is no render: nothing to apply or prune with
    let broken = vec![
        configmap(&shop, "settings", "one"),
        json!({"kind": "ConfigMap"}),
    ];
    let err = Manifests::new(broken).expect_err("invalid render");
    assert!(
        matches!(err, ManifestsError::MissingField { index: 1, .. }),
        "{err}"
    );
    let dup = vec![configmap(&shop, "a", "1"), configmap(&shop, "a", "2")];
    assert!(matches!(
        Manifests::new(dup),
        Err(ManifestsError::Duplicate { .. })
    ));
    assert_eq!(crate::requests(cluster, mark, &shop), []);
    assert!(exists(&client, "apps", "deployments", &shop, "web").await);
}

#[tokio::test]
async fn an_empty_render_is_refused_unless_allowed() {
    let (cluster, client) = cluster().await;
    let shop = cluster.unique("shop");
    let applier = Applier::new(client.clone(), options(&shop));
    apply(&applier, crate::app(&shop, "one")).await;
    let mark = cluster.request_mark();
    let err = applier
        .apply(
            Manifests::new(vec![]).expect("empty is valid"),
            &kiln_kube::no_progress,
        )
        .await
        .expect_err("refused");
    assert!(matches!(err, ApplyError::EmptyRender { .. }), "{err}");
    assert_eq!(crate::requests(cluster, mark, &shop), []);
    assert!(exists(&client, "", "configmaps", &shop, "settings").await);

    let mut opts = options(&shop);
    opts.allow_empty = true;
    let applier = Applier::new(client.clone(), opts);
    let (report, _) = apply(&applier, vec![]).await;
    assert!(!report.failed(), "{report:?}");
    assert_eq!(report.count(&Action::Pruned), 4, "{report:?}");
    // the namespace is terminating: only the namespace controller would finish it
    let ns = object(&client, "", "namespaces", "", &shop)
        .await
        .expect("terminating");
    assert_eq!(ns["status"]["phase"], "Terminating", "{ns}");
    assert!(kiln_test_cluster::finalize_namespace(&client, &shop).await);
    assert!(object(&client, "", "namespaces", "", &shop).await.is_none());
    assert!(inventory(&client, &shop).await.is_empty());
}

#[tokio::test]
async fn pruning_is_skipped_when_an_object_fails() {
    let (cluster, client) = cluster().await;
    let shop = cluster.unique("shop");
    let applier = Applier::new(client.clone(), options(&shop));
    apply(&applier, crate::app(&shop, "one")).await;
    let bad = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "Bad_Name", "namespace": shop}});
    let (report, _) = apply(&applier, vec![crate::namespace(&shop), bad]).await;
    assert!(report.failed());
    let failed: Vec<_> = report
        .objects
        .iter()
        .filter(|o| matches!(o.action, Action::Failed(_)))
        .collect();
    assert_eq!(failed.len(), 1, "{report:?}");
    assert!(
        failed[0].action.to_string().contains("422")
            && failed[0].action.to_string().contains("RFC 1123"),
        "{}",
        failed[0].action
    );
    assert!(report.prune_skipped.is_some());
    assert!(exists(&client, "apps", "deployments", &shop, "web").await);
}

#[tokio::test]
async fn one_bad_object_does_not_hide_the_others() {
    let (cluster, client) = cluster().await;
    let app = cluster.unique("bad");
    let missing = cluster.unique("missing");
    let applier = Applier::new(client.clone(), options(&app));
    let objs = vec![
        configmap("default", &format!("{app}-a"), "1"),
        configmap(&missing, "b", "2"),
        json!({"apiVersion": "example.com/v1", "kind": "Nope", "metadata": {"name": "x"}}),
        configmap("default", &format!("{app}-c"), "3"),
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
            .any(|t| t.contains(&missing) && t.contains("not found")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|t| t.contains("Nope") && t.contains("serves no kind")),
        "{text:?}"
    );
    assert!(exists(&client, "", "configmaps", "default", &format!("{app}-c")).await);
}

#[tokio::test]
async fn many_objects_in_one_namespace_are_listed_page_by_page() {
    let (cluster, client) = cluster().await;
    let many = cluster.unique("many");
    let applier = Applier::new(client.clone(), options(&many));
    let mut objs = vec![crate::namespace(&many)];
    objs.extend((0..700).map(|i| configmap(&many, &format!("cm-{i}"), "v")));
    let (report, _) = apply(&applier, objs.clone()).await;
    assert!(!report.failed(), "{report:?}");
    assert_eq!(report.count(&Action::Created), 701);
    let mark = cluster.request_mark();
    let (report, _) = apply(&applier, objs).await;
    let sent = crate::requests(cluster, mark, &many);
    assert_eq!(sent.iter().filter(|r| r.is_write()).count(), 0, "{sent:#?}");
    let lists = sent
        .iter()
        .filter(|r| r.verb == "list" && r.resource == "configmaps" && r.namespace == many)
        .count();
    assert_eq!(lists, 2, "700 config maps in pages of 500: {sent:#?}");
    assert_eq!(
        report.count(&Action::Unchanged),
        701,
        "{:?}",
        report
            .objects
            .iter()
            .find(|o| o.action != Action::Unchanged)
    );
    let lines = inventory(&client, &many).await;
    assert_eq!(lines.len(), 701);
    assert!(
        lines.contains(&format!("v1 ConfigMap {many} cm-699")),
        "{lines:?}"
    );
}

/// Objects whose stored form differs from the manifest: quantities and ports the server
/// normalizes or defaults, `stringData` stored as `data`, an empty map it drops.
fn normalized(ns: &str) -> Vec<serde_json::Value> {
    vec![
        crate::namespace(ns),
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
          "metadata": {"name": "web", "namespace": ns, "annotations": {}},
          "spec": {"selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
              "spec": {"containers": [{"name": "main", "image": "nginx",
                "resources": {"requests": {"cpu": 0.5, "memory": "1024Mi"}, "limits": {"cpu": "1000m"}},
                "ports": [{"name": "http", "containerPort": 8080}]}]}}}}),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": ns},
          "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": "http"}]}}),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds", "namespace": ns},
          "stringData": {"password": "hunter2"}}),
    ]
}

#[tokio::test]
async fn objects_the_server_normalizes_are_unchanged_on_reapply() {
    let (cluster, client) = cluster().await;
    let ns = cluster.unique("norm");
    let applier = Applier::new(client.clone(), options(&ns));
    let (report, _) = apply(&applier, normalized(&ns)).await;
    assert!(!report.failed(), "{report:?}");
    let live = object(&client, "apps", "deployments", &ns, "web")
        .await
        .expect("created");
    let resources = &live["spec"]["template"]["spec"]["containers"][0]["resources"];
    assert_eq!(resources["requests"]["cpu"], "500m", "{resources}");
    assert_eq!(resources["requests"]["memory"], "1Gi", "{resources}");
    assert_eq!(resources["limits"]["cpu"], "1", "{resources}");
    for _ in 0..2 {
        let mark = cluster.request_mark();
        let (report, _) = apply(&applier, normalized(&ns)).await;
        assert_eq!(report.count(&Action::Unchanged), 4, "{report:?}");
        let sent = crate::requests(cluster, mark, &ns);
        let writes: Vec<_> = sent.iter().filter(|r| r.is_write()).collect();
        assert_eq!(writes, Vec::<&kiln_test_cluster::Request>::new());
    }
    let diff = applier
        .diff(Manifests::new(normalized(&ns)).expect("valid"))
        .await
        .expect("diff runs");
    assert!(!diff.differs(), "{diff}");
}
