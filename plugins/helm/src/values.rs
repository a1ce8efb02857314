//! Values: Helm's coalescing of chart values with user values, globals,
//! and the helpers around it (tables, paths, map merging).
//!
//! Values are `serde_json` maps. Numbers read from YAML or JSON are floats
//! (Helm decodes values to `float64`); `--set` integers stay integers.

use serde_json::{Map, Value};

use crate::chart::Chart;

/// Every number in `v` turned into a float, as Helm's YAML→JSON decoding does.
pub(crate) fn floats_everywhere(v: Value) -> Value {
    match v {
        Value::Number(n) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Number(n), Value::Number),
        Value::Array(items) => Value::Array(items.into_iter().map(floats_everywhere).collect()),
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (k, floats_everywhere(v)))
                .collect(),
        ),
        other => other,
    }
}

/// Reads a values file as Helm's `LoadValues`: every YAML document must be
/// a map (or empty); later documents are merged over earlier ones. The
/// error is Helm's message after the file name.
pub(crate) fn load_values(text: &str, file: &str) -> Result<Map<String, Value>, String> {
    let docs = crate::order::parse_values_stream(text, file).map_err(|e| {
        format!(
            "cannot unmarshal yaml document: error converting YAML to JSON: yaml: line {}: {}",
            e.line,
            crate::order::without_position(&e.message)
        )
    })?;
    let mut out = Map::new();
    for doc in docs {
        match floats_everywhere(doc) {
            Value::Object(m) => out = merge_maps(out, m),
            other => {
                let kind = match other {
                    Value::Array(_) => "array",
                    Value::String(_) => "string",
                    Value::Number(_) => "number",
                    _ => "bool",
                };
                return Err(format!(
                    "cannot unmarshal yaml document: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {kind} into Go value of type map[string]interface {{}}"
                ));
            }
        }
    }
    Ok(out)
}

/// `b` merged over `a` recursively (maps merge, everything else replaces).
pub(crate) fn merge_maps(a: Map<String, Value>, b: Map<String, Value>) -> Map<String, Value> {
    let mut out = a;
    for (k, v) in b {
        match (out.get_mut(&k), v) {
            (Some(Value::Object(old)), Value::Object(new)) => {
                let merged = merge_maps(std::mem::take(old), new);
                *old = merged;
            }
            (_, v) => {
                out.insert(k, v);
            }
        }
    }
    out
}

/// The table at dotted `path` (`a.b.c`), if every step is a map.
pub(crate) fn table<'a>(v: &'a Map<String, Value>, path: &str) -> Option<&'a Map<String, Value>> {
    let mut cur = v;
    for part in path.split('.') {
        match cur.get(part) {
            Some(Value::Object(m)) => cur = m,
            _ => return None,
        }
    }
    Some(cur)
}

/// The non-table value at dotted `path`, as Helm's `PathValue`.
pub(crate) fn path_value<'a>(v: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let (parent, key) = match path.rsplit_once('.') {
        Some((p, k)) => (table(v, p)?, k),
        None => (v, path),
    };
    parent.get(key).filter(|x| !x.is_object())
}

/// Coalesces chart values under user values (`CoalesceValues`, `merge` false:
/// nulls delete keys) or merges them (`MergeValues`, `merge` true: nulls kept).
pub(crate) fn coalesce_chart(
    chart: &Chart,
    vals: &Map<String, Value>,
    merge: bool,
) -> Result<Map<String, Value>, String> {
    let mut dest = vals.clone();
    coalesce(chart, &mut dest, "", merge)?;
    Ok(dest)
}

fn concat(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_owned()
    } else {
        format!("{a}.{b}")
    }
}

fn coalesce(
    chart: &Chart,
    dest: &mut Map<String, Value>,
    prefix: &str,
    merge: bool,
) -> Result<(), String> {
    coalesce_values(chart, dest, merge);
    coalesce_deps(chart, dest, prefix, merge)
}

fn coalesce_deps(
    chart: &Chart,
    dest: &mut Map<String, Value>,
    prefix: &str,
    merge: bool,
) -> Result<(), String> {
    for sub in &chart.dependencies {
        let name = sub.name();
        match dest.get(name) {
            None => {
                dest.insert(name.to_owned(), Value::Object(Map::new()));
            }
            Some(Value::Object(_)) => {}
            Some(other) => return Err(format!("type mismatch on {name}: {}", go_bool_verb(other))),
        }
        let sub_prefix = concat(prefix, chart.name());
        let mut dv = match dest.remove(name) {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        };
        coalesce_globals(&mut dv, dest);
        coalesce(sub, &mut dv, &sub_prefix, merge)?;
        dest.insert(name.to_owned(), Value::Object(dv));
    }
    Ok(())
}

/// How Go's `%t` prints a non-table value (`%!t(string=x)` unless a bool).
fn go_bool_verb(v: &Value) -> String {
    match v {
        Value::Bool(b) => b.to_string(),
        Value::String(s) => format!("%!t(string={s})"),
        Value::Number(n) if n.is_f64() => {
            format!("%!t(float64={})", n.as_f64().unwrap_or_default())
        }
        Value::Number(n) => format!("%!t(int64={n})"),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(go_bool_verb).collect();
            format!("[{}]", inner.join(" "))
        }
        _ => "%!t(<nil>)".to_owned(),
    }
}

/// Copies the `global` table of `src` into `dest`'s, `src` winning for
/// scalars and merged for tables.
fn coalesce_globals(dest: &mut Map<String, Value>, src: &Map<String, Value>) {
    let mut dg = match dest.get("global") {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return,
    };
    let sg = match src.get("global") {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return,
    };
    for (key, val) in sg {
        match val {
            Value::Object(vv) => match dg.get(&key) {
                None => {
                    dg.insert(key, Value::Object(vv));
                }
                Some(Value::Object(destv)) => {
                    let mut vv = vv;
                    coalesce_tables(&mut vv, destv.clone(), true);
                    dg.insert(key, Value::Object(vv));
                }
                Some(_) => {}
            },
            val => {
                if !matches!(dg.get(&key), Some(Value::Object(_))) {
                    dg.insert(key, val);
                }
            }
        }
    }
    dest.insert("global".to_owned(), Value::Object(dg));
}

/// Helm 4's `coalesceValues`: the chart's values fill what `v` lacks (nulls
/// included: a chart's own `null` defaults stay); a user `null` deletes the
/// chart's key unless merging; tables merge, a subchart's table keeping its
/// nulls so that they reach the subchart's own coalescing.
fn coalesce_values(chart: &Chart, v: &mut Map<String, Value>, merge: bool) {
    for (key, val) in chart.values.clone() {
        match v.get_mut(&key) {
            Some(Value::Null) if !merge => {
                v.remove(&key);
            }
            Some(Value::Object(dest)) => {
                if let Value::Object(src) = val {
                    let merge = merge || chart.dependencies.iter().any(|d| d.name() == key);
                    coalesce_tables(dest, src, merge);
                }
            }
            Some(_) => {}
            None => {
                v.insert(key, val);
            }
        }
    }
}

/// Merges `src` into `dst`, `dst` winning (`CoalesceTables` / `MergeTables`):
/// when coalescing, a `null` in `dst` deletes a key that `src` gives a value;
/// otherwise nulls stay, and keys only `src` has are copied as they are.
pub(crate) fn coalesce_tables(
    dst: &mut Map<String, Value>,
    mut src: Map<String, Value>,
    merge: bool,
) {
    let src_non_null: std::collections::BTreeSet<String> = src
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, _)| k.clone())
        .collect();
    for (k, v) in dst.iter() {
        if v.is_null() {
            src.insert(k.clone(), Value::Null);
        }
    }
    for (key, val) in src {
        match dst.get_mut(&key) {
            Some(Value::Null) if !merge && src_non_null.contains(&key) => {
                dst.remove(&key);
            }
            None => {
                dst.insert(key, val);
            }
            Some(Value::Object(dv)) => {
                if let Value::Object(sv) = val {
                    coalesce_tables(dv, sv, merge);
                }
            }
            Some(_) => {}
        }
    }
}

#[cfg(test)]
#[path = "values_tests.rs"]
mod tests;
