//! The `kiln-test-apiserver` binary: address line on stdout, kubeconfig, serving until killed.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

#[test]
fn binary_prints_its_address_and_writes_a_kubeconfig() {
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = dir.path().join("kubeconfig");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kiln-test-apiserver"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--fault",
            "latency=1ms",
            "--kubeconfig-out",
        ])
        .arg(&kubeconfig)
        .stdout(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout piped"))
        .read_line(&mut line)
        .expect("address line");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .expect("`listening on URL` line")
        .to_owned();
    let port: u16 = url
        .strip_prefix("http://127.0.0.1:")
        .and_then(|p| p.parse().ok())
        .expect("loopback URL with a port");
    assert_ne!(port, 0);
    let config = std::fs::read_to_string(&kubeconfig).expect("kubeconfig written");
    assert!(config.contains(&format!("server: {url}\n")), "{config}");

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let version = rt.block_on(async {
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http::<http_body_util::Empty<bytes::Bytes>>();
        let resp = client
            .get(format!("{url}/version").parse().expect("uri"))
            .await
            .expect("server answers");
        let body = http_body_util::BodyExt::collect(resp.into_body())
            .await
            .expect("body")
            .to_bytes();
        serde_json::from_slice::<serde_json::Value>(&body).expect("JSON")
    });
    assert_eq!(version["minor"], "32");
    child.kill().expect("kill the server");
    child.wait().expect("reap the server");

    let refused = Command::new(env!("CARGO_BIN_EXE_kiln-test-apiserver"))
        .args(["--listen", "127.0.0.1:0", "--fault", "teapot"])
        .output()
        .expect("binary runs");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("unknown action"));
}
