//! Two apps in one cluster: neither deletes nor silently takes the other's objects.

use kiln_kube::{Action, Applier};

use crate::{apply, cluster, configmap, exists, inventory, object, options};

async fn owner(client: &kube::Client, name: &str) -> String {
    object(client, "", "configmaps", "default", name)
        .await
        .and_then(|o| {
            o.pointer("/metadata/annotations/kiln.dev~1inventory-id")
                .and_then(|v| v.as_str().map(str::to_owned))
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_shared_object_is_a_conflict_unless_adopted() {
    let (cluster, client) = cluster().await;
    let (a_app, b_app) = (cluster.unique("a"), cluster.unique("b"));
    let shared = format!("{a_app}-shared");
    let (a_only, b_only) = (format!("{a_app}-only"), format!("{b_app}-only"));
    let a = Applier::new(client.clone(), options(&a_app));
    let b = Applier::new(client.clone(), options(&b_app));
    apply(
        &a,
        vec![
            configmap("default", &shared, "from-a"),
            configmap("default", &a_only, "1"),
        ],
    )
    .await;
    // the diff already tells
    let diff = b
        .diff(
            kiln_kube::Manifests::new(vec![configmap("default", &shared, "from-b")])
                .expect("valid"),
        )
        .await
        .expect("diff runs");
    assert!(diff.failed(), "{diff}");
    assert!(
        diff.to_string()
            .contains(&format!("belongs to the inventory default/{a_app}")),
        "{diff}"
    );
    let (report, _) = apply(
        &b,
        vec![
            configmap("default", &shared, "from-b"),
            configmap("default", &b_only, "1"),
        ],
    )
    .await;
    assert!(report.failed());
    let shared_result = report
        .objects
        .iter()
        .find(|o| o.id.name == shared)
        .expect("reported");
    assert!(
        shared_result
            .action
            .to_string()
            .contains(&format!("default/{a_app}")),
        "{}",
        shared_result.action
    );
    assert_eq!(owner(&client, &shared).await, format!("default/{a_app}"));
    let live = object(&client, "", "configmaps", "default", &shared)
        .await
        .expect("exists");
    assert_eq!(live["data"]["key"], "from-a", "b did not write it");
    assert!(exists(&client, "", "configmaps", "default", &b_only).await);

    // b drops it: it is a's, so b keeps its hands off
    let (report, _) = apply(&b, vec![configmap("default", &b_only, "1")]).await;
    assert!(!report.failed(), "{report:?}");
    let kept = report
        .objects
        .iter()
        .find(|o| o.id.name == shared)
        .expect("reported");
    assert!(
        matches!(&kept.action, Action::Kept(why) if why.contains(&format!("default/{a_app}"))),
        "{:?}",
        kept.action
    );
    assert!(exists(&client, "", "configmaps", "default", &shared).await);
    assert!(
        !inventory(&client, &b_app)
            .await
            .iter()
            .any(|l| l.contains(&shared))
    );

    // adoption moves it to b; then a dropping it does not delete it
    let mut opts = options(&b_app);
    opts.adopt = true;
    let b_adopting = Applier::new(client.clone(), opts);
    let (report, _) = apply(
        &b_adopting,
        vec![
            configmap("default", &shared, "from-b"),
            configmap("default", &b_only, "1"),
        ],
    )
    .await;
    assert!(!report.failed(), "{report:?}");
    assert_eq!(owner(&client, &shared).await, format!("default/{b_app}"));
    let live = object(&client, "", "configmaps", "default", &shared)
        .await
        .expect("exists");
    assert_eq!(live["data"]["key"], "from-b");
    let (report, _) = apply(&a, vec![configmap("default", &a_only, "1")]).await;
    assert!(!report.failed(), "{report:?}");
    assert!(
        exists(&client, "", "configmaps", "default", &shared).await,
        "a must not prune b's object"
    );
    assert!(exists(&client, "", "configmaps", "default", &a_only).await);
}

#[tokio::test]
async fn an_inventory_listing_another_apps_object_does_not_delete_it() {
    let (cluster, client) = cluster().await;
    let (a_app, b_app) = (cluster.unique("a"), cluster.unique("b"));
    let (a_only, b_only) = (format!("{a_app}-only"), format!("{b_app}-only"));
    let a = Applier::new(client.clone(), options(&a_app));
    let b = Applier::new(client.clone(), options(&b_app));
    apply(&b, vec![configmap("default", &b_only, "1")]).await;
    // a's inventory claims b's object (a hand edit, a bug elsewhere...)
    apply(&a, vec![configmap("default", &a_only, "1")]).await;
    let cms: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(client.clone(), "default");
    cms.patch(
        &format!("kiln-inventory-{a_app}"),
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(serde_json::json!({"data": {"objects":
            format!("v1 ConfigMap default {a_only}\nv1 ConfigMap default {b_only}\n")}})),
    )
    .await
    .expect("edit the inventory");
    let (report, _) = apply(&a, vec![configmap("default", &format!("{a_app}-new"), "1")]).await;
    assert!(!report.failed(), "{report:?}");
    assert!(exists(&client, "", "configmaps", "default", &b_only).await);
    assert!(!exists(&client, "", "configmaps", "default", &a_only).await);
    assert_eq!(report.count(&Action::Pruned), 1, "{report:?}");
    assert_eq!(report.count(&Action::Kept(String::new())), 1, "{report:?}");
}

#[tokio::test]
async fn an_unmarked_object_in_the_cluster_is_never_pruned() {
    let (cluster, client) = cluster().await;
    let a_app = cluster.unique("a");
    let handmade = format!("{a_app}-handmade");
    let cms: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(client.clone(), "default");
    cms.patch(
        &handmade,
        &kube::api::PatchParams::apply("kubectl"),
        &kube::api::Patch::Apply(configmap("default", &handmade, "1")),
    )
    .await
    .expect("someone else's object");
    let a = Applier::new(client.clone(), options(&a_app));
    apply(
        &a,
        vec![configmap("default", &format!("{a_app}-only"), "1")],
    )
    .await;
    let (report, _) = apply(
        &a,
        vec![configmap("default", &format!("{a_app}-only"), "2")],
    )
    .await;
    assert!(!report.failed(), "{report:?}");
    assert!(exists(&client, "", "configmaps", "default", &handmade).await);
    assert!(report.objects.iter().all(|o| o.id.name != handmade));
}

#[tokio::test]
async fn a_namespace_is_not_pruned_while_another_app_has_objects_in_it() {
    let (cluster, client) = cluster().await;
    let (a_app, b_app) = (cluster.unique("a"), cluster.unique("b"));
    let team = cluster.unique("team");
    let a_keep = format!("{a_app}-keep");
    let a = Applier::new(client.clone(), options(&a_app));
    let b = Applier::new(client.clone(), options(&b_app));
    apply(
        &a,
        vec![
            crate::namespace(&team),
            configmap(&team, "a-cm", "1"),
            configmap("default", &a_keep, "1"),
        ],
    )
    .await;
    apply(&b, vec![configmap(&team, "b-cm", "1")]).await;
    let diff = a
        .diff(kiln_kube::Manifests::new(vec![configmap("default", &a_keep, "1")]).expect("valid"))
        .await
        .expect("diff runs");
    let deletes: Vec<String> = diff
        .objects
        .iter()
        .filter(|o| o.change == kiln_kube::Change::Delete)
        .map(|o| o.id.to_string())
        .collect();
    assert_eq!(deletes, [format!("v1/ConfigMap/{team}/a-cm")], "{diff}");
    let (report, _) = apply(&a, vec![configmap("default", &a_keep, "1")]).await;
    assert!(!report.failed(), "{report:?}");
    let ns = report
        .objects
        .iter()
        .find(|o| o.id.kind == "Namespace")
        .expect("reported");
    assert!(
        matches!(&ns.action, Action::Kept(why) if why.contains(&format!("default/{b_app}"))),
        "{}",
        ns.action
    );
    assert!(exists(&client, "", "namespaces", "", &team).await);
    assert!(exists(&client, "", "configmaps", &team, "b-cm").await);
    assert!(!exists(&client, "", "configmaps", &team, "a-cm").await);

    // it stays in a's inventory, and goes once b has left it
    assert!(
        inventory(&client, &a_app)
            .await
            .iter()
            .any(|l| *l == format!("v1 Namespace - {team}"))
    );
    let mut opts = options(&b_app);
    opts.allow_empty = true;
    apply(&Applier::new(client.clone(), opts), vec![]).await;
    let (report, _) = apply(&a, vec![configmap("default", &a_keep, "1")]).await;
    assert_eq!(report.count(&Action::Pruned), 1, "{report:?}");
    assert!(
        !exists(&client, "", "namespaces", "", &team).await,
        "terminating"
    );
}
