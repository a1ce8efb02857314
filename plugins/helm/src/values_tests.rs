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

fn lookup(v: &Map<String, Value>, path: &str) -> String {
    let mut cur = v;
    let parts: Vec<&str> = path.split('.').collect();
    for (i, p) in parts.iter().enumerate() {
        match cur.get(*p) {
            Some(Value::Object(m)) if i + 1 < parts.len() => cur = m,
            Some(Value::String(s)) if i + 1 == parts.len() => return s.clone(),
            Some(Value::Bool(b)) if i + 1 == parts.len() => return b.to_string(),
            _ => return "<no value>".to_owned(),
        }
    }
    "<no value>".to_owned()
}

/// Helm's `TestCoalesceValues`: the same charts, values and expectations.
#[test]
fn coalescing_matches_helms_own_test() {
    let ahab = chart(
        "ahab",
        json!({"global": {"nested": {"foo": "bar", "foo2": "bar2"}, "nested2": {"l2": "ahab"}},
               "scope": "ahab", "name": "ahab", "boat": true,
               "nested": {"foo": false, "boat": true}, "object": {"foo": "bar"}}),
        vec![],
    );
    let pequod = chart(
        "pequod",
        json!({"name": "pequod", "scope": "pequod", "global": {"nested2": {"l1": "pequod"}},
               "boat": false, "ahab": {"boat": false, "nested": {"boat": false}}}),
        vec![ahab],
    );
    let spouter = chart(
        "spouter",
        json!({"scope": "spouter", "global": {"nested2": {"l1": "spouter"}}}),
        vec![],
    );
    let moby = chart(
        "moby",
        json!({"back": "exists", "bottom": "exists", "front": "exists", "left": "exists", "name": "moby",
               "nested": {"boat": true}, "override": "bad", "right": "exists", "scope": "moby", "top": "nope",
               "global": {"nested2": {"l0": "moby"}},
               "pequod": {"boat": "maybe", "ahab": {"boat": "maybe", "nested": {"boat": "maybe"}}}}),
        vec![pequod, spouter],
    );
    let user = obj(json!({
        "top": "yup", "bottom": null, "right": null, "left": null, "front": null, "back": "",
        "nested": {"boat": null},
        "global": {"name": "Ishmael", "subject": "Queequeg", "nested": {"boat": true}},
        "pequod": {"boat": null,
                   "global": {"name": "Stinky", "harpooner": "Tashtego", "nested": {"boat": false, "sail": true, "foo2": null}},
                   "ahab": {"scope": "whale", "boat": null, "nested": {"foo": true, "boat": null}, "object": null}}
    }));
    let v = coalesce_chart(&moby, &user, false).unwrap();
    let expect = [
        ("top", "yup"),
        ("back", ""),
        ("name", "moby"),
        ("global.name", "Ishmael"),
        ("global.subject", "Queequeg"),
        ("global.harpooner", "<no value>"),
        ("pequod.name", "pequod"),
        ("pequod.ahab.name", "ahab"),
        ("pequod.ahab.scope", "whale"),
        ("pequod.ahab.nested.foo", "true"),
        ("pequod.ahab.global.name", "Ishmael"),
        ("pequod.ahab.global.nested.foo", "bar"),
        ("pequod.ahab.global.nested.foo2", "<no value>"),
        ("pequod.ahab.global.subject", "Queequeg"),
        ("pequod.ahab.global.harpooner", "Tashtego"),
        ("pequod.global.name", "Ishmael"),
        ("pequod.global.nested.foo", "<no value>"),
        ("pequod.global.subject", "Queequeg"),
        ("spouter.global.name", "Ishmael"),
        ("spouter.global.harpooner", "<no value>"),
        ("global.nested.boat", "true"),
        ("pequod.global.nested.boat", "true"),
        ("spouter.global.nested.boat", "true"),
        ("pequod.global.nested.sail", "true"),
        ("spouter.global.nested.sail", "<no value>"),
        ("global.nested2.l0", "moby"),
        ("global.nested2.l1", "<no value>"),
        ("global.nested2.l2", "<no value>"),
        ("pequod.global.nested2.l0", "moby"),
        ("pequod.global.nested2.l1", "pequod"),
        ("pequod.global.nested2.l2", "<no value>"),
        ("pequod.ahab.global.nested2.l0", "moby"),
        ("pequod.ahab.global.nested2.l1", "pequod"),
        ("pequod.ahab.global.nested2.l2", "ahab"),
        ("spouter.global.nested2.l0", "moby"),
        ("spouter.global.nested2.l1", "spouter"),
        ("spouter.global.nested2.l2", "<no value>"),
    ];
    for (path, want) in expect {
        assert_eq!(lookup(&v, path), want, "{path}");
    }
    for gone in ["bottom", "right", "left", "front"] {
        assert!(!v.contains_key(gone), "{gone} should be removed");
    }
    assert!(v["nested"].get("boat").is_none());
    assert!(v["pequod"].get("boat").is_none());
    assert!(v["pequod"]["ahab"].get("boat").is_none());
    assert!(v["pequod"]["ahab"]["nested"].get("boat").is_none());
    assert!(v["pequod"]["ahab"].get("object").is_none());
}
