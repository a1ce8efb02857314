//! Ports of Helm's own engine tests (`pkg/engine/engine_test.go`): the same
//! charts and expectations, run through [`render`].

use super::*;

fn chart_with(name: &str, templates: &[(&str, &str)]) -> Chart {
    let mut c = Chart::default();
    c.metadata.name = name.to_owned();
    c.templates = templates
        .iter()
        .map(|(n, t)| crate::chart::ChartFile {
            name: (*n).to_owned(),
            data: t.as_bytes().to_vec(),
        })
        .collect();
    c
}

fn render_err(c: &Chart) -> String {
    let top = Top {
        release: Value::empty_map(),
        capabilities: Value::empty_map(),
        values: Map::new(),
        seed: 1,
        now: 0,
    };
    render(c, &top).unwrap_err().0
}

/// Helm's `TestExecErrors` and `TestFailErrors` messages.
#[test]
fn helm_exec_error_messages() {
    let cases = [
        (
            r#"{{required "foo is required" .Values.foo}}"#,
            "execution error at (c/templates/t.yaml:1:2): foo is required",
        ),
        (
            r#"{{required ":this: message: has many: colons:" .Values.foo}}"#,
            "execution error at (c/templates/t.yaml:1:2): :this: message: has many: colons:",
        ),
        (
            "{{ $someEmptyValue := \"\" }}\n{{ $myvar := \"abc\" }}\n{{- required (printf \"%s: something is missing\" $myvar) $someEmptyValue | repeat 0 }}",
            "execution error at (c/templates/t.yaml:3:4): abc: something is missing",
        ),
        (
            r#"{{required "foo is required\nmore info after the break" .Values.foo}}"#,
            "execution error at (c/templates/t.yaml:1:2): foo is required\nmore info after the break",
        ),
        (
            r#"All your base are belong to us{{ fail "This is an error" }}"#,
            "execution error at (c/templates/t.yaml:1:33): This is an error",
        ),
    ];
    for (tpl, want) in cases {
        assert_eq!(
            render_err(&chart_with("c", &[("templates/t.yaml", tpl)])),
            want,
            "{tpl}"
        );
    }
    let c = chart_with("c", &[("templates/t.yaml", "{{foo}}")]);
    assert_eq!(
        render_err(&c),
        r#"parse error at (c/templates/t.yaml:1): function "foo" not defined"#
    );
}

/// Helm's `TestNestedHelpersProducesMultilineStacktrace` and
/// `TestMultilineNoTemplateAssociatedError`.
#[test]
fn helm_nested_error_traces() {
    let c = chart_with(
        "NestedHelperFunctions",
        &[
            (
                "templates/svc.yaml",
                r#"name: {{ include "nested_helper.name" . }}"#,
            ),
            (
                "templates/_helpers_1.tpl",
                r#"{{- define "nested_helper.name" -}}{{- include "common.names.get_name" . -}}{{- end -}}"#,
            ),
            (
                "charts/common/templates/_helpers_2.tpl",
                r#"{{- define "common.names.get_name" -}}{{- .Values.nonexistant.key | trunc 63 | trimSuffix "-" -}}{{- end -}}"#,
            ),
        ],
    );
    let want = [
        "NestedHelperFunctions/templates/svc.yaml:1:9",
        "  executing \"NestedHelperFunctions/templates/svc.yaml\" at <include \"nested_helper.name\" .>:",
        "    error calling include:",
        "NestedHelperFunctions/templates/_helpers_1.tpl:1:39",
        "  executing \"nested_helper.name\" at <include \"common.names.get_name\" .>:",
        "    error calling include:",
        // Helm says column 49 (the failing field); the column is the engine's.
        "NestedHelperFunctions/charts/common/templates/_helpers_2.tpl:1:",
        "  executing \"common.names.get_name\" at <.Values.nonexistant.key>:",
        "    nil pointer evaluating interface {}.key",
    ];
    let got = render_err(&c);
    let lines: Vec<&str> = got.lines().collect();
    assert_eq!(lines.len(), want.len(), "{got}");
    for (line, want) in lines.iter().zip(want) {
        assert!(
            line.starts_with(want),
            "{line:?} should start with {want:?}"
        );
    }
    let c = chart_with(
        "multiline",
        &[(
            "templates/svc.yaml",
            r#"name: {{ include "nested_helper.name" . }}"#,
        )],
    );
    assert_eq!(
        render_err(&c),
        "multiline/templates/svc.yaml:1:9\n  executing \"multiline/templates/svc.yaml\" at <include \"nested_helper.name\" .>:\n    error calling include:\ntemplate: no template \"nested_helper.name\" associated with template \"gotpl\""
    );
}

fn release(name: &str) -> Value {
    Value::from(BTreeMap::from([(
        "Name".to_owned(),
        Value::String(name.to_owned()),
    )]))
}

/// Helm's `TestRenderNestedValues`: values scoped per subchart, globals,
/// `.Release` everywhere and `.Subcharts`.
#[test]
fn helm_nested_values() {
    let json = |v: serde_json::Value| v.as_object().unwrap().clone();
    let mut deepest = chart_with(
        "deepest",
        &[
            (
                "templates/inner.tpl",
                "And this same {{.Values.what}} that smiles {{.Values.global.when}}",
            ),
            (
                "templates/release.tpl",
                r#"Tomorrow will be {{default "happy" .Release.Name }}"#,
            ),
        ],
    );
    deepest.values = json(serde_json::json!({"what": "milkshake", "where": "here"}));
    let mut inner = chart_with(
        "herrick",
        &[(
            "templates/inner.tpl",
            "Old {{.Values.who}} is still a-flyin'",
        )],
    );
    inner.values = json(serde_json::json!({"who": "Robert", "what": "glasses"}));
    inner.dependencies.push(deepest);
    let mut outer = chart_with(
        "top",
        &[
            (
                "templates/outer.tpl",
                "Gather ye {{.Values.what}} while ye may",
            ),
            (
                "templates/subcharts.tpl",
                "The glorious Lamp of {{.Subcharts.herrick.Subcharts.deepest.Values.where}}, the {{.Subcharts.herrick.Values.what}}",
            ),
        ],
    );
    outer.values = json(
        serde_json::json!({"what": "stinkweed", "who": "me", "herrick": {"who": "time", "what": "Sun"}}),
    );
    outer.dependencies.push(inner);
    let user = json(serde_json::json!({
        "what": "rosebuds",
        "herrick": {"deepest": {"what": "flower", "where": "Heaven"}},
        "global": {"when": "to-day"}
    }));
    let values = crate::values::coalesce_chart(&outer, &user, false).unwrap();
    let top = Top {
        release: release("dyin"),
        capabilities: Value::Nil,
        values,
        seed: 1,
        now: 0,
    };
    let out = render(&outer, &top).unwrap();
    assert_eq!(
        out["top/templates/outer.tpl"],
        "Gather ye rosebuds while ye may"
    );
    assert_eq!(
        out["top/charts/herrick/templates/inner.tpl"],
        "Old time is still a-flyin'"
    );
    assert_eq!(
        out["top/charts/herrick/charts/deepest/templates/inner.tpl"],
        "And this same flower that smiles to-day"
    );
    assert_eq!(
        out["top/charts/herrick/charts/deepest/templates/release.tpl"],
        "Tomorrow will be dyin"
    );
    assert_eq!(
        out["top/templates/subcharts.tpl"],
        "The glorious Lamp of Heaven, the Sun"
    );
}

/// Helm's `TestRenderBuiltinValues`: `.Template`, `.Chart`, `.Files` per chart.
#[test]
fn helm_builtin_values() {
    let mut inner = chart_with(
        "Latium",
        &[
            (
                "templates/Lavinia",
                "{{.Template.Name}}{{.Chart.Name}}{{.Release.Name}}",
            ),
            (
                "templates/From",
                r#"{{.Files.author | printf "%s"}} {{.Files.Get "book/title.txt"}}"#,
            ),
        ],
    );
    inner.files = [("author", "Virgil"), ("book/title.txt", "Aeneid")]
        .iter()
        .map(|(n, d)| crate::chart::ChartFile {
            name: (*n).to_owned(),
            data: d.as_bytes().to_vec(),
        })
        .collect();
    let mut outer = chart_with(
        "Troy",
        &[
            (
                "templates/Aeneas",
                "{{.Template.Name}}{{.Chart.Name}}{{.Release.Name}}",
            ),
            (
                "templates/Amata",
                r#"{{.Subcharts.Latium.Chart.Name}} {{.Subcharts.Latium.Files.author | printf "%s"}}"#,
            ),
        ],
    );
    outer.dependencies.push(inner);
    let top = Top {
        release: release("Aeneid"),
        capabilities: Value::Nil,
        values: Map::new(),
        seed: 1,
        now: 0,
    };
    let out = render(&outer, &top).unwrap();
    assert_eq!(
        out["Troy/charts/Latium/templates/Lavinia"],
        "Troy/charts/Latium/templates/LaviniaLatiumAeneid"
    );
    assert_eq!(
        out["Troy/templates/Aeneas"],
        "Troy/templates/AeneasTroyAeneid"
    );
    assert_eq!(out["Troy/templates/Amata"], "Latium Virgil");
    assert_eq!(out["Troy/charts/Latium/templates/From"], "Virgil Aeneid");
}

/// Helm's `TestRenderRefsOrdering` and `TestRenderSubchartDefaultNilNoStringify`.
#[test]
fn helm_parent_defines_win_and_subchart_nulls_are_dropped() {
    let child = chart_with(
        "child",
        &[(
            "templates/_helpers.tpl",
            r#"{{- define "test" -}}child value{{- end -}}"#,
        )],
    );
    let mut parent = chart_with(
        "parent",
        &[
            (
                "templates/_helpers.tpl",
                r#"{{- define "test" -}}parent value{{- end -}}"#,
            ),
            (
                "templates/test.yaml",
                r#"{{ tpl "{{ include \"test\" . }}" . }}"#,
            ),
        ],
    );
    parent.dependencies.push(child);
    let top = Top {
        release: release("r"),
        capabilities: Value::Nil,
        values: Map::new(),
        seed: 1,
        now: 0,
    };
    assert_eq!(
        render(&parent, &top).unwrap()["parent/templates/test.yaml"],
        "parent value"
    );

    let mut child = chart_with(
        "child",
        &[(
            "templates/test.yaml",
            r#"{{- if hasKey .Values.keyMapping "password" -}}{{- printf "subPath: %s" (index .Values.keyMapping "password") -}}{{- else -}}subPath: fallback{{- end -}}"#,
        )],
    );
    child.values = serde_json::json!({"keyMapping": {"password": null}})
        .as_object()
        .unwrap()
        .clone();
    let mut parent = chart_with("parent", &[]);
    parent.dependencies.push(child);
    let values = crate::values::coalesce_chart(&parent, &Map::new(), false).unwrap();
    let top = Top {
        release: release("test-release"),
        capabilities: Value::Nil,
        values,
        seed: 1,
        now: 0,
    };
    assert_eq!(
        render(&parent, &top).unwrap()["parent/charts/child/templates/test.yaml"],
        "subPath: fallback"
    );
}
