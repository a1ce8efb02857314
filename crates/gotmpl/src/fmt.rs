//! Go's `fmt` verbs over template values: `%v`, `printf`, `print`, `println`.
#![expect(
    clippy::many_single_char_names,
    reason = "short names mirror the Go originals"
)]

use std::fmt::Write as _;

mod float;
#[cfg(test)]
mod tests;

pub(crate) use float::format_float;

use crate::value::Value;

/// `fmt.Sprint("%v", v)`.
pub(crate) fn format_value(v: &Value) -> String {
    let mut out = String::new();
    write_verb(&mut out, v, 'v', &Spec::default());
    out
}

/// `fmt.Sprint(args...)`: spaces between operands when neither is a string.
pub(crate) fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 && !matches!(a, Value::String(_)) && !matches!(args[i - 1], Value::String(_)) {
            out.push(' ');
        }
        write_verb(&mut out, a, 'v', &Spec::default());
    }
    out
}

/// `fmt.Sprintln(args...)`.
pub(crate) fn sprintln(args: &[Value]) -> String {
    let parts: Vec<String> = args.iter().map(format_value).collect();
    let mut s = parts.join(" ");
    s.push('\n');
    s
}

#[derive(Default, Clone)]
#[expect(clippy::struct_excessive_bools, reason = "Go's fmt flags")]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// `fmt.Sprintf(format, args...)`.
pub(crate) fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut next_arg = 0;
    let mut reordered = false;
    let mut chars = format.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&(_, f)) = chars.peek() {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '#' => spec.sharp = true,
                ' ' => spec.space = true,
                '0' => spec.zero = true,
                _ => break,
            }
            chars.next();
        }
        let mut arg_index = |chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
                             next_arg: &mut usize| {
            if chars.peek().map(|p| p.1) == Some('[') {
                chars.next();
                let mut n = String::new();
                while let Some(&(_, d)) = chars.peek() {
                    chars.next();
                    if d == ']' {
                        break;
                    }
                    n.push(d);
                }
                if let Ok(k) = n.parse::<usize>() {
                    *next_arg = k.saturating_sub(1);
                    reordered = true;
                }
            }
        };
        arg_index(&mut chars, &mut next_arg);
        if chars.peek().map(|p| p.1) == Some('*') {
            chars.next();
            if let Some(Value::Int(w) | Value::Int64(w)) = args.get(next_arg)
                && let Some(w) = star_arg(*w)
            {
                if w < 0 {
                    spec.minus = true;
                }
                spec.width = usize::try_from(w.unsigned_abs()).ok();
            } else {
                out.push_str("%!(BADWIDTH)");
            }
            next_arg += 1;
        } else {
            spec.width = read_num(&mut chars);
        }
        if chars.peek().map(|p| p.1) == Some('.') {
            chars.next();
            arg_index(&mut chars, &mut next_arg);
            if chars.peek().map(|p| p.1) == Some('*') {
                chars.next();
                if let Some(Value::Int(p) | Value::Int64(p)) = args.get(next_arg)
                    && let Some(p) = star_arg(*p)
                    && let Ok(p) = usize::try_from(p)
                {
                    spec.prec = Some(p);
                } else {
                    out.push_str("%!(BADPREC)");
                }
                next_arg += 1;
            } else {
                spec.prec = Some(read_num(&mut chars).unwrap_or(0));
            }
        }
        arg_index(&mut chars, &mut next_arg);
        let Some((_, verb)) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(next_arg) else {
            let _ = write!(out, "%!{verb}(MISSING)");
            continue;
        };
        next_arg += 1;
        if verb == 'v' {
            // With %v, Go's `+` asks for struct field names and `#` for Go
            // syntax: neither is a sign or an alternate form. Go syntax quotes
            // a string.
            spec.plus = false;
            if std::mem::take(&mut spec.sharp)
                && let Value::String(s) = arg
            {
                pad(&mut out, &quote(s), &spec, false);
                continue;
            }
        }
        write_verb(&mut out, arg, verb, &spec);
    }
    if !reordered && next_arg < args.len() {
        out.push_str("%!(EXTRA ");
        let extra: Vec<String> = args[next_arg..]
            .iter()
            .map(|a| match a {
                Value::Nil => "<nil>".to_string(),
                _ => format!("{}={}", a.type_name(), format_value(a)),
            })
            .collect();
        out.push_str(&extra.join(", "));
        out.push(')');
    }
    out
}

/// Go's bound on widths and precisions: a larger one is refused
/// (`%!(BADWIDTH)`, or the rest of the format taken as an overflowing number).
const TOO_LARGE: usize = 1_000_000;

/// A width or precision in the format, as Go's `parsenum` reads it: a
/// number that grows past [`TOO_LARGE`] swallows the rest of the format
/// (so that `%!(NOVERB)` follows) and reads as none.
fn read_num(chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>) -> Option<usize> {
    let mut n: Option<usize> = None;
    while let Some(&(_, d)) = chars.peek() {
        let Some(v) = d.to_digit(10) else { break };
        if n.is_some_and(|n| n > TOO_LARGE) {
            chars.by_ref().for_each(drop);
            return None;
        }
        n = Some(n.unwrap_or(0) * 10 + v as usize);
        chars.next();
    }
    n
}

/// A `*` width or precision from its argument, as Go's `intFromArg` takes
/// it: none when out of Go's bounds.
fn star_arg(v: i64) -> Option<i64> {
    (v.unsigned_abs() <= TOO_LARGE as u64).then_some(v)
}

fn bad_verb(out: &mut String, v: &Value, verb: char) {
    match v {
        Value::Nil => {
            let _ = write!(out, "%!{verb}(<nil>)");
        }
        _ => {
            let _ = write!(out, "%!{verb}({}={})", v.type_name(), format_value(v));
        }
    }
}

fn pad(out: &mut String, s: &str, spec: &Spec, numeric: bool) {
    let len = s.chars().count();
    let width = spec.width.unwrap_or(0);
    if len >= width {
        out.push_str(s);
        return;
    }
    let fill = width - len;
    if spec.minus {
        out.push_str(s);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if spec.zero && numeric {
        let (sign, rest) = match s.as_bytes().first() {
            Some(b'-' | b'+' | b' ') => s.split_at(1),
            _ => ("", s),
        };
        out.push_str(sign);
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(rest);
    } else if spec.zero {
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(s);
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(s);
    }
}

fn write_verb(out: &mut String, v: &Value, verb: char, spec: &Spec) {
    match v {
        Value::Nil => match verb {
            'v' | 's' => pad(
                out,
                if verb == 'v' { "<nil>" } else { "%!s(<nil>)" },
                spec,
                false,
            ),
            'T' => pad(out, "<nil>", spec, false),
            _ => bad_verb(out, v, verb),
        },
        Value::Bool(b) => match verb {
            'v' | 't' => pad(out, if *b { "true" } else { "false" }, spec, false),
            'T' => pad(out, "bool", spec, false),
            _ => bad_verb(out, v, verb),
        },
        Value::Int(i) | Value::Int64(i) => write_int(out, *i, verb, spec, v),
        Value::Float(f) => write_float(out, *f, verb, spec, v),
        Value::String(s) => write_str(out, s, verb, spec, v),
        Value::List(l) => {
            if verb == 'T' {
                pad(out, &v.type_name(), spec, false);
                return;
            }
            let mut s = String::from("[");
            for (i, e) in l.iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                write_verb(&mut s, e, verb, spec);
            }
            s.push(']');
            out.push_str(&s);
        }
        Value::Map(m) => {
            if verb == 'T' {
                pad(out, &v.type_name(), spec, false);
                return;
            }
            let mut s = String::from("map[");
            for (i, (k, e)) in m.borrow().iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                write_str(&mut s, k, verb, spec, &Value::Nil);
                s.push(':');
                write_verb(&mut s, e, verb, spec);
            }
            s.push(']');
            out.push_str(&s);
        }
        Value::Object(o) => match verb {
            'T' => pad(out, o.type_name(), spec, false),
            _ if o.list().is_some() => {
                write_verb(out, &Value::List(o.list().unwrap_or_default()), verb, spec);
            }
            _ => pad(out, &o.display(), spec, false),
        },
    }
}

fn write_int(out: &mut String, i: i64, verb: char, spec: &Spec, v: &Value) {
    let neg = i < 0;
    let mag = i.unsigned_abs();
    let body = match verb {
        'v' | 'd' => mag.to_string(),
        'x' => format!("{mag:x}"),
        'X' => format!("{mag:X}"),
        'o' | 'O' => format!("{mag:o}"),
        'b' => format!("{mag:b}"),
        'c' => {
            let c = u32::try_from(i)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{FFFD}');
            pad(out, &c.to_string(), spec, false);
            return;
        }
        'q' => {
            let c = u32::try_from(i)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{FFFD}');
            pad(out, &quote_rune(c), spec, false);
            return;
        }
        'U' => {
            pad(out, &format!("U+{mag:04X}"), spec, false);
            return;
        }
        'T' => {
            pad(out, &v.type_name(), spec, false);
            return;
        }
        _ => {
            bad_verb(out, v, verb);
            return;
        }
    };
    let mut body = body;
    if let Some(p) = spec.prec {
        if body.len() < p {
            body = format!("{}{body}", "0".repeat(p - body.len()));
        }
        if p == 0 && mag == 0 {
            body.clear();
        }
    }
    let prefix = if spec.sharp {
        match verb {
            'x' => "0x",
            'X' => "0X",
            'o' => "0",
            'b' => "0b",
            _ => "",
        }
    } else if verb == 'O' {
        "0o"
    } else {
        ""
    };
    let sign = if neg {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    let s = format!("{sign}{prefix}{body}");
    let mut sp = spec.clone();
    if spec.prec.is_some() {
        sp.zero = false;
    }
    pad(out, &s, &sp, true);
}

fn write_float(out: &mut String, f: f64, verb: char, spec: &Spec, v: &Value) {
    let s = match verb {
        'v' | 'g' | 'G' => format_float(f, 'g', spec.prec),
        'e' | 'E' => format_float(f, 'e', Some(spec.prec.unwrap_or(6))),
        'f' | 'F' => format_float(f, 'f', Some(spec.prec.unwrap_or(6))),
        'T' => {
            pad(out, "float64", spec, false);
            return;
        }
        _ => {
            bad_verb(out, v, verb);
            return;
        }
    };
    let mut s = if verb == 'E' || verb == 'G' {
        s.to_uppercase()
    } else {
        s
    };
    if spec.sharp && !s.contains('.') && f.is_finite() {
        match s.find(['e', 'E']) {
            Some(i) => s.insert(i, '.'),
            None => s.push('.'),
        }
    }
    if !s.starts_with(['-', '+']) {
        if spec.plus {
            s.insert(0, '+');
        } else if spec.space {
            s.insert(0, ' ');
        }
    } else if s == "+Inf" && !spec.plus {
        s.remove(0);
        if spec.space {
            s.insert(0, ' ');
        }
    }
    let mut sp = spec.clone();
    if !f.is_finite() {
        sp.zero = false;
    }
    pad(out, &s, &sp, true);
}

fn write_str(out: &mut String, s: &str, verb: char, spec: &Spec, v: &Value) {
    let trunc = |s: &str| match spec.prec {
        Some(p) => s.chars().take(p).collect::<String>(),
        None => s.to_string(),
    };
    match verb {
        'v' | 's' => pad(out, &trunc(s), spec, false),
        'q' => {
            let t = trunc(s);
            let q = if spec.sharp
                && !t.contains('`')
                && t.chars().all(|c| c == '\t' || !c.is_control())
            {
                format!("`{t}`")
            } else {
                quote(&t)
            };
            pad(out, &q, spec, false);
        }
        'x' | 'X' => {
            let bytes = s.as_bytes();
            let bytes = match spec.prec {
                Some(p) => &bytes[..p.min(bytes.len())],
                None => bytes,
            };
            let mut h = String::new();
            for (i, b) in bytes.iter().enumerate() {
                if spec.space && i > 0 {
                    h.push(' ');
                }
                if spec.sharp && (spec.space || i == 0) {
                    h.push_str(if verb == 'x' { "0x" } else { "0X" });
                }
                if verb == 'x' {
                    let _ = write!(h, "{b:02x}");
                } else {
                    let _ = write!(h, "{b:02X}");
                }
            }
            pad(out, &h, spec, false);
        }
        'T' => pad(out, "string", spec, false),
        _ => {
            if matches!(v, Value::Nil) {
                bad_verb(out, &Value::String(s.to_string()), verb);
            } else {
                bad_verb(out, v, verb);
            }
        }
    }
}

/// Go's `strconv.Quote`.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\x7f' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if is_printable(c) => out.push(c),
            c if (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

fn quote_rune(c: char) -> String {
    match c {
        '\'' => "'\\''".into(),
        '"' => "'\"'".into(),
        _ => {
            let q = quote(&c.to_string());
            format!("'{}'", &q[1..q.len() - 1])
        }
    }
}

/// Go's `strconv.IsPrint`: letters, marks, numbers, punctuation, symbols
/// and the ASCII space; other spaces (U+00A0), format characters, private
/// use and unassigned code points are escaped by `strconv.Quote`.
pub(crate) fn is_printable(c: char) -> bool {
    static GRAPHIC: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    if c.is_ascii() {
        return (' '..='~').contains(&c);
    }
    GRAPHIC
        .get_or_init(|| regex::Regex::new(r"^[\p{L}\p{M}\p{N}\p{P}\p{S}]$").ok())
        .as_ref()
        .is_none_or(|re| re.is_match(c.encode_utf8(&mut [0; 4])))
}
