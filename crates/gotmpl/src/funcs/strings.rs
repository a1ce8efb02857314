//! Sprig's string functions.
#![expect(
    clippy::many_single_char_names,
    reason = "short names mirror the Go originals"
)]

use std::collections::BTreeMap;

mod case;

use crate::fmt::quote;
use crate::funcs::conv::{check_built, idx, strslice, strval, to_i64, want_int, want_str};
use crate::funcs::{Ctx, FResult, FuncError, Registry, at, ex};
use crate::value::Value;

#[expect(
    clippy::unnecessary_wraps,
    reason = "matches the function table's result type"
)]
fn s(v: String) -> FResult {
    Ok(Value::String(v))
}

pub(crate) fn register(r: &mut Registry) {
    r.add("upper", ex(1), |_, a| s(want_str(&a, 0)?.to_uppercase()));
    r.add("lower", ex(1), |_, a| s(want_str(&a, 0)?.to_lowercase()));
    r.add("title", ex(1), |_, a| s(title(&want_str(&a, 0)?)));
    r.add("untitle", ex(1), |_, a| s(untitle(&want_str(&a, 0)?)));
    r.add("substr", ex(3), |_, a| {
        let (st, en, v) = (want_int(&a, 0)?, want_int(&a, 1)?, want_str(&a, 2)?);
        let b = v.as_bytes();
        // Sprig slices the string's bytes as Go does; a slice Go cannot take
        // panics, which the template reports as the call's error.
        let n = i64::try_from(b.len()).unwrap_or(i64::MAX);
        let bounds = |m: String| {
            Err(FuncError::Call(format!(
                "runtime error: slice bounds out of range {m}"
            )))
        };
        let out = if st < 0 {
            if en < 0 {
                return bounds(format!("[:{en}]"));
            }
            if en > n {
                return bounds(format!("[:{en}] with length {n}"));
            }
            &b[..idx(en)]
        } else if en < 0 || en > n {
            if st > n {
                return bounds(format!("[{st}:{n}]"));
            }
            &b[idx(st)..]
        } else {
            if st > en {
                return bounds(format!("[{st}:{en}]"));
            }
            &b[idx(st)..idx(en)]
        };
        s(String::from_utf8_lossy(out).into_owned())
    });
    r.add("trunc", ex(2), |_, a| {
        let (c, v) = (want_int(&a, 0)?, want_str(&a, 1)?);
        let n = i64::try_from(v.len()).unwrap_or(i64::MAX);
        let b = v.as_bytes();
        let out = if c < 0 && n + c > 0 {
            &b[idx(n + c)..]
        } else if c >= 0 && n > c {
            &b[..idx(c)]
        } else {
            b
        };
        s(String::from_utf8_lossy(out).into_owned())
    });
    r.add("trim", ex(1), |_, a| s(want_str(&a, 0)?.trim().to_string()));
    r.add("trimAll", ex(2), |_, a| {
        let cut: Vec<char> = want_str(&a, 0)?.chars().collect();
        s(want_str(&a, 1)?.trim_matches(&cut[..]).to_string())
    });
    r.add("trimall", ex(2), |_, a| {
        let cut: Vec<char> = want_str(&a, 0)?.chars().collect();
        s(want_str(&a, 1)?.trim_matches(&cut[..]).to_string())
    });
    r.add("hello", ex(0), |_, _| s("Hello!".into()));
    r.add("trimPrefix", ex(2), |_, a| {
        let (p, v) = (want_str(&a, 0)?, want_str(&a, 1)?);
        s(v.strip_prefix(p.as_str()).unwrap_or(&v).to_string())
    });
    r.add("trimSuffix", ex(2), |_, a| {
        let (p, v) = (want_str(&a, 0)?, want_str(&a, 1)?);
        s(v.strip_suffix(p.as_str()).unwrap_or(&v).to_string())
    });
    r.add("repeat", ex(2), |_, a| {
        let (n, v) = (want_int(&a, 0)?, want_str(&a, 1)?);
        if n < 0 {
            return Err("strings: negative Repeat count".to_string().into());
        }
        check_built("repeat", u128::from(n.unsigned_abs()) * v.len() as u128)?;
        s(v.repeat(idx(n)))
    });
    r.add("nospace", ex(1), |_, a| {
        s(want_str(&a, 0)?
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect())
    });
    r.add("abbrev", ex(2), |_, a| {
        let (w, v) = (want_int(&a, 0)?, want_str(&a, 1)?);
        if w < 4 {
            return s(v);
        }
        s(abbreviate(&v, 0, idx(w)).unwrap_or_default())
    });
    r.add("abbrevboth", ex(3), |_, a| {
        let (l, w, v) = (want_int(&a, 0)?, want_int(&a, 1)?, want_str(&a, 2)?);
        if w < 4 || (l > 0 && w < 7) {
            return s(v);
        }
        s(abbreviate(&v, idx(l), idx(w)).unwrap_or_default())
    });
    r.add("initials", ex(1), |_, a| {
        s(want_str(&a, 0)?
            .split_whitespace()
            .filter_map(|w| w.chars().next())
            .collect())
    });
    r.add("wrap", ex(2), |_, a| {
        s(wrap(&want_str(&a, 1)?, want_int(&a, 0)?, "\n", false))
    });
    r.add("wrapWith", ex(3), |_, a| {
        s(wrap(
            &want_str(&a, 2)?,
            want_int(&a, 0)?,
            &want_str(&a, 1)?,
            true,
        ))
    });
    r.add("contains", ex(2), |_, a| {
        Ok(Value::Bool(want_str(&a, 1)?.contains(&want_str(&a, 0)?)))
    });
    r.add("hasPrefix", ex(2), |_, a| {
        Ok(Value::Bool(want_str(&a, 1)?.starts_with(&want_str(&a, 0)?)))
    });
    r.add("hasSuffix", ex(2), |_, a| {
        Ok(Value::Bool(want_str(&a, 1)?.ends_with(&want_str(&a, 0)?)))
    });
    r.add("quote", at(0), |_, a| {
        let v: Vec<String> = a
            .iter()
            .filter(|v| !v.is_nil())
            .map(|v| quote(&strval(v)))
            .collect();
        s(v.join(" "))
    });
    r.add("squote", at(0), |_, a| {
        let v: Vec<String> = a
            .iter()
            .filter(|v| !v.is_nil())
            .map(|v| format!("'{}'", strval(v)))
            .collect();
        s(v.join(" "))
    });
    r.add("cat", at(0), |_, a| {
        let v: Vec<String> = a
            .iter()
            .filter(|v| !v.is_nil())
            .map(crate::fmt::format_value)
            .collect();
        s(v.join(" "))
    });
    r.add("indent", ex(2), |_, a| {
        s(indent("indent", want_int(&a, 0)?, &want_str(&a, 1)?)?)
    });
    r.add("nindent", ex(2), |_, a| {
        s(format!(
            "\n{}",
            indent("nindent", want_int(&a, 0)?, &want_str(&a, 1)?)?
        ))
    });
    r.add("replace", ex(3), |_, a| {
        let (o, n, v) = (want_str(&a, 0)?, want_str(&a, 1)?, want_str(&a, 2)?);
        s(go_replace(&v, &o, &n))
    });
    r.add("plural", ex(3), |_, a| {
        let (one, many, n) = (want_str(&a, 0)?, want_str(&a, 1)?, want_int(&a, 2)?);
        s(if n == 1 { one } else { many })
    });
    r.add("snakecase", ex(1), |_, a| {
        s(case::camel_to_lower(&want_str(&a, 0)?, '_'))
    });
    r.add("kebabcase", ex(1), |_, a| {
        s(case::camel_to_lower(&want_str(&a, 0)?, '-'))
    });
    r.add("camelcase", ex(1), |_, a| s(camel(&want_str(&a, 0)?)));
    r.add("swapcase", ex(1), |_, a| {
        s(want_str(&a, 0)?
            .chars()
            .map(|c| {
                if c.is_uppercase() {
                    c.to_lowercase().collect::<String>()
                } else if c.is_lowercase() {
                    c.to_uppercase().collect()
                } else {
                    c.to_string()
                }
            })
            .collect())
    });
    r.add("shuffle", ex(1), |c, a| {
        let mut v: Vec<char> = want_str(&a, 0)?.chars().collect();
        let mut rng = c.shared.rng.borrow_mut();
        for i in (1..v.len()).rev() {
            let j = rng.below(i + 1);
            v.swap(i, j);
        }
        s(v.into_iter().collect())
    });
    r.add("randAlphaNum", ex(1), |c, a| {
        rand_from(
            "randAlphaNum",
            c,
            &a,
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        )
    });
    r.add("randAlpha", ex(1), |c, a| {
        rand_from(
            "randAlpha",
            c,
            &a,
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        )
    });
    r.add("randNumeric", ex(1), |c, a| {
        rand_from("randNumeric", c, &a, "0123456789")
    });
    r.add("randAscii", ex(1), |c, a| {
        let set: String = (32u8..127).map(char::from).collect();
        rand_from("randAscii", c, &a, &set)
    });
    r.add("splitList", ex(2), |_, a| {
        let (sep, v) = (want_str(&a, 0)?, want_str(&a, 1)?);
        Ok(Value::List(
            go_split(&v, &sep, -1)
                .into_iter()
                .map(Value::String)
                .collect(),
        ))
    });
    r.add("split", ex(2), |_, a| {
        let (sep, v) = (want_str(&a, 0)?, want_str(&a, 1)?);
        Ok(numbered(go_split(&v, &sep, -1)))
    });
    r.add("splitn", ex(3), |_, a| {
        let (sep, n, v) = (want_str(&a, 0)?, want_int(&a, 1)?, want_str(&a, 2)?);
        Ok(numbered(go_split(&v, &sep, n)))
    });
    r.add("join", ex(2), |_, a| {
        s(strslice(&a[1]).join(&want_str(&a, 0)?))
    });
    r.add("sortAlpha", ex(1), |_, a| {
        let mut v = strslice(&a[0]);
        v.sort();
        Ok(Value::List(v.into_iter().map(Value::String).collect()))
    });
    r.add("toString", ex(1), |_, a| s(strval(&a[0])));
    r.add("toStrings", ex(1), |_, a| {
        Ok(Value::List(
            strslice(&a[0]).into_iter().map(Value::String).collect(),
        ))
    });
    r.add("atoi", ex(1), |_, a| {
        Ok(Value::Int(want_str(&a, 0)?.parse::<i64>().unwrap_or(0)))
    });
    r.add("toDecimal", ex(1), |_, a| {
        let t = crate::fmt::format_value(&a[0]);
        Ok(Value::Int(i64::from_str_radix(&t, 8).unwrap_or(0)))
    });
    r.add("int", ex(1), |_, a| Ok(Value::Int(to_i64(&a[0]))));
    r.add("int64", ex(1), |_, a| Ok(Value::Int64(to_i64(&a[0]))));
}

fn rand_from(func: &str, c: &Ctx<'_>, a: &[Value], set: &str) -> FResult {
    let n = want_int(a, 0)?;
    check_built(func, u128::from(n.unsigned_abs()))?;
    let chars: Vec<char> = set.chars().collect();
    let mut rng = c.shared.rng.borrow_mut();
    s((0..n).map(|_| chars[rng.below(chars.len())]).collect())
}

fn numbered(parts: Vec<String>) -> Value {
    let m: BTreeMap<String, Value> = parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| (format!("_{i}"), Value::String(p)))
        .collect();
    Value::from(m)
}

/// Go's `strings.SplitN` (`n < 0` = all).
pub(crate) fn go_split(v: &str, sep: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if sep.is_empty() {
        let mut out: Vec<String> = v.chars().map(String::from).collect();
        if n > 0 && out.len() > idx(n) {
            let rest: String = out[idx(n) - 1..].concat();
            out.truncate(idx(n) - 1);
            out.push(rest);
        }
        return out;
    }
    if n < 0 {
        v.split(sep).map(str::to_string).collect()
    } else {
        v.splitn(idx(n), sep).map(str::to_string).collect()
    }
}

fn go_replace(v: &str, old: &str, new: &str) -> String {
    if old.is_empty() {
        let mut out = String::from(new);
        for c in v.chars() {
            out.push(c);
            out.push_str(new);
        }
        return out;
    }
    v.replace(old, new)
}

/// Sprig's `indent`: `n` spaces before every line of `v`.
fn indent(func: &str, n: i64, v: &str) -> Result<String, FuncError> {
    let lines = v.bytes().filter(|b| *b == b'\n').count() as u128 + 1;
    check_built(func, u128::from(n.unsigned_abs()) * lines + v.len() as u128)?;
    let pad = " ".repeat(idx(n));
    Ok(format!("{pad}{}", v.replace('\n', &format!("\n{pad}"))))
}

fn title(v: &str) -> String {
    let mut out = String::new();
    let mut prev_sep = true;
    for c in v.chars() {
        if prev_sep {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_sep = if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else {
            !c.is_alphanumeric() && c.is_whitespace()
        };
    }
    out
}

fn untitle(v: &str) -> String {
    let mut out = String::new();
    let mut prev_space = true;
    for c in v.chars() {
        if prev_space {
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
        prev_space = c.is_whitespace();
    }
    out
}

fn abbreviate(v: &str, offset: usize, max: usize) -> Option<String> {
    let n = v.len();
    if n <= max {
        return Some(v.to_string());
    }
    let mut offset = offset.min(n);
    if n - offset < max - 3 {
        offset = n - (max - 3);
    }
    if offset <= 4 {
        return Some(format!("{}...", v.get(..max - 3)?));
    }
    if max < 7 {
        return None;
    }
    if offset + max - 3 < n {
        return Some(format!("...{}", abbreviate(v.get(offset..)?, 0, max - 3)?));
    }
    Some(format!("...{}", v.get(n - (max - 3)..)?))
}

fn wrap(v: &str, len: i64, nl: &str, long_words: bool) -> String {
    if v.is_empty() {
        return String::new();
    }
    let nl = if nl.is_empty() { "\n" } else { nl };
    let len = idx(len.max(1));
    let b = v.as_bytes();
    let n = b.len();
    let mut offset = 0;
    let mut out: Vec<u8> = Vec::new();
    while n - offset > len {
        if b[offset] == b' ' {
            offset += 1;
            continue;
        }
        let end = (len + offset + 1).min(n);
        let space = b[offset..end].iter().rposition(|c| *c == b' ');
        if let Some(sp) = space {
            out.extend_from_slice(&b[offset..offset + sp]);
            out.extend_from_slice(nl.as_bytes());
            offset += sp + 1;
        } else if long_words {
            out.extend_from_slice(&b[offset..offset + len]);
            out.extend_from_slice(nl.as_bytes());
            offset += len;
        } else {
            let end = len + offset;
            match b[end..].iter().position(|c| *c == b' ') {
                None => {
                    out.extend_from_slice(&b[offset..]);
                    offset = n;
                }
                Some(i) => {
                    out.extend_from_slice(&b[offset..end + i]);
                    out.extend_from_slice(nl.as_bytes());
                    offset = end + i + 1;
                }
            }
        }
    }
    out.extend_from_slice(&b[offset..]);
    String::from_utf8_lossy(&out).into_owned()
}

fn camel(v: &str) -> String {
    let is_conn = |c: char| c == '_' || c == '-' || c.is_whitespace();
    let mut chars = v.chars();
    let mut out = String::new();
    let mut r0 = None;
    for c in chars.by_ref() {
        if !is_conn(c) {
            r0 = Some(c.to_uppercase().next().unwrap_or(c));
            break;
        }
        out.push(c);
    }
    let Some(mut r0) = r0 else {
        return out;
    };
    for c in chars {
        let r1 = r0;
        r0 = c;
        if is_conn(r0) && is_conn(r1) {
            out.push(r1);
            continue;
        }
        if is_conn(r1) {
            r0 = r0.to_uppercase().next().unwrap_or(r0);
        } else {
            out.push(r1);
        }
    }
    out.push(r0);
    out
}
