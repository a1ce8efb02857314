//! Errors of `render_text`, worded as Helm words them.

use crate::Options;
use crate::tests::{CHART, chart, opts, render};

#[test]
fn errors_are_worded_as_helm() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[CHART, ("templates/x.yaml", "a: {{ fail \"no way\" }}\n")],
            "execution error at (c/templates/x.yaml:1:6): no way",
        ),
        (
            &[CHART, ("templates/x.yaml", "a: {{ .Values.x \n")],
            "parse error at (c/templates/x.yaml:2): unclosed action",
        ),
        (
            &[CHART, ("templates/x.yaml", "a: b\n  c: d\n")],
            "YAML parse error on c/templates/x.yaml: error converting YAML to JSON",
        ),
        (
            &[CHART, ("values.yaml", "a: [\n")],
            "cannot load values.yaml: cannot unmarshal yaml document: error converting YAML to JSON: yaml: line",
        ),
        (
            &[CHART, ("values.yaml", "- a\n")],
            "cannot load values.yaml: cannot unmarshal yaml document: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type map[string]interface {}",
        ),
        (
            &[(
                "Chart.yaml",
                "apiVersion: v2\nname: c\nversion: 0.1.0\ntype: library\n",
            )],
            "library charts are not installable",
        ),
        (
            &[(
                "Chart.yaml",
                "apiVersion: v2\nname: c\nversion: 0.1.0\ntype: Library\n",
            )],
            "validation: chart.metadata.type must be application or library",
        ),
        (
            &[(
                "Chart.yaml",
                "apiVersion: v2\nname: c\nversion: 0.1.0\ndependencies:\n- name: gone\n  version: 1.0.0\n",
            )],
            "found in Chart.yaml, but missing in charts/ directory: gone",
        ),
        (
            &[(
                "Chart.yaml",
                "apiVersion: v2\nname: c\nversion: 0.1.0\nkubeVersion: '>=1.25.0'\n",
            )],
            "chart requires kubeVersion: >=1.25.0 which is incompatible with Kubernetes v1.20.0",
        ),
        (
            &[
                CHART,
                (
                    "values.schema.json",
                    "{\"properties\": {\"port\": {\"type\": \"integer\", \"maximum\": 100}}}",
                ),
                ("values.yaml", "port: 8080\n"),
            ],
            "c:\n- at '/port': maximum: got 8080, want 100",
        ),
    ];
    for (files, want) in cases {
        let dir = chart(files);
        let e = render(dir.path(), &opts()).expect_err(want).to_string();
        assert!(e.contains(want), "want {want:?} in {e:?}");
    }
}

#[test]
fn a_values_file_that_does_not_parse_is_named() {
    let dir = chart(&[CHART, ("bad.yaml", "a: [\n")]);
    let o = Options {
        values: vec!["bad.yaml".into()],
        ..opts()
    };
    let e = render(dir.path(), &o).unwrap_err().to_string();
    assert!(
        e.starts_with("failed to parse bad.yaml: cannot unmarshal yaml document: error converting YAML to JSON: yaml: line"),
        "{e}"
    );
}

#[test]
fn release_names_are_validated() {
    let dir = chart(&[CHART]);
    for bad in ["Upper", "-x", "a_b", &"x".repeat(54)] {
        let o = Options {
            release_name: Some(bad.to_owned()),
            ..opts()
        };
        let e = render(dir.path(), &o).unwrap_err().to_string();
        assert!(
            e.contains("invalid release name, must match regex"),
            "{bad}: {e}"
        );
    }
    let o = Options {
        release_name: Some("ok-1.two".into()),
        ..opts()
    };
    assert!(render(dir.path(), &o).is_ok());
}

#[test]
fn debug_keeps_the_rendered_files_of_a_yaml_error() {
    let dir = chart(&[CHART, ("templates/x.yaml", "a: b\n  c: d\n")]);
    let e = render(dir.path(), &opts()).unwrap_err();
    assert!(
        e.to_string()
            .ends_with("\n\nUse --debug flag to render out invalid YAML"),
        "{e}"
    );
    assert!(e.partial_output().is_none());
    let o = Options {
        debug: true,
        ..opts()
    };
    let e = render(dir.path(), &o).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("YAML parse error on c/templates/x.yaml: "),
        "{e}"
    );
    assert!(!e.to_string().contains("--debug"));
    assert_eq!(
        e.partial_output(),
        Some("---\n# Source: c/templates/x.yaml\na: b\n  c: d\n\n")
    );
}

#[test]
fn a_missing_chart_is_not_found() {
    let dir = chart(&[CHART]);
    let o = Options {
        chart: Some("nope".into()),
        ..opts()
    };
    let e = render(dir.path(), &o).unwrap_err().to_string();
    assert!(
        e.starts_with("path \"") && e.ends_with("nope\" not found"),
        "{e}"
    );
}
