//! Cases whose expected output comes from the real kustomize (v5.7.1, as
//! `kubectl kustomize` of kubectl v1.35.2 prints it).
//!
//! `tests/oracle/<case>/input/` is the tree; the build target is `input/`, or
//! `input/<dir>` when the case has a `target` file naming `<dir>`. A case
//! holds either `expected.yaml`, the oracle's output, compared document by
//! document as data after a round trip through kiln's own writer and parser;
//! or `expected-error.txt`, lines that must all appear in kiln's error (the
//! oracle fails on the case too). `tests/oracle/regen.sh` rewrites the
//! expected files from the oracle. `ORACLE_CASE=name` runs one case.

use std::path::{Path, PathBuf};

use kiln_sdk::yaml;

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("oracle");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/oracle exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.join("input").is_dir())
        .collect();
    out.sort();
    out
}

fn run(case: &Path) -> Result<(), String> {
    let root = case.join("input");
    let target = match std::fs::read_to_string(case.join("target")) {
        Ok(t) => root.join(t.trim()),
        Err(_) => root.clone(),
    };
    let built = kiln_plugin_overlay::build(&root, &target);
    if let Ok(want) = std::fs::read_to_string(case.join("expected-error.txt")) {
        let err = match built {
            Ok(_) => return Err("kustomize fails on this case; kiln built it".into()),
            Err(e) => format!(
                "{}: {} ({})",
                e.file.as_ref().map(|f| f.0.as_str()).unwrap_or_default(),
                e.message,
                e.hint.as_deref().unwrap_or_default()
            ),
        };
        for line in want.lines().filter(|l| !l.trim().is_empty()) {
            if !err.contains(line.trim()) {
                return Err(format!("the error lacks {line:?}: {err}"));
            }
        }
        return Ok(());
    }
    let docs = built.map_err(|e| format!("kiln fails: {e}"))?;
    let expected = std::fs::read_to_string(case.join("expected.yaml"))
        .map_err(|e| format!("expected.yaml: {e}"))?;
    let want = yaml::parse_stream(&expected, "expected.yaml").map_err(|e| e.to_string())?;
    let written = yaml::to_stream(&docs);
    let got = yaml::parse_stream(&written, "kiln output").map_err(|e| e.to_string())?;
    if got == want {
        return Ok(());
    }
    Err(format!(
        "output differs\n--- kustomize\n{}\n--- kiln\n{written}",
        yaml::to_stream(&want)
    ))
}

#[test]
fn builds_match_kustomize() {
    let only = std::env::var("ORACLE_CASE").ok();
    let mut failures = Vec::new();
    let mut ran = 0;
    for case in cases() {
        let name = case
            .file_name()
            .expect("a case has a name")
            .to_string_lossy()
            .into_owned();
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        ran += 1;
        if let Err(e) = run(&case) {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert!(ran > 0, "no case ran");
    assert!(
        failures.is_empty(),
        "{} of {ran} cases differ from kustomize:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
