//! `deploy/agent/`: the kustomization `kiln render` renders as kustomize does, with the
//! properties the install promises, and valid for a real API server (server-side dry run).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn deploy_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/agent")
}

fn docs(yaml: &[u8]) -> Vec<Value> {
    kiln_resource::yaml::parse_stream(&String::from_utf8_lossy(yaml), "output")
        .expect("a YAML stream")
}

/// The kubectl of `KILN_KUBECTL`, else the one on `PATH`.
fn kubectl() -> std::ffi::OsString {
    std::env::var_os("KILN_KUBECTL").unwrap_or_else(|| "kubectl".into())
}

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{kind}/{name} in the render"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_agent_renders_like_kustomize_and_passes_a_server_dry_run() {
    let ours = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .arg("render")
        .arg(deploy_dir())
        .env("KILN_CACHE_DIR", crate::harness::shared_cache())
        .output()
        .expect("kiln runs");
    assert!(
        ours.status.success(),
        "{}",
        String::from_utf8_lossy(&ours.stderr)
    );
    let theirs = Command::new(kubectl())
        .arg("kustomize")
        .arg(deploy_dir())
        .output()
        .expect("kubectl runs");
    assert!(
        theirs.status.success(),
        "{}",
        String::from_utf8_lossy(&theirs.stderr)
    );
    let rendered = docs(&ours.stdout);
    assert_eq!(
        rendered,
        docs(&theirs.stdout),
        "kiln render and kubectl kustomize differ"
    );

    let deployment = find(&rendered, "Deployment", "kiln-agent");
    assert_eq!(deployment["metadata"]["namespace"], "kiln-system");
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "kiln-agent");
    let container = &pod["containers"][0];
    assert_eq!(container["args"][0], "agent");
    assert_eq!(
        container["env"][0],
        serde_json::json!({"name": "KILN_AGENT_MEMBER", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}),
        "each pod shards under its own name"
    );
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    let env_from = container["envFrom"][0]["configMapRef"]["name"]
        .as_str()
        .expect("envFrom");
    assert!(
        env_from.starts_with("kiln-agent-"),
        "the generated ConfigMap's hashed name: {env_from}"
    );
    find(&rendered, "Service", "kiln-agent");
    find(&rendered, "Namespace", "kiln-system");
    find(&rendered, "ServiceAccount", "kiln-agent");
    let role = find(&rendered, "Role", "kiln-agent");
    assert!(
        !serde_json::to_string(role).expect("json").contains("\"*\""),
        "no wildcard in the agent's own Role"
    );
    for d in &rendered {
        if d["kind"] == "ClusterRole" {
            assert!(
                !serde_json::to_string(d).expect("json").contains("\"*\""),
                "no wildcard: {d}"
            );
        }
    }

    // The real API server accepts every object (a dry run stores nothing).
    let c = crate::harness::Cluster::new("agent-deploy").await;
    let mut opts = kiln_kube::ApplyOptions::new("deploy-agent", &c.ns);
    opts.dry_run = true;
    let applier = kiln_kube::Applier::new(c.client.clone(), opts);
    let report = applier
        .apply(
            kiln_kube::Manifests::new(rendered).expect("manifests"),
            &kiln_kube::no_progress,
        )
        .await
        .expect("the dry run runs");
    assert!(!report.failed(), "{:?}", report.objects);
}
