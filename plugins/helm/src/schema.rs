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
                let mut lines = Vec::new();
                check::render_failures(
                    &check::check(&s, &s, &Value::Object(values.clone()), ""),
                    0,
                    &mut lines,
                );
                lines
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

#[path = "schema_check.rs"]
mod check;
#[path = "schema_util.rs"]
mod util;

#[cfg(test)]
#[path = "schema_tests.rs"]
mod tests;
