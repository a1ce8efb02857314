//! YAML streams: parsing into JSON values and writing them back.
//!
//! Parsing follows YAML 1.1 scalar resolution for untagged values (`yes` and
//! `on` are booleans), as `kubectl` and Helm read manifests. Writing follows
//! the layout `kubectl` and `kustomize` print: two-space indentation,
//! sequences inside mappings not indented, keys in document order, strings
//! quoted only where a plain scalar would read back as something else, and
//! multi-line strings as literal blocks.

use std::fmt::Write as _;

use serde_json::Value;

mod fast;

/// A YAML document that could not be parsed.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct Error {
    /// The file (or other origin) named by the caller.
    pub file: String,
    /// 1-based line of the problem; 0 when unknown.
    pub line: u64,
    /// 1-based column of the problem; 0 when unknown.
    pub column: u64,
    /// What is wrong.
    pub message: String,
}

/// Parses a stream of YAML documents; empty and `null` documents are dropped.
///
/// `file` only names the origin in errors.
pub fn parse_stream(text: &str, file: &str) -> Result<Vec<Value>, Error> {
    let mut docs = match fast::stream(text) {
        Some(docs) => docs,
        None => full_stream(text, file)?,
    };
    if let Some(last) = docs.last_mut() {
        unterminated_block_end(text, last);
    }
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

/// A block scalar (`|`, `|+`) on the last line of a text that has no final
/// line break has none either, as YAML (and kustomize, kubectl, Helm) read
/// it; the parser adds one. `doc` is the text's last document.
pub fn unterminated_block_end(text: &str, doc: &mut Value) {
    if text.is_empty() || text.ends_with('\n') {
        return;
    }
    let last_line = text.rsplit('\n').next().unwrap_or_default().trim_start();
    if last_line.trim().is_empty() {
        return;
    }
    let mut cur = doc;
    loop {
        cur = match cur {
            Value::Object(m) => match m.values_mut().next_back() {
                Some(v) => v,
                None => return,
            },
            Value::Array(a) => match a.last_mut() {
                Some(v) => v,
                None => return,
            },
            Value::String(s) => {
                if s.ends_with('\n') && s.trim_end_matches('\n').ends_with(last_line) {
                    s.pop();
                }
                return;
            }
            _ => return,
        };
    }
}

/// Parses exactly one YAML document (an empty text gives `null`).
pub fn parse_one(text: &str, file: &str) -> Result<Value, Error> {
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    let mut doc = match fast::one(text) {
        Some(doc) => doc,
        None => full_one(text, file)?,
    };
    unterminated_block_end(text, &mut doc);
    Ok(doc)
}

/// Every document of a stream as the full parser reads it, without the
/// fast reader (an empty document gives none). For the differential fuzz
/// target and tests.
#[doc(hidden)]
pub fn full_stream(text: &str, file: &str) -> Result<Vec<Value>, Error> {
    serde_saphyr::from_multiple(text).map_err(|e| error(&e, file))
}

/// One document as the full parser reads it, without the fast reader. For
/// the differential fuzz target and tests.
#[doc(hidden)]
pub fn full_one(text: &str, file: &str) -> Result<Value, Error> {
    serde_saphyr::from_str(text).map_err(|e| error(&e, file))
}

/// The fast reader's single document of a text, or `None` where it leaves
/// the text to the full parser. For the differential fuzz target and tests.
#[doc(hidden)]
pub fn fast_one(text: &str) -> Option<Value> {
    fast::one(text)
}

/// The fast reader's documents of a stream (an empty document gives none),
/// or `None` where it leaves the text to the full parser. For the
/// differential fuzz target and tests.
#[doc(hidden)]
pub fn fast_stream(text: &str) -> Option<Vec<Value>> {
    fast::stream(text)
}

/// Parses one YAML document into `T` (for typed files such as `kiln.yaml`);
/// unknown fields and wrong types are errors with the line and column.
pub fn from_str<T: serde::de::DeserializeOwned>(text: &str, file: &str) -> Result<T, Error> {
    serde_saphyr::from_str(text).map_err(|e| error(&e, file))
}

fn error(e: &serde_saphyr::Error, file: &str) -> Error {
    let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
    let full = e.without_snippet().to_string();
    // The crate prefixes "error: line L column C: "; keep only the message.
    let message = full
        .lines()
        .next()
        .unwrap_or_default()
        .trim_start_matches("error: ")
        .split_once(": ")
        .filter(|(head, _)| head.starts_with("line "))
        .map_or_else(
            || full.lines().next().unwrap_or_default().to_owned(),
            |(_, m)| m.to_owned(),
        );
    Error {
        file: file.to_owned(),
        line,
        column,
        message,
    }
}

/// Writes one document (without a `---` separator).
pub fn to_string(doc: &Value) -> String {
    let mut out = String::new();
    write_root(&mut out, doc);
    out
}

/// Writes documents as a stream, separated by `---` lines.
pub fn to_stream(docs: &[Value]) -> String {
    // Sized up front: grown by doubling, a stream holding one large value
    // would briefly take twice its size.
    let mut out = String::with_capacity(size_hint(docs));
    for (i, doc) in docs.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        write_root(&mut out, doc);
    }
    out
}

/// About the bytes `docs` take as text (YAML or JSON): their strings and
/// keys, plus a little per value for syntax and indentation.
pub fn size_hint(docs: &[Value]) -> usize {
    fn size(v: &Value) -> usize {
        match v {
            Value::String(s) => s.len() + 8,
            Value::Array(a) => a.iter().map(size).fold(8, usize::saturating_add),
            Value::Object(m) => m
                .iter()
                .map(|(k, v)| k.len().saturating_add(size(v)))
                .fold(8, usize::saturating_add),
            _ => 24,
        }
    }
    docs.iter().map(size).fold(0, usize::saturating_add)
}

fn write_root(out: &mut String, doc: &Value) {
    match doc {
        Value::Object(m) if !m.is_empty() => write_map(out, m, 0),
        Value::Array(a) if !a.is_empty() => write_seq(out, a, 0),
        scalar => {
            // Block content of a top-level string is indented, so a line of it
            // starting `---` or `...` is never read as a document marker.
            write_scalar(out, scalar, 2);
            out.push('\n');
        }
    }
}

fn indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// The longest key written as an implicit `key: value` (YAML's limit is
/// 1,024 characters); a longer one is written as an explicit `? key`.
const MAX_IMPLICIT_KEY: usize = 1000;

fn write_map(out: &mut String, map: &serde_json::Map<String, Value>, ind: usize) {
    for (i, (key, value)) in map.iter().enumerate() {
        if i > 0 {
            indent(out, ind);
        }
        let start = out.len();
        write_string(out, key, ind, true);
        if out.len() - start > MAX_IMPLICIT_KEY {
            // Too long for an implicit key (YAML allows 1,024 characters):
            // an explicit `? key` line, then the value after `:`.
            out.insert_str(start, "? ");
            out.push('\n');
            indent(out, ind);
        }
        out.push(':');
        match value {
            Value::Object(m) if !m.is_empty() => {
                out.push('\n');
                indent(out, ind + 2);
                write_map(out, m, ind + 2);
            }
            Value::Array(a) if !a.is_empty() => {
                out.push('\n');
                indent(out, ind);
                write_seq(out, a, ind);
            }
            scalar => {
                out.push(' ');
                write_scalar(out, scalar, ind + 2);
                out.push('\n');
            }
        }
    }
}

fn write_seq(out: &mut String, seq: &[Value], ind: usize) {
    for (i, item) in seq.iter().enumerate() {
        if i > 0 {
            indent(out, ind);
        }
        out.push_str("- ");
        match item {
            Value::Object(m) if !m.is_empty() => write_map(out, m, ind + 2),
            Value::Array(a) if !a.is_empty() => write_seq(out, a, ind + 2),
            scalar => {
                write_scalar(out, scalar, ind + 2);
                out.push('\n');
            }
        }
    }
}

/// Formats a float as Go's `strconv.FormatFloat(f, 'g', -1, 64)` does, as
/// `kubectl`, `kustomize` and Helm print floats: the shortest digits that
/// read back the same, in exponent form (`1e-05`, `1.2345678901234568e+29`)
/// when the exponent is below -4 or at least 6, else in positional form
/// (`0.5`, `123456`, `1`). A YAML 1.1 reader takes every such form as a
/// number, which Rust's own formatting (`1e-5`, `1.0`) does not ensure.
pub fn go_float(f: f64) -> String {
    if f.is_nan() {
        return ".nan".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.to_owned();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    // Rust's `{:e}` gives the shortest round-trip digits: `d.ddde±x`.
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if f < 0.0 { "-" } else { "" };
    if !(-4..6).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{dot}{rest}e{esign}{:02}", exp.unsigned_abs());
    }
    let point = exp + 1; // digits before the decimal point
    let mut out = String::from(sign);
    if point <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', point.unsigned_abs() as usize));
        out.push_str(&digits);
    } else {
        let point = point.unsigned_abs() as usize;
        if digits.len() <= point {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', point - digits.len()));
        } else {
            out.push_str(&digits[..point]);
            out.push('.');
            out.push_str(&digits[point..]);
        }
    }
    out
}

/// Writes a scalar or an empty collection; `ind` is the indentation of
/// block-scalar content.
fn write_scalar(out: &mut String, v: &Value, ind: usize) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match n.as_f64() {
            // A whole float keeps its `.0` (`1.0`): it reads back as a float.
            Some(f) if n.is_f64() && !(f.fract() == 0.0 && f.abs() < 1e16) => {
                out.push_str(&go_float(f));
            }
            _ => {
                let _ = write!(out, "{n}");
            }
        },
        Value::String(s) => write_string(out, s, ind, false),
        Value::Array(_) => out.push_str("[]"),
        Value::Object(_) => out.push_str("{}"),
    }
}

fn write_string(out: &mut String, s: &str, ind: usize, is_key: bool) {
    if !is_key && s.contains('\n') && literal_allowed(s) {
        write_literal(out, s, ind);
    } else if !resolves_to_non_string(s) && plain_allowed(s) {
        out.push_str(s);
    } else if !resolves_to_non_string(s) && single_quote_allowed(s) {
        out.push('\'');
        out.push_str(&s.replace('\'', "''"));
        out.push('\'');
    } else {
        write_double_quoted(out, s);
    }
}

fn write_literal(out: &mut String, s: &str, ind: usize) {
    out.push('|');
    let trailing = s.len() - s.trim_end_matches('\n').len();
    if s.starts_with(' ') {
        out.push('2');
    }
    match trailing {
        0 => out.push('-'),
        1 => {}
        _ => out.push('+'),
    }
    let body = if trailing == 0 { s } else { &s[..s.len() - 1] };
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            indent(out, ind);
            out.push_str(line);
        }
    }
    // The caller ends the line.
}

/// Whether a string can be written as a literal block and read back the same.
fn literal_allowed(s: &str) -> bool {
    !s.chars()
        .any(|c| (c.is_control() && c != '\n' && c != '\t') || c == '\u{feff}')
        && !s.lines().any(|l| l.ends_with(' ') || l.ends_with('\t'))
        && !s.starts_with('\n')
        && !s.starts_with(' ')
}

/// Whether an untagged plain scalar with this text would be read as
/// something other than a string (null, bool, number) by a YAML 1.1 or 1.2
/// reader.
fn resolves_to_non_string(s: &str) -> bool {
    const WORDS: &[&str] = &[
        "", "~", "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE", "yes",
        "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF", "y", "Y", "n", "N",
        ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan",
        ".NaN", ".NAN", "<<", "=",
    ];
    WORDS.contains(&s) || looks_numeric(s) || looks_like_timestamp(s)
}

fn looks_numeric(s: &str) -> bool {
    let t = s.strip_prefix(['-', '+']).unwrap_or(s).replace('_', "");
    if t.is_empty() {
        return false;
    }
    if let Some(hex) = t.strip_prefix("0x") {
        return !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit());
    }
    if let Some(oct) = t.strip_prefix("0o") {
        return !oct.is_empty() && oct.chars().all(|c| c.is_digit(8));
    }
    if let Some(bin) = t.strip_prefix("0b") {
        return !bin.is_empty() && bin.chars().all(|c| c == '0' || c == '1');
    }
    // Sexagesimal (YAML 1.1): 1:20, 190:20:30.15
    if t.contains(':') {
        let mut parts = t.split(':');
        let first = parts.next().unwrap_or_default();
        return !first.is_empty()
            && first.chars().all(|c| c.is_ascii_digit())
            && parts.all(|p| {
                let p = p.split_once('.').map_or(p, |(a, _)| a);
                !p.is_empty() && p.len() <= 2 && p.chars().all(|c| c.is_ascii_digit())
            });
    }
    // Decimal integer or float, with optional exponent.
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t.as_str(), None),
    };
    let digits = mantissa.chars().filter(char::is_ascii_digit).count();
    let mantissa_ok = digits > 0
        && mantissa.chars().filter(|&c| c == '.').count() <= 1
        && mantissa.chars().all(|c| c.is_ascii_digit() || c == '.');
    let exp_ok = exp.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.chars().all(|c| c.is_ascii_digit())
    });
    mantissa_ok && exp_ok
}

fn looks_like_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
}

fn plain_allowed(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if s.starts_with(' ') || s.ends_with(' ') || s.starts_with('\t') || s.ends_with('\t') {
        return false;
    }
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        // `-`, `?` and `:` may start a plain scalar when followed by a non-space.
        let next = s[first.len_utf8()..].chars().next();
        if !("-?:".contains(first) && next.is_some_and(|c| c != ' ')) {
            return false;
        }
    }
    if s == "---" || s == "..." || s.starts_with("--- ") || s.starts_with("... ") {
        return false;
    }
    if s.contains(": ") || s.contains(" #") || s.ends_with(':') {
        return false;
    }
    !s.chars().any(|c| {
        c.is_control() || c == '\u{feff}' || c == '\u{85}' || c == '\u{2028}' || c == '\u{2029}'
    })
}

fn single_quote_allowed(s: &str) -> bool {
    !s.starts_with(' ')
        && !s.ends_with(' ')
        && !s.chars().any(|c| {
            c.is_control() || c == '\u{feff}' || c == '\u{85}' || c == '\u{2028}' || c == '\u{2029}'
        })
}

fn write_double_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{b}' => out.push_str("\\v"),
            '\u{c}' => out.push_str("\\f"),
            '\u{1b}' => out.push_str("\\e"),
            '\u{85}' => out.push_str("\\N"),
            '\u{a0}' => out.push_str("\\_"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if c.is_control() || c == '\u{feff}' => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests;
