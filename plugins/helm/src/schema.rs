//! `values.schema.json` validation: a JSON Schema (draft 7 and later)
//! subset, with errors worded as Helm prints them (`- at '/path': ...`).

use std::fmt::Write as _;

use serde_json::{Map, Value};

use crate::chart::Chart;

/// Values that do not meet a chart's schema.
#[derive(Debug, thiserror::Error)]
#[error("values don't meet the specifications of the schema(s) in the following chart(s):\n{0}")]
pub struct SchemaError(pub String);

/// Validates `values` against the schemas of `chart` and its subcharts.
pub(crate) fn validate(chart: &Chart, values: &Map<String, Value>) -> Result<(), SchemaError> {
    let out = validate_chart(chart, values);
    if out.is_empty() {
        Ok(())
    } else {
        Err(SchemaError(out))
    }
}

fn validate_chart(chart: &Chart, values: &Map<String, Value>) -> String {
    let mut sb = String::new();
    if let Some(schema) = &chart.schema {
        let lines = match serde_json::from_slice::<Value>(schema) {
            Ok(s) => {
                let mut errs = Vec::new();
                check(&s, &Value::Object(values.clone()), "", &mut errs, 0);
                errs
            }
            Err(e) => vec![format!("- at '': invalid schema: {e}")],
        };
        if !lines.is_empty() {
            let _ = write!(sb, "{}:\n{}\n", chart.name(), lines.join("\n"));
        }
    }
    for sub in &chart.dependencies {
        match values.get(sub.name()) {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => sb.push_str(&validate_chart(sub, m)),
            Some(other) => {
                let _ = write!(
                    sb,
                    "{}:\ninvalid type for values: expected object (map), got {}\n",
                    sub.name(),
                    go_type(other)
                );
            }
        }
    }
    sb
}

fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        _ => "map[string]interface {}",
    }
}

fn type_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn is_type(v: &Value, t: &str) -> bool {
    match t {
        "integer" => v.as_f64().is_some_and(|f| f.fract() == 0.0),
        "number" => v.is_number(),
        other => type_of(v) == other,
    }
}

fn quote_list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn num(v: &Value) -> String {
    match v.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
        _ => v.to_string(),
    }
}

fn check(schema: &Value, v: &Value, at: &str, errs: &mut Vec<String>, depth: usize) {
    let s = match schema {
        Value::Bool(false) => {
            errs.push(format!("- at '{at}': false schema"));
            return;
        }
        Value::Object(s) => s,
        _ => return,
    };
    let mut err = |m: String| errs.push(format!("{}- at '{at}': {m}", "  ".repeat(depth)));
    if let Some(t) = s.get("type") {
        let want: Vec<&str> = match t {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !want.is_empty() && !want.iter().any(|w| is_type(v, w)) {
            err(format!("got {}, want {}", type_of(v), want.join(" or ")));
            return;
        }
    }
    if let Some(Value::Array(options)) = s.get("enum")
        && !options.contains(v)
    {
        let list: Vec<String> = options.iter().map(Value::to_string).collect();
        err(format!("value must be one of {}", list.join(", ")));
    }
    if let Some(c) = s.get("const")
        && c != v
    {
        err(format!("value must be {c}"));
    }
    if let Some(f) = v.as_f64() {
        let bound = |k: &str| s.get(k).and_then(Value::as_f64);
        if bound("minimum").is_some_and(|m| f < m) {
            err(format!(
                "minimum: got {}, want {}",
                num(v),
                num(&s["minimum"])
            ));
        }
        if bound("maximum").is_some_and(|m| f > m) {
            err(format!(
                "maximum: got {}, want {}",
                num(v),
                num(&s["maximum"])
            ));
        }
        if bound("exclusiveMinimum").is_some_and(|m| f <= m) {
            err(format!(
                "exclusiveMinimum: got {}, want {}",
                num(v),
                num(&s["exclusiveMinimum"])
            ));
        }
        if bound("exclusiveMaximum").is_some_and(|m| f >= m) {
            err(format!(
                "exclusiveMaximum: got {}, want {}",
                num(v),
                num(&s["exclusiveMaximum"])
            ));
        }
        if let Some(m) = bound("multipleOf").filter(|m| *m != 0.0)
            && (f / m).fract() != 0.0
        {
            err(format!(
                "multipleOf: got {}, want {}",
                num(v),
                num(&s["multipleOf"])
            ));
        }
    }
    if let Value::String(text) = v {
        let len = text.chars().count() as u64;
        if let Some(m) = s
            .get("minLength")
            .and_then(Value::as_u64)
            .filter(|m| len < *m)
        {
            err(format!("minLength: got {len}, want {m}"));
        }
        if let Some(m) = s
            .get("maxLength")
            .and_then(Value::as_u64)
            .filter(|m| len > *m)
        {
            err(format!("maxLength: got {len}, want {m}"));
        }
        if let Some(p) = s.get("pattern").and_then(Value::as_str)
            && regex::Regex::new(p).is_ok_and(|re| !re.is_match(text))
        {
            err(format!("'{text}' does not match pattern '{p}'"));
        }
    }
    if let Value::Array(items) = v {
        let len = items.len() as u64;
        if let Some(m) = s
            .get("minItems")
            .and_then(Value::as_u64)
            .filter(|m| len < *m)
        {
            err(format!("minItems: got {len}, want {m}"));
        }
        if let Some(m) = s
            .get("maxItems")
            .and_then(Value::as_u64)
            .filter(|m| len > *m)
        {
            err(format!("maxItems: got {len}, want {m}"));
        }
        if s.get("uniqueItems") == Some(&Value::Bool(true)) {
            'outer: for i in 0..items.len() {
                for j in i + 1..items.len() {
                    if items[i] == items[j] {
                        err(format!("items at {i} and {j} are equal"));
                        break 'outer;
                    }
                }
            }
        }
        match s.get("items") {
            Some(Value::Array(tuple)) => {
                for (i, (sch, item)) in tuple.iter().zip(items).enumerate() {
                    check(sch, item, &format!("{at}/{i}"), errs, depth);
                }
            }
            Some(sch) => {
                for (i, item) in items.iter().enumerate() {
                    check(sch, item, &format!("{at}/{i}"), errs, depth);
                }
            }
            None => {}
        }
    }
    if let Value::Object(obj) = v {
        object(s, obj, at, errs, depth);
    }
    combinators(s, v, at, errs, depth);
}

fn object(
    s: &Map<String, Value>,
    obj: &Map<String, Value>,
    at: &str,
    errs: &mut Vec<String>,
    depth: usize,
) {
    let pad = "  ".repeat(depth);
    let len = obj.len() as u64;
    if let Some(m) = s
        .get("minProperties")
        .and_then(Value::as_u64)
        .filter(|m| len < *m)
    {
        errs.push(format!(
            "{pad}- at '{at}': minProperties: got {len}, want {m}"
        ));
    }
    if let Some(m) = s
        .get("maxProperties")
        .and_then(Value::as_u64)
        .filter(|m| len > *m)
    {
        errs.push(format!(
            "{pad}- at '{at}': maxProperties: got {len}, want {m}"
        ));
    }
    if let Some(Value::Array(req)) = s.get("required") {
        let missing: Vec<&str> = req
            .iter()
            .filter_map(Value::as_str)
            .filter(|k| !obj.contains_key(*k))
            .collect();
        match missing.len() {
            0 => {}
            1 => errs.push(format!(
                "{pad}- at '{at}': missing property '{}'",
                missing[0]
            )),
            _ => errs.push(format!(
                "{pad}- at '{at}': missing properties {}",
                quote_list(missing.into_iter())
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
            check(sch, &obj[k], &child, errs, depth);
        }
        for (re, sch) in &patterns {
            if re.is_match(k) {
                known = true;
                check(sch, &obj[k], &child, errs, depth);
            }
        }
        if !known {
            match s.get("additionalProperties") {
                Some(Value::Bool(false)) => extra.push(k.as_str()),
                Some(sch @ Value::Object(_)) => check(sch, &obj[k], &child, errs, depth),
                _ => {}
            }
        }
    }
    if !extra.is_empty() {
        let word = if extra.len() == 1 {
            "property"
        } else {
            "properties"
        };
        errs.push(format!(
            "{pad}- at '{at}': additional {word} {} not allowed",
            quote_list(extra.into_iter())
        ));
    }
}

fn combinators(s: &Map<String, Value>, v: &Value, at: &str, errs: &mut Vec<String>, depth: usize) {
    let pad = "  ".repeat(depth);
    if let Some(Value::Array(all)) = s.get("allOf") {
        for sch in all {
            check(sch, v, at, errs, depth);
        }
    }
    let failures = |list: &[Value]| -> Vec<Vec<String>> {
        list.iter()
            .map(|sch| {
                let mut e = Vec::new();
                check(sch, v, at, &mut e, depth + 1);
                e
            })
            .collect()
    };
    if let Some(Value::Array(any)) = s.get("anyOf") {
        let res = failures(any);
        if res.iter().all(|e| !e.is_empty()) {
            errs.push(format!("{pad}- at '{at}': anyOf failed"));
            errs.extend(res.into_iter().flatten());
        }
    }
    if let Some(Value::Array(one)) = s.get("oneOf") {
        let res = failures(one);
        let ok: Vec<usize> = res
            .iter()
            .enumerate()
            .filter(|(_, e)| e.is_empty())
            .map(|(i, _)| i)
            .collect();
        if ok.is_empty() {
            errs.push(format!("{pad}- at '{at}': oneOf failed, none matched"));
            errs.extend(res.into_iter().flatten());
        } else if ok.len() > 1 {
            errs.push(format!(
                "{pad}- at '{at}': oneOf failed, subschemas {} and {} matched",
                ok[0], ok[1]
            ));
        }
    }
    if let Some(not) = s.get("not") {
        let mut e = Vec::new();
        check(not, v, at, &mut e, depth + 1);
        if e.is_empty() {
            errs.push(format!("{pad}- at '{at}': not failed"));
        }
    }
    if let Some(cond) = s.get("if") {
        let mut e = Vec::new();
        check(cond, v, at, &mut e, depth);
        let branch = if e.is_empty() {
            s.get("then")
        } else {
            s.get("else")
        };
        if let Some(b) = branch {
            check(b, v, at, errs, depth);
        }
    }
}

#[cfg(test)]
#[path = "schema_tests.rs"]
mod tests;
