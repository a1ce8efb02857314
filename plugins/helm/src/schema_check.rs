//! The JSON Schema keywords, producing failures as the validator Helm
//! uses reports them.

use serde_json::{Map, Value};

use super::util::{
    before_2019, display, equal, is_primitive, is_type, num, quote_list, resolve, type_of,
};

/// One validation failure, with the failures it groups (as the validator
/// Helm uses prints them: a tree of `- at '/path': message` lines).
pub(super) struct Failure {
    at: String,
    message: String,
    causes: Vec<Failure>,
}

fn fail(at: &str, message: String) -> Failure {
    Failure {
        at: at.to_owned(),
        message,
        causes: Vec::new(),
    }
}

pub(super) fn render_failures(list: &[Failure], depth: usize, out: &mut Vec<String>) {
    for f in list {
        out.push(format!(
            "{}- at '{}': {}",
            "  ".repeat(depth),
            f.at,
            f.message
        ));
        render_failures(&f.causes, depth + 1, out);
    }
}

/// Validates `v` at `at` against `schema`: the failures of that one
/// application (several become a "validation failed" group).
fn validate_at(root: &Value, schema: &Value, v: &Value, at: &str) -> Option<Failure> {
    let mut errs = check(root, schema, v, at);
    match errs.len() {
        0 => None,
        1 => errs.pop(),
        _ => Some(Failure {
            at: at.to_owned(),
            message: "validation failed".to_owned(),
            causes: errs,
        }),
    }
}

pub(super) fn check(root: &Value, schema: &Value, v: &Value, at: &str) -> Vec<Failure> {
    let s = match schema {
        Value::Bool(false) => return vec![fail(at, "false schema".to_owned())],
        Value::Object(s) => s,
        _ => return Vec::new(),
    };
    if let Some(t) = s.get("type") {
        let want: Vec<&str> = match t {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !want.is_empty() && !want.iter().any(|w| is_type(v, w)) {
            return vec![fail(
                at,
                format!("got {}, want {}", type_of(v), want.join(" or ")),
            )];
        }
    }
    if let Some(c) = s.get("const")
        && !equal(c, v)
    {
        let m = if is_primitive(c) {
            format!("value must be {}", display(c))
        } else {
            "const failed".to_owned()
        };
        return vec![fail(at, m)];
    }
    if let Some(Value::Array(options)) = s.get("enum")
        && !options.iter().any(|o| equal(o, v))
    {
        let m = if !options.iter().all(is_primitive) {
            "enum failed".to_owned()
        } else if options.len() == 1 {
            format!("value must be {}", display(&options[0]))
        } else {
            let list: Vec<String> = options.iter().map(display).collect();
            format!("value must be one of {}", list.join(", "))
        };
        return vec![fail(at, m)];
    }
    let mut errs = Vec::new();
    if let Some(Value::String(reference)) = s.get("$ref")
        && let Some(target) = resolve(root, reference)
    {
        let res = validate_at(root, target, v, at);
        if before_2019(root) {
            // Draft 7 and earlier: `$ref` replaces its sibling keywords.
            return res.into_iter().collect();
        }
        errs.extend(res);
    }
    match v {
        Value::Object(obj) => object(root, s, obj, at, &mut errs),
        Value::Array(items) => array(root, s, items, at, &mut errs),
        Value::String(text) => string(s, text, at, &mut errs),
        Value::Number(_) => number(s, v, at, &mut errs),
        _ => {}
    }
    combinators(root, s, v, at, &mut errs);
    errs
}

/// A bound check: whether the value breaks the bound.
type Broken = fn(f64, f64) -> bool;

fn number(s: &Map<String, Value>, v: &Value, at: &str, errs: &mut Vec<Failure>) {
    let f = v.as_f64().unwrap_or_default();
    let bound = |k: &str| s.get(k).and_then(Value::as_f64);
    let checks: [(&str, Broken); 4] = [
        ("minimum", |x, m| x < m),
        ("maximum", |x, m| x > m),
        ("exclusiveMinimum", |x, m| x <= m),
        ("exclusiveMaximum", |x, m| x >= m),
    ];
    for (key, broken) in checks {
        if bound(key).is_some_and(|m| broken(f, m)) {
            errs.push(fail(
                at,
                format!("{key}: got {}, want {}", num(v), num(&s[key])),
            ));
        }
    }
    if let Some(m) = bound("multipleOf").filter(|m| *m != 0.0)
        && (f / m).fract() != 0.0
    {
        errs.push(fail(
            at,
            format!("multipleOf: got {}, want {}", num(v), num(&s["multipleOf"])),
        ));
    }
}

fn string(s: &Map<String, Value>, text: &str, at: &str, errs: &mut Vec<Failure>) {
    let len = text.chars().count() as u64;
    if let Some(m) = s
        .get("minLength")
        .and_then(Value::as_u64)
        .filter(|m| len < *m)
    {
        errs.push(fail(at, format!("minLength: got {len}, want {m}")));
    }
    if let Some(m) = s
        .get("maxLength")
        .and_then(Value::as_u64)
        .filter(|m| len > *m)
    {
        errs.push(fail(at, format!("maxLength: got {len}, want {m}")));
    }
    if let Some(p) = s.get("pattern").and_then(Value::as_str)
        && regex::Regex::new(p).is_ok_and(|re| !re.is_match(text))
    {
        errs.push(fail(at, format!("'{text}' does not match pattern '{p}'")));
    }
}

fn array(root: &Value, s: &Map<String, Value>, items: &[Value], at: &str, errs: &mut Vec<Failure>) {
    let len = items.len() as u64;
    if let Some(m) = s
        .get("minItems")
        .and_then(Value::as_u64)
        .filter(|m| len < *m)
    {
        errs.push(fail(at, format!("minItems: got {len}, want {m}")));
    }
    if let Some(m) = s
        .get("maxItems")
        .and_then(Value::as_u64)
        .filter(|m| len > *m)
    {
        errs.push(fail(at, format!("maxItems: got {len}, want {m}")));
    }
    if s.get("uniqueItems") == Some(&Value::Bool(true)) {
        let dup = (0..items.len())
            .flat_map(|i| (i + 1..items.len()).map(move |j| (i, j)))
            .find(|&(i, j)| equal(&items[i], &items[j]));
        if let Some((i, j)) = dup {
            errs.push(fail(at, format!("items at {i} and {j} are equal")));
        }
    }
    let item_schema = |i: usize| match s.get("items") {
        Some(Value::Array(tuple)) => tuple.get(i),
        other => other,
    };
    for (i, item) in items.iter().enumerate() {
        if let Some(sch) = item_schema(i) {
            errs.extend(validate_at(root, sch, item, &format!("{at}/{i}")));
        }
    }
    if let Some(contains) = s.get("contains") {
        let causes: Vec<Failure> = items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| validate_at(root, contains, item, &format!("{at}/{i}")))
            .collect();
        if causes.len() == items.len() {
            errs.push(Failure {
                at: at.to_owned(),
                message: "no items match contains schema".to_owned(),
                causes,
            });
        }
    }
}

fn object(
    root: &Value,
    s: &Map<String, Value>,
    obj: &Map<String, Value>,
    at: &str,
    errs: &mut Vec<Failure>,
) {
    let len = obj.len() as u64;
    if let Some(m) = s
        .get("minProperties")
        .and_then(Value::as_u64)
        .filter(|m| len < *m)
    {
        errs.push(fail(at, format!("minProperties: got {len}, want {m}")));
    }
    if let Some(m) = s
        .get("maxProperties")
        .and_then(Value::as_u64)
        .filter(|m| len > *m)
    {
        errs.push(fail(at, format!("maxProperties: got {len}, want {m}")));
    }
    if let Some(Value::Array(req)) = s.get("required") {
        let missing: Vec<&str> = req
            .iter()
            .filter_map(Value::as_str)
            .filter(|k| !obj.contains_key(*k))
            .collect();
        match missing.len() {
            0 => {}
            1 => errs.push(fail(at, format!("missing property '{}'", missing[0]))),
            _ => errs.push(fail(
                at,
                format!("missing properties {}", quote_list(missing.into_iter())),
            )),
        }
    }
    let props = s.get("properties").and_then(Value::as_object);
    let patterns: Vec<(regex::Regex, &Value)> = s
        .get("patternProperties")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(p, sch)| regex::Regex::new(p).ok().map(|re| (re, sch)))
                .collect()
        })
        .unwrap_or_default();
    let mut keys: Vec<&String> = obj.keys().collect();
    keys.sort();
    let mut extra = Vec::new();
    for k in keys {
        let child = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
        let mut known = false;
        if let Some(sch) = props.and_then(|p| p.get(k)) {
            known = true;
            errs.extend(validate_at(root, sch, &obj[k], &child));
        }
        for (re, sch) in &patterns {
            if re.is_match(k) {
                known = true;
                errs.extend(validate_at(root, sch, &obj[k], &child));
            }
        }
        if !known {
            match s.get("additionalProperties") {
                Some(Value::Bool(false)) => extra.push(k.as_str()),
                Some(sch @ Value::Object(_)) => {
                    errs.extend(validate_at(root, sch, &obj[k], &child));
                }
                _ => {}
            }
        }
    }
    if !extra.is_empty() {
        errs.push(fail(
            at,
            format!(
                "additional properties {} not allowed",
                quote_list(extra.into_iter())
            ),
        ));
    }
}

fn combinators(root: &Value, s: &Map<String, Value>, v: &Value, at: &str, errs: &mut Vec<Failure>) {
    if let Some(not) = s.get("not")
        && validate_at(root, not, v, at).is_none()
    {
        errs.push(fail(at, "not failed".to_owned()));
    }
    let group = |key: &str| -> Option<Vec<Option<Failure>>> {
        s.get(key).and_then(Value::as_array).map(|list| {
            list.iter()
                .map(|sch| validate_at(root, sch, v, at))
                .collect()
        })
    };
    if let Some(res) = group("allOf") {
        let causes: Vec<Failure> = res.into_iter().flatten().collect();
        if !causes.is_empty() {
            errs.push(Failure {
                at: at.to_owned(),
                message: "allOf failed".to_owned(),
                causes,
            });
        }
    }
    if let Some(res) = group("anyOf")
        && res.iter().all(Option::is_some)
    {
        let causes = res.into_iter().flatten().collect();
        errs.push(Failure {
            at: at.to_owned(),
            message: "anyOf failed".to_owned(),
            causes,
        });
    }
    if let Some(res) = group("oneOf") {
        let ok: Vec<usize> = res
            .iter()
            .enumerate()
            .filter(|(_, e)| e.is_none())
            .map(|(i, _)| i)
            .collect();
        if ok.is_empty() {
            let causes = res.into_iter().flatten().collect();
            errs.push(Failure {
                at: at.to_owned(),
                message: "oneOf failed, none matched".to_owned(),
                causes,
            });
        } else if ok.len() > 1 {
            errs.push(fail(
                at,
                format!("oneOf failed, subschemas {}, {} matched", ok[0], ok[1]),
            ));
        }
    }
    if let Some(cond) = s.get("if") {
        let branch = if validate_at(root, cond, v, at).is_none() {
            s.get("then")
        } else {
            s.get("else")
        };
        if let Some(b) = branch {
            errs.extend(validate_at(root, b, v, at));
        }
    }
}
