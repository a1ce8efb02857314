//! `kiln render` of directory apps and pipelines, and bad input.

use crate::util::{Dir, MANIFESTS, TestCommand};

#[test]
fn renders_a_directory_app_as_yaml_and_json() {
    let dir = Dir::new();
    dir.write("app/all.yaml", MANIFESTS).write(
        "app/sub/extra.yml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n",
    );
    let docs = dir.kiln().args(["render", "app"]).run().docs();
    let names: Vec<_> = docs
        .iter()
        .map(|d| d["metadata"]["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["one", "two", "s"]);
    let json = dir.kiln().args(["render", "app", "-o", "json"]).run();
    let parsed: serde_json::Value = serde_json::from_str(json.success()).unwrap();
    assert_eq!(parsed.as_array().unwrap().len(), 3);
}

#[test]
fn renders_the_notes_board_example() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/notes-board");
    let docs = TestCommand::new().args(["render", example]).run().docs();
    let kinds: Vec<_> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["Deployment", "Service", "Deployment", "Service"],
        "List items are flattened"
    );
}

#[test]
fn output_dir_gets_one_file_per_resource_and_a_failed_render_leaves_it_alone() {
    let dir = Dir::new();
    dir.write("app/all.yaml", MANIFESTS);
    dir.kiln()
        .args(["render", "app", "--output-dir", "out"])
        .run()
        .success();
    assert!(dir.path().join("out/_cluster/configmap-one.yaml").is_file());
    assert!(dir.path().join("out/_cluster/service-two.yaml").is_file());
    dir.write("app/broken.yaml", "kind: [\n");
    dir.kiln()
        .args(["render", "app", "--output-dir", "out"])
        .run()
        .error();
    assert!(
        dir.path().join("out/_cluster/configmap-one.yaml").is_file(),
        "old output kept"
    );
}

#[test]
fn malformed_yaml_names_the_file_and_line() {
    let dir = Dir::new();
    dir.write("app/ok.yaml", MANIFESTS).write(
        "app/bad.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [x\n",
    );
    let err = dir.kiln().args(["render", "app"]).run().error().to_owned();
    assert!(
        err.contains("step `directory` (plugin `directory`) failed at app/bad.yaml:4"),
        "{err}"
    );
    assert!(err.contains("invalid YAML"), "{err}");
}

#[test]
fn a_missing_directory_is_an_error_with_a_hint() {
    let dir = Dir::new();
    let err = dir
        .kiln()
        .args(["render", "nowhere"])
        .run()
        .error()
        .to_owned();
    assert!(
        err.contains("error: app directory nowhere does not exist"),
        "{err}"
    );
    assert!(err.contains("hint:"), "{err}");
}

#[test]
fn an_unknown_plugin_name_lists_the_built_in_ones() {
    let dir = Dir::new();
    dir.write(
        "app/kiln.yaml",
        "apiVersion: kiln.dev/v1alpha1\nkind: Pipeline\nsteps:\n- plugin: nosuch\n",
    );
    let err = dir.kiln().args(["render", "app"]).run().error().to_owned();
    assert!(
        err.contains("step `nosuch` uses unknown plugin `nosuch`"),
        "{err}"
    );
    assert!(
        err.contains("hint: use a built-in plugin (directory"),
        "{err}"
    );
}

#[test]
fn a_wasm_file_that_is_not_a_component_is_refused() {
    let dir = Dir::new();
    dir.write(
        "app/kiln.yaml",
        "apiVersion: kiln.dev/v1alpha1\nkind: Pipeline\nsteps:\n- name: x\n  plugin: ./x.wasm\n",
    )
    .write("app/x.wasm", b"\0asm\x01\0\0\0")
    .write("app/y.wasm", "not wasm at all");
    let err = dir.kiln().args(["render", "app"]).run().error().to_owned();
    assert!(
        err.contains("step `x`: cannot load plugin `app/x.wasm`"),
        "{err}"
    );
    // An empty core module: neither a component nor a command.
    assert!(
        err.contains("is neither a plugin component nor a KRM function"),
        "{err}"
    );
    assert!(err.contains("exports no `_start`"), "{err}");
    assert!(
        err.contains("hint: build the plugin as a component"),
        "{err}"
    );
}

#[test]
fn kiln_yaml_unknown_fields_name_file_and_line() {
    let dir = Dir::new();
    dir.write(
        "app/kiln.yaml",
        "apiVersion: kiln.dev/v1alpha1\nkind: Pipeline\nsteps:\n- plugin: directory\n  whith: {}\n",
    );
    let err = dir.kiln().args(["render", "app"]).run().error().to_owned();
    assert!(err.contains("app/kiln.yaml:5:"), "{err}");
    assert!(err.contains("whith"), "{err}");
}

#[test]
fn a_plugin_path_outside_the_source_root_is_refused() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("p.wasm"), b"\0asm").unwrap();
    let dir = Dir::new();
    let rel = pathdiff(outside.path(), &dir.path().join("app"));
    dir.write(
        "app/kiln.yaml",
        format!("apiVersion: kiln.dev/v1alpha1\nkind: Pipeline\nsteps:\n- plugin: {rel}/p.wasm\n"),
    );
    let err = dir.kiln().args(["render", "app"]).run().error().to_owned();
    assert!(err.contains("is outside the source root"), "{err}");
}

fn pathdiff(to: &std::path::Path, from: &std::path::Path) -> String {
    let up = from.components().count();
    format!(
        "{}{}",
        "../".repeat(up),
        to.display().to_string().trim_start_matches('/')
    )
}

#[test]
fn rendering_twice_gives_identical_bytes() {
    let dir = Dir::new();
    dir.write("app/all.yaml", MANIFESTS);
    let cold = dir
        .kiln()
        .env("KILN_CACHE_DIR", dir.path().join("cache"))
        .args(["render", "app"])
        .run();
    let cold = cold.success().to_owned();
    let mut warm = dir.kiln();
    warm.args(["render", "app"])
        .env("KILN_CACHE_DIR", dir.path().join("cache"));
    assert_eq!(cold, warm.run().success());
}

#[test]
fn a_corrupt_compiled_component_is_rebuilt() {
    let dir = Dir::new();
    dir.write("app/all.yaml", MANIFESTS);
    let cache = dir.path().join("cache");
    // --no-cache: every run loads the plugin.
    let run = || {
        let mut c = dir.kiln();
        c.env("KILN_CACHE_DIR", &cache)
            .args(["render", "--no-cache", "app"]);
        c.run()
    };
    let first = run().success().to_owned();
    let bucket = cache.join("components-v2");
    let compiled = std::fs::read_dir(&bucket)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .expect("a compiled component was cached");
    // Once its stamp is old enough to be trusted, a load maps the file
    // without hashing it; a later write must still be noticed.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_eq!(run().success(), first);
    let mut bytes = std::fs::read(&compiled).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&compiled, &bytes).unwrap();
    let again = run();
    assert_eq!(again.success(), first);
    assert!(
        again.stderr.contains("compiled component is corrupt"),
        "{}",
        again.stderr
    );
    assert_ne!(
        std::fs::read(&compiled).unwrap(),
        bytes,
        "the bad file was replaced"
    );
}

#[test]
fn switches_from_the_environment_take_the_usual_spellings() {
    let dir = Dir::new();
    dir.write("app/all.yaml", MANIFESTS);
    for value in ["1", "true", "yes", "0", "false", "no"] {
        let mut c = dir.kiln();
        c.env("KILN_NO_PROGRESS", value).args(["render", "app"]);
        c.run().success();
    }
    let mut c = dir.kiln();
    c.env("KILN_NO_PROGRESS", "maybe").args(["render", "app"]);
    assert_eq!(c.run().code, Some(2));
}

/// Without `--kube-version` (or `KUBE_VERSION`), a chart sees the version
/// `helm template` v4.1.4 assumes, v1.35.0, so a chart comparing it renders
/// as helm does.
#[test]
fn a_chart_sees_helms_default_kubernetes_version() {
    let dir = Dir::new();
    dir.write("app/Chart.yaml", "apiVersion: v2\nname: kv\nversion: 0.1.0\n")
        .write(
            "app/templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kv\ndata:\n  version: {{ .Capabilities.KubeVersion.Version | quote }}\n  new: {{ semverCompare \">=1.35.0-0\" .Capabilities.KubeVersion.Version | quote }}\n",
        );
    let run = dir.kiln().args(["render", "app"]).run();
    let out = run.success();
    assert!(out.contains("version: \"v1.35.0\""), "{out}");
    assert!(out.contains("new: \"true\""), "{out}");
}
