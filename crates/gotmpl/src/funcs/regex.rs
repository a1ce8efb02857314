//! Sprig's regular expression functions, on Rust's `regex` crate.
//!
//! Patterns are Go RE2 syntax, rewritten into the `regex` crate's dialect by [`re2`]
//! (ASCII `\d`/`\w`/`\s`/`\b`, `\Q...\E`, literal `{`, Go's class rules). Differences
//! left: `\pN`-style classes follow newer Unicode tables, and in replacements both
//! treat `$name` greedily (`$1x` is the group named `1x`).
//!
//! As in Sprig, `regexMatch` is false for a bad pattern, the other plain forms fail
//! as Go's `regexp.MustCompile` panics (`regexp: Compile(...): ...`), and the `must`
//! forms return the parse error.

mod re2;

use regex::Regex;

use crate::funcs::conv::{idx, want_int, want_str};
use crate::funcs::{FResult, FuncError, Registry, ex};
use crate::value::Value;

/// Compiles Go pattern `p`; the error is Go's `regexp.Compile` error text.
fn compile_go(p: &str) -> Result<Regex, String> {
    let t = re2::translate(p)?;
    Regex::new(&t).map_err(|e| go_regex_error(p, &e))
}

/// `regexp.Compile`, as the `must` forms use it.
fn compile(p: &str) -> Result<Regex, FuncError> {
    compile_go(p).map_err(FuncError::Call)
}

/// `regexp.MustCompile`, as the plain forms use it: its panic message.
fn must_compile(p: &str) -> Result<Regex, FuncError> {
    compile_go(p).map_err(|e| FuncError::Call(format!("regexp: Compile({}): {e}", go_quote(p))))
}

/// Go's `regexp` quoting of a pattern in panics: backquoted when it can be.
fn go_quote(p: &str) -> String {
    let can_backquote = p
        .chars()
        .all(|c| c != '`' && c != '\u{feff}' && (c == '\t' || !c.is_control()));
    if can_backquote {
        format!("`{p}`")
    } else {
        format!("{p:?}")
    }
}

fn go_regex_error(p: &str, e: &regex::Error) -> String {
    let msg = e.to_string();
    let what = if msg.contains("unclosed group") {
        "missing closing ): "
    } else if msg.contains("unopened group") {
        "unexpected ): "
    } else if msg.contains("unclosed character class") {
        "missing closing ]: "
    } else if msg.contains("repetition operator missing expression") {
        "missing argument to repetition operator: "
    } else if msg.contains("exceeds size limit") {
        "expression too large: "
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

/// Go's `Regexp.Split`: the text between the matches (at most `n` pieces when
/// `n > 0`), where an empty match at the very start and the text after a match
/// that ends the input add no empty piece.
fn split(re: &Regex, expr: &str, s: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if !expr.is_empty() && s.is_empty() {
        return vec![String::new()];
    }
    let matches = re
        .find_iter(s)
        .take(if n < 0 { usize::MAX } else { idx(n) });
    let mut out = Vec::new();
    let (mut beg, mut end) = (0, 0);
    for m in matches {
        if n > 0 && out.len() == idx(n) - 1 {
            break;
        }
        end = m.start();
        if m.end() != 0 {
            out.push(s[beg..end].to_string());
        }
        beg = m.end();
    }
    if end != s.len() {
        out.push(s[beg..].to_string());
    }
    out
}

/// A function taking the compiler to use (`regexp.MustCompile` or `regexp.Compile`).
type Both = fn(&[Value], fn(&str) -> Result<Regex, FuncError>) -> FResult;

macro_rules! both {
    ($r:expr, $name:literal, $must:literal, $n:expr, $f:expr) => {
        $r.add($name, ex($n), |_, a| {
            let f: Both = $f;
            f(&a, must_compile)
        });
        $r.add($must, ex($n), |_, a| {
            let f: Both = $f;
            f(&a, compile)
        });
    };
}

pub(crate) fn register(r: &mut Registry) {
    r.add("regexMatch", ex(2), |_, a| {
        let s = want_str(&a, 1)?;
        Ok(Value::Bool(
            compile_go(&want_str(&a, 0)?).is_ok_and(|re| re.is_match(&s)),
        ))
    });
    r.add("mustRegexMatch", ex(2), |_, a| {
        let re = compile(&want_str(&a, 0)?)?;
        Ok(Value::Bool(re.is_match(&want_str(&a, 1)?)))
    });
    both!(r, "regexFindAll", "mustRegexFindAll", 3, |a, compile| {
        let re = compile(&want_str(a, 0)?)?;
        Ok(strs(find_all(&re, &want_str(a, 1)?, want_int(a, 2)?)))
    });
    both!(r, "regexFind", "mustRegexFind", 2, |a, compile| {
        let re = compile(&want_str(a, 0)?)?;
        let s = want_str(a, 1)?;
        Ok(Value::String(
            re.find(&s)
                .map(|m| m.as_str().to_string())
                .unwrap_or_default(),
        ))
    });
    both!(
        r,
        "regexReplaceAll",
        "mustRegexReplaceAll",
        3,
        |a, compile| {
            let re = compile(&want_str(a, 0)?)?;
            let (s, repl) = (want_str(a, 1)?, want_str(a, 2)?);
            Ok(Value::String(
                re.replace_all(&s, repl.as_str()).into_owned(),
            ))
        }
    );
    both!(
        r,
        "regexReplaceAllLiteral",
        "mustRegexReplaceAllLiteral",
        3,
        |a, compile| {
            let re = compile(&want_str(a, 0)?)?;
            let (s, repl) = (want_str(a, 1)?, want_str(a, 2)?);
            Ok(Value::String(
                re.replace_all(&s, regex::NoExpand(&repl)).into_owned(),
            ))
        }
    );
    both!(r, "regexSplit", "mustRegexSplit", 3, |a, compile| {
        let expr = want_str(a, 0)?;
        let re = compile(&expr)?;
        Ok(strs(split(&re, &expr, &want_str(a, 1)?, want_int(a, 2)?)))
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
