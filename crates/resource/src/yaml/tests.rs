use serde_json::json;

use super::*;

fn roundtrip(v: &Value) {
    let text = to_string(v);
    let back = parse_one(&text, "t.yaml").unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(&back, v, "text was:\n{text}");
}

#[test]
fn writes_kubectl_layout() {
    let doc = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {"template": {"spec": {"containers": [
            {"name": "app", "image": "nginx:1.25", "args": ["--port", "80"], "env": []}
        ]}}}
    });
    let expected = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  template:
    spec:
      containers:
      - name: app
        image: nginx:1.25
        args:
        - --port
        - \"80\"
        env: []
";
    assert_eq!(to_string(&doc), expected);
    roundtrip(&doc);
}

#[test]
fn quotes_strings_that_would_read_back_as_other_types() {
    for s in [
        "true",
        "yes",
        "on",
        "No",
        "null",
        "~",
        "1",
        "1.5",
        "-3",
        "0x1F",
        "1e3",
        "1:20",
        "2024-01-01",
        "",
    ] {
        let text = to_string(&json!({ "k": s }));
        assert_eq!(text, format!("k: \"{s}\"\n"));
        roundtrip(&json!({ "k": s }));
    }
}

#[test]
fn quotes_strings_with_indicators() {
    assert_eq!(to_string(&json!({"k": "a: b"})), "k: 'a: b'\n");
    assert_eq!(to_string(&json!({"k": "*star"})), "k: '*star'\n");
    assert_eq!(to_string(&json!({"k": "it's # x"})), "k: 'it''s # x'\n");
    assert_eq!(to_string(&json!({"k": " lead"})), "k: \" lead\"\n");
    assert_eq!(to_string(&json!({"k": "tab\there"})), "k: \"tab\\there\"\n");
    assert_eq!(to_string(&json!({"k": "-x"})), "k: -x\n");
    assert_eq!(to_string(&json!({"k": "- x"})), "k: '- x'\n");
    for s in [
        "a: b",
        "*star",
        "it's # x",
        " lead",
        "tab\there",
        "-x",
        "- x",
        "{x}",
        "@a",
        "%x",
        "`c`",
    ] {
        roundtrip(&json!({ "k": s }));
    }
}

#[test]
fn multi_line_strings_are_literal_blocks() {
    let doc = json!({"data": {"a": "x\ny\n", "b": "x\ny", "c": "x\n\n", "d": "  indented\nz\n"}});
    let text = to_string(&doc);
    assert!(text.contains("a: |\n    x\n    y\n"), "{text}");
    assert!(text.contains("b: |-\n    x\n    y\n"), "{text}");
    roundtrip(&doc);
}

#[test]
fn nested_sequences_and_empty_collections() {
    let doc = json!({"a": [[1, 2], [], {}, [{"b": null}]], "c": {}, "d": [], "e": 1.5, "f": false});
    roundtrip(&doc);
    assert_eq!(to_string(&json!([1, [2, 3]])), "- 1\n- - 2\n  - 3\n");
}

#[test]
fn streams_drop_empty_documents() {
    let docs = parse_stream(
        "---\na: 1\n---\n# only a comment\n---\nb: 2\n...\n",
        "s.yaml",
    )
    .unwrap();
    assert_eq!(docs, vec![json!({"a": 1}), json!({"b": 2})]);
    assert_eq!(to_stream(&docs), "a: 1\n---\nb: 2\n");
}

#[test]
fn errors_name_file_and_line() {
    let err = parse_stream("a: 1\nb: [1, 2\nc: 3\n", "apps/web.yaml").unwrap_err();
    assert_eq!(err.file, "apps/web.yaml");
    assert!(err.line >= 2, "{err:?}");
    assert!(err.to_string().starts_with("apps/web.yaml:"), "{err}");
}

/// Found by the `yaml_stream` fuzz target: a top-level string whose lines
/// start with a document marker was written as a block at column 0, where
/// `...` and `---` end or start a document.
#[test]
fn top_level_strings_with_document_markers_read_back() {
    for s in ["k\n... [f:x", "a\n--- b\nc", "x\n...\n"] {
        let text = to_stream(&[json!(s)]);
        let back = parse_stream(&text, "s.yaml").unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(back, vec![json!(s)], "{text}");
    }
}
