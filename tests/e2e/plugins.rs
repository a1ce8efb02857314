//! Third-party plugins: the SDK's hello-world, and `kiln plugin inspect`.

use crate::util::{Dir, MANIFESTS, TestCommand};

const HELLO: &str = env!("KILN_TEST_PLUGIN_HELLO");

#[test]
fn the_hello_plugin_labels_every_resource() {
    let dir = Dir::new();
    dir.copy(HELLO, "app/hello.wasm").write("app/all.yaml", MANIFESTS).write(
        "app/kiln.yaml",
        "apiVersion: kiln.dev/v1alpha1\nkind: Pipeline\nsteps:\n- plugin: directory\n- name: label\n  plugin: ./hello.wasm\n  with: {team: blue}\n",
    );
    let docs = dir.kiln().args(["render", "app"]).run().docs();
    assert_eq!(docs.len(), 2);
    for doc in &docs {
        assert_eq!(doc["metadata"]["labels"]["team"], "blue", "{doc}");
    }
}

#[test]
fn the_hello_plugin_reports_bad_config() {
    let dir = Dir::new();
    dir.copy(HELLO, "app/hello.wasm").write("app/all.yaml", MANIFESTS).write(
        "app/kiln.yaml",
        "apiVersion: kiln.dev/v1alpha1\nkind: Pipeline\nsteps:\n- plugin: directory\n- name: label\n  plugin: ./hello.wasm\n",
    );
    let err = dir.kiln().args(["render", "app"]).run().error().to_owned();
    assert!(
        err.contains("step `label` (plugin `app/hello.wasm`) failed"),
        "{err}"
    );
    assert!(err.contains("missing config key `team`"), "{err}");
}

#[test]
fn inspect_prints_info_and_the_contract_version() {
    let out = TestCommand::new().args(["plugin", "inspect", HELLO]).run();
    let text = out.success();
    assert!(text.contains("name:        hello-plugin"), "{text}");
    assert!(text.contains("contract:    kiln:plugin@0.1.0"), "{text}");
    let json = TestCommand::new()
        .args(["plugin", "inspect", "directory", "--json"])
        .run();
    let v: serde_json::Value = serde_json::from_str(json.success()).unwrap();
    assert_eq!(v["name"], "kiln-plugin-directory");
    assert!(v["digest"].as_str().unwrap().starts_with("blake3:"));
    let missing = TestCommand::new().args(["plugin", "inspect", "nope"]).run();
    assert!(
        missing
            .error()
            .contains("hint: built-in plugins: directory")
    );
}
