//! The charts under `testdata/` rendered as `helm template` v4.1.4 renders
//! them: each line of `testdata/cases.tsv` is one run, and its expected
//! output (or error) in `testdata/expected/` was printed by helm itself
//! (`testdata/regen.py` regenerates them).

use std::path::{Path, PathBuf};

use super::*;

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

struct Case {
    name: String,
    opts: Options,
}

/// The `helm template` flags of a case as [`Options`].
fn options(release: &str, chart: &str, flags: &[&str]) -> Options {
    let mut o = Options {
        chart: Some(chart.to_owned()),
        release_name: Some(release.to_owned()),
        ..Options::default()
    };
    let mut it = flags.iter();
    while let Some(flag) = it.next() {
        let mut value = || (*it.next().expect("flag has a value")).to_owned();
        match *flag {
            "-f" | "--values" => o.values.push(value()),
            "--set" => o.set.push(value()),
            "--set-string" => o.set_string.push(value()),
            "--set-json" => o.set_json.push(value()),
            "--set-file" => o.set_file.push(value()),
            "-s" | "--show-only" => o.show_only.push(value()),
            "-n" | "--namespace" => o.namespace = Some(value()),
            "-a" | "--api-versions" => o.api_versions.push(value()),
            "--kube-version" => o.kube_version = Some(value()),
            "--include-crds" => o.include_crds = true,
            "--skip-tests" => o.skip_tests = true,
            other => panic!("cases.tsv: flag {other} is not handled here"),
        }
    }
    o.kube_version.get_or_insert_with(|| "1.35.0".to_owned());
    o
}

fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(testdata().join("cases.tsv")).expect("cases.tsv");
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            let [name, release, chart, flags @ ..] = fields.as_slice() else {
                panic!("cases.tsv: short line {line:?}");
            };
            Case {
                name: (*name).to_owned(),
                opts: options(release, chart, flags),
            }
        })
        .collect()
}

/// Helm's message without its `Error: ` prefix, its log lines and the
/// `--debug` hint it adds to every failed render.
fn helm_message(stderr: &str) -> String {
    let start = stderr.rfind("\nError: ").map_or(0, |i| i + 1);
    normalize(
        stderr[start..]
            .strip_prefix("Error: ")
            .unwrap_or(&stderr[start..]),
    )
}

fn normalize(message: &str) -> String {
    let m = message.trim_end();
    m.strip_suffix("Use --debug flag to render out invalid YAML")
        .unwrap_or(m)
        .trim_end()
        .to_owned()
}

/// The plugin's resources (documents parsed once, when sorted) are the
/// documents of helm's printed stream, parsed.
fn resources_differ(opts: &Options, helm_text: &str) -> Option<String> {
    let got = match render_resources(&testdata(), Path::new(""), opts) {
        Ok(r) => r,
        Err(e) => return Some(format!("resources failed: {e}")),
    };
    let want: Vec<serde_json::Value> = crate::order::split_documents(helm_text)
        .into_iter()
        .map(|d| {
            crate::order::parse_lenient(&format!("{d}\n"), "helm").expect("helm's output parses")
        })
        .filter(serde_json::Value::is_object)
        .collect();
    (got != want).then(|| format!("resources differ:\n{got:#?}\n{want:#?}"))
}

#[test]
fn charts_render_as_helm_renders_them() {
    let expected = testdata().join("expected");
    let mut failures = Vec::new();
    let all = cases();
    assert!(all.len() >= 40, "cases.tsv lost its cases");
    for case in &all {
        let out = expected.join(format!("{}.out", case.name));
        let got = render_text(&testdata(), Path::new(""), &case.opts);
        if out.is_file() {
            let want = std::fs::read_to_string(&out).expect("expected output");
            match got {
                Ok(text) if text == want => {
                    if let Some(f) = resources_differ(&case.opts, &want) {
                        failures.push(format!("{}: {f}", case.name));
                    }
                }
                Ok(text) => failures.push(format!(
                    "{}: output differs\n--- helm\n{want}\n--- kiln\n{text}",
                    case.name
                )),
                Err(e) => failures.push(format!("{}: kiln failed: {e}", case.name)),
            }
        } else {
            let err = expected.join(format!("{}.err", case.name));
            let stderr = std::fs::read_to_string(&err)
                .unwrap_or_else(|_| panic!("{}: no expected output", case.name));
            let want = helm_message(&stderr);
            match got {
                Ok(_) => failures.push(format!("{}: helm fails ({want}), kiln renders", case.name)),
                Err(e) if normalize(&e.to_string()) == want => {}
                Err(e) => failures.push(format!(
                    "{}: error differs\n--- helm\n{want}\n--- kiln\n{}",
                    case.name,
                    normalize(&e.to_string())
                )),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from helm:\n\n{}",
        failures.len(),
        all.len(),
        failures.join("\n\n")
    );
}
