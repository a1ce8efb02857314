//! `diff`: server-side dry-run applies compared with the live objects, Secrets masked, and
//! `kubectl diff --server-side` agreeing.

use std::process::{Command, Output};

use kiln_kube::{Applier, Change, Manifests};
use serde_json::{Value, json};

use crate::{apply, cluster, configmap, options, version};

fn secret(ns: &str, value: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds", "namespace": ns},
           "type": "Opaque", "stringData": {"password": value}})
}

async fn diff(applier: &Applier, objs: Vec<Value>) -> kiln_kube::DiffReport {
    applier
        .diff(Manifests::new(objs).expect("valid"))
        .await
        .expect("diff runs")
}

#[tokio::test]
async fn diff_reports_creates_updates_deletes_and_masks_secrets() {
    let (cluster, client) = cluster().await;
    let shop = cluster.unique("shop");
    let applier = Applier::new(client.clone(), options(&shop));
    let mut v1 = crate::app(&shop, "one");
    v1.push(secret(&shop, "hunter2"));
    v1.push(configmap(&shop, "old", "o"));

    // nothing applied yet: everything is a create, even in a namespace the render makes
    let report = diff(&applier, v1.clone()).await;
    assert!(!report.failed(), "{report}");
    assert!(
        report.objects.iter().all(|o| o.change == Change::Create),
        "{report:?}"
    );
    assert!(!report.to_string().contains("hunter2"), "{report}");
    assert!(
        crate::object(&client, "", "namespaces", "", &shop)
            .await
            .is_none(),
        "a diff stores nothing"
    );

    let (first, _) = apply(&applier, v1.clone()).await;
    assert!(!first.failed(), "{first:?}");
    let report = diff(&applier, v1.clone()).await;
    assert!(!report.differs() && !report.failed(), "{report}");
    assert_eq!(report.to_string(), "");

    let mut v2 = crate::app(&shop, "two");
    v2.push(secret(&shop, "correct horse"));
    let before = version(&client, "", "configmaps", &shop, "settings").await;
    let mark = cluster.request_mark();
    let report = diff(&applier, v2).await;
    let sent = crate::requests(cluster, mark, &shop);
    assert!(
        !sent.iter().any(kiln_test_cluster::Request::is_write),
        "{sent:#?}"
    );
    assert!(
        sent.iter().any(|r| r.dry_run),
        "a server-side dry run: {sent:#?}"
    );
    assert_eq!(
        version(&client, "", "configmaps", &shop, "settings").await,
        before,
        "diff never writes"
    );
    assert!(report.differs() && !report.failed(), "{report}");
    let change = |name: &str| {
        report
            .objects
            .iter()
            .find(|o| o.id.name == name)
            .map(|o| o.change.clone())
            .expect("reported")
    };
    assert_eq!(change("settings"), Change::Update);
    assert_eq!(change("web"), Change::Unchanged);
    assert_eq!(change("creds"), Change::Update);
    assert_eq!(change("old"), Change::Delete);
    let text = report.to_string();
    assert!(text.contains("-  key: one\n+  key: two\n"), "{text}");
    assert!(
        text.contains("*** (before)") && text.contains("*** (after)"),
        "{text}"
    );
    assert!(
        !text.contains("hunter2") && !text.contains("correct horse"),
        "{text}"
    );
    assert!(
        !text.contains("managedFields") && !text.contains("resourceVersion"),
        "{text}"
    );
    assert!(
        text.contains(&format!("--- live/v1/ConfigMap/{shop}/settings")),
        "{text}"
    );
}

#[tokio::test]
async fn a_failing_dry_run_is_reported_per_object() {
    let (cluster, client) = cluster().await;
    let app = cluster.unique("bad");
    let applier = Applier::new(client, options(&app));
    let bad = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Bad_Name", "namespace": "default"}});
    let report = diff(&applier, vec![bad, configmap("default", &app, "1")]).await;
    assert!(report.failed() && report.differs());
    assert!(
        report
            .to_string()
            .contains("error: v1/ConfigMap/default/Bad_Name:"),
        "{report}"
    );
}

fn kubectl(kubeconfig: &std::path::Path, args: &[&str], stdin: Option<&str>) -> Output {
    use std::io::Write as _;
    let bin = std::env::var("KILN_KUBECTL").unwrap_or_else(|_| "kubectl".to_owned());
    let mut child = Command::new(&bin)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run {bin} (install kubectl v1.35 or set KILN_KUBECTL): {e}")
        });
    let mut input = child.stdin.take().expect("piped");
    input
        .write_all(stdin.unwrap_or("").as_bytes())
        .expect("stdin");
    drop(input);
    child.wait_with_output().expect("kubectl runs")
}

/// The manifests as kiln sends them (with the inventory annotation), as a list for kubectl.
fn as_sent(objs: &[Value], app: &str) -> String {
    let items: Vec<Value> = objs
        .iter()
        .cloned()
        .map(|mut obj| {
            obj["metadata"]["annotations"] =
                json!({"kiln.dev/inventory-id": format!("default/{app}")});
            obj
        })
        .collect();
    serde_json::to_string(&json!({"apiVersion": "v1", "kind": "List", "items": items}))
        .expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_sees_what_kiln_applied_and_agrees_with_its_diff() {
    let (cluster, client) = cluster().await;
    let shop = cluster.unique("shop");
    let kubeconfig = cluster.kubeconfig();
    let applier = Applier::new(client, options(&shop));
    apply(&applier, crate::app(&shop, "one")).await;

    let out = kubectl(
        &kubeconfig,
        &["get", "configmap", "settings", "-n", &shop, "-o", "json"],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(got["data"]["key"], "one");
    assert_eq!(
        got["metadata"]["annotations"]["kiln.dev/inventory-id"],
        format!("default/{shop}")
    );
    let out = kubectl(
        &kubeconfig,
        &["get", "deployments,services", "-n", &shop, "-o", "name"],
        None,
    );
    let names = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        names.contains("deployment.apps/web") && names.contains("service/web"),
        "{names}"
    );
    let out = kubectl(
        &kubeconfig,
        &[
            "get",
            "configmap",
            &format!("kiln-inventory-{shop}"),
            "-o",
            "jsonpath={.data.objects}",
        ],
        None,
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 4);

    for (value, want_differs) in [("one", false), ("two", true)] {
        let objs = crate::app(&shop, value);
        let ours = diff(&applier, objs.clone()).await;
        let theirs = kubectl(
            &kubeconfig,
            &[
                "diff",
                "--server-side",
                "--field-manager",
                "kiln",
                "-f",
                "-",
            ],
            Some(&as_sent(&objs, &shop)),
        );
        assert_eq!(ours.differs(), want_differs, "{ours}");
        assert_eq!(
            theirs.status.code(),
            Some(i32::from(want_differs)),
            "kubectl diff: {}{}",
            String::from_utf8_lossy(&theirs.stdout),
            String::from_utf8_lossy(&theirs.stderr)
        );
    }

    // a prune is visible to kubectl as well
    apply(&applier, crate::app(&shop, "one")[..3].to_vec()).await;
    let out = kubectl(&kubeconfig, &["get", "service", "web", "-n", &shop], None);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("NotFound"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
