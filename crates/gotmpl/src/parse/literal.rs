//! Number and string literals as Go's parser reads them.

use crate::ast::Number;
use crate::lex::{Kind, Token};

pub(super) fn number(t: &Token<'_>) -> Result<Number, String> {
    let text = t.val.to_string();
    if t.kind == Kind::CharConst {
        let s = unquote(&text)?;
        let mut cs = s.chars();
        let (Some(c), None) = (cs.next(), cs.next()) else {
            return Err(format!("malformed character constant: {text}"));
        };
        let v = i64::from(u32::from(c));
        return Ok(Number {
            text,
            int: Some(v),
            #[expect(clippy::cast_precision_loss, reason = "runes fit exactly")]
            float: Some(v as f64),
            is_float: false,
        });
    }
    if text.ends_with('i') {
        return Err(format!("complex numbers are not supported: {text}"));
    }
    let clean: String = text.chars().filter(|c| *c != '_').collect();
    let int = parse_go_int(&clean);
    let lower = clean.to_ascii_lowercase();
    let hex = lower.trim_start_matches(['+', '-']).starts_with("0x");
    let float = match int {
        #[expect(clippy::cast_precision_loss, reason = "Go converts the same way")]
        Some(i) => Some(i as f64),
        None if !hex => clean.parse::<f64>().ok().filter(|f| f.is_finite()),
        None if lower.contains('p') => parse_hex_float(&lower).filter(|f| f.is_finite()),
        None => None,
    };
    if int.is_none() && float.is_none() {
        return Err(format!("illegal number syntax: {text:?}"));
    }
    let is_float = float.is_some()
        && if hex {
            lower.contains('p')
        } else {
            lower.contains(['.', 'e'])
        };
    Ok(Number {
        text,
        int: if is_float { None } else { int },
        float,
        is_float,
    })
}

/// A hexadecimal floating-point literal (`0x1p60`, `-0x1.8p-2`), already lower-cased
/// and without underscores.
fn parse_hex_float(s: &str) -> Option<f64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (mant, exp) = body.strip_prefix("0x")?.split_once('p')?;
    let exp: i32 = exp.parse().ok()?;
    let (int_part, frac_part) = mant.split_once('.').unwrap_or((mant, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut m: u128 = 0;
    let mut shift: i32 = exp;
    for (i, c) in int_part.chars().chain(frac_part.chars()).enumerate() {
        let d = c.to_digit(16)?;
        if m >> 120 != 0 {
            // Further digits are below the precision of an f64: only the scale counts.
            if i < int_part.len() {
                shift = shift.checked_add(4)?;
            }
            continue;
        }
        m = (m << 4) | u128::from(d);
        if i >= int_part.len() {
            shift = shift.checked_sub(4)?;
        }
    }
    #[expect(clippy::cast_precision_loss, reason = "rounds to nearest, as Go does")]
    let v = m as f64 * 2f64.powi(shift);
    Some(if neg { -v } else { v })
}

fn parse_go_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if digits.is_empty() {
        return None;
    }
    let v = i128::from_str_radix(digits, radix).ok()?;
    i64::try_from(if neg { -v } else { v }).ok()
}

/// Go's `strconv.Unquote` for "..." , `...` and '...'.
pub(crate) fn unquote(s: &str) -> Result<String, String> {
    let bad = || "invalid syntax".to_string();
    if s.len() < 2 {
        return Err(bad());
    }
    let q = s.as_bytes()[0];
    let inner = &s[1..s.len() - 1];
    if q == b'`' {
        return Ok(inner.replace('\r', ""));
    }
    let mut out = String::new();
    let mut it = inner.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let e = it.next().ok_or_else(bad)?;
        match e {
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\x0b'),
            '\\' => out.push('\\'),
            '\'' | '"' => out.push(e),
            'x' | 'u' | 'U' => {
                let n = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let hex: String = (0..n).filter_map(|_| it.next()).collect();
                let v = u32::from_str_radix(&hex, 16).map_err(|_| bad())?;
                out.push(char::from_u32(v).ok_or_else(bad)?);
            }
            '0'..='7' => {
                let mut v = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    let d = it.next().and_then(|c| c.to_digit(8)).ok_or_else(bad)?;
                    v = v * 8 + d;
                }
                out.push(char::from_u32(v).ok_or_else(bad)?);
            }
            _ => return Err(bad()),
        }
    }
    Ok(out)
}
