//! The team-label plugin written in Python (`examples/python-plugin`), built
//! with componentize-py: the WIT contract is not tied to the Rust SDK.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::util::{Dir, TestCommand};

/// Manifests with and without labels.
const MANIFESTS: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\ndata:\n  k: v\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: two\n  labels:\n    app: web\nspec:\n  ports:\n  - port: 80\n";

/// Where this run builds the plugin and caches its compiled form. A
/// componentize-py build is not byte-for-byte reproducible, so every run
/// compiles a new digest: a cache of its own, wiped per run, keeps the
/// shared one from growing by a copy per run.
fn work_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("python-plugin")
}

/// Builds the plugin once per run with `examples/python-plugin/build.sh`
/// and compiles it into the cache (through `kiln plugin inspect`), so the
/// tests that use it run against a warm cache.
fn plugin() -> &'static Path {
    static PLUGIN: OnceLock<PathBuf> = OnceLock::new();
    PLUGIN.get_or_init(|| {
        let work = work_dir();
        if work.exists() {
            std::fs::remove_dir_all(&work).expect("wipe the previous run's build");
        }
        std::fs::create_dir_all(&work).expect("mkdir python-plugin");
        let wasm = work.join("team_label.wasm");
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/python-plugin/build.sh");
        let out = Command::new("bash")
            .arg(&script)
            .arg(&wasm)
            .output()
            .expect("bash runs");
        let install = "tests/run.sh installs it from examples/python-plugin/requirements.txt";
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(
            out.status.success(),
            "build.sh failed (needs componentize-py: {install})\n{stdout}\n{stderr}"
        );
        let info = TestCommand::new()
            .env("KILN_CACHE_DIR", cache())
            .args(["plugin", "inspect"])
            .args([&wasm])
            .run();
        let text = info.success();
        assert!(text.contains("name:        team-label-py"), "{text}");
        assert!(text.contains("contract:    kiln:plugin@0.1.0"), "{text}");
        wasm
    })
}

/// This run's own cache.
fn cache() -> PathBuf {
    work_dir().join("cache")
}

/// An app whose pipeline runs the Python plugin after `directory`, with
/// `with` as the label step's configuration (none when empty).
fn app(with: &str) -> Dir {
    let plugin = plugin().to_str().expect("a UTF-8 path");
    let dir = Dir::new();
    let mut pipeline = String::from(
        "apiVersion: kiln.dev/v1alpha1\nkind: Pipeline\nsteps:\n- plugin: directory\n- name: label\n  plugin: ./team_label.wasm\n",
    );
    if !with.is_empty() {
        pipeline += "  with: ";
        pipeline += with;
        pipeline.push('\n');
    }
    dir.copy(plugin, "app/team_label.wasm")
        .write("app/all.yaml", MANIFESTS)
        .write("app/kiln.yaml", pipeline);
    dir
}

/// `kiln render app` in `dir`, with this run's cache.
fn render(dir: &Dir) -> crate::util::Run {
    dir.kiln()
        .env("KILN_CACHE_DIR", cache())
        .args(["render", "app"])
        .run()
}

#[test]
fn the_python_plugin_labels_every_resource() {
    let dir = app("{team: blue}");
    let docs = render(&dir).docs();
    let names: Vec<_> = docs
        .iter()
        .map(|d| d["metadata"]["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(names, ["one", "two"]);
    for doc in &docs {
        assert_eq!(doc["metadata"]["labels"]["team"], "blue", "{doc}");
    }
    assert_eq!(
        docs[1]["metadata"]["labels"]["app"], "web",
        "existing labels stay"
    );
    assert_eq!(docs[0]["data"]["k"], "v");
}

#[test]
fn the_python_plugin_reports_bad_config() {
    let missing = render(&app("")).error().to_owned();
    assert!(
        missing.contains("step `label` (plugin `app/team_label.wasm`) failed"),
        "{missing}"
    );
    assert!(missing.contains("missing config key `team`"), "{missing}");
    assert!(
        missing.contains("hint: set `with: {team: <name>}` on the step"),
        "{missing}"
    );
    let wrong = render(&app("{team: 7}")).error().to_owned();
    assert!(
        wrong.contains("config key `team`: expected a string, got 7"),
        "{wrong}"
    );
}
