//! Sprig's regular expression functions, on Rust's `regex` crate.
//!
//! Differences from Go's RE2: `regex` accepts the same syntax except that Go's
//! `\C` is unsupported, `\pN`-style classes follow newer Unicode tables, and in
//! replacements both treat `$name` greedily (`$1x` is the group named `1x`).

use regex::Regex;

use crate::funcs::conv::{idx, want_int, want_str};
use crate::funcs::{FResult, FuncError, Registry, ex};
use crate::value::Value;

fn compile(p: &str) -> Result<Regex, FuncError> {
    Regex::new(p).map_err(|e| FuncError::Call(go_regex_error(p, &e)))
}

fn go_regex_error(p: &str, e: &regex::Error) -> String {
    let msg = e.to_string();
    let what = if msg.contains("unclosed group") {
        "missing closing ): "
    } else if msg.contains("unclosed character class") {
        "missing closing ]: "
    } else if msg.contains("repetition operator missing expression") {
        "missing argument to repetition operator: "
    } else {
        "invalid syntax: "
    };
    format!("error parsing regexp: {what}`{p}`")
}

fn strs(v: Vec<String>) -> Value {
    Value::List(v.into_iter().map(Value::String).collect())
}

fn find_all(re: &Regex, s: &str, n: i64) -> Vec<String> {
    let it = re.find_iter(s).map(|m| m.as_str().to_string());
    if n < 0 {
        it.collect()
    } else {
        it.take(idx(n)).collect()
    }
}

fn split(re: &Regex, s: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if re.as_str().is_empty() && !s.is_empty() {
        let mut v: Vec<String> = s.chars().map(String::from).collect();
        if n > 0 && v.len() > idx(n) {
            let rest = v[idx(n) - 1..].concat();
            v.truncate(idx(n) - 1);
            v.push(rest);
        }
        return v;
    }
    if n < 0 {
        re.split(s).map(str::to_string).collect()
    } else {
        re.splitn(s, idx(n)).map(str::to_string).collect()
    }
}

type Both = fn(&[Value]) -> FResult;

macro_rules! both {
    ($r:expr, $name:literal, $must:literal, $n:expr, $f:expr) => {
        $r.add($name, ex($n), |_, a| {
            let f: Both = $f;
            f(&a)
        });
        $r.add($must, ex($n), |_, a| {
            let f: Both = $f;
            f(&a)
        });
    };
}

pub(crate) fn register(r: &mut Registry) {
    both!(r, "regexMatch", "mustRegexMatch", 2, |a| {
        let re = compile(&want_str(a, 0)?)?;
        Ok(Value::Bool(re.is_match(&want_str(a, 1)?)))
    });
    both!(r, "regexFindAll", "mustRegexFindAll", 3, |a| {
        let re = compile(&want_str(a, 0)?)?;
        Ok(strs(find_all(&re, &want_str(a, 1)?, want_int(a, 2)?)))
    });
    both!(r, "regexFind", "mustRegexFind", 2, |a| {
        let re = compile(&want_str(a, 0)?)?;
        let s = want_str(a, 1)?;
        Ok(Value::String(
            re.find(&s)
                .map(|m| m.as_str().to_string())
                .unwrap_or_default(),
        ))
    });
    both!(r, "regexReplaceAll", "mustRegexReplaceAll", 3, |a| {
        let re = compile(&want_str(a, 0)?)?;
        let (s, repl) = (want_str(a, 1)?, want_str(a, 2)?);
        Ok(Value::String(
            re.replace_all(&s, repl.as_str()).into_owned(),
        ))
    });
    both!(
        r,
        "regexReplaceAllLiteral",
        "mustRegexReplaceAllLiteral",
        3,
        |a| {
            let re = compile(&want_str(a, 0)?)?;
            let (s, repl) = (want_str(a, 1)?, want_str(a, 2)?);
            Ok(Value::String(
                re.replace_all(&s, regex::NoExpand(&repl)).into_owned(),
            ))
        }
    );
    both!(r, "regexSplit", "mustRegexSplit", 3, |a| {
        let re = compile(&want_str(a, 0)?)?;
        Ok(strs(split(&re, &want_str(a, 1)?, want_int(a, 2)?)))
    });
    r.add("regexQuoteMeta", ex(1), |_, a| {
        Ok(Value::String(quote_meta(&want_str(&a, 0)?)))
    });
}

/// Go's `regexp.QuoteMeta`.
fn quote_meta(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
