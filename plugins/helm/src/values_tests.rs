use serde_json::json;

use super::*;

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

fn chart(name: &str, values: Value, deps: Vec<Chart>) -> Chart {
    let mut c = Chart::default();
    c.metadata.name = name.to_owned();
    c.values = obj(values);
    c.dependencies = deps;
    c
}

#[test]
fn user_values_win_and_null_deletes() {
    let c = chart(
        "top",
        json!({"a": 1, "b": {"c": 2, "d": 3}, "e": "x"}),
        vec![],
    );
    let out = coalesce_chart(
        &c,
        &obj(json!({"a": 5, "b": {"d": null}, "e": null})),
        false,
    )
    .unwrap();
    assert_eq!(Value::Object(out), json!({"a": 5, "b": {"c": 2}}));
}

#[test]
fn merge_keeps_nulls() {
    let c = chart("top", json!({"b": {"c": 2, "d": 3}}), vec![]);
    let out = coalesce_chart(&c, &obj(json!({"b": {"d": null}})), true).unwrap();
    assert_eq!(Value::Object(out), json!({"b": {"c": 2, "d": null}}));
}

#[test]
fn subchart_values_and_globals() {
    let sub = chart("sub", json!({"x": 1, "global": {"g": "sub"}}), vec![]);
    let c = chart(
        "top",
        json!({"global": {"g": "top", "h": 1}, "sub": {"x": 2}}),
        vec![sub],
    );
    let out = coalesce_chart(&c, &Map::new(), false).unwrap();
    assert_eq!(out["sub"]["x"], json!(2));
    assert_eq!(out["sub"]["global"], json!({"g": "top", "h": 1}));
}

#[test]
fn subchart_type_mismatch_is_an_error() {
    let sub = chart("sub", json!({}), vec![]);
    let c = chart("top", json!({"sub": "oops"}), vec![sub]);
    assert_eq!(
        coalesce_chart(&c, &Map::new(), false).unwrap_err(),
        "type mismatch on sub: %!t(string=oops)"
    );
}

#[test]
fn merge_maps_and_paths() {
    let m = merge_maps(
        obj(json!({"a": {"b": 1, "c": 2}, "d": 1})),
        obj(json!({"a": {"b": 3}, "d": {"x": 1}})),
    );
    assert_eq!(
        Value::Object(m.clone()),
        json!({"a": {"b": 3, "c": 2}, "d": {"x": 1}})
    );
    assert_eq!(path_value(&m, "a.c"), Some(&json!(2)));
    assert_eq!(path_value(&m, "a"), None);
    assert!(table(&m, "d").is_some());
    assert_eq!(floats_everywhere(json!({"n": 1}))["n"].as_f64(), Some(1.0));
    assert!(floats_everywhere(json!({"n": 1}))["n"].is_f64());
}
