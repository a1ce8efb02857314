//! Writes the decrypted tree as sops does with go-yaml v3 (indent 4, comments kept).

use super::yaml_scalar::{Style, string_style};
use crate::tree::{Item, Key, Value, format_float_g};

const INDENT: usize = 4;

/// Emits every document; documents after the first are preceded by `---`.
pub(crate) fn emit(docs: &[Vec<Item>]) -> Vec<u8> {
    let mut out = String::new();
    for (n, doc) in docs.iter().enumerate() {
        if n > 0 {
            out.push_str("---\n");
        }
        if doc.iter().all(|i| i.key_str().is_none()) && !doc.is_empty() {
            for item in doc {
                if let Key::Comment(c) = &item.key {
                    comment_line(&mut out, 0, &c.value);
                }
            }
            out.push_str("{}\n");
        } else if doc.is_empty() {
            out.push_str("{}\n");
        } else {
            write_map(&mut out, doc, 0, 0);
        }
    }
    out.into_bytes()
}

fn pad(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn comment_line(out: &mut String, col: usize, text: &str) {
    pad(out, col);
    out.push('#');
    out.push_str(text);
    out.push('\n');
}

/// Writes a mapping whose keys stand at `col` (the first one already positioned by the caller
/// when `col != base`) and whose children indent from `base`.
fn write_map(out: &mut String, items: &[Item], col: usize, base: usize) {
    let mut first = true;
    let mut head: Vec<&str> = Vec::new();
    let mut inline: Vec<&str> = Vec::new();
    for item in items {
        let key = match &item.key {
            Key::Comment(c) if c.inline => {
                inline.push(&c.value);
                continue;
            }
            Key::Comment(c) => {
                head.push(&c.value);
                continue;
            }
            Key::Str(k) => k,
        };
        for h in head.drain(..) {
            comment_line(out, col, h);
            if first && col != base {
                // comments before the first key of a sequence item: keep the dash line intact
            }
        }
        if !first || col == base {
            pad(out, col);
        }
        first = false;
        write_scalar_string(out, key, true, col);
        out.push(':');
        let line_comment = if inline.is_empty() {
            None
        } else {
            Some(
                inline
                    .drain(..)
                    .map(|c| format!("#{c}"))
                    .collect::<Vec<_>>()
                    .join(" "),
            )
        };
        write_value_after_key(out, &item.value, base, line_comment.as_deref());
    }
    for h in head.into_iter().chain(inline) {
        comment_line(out, col, h);
    }
}

fn write_value_after_key(out: &mut String, value: &Value, base: usize, comment: Option<&str>) {
    let child = base + INDENT;
    match value {
        Value::Map(items) if items.iter().any(|i| i.key_str().is_some()) => {
            if let Some(c) = comment {
                out.push(' ');
                out.push_str(c);
            }
            out.push('\n');
            write_map(out, items, child, child);
        }
        Value::Seq(values) if values.iter().any(|v| !matches!(v, Value::Comment(_))) => {
            if let Some(c) = comment {
                out.push(' ');
                out.push_str(c);
            }
            out.push('\n');
            write_seq(out, values, child);
        }
        scalar => {
            out.push(' ');
            write_scalar(out, scalar, base);
            if let Some(c) = comment {
                out.push(' ');
                out.push_str(c);
            }
            out.push('\n');
            if let Value::Map(items) = scalar {
                for i in items {
                    if let Key::Comment(c) = &i.key {
                        comment_line(out, child, &c.value);
                    }
                }
            }
        }
    }
}

fn write_seq(out: &mut String, values: &[Value], col: usize) {
    let mut pending_inline: Vec<&str> = Vec::new();
    for v in values {
        match v {
            Value::Comment(c) if c.inline => pending_inline.push(&c.value),
            Value::Comment(c) => comment_line(out, col, &c.value),
            Value::Map(items) if items.iter().any(|i| i.key_str().is_some()) => {
                pad(out, col);
                out.push_str("- ");
                let lead: Vec<&Item> = items.iter().take_while(|i| i.key_str().is_none()).collect();
                if lead.is_empty() {
                    write_map(out, items, col + 2, col);
                } else {
                    // head comments of the first key go before the dash's content
                    out.truncate(out.len() - 2 - col);
                    for i in &lead {
                        if let Key::Comment(c) = &i.key {
                            comment_line(out, col, &c.value);
                        }
                    }
                    pad(out, col);
                    out.push_str("- ");
                    write_map(out, &items[lead.len()..], col + 2, col);
                }
                pending_inline.clear();
            }
            Value::Seq(inner) if inner.iter().any(|v| !matches!(v, Value::Comment(_))) => {
                pad(out, col);
                out.push_str("- ");
                let mut nested = String::new();
                write_seq(&mut nested, inner, col + 2);
                out.push_str(nested.trim_start_matches(' '));
                pending_inline.clear();
            }
            scalar => {
                pad(out, col);
                out.push_str("- ");
                write_scalar(out, scalar, col);
                for c in pending_inline.drain(..) {
                    out.push_str(" #");
                    out.push_str(c);
                }
                out.push('\n');
            }
        }
    }
    for c in pending_inline {
        comment_line(out, col, c);
    }
}

/// The plain text of a scalar (used for flow mapping keys).
pub(crate) fn scalar_text(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => float_text(*f),
        Value::Str(s) | Value::Time(s) => s.clone(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        Value::Comment(c) => c.value.clone(),
        Value::Map(_) | Value::Seq(_) => String::new(),
    }
}

fn float_text(f: f64) -> String {
    if f.is_nan() {
        ".nan".to_owned()
    } else if f.is_infinite() {
        if f > 0.0 { ".inf" } else { "-.inf" }.to_owned()
    } else {
        format_float_g(f)
    }
}

fn write_scalar(out: &mut String, v: &Value, base: usize) {
    match v {
        Value::Str(s) => write_scalar_string(out, s, false, base),
        Value::Bytes(b) => write_scalar_string(out, &String::from_utf8_lossy(b), false, base),
        Value::Map(_) => out.push_str("{}"),
        Value::Seq(_) => out.push_str("[]"),
        other => out.push_str(&scalar_text(other)),
    }
}

fn write_scalar_string(out: &mut String, s: &str, key: bool, base: usize) {
    match string_style(s, key) {
        Style::Plain => out.push_str(s),
        Style::Single => {
            out.push('\'');
            out.push_str(&s.replace('\'', "''"));
            out.push('\'');
        }
        Style::Double => write_double(out, s),
        Style::Literal => write_literal(out, s, base + INDENT),
    }
}

fn write_literal(out: &mut String, s: &str, indent: usize) {
    out.push('|');
    if s.starts_with(' ') || s.starts_with('\n') {
        out.push_str(&INDENT.to_string());
    }
    let chomp = if !s.ends_with('\n') {
        "-"
    } else if s == "\n" || s.ends_with("\n\n") {
        "+"
    } else {
        ""
    };
    out.push_str(chomp);
    let body = s.strip_suffix('\n').unwrap_or(s);
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            pad(out, indent);
            out.push_str(line);
        }
    }
}

fn write_double(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{b}' => out.push_str("\\v"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\u{1b}' => out.push_str("\\e"),
            '\u{85}' => out.push_str("\\N"),
            '\u{a0}' => out.push_str("\\_"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            '\u{feff}' => out.push_str("\\uFEFF"),
            c if (c as u32) < 0x20 || (0x7f..0xa0).contains(&(c as u32)) => {
                use std::fmt::Write as _;
                let _ = write!(out, "\\x{:02X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
