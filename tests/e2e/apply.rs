//! `kiln apply` and `kiln diff` against a real kube-apiserver (checked with
//! the real kubectl), and the directory and git backends.

use std::path::Path;
use std::process::Command;

use crate::util::{Dir, Run};

/// A namespace of its own on the test binary's shared control plane (a real
/// kube-apiserver and etcd): `DIR/kubeconfig` makes it the default namespace,
/// and [`Cluster::kiln`] keeps the inventories there too.
struct Cluster {
    ns: String,
    client: kube::Client,
    runtime: tokio::runtime::Runtime,
}

impl Cluster {
    fn start(dir: &Dir) -> Self {
        let shared = kiln_test_cluster::shared();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let client = runtime.block_on(shared.client());
        let ns = shared.unique("e2e");
        runtime.block_on(kiln_test_cluster::create_namespace(&client, &ns));
        let kubeconfig = std::fs::read_to_string(shared.kubeconfig()).expect("kubeconfig");
        let ours = kubeconfig.replace(
            "    namespace: default\n",
            &format!("    namespace: {ns}\n"),
        );
        assert_ne!(ours, kubeconfig, "the kubeconfig names a namespace");
        dir.write("kubeconfig", ours);
        Self {
            ns,
            client,
            runtime,
        }
    }

    fn configmap(&self, name: &str) -> Option<serde_json::Value> {
        self.runtime.block_on(kiln_test_cluster::get(
            &self.client,
            "v1",
            "configmaps",
            &self.ns,
            name,
        ))
    }

    /// Runs kiln with the inventories in this namespace.
    fn kiln(&self, dir: &Dir, args: &[&str]) -> Run {
        let mut args = args.to_vec();
        args.extend(["--inventory-namespace", &self.ns]);
        kiln(dir, &args)
    }
}

/// A config map in the kubeconfig's namespace.
fn cm(name: &str, value: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: {value}\n")
}

/// The kubectl of `KILN_KUBECTL`, else the one on `PATH`.
fn kubectl() -> std::ffi::OsString {
    std::env::var_os("KILN_KUBECTL").unwrap_or_else(|| "kubectl".into())
}

fn cm_in_default(name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: default\ndata:\n  k: {value}\n"
    )
}

fn kiln(dir: &Dir, args: &[&str]) -> Run {
    dir.kiln()
        .env("KILN_CACHE_DIR", dir.path().join("cache"))
        .env("KUBECONFIG", dir.path().join("kubeconfig"))
        .args(args)
        .run()
}

#[test]
fn apply_creates_then_writes_nothing_then_updates_and_prunes() {
    let dir = Dir::new();
    let cluster = Cluster::start(&dir);
    dir.write("app/a.yaml", cm("a", "one"))
        .write("app/b.yaml", cm("b", "one"));
    let first = cluster.kiln(&dir, &["apply", "app"]);
    first.success();
    assert!(first.stderr.contains("created"), "{}", first.stderr);
    assert_eq!(cluster.configmap("a").unwrap()["data"]["k"], "one");

    // The real kubectl sees what kiln applied, with kiln as field manager.
    let out = Command::new(kubectl())
        .arg("--kubeconfig")
        .arg(dir.path().join("kubeconfig"))
        .args([
            "get",
            "configmap",
            "b",
            "-n",
            &cluster.ns,
            "-o",
            "json",
            "--show-managed-fields",
        ])
        .output()
        .expect("kubectl runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let live: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(live["data"]["k"], "one");
    assert!(
        live["metadata"]["managedFields"]
            .as_array()
            .is_some_and(|m| m.iter().any(|f| f["manager"] == "kiln")),
        "{live}"
    );

    let before = cluster.configmap("b").unwrap()["metadata"]["resourceVersion"].clone();
    let mark = kiln_test_cluster::shared().request_mark();
    let again = cluster.kiln(&dir, &["apply", "app"]);
    let writes: Vec<_> = kiln_test_cluster::shared()
        .requests_since(mark)
        .into_iter()
        .filter(|r| r.in_namespace(&cluster.ns) && r.is_write())
        .collect();
    assert!(
        writes.is_empty(),
        "an unchanged render writes nothing: {writes:#?}"
    );
    again.success();
    for name in ["a", "b"] {
        let expected = format!("v1/ConfigMap/{}/{name} unchanged", cluster.ns);
        assert!(
            again.stderr.contains(&expected),
            "{expected}: {}",
            again.stderr
        );
    }
    assert_eq!(
        cluster.configmap("b").unwrap()["metadata"]["resourceVersion"],
        before,
        "an unchanged render stores nothing"
    );
    assert_eq!(cluster.kiln(&dir, &["diff", "app"]).code, Some(0));

    dir.write("app/a.yaml", cm("a", "two"));
    let diff = cluster.kiln(&dir, &["diff", "app"]);
    assert_eq!(diff.code, Some(1), "{}", diff.stderr);
    assert!(
        diff.stdout.contains("-  k: one") && diff.stdout.contains("+  k: two"),
        "{}",
        diff.stdout
    );
    std::fs::remove_file(dir.path().join("app/b.yaml")).expect("rm");
    let changed = cluster.kiln(&dir, &["apply", "app"]);
    changed.success();
    assert_eq!(cluster.configmap("a").unwrap()["data"]["k"], "two");
    assert!(
        cluster.configmap("b").is_none(),
        "b was pruned:\n{}",
        changed.stderr
    );

    // A render that fails applies and prunes nothing.
    dir.write(
        "app/a.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: [not, a, map\n",
    );
    let broken = cluster.kiln(&dir, &["apply", "app"]);
    assert_eq!(broken.code, Some(2));
    assert!(
        broken.stderr.contains("nothing applied or pruned"),
        "{}",
        broken.stderr
    );
    assert!(cluster.configmap("a").is_some());

    // An empty render is refused unless allowed.
    std::fs::remove_file(dir.path().join("app/a.yaml")).expect("rm");
    dir.write("app/README.md", "no manifests here\n");
    let empty = cluster.kiln(&dir, &["apply", "app"]);
    assert_eq!(empty.code, Some(2), "{}", empty.stderr);
    assert!(cluster.configmap("a").is_some(), "nothing pruned");
    cluster
        .kiln(&dir, &["apply", "app", "--allow-empty"])
        .success();
    assert!(cluster.configmap("a").is_none());
}

#[test]
fn two_apps_never_prune_each_other() {
    let dir = Dir::new();
    let cluster = Cluster::start(&dir);
    dir.write("one/a.yaml", cm("a", "one"))
        .write("two/b.yaml", cm("b", "one"));
    cluster.kiln(&dir, &["apply", "one", "two"]).success();
    std::fs::remove_file(dir.path().join("one/a.yaml")).expect("rm");
    dir.write("one/c.yaml", cm("c", "one"));
    cluster.kiln(&dir, &["apply", "one"]).success();
    assert!(cluster.configmap("a").is_none());
    assert!(cluster.configmap("b").is_some(), "app two's object stays");
    // An object another app owns is a conflict, not a silent takeover.
    dir.write("one/b.yaml", cm("b", "stolen"));
    let clash = cluster.kiln(&dir, &["apply", "one"]);
    assert_eq!(clash.code, Some(2), "{}", clash.stderr);
    assert_eq!(cluster.configmap("b").unwrap()["data"]["k"], "one");
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn the_dir_and_git_backends_write_only_what_changed() {
    let cm = cm_in_default;
    let dir = Dir::new();
    dir.write("app/a.yaml", cm("a", "one"));
    let out = dir.path().join("out");
    let to_dir = format!("dir:{}", out.display());
    kiln(&dir, &["apply", "app", "--to", &to_dir]).success();
    assert_eq!(
        std::fs::read_to_string(out.join("default/configmap-a.yaml")).expect("written"),
        cm("a", "one")
    );
    let again = kiln(&dir, &["apply", "app", "--to", &to_dir]);
    assert!(
        again.success().is_empty() && again.stderr.contains("unchanged"),
        "{}",
        again.stderr
    );

    let remote = dir.path().join("deploy.git");
    git(dir.path(), &["init", "-q", "--bare", "deploy.git"]);
    let to_git = format!("git:{}#env/prod:apps/web", remote.display());
    let first = kiln(&dir, &["apply", "app", "--to", &to_git]);
    assert!(first.stderr.contains("committed"), "{}", first.stderr);
    let files = git(&remote, &["ls-tree", "-r", "--name-only", "env/prod"]);
    assert_eq!(files, "apps/web/default/configmap-a.yaml\n");
    let message = git(&remote, &["log", "-1", "--format=%B", "env/prod"]);
    assert!(message.contains("Kiln-Render-Key: blake3:"), "{message}");
    assert!(
        message.contains("Kiln-Plugin: directory blake3:"),
        "{message}"
    );
    let unchanged = kiln(&dir, &["apply", "app", "--to", &to_git]);
    assert!(
        unchanged.stderr.contains("unchanged"),
        "{}",
        unchanged.stderr
    );
    assert_eq!(git(&remote, &["rev-list", "--count", "env/prod"]), "1\n");
    dir.write("app/a.yaml", cm("a", "two"));
    kiln(&dir, &["apply", "app", "--to", &to_git]).success();
    assert_eq!(git(&remote, &["rev-list", "--count", "env/prod"]), "2\n");
    assert!(
        git(
            &remote,
            &["show", "env/prod:apps/web/default/configmap-a.yaml"]
        )
        .contains("k: two")
    );
}

#[test]
fn decrypted_secrets_are_not_committed_to_git_unless_allowed() {
    let dir = Dir::new();
    let (_, plain) = crate::sops::encrypted_app(&dir);
    let remote = dir.path().join("deploy.git");
    git(dir.path(), &["init", "-q", "--bare", "deploy.git"]);
    let to_git = format!("git:{}#env/prod", remote.display());
    let refused = kiln(
        &dir,
        &["apply", "app", "--key-file", "key.txt", "--to", &to_git],
    );
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    assert!(refused.stderr.contains("plaintext"), "{}", refused.stderr);
    assert!(!refused.stderr.contains(plain));
    let branches = git(&remote, &["branch", "--list"]);
    assert!(branches.is_empty(), "nothing pushed: {branches}");
    kiln(
        &dir,
        &[
            "apply",
            "app",
            "--key-file",
            "key.txt",
            "--to",
            &to_git,
            "--allow-plaintext-secrets",
        ],
    )
    .success();
    let files = git(&remote, &["ls-tree", "-r", "--name-only", "env/prod"]);
    assert!(files.contains("secret-db.yaml"), "{files}");
}

#[test]
fn diff_decrypts_with_the_keys_given_and_masks_secret_values() {
    let dir = Dir::new();
    let cluster = Cluster::start(&dir);
    let (_, plain) = crate::sops::encrypted_app(&dir);
    cluster
        .kiln(&dir, &["apply", "app", "--key-file", "key.txt"])
        .success();
    let same = cluster.kiln(&dir, &["diff", "app", "--key-file", "key.txt"]);
    assert_eq!(same.code, Some(0), "{}{}", same.stdout, same.stderr);
    let without = cluster.kiln(&dir, &["diff", "app"]);
    assert_eq!(without.code, Some(2), "{}", without.stderr);
    assert!(
        without.stderr.contains("age1"),
        "names the recipient: {}",
        without.stderr
    );
    dir.write(
        "app/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\ndata:\n  a: c\n",
    );
    let changed = cluster.kiln(&dir, &["diff", "app", "--key-file", "key.txt"]);
    assert_eq!(changed.code, Some(1), "{}", changed.stderr);
    assert!(!changed.stdout.contains(plain) && !changed.stderr.contains(plain));
}

#[test]
fn an_app_rendered_without_its_keys_never_reaches_the_cluster() {
    let dir = Dir::new();
    let cluster = Cluster::start(&dir);
    crate::sops::encrypted_app(&dir);
    // `render` keeps the encrypted Secret, as `kustomize build` does ...
    let rendered = kiln(&dir, &["render", "app"]);
    assert_eq!(rendered.code, Some(0), "{}", rendered.stderr);
    assert!(
        rendered.stdout.contains("ENC[AES256_GCM"),
        "{}",
        rendered.stdout
    );
    // ... but nothing of the app is applied while a resource is still encrypted.
    let applied = cluster.kiln(&dir, &["apply", "app"]);
    assert_eq!(applied.code, Some(2), "{}", applied.stderr);
    assert!(
        applied.stderr.contains("Secret db is still SOPS-encrypted")
            && applied.stderr.contains("age1")
            && applied.stderr.contains("--key-file"),
        "{}",
        applied.stderr
    );
    assert!(
        cluster.configmap("plain").is_none(),
        "the app's plain objects wait too"
    );
    cluster
        .kiln(&dir, &["apply", "app", "--key-file", "key.txt"])
        .success();
    assert!(cluster.configmap("plain").is_some());
}
