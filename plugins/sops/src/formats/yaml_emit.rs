//! Writes the decrypted tree as sops does with go-yaml v3: indentation 4, sequences indented
//! under their key, mappings in sequence items after `- `, long scalars folded past column 80,
//! comments kept.

use super::yaml_scalar::{Style, string_style};
use crate::tree::{Item, Key, Value, format_float_g};

const INDENT: usize = 4;
const WIDTH: usize = 80;

/// Emits every document; documents after the first are preceded by `---`.
pub(crate) fn emit(docs: &[Vec<Item>]) -> Vec<u8> {
    let mut out = String::new();
    for (n, doc) in docs.iter().enumerate() {
        if n > 0 {
            out.push_str("---\n");
        }
        if doc.iter().any(|i| i.key_str().is_some()) {
            write_map(&mut out, doc, 0, false);
        } else {
            for item in doc {
                if let Key::Comment(c) = &item.key {
                    comment_line(&mut out, 0, &c.value);
                }
            }
            out.push_str("{}\n");
        }
    }
    out.into_bytes()
}

/// The indentation go-yaml gives a node nested under one at `indent`.
fn deeper(indent: usize) -> usize {
    INDENT * ((indent + INDENT) / INDENT)
}

fn pad(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn column(out: &str) -> usize {
    out.rsplit('\n').next().map_or(0, |l| l.chars().count())
}

fn comment_line(out: &mut String, col: usize, text: &str) {
    pad(out, col);
    out.push('#');
    out.push_str(text);
    out.push('\n');
}

/// Writes a mapping whose keys stand at column `col`; when `after_dash`, the first key goes on
/// the current line (right after a sequence item's `- `).
fn write_map(out: &mut String, items: &[Item], col: usize, after_dash: bool) {
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
        if !(first && after_dash) {
            for h in head.drain(..) {
                comment_line(out, col, h);
            }
            pad(out, col);
        }
        first = false;
        write_string(out, key, true, col);
        out.push(':');
        let line_comment = (!inline.is_empty()).then(|| {
            inline
                .drain(..)
                .map(|c| format!("#{c}"))
                .collect::<Vec<_>>()
                .join(" ")
        });
        write_value_after_key(out, &item.value, col, line_comment.as_deref());
    }
    for h in head.into_iter().chain(inline) {
        comment_line(out, col, h);
    }
}

fn has_entries(value: &Value) -> bool {
    match value {
        Value::Map(items) => items.iter().any(|i| i.key_str().is_some()),
        Value::Seq(values) => values.iter().any(|v| !matches!(v, Value::Comment(_))),
        _ => false,
    }
}

fn write_value_after_key(out: &mut String, value: &Value, col: usize, comment: Option<&str>) {
    let child = deeper(col);
    if has_entries(value) {
        if let Some(c) = comment {
            out.push(' ');
            out.push_str(c);
        }
        out.push('\n');
        match value {
            Value::Map(items) => write_map(out, items, child, false),
            Value::Seq(values) => write_seq(out, values, child),
            _ => unreachable!("only collections have entries"),
        }
        return;
    }
    out.push(' ');
    write_scalar(out, value, child);
    if let Some(c) = comment {
        out.push(' ');
        out.push_str(c);
    }
    out.push('\n');
    // comments inside an otherwise empty collection
    match value {
        Value::Map(items) => items.iter().for_each(|i| {
            if let Key::Comment(c) = &i.key {
                comment_line(out, child, &c.value);
            }
        }),
        Value::Seq(values) => values.iter().for_each(|v| {
            if let Value::Comment(c) = v {
                comment_line(out, child, &c.value);
            }
        }),
        _ => {}
    }
}

/// Writes a block sequence whose dashes stand at `col` (the first dash already positioned when
/// `after_dash`).
fn write_seq_at(out: &mut String, values: &[Value], col: usize, after_dash: bool) {
    let mut first = true;
    let mut pending_inline: Vec<&str> = Vec::new();
    for v in values {
        if let Value::Comment(c) = v {
            if c.inline {
                pending_inline.push(&c.value);
            } else {
                comment_line(out, col, &c.value);
            }
            continue;
        }
        if !(first && after_dash) {
            pad(out, col);
        }
        first = false;
        out.push_str("- ");
        match v {
            Value::Map(items) if has_entries(v) => {
                let lead = items.iter().take_while(|i| i.key_str().is_none()).count();
                for i in &items[..lead] {
                    if let Key::Comment(c) = &i.key {
                        out.push('#');
                        out.push_str(&c.value);
                        out.push('\n');
                        pad(out, col + 2);
                    }
                }
                write_map(out, &items[lead..], col + 2, true);
                pending_inline.clear();
            }
            Value::Seq(inner) if has_entries(v) => {
                write_seq_at(out, inner, col + 2, true);
                pending_inline.clear();
            }
            scalar => {
                write_scalar(out, scalar, col + 2);
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

fn write_seq(out: &mut String, values: &[Value], col: usize) {
    write_seq_at(out, values, col, false);
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

/// Writes a scalar whose continuation lines (folds, literal lines) stand at `indent`.
fn write_scalar(out: &mut String, v: &Value, indent: usize) {
    match v {
        Value::Str(s) => write_string(out, s, false, indent),
        Value::Bytes(b) => write_string(out, &String::from_utf8_lossy(b), false, indent),
        Value::Map(_) => out.push_str("{}"),
        Value::Seq(_) => out.push_str("[]"),
        other => out.push_str(&scalar_text(other)),
    }
}

fn write_string(out: &mut String, s: &str, key: bool, indent: usize) {
    let fold = !key;
    match string_style(s, key) {
        Style::Plain => write_folded(out, s, fold, indent, false),
        Style::Single => {
            out.push('\'');
            write_folded(out, &s.replace('\'', "''"), fold, indent, true);
            out.push('\'');
        }
        Style::Double => write_double(out, s, fold, indent),
        Style::Literal => write_literal(out, s, indent),
    }
}

/// Plain and single-quoted text, breaking at a single space once past column 80.
fn write_folded(out: &mut String, s: &str, fold: bool, indent: usize, quoted: bool) {
    let chars: Vec<char> = s.chars().collect();
    let mut col = column(out);
    let mut spaces = false;
    for (i, &c) in chars.iter().enumerate() {
        if c == ' ' {
            let inner = !quoted || (i > 0 && i + 1 < chars.len());
            if fold && !spaces && col > WIDTH && inner && chars.get(i + 1) != Some(&' ') {
                out.push('\n');
                pad(out, indent);
                col = indent;
            } else {
                out.push(' ');
                col += 1;
            }
            spaces = true;
        } else {
            out.push(c);
            col += 1;
            spaces = false;
        }
    }
}

fn write_literal(out: &mut String, s: &str, indent: usize) {
    out.push('|');
    if s.starts_with(' ') || s.starts_with('\n') {
        out.push_str(&INDENT.to_string());
    }
    if !s.ends_with('\n') {
        out.push('-');
    } else if s == "\n" || s.ends_with("\n\n") {
        out.push('+');
    }
    let body = s.strip_suffix('\n').unwrap_or(s);
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            pad(out, indent);
            out.push_str(line);
        }
    }
}

fn escape(c: char) -> Option<String> {
    Some(match c {
        '"' => "\\\"".into(),
        '\\' => "\\\\".into(),
        '\0' => "\\0".into(),
        '\u{7}' => "\\a".into(),
        '\u{8}' => "\\b".into(),
        '\t' => "\\t".into(),
        '\n' => "\\n".into(),
        '\u{b}' => "\\v".into(),
        '\u{c}' => "\\f".into(),
        '\r' => "\\r".into(),
        '\u{1b}' => "\\e".into(),
        '\u{85}' => "\\N".into(),
        '\u{a0}' => "\\_".into(),
        '\u{2028}' => "\\L".into(),
        '\u{2029}' => "\\P".into(),
        '\u{feff}' => "\\uFEFF".into(),
        c if u32::from(c) <= 0xff
            && (u32::from(c) < 0x20 || (0x7f..0xa0).contains(&u32::from(c))) =>
        {
            format!("\\x{:02X}", u32::from(c))
        }
        c if c == '\u{fffe}' || c == '\u{ffff}' => {
            format!("\\u{:04X}", u32::from(c))
        }
        _ => return None,
    })
}

fn write_double(out: &mut String, s: &str, fold: bool, indent: usize) {
    out.push('"');
    let chars: Vec<char> = s.chars().collect();
    let mut col = column(out);
    let mut spaces = false;
    for (i, &c) in chars.iter().enumerate() {
        if let Some(e) = escape(c) {
            col += e.chars().count();
            out.push_str(&e);
            spaces = false;
        } else if c == ' ' {
            if fold && !spaces && col > WIDTH && i > 0 && i + 1 < chars.len() {
                out.push('\n');
                pad(out, indent);
                col = indent;
                if chars.get(i + 1) == Some(&' ') {
                    out.push('\\');
                    col += 1;
                }
            } else {
                out.push(' ');
                col += 1;
            }
            spaces = true;
        } else {
            out.push(c);
            col += 1;
            spaces = false;
        }
    }
    out.push('"');
}
