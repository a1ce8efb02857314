//! Go `encoding/json` output and input over template values.
#![expect(
    clippy::many_single_char_names,
    reason = "short names mirror the Go originals"
)]

use std::fmt::Write as _;

use crate::fmt::format_float;
use crate::value::{Value, object_value};

/// Options of the encoder: HTML escaping (`json.Marshal`) and indentation.
#[derive(Clone, Copy)]
pub(crate) struct JsonStyle {
    pub(crate) escape_html: bool,
    pub(crate) indent: bool,
}

/// Encodes `v` as Go's `json.Marshal` / `MarshalIndent("", "  ")` does.
pub(crate) fn to_json(v: &Value, style: JsonStyle) -> Result<String, String> {
    let mut out = String::new();
    write(&mut out, v, style, 0)?;
    Ok(out)
}

fn newline(out: &mut String, style: JsonStyle, depth: usize) {
    if style.indent {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("  ");
        }
    }
}

fn write(out: &mut String, v: &Value, style: JsonStyle, depth: usize) -> Result<(), String> {
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => out.push_str(&json_float(*f)?),
        Value::String(s) => write_str(out, s, style.escape_html),
        Value::List(l) => {
            if l.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, e) in l.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, style, depth + 1);
                write(out, e, style, depth + 1)?;
            }
            newline(out, style, depth);
            out.push(']');
        }
        Value::Map(m) => {
            let m = m.borrow();
            write_object(out, m.iter().map(|(k, e)| (k.as_str(), e)), style, depth)?;
        }
        // A struct keeps its declaration order, as `json.Marshal` does.
        Value::Object(o) => match o.fields() {
            Some(fields) => {
                write_object(
                    out,
                    fields.iter().map(|(k, e)| (k.as_str(), e)),
                    style,
                    depth,
                )?;
            }
            None => write(out, &object_value(o.as_ref()), style, depth)?,
        },
    }
    Ok(())
}

/// A JSON object of `entries`, in their order.
fn write_object<'a>(
    out: &mut String,
    entries: impl ExactSizeIterator<Item = (&'a str, &'a Value)>,
    style: JsonStyle,
    depth: usize,
) -> Result<(), String> {
    if entries.len() == 0 {
        out.push_str("{}");
        return Ok(());
    }
    out.push('{');
    for (i, (k, e)) in entries.enumerate() {
        if i > 0 {
            out.push(',');
        }
        newline(out, style, depth + 1);
        write_str(out, k, style.escape_html);
        out.push(':');
        if style.indent {
            out.push(' ');
        }
        write(out, e, style, depth + 1)?;
    }
    newline(out, style, depth);
    out.push('}');
    Ok(())
}

/// A float as Go's JSON encoder prints it.
pub(crate) fn json_float(f: f64) -> Result<String, String> {
    if !f.is_finite() {
        return Err(format!(
            "json: unsupported value: {}",
            format_float(f, 'g', None)
        ));
    }
    let a = f.abs();
    if a != 0.0 && !(1e-6..1e21).contains(&a) {
        let s = format_float(f, 'e', None);
        // e-07 -> e-7
        let b = s.as_bytes();
        let n = b.len();
        if n >= 4 && b[n - 4] == b'e' && b[n - 3] == b'-' && b[n - 2] == b'0' {
            return Ok(format!("{}{}", &s[..n - 2], &s[n - 1..]));
        }
        return Ok(s);
    }
    Ok(format_float(f, 'f', None))
}

fn write_str(out: &mut String, s: &str, html: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '<' | '>' | '&' if html => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Parses JSON text like Go's `json.Unmarshal` into `interface{}` (numbers are floats),
/// with Go's wording for the common errors.
pub(crate) fn from_json(text: &str) -> Result<Value, String> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) => Ok(Value::from_json_floats(v)),
        Err(e) => Err(go_json_error(text, &e)),
    }
}

fn go_json_error(text: &str, e: &serde_json::Error) -> String {
    if e.is_eof() || text.trim().is_empty() {
        return "unexpected end of JSON input".into();
    }
    // Find the offending character from serde's line/column.
    let line = e.line();
    let col = e.column();
    let ch = text
        .lines()
        .nth(line.saturating_sub(1))
        .and_then(|l| l.chars().nth(col.saturating_sub(1)));
    match ch {
        Some(c) if e.to_string().contains("trailing characters") => {
            format!("invalid character '{c}' after top-level value")
        }
        Some(c) => {
            // The state Go's scanner was in, from serde's description.
            let msg = e.to_string();
            let context = if msg.starts_with("key must be a string") {
                "looking for beginning of object key string"
            } else if msg.starts_with("expected `:`") {
                "after object key"
            } else if msg.starts_with("expected `,` or `}`") {
                "after object key:value pair"
            } else if msg.starts_with("expected `,` or `]`") {
                "after array element"
            } else {
                "looking for beginning of value"
            };
            format!("invalid character '{c}' {context}")
        }
        None => "unexpected end of JSON input".into(),
    }
}

/// The Go name of a decoded JSON value's type, for "cannot unmarshal X" errors.
pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Nil => "null",
        Value::Bool(_) => "bool",
        Value::Int(_) | Value::Int64(_) | Value::Float(_) => "number",
        Value::String(_) => "string",
        Value::List(_) => "array",
        Value::Map(_) | Value::Object(_) => "object",
    }
}
