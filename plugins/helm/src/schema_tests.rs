use serde_json::json;

use super::*;

fn chart_with(schema: &Value) -> Chart {
    let mut c = Chart::default();
    c.metadata.name = "chrt".into();
    c.schema = Some(serde_json::to_vec(schema).unwrap());
    c
}

fn obj(v: &Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

#[test]
fn helm_negative_example() {
    let schema = json!({
        "type": "object",
        "required": ["firstname", "employmentInfo"],
        "properties": {"age": {"type": "integer", "minimum": 0}, "firstname": {"type": "string"}}
    });
    let err = validate(
        &chart_with(&schema),
        &obj(&json!({"firstname": "J", "age": -5.0})),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "values don't meet the specifications of the schema(s) in the following chart(s):\nchrt:\n- at '': missing property 'employmentInfo'\n- at '/age': minimum: got -5, want 0\n"
    );
}

#[test]
fn types_enums_patterns_and_additional() {
    let schema = json!({
        "properties": {
            "name": {"type": "string", "pattern": "^[a-z]+$"},
            "mode": {"enum": ["a", "b"]},
            "list": {"type": "array", "items": {"type": "string"}}
        },
        "additionalProperties": false
    });
    let c = chart_with(&schema);
    assert!(
        validate(
            &c,
            &obj(&json!({"name": "abc", "mode": "a", "list": ["x"]}))
        )
        .is_ok()
    );
    let e = validate(
        &c,
        &obj(&json!({"name": "A1", "mode": "c", "list": [1.0], "zz": 1})),
    )
    .unwrap_err()
    .0;
    assert!(
        e.contains("- at '/name': 'A1' does not match pattern '^[a-z]+$'"),
        "{e}"
    );
    assert!(e.contains("- at '/mode': value must be one of"), "{e}");
    assert!(e.contains("- at '/list/0': got number, want string"), "{e}");
    assert!(
        e.contains("- at '': additional properties 'zz' not allowed"),
        "{e}"
    );
}

#[test]
fn subchart_schemas_see_their_values() {
    let mut sub = chart_with(&json!({"required": ["age"]}));
    sub.metadata.name = "subchart".into();
    let mut top = Chart::default();
    top.metadata.name = "top".into();
    top.dependencies.push(sub);
    let e = validate(&top, &obj(&json!({"subchart": {}})))
        .unwrap_err()
        .0;
    assert_eq!(e, "subchart:\n- at '': missing property 'age'\n");
}

#[test]
fn nested_failures_are_grouped() {
    let schema = json!({
        "properties": {
            "job": {"type": "object", "required": ["salary"], "properties": {"title": {"type": "string"}}},
            "tags": {"type": "array", "contains": {"type": "string"}},
            "mode": {"enum": ["a"]}
        }
    });
    let c = chart_with(&schema);
    let e = validate(
        &c,
        &obj(&json!({"job": {"title": 1.0}, "tags": [1.0], "mode": "b"})),
    )
    .unwrap_err()
    .0;
    assert_eq!(
        e,
        "chrt:\n\
         - at '/job': validation failed\n  - at '/job': missing property 'salary'\n  - at '/job/title': got number, want string\n\
         - at '/mode': value must be 'a'\n\
         - at '/tags': no items match contains schema\n  - at '/tags/0': got number, want string\n"
    );
}

#[test]
fn local_refs_are_followed() {
    let schema = json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "definitions": {"port": {"type": "integer", "maximum": 65535}},
        "properties": {"http": {"$ref": "#/definitions/port", "minimum": 100_000}}
    });
    let c = chart_with(&schema);
    assert!(
        validate(&c, &obj(&json!({"http": 8080.0}))).is_ok(),
        "draft 7 ignores keywords beside $ref"
    );
    let e = validate(&c, &obj(&json!({"http": 70000.0}))).unwrap_err().0;
    assert_eq!(e, "chrt:\n- at '/http': maximum: got 70000, want 65535\n");
    let schema = json!({
        "$defs": {"port": {"type": "integer"}},
        "properties": {"http": {"$ref": "#/$defs/port", "minimum": 1000}}
    });
    let e = validate(&chart_with(&schema), &obj(&json!({"http": 80.0})))
        .unwrap_err()
        .0;
    assert_eq!(e, "chrt:\n- at '/http': minimum: got 80, want 1000\n");
}
