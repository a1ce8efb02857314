//! sops' JSON store: order-kept objects, ints told from floats, tab-indented output.

use base64::Engine as _;

use crate::Error;
use crate::tree::{Item, Key, Value};

/// Parses a JSON document whose top level is an object.
pub(crate) fn parse(bytes: &[u8]) -> Result<Vec<Item>, Error> {
    let doc: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| Error::Parse {
        format: "json",
        message: format!(
            "line {} column {}: {}",
            e.line(),
            e.column(),
            e.classify_kind()
        ),
    })?;
    match from_json(&doc) {
        Value::Map(items) => Ok(items),
        _ => Err(Error::Parse {
            format: "json",
            message: "sops only supports JSON files whose top level is an object".into(),
        }),
    }
}

trait Classify {
    fn classify_kind(&self) -> &'static str;
}

impl Classify for serde_json::Error {
    fn classify_kind(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "read error",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "data error",
            serde_json::error::Category::Eof => "unexpected end of input (truncated file?)",
        }
    }
}

/// Converts JSON data into the tree, as sops' JSON decoder types it.
pub(crate) fn from_json(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => Value::Str(s.clone()),
        serde_json::Value::Array(a) => Value::Seq(a.iter().map(from_json).collect()),
        serde_json::Value::Object(o) => Value::Map(
            o.iter()
                .map(|(k, v)| Item::new(k.clone(), from_json(v)))
                .collect(),
        ),
    }
}

/// Converts the tree back into JSON data (comments dropped).
pub(crate) fn to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Null | Value::Comment(_) => serde_json::Value::Null,
        Value::Str(s) | Value::Time(s) => serde_json::Value::String(s.clone()),
        Value::Int(i) => serde_json::Value::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Bytes(b) => {
            serde_json::Value::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        Value::Seq(items) => serde_json::Value::Array(
            items
                .iter()
                .filter(|v| !matches!(v, Value::Comment(_)))
                .map(to_json)
                .collect(),
        ),
        Value::Map(items) => serde_json::Value::Object(
            items
                .iter()
                .filter_map(|i| match &i.key {
                    Key::Str(k) => Some((k.clone(), to_json(&i.value))),
                    Key::Comment(_) => None,
                })
                .collect(),
        ),
    }
}

/// Emits a branch as `sops --decrypt` does for JSON: tab indentation, trailing newline.
pub(crate) fn emit(items: &[Item]) -> Result<Vec<u8>, Error> {
    let mut out = String::new();
    write_map(&mut out, items, 0)?;
    out.push('\n');
    Ok(out.into_bytes())
}

fn newline(out: &mut String, depth: usize) {
    out.push('\n');
    out.extend(std::iter::repeat_n('\t', depth));
}

fn write_map(out: &mut String, items: &[Item], depth: usize) -> Result<(), Error> {
    let entries: Vec<(&str, &Value)> = items
        .iter()
        .filter_map(|i| i.key_str().map(|k| (k, &i.value)))
        .collect();
    if entries.is_empty() {
        out.push_str("{}");
        return Ok(());
    }
    out.push('{');
    for (n, (k, v)) in entries.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        newline(out, depth + 1);
        write_string(out, k);
        out.push_str(": ");
        write_value(out, v, depth + 1)?;
    }
    newline(out, depth);
    out.push('}');
    Ok(())
}

fn write_value(out: &mut String, v: &Value, depth: usize) -> Result<(), Error> {
    match v {
        Value::Null => out.push_str("null"),
        Value::Comment(_) => {}
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&go_json_float(*f)?),
        Value::Str(s) | Value::Time(s) => write_string(out, s),
        Value::Bytes(b) => write_string(out, &base64::engine::general_purpose::STANDARD.encode(b)),
        Value::Map(items) => write_map(out, items, depth)?,
        Value::Seq(values) => {
            let values: Vec<&Value> = values
                .iter()
                .filter(|v| !matches!(v, Value::Comment(_)))
                .collect();
            if values.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (n, v) in values.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                write_value(out, v, depth + 1)?;
            }
            newline(out, depth);
            out.push(']');
        }
    }
    Ok(())
}

/// Go's `encoding/json` float format.
fn go_json_float(value: f64) -> Result<String, Error> {
    if !value.is_finite() {
        return Err(Error::Output(
            "JSON cannot represent NaN or infinite numbers".into(),
        ));
    }
    let abs = value.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let text = format!("{value:e}");
        let (mantissa, exponent) = text.split_once('e').expect("`{:e}` has an exponent");
        let (sign, digits) = match exponent.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exponent),
        };
        let digits = if digits.len() < 2 {
            format!("0{digits}")
        } else {
            digits.to_owned()
        };
        // Go trims a two-digit exponent's leading zero: e-07 becomes e-7
        let digits = digits
            .strip_prefix('0')
            .map_or(digits.clone(), str::to_owned);
        return Ok(format!("{mantissa}e{sign}{digits}"));
    }
    Ok(crate::tree::format_float_f(value))
}

/// Go's `json.Marshal` string escaping (HTML characters escaped).
pub(crate) fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => push_u_escape(out, c),
            c if u32::from(c) < 0x20 => push_u_escape(out, c),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn push_u_escape(out: &mut String, c: char) {
    use std::fmt::Write as _;
    let _ = write!(out, "\\u{:04x}", u32::from(c));
}
