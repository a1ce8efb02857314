//! YAML scalar rules of go-yaml v3 as sops uses it: how plain scalars resolve when read, and
//! which style a string gets when written.

use crate::tree::Value;

/// Resolves a plain (unquoted) scalar as yaml.v3 does when decoding into `interface{}`
/// (timestamps stay strings).
pub(crate) fn resolve_plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    let first = s.as_bytes()[0];
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return Value::Str(s.to_owned());
    }
    let plain = s.replace('_', "");
    if let Some(i) = parse_go_int(&plain) {
        return Value::Int(i);
    }
    if is_yaml_float(&plain)
        && let Ok(f) = plain.parse::<f64>()
    {
        return Value::Float(f);
    }
    Value::Str(s.to_owned())
}

/// Go's `strconv.ParseInt(s, 0, 64)`.
fn parse_go_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if body.is_empty() {
        return None;
    }
    let (radix, digits) = if let Some(d) = body.strip_prefix("0x").or(body.strip_prefix("0X")) {
        (16, d)
    } else if let Some(d) = body.strip_prefix("0o").or(body.strip_prefix("0O")) {
        (8, d)
    } else if let Some(d) = body.strip_prefix("0b").or(body.strip_prefix("0B")) {
        (2, d)
    } else if body.len() > 1 && body.starts_with('0') {
        (8, &body[1..])
    } else {
        (10, body)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = i128::from_str_radix(digits, radix).ok()?;
    let value = if neg { -magnitude } else { magnitude };
    i64::try_from(value).ok()
}

fn is_yaml_float(s: &str) -> bool {
    // ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'-' | b'+')));
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

fn looks_like_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 8 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let rest = &s[5..];
    let date_end = rest.find(['T', 't', ' ']).unwrap_or(rest.len());
    let date = &rest[..date_end];
    let mut parts = date.split('-');
    let ok = |p: Option<&str>| {
        p.is_some_and(|p| (1..=2).contains(&p.len()) && p.bytes().all(|c| c.is_ascii_digit()))
    };
    if !(ok(parts.next()) && ok(parts.next()) && parts.next().is_none()) {
        return false;
    }
    let time = &rest[date_end..];
    if time.is_empty() {
        return true;
    }
    let time = &time[1..];
    let clock_end = time
        .find(|c: char| !(c.is_ascii_digit() || c == ':' || c == '.'))
        .unwrap_or(time.len());
    let clock = &time[..clock_end];
    let zone = &time[clock_end..];
    clock.split(':').count() == 3
        && (zone.is_empty()
            || zone == "Z"
            || (zone.len() == 6
                && matches!(zone.as_bytes()[0], b'+' | b'-')
                && zone.as_bytes()[3] == b':'))
}

fn is_old_bool(s: &str) -> bool {
    matches!(
        s,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "on"
            | "On"
            | "ON"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "off"
            | "Off"
            | "OFF"
    )
}

fn is_base60_float(s: &str) -> bool {
    // ^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (main, frac) = match s.split_once('.') {
        Some((m, f)) => (m, Some(f)),
        None => (s, None),
    };
    if frac.is_some_and(|f| !f.bytes().all(|c| c.is_ascii_digit() || c == b'_')) {
        return false;
    }
    let mut parts = main.split(':');
    let head = parts.next().unwrap_or_default();
    if head.is_empty()
        || !head.as_bytes()[0].is_ascii_digit()
        || !head.bytes().all(|c| c.is_ascii_digit() || c == b'_')
    {
        return false;
    }
    let mut count = 0;
    for p in parts {
        count += 1;
        let b = p.as_bytes();
        let ok = match b.len() {
            1 => b[0].is_ascii_digit(),
            2 => (b'0'..=b'5').contains(&b[0]) && b[1].is_ascii_digit(),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    count > 0
}

/// How a string scalar is written.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub(crate) enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

fn printable(c: char) -> bool {
    matches!(c, '\n' | '\u{85}')
        || (' '..='~').contains(&c)
        || ('\u{A0}'..='\u{D7FF}').contains(&c)
        || (('\u{E000}'..='\u{FFFD}').contains(&c) && c != '\u{FEFF}')
        || ('\u{10000}'..='\u{10FFFF}').contains(&c)
}

/// The style yaml.v3 picks for a string (`key` for mapping keys).
pub(crate) fn string_style(s: &str, key: bool) -> Style {
    let needs_quotes = !matches!(resolve_plain(s), Value::Str(_))
        || looks_like_timestamp(s)
        || is_base60_float(s)
        || is_old_bool(s);
    if s.contains('\n') {
        return if key || !block_allowed(s) {
            Style::Double
        } else {
            Style::Literal
        };
    }
    if needs_quotes {
        return Style::Double;
    }
    let (plain_ok, single_ok) = analyze(s);
    if plain_ok {
        Style::Plain
    } else if single_ok {
        Style::Single
    } else {
        Style::Double
    }
}

fn block_allowed(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    let special = chars.iter().any(|c| !printable(*c) || *c == '\t');
    let space_break = chars.windows(2).any(|w| w[0] == ' ' && w[1] == '\n');
    let trailing_space = chars.last() == Some(&' ');
    !(special || space_break || trailing_space)
}

/// (block plain allowed, single quotes allowed) as the emitter's scalar analysis finds them.
fn analyze(s: &str) -> (bool, bool) {
    if s.is_empty() {
        return (false, true);
    }
    if s.starts_with("---") || s.starts_with("...") {
        return (false, true);
    }
    let chars: Vec<char> = s.chars().collect();
    let mut block_indicators = false;
    let mut special = false;
    for (i, &c) in chars.iter().enumerate() {
        let next_ws = chars
            .get(i + 1)
            .is_none_or(|n| matches!(n, ' ' | '\t' | '\n'));
        let prev_ws = i > 0 && matches!(chars[i - 1], ' ' | '\t' | '\n');
        if i == 0 {
            if "#,[]{}&*!|>'\"%@`".contains(c) || (matches!(c, '?' | ':' | '-') && next_ws) {
                block_indicators = true;
            }
        } else if (c == ':' && next_ws) || (c == '#' && prev_ws) {
            block_indicators = true;
        }
        if !printable(c) || c == '\t' {
            special = true;
        }
    }
    let leading = chars[0] == ' ';
    let trailing = chars[chars.len() - 1] == ' ';
    let plain = !(block_indicators || special || leading || trailing);
    (plain, !special)
}
