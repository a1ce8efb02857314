//! `kiln plugin new`, `build` and `test`: each template is generated, built
//! with its language's real toolchain, and its own golden tests are run;
//! its output is byte-identical to the Rust example's (`hello-plugin`) on
//! the same input. Rust needs rustup's `wasm32-wasip2` target (tests/run.sh
//! adds it), its build going to a target directory under cargo's, reused by
//! later runs; Go needs Go >= 1.25 (its build cache is Go's own); JS needs
//! Node.js and npm (the pinned `componentize-qjs` comes from npm's cache);
//! Python needs `componentize-py` on PATH (tests/run.sh installs it); C
//! needs Debian's clang-19, lld-19, libclang-rt-19-dev-wasm32 and wasi-libc.

use std::path::{Path, PathBuf};

use crate::util::{Dir, TestCommand};

const HELLO: &str = env!("KILN_TEST_PLUGIN_HELLO");

/// Where the builds of generated projects go, kept between runs.
fn build_cache(lang: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("plugin-new-{lang}"))
}

/// The compiled-component cache of one language's runs. Python builds are
/// not reproducible (a new digest each run), so its cache is wiped first,
/// or the shared one would grow by a compiled copy per run.
fn kiln_cache(lang: &str) -> PathBuf {
    static WIPED: std::sync::Once = std::sync::Once::new();
    let dir = build_cache(lang).join("kiln-cache");
    if lang == "python" {
        WIPED.call_once(|| {
            let _ = fs_err::remove_dir_all(&dir);
        });
    }
    dir
}

/// `kiln` in `dir` with the language's cache.
fn kiln(dir: &Dir, lang: &str) -> TestCommand {
    let mut cmd = dir.kiln();
    cmd.env("KILN_CACHE_DIR", kiln_cache(lang));
    cmd
}

/// Writes a project with `kiln plugin new LANG team-label` and builds it.
fn new_and_build(lang: &str) -> (Dir, PathBuf) {
    let root = Dir::new();
    kiln(&root, lang)
        .args(["plugin", "new", lang, "team-label"])
        .run()
        .success();
    let project = root.path().join("team-label");
    for file in ["README.md", "wit/plugin.wit", "tests/basic/expected.yaml"] {
        assert!(project.join(file).is_file(), "{lang}: no {file}");
    }
    let built = kiln(&root, lang)
        .args(["plugin", "build", "team-label"])
        .env("CARGO_TARGET_DIR", build_cache(lang))
        .run();
    built.success();
    assert!(
        built
            .stderr
            .contains("built team-label 0.1.0 → team-label/plugin.wasm"),
        "{}",
        built.stderr
    );
    (root, project)
}

/// The generated project passes its own tests, a wrong golden file fails
/// them with a diff, and `--update` rewrites it.
fn golden_loop(lang: &str) {
    let (root, project) = new_and_build(lang);
    let test = |extra: &[&str]| {
        kiln(&root, lang)
            .args(["plugin", "test", "team-label"])
            .args(extra)
            .run()
    };
    let run = test(&[]);
    assert!(
        run.success().ends_with("2 passed, 0 failed\n"),
        "{lang}: {}",
        run.stdout
    );

    let expected = project.join("tests/basic/expected.yaml");
    let golden = fs_err::read_to_string(&expected).expect("golden");
    fs_err::write(&expected, golden.replace("team: payments", "team: other"))
        .expect("write golden");
    let run = test(&[]);
    assert_eq!(run.code, Some(1), "{lang}: {run:?}");
    assert!(
        run.stdout.contains("FAILED  basic") && run.stdout.contains("+    team: payments"),
        "{lang}: {}",
        run.stdout
    );
    assert!(
        run.stdout.ends_with("1 passed, 1 failed\n"),
        "{}",
        run.stdout
    );
    test(&["--update"]).success();
    assert_eq!(fs_err::read_to_string(&expected).expect("golden"), golden);
    test(&[]).success();

    // Same bytes as the Rust example on the same input and `with:`.
    let app = |plugin: &Path| {
        let dir = Dir::new();
        dir.copy(plugin.to_str().expect("UTF-8"), "app/p.wasm")
            .copy(
                project
                    .join("tests/basic/input.yaml")
                    .to_str()
                    .expect("UTF-8"),
                "app/input.yaml",
            )
            .write(
                "app/kiln.yaml",
                "apiVersion: kiln.dev/v1alpha1\nkind: Pipeline\nsteps:\n- plugin: directory\n- plugin: ./p.wasm\n  with:\n    team: payments\n",
            );
        kiln(&dir, lang)
            .args(["render", "app", "--no-cache"])
            .run()
            .success()
            .to_owned()
    };
    assert_eq!(
        app(&project.join("plugin.wasm")),
        app(Path::new(HELLO)),
        "{lang}: output differs from hello-plugin's"
    );
}

#[test]
fn rust_template_builds_and_passes_its_tests() {
    golden_loop("rust");
    // The template pins its crates: the lock names the project.
    let root = Dir::new();
    kiln(&root, "rust")
        .args(["plugin", "new", "rust", "pinned"])
        .run()
        .success();
    let lock = fs_err::read_to_string(root.path().join("pinned/Cargo.lock")).expect("Cargo.lock");
    assert!(
        lock.contains("name = \"pinned\"\n") && lock.contains("name = \"wit-bindgen\"\n"),
        "{lock}"
    );
}

#[test]
fn go_template_builds_and_passes_its_tests() {
    golden_loop("go");
}

#[test]
fn js_template_builds_and_passes_its_tests() {
    golden_loop("js");
}

#[test]
fn ts_template_builds_and_passes_its_tests() {
    golden_loop("ts");
}

#[test]
fn python_template_builds_and_passes_its_tests() {
    golden_loop("python");
}

#[test]
fn c_template_builds_and_passes_its_tests() {
    golden_loop("c");
}

/// The C helper's JSON editor reads keys through their escapes and writes
/// them escaped: a label key with a quote, a slash written `\/`, and one
/// that is not there yet all come out as valid JSON with one entry each.
#[test]
fn c_helper_escapes_keys() {
    let root = Dir::new();
    kiln(&root, "c")
        .args(["plugin", "new", "c", "keys"])
        .run()
        .success();
    root.write(
        "keys/src/plugin.c",
        r#"#include "../kiln/kiln.h"
const kiln_info KILN_INFO = {"keys", "0.1.0", "sets labels with awkward keys"};
kiln_status kiln_render(kiln_request *req) {
    const char *keys[] = {"q\"uote", "a/b", "back\\slash"};
    for (size_t i = 0; i < req->count; i++)
        for (size_t k = 0; k < 3; k++)
            if (!kiln_set_label(&req->resources[i], keys[k], "\"new\"")) return kiln_fail(req, KILN_BAD_INPUT, "not an object", NULL);
    return KILN_OK;
}
"#,
    );
    kiln(&root, "c")
        .args(["plugin", "build", "keys"])
        .env("CARGO_TARGET_DIR", build_cache("c"))
        .run()
        .success();
    root.copy(
        root.path()
            .join("keys/plugin.wasm")
            .to_str()
            .expect("UTF-8"),
        "app/p.wasm",
    )
    .write(
        "app/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  labels:\n    'q\"uote': old\n    a/b: old\n",
    )
    .write(
        "app/kiln.yaml",
        "apiVersion: kiln.dev/v1alpha1\nkind: Pipeline\nsteps:\n- plugin: directory\n- plugin: ./p.wasm\n",
    );
    let out = kiln(&root, "c")
        .args(["render", "app", "--no-cache"])
        .run()
        .success()
        .to_owned();
    assert!(
        out.contains("labels:\n    q\"uote: new\n    a/b: new\n    back\\slash: new\n"),
        "{out}"
    );
}

/// Bad names and an occupied directory are refused with a hint.
#[test]
fn plugin_new_refuses_bad_names() {
    let root = Dir::new();
    let err = root
        .kiln()
        .args(["plugin", "new", "rust", "Team_Label"])
        .run()
        .error()
        .to_owned();
    assert!(err.contains("`Team_Label` cannot name a plugin"), "{err}");
    root.write("taken/file", "x");
    let err = root
        .kiln()
        .args(["plugin", "new", "rust", "ok", "--dir", "taken"])
        .run()
        .error()
        .to_owned();
    assert!(err.contains("taken exists and is not empty"), "{err}");
}

/// `kiln plugin test` without a built component says what to run.
#[test]
fn plugin_test_needs_a_build() {
    let root = Dir::new();
    root.kiln()
        .args(["plugin", "new", "rust", "team-label"])
        .run()
        .success();
    let err = TestCommand::new()
        .args(["plugin", "test"])
        .args([root.path().join("team-label")])
        .run()
        .error()
        .to_owned();
    assert!(err.contains("kiln plugin build"), "{err}");
}
