//! The emulator checked with the real `kubectl` (v1.32; `KILN_KUBECTL` overrides the binary).

use std::path::PathBuf;
use std::process::{Command, Output};

use kiln_test_apiserver::{Options, Server};
use serde_json::Value;

struct Env {
    server: Server,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
    // Dropped last: the server runs on it.
    _rt: tokio::runtime::Runtime,
}

impl Env {
    fn new() -> Env {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let server = rt
            .block_on(kiln_test_apiserver::start(Options::default()))
            .expect("server starts");
        let dir = tempfile::tempdir().expect("temp dir");
        let kubeconfig = dir.path().join("kubeconfig");
        server
            .write_kubeconfig(&kubeconfig)
            .expect("kubeconfig written");
        Env {
            server,
            dir,
            kubeconfig,
            _rt: rt,
        }
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("manifest written");
        path
    }

    fn kubectl(&self, args: &[&str]) -> Output {
        let bin = std::env::var("KILN_KUBECTL").unwrap_or_else(|_| "kubectl".to_owned());
        Command::new(&bin)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .env("KUBECTL_APPLYSET", "true")
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"))
            .args(args)
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run {bin} (install kubectl v1.32 or set KILN_KUBECTL): {e}")
            })
    }

    /// Runs kubectl and expects success; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        serde_json::from_str(&self.ok(&all)).expect("kubectl printed JSON")
    }
}

const APP: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: demo
  labels:
    app: demo
    tier: front
data:
  key: one
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        ports:
        - containerPort: 80
";

#[test]
fn server_side_apply_then_get_json_and_reapply_is_a_no_op() {
    let env = Env::new();
    let file = env.file("app.yaml", APP);
    let out = env.ok(&[
        "apply",
        "--server-side",
        "-f",
        file.to_str().expect("utf-8 path"),
    ]);
    assert!(out.contains("configmap/demo serverside-applied"), "{out}");
    assert!(
        out.contains("deployment.apps/web serverside-applied"),
        "{out}"
    );

    let cm = env.json(&["get", "configmap", "demo"]);
    assert_eq!(cm["data"]["key"], "one");
    assert_eq!(cm["metadata"]["namespace"], "default");
    let deploy = env.json(&["get", "deployment", "web", "--show-managed-fields"]);
    assert_eq!(
        deploy["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.25"
    );
    assert_eq!(deploy["metadata"]["generation"], 1);
    let managed = &deploy["metadata"]["managedFields"][0];
    assert_eq!(managed["manager"], "kubectl");
    assert_eq!(managed["operation"], "Apply");
    assert!(managed["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"web\"}"]["f:image"].is_object());

    let writes = env.server.store_writes();
    env.ok(&[
        "apply",
        "--server-side",
        "-f",
        file.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(
        env.server.store_writes(),
        writes,
        "re-applying the same manifests changes nothing"
    );
    let again = env.json(&["get", "deployment", "web"]);
    assert_eq!(
        again["metadata"]["resourceVersion"],
        deploy["metadata"]["resourceVersion"]
    );
}

#[test]
fn two_field_managers_conflict_until_forced() {
    let env = Env::new();
    let mine = env.file(
        "a.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\ndata:\n  key: a\n",
    );
    let theirs = env.file(
        "b.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\ndata:\n  key: b\n",
    );
    env.ok(&[
        "apply",
        "--server-side",
        "--field-manager",
        "alpha",
        "-f",
        mine.to_str().expect("utf-8"),
    ]);

    let out = env.kubectl(&[
        "apply",
        "--server-side",
        "--field-manager",
        "beta",
        "-f",
        theirs.to_str().expect("utf-8"),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Apply failed with 1 conflict: conflict with \"alpha\": .data.key"),
        "{stderr}"
    );
    assert_eq!(env.json(&["get", "cm", "shared"])["data"]["key"], "a");

    env.ok(&[
        "apply",
        "--server-side",
        "--field-manager",
        "beta",
        "--force-conflicts",
        "-f",
        theirs.to_str().expect("utf-8"),
    ]);
    let cm = env.json(&["get", "cm", "shared", "--show-managed-fields"]);
    assert_eq!(cm["data"]["key"], "b");
    let managers: Vec<&str> = cm["metadata"]["managedFields"]
        .as_array()
        .expect("managed fields")
        .iter()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert_eq!(managers, ["beta"], "alpha lost its only field");
}

#[test]
fn diff_shows_changes_without_writing() {
    let env = Env::new();
    let file = env.file("app.yaml", APP);
    let path = file.to_str().expect("utf-8 path");
    env.ok(&["apply", "--server-side", "-f", path]);
    let same = env.kubectl(&["diff", "--server-side", "-f", path]);
    assert_eq!(
        same.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&same.stderr)
    );

    env.file("app.yaml", &APP.replace("nginx:1.25", "nginx:1.26"));
    let before = env.server.store_writes();
    for extra in [&["--server-side"][..], &[][..]] {
        let mut args = vec!["diff", "-f", path];
        args.extend_from_slice(extra);
        let out = env.kubectl(&args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("-      - image: nginx:1.25"), "{stdout}");
        assert!(stdout.contains("+      - image: nginx:1.26"), "{stdout}");
        assert!(
            !stdout.contains("v1.ConfigMap"),
            "unchanged objects are not in the diff: {stdout}"
        );
    }
    assert_eq!(env.server.store_writes(), before, "diff is a dry run");
}

#[test]
fn get_by_label_selector() {
    let env = Env::new();
    let file = env.file("app.yaml", APP);
    env.ok(&[
        "apply",
        "--server-side",
        "-f",
        file.to_str().expect("utf-8 path"),
    ]);
    let other = env.file(
        "other.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\ndata:\n  x: y\n",
    );
    env.ok(&["create", "-f", other.to_str().expect("utf-8 path")]);
    let names = |sel: &str| env.ok(&["get", "configmaps,deployments", "-l", sel, "-o", "name"]);
    assert_eq!(names("app=demo"), "configmap/demo\n");
    assert_eq!(
        names("app in (demo,web)"),
        "configmap/demo\ndeployment.apps/web\n"
    );
    assert_eq!(
        names("app,tier!=back"),
        "configmap/demo\ndeployment.apps/web\n"
    );
    assert_eq!(
        env.ok(&["get", "configmaps", "-l", "!app", "-o", "name"]),
        "configmap/other\n"
    );
    let table = env.ok(&["get", "configmaps"]);
    assert!(
        table.starts_with("NAME") && table.contains("demo") && table.contains("other"),
        "{table}"
    );
}

#[test]
fn delete_then_not_found() {
    let env = Env::new();
    let file = env.file("app.yaml", APP);
    let path = file.to_str().expect("utf-8 path");
    env.ok(&["apply", "--server-side", "-f", path]);
    let out = env.ok(&["delete", "-f", path]);
    assert!(out.contains("configmap \"demo\" deleted"), "{out}");
    let gone = env.kubectl(&["get", "configmap", "demo"]);
    assert!(!gone.status.success());
    let stderr = String::from_utf8_lossy(&gone.stderr);
    assert!(
        stderr.contains("Error from server (NotFound): configmaps \"demo\" not found"),
        "{stderr}"
    );
}

#[test]
fn fields_dropped_from_the_manifest_are_removed() {
    let env = Env::new();
    let file = env.file("app.yaml", APP);
    let path = file.to_str().expect("utf-8 path");
    env.ok(&["apply", "--server-side", "-f", path]);
    env.file("app.yaml", &APP.replace("    tier: front\n", ""));
    env.ok(&["apply", "--server-side", "-f", path]);
    let cm = env.json(&["get", "cm", "demo"]);
    assert_eq!(cm["metadata"]["labels"], serde_json::json!({"app": "demo"}));
}

const CRD: &str = "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
";

#[test]
fn crd_then_its_custom_resource() {
    let env = Env::new();
    let crd = env.file("crd.yaml", CRD);
    let widget = env.file(
        "w.yaml",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w1\nspec:\n  size: 3\n",
    );
    env.ok(&["apply", "--server-side", "-f", crd.to_str().expect("utf-8")]);
    env.ok(&[
        "wait",
        "--for",
        "condition=Established",
        "crd/widgets.example.com",
        "--timeout",
        "10s",
    ]);
    env.ok(&[
        "apply",
        "--server-side",
        "-f",
        widget.to_str().expect("utf-8"),
    ]);
    let w = env.json(&["get", "wd", "w1"]);
    assert_eq!(w["kind"], "Widget");
    assert_eq!(w["spec"]["size"], 3);
    let resources = env.ok(&["api-resources", "--api-group", "example.com", "-o", "name"]);
    assert_eq!(resources, "widgets.example.com\n");

    env.ok(&["delete", "crd", "widgets.example.com"]);
    // kubectl wait lists (v1.32), or watches with sendInitialEvents (v1.35)
    let requests = env.server.requests();
    let listed = requests.count("list") + requests.count("watch");
    assert!(listed > 0, "kubectl wait lists or watches");
    let gone = env.kubectl(&["get", "widgets.example.com"]);
    assert!(!gone.status.success(), "custom resources go with their CRD");
}

#[test]
fn server_dry_run_and_wait_for_a_condition() {
    let env = Env::new();
    let file = env.file("app.yaml", APP);
    let path = file.to_str().expect("utf-8 path");
    let out = env.ok(&["apply", "--server-side", "--dry-run=server", "-f", path]);
    assert!(out.contains("(server dry run)"), "{out}");
    assert_eq!(
        env.server.store_writes(),
        0,
        "a server dry run writes nothing"
    );
    env.ok(&["apply", "--server-side", "-f", path]);

    let server = &env.server;
    std::thread::scope(|scope| {
        scope.spawn(|| {
            std::thread::sleep(std::time::Duration::from_millis(300));
            let status =
                serde_json::json!({"conditions": [{"type": "Available", "status": "True"}]});
            assert!(server.set_status("apps", "deployments", "default", "web", status));
        });
        let out = env.ok(&[
            "wait",
            "--for",
            "condition=Available",
            "deployment/web",
            "--timeout",
            "10s",
        ]);
        assert!(out.contains("condition met"), "{out}");
    });
    assert!(
        env.server.requests().count("watch") > 0,
        "kubectl waited through a watch"
    );
}

#[test]
fn scale_a_deployment() {
    let env = Env::new();
    let file = env.file("app.yaml", APP);
    env.ok(&[
        "apply",
        "--server-side",
        "-f",
        file.to_str().expect("utf-8 path"),
    ]);
    let out = env.ok(&["scale", "deployment/web", "--replicas=4"]);
    assert!(out.contains("deployment.apps/web scaled"), "{out}");
    assert_eq!(
        env.json(&["get", "deployment", "web"])["spec"]["replicas"],
        4
    );
}

#[test]
fn applyset_prune_removes_what_left_the_manifests() {
    let env = Env::new();
    let file = env.file("app.yaml", APP);
    let path = file.to_str().expect("utf-8 path");
    let apply = [
        "-n",
        "default",
        "apply",
        "--server-side",
        "--prune",
        "--applyset=configmaps/inventory",
        "-f",
        path,
    ];
    env.ok(&apply);
    let only_cm: String = APP.split("---").next().expect("first document").to_owned();
    env.file("app.yaml", &only_cm);
    let out = env.ok(&apply);
    assert!(out.contains("deployment.apps/web pruned"), "{out}");
    let gone = env.kubectl(&["get", "deployment", "web"]);
    assert!(!gone.status.success(), "the deployment was deleted");
    let inventory = env.json(&["get", "configmap", "inventory"]);
    assert_eq!(
        inventory["metadata"]["annotations"]["applyset.kubernetes.io/contains-group-kinds"],
        "ConfigMap"
    );
}
