//! Loading and dependency processing checked against the expectations of
//! Helm's own tests on its test charts (`subpop`, `frobnitz`).

use std::path::Path;

use serde_json::Value;

use super::*;

fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => {
            let f = n.as_f64().unwrap();
            if f.fract() == 0.0 {
                format!("{f:.0}")
            } else {
                f.to_string()
            }
        }
        other => other.to_string(),
    }
}

#[test]
fn subpop_imports_match_helm() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/subpop");
    let mut chart = crate::chart::load_dir(&dir).unwrap();
    import_all(&mut chart).unwrap();
    let expected = [
        ("imported-chart1.SC1bool", "true"),
        ("imported-chart1.SC1float", "3.14"),
        ("imported-chart1.SC1int", "100"),
        ("imported-chart1.SC1string", "dollywood"),
        ("imported-chart1.SC1extra1", "11"),
        ("imported-chart1.SPextra1", "helm rocks"),
        ("imported-chartA.SCAbool", "false"),
        ("imported-chartA.SCAfloat", "3.1"),
        ("imported-chartA.SCAint", "55"),
        ("imported-chartA.SCAstring", "jabba"),
        ("imported-chartA.SPextra3", "1.337"),
        ("imported-chartA.SC1extra2", "1.337"),
        ("imported-chartA.SCAnested1.SCAnested2", "true"),
        ("imported-chartA-B.SCAbool", "false"),
        ("imported-chartA-B.SCBbool", "true"),
        ("imported-chartA-B.SCBfloat", "7.77"),
        ("imported-chartA-B.SCBstring", "boba"),
        ("imported-chartA-B.SPextra5", "k8s"),
        ("imported-chartA-B.SC1extra5", "tiller"),
        ("overridden-chart1.SC1bool", "false"),
        ("overridden-chart1.SC1float", "3.141592"),
        ("overridden-chart1.SC1int", "99"),
        ("overridden-chart1.SC1string", "pollywog"),
        ("overridden-chart1.SPextra2", "42"),
        ("overridden-chartA.SCAbool", "true"),
        ("overridden-chartA.SCAfloat", "41.3"),
        ("overridden-chartA.SCAint", "808"),
        ("overridden-chartA.SCAstring", "jabberwocky"),
        ("overridden-chartA.SPextra4", "true"),
        ("overridden-chartA-B.SCAbool", "true"),
        ("overridden-chartA-B.SCBbool", "false"),
        ("overridden-chartA-B.SCBfloat", "1.99"),
        ("overridden-chartA-B.SCBint", "77"),
        ("overridden-chartA-B.SCBstring", "jango"),
        ("overridden-chartA-B.SPextra6", "111"),
        ("overridden-chartA-B.SCAextra1", "23"),
        ("overridden-chartA-B.SCBextra1", "13"),
        ("overridden-chartA-B.SC1extra6", "77"),
        ("SCBexported1B", "1965"),
        ("SC1extra7", "true"),
        ("SCBexported2A", "blaster"),
        ("global.SC1exported2.all.SC1exported3", "SC1expstr"),
    ];
    for (path, want) in expected {
        let got = path_value(&chart.values, path).unwrap_or_else(|| panic!("{path} missing"));
        assert_eq!(shown(got), want, "{path}");
    }
}

fn chart_paths(c: &Chart, prefix: &str, out: &mut Vec<String>) {
    let path = if prefix.is_empty() {
        c.name().to_owned()
    } else {
        format!("{prefix}.{}", c.name())
    };
    out.push(path.clone());
    for d in &c.dependencies {
        chart_paths(d, &path, out);
    }
}

/// The cases of Helm's `TestDependencyEnabled` on `subpop`.
#[test]
fn subpop_conditions_and_tags_match_helm() {
    let cases: &[(Value, &[&str])] = &[
        (
            serde_json::json!({"tags": {"nothinguseful": false}}),
            &[
                "parentchart",
                "parentchart.subchart1",
                "parentchart.subchart1.subcharta",
                "parentchart.subchart1.subchartb",
            ],
        ),
        (
            serde_json::json!({"tags": {"front-end": false}}),
            &["parentchart"],
        ),
        (
            serde_json::json!({"tags": {"front-end": false, "back-end": true}}),
            &[
                "parentchart",
                "parentchart.subchart2",
                "parentchart.subchart2.subchartb",
                "parentchart.subchart2.subchartc",
            ],
        ),
        (
            serde_json::json!({"tags": {"subcharta": false, "subchartb": false}}),
            &[
                "parentchart",
                "parentchart.subchart1",
                "parentchart.subchart1.subcharta",
                "parentchart.subchart1.subchartb",
            ],
        ),
        (
            serde_json::json!({"tags": {"front-end": false, "subchart1": true, "back-end": false}}),
            &["parentchart", "parentchart.subchart1"],
        ),
        (
            serde_json::json!({"subchart1": {"enabled": true}, "subchart2": {"enabled": true}}),
            &[
                "parentchart",
                "parentchart.subchart1",
                "parentchart.subchart1.subcharta",
                "parentchart.subchart1.subchartb",
                "parentchart.subchart2",
            ],
        ),
        (
            serde_json::json!({"subchart1": {"enabled": false}, "subchart2": {"enabled": false}}),
            &["parentchart"],
        ),
        (
            serde_json::json!({"subchart1": {"subcharta": {"enabled": false}}}),
            &[
                "parentchart",
                "parentchart.subchart1",
                "parentchart.subchart1.subchartb",
            ],
        ),
        (
            serde_json::json!({"subchart2": {"subchartc": {"enabled": false}}, "tags": {"back-end": true}}),
            &[
                "parentchart",
                "parentchart.subchart1",
                "parentchart.subchart1.subcharta",
                "parentchart.subchart1.subchartb",
                "parentchart.subchart2",
                "parentchart.subchart2.subchartb",
            ],
        ),
        (
            serde_json::json!({"subchart1": {"enabled": false}, "tags": {"front-end": true}}),
            &["parentchart"],
        ),
        (
            serde_json::json!({"subchart1": {"enabled": false}, "subchart2alias": {"enabled": true, "subchartb": {"enabled": true}}}),
            &[
                "parentchart",
                "parentchart.subchart2alias",
                "parentchart.subchart2alias.subchartb",
            ],
        ),
    ];
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/subpop");
    for (vals, want) in cases {
        let mut chart = crate::chart::load_dir(&dir).unwrap();
        enabled(&mut chart, vals.as_object().unwrap(), "").unwrap();
        let mut got = Vec::new();
        chart_paths(&chart, "", &mut got);
        got.sort();
        assert_eq!(got, *want, "values {vals}");
    }
}

/// Helm's `TestLoadDir` and `TestLoadFile` (`verifyChart`) on its
/// `frobnitz` chart, as a directory and as an archive.
#[test]
fn frobnitz_loads_as_helm() {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/loader");
    let from_dir = crate::chart::load_dir(&base.join("frobnitz")).unwrap();
    let data = std::fs::read(base.join("frobnitz-1.2.3.tgz")).unwrap();
    let from_tgz = crate::archive::load_archive(&data).unwrap();
    for c in [from_dir, from_tgz] {
        assert_eq!(c.name(), "frobnitz");
        assert_eq!(c.templates.len(), 1);
        let files: Vec<&str> = c.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(files.len(), 6, "{files:?}");
        let mut deps: Vec<(&str, &str)> = c
            .dependencies
            .iter()
            .map(|d| (d.name(), d.metadata.version.as_str()))
            .collect();
        deps.sort_unstable();
        assert_eq!(deps, [("alpine", "0.1.0"), ("mariner", "4.3.2")]);
        assert_eq!(c.metadata.dependencies.len(), 2);
    }
}
