//! `client()` from a kubeconfig with TLS and a client certificate, and dry runs.

use kiln_kube::{Action, Applier};

use crate::{apply, cluster, configmap, inventory, object, options};

#[tokio::test]
async fn a_client_from_a_kubeconfig_with_a_client_certificate() {
    let (cluster, client) = cluster().await;
    let app = cluster.unique("kc");
    let path = cluster.kubeconfig();
    let from_file = kiln_kube::client(Some(&path), None).await.expect("client");
    let applier = Applier::new(from_file, options(&app));
    let (report, _) = apply(&applier, vec![configmap("default", &app, "1")]).await;
    assert_eq!(report.count(&Action::Created), 1, "{report:?}");
    assert!(
        object(&client, "", "configmaps", "default", &app)
            .await
            .is_some()
    );

    let Err(err) = kiln_kube::client(Some(&path), Some("no-such-context")).await else {
        panic!("an unknown context is an error");
    };
    assert!(err.to_string().contains("no-such-context"), "{err}");
    let dir = tempfile::tempdir().expect("temp dir");
    let Err(err) = kiln_kube::client(Some(&dir.path().join("missing")), None).await else {
        panic!("a missing kubeconfig is an error");
    };
    assert!(err.to_string().contains("missing"), "{err}");
}

#[tokio::test]
async fn apply_and_diff_futures_can_be_spawned() {
    let (cluster, client) = cluster().await;
    let app = cluster.unique("spawn");
    let applier = Applier::new(client.clone(), options(&app));
    let differ = applier.clone();
    let cm = configmap("default", &app, "1");
    let objs = vec![cm.clone()];
    let diff = tokio::spawn(async move {
        differ
            .diff(kiln_kube::Manifests::new(objs).expect("valid"))
            .await
    });
    let diff = diff.await.expect("joins").expect("runs");
    assert!(diff.differs(), "{diff}");
    let task = tokio::spawn(async move {
        applier
            .apply(
                kiln_kube::Manifests::new(vec![cm]).expect("valid"),
                &kiln_kube::no_progress,
            )
            .await
    });
    let report = task.await.expect("joins").expect("runs");
    assert!(!report.failed(), "{report:?}");
    assert!(
        object(&client, "", "configmaps", "default", &app)
            .await
            .is_some()
    );
}

#[tokio::test]
async fn an_identity_without_rights_is_refused_by_rbac() {
    let (cluster, _) = cluster().await;
    let app = cluster.unique("rbac");
    // the admin, impersonating a user that RBAC grants nothing
    let text = fs_err::read_to_string(cluster.kubeconfig()).expect("kubeconfig");
    let mut kubeconfig: serde_json::Value =
        serde_saphyr::from_str(&text).expect("kubeconfig is YAML");
    kubeconfig["users"][0]["user"]["as"] = serde_json::json!("nobody");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("kubeconfig");
    fs_err::write(&path, serde_json::to_string(&kubeconfig).expect("json")).expect("write");
    let client = kiln_kube::client(Some(&path), None).await.expect("client");
    let applier = Applier::new(client, options(&app));
    let err = applier
        .apply(
            kiln_kube::Manifests::new(vec![configmap("default", &app, "1")]).expect("valid"),
            &kiln_kube::no_progress,
        )
        .await
        .expect_err("not allowed");
    let text = err.to_string();
    assert!(
        text.contains("forbidden") && text.contains("nobody"),
        "{text}"
    );
}

#[tokio::test]
async fn a_dry_run_writes_nothing_and_reports_what_would_happen() {
    let (cluster, client) = cluster().await;
    let app = cluster.unique("dry");
    let fresh = cluster.unique("fresh");
    let (old, kept) = (format!("{app}-old"), format!("{app}-kept"));
    let applier = Applier::new(client.clone(), options(&app));
    apply(
        &applier,
        vec![
            configmap("default", &old, "1"),
            configmap("default", &kept, "1"),
        ],
    )
    .await;
    let mut opts = options(&app);
    opts.dry_run = true;
    let dry = Applier::new(client.clone(), opts);
    let mark = cluster.request_mark();
    let (report, _) = apply(
        &dry,
        [
            crate::app(&fresh, "x"),
            vec![configmap("default", &kept, "2")],
        ]
        .concat(),
    )
    .await;
    assert!(!report.failed(), "{report:?}");
    let writes: Vec<_> = cluster
        .requests_since(mark)
        .into_iter()
        .filter(|r| (r.in_namespace(&fresh) || r.name.contains(&app)) && r.is_write())
        .collect();
    assert_eq!(writes, [], "a dry run writes nothing");
    assert_eq!(report.count(&Action::Created), 4, "{report:?}");
    assert_eq!(report.count(&Action::Configured), 1, "{report:?}");
    assert_eq!(report.count(&Action::Pruned), 1, "{report:?}");
    assert!(
        object(&client, "", "configmaps", "default", &old)
            .await
            .is_some()
    );
    assert!(
        object(&client, "", "namespaces", "", &fresh)
            .await
            .is_none()
    );
    let live = object(&client, "", "configmaps", "default", &kept)
        .await
        .expect("exists");
    assert_eq!(live["data"]["key"], "1");
    assert_eq!(inventory(&client, &app).await.len(), 2);
}
