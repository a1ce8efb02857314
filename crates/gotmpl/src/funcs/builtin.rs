//! Go's text/template builtins: `and`, `or`, `not`, `len`, `index`, `print`, `eq`, ...

use std::fmt::Write as _;

use crate::fmt::{sprint, sprintf, sprintln};
use crate::funcs::conv::{idx, len_i64, want_str};
use crate::funcs::{Ctx, FResult, FuncError, Registry, at, ex};
use crate::value::{Value, go_string_bytes};

pub(crate) fn register(r: &mut Registry) {
    // `and` and `or` short-circuit in the executor; these are never called.
    r.add("and", at(1), |_, a| {
        Ok(a.last().cloned().unwrap_or_default())
    });
    r.add("or", at(1), |_, a| {
        Ok(a.last().cloned().unwrap_or_default())
    });
    r.add("not", ex(1), |_, a| Ok(Value::Bool(!a[0].truthy())));
    r.add("len", ex(1), len);
    r.add("index", at(1), index);
    r.add("print", at(0), |_, a| Ok(Value::String(sprint(&a))));
    r.add("println", at(0), |_, a| Ok(Value::String(sprintln(&a))));
    r.add("printf", at(1), |_, a| {
        let f = want_str(&a, 0)?;
        Ok(Value::String(sprintf(&f, &a[1..])))
    });
    r.add("html", at(0), |_, a| {
        Ok(Value::String(html_escape(&eval_args(&a))))
    });
    r.add("js", at(0), |_, a| {
        Ok(Value::String(js_escape(&eval_args(&a))))
    });
    r.add("urlquery", at(0), |_, a| {
        Ok(Value::String(query_escape(&eval_args(&a))))
    });
    r.add("call", at(1), |_, a| {
        Err(FuncError::Call(format!(
            "non-function {} of type {}",
            crate::fmt::format_value(&a[0]),
            a[0].type_name()
        )))
    });
    r.add("eq", at(1), |_, a| eq(&a[0], &a[1..]).map(Value::Bool));
    r.add("ne", ex(2), |_, a| {
        eq(&a[0], &a[1..]).map(|b| Value::Bool(!b))
    });
    r.add("lt", ex(2), |_, a| lt(&a[0], &a[1]).map(Value::Bool));
    r.add("le", ex(2), |_, a| {
        Ok(Value::Bool(lt(&a[0], &a[1])? || eq(&a[0], &a[1..])?))
    });
    r.add("gt", ex(2), |_, a| {
        Ok(Value::Bool(!lt(&a[0], &a[1])? && !eq(&a[0], &a[1..])?))
    });
    r.add("ge", ex(2), |_, a| Ok(Value::Bool(!lt(&a[0], &a[1])?)));
}

fn eval_args(a: &[Value]) -> String {
    if let [Value::String(s)] = a {
        return s.clone();
    }
    sprint(a)
}

#[expect(
    clippy::needless_pass_by_value,
    reason = "the function table passes arguments by value"
)]
fn len(_: &Ctx<'_>, a: Vec<Value>) -> FResult {
    match &a[0] {
        // Go counts bytes, a chart file's or a decoded value's raw bytes too.
        Value::String(s) => Ok(Value::Int(len_i64(go_string_bytes(s).len()))),
        Value::List(l) => Ok(Value::Int(len_i64(l.len()))),
        Value::Map(m) => Ok(Value::Int(len_i64(m.len()))),
        Value::Object(o) if o.elements().is_some() => {
            Ok(Value::Int(len_i64(o.elements().unwrap_or(0))))
        }
        Value::Nil => Err(FuncError::Call("len of nil pointer".into())),
        v => Err(FuncError::Call(format!("len of type {}", v.type_name()))),
    }
}

#[expect(
    clippy::needless_pass_by_value,
    reason = "the function table passes arguments by value"
)]
fn index(_: &Ctx<'_>, a: Vec<Value>) -> FResult {
    let mut item: Value = match &a[0] {
        Value::Object(o) => match o.list() {
            Some(l) => Value::List(l),
            None => a[0].clone(),
        },
        v => v.clone(),
    };
    if item.is_nil() {
        return Err(FuncError::Call("index of untyped nil".into()));
    }
    for (n, key) in a[1..].iter().enumerate() {
        if n > 0 && item.is_nil() {
            return Err(FuncError::Call("index of nil pointer".into()));
        }
        item = match &item {
            Value::List(l) => l[index_arg(key, l.len())?].clone(),
            Value::String(s) => {
                let i = index_arg(key, s.len())?;
                if n + 2 < a.len() {
                    return Err(FuncError::Call("can't index item of type uint8".into()));
                }
                return Ok(Value::Int(i64::from(s.as_bytes()[i])));
            }
            Value::Map(m) => match key {
                Value::String(k) => m.get(k).unwrap_or_default(),
                Value::Nil => {
                    return Err(FuncError::Call(
                        "value is nil; should be of type string".into(),
                    ));
                }
                other => {
                    return Err(FuncError::Call(format!(
                        "value has type {}; should be string",
                        other.type_name()
                    )));
                }
            },
            Value::Object(o) if matches!(key, Value::String(_)) => {
                match key.as_str().and_then(|k| o.index(k)) {
                    Some(v) => v,
                    None => {
                        return Err(FuncError::Call(format!(
                            "can't index item of type {}",
                            item.type_name()
                        )));
                    }
                }
            }
            other => {
                return Err(FuncError::Call(format!(
                    "can't index item of type {}",
                    other.type_name()
                )));
            }
        };
    }
    Ok(item)
}

fn index_arg(key: &Value, len: usize) -> Result<usize, FuncError> {
    let i = match key {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Nil => return Err(FuncError::Call("cannot index slice/array with nil".into())),
        other => {
            return Err(FuncError::Call(format!(
                "cannot index slice/array with type {}",
                other.type_name()
            )));
        }
    };
    if i < 0 || idx(i) >= len {
        return Err(FuncError::Call(format!("index out of range: {i}")));
    }
    Ok(idx(i))
}

#[derive(PartialEq, Eq)]
enum Basic {
    Bool,
    Int,
    Float,
    Str,
    Other,
    Invalid,
}

fn basic(v: &Value) -> Basic {
    match v {
        Value::Bool(_) => Basic::Bool,
        Value::Int(_) | Value::Int64(_) => Basic::Int,
        Value::Float(_) => Basic::Float,
        Value::String(_) => Basic::Str,
        Value::Nil => Basic::Invalid,
        _ => Basic::Other,
    }
}

/// Go's `eq`: true when `a` equals any of `rest`.
pub(crate) fn eq(a: &Value, rest: &[Value]) -> Result<bool, FuncError> {
    if rest.is_empty() {
        return Err(FuncError::Call("missing argument for comparison".into()));
    }
    let k1 = basic(a);
    for b in rest {
        let k2 = basic(b);
        let truth = if k1 == k2 {
            match (a, b) {
                (Value::Bool(x), Value::Bool(y)) => x == y,
                (Value::Int(x) | Value::Int64(x), Value::Int(y) | Value::Int64(y)) => x == y,
                (Value::Float(x), Value::Float(y)) => x == y,
                (Value::String(x), Value::String(y)) => x == y,
                (Value::Nil, Value::Nil) => true,
                _ => {
                    if matches!(a, Value::List(_) | Value::Map(_)) {
                        return Err(FuncError::Call(format!(
                            "non-comparable type {}: {}",
                            crate::fmt::format_value(a),
                            a.type_name()
                        )));
                    }
                    crate::value::deep_equal(a, b)
                }
            }
        } else if a.is_nil() || b.is_nil() {
            false
        } else {
            return Err(incompatible(a, b));
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Go's error for comparing values of different kinds, naming both types.
fn incompatible(a: &Value, b: &Value) -> FuncError {
    FuncError::Call(format!(
        "incompatible types for comparison: {} and {}",
        a.type_name(),
        b.type_name()
    ))
}

fn lt(a: &Value, b: &Value) -> Result<bool, FuncError> {
    let (k1, k2) = (basic(a), basic(b));
    if matches!(k1, Basic::Other | Basic::Invalid) || matches!(k2, Basic::Other | Basic::Invalid) {
        return Err(FuncError::Call("invalid type for comparison".into()));
    }
    if k1 != k2 {
        return Err(incompatible(a, b));
    }
    Ok(match (a, b) {
        (Value::Int(x) | Value::Int64(x), Value::Int(y) | Value::Int64(y)) => x < y,
        (Value::Float(x), Value::Float(y)) => x < y,
        (Value::String(x), Value::String(y)) => x < y,
        _ => return Err(FuncError::Call("invalid type for comparison".into())),
    })
}

/// Go's `template.HTMLEscapeString`.
pub(crate) fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            // Go escapes every non-ASCII rune `unicode.IsPrint` rejects
            // (U+2028, U+00A0, format characters).
            c if !c.is_ascii() && !crate::fmt::is_printable(c) => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// Go's `url.QueryEscape`.
pub(crate) fn query_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}
