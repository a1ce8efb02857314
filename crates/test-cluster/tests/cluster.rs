//! The control plane starts, answers with the pinned version and RBAC on, kubectl can use its
//! kubeconfig, and one of its own stops when dropped.

use std::process::Command;

fn kubectl(kubeconfig: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let bin = std::env::var("KILN_KUBECTL").unwrap_or_else(|_| "kubectl".to_owned());
    let out = Command::new(&bin)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {bin} (set KILN_KUBECTL): {e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The version pinned in tests/cluster/go.mod.
fn pinned() -> String {
    let gomod = fs_err::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/cluster/go.mod"
    ))
    .expect("go.mod");
    gomod
        .lines()
        .find_map(|l| l.trim().strip_prefix("k8s.io/kubernetes "))
        .expect("k8s.io/kubernetes is required")
        .trim()
        .to_owned()
}

#[tokio::test]
async fn the_shared_control_plane_serves_the_pinned_version_with_rbac() {
    let cluster = kiln_test_cluster::shared();
    assert!(
        cluster.url().starts_with("https://127.0.0.1:"),
        "{}",
        cluster.url()
    );
    let client = cluster.client().await;
    let version = client.apiserver_version().await.expect("version");
    assert_eq!(version.git_version, pinned());

    let (ok, out, err) = kubectl(
        &cluster.kubeconfig(),
        &[
            "auth",
            "whoami",
            "-o",
            "jsonpath={.status.userInfo.username} {.status.userInfo.groups}",
        ],
    );
    assert!(ok, "{err}");
    assert!(
        out.starts_with("kiln-admin ") && out.contains("system:masters"),
        "{out}"
    );
    // RBAC decides: a user without bindings may do nothing
    let (ok, out, _) = kubectl(
        &cluster.kubeconfig(),
        &["auth", "can-i", "list", "configmaps", "--as", "nobody"],
    );
    assert!(!ok && out.trim() == "no", "{out}");
    let (ok, out, _) = kubectl(
        &cluster.kubeconfig(),
        &[
            "auth",
            "can-i",
            "list",
            "configmaps",
            "--as",
            "nobody",
            "--as-group",
            "system:masters",
        ],
    );
    assert!(ok && out.trim() == "yes", "{out}");

    // status written as a controller would; a namespace finalized as its controller would
    let ns = cluster.unique("harness");
    kiln_test_cluster::create_namespace(&client, &ns).await;
    let live = kiln_test_cluster::get(&client, "v1", "namespaces", "", &ns)
        .await
        .expect("created");
    assert_eq!(live["status"]["phase"], "Active");
    let (ok, _, err) = kubectl(
        &cluster.kubeconfig(),
        &["delete", "namespace", &ns, "--wait=false"],
    );
    assert!(ok, "{err}");
    let live = kiln_test_cluster::get(&client, "v1", "namespaces", "", &ns)
        .await
        .expect("terminating");
    assert_eq!(
        live["status"]["phase"], "Terminating",
        "no namespace controller: {live}"
    );
    assert!(kiln_test_cluster::finalize_namespace(&client, &ns).await);
    assert!(
        kiln_test_cluster::get(&client, "v1", "namespaces", "", &ns)
            .await
            .is_none()
    );
}

#[test]
fn a_control_plane_of_its_own_stops_when_dropped() {
    let cluster = kiln_test_cluster::Cluster::start().expect("starts");
    let pid: i32 = fs_err::read_to_string(cluster.dir().join("kube-apiserver.pid"))
        .expect("pid file")
        .trim()
        .parse()
        .expect("a pid");
    // running: /proc/PID exists and is no zombie
    let running = || {
        fs_err::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            stat.rsplit_once(") ")
                .is_some_and(|(_, rest)| !rest.starts_with('Z'))
        })
    };
    assert!(running());
    let (ok, out, err) = kubectl(
        &cluster.kubeconfig(),
        &["get", "namespace", "default", "-o", "name"],
    );
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "namespace/default");
    let dir = cluster.dir().to_owned();
    drop(cluster);
    assert!(!running(), "kube-apiserver {pid} still runs");
    assert!(!dir.exists(), "{} is left", dir.display());
}
