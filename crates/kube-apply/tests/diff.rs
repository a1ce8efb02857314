//! `diff`: dry-run applies compared with the live objects, and `kubectl` agreeing.

mod common;

use std::process::{Command, Output};

use common::{apply, configmap, options, server};
use kiln_kube::{Applier, Change, Manifests};
use kiln_test_apiserver::Options;
use serde_json::{Value, json};

fn secret(value: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds", "namespace": "shop"},
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
    let (server, client) = server(Options::default()).await;
    let applier = Applier::new(client, options("shop"));
    let mut v1 = common::app("shop", "one");
    v1.push(secret("hunter2"));
    v1.push(configmap("shop", "old", "o"));

    // nothing applied yet: everything is a create, even in a namespace the render makes
    let report = diff(&applier, v1.clone()).await;
    assert!(!report.failed(), "{report}");
    assert!(
        report.objects.iter().all(|o| o.change == Change::Create),
        "{report:?}"
    );
    assert!(!report.to_string().contains("hunter2"), "{report}");
    assert_eq!(server.requests().writes(), 0);

    apply(&applier, v1.clone()).await;
    let report = diff(&applier, v1.clone()).await;
    assert!(!report.differs() && !report.failed(), "{report}");
    assert_eq!(report.to_string(), "");

    let mut v2 = common::app("shop", "two");
    v2.push(secret("correct horse"));
    server.requests().clear();
    let report = diff(&applier, v2).await;
    assert_eq!(server.requests().writes(), 0, "diff never writes");
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
        text.contains("--- live/v1/ConfigMap/shop/settings"),
        "{text}"
    );
}

#[tokio::test]
async fn a_failing_dry_run_is_reported_per_object() {
    let (_server, client) = server(Options::default()).await;
    let applier = Applier::new(client, options("shop"));
    let bad = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Bad_Name", "namespace": "default"}});
    let report = diff(&applier, vec![bad, configmap("default", "good", "1")]).await;
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
            panic!("cannot run {bin} (install kubectl v1.32 or set KILN_KUBECTL): {e}")
        });
    let mut input = child.stdin.take().expect("piped");
    input
        .write_all(stdin.unwrap_or("").as_bytes())
        .expect("stdin");
    drop(input);
    child.wait_with_output().expect("kubectl runs")
}

/// The manifests as kiln sends them (with the inventory annotation), as a list for kubectl.
fn as_sent(objs: &[Value]) -> String {
    let items: Vec<Value> = objs
        .iter()
        .cloned()
        .map(|mut obj| {
            obj["metadata"]["annotations"] = json!({"kiln.dev/inventory-id": "default/shop"});
            obj
        })
        .collect();
    serde_json::to_string(&json!({"apiVersion": "v1", "kind": "List", "items": items}))
        .expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_sees_what_kiln_applied_and_agrees_with_its_diff() {
    let (server, client) = server(Options::default()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).expect("kubeconfig");
    let applier = Applier::new(client, options("shop"));
    apply(&applier, common::app("shop", "one")).await;

    let out = kubectl(
        &kubeconfig,
        &["get", "configmap", "settings", "-n", "shop", "-o", "json"],
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
        "default/shop"
    );
    let out = kubectl(
        &kubeconfig,
        &["get", "deployments,services", "-n", "shop", "-o", "name"],
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
            "kiln-inventory-shop",
            "-o",
            "jsonpath={.data.objects}",
        ],
        None,
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 4);

    for (value, want_differs) in [("one", false), ("two", true)] {
        let objs = common::app("shop", value);
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
            Some(&as_sent(&objs)),
        );
        assert_eq!(ours.differs(), want_differs, "{ours}");
        let code = theirs.status.code();
        assert_eq!(
            code,
            Some(i32::from(want_differs)),
            "kubectl diff: {}{}",
            String::from_utf8_lossy(&theirs.stdout),
            String::from_utf8_lossy(&theirs.stderr)
        );
    }

    // a prune is visible to kubectl as well
    apply(&applier, common::app("shop", "one")[..3].to_vec()).await;
    let out = kubectl(&kubeconfig, &["get", "service", "web", "-n", "shop"], None);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("NotFound"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
