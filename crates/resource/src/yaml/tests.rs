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

/// The fast reader takes `text` and reads it exactly as the full parser does.
fn fast_agrees(text: &str) {
    let fast = fast_stream(text).unwrap_or_else(|| panic!("the fast reader declined:\n{text}"));
    let full = full_stream(text, "t.yaml").unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(fast, full, "text was:\n{text}");
    if let Some(one) = fast_one(text) {
        assert_eq!(
            Ok(one),
            full_one(text, "t.yaml").map_err(|e| e.to_string()),
            "{text}"
        );
    }
}

#[test]
fn the_fast_reader_reads_what_templates_print_as_the_full_parser_does() {
    for text in [
        // Mappings, sequences not indented and indented, compact forms.
        "a: 1\nb:\n  c: x\n  d:\n  - 1\n  - -2\n  e:\n    - y\n",
        "- a: 1\n  b: 2\n- - x\n  - y\n-\n- ''\n",
        "k:\n- name: a\n  v:\n  - 1\nz: ~\n",
        // Scalars the full parser resolves: numbers, booleans, nulls.
        "a: 007\nb: 0x1F\nc: 1e3\ne: yes\nf: Off\ng: null\nh: NULL\ni: 12345678901234567890123\nj: -0\nk: +1\nl: 1_000\n",
        // Strings that look almost special, comments, URLs, colons.
        "a: http://x:80/y # c\nb: a#b\nc: yesno\nd: 'it''s'\ne: \"t\\tab \\u00e9\\x41\"\nf: -foo\ng: --set=a\n",
        // Empty and flow values.
        "a: {}\nb: []\nc: [x, \"y\", 'z', 1, true]\nd:\n  {}\ne:\n  []\nf:\ng:\n",
        // Literal blocks: clip, strip, keep, blank lines, comments inside.
        "a: |\n  x\n\n  # not a comment\n    y\nb: |-\n  z\n\n\nc: |+\n  w\n\n\nd: |\ne: 1\n",
        // Plain and quoted scalars over several lines.
        "a: one\n  two\n\n  three\nb: 'one\n  two\n\n  three'\nc: \"one \\\n  two\\n  three\"\nd: x\n",
        "a:\n  ~x\n  y\n\n  z\nb: 1\n\n  2\n",
        "- description: 'Refresh indicates if the latest revision should\n    be used (default: false)'\n  type: boolean\n",
        // Documents: markers, comments, empty documents.
        "# head\n---\na: 1\n--- # c\n---\n# only a comment\n---\nb: 2\n",
        "a: 1\n---\n- x\n",
    ] {
        fast_agrees(text);
    }
}

#[test]
fn the_fast_reader_leaves_the_rest_to_the_full_parser() {
    for text in [
        // Anchors, tags, flow mappings, folded blocks, indentation indicators.
        "a: &x 1\nb: *x\n",
        "a: !!str 1\n",
        "a: {b: 1}\n",
        // A float the full parser refuses (non-finite).
        "a: .inf\n",
        // A kept block whose text ends in a blank line without a line break.
        "a: |+\n    x\n ",
        "a: >\n  x\n",
        "a: |2\n   x\n",
        // Repeated keys, merge keys, keys that resolve to other types.
        "a: 1\na: 2\n",
        "<<: {}\n",
        "1: x\n",
        "true: x\n",
        // Tabs, carriage returns, a byte order mark, `...`, directives.
        "a:\t1\n",
        "a: 1\r\n",
        "\u{feff}a: 1\n",
        "a: 1\n...\n",
        "%YAML 1.2\n---\na: 1\n",
        // A document that is a scalar, and errors.
        "just text\n",
        "a: b: c\n",
        "a: 'open\n",
        "a:\n  - x\n y: 1\n",
    ] {
        assert!(fast_stream(text).is_none(), "the fast reader took:\n{text}");
        // What the full parser makes of it is what `parse_stream` gives.
        let full = full_stream(text, "t.yaml")
            .map(|d| d.into_iter().filter(|v| !v.is_null()).collect::<Vec<_>>());
        let api = parse_stream(text, "t.yaml");
        assert_eq!(full.is_ok(), api.is_ok(), "{text}");
    }
}

#[test]
fn deep_or_huge_texts_are_left_to_the_full_parsers_budgets() {
    let mut deep = String::new();
    for i in 0..80 {
        deep.push_str(&"  ".repeat(i));
        deep.push_str("k:\n");
    }
    assert!(fast_stream(&deep).is_none());
    assert!(
        parse_stream(&deep, "deep.yaml").is_err(),
        "the full parser refuses 80 levels"
    );
    let many = "- 1\n".repeat(300_000);
    assert!(fast_stream(&many).is_none());
}

/// Regression test (found by the `yaml_stream` fuzz target): a key longer
/// than an implicit key may be is written as an explicit `? key`, and reads
/// back.
#[test]
fn keys_too_long_for_an_implicit_key_are_written_explicitly() {
    let long = "k".repeat(1_500);
    let quoted = format!("{}\n{}", "q".repeat(600), "r".repeat(600));
    let doc = json!({
        "short": 1,
        long.clone(): {"a": [1, 2]},
        quoted.clone(): [{"b": "c"}],
        "after": "x",
    });
    let text = to_string(&doc);
    assert!(text.contains(&format!("? {long}\n:")), "{text}");
    roundtrip(&doc);
    assert_eq!(full_stream(&text, "t.yaml").unwrap(), vec![doc]);
}
