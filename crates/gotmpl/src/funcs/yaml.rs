//! Helm's YAML, JSON-decoding and TOML functions.

use crate::funcs::conv::want_str;
use crate::funcs::encoding::error_map;
use crate::funcs::{FResult, FuncError, Registry, ex};
use crate::value::Value;
use crate::yamlv2::{Options, V2, to_yaml};

#[cfg(test)]
mod tests;
mod toml;

const V3: Options = Options {
    indent_seq: true,
    json_numbers: false,
    no_fold: true,
};

#[expect(
    clippy::unnecessary_wraps,
    reason = "matches the function table's result type"
)]
fn trimmed(s: String) -> FResult {
    Ok(Value::String(
        s.strip_suffix('\n').map(str::to_string).unwrap_or(s),
    ))
}

/// Parses YAML as sigs.k8s.io/yaml does: via JSON, so numbers become floats,
/// and (yaml.v2 not being strict) a repeated mapping key keeps its last value.
fn parse_yaml(text: &str) -> Result<Value, String> {
    let docs = match kiln_resource::yaml::parse_stream(text, "") {
        Err(e) if e.message.contains("duplicate mapping key") => {
            let mut options = serde_saphyr::Options::default();
            options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::LastWins;
            let docs: Vec<serde_json::Value> =
                serde_saphyr::from_multiple_with_options(text, options)
                    .map_err(|_| format!("error converting YAML to JSON: {e}"))?;
            docs.into_iter().filter(|d| !d.is_null()).collect()
        }
        other => other.map_err(|e| format!("error converting YAML to JSON: {e}"))?,
    };
    let docs = crate::goyaml::convert_keys(text).unwrap_or(docs);
    Ok(docs
        .into_iter()
        .next()
        .map_or(Value::Nil, Value::from_json_floats))
}

/// sigs.k8s.io/yaml marshals through JSON, which rejects NaN and infinities.
fn json_safe(v: &Value) -> Result<(), String> {
    match v {
        Value::Float(f) if !f.is_finite() => crate::funcs::json_float(*f).map(|_| ()),
        Value::List(l) => l.iter().try_for_each(json_safe),
        Value::Map(m) => m.borrow().values().try_for_each(json_safe),
        _ => Ok(()),
    }
}

pub(crate) fn register(r: &mut Registry) {
    r.add("toYaml", ex(1), |_, a| match json_safe(&a[0]) {
        Ok(()) => trimmed(to_yaml(&a[0], V2)),
        Err(_) => Ok(Value::String(String::new())),
    });
    r.add("mustToYaml", ex(1), |_, a| {
        json_safe(&a[0]).map_err(FuncError::Call)?;
        trimmed(to_yaml(&a[0], V2))
    });
    r.add("toYamlPretty", ex(1), |_, a| trimmed(to_yaml(&a[0], V3)));
    r.add("fromYaml", ex(1), |_, a| {
        let text = want_str(&a, 0)?;
        Ok(match parse_yaml(&text) {
            Ok(v @ Value::Map(_)) => v,
            Ok(Value::Nil) => Value::empty_map(),
            Ok(other) => error_map(format!(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                crate::funcs::json::json_kind(&other)
            )),
            Err(e) => error_map(e),
        })
    });
    r.add("fromYamlArray", ex(1), |_, a| {
        let text = want_str(&a, 0)?;
        Ok(match parse_yaml(&text) {
            Ok(v @ Value::List(_)) => v,
            Ok(Value::Nil) => Value::List(Vec::new()),
            Ok(other) => Value::List(vec![Value::String(format!(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type []interface {{}}",
                crate::funcs::json::json_kind(&other)
            ))]),
            Err(e) => Value::List(vec![Value::String(e)]),
        })
    });
    r.add("toToml", ex(1), |_, a| {
        Ok(Value::String(toml::encode(&a[0]).unwrap_or_else(|e| e)))
    });
    r.add("mustToToml", ex(1), |_, a| {
        Ok(Value::String(toml::encode(&a[0]).map_err(FuncError::Call)?))
    });
    r.add("fromToml", ex(1), |_, a| {
        let text = want_str(&a, 0)?;
        Ok(match toml::decode(&text) {
            Ok(v) => v,
            Err(e) => error_map(e),
        })
    });
}
