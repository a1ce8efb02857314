//! Argument conversions: Go's typed parameters and Sprig's lenient casts.

use crate::fmt::format_value;
use crate::funcs::FuncError;
use crate::value::Value;

/// Go's check of a `string` parameter.
pub(crate) fn want_str(args: &[Value], i: usize) -> Result<String, FuncError> {
    match args.get(i) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Nil) | None => Err(FuncError::Arg(i, "invalid value; expected string".into())),
        Some(v) => Err(FuncError::Arg(
            i,
            format!(
                "wrong type for value; expected string; got {}",
                v.type_name()
            ),
        )),
    }
}

/// Go's check of an `int` parameter.
pub(crate) fn want_int(args: &[Value], i: usize) -> Result<i64, FuncError> {
    match args.get(i) {
        Some(Value::Int(n)) => Ok(*n),
        Some(Value::Nil) | None => Err(FuncError::Arg(i, "invalid value; expected int".into())),
        Some(v) => Err(FuncError::Arg(
            i,
            format!("wrong type for value; expected int; got {}", v.type_name()),
        )),
    }
}

/// Go's check of a `bool` parameter.
pub(crate) fn want_bool(args: &[Value], i: usize) -> Result<bool, FuncError> {
    match args.get(i) {
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::Nil) | None => Err(FuncError::Arg(i, "invalid value; expected bool".into())),
        Some(v) => Err(FuncError::Arg(
            i,
            format!("wrong type for value; expected bool; got {}", v.type_name()),
        )),
    }
}

/// Go's check of a `map[string]interface{}` parameter (nil is an empty map).
pub(crate) fn want_map(args: &[Value], i: usize) -> Result<crate::value::Map, FuncError> {
    match args.get(i) {
        Some(Value::Map(m)) => Ok(m.clone()),
        Some(Value::Nil) | None => Ok(crate::value::Map::new()),
        Some(v) => Err(FuncError::Arg(
            i,
            format!(
                "wrong type for value; expected map[string]interface {{}}; got {}",
                v.type_name()
            ),
        )),
    }
}

/// Sprig's `strval`: strings as they are, everything else through `%v`.
pub(crate) fn strval(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => format_value(other),
    }
}

/// Sprig's `strslice`: a list's non-nil elements as strings, or the value itself.
pub(crate) fn strslice(v: &Value) -> Vec<String> {
    match v {
        Value::List(l) => l.iter().filter(|e| !e.is_nil()).map(strval).collect(),
        // A host object that is a Go slice (`.Capabilities.APIVersions`).
        Value::Object(o) if o.list().is_some() => o
            .list()
            .unwrap_or_default()
            .iter()
            .filter(|e| !e.is_nil())
            .map(strval)
            .collect(),
        Value::Nil => Vec::new(),
        other => vec![strval(other)],
    }
}

fn parse_go_int_str(s: &str) -> Option<i64> {
    let t = s.trim();
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let body = body.replace('_', "");
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d.to_string())
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d.to_string())
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d.to_string())
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_string())
    } else {
        (10, lower.clone())
    };
    if digits.is_empty() || t != s {
        return None;
    }
    let v = i128::from_str_radix(&digits, radix).ok()?;
    i64::try_from(if neg { -v } else { v }).ok()
}

/// `cast.ToInt64`: lenient, 0 when impossible.
pub(crate) fn to_i64(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        #[expect(clippy::cast_possible_truncation, reason = "Go truncates the same way")]
        Value::Float(f) => *f as i64,
        Value::Bool(b) => i64::from(*b),
        Value::String(s) => {
            let t = s.strip_suffix(".0").unwrap_or(s);
            parse_go_int_str(t).unwrap_or(0)
        }
        _ => 0,
    }
}

/// `cast.ToFloat64`: lenient, 0 when impossible.
pub(crate) fn to_f64(v: &Value) -> f64 {
    match v {
        #[expect(clippy::cast_precision_loss, reason = "Go converts the same way")]
        Value::Int(i) | Value::Int64(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::String(s) => s.parse::<f64>().unwrap_or(0.0),
        _ => 0.0,
    }
}

/// Sprig's `empty`.
pub(crate) fn empty(v: &Value) -> bool {
    match v {
        Value::Object(o) => o.elements() == Some(0),
        other => !other.truthy(),
    }
}

/// An `i64` as `usize`, clamped at 0.
pub(crate) fn idx(i: i64) -> usize {
    usize::try_from(i.max(0)).unwrap_or(usize::MAX)
}

/// The largest string or list a function builds from a count it is given
/// (`repeat`, `indent`, `until`...): 64 MiB, far above any Kubernetes
/// object, so that a template cannot make the engine allocate without bound.
pub(crate) const MAX_BUILT: u128 = 64 << 20;

/// Refuses a result of `bytes` bytes above [`MAX_BUILT`], naming the function.
pub(crate) fn check_built(func: &str, bytes: u128) -> Result<(), super::FuncError> {
    if bytes > MAX_BUILT {
        return Err(format!(
            "{func}: the result would take {bytes} bytes, more than the template engine's limit of {} MiB",
            MAX_BUILT >> 20
        )
        .into());
    }
    Ok(())
}

/// A length as `i64`.
pub(crate) fn len_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
