//! A kubeconfig that points kubectl or kube-rs at the emulator: plain http, no credentials.

use std::path::Path;

/// The kubeconfig text for a server at `url` (`http://127.0.0.1:PORT`).
pub fn render(url: &str) -> String {
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: kiln-test
  cluster:
    server: {url}
contexts:
- name: kiln-test
  context:
    cluster: kiln-test
    namespace: default
    user: kiln-test
current-context: kiln-test
preferences: {{}}
users:
- name: kiln-test
  user: {{}}
"
    )
}

/// Writes the kubeconfig for `url` to `path`.
pub fn write(url: &str, path: &Path) -> std::io::Result<()> {
    std::fs::write(path, render(url))
}
