//! KRM functions from the catalog, built unchanged with stock Go for
//! `wasip1` by `tests/krm/build.sh`, run through `kiln render` and compared
//! byte for byte with what their native builds give (`tests/krm/expect.py`
//! wrote the expected outputs). Needs Go and the Go module proxy the first
//! time (builds are cached by version outside the repository), or
//! `KILN_KRM_FUNCTIONS` set to the directory `build.sh` printed.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::util::Dir;

/// The directory of the built functions: `<name>@<version>/{fn.wasm,fn}`.
fn functions() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Some(dir) = std::env::var_os("KILN_KRM_FUNCTIONS") {
            return PathBuf::from(dir);
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/krm/build.sh");
        let out = std::process::Command::new("bash")
            .arg(&script)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        assert!(
            out.status.success(),
            "{} failed (it needs Go >= 1.24 and the Go module proxy):\n{}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).expect("a path");
        PathBuf::from(
            stdout
                .lines()
                .last()
                .expect("build.sh prints its directory"),
        )
    })
}

/// The wasm build of `function` (any pinned version).
pub(crate) fn wasm(function: &str) -> PathBuf {
    let dir = fs_err::read_dir(functions())
        .expect("the functions directory")
        .map(|e| e.expect("an entry").path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.split_once('@'))
                .is_some_and(|(name, _)| name == function)
        })
        .unwrap_or_else(|| panic!("{function} is not built in {}", functions().display()));
    dir.join("fn.wasm")
}

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/krm/cases")
}

/// An app whose pipeline reads `input` and runs the function with `with`.
fn app(function: &str, input: &str, with: &str) -> Dir {
    let dir = Dir::new();
    let with: String = with.lines().flat_map(|l| ["    ", l, "\n"]).collect();
    dir.copy(wasm(function).to_str().expect("UTF-8 path"), "app/fn.wasm")
        .write("app/input.yaml", input)
        .write(
            "app/kiln.yaml",
            format!(
                "apiVersion: kiln.dev/v1alpha1\nkind: Pipeline\nsteps:\n- plugin: directory\n- name: fn\n  plugin: ./fn.wasm\n  with:\n{with}"
            ),
        );
    dir
}

/// Runs every case of `function` and compares with the native outputs.
fn run_cases(function: &str) -> usize {
    let mut ran = 0;
    let dir = cases_dir().join(function);
    let mut cases: Vec<PathBuf> = fs_err::read_dir(&dir)
        .expect("cases")
        .map(|e| e.expect("an entry").path())
        .collect();
    cases.sort();
    for case in cases {
        let read = |name: &str| fs_err::read_to_string(case.join(name));
        let input = read("input.yaml").expect("input.yaml");
        let with = read("with.yaml").expect("with.yaml");
        let app = app(function, &input, &with);
        // `--no-cache`: the function runs every time (its compiled form is
        // still reused from the shared cache).
        let run = app.kiln().args(["render", "app", "--no-cache"]).run();
        let name = case.display();
        if let Ok(expected) = read("expected.yaml") {
            assert_eq!(
                run.success(),
                expected,
                "{name}: output differs from the native build's"
            );
        } else {
            let errors = read("expected-errors.txt").expect("expected.yaml or expected-errors.txt");
            let stderr = run.error();
            assert!(
                stderr.contains("step `fn` (plugin `app/fn.wasm`)"),
                "{name}: the error names neither step nor function:\n{stderr}"
            );
            for line in errors.lines() {
                assert!(
                    stderr.contains(line),
                    "{name}: missing the native build's error `{line}` in:\n{stderr}"
                );
            }
        }
        ran += 1;
    }
    assert!(ran > 0, "no case for {function}");
    ran
}

#[test]
fn set_namespace_matches_its_native_build() {
    assert_eq!(run_cases("set-namespace"), 3);
}

#[test]
fn starlark_matches_its_native_build() {
    assert_eq!(run_cases("starlark"), 2);
}

#[test]
fn apply_replacements_matches_its_native_build() {
    assert_eq!(run_cases("apply-replacements"), 1);
}

#[test]
fn apply_setters_matches_its_native_build() {
    assert_eq!(run_cases("apply-setters"), 1);
}

const ONE: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: fast\n";

/// A KRM function runs under the same limits as a plugin.
#[test]
fn a_krm_function_is_held_to_the_memory_and_time_limits() {
    let app = app("set-namespace", ONE, "namespace: prod\n");
    let err = app
        .kiln()
        .args(["render", "app", "--no-cache", "--memory-limit", "8MiB"])
        .run()
        .error()
        .to_owned();
    assert!(
        err.contains("tried to use more than 8388608 bytes of memory"),
        "{err}"
    );
    // The bound on the function's step alone: `--timeout 1ms` would stop
    // kiln's walk of the app (the 20 MB function is in it) before any step.
    let kiln_yaml = app.path().join("app/kiln.yaml");
    let pipeline = fs_err::read_to_string(&kiln_yaml).expect("kiln.yaml");
    let bounded = pipeline.replace(
        "  plugin: ./fn.wasm\n",
        "  plugin: ./fn.wasm\n  limits: {timeout: 1ms}\n",
    );
    assert_ne!(bounded, pipeline);
    fs_err::write(&kiln_yaml, &bounded).expect("kiln.yaml");
    let err = app
        .kiln()
        .args(["render", "app", "--no-cache"])
        .run()
        .error()
        .to_owned();
    assert!(err.contains("ran longer than 0.001s"), "{err}");
    fs_err::write(&kiln_yaml, &pipeline).expect("kiln.yaml");
    let ok = app.kiln().args(["render", "app", "--no-cache"]).run();
    assert!(ok.success().contains("namespace: prod"));
}

/// An `error` result fails the step even when the function exits 0, naming
/// the step, the function and the message; a warning is logged and the
/// step goes on (`tests/krm/fixtures/results` echoes one result from
/// `with:`).
#[test]
fn an_error_result_fails_the_step_even_on_exit_0() {
    let with = |severity: &str| format!("severity: {severity}\nmessage: image tag is mutable\n");
    let failing = app("results", ONE, &with("error"));
    let err = failing
        .kiln()
        .args(["render", "app", "--no-cache"])
        .run()
        .error()
        .to_owned();
    assert!(
        err.contains("step `fn` (plugin `app/fn.wasm`) reported errors"),
        "{err}"
    );
    assert!(err.contains("image tag is mutable"), "{err}");

    let warning = app("results", ONE, &with("warning"));
    let run = warning.kiln().args(["render", "app", "--no-cache"]).run();
    assert!(run.success().contains("name: settings"));
    assert!(
        run.stderr.contains("image tag is mutable"),
        "the warning is not shown:\n{}",
        run.stderr
    );
}

/// `with:` that cannot become a functionConfig fails before the function
/// runs, naming the key.
#[test]
fn nested_flat_config_is_refused() {
    let app = app("set-namespace", ONE, "namespace:\n  name: prod\n");
    let err = app.kiln().args(["render", "app"]).run().error().to_owned();
    assert!(
        err.contains("`with.namespace` is a list or mapping"),
        "{err}"
    );
}

/// `kiln plugin inspect` tells a KRM function from a component.
#[test]
fn inspect_names_the_kind() {
    let wasm = wasm("set-namespace");
    let out = crate::util::TestCommand::new()
        .args(["plugin", "inspect", wasm.to_str().expect("UTF-8 path")])
        .run();
    let text = out.success();
    assert!(text.contains("kind:        KRM function"), "{text}");
}
