//! The binary: the stock `argocd-cmp-server` path (deploy/argocd/stock's
//! plugin.yaml run as that server runs it), and `kiln cmp-server` itself
//! (`--check`, SIGTERM).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kiln::cmp::client;
use kiln::cmp::unpack::{self, Caps};

use crate::harness::{Server, application, compiled_cache, generate, parsed, repo, sorted};

fn kiln() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kiln"));
    cmd.env("KILN_CACHE_DIR", compiled_cache())
        .env_remove("KILN_LOG")
        .env_remove("KUBE_VERSION")
        .env_remove("KUBE_API_VERSIONS")
        .env("NO_COLOR", "1");
    cmd
}

/// Runs the `generate` command of plugin.yaml as argocd-cmp-server does:
/// in `<work>/_cmp_server/<request>/<app path>` with its own environment
/// plus the request's entries, and `kiln` on the PATH.
fn run_stock(root: &Path, app: &client::Application) -> std::process::Output {
    let plugin = std::fs::read_to_string(repo().join("deploy/argocd/stock/plugin.yaml")).unwrap();
    let plugin = kiln_resource::yaml::parse_one(&plugin, "plugin.yaml").unwrap();
    assert_eq!(plugin["kind"], "ConfigManagementPlugin");
    assert_eq!(plugin["metadata"]["name"], "kiln");
    assert!(
        plugin["spec"].get("discover").is_none(),
        "no discovery: one stream per render"
    );
    let argv: Vec<String> = plugin["spec"]["generate"]["command"]
        .as_array()
        .unwrap()
        .iter()
        .chain(plugin["spec"]["generate"]["args"].as_array().unwrap())
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    let work = tempfile::tempdir().unwrap();
    let request = work.path().join("_cmp_server").join("a1b2c");
    std::fs::create_dir_all(&request).unwrap();
    let tarball = client::tarball(root, &[".git/*".to_owned()]).unwrap();
    unpack::unpack(
        &tarball.bytes[..],
        tarball.bytes.len() as u64,
        &request,
        Caps::default(),
    )
    .unwrap();
    let bin_dir = PathBuf::from(env!("CARGO_BIN_EXE_kiln"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .current_dir(request.join(&app.path))
        .env("PATH", path)
        .env("KILN_CACHE_DIR", compiled_cache())
        .env_remove("KILN_LOG")
        .env_remove("KUBE_VERSION")
        .env_remove("KUBE_API_VERSIONS");
    for (k, v) in app.generate_env() {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn stock_plugin_yaml_renders_what_the_native_server_renders() {
    let server = Server::default_server();
    let mut client = server.client();
    for (root, path, namespace) in [
        (repo().join("examples/shop"), "overlays/prod", ""),
        (repo().join("examples"), "webapp", "shop-prod"),
    ] {
        let mut app = application(path);
        app.namespace = namespace.into();
        let out = run_stock(&root, &app);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{path}: {stderr}");
        let text = String::from_utf8(out.stdout).unwrap();
        let docs: Vec<serde_json::Value> = kiln_resource::yaml::parse_stream(&text, "stdout")
            .unwrap()
            .into_iter()
            .filter(|d| !d.is_null())
            .collect();
        let native = server.block_on(generate(&mut client, &root, &app)).unwrap();
        assert!(!docs.is_empty());
        assert_eq!(sorted(docs), sorted(parsed(&native)), "{path}");
    }
}

/// A child process killed if the test fails before it stops it.
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// A `kiln cmp-server` process on a socket in `dir`.
fn spawn_server(dir: &Path, extra: &[String]) -> (Reaped, PathBuf) {
    let socket = dir.join("plugins").join("kiln.sock");
    let child = kiln()
        .args(["cmp-server", "--socket"])
        .arg(&socket)
        .args(["--work-dir"])
        .arg(dir.join("work"))
        .args(extra)
        .env("KILN_CACHE_DIR", compiled_cache())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let child = Reaped(child);
    let until = Instant::now() + Duration::from_secs(30);
    while !socket.exists() {
        assert!(Instant::now() < until, "the server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, socket)
}

#[test]
fn check_drives_a_running_server_and_sigterm_stops_it() {
    let dir = tempfile::tempdir().unwrap();
    let metrics = free_port();
    let (mut server, socket) = spawn_server(
        dir.path(),
        &["--metrics-addr".to_owned(), metrics.to_string()],
    );
    let check = kiln()
        .args(["cmp-server", "--check"])
        .arg(&socket)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(check.status.success(), "{stderr}");
    assert!(
        stderr.contains("CheckPluginConfiguration: discovery off"),
        "{stderr}"
    );
    assert!(stderr.contains("GenerateManifest: 1 manifests"), "{stderr}");
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert!(stdout.contains("\"kiln-check\""), "{stdout}");
    // --check on an app of the user's.
    let check = kiln()
        .args(["cmp-server", "--check"])
        .arg(&socket)
        .arg("--check-app")
        .arg(repo().join("examples/webapp"))
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    // Both checks are counted on the metrics port.
    let text = get_metrics(metrics);
    for line in [
        "kiln_cmp_requests_total{rpc=\"CheckPluginConfiguration\",code=\"Ok\"} 2",
        "kiln_cmp_requests_total{rpc=\"GenerateManifest\",code=\"Ok\"} 2",
        "kiln_cmp_in_flight{rpc=\"GenerateManifest\"} 0",
        "kiln_cmp_request_duration_seconds_count{rpc=\"GenerateManifest\"} 2",
    ] {
        assert!(text.lines().any(|l| l == line), "no `{line}` in:\n{text}");
    }
    assert!(
        text.lines()
            .any(|l| l.starts_with("kiln_cmp_stream_bytes_total ") && !l.ends_with(" 0")),
        "{text}"
    );
    #[cfg(unix)]
    {
        let child = &mut server.0;
        let pid = child.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(killed.success());
        let until = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            assert!(Instant::now() < until, "the server did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(status.success(), "{status:?}");
        assert!(!socket.exists(), "the socket is removed");
    }
    #[cfg(not(unix))]
    {
        server.0.kill().unwrap();
    }
    // --check against nothing fails clearly.
    let check = kiln()
        .args(["cmp-server", "--check"])
        .arg(&socket)
        .output()
        .unwrap();
    assert!(!check.status.success());
    assert!(String::from_utf8_lossy(&check.stderr).contains("cannot connect"));
}

/// A local address nothing listens on (the port is free when returned).
fn free_port() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// `GET /metrics` on `addr`, as Prometheus scrapes it: the body.
fn get_metrics(addr: std::net::SocketAddr) -> String {
    use std::io::{Read as _, Write as _};
    let until = Instant::now() + Duration::from_secs(20);
    let mut stream = loop {
        match std::net::TcpStream::connect(addr) {
            Ok(s) => break s,
            Err(e) => {
                assert!(Instant::now() < until, "nothing serves {addr}: {e}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    };
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("openmetrics-text"), "{head}");
    body.to_owned()
}

#[test]
fn key_files_need_the_opt_in() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("team-a.txt");
    std::fs::write(&key, "AGE-SECRET-KEY-1XXXX\n").unwrap();
    let out = kiln()
        .args(["cmp-server", "--socket"])
        .arg(dir.path().join("s.sock"))
        .arg("--key-file")
        .arg(&key)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--allow-sops"), "{stderr}");
}

#[test]
fn a_key_file_mounted_in_the_sidecar_decrypts_with_the_opt_in() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("repo");
    let (identity, plain) = crate::protocol::sops_app(&tree);
    // The key as a Secret mounted in the sidecar gives it: one file per key.
    let keys = dir.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    std::fs::write(keys.join("team-a.txt"), &identity).unwrap();
    let (_server, socket) = spawn_server(
        dir.path(),
        &[
            "--allow-sops".to_owned(),
            "--key-file".to_owned(),
            keys.join("team-a.txt").to_string_lossy().into_owned(),
        ],
    );
    let check = kiln()
        .args(["cmp-server", "--check"])
        .arg(&socket)
        .arg("--check-app")
        .arg(tree.join("app"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(check.status.success(), "{stderr}");
    let stdout = String::from_utf8(check.stdout).unwrap();
    let secret: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(secret["stringData"]["password"], plain);
    assert!(secret.get("sops").is_none());
    // Nothing decrypted at rest: not in the request directories, not in the cache.
    let key_line = identity
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .unwrap();
    let mut hits = crate::protocol::scan(&dir.path().join("work"), &[plain]);
    hits.extend(crate::protocol::scan(&compiled_cache(), &[plain, key_line]));
    assert!(hits.is_empty(), "found at rest: {hits:?}");
}

/// The kubectl of `KILN_KUBECTL` (tests/run.sh sets it), else the one on `PATH`.
fn kubectl() -> std::ffi::OsString {
    std::env::var_os("KILN_KUBECTL").unwrap_or_else(|| "kubectl".into())
}

/// `kubectl kustomize` of a minimal repo-server Deployment with `component`.
fn with_component(component: &str) -> Vec<serde_json::Value> {
    let dir = tempfile::tempdir().unwrap();
    // kustomize takes components by relative path only.
    crate::harness::copy_tree(&repo().join(component), &dir.path().join("component"));
    std::fs::write(
        dir.path().join("deploy.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: argocd-repo-server\nspec:\n  template:\n    spec:\n      containers:\n      - name: argocd-repo-server\n        image: quay.io/argoproj/argocd:latest\n      volumes:\n      - name: var-files\n        emptyDir: {}\n      - name: plugins\n        emptyDir: {}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        "resources:\n- deploy.yaml\ncomponents:\n- component\n",
    )
    .unwrap();
    let out = Command::new(kubectl())
        .arg("kustomize")
        .arg(dir.path())
        .output()
        .expect("kubectl (tests/run.sh installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    kiln_resource::yaml::parse_stream(&text, "kustomize").unwrap()
}

fn kiln_container(docs: &[serde_json::Value]) -> (&serde_json::Value, &serde_json::Value) {
    let deployment = docs.iter().find(|d| d["kind"] == "Deployment").unwrap();
    let pod = &deployment["spec"]["template"]["spec"];
    let kiln = pod["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "kiln")
        .expect("a kiln container");
    (kiln, pod)
}

fn mount<'a>(container: &'a serde_json::Value, path: &str) -> &'a serde_json::Value {
    container["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["mountPath"] == path)
        .unwrap_or_else(|| panic!("nothing mounted at {path}"))
}

#[test]
fn deploy_components_add_a_locked_down_sidecar() {
    for component in ["deploy/argocd", "deploy/argocd/stock"] {
        let docs = with_component(component);
        let (kiln, pod) = kiln_container(&docs);
        let sc = &kiln["securityContext"];
        assert_eq!(sc["runAsNonRoot"], true, "{component}");
        assert_eq!(sc["runAsUser"], 999, "{component}");
        assert_eq!(sc["readOnlyRootFilesystem"], true, "{component}");
        assert_eq!(sc["allowPrivilegeEscalation"], false, "{component}");
        assert_eq!(
            mount(kiln, "/home/argocd/cmp-server/plugins")["name"],
            "plugins"
        );
        let tmp = mount(kiln, "/tmp")["name"].as_str().unwrap().to_owned();
        let cache = mount(kiln, "/home/argocd/.cache/kiln")["name"]
            .as_str()
            .unwrap()
            .to_owned();
        for volume in [tmp, cache] {
            let v = pod["volumes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["name"] == volume.as_str());
            assert!(
                v.is_some_and(|v| v.get("emptyDir").is_some()),
                "{component}: {volume} is an emptyDir"
            );
        }
    }
    let docs = with_component("deploy/argocd");
    let (native, _) = kiln_container(&docs);
    assert_eq!(native["command"][0], "kiln");
    assert_eq!(native["args"][0], "cmp-server");
    let docs = with_component("deploy/argocd/stock");
    let config = docs.iter().find(|d| d["kind"] == "ConfigMap").unwrap();
    let plugin = std::fs::read_to_string(repo().join("deploy/argocd/stock/plugin.yaml")).unwrap();
    assert_eq!(config["data"]["plugin.yaml"], plugin.as_str());
    let (stock, _) = kiln_container(&docs);
    assert_eq!(stock["command"][0], "/var/run/argocd/argocd-cmp-server");
    let config_mount = mount(stock, "/home/argocd/cmp-server/config/plugin.yaml");
    assert_eq!(config_mount["subPath"], "plugin.yaml");
}
