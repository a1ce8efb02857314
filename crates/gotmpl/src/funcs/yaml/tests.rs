//! `toYaml` and `toYamlPretty` of strings, against output of `helm template` v4.1.4.

use crate::{Templates, Value};

fn render(text: &str, data: &serde_json::Value) -> String {
    let mut t = Templates::new();
    t.add("t", text).expect("parses");
    t.execute("t", &Value::from(data.clone())).expect("renders")
}

#[test]
fn characters_outside_the_bmp_are_escaped_in_double_quotes() {
    let data = serde_json::json!({"e2": "emoji \u{1F600}\nline", "e3": "\u{1F600}"});
    let want = "e2: \"emoji \\U0001F600\\nline\"\ne3: \"\\U0001F600\"";
    assert_eq!(render("{{ toYaml . }}", &data), want);
    assert_eq!(render("{{ toYamlPretty . }}", &data), want);
}

#[test]
fn tabs_quote_in_to_yaml_and_stay_literal_in_to_yaml_pretty() {
    let data = serde_json::json!({
        "t1": "a\tb", "t2": "\tlead\nx", "t3": "x\n\ty\n", "t4": "trail\t\nx"
    });
    assert_eq!(
        render("{{ toYaml . }}", &data),
        "t1: \"a\\tb\"\nt2: \"\\tlead\\nx\"\nt3: \"x\\n\\ty\\n\"\nt4: \"trail\\t\\nx\""
    );
    assert_eq!(
        render("{{ toYamlPretty . }}", &data),
        "t1: \"a\\tb\"\nt2: |-\n  \tlead\n  x\nt3: |\n  x\n  \ty\nt4: |-\n  trail\t\n  x"
    );
}

#[test]
fn multi_line_strings_are_literal_blocks_at_any_depth() {
    let data = serde_json::json!({
        "s4": "  leading\nspace\n", "s6": "\nleading newline", "s15": "\n",
        "nested": [[["deep\nstring\n"]], {"a": {"b": "x\ny"}}]
    });
    assert_eq!(
        render("{{ toYaml . | nindent 2 }}", &data),
        "\n  nested:\n  - - - |\n        deep\n        string\n  - a:\n      b: |-\n        x\n        y\n  s4: |2\n      leading\n    space\n  s6: |2-\n  \n    leading newline\n  s15: |2+\n  "
    );
}

#[test]
fn from_yaml_keeps_the_last_of_a_repeated_key() {
    let text = r#"{{ fromYaml "a: 1\nb:\n  c: 2\na: 3\nb:\n  d: 4\n" | toJson }}"#;
    assert_eq!(
        render(text, &serde_json::json!({})),
        r#"{"a":3,"b":{"d":4}}"#
    );
}

/// U+2028 and U+2029 are line breaks to libyaml: copied as they are, then
/// the indentation (output of `helm template` v4.1.4).
#[test]
fn unicode_line_separators_break_lines_as_libyaml_writes_them() {
    let data = serde_json::json!({"a": "x\u{2028}y", "b": "p\u{2029}q\n"});
    let want = "a: 'x\u{2028}  y'\nb: |\n  p\u{2029}  q";
    assert_eq!(render("{{ toYaml . }}", &data), want);
    assert_eq!(render("{{ toYamlPretty . }}", &data), want);
    assert_eq!(render("{{ toYaml .a }}", &data), "'x\u{2028}  y'");
}

#[test]
fn to_toml_names_a_nil_inside_an_array() {
    // A nil map value is left out; a nil array element fails (helm v4.1.4).
    let data = serde_json::json!({"l": {"a": [1, null]}, "m": {"k": null}});
    assert_eq!(
        render(r#"{{ print (toToml .l) "|" (toToml .m) }}"#, &data),
        "toml: cannot encode array with nil element|"
    );
}
