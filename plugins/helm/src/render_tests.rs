use super::*;

fn exec_err(text: &str) -> String {
    let mut t = Templates::new();
    t.add("c/templates/x.yaml", text).unwrap();
    let e = t
        .execute("c/templates/x.yaml", &Value::empty_map())
        .unwrap_err();
    exec_error("c/templates/x.yaml", &e).0
}

#[test]
fn template_order_is_deepest_first_then_reverse_name() {
    let mut tpls = BTreeMap::new();
    for n in [
        "a/templates/x.yaml",
        "a/templates/y.yaml",
        "a/charts/b/templates/z.yaml",
    ] {
        let scope = kiln_gotmpl::Map::new();
        tpls.insert(
            n.to_owned(),
            Renderable {
                text: String::new(),
                scope,
                base_path: String::new(),
            },
        );
    }
    assert_eq!(
        sorted_names(&tpls),
        vec![
            "a/charts/b/templates/z.yaml",
            "a/templates/y.yaml",
            "a/templates/x.yaml"
        ]
    );
}

#[test]
fn fail_and_required_read_as_helm_prints_them() {
    assert_eq!(
        exec_err("a: {{ fail \"boom\" }}"),
        "execution error at (c/templates/x.yaml:1:6): boom"
    );
    assert_eq!(
        exec_err("{{ define \"d\" }}{{ required \"need x\" .x }}{{ end }}a: {{ include \"d\" . }}"),
        "execution error at (c/templates/x.yaml:1:57): need x"
    );
}

#[test]
fn other_exec_errors_are_traced() {
    let e = exec_err("a: {{ .x.y.z }}");
    assert_eq!(
        e,
        "c/templates/x.yaml:1:8\n  executing \"c/templates/x.yaml\" at <.x.y.z>:\n    nil pointer evaluating interface {}.y"
    );
}

#[test]
fn parse_errors_name_template_and_line() {
    let mut t = Templates::new();
    let e = t
        .add("c/templates/x.yaml", "a: 1\nb: {{ nosuchfn }}\n")
        .unwrap_err();
    assert_eq!(
        parse_error("c/templates/x.yaml", &e).0,
        "parse error at (c/templates/x.yaml:2): function \"nosuchfn\" not defined"
    );
}

#[test]
fn template_values_keep_int_and_float_apart() {
    assert!(matches!(
        to_template(&serde_json::json!(1)),
        Value::Int64(1)
    ));
    let f = crate::values::floats_everywhere(serde_json::json!(1));
    assert!(matches!(to_template(&f), Value::Float(x) if (x - 1.0).abs() < f64::EPSILON));
}
