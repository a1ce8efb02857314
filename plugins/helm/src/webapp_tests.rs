//! Tests of the `webapp` example chart in `examples/webapp`.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::*;

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn webapp(values: &[&str], set: &[&str]) -> Result<Vec<Value>, kiln_sdk::Error> {
    let o = Options {
        release_name: Some("shop".into()),
        namespace: Some("web".into()),
        kube_version: Some("1.30.0".into()),
        values: values.iter().map(|v| format!("webapp/{v}")).collect(),
        set: set.iter().map(|s| (*s).to_owned()).collect(),
        ..Options::default()
    };
    render_resources(
        &testdata(),
        Path::new(""),
        &Options {
            chart: Some("webapp".into()),
            ..o
        },
    )
}

fn kinds(res: &[Value]) -> Vec<String> {
    res.iter()
        .map(|r| {
            format!(
                "{}/{}",
                r["kind"].as_str().unwrap(),
                r["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn webapp_example_renders_per_environment() {
    let base = webapp(&[], &[]).unwrap();
    assert_eq!(
        kinds(&base),
        [
            "ServiceAccount/shop-webapp",
            "ConfigMap/shop-webapp",
            "Service/shop-webapp",
            "Deployment/shop-webapp",
            "Pod/shop-webapp-test-connection"
        ]
    );
    let dev = webapp(&["values-dev.yaml"], &[]).unwrap();
    assert!(kinds(&dev).contains(&"StatefulSet/shop-cache".to_owned()));
    let cm = dev.iter().find(|r| r["kind"] == "ConfigMap").unwrap();
    assert_eq!(cm["data"]["CACHE_URL"], "redis://shop-cache:6379");
    assert_eq!(
        cm["data"]["app.properties"],
        "server.port=8080\nserver.shutdown=graceful\n"
    );
    let prod = webapp(&["values-prod.yaml"], &[]).unwrap();
    let k = kinds(&prod);
    for want in [
        "HorizontalPodAutoscaler/shop-webapp",
        "PodDisruptionBudget/shop-webapp",
        "CronJob/shop-webapp-cleanup",
    ] {
        assert!(k.contains(&want.to_owned()), "{want} missing from {k:?}");
    }
    let deploy = prod.iter().find(|r| r["kind"] == "Deployment").unwrap();
    assert!(
        deploy["spec"].get("replicas").is_none(),
        "autoscaled deployments leave replicas to the HPA"
    );
    let sts = prod.iter().find(|r| r["kind"] == "StatefulSet").unwrap();
    assert_eq!(
        sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"],
        "20Gi"
    );
}

#[test]
fn webapp_schema_and_kube_version_are_enforced() {
    let e = webapp(&[], &["service.port=0"]).unwrap_err();
    assert!(
        e.message
            .contains("webapp:\n- at '/service/port': minimum: got 0, want 1"),
        "{}",
        e.message
    );
    let o = Options {
        chart: Some("webapp".into()),
        ..Options::default()
    };
    let e = render_text(&testdata(), Path::new(""), &o).unwrap_err();
    assert!(
        e.to_string()
            .contains("chart requires kubeVersion: >=1.23.0-0"),
        "{e}"
    );
}
