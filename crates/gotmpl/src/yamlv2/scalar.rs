//! Scalar analysis and the four scalar styles of yaml.v2's emitter.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

/// What the emitter may use for a string (`yaml_emitter_analyze_scalar`).
#[derive(Debug)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "the emitter's own flags, named as go-yaml names them"
)]
pub(crate) struct Analysis {
    pub(crate) block_plain_allowed: bool,
    pub(crate) single_quoted_allowed: bool,
    pub(crate) block_allowed: bool,
    /// The string holds tabs: yaml.v2 quotes it, yaml.v3 allows a literal block.
    pub(crate) tabs: bool,
}

fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blankz(c: Option<char>) -> bool {
    match c {
        None => true,
        Some(c) => c == ' ' || c == '\t' || is_break(c) || c == '\0',
    }
}

pub(crate) fn is_printable(c: char) -> bool {
    let u = c as u32;
    u == 0x0A
        || (0x20..=0x7E).contains(&u)
        || u == 0x85
        || ((0xA0..=0xD7FF).contains(&u))
        || ((0xE000..=0xFFFD).contains(&u) && u != 0xFEFF)
        || (0x1_0000..=0x10_FFFF).contains(&u)
}

/// go-yaml's emitter takes UTF-8 sequences of four bytes (outside the BMP) as
/// unprintable, so strings holding them are double-quoted with `\U` escapes.
fn emit_printable(c: char) -> bool {
    is_printable(c) && u32::from(c) < 0x1_0000
}

pub(crate) fn analyze(s: &str) -> Analysis {
    if s.is_empty() {
        return Analysis {
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
            tabs: false,
        };
    }
    let chars: Vec<char> = s.chars().collect();
    let (mut block_ind, mut special, mut line_breaks) = (false, false, false);
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut prev_space, mut prev_break) = (false, false);
    let mut tabs = false;
    if s.starts_with("---") || s.starts_with("...") {
        block_ind = true;
    }
    let mut preceded_ws = true;
    let mut followed_ws = is_blankz(chars.get(1).copied());
    let n = chars.len();
    for i in 0..n {
        let c = chars[i];
        if i == 0 {
            if "#,[]{}&*!|>'\"%@`".contains(c) {
                block_ind = true;
            }
            if (c == '?' || c == ':') && followed_ws {
                block_ind = true;
            }
            if c == '-' && followed_ws {
                block_ind = true;
            }
        } else {
            if c == ':' && followed_ws {
                block_ind = true;
            }
            if c == '#' && preceded_ws {
                block_ind = true;
            }
        }
        if c == '\t' {
            tabs = true;
        } else if !emit_printable(c) {
            special = true;
        }
        if is_break(c) {
            line_breaks = true;
        }
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if i == n - 1 {
                trailing_space = true;
            }
            if prev_break {
                break_space = true;
            }
            prev_space = true;
            prev_break = false;
        } else if is_break(c) {
            if i == 0 {
                leading_break = true;
            }
            if i == n - 1 {
                trailing_break = true;
            }
            if prev_space {
                space_break = true;
            }
            prev_break = true;
            prev_space = false;
        } else {
            prev_space = false;
            prev_break = false;
        }
        preceded_ws = is_blankz(Some(c));
        followed_ws = is_blankz(chars.get(i + 2).copied());
    }
    let mut a = Analysis {
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
        tabs,
    };
    if tabs {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if leading_space || leading_break || trailing_space || trailing_break {
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
        a.block_allowed = false;
    }
    if line_breaks || block_ind {
        a.block_plain_allowed = false;
    }
    a
}

fn go_int(s: &str) -> bool {
    let t = s.strip_prefix(['-', '+']).unwrap_or(s);
    let l = t.to_ascii_lowercase();
    let (radix, d) = if let Some(d) = l.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = l.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = l.strip_prefix("0b") {
        (2, d)
    } else if l.len() > 1 && l.starts_with('0') {
        (8, &l[1..])
    } else {
        (10, l.as_str())
    };
    !d.is_empty() && u128::from_str_radix(d, radix).is_ok()
}

fn yaml_float(s: &str) -> bool {
    // ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$
    let t = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mant, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let mant_ok = if let Some(f) = mant.strip_prefix('.') {
        !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit())
    } else {
        let (i, f) = mant.split_once('.').unwrap_or((mant, ""));
        !i.is_empty()
            && i.bytes().all(|b| b.is_ascii_digit())
            && f.bytes().all(|b| b.is_ascii_digit())
    };
    let exp_ok = exp.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
    });
    mant_ok && exp_ok
}

fn base60(s: &str) -> bool {
    // ^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$
    let t = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (main, _frac) = match t.split_once('.') {
        Some((m, f)) if f.bytes().all(|b| b.is_ascii_digit() || b == b'_') => (m, Some(f)),
        Some(_) => return false,
        None => (t, None),
    };
    let mut parts = main.split(':');
    let first = parts.next().unwrap_or("");
    if !first.starts_with(|c: char| c.is_ascii_digit())
        || !first.bytes().all(|b| b.is_ascii_digit() || b == b'_')
    {
        return false;
    }
    let rest: Vec<&str> = parts.collect();
    !rest.is_empty()
        && rest.iter().all(|p| {
            let b = p.as_bytes();
            match b.len() {
                1 => b[0].is_ascii_digit(),
                2 => (b'0'..=b'5').contains(&b[0]) && b[1].is_ascii_digit(),
                _ => false,
            }
        })
}

fn timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let i = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if i != 4 || i == b.len() || b[i] != b'-' {
        return false;
    }
    let date_end = s.find(['T', 't', ' ']).unwrap_or(s.len());
    let date: Vec<&str> = s[..date_end].split('-').collect();
    if date.len() != 3
        || !date
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 4 && p.bytes().all(|c| c.is_ascii_digit()))
        || date[1].len() > 2
        || date[2].len() > 2
    {
        return false;
    }
    if date_end == s.len() {
        return true;
    }
    let time = &s[date_end + 1..];
    let t: Vec<&str> = time.splitn(3, ':').collect();
    t.len() == 3
        && t[0].len() <= 2
        && t[0].bytes().all(|c| c.is_ascii_digit())
        && !t[0].is_empty()
        && t[1].len() <= 2
        && !t[1].is_empty()
        && t[1].bytes().all(|c| c.is_ascii_digit())
        && t[2].starts_with(|c: char| c.is_ascii_digit())
}

/// Whether yaml.v2 would read `s` back as a string when written plain.
/// (`<<` does: yaml.v2's resolver only looks up words starting with a sign,
/// a digit, a dot or a bool/null letter, so it writes the merge key plain.)
pub(crate) fn resolves_plain_as_string(s: &str) -> bool {
    const SPECIAL: &[&str] = &[
        "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "n", "N", "no",
        "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "", "~", "null", "Null",
        "NULL", ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf",
        "-.Inf", "-.INF",
    ];
    if SPECIAL.contains(&s) {
        return false;
    }
    let first = s.as_bytes()[0];
    if !(first.is_ascii_digit() || first == b'-' || first == b'+' || first == b'.') {
        return true;
    }
    let plain = s.replace('_', "");
    !(go_int(&plain) || yaml_float(&plain) || base60(s) || timestamp(s))
}

fn newline(out: &mut String, indent: usize) -> usize {
    out.push('\n');
    out.extend(std::iter::repeat_n(' ', indent));
    indent
}

pub(crate) fn plain(s: &str, col: usize, indent: usize, breaks: bool, width: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut column = col;
    let mut spaces = false;
    for (i, &c) in chars.iter().enumerate() {
        if c == ' ' {
            if breaks && !spaces && column > width && chars.get(i + 1) != Some(&' ') {
                column = newline(&mut out, indent);
            } else {
                out.push(c);
                column += 1;
            }
            spaces = true;
        } else {
            out.push(c);
            column += 1;
            spaces = false;
        }
    }
    out
}

pub(crate) fn single(s: &str, col: usize, indent: usize, breaks: bool, width: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::from("'");
    let mut column = col + 1;
    let mut spaces = false;
    let mut in_breaks = false;
    let n = chars.len();
    for (i, &c) in chars.iter().enumerate() {
        if c == ' ' {
            if breaks
                && !spaces
                && column > width
                && i != 0
                && i != n - 1
                && chars.get(i + 1) != Some(&' ')
            {
                column = newline(&mut out, indent);
            } else {
                out.push(c);
                column += 1;
            }
            spaces = true;
        } else if is_break(c) {
            // libyaml doubles a first '\n' (a single one would fold to a
            // space) and copies any other line break as it is.
            if !in_breaks && c == '\n' {
                out.push('\n');
            }
            out.push(c);
            column = 0;
            in_breaks = true;
        } else {
            if in_breaks {
                out.extend(std::iter::repeat_n(' ', indent));
                column = indent;
                in_breaks = false;
            }
            if c == '\'' {
                out.push('\'');
                column += 1;
            }
            out.push(c);
            column += 1;
            spaces = false;
        }
    }
    out.push('\'');
    out
}

pub(crate) fn double(s: &str, col: usize, indent: usize, breaks: bool, width: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::from("\"");
    let mut column = col + 1;
    let mut spaces = false;
    let n = chars.len();
    for (i, &c) in chars.iter().enumerate() {
        if !emit_printable(c) || c == '\u{feff}' || is_break(c) || c == '"' || c == '\\' {
            let esc = match c {
                '\0' => "\\0".to_string(),
                '\x07' => "\\a".into(),
                '\x08' => "\\b".into(),
                '\t' => "\\t".into(),
                '\n' => "\\n".into(),
                '\x0b' => "\\v".into(),
                '\x0c' => "\\f".into(),
                '\r' => "\\r".into(),
                '\x1b' => "\\e".into(),
                '"' => "\\\"".into(),
                '\\' => "\\\\".into(),
                '\u{85}' => "\\N".into(),
                '\u{a0}' => "\\_".into(),
                '\u{2028}' => "\\L".into(),
                '\u{2029}' => "\\P".into(),
                c if (c as u32) <= 0xFF => format!("\\x{:02X}", c as u32),
                c if (c as u32) <= 0xFFFF => format!("\\u{:04X}", c as u32),
                c => format!("\\U{:08X}", c as u32),
            };
            column += esc.len();
            out.push_str(&esc);
            spaces = false;
        } else if c == ' ' {
            if breaks && !spaces && column > width && i != 0 && i != n - 1 {
                column = newline(&mut out, indent);
                if chars.get(i + 1) == Some(&' ') {
                    out.push('\\');
                    column += 1;
                }
            } else {
                out.push(c);
                column += 1;
            }
            spaces = true;
        } else {
            out.push(c);
            column += 1;
            spaces = false;
        }
    }
    out.push('"');
    out
}

pub(crate) fn literal(s: &str, indent: usize) -> String {
    let mut out = String::from("|");
    let first = s.chars().next();
    if first.is_some_and(|c| c == ' ' || is_break(c)) {
        out.push('2');
    }
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    if n == 0 || !is_break(chars[n - 1]) {
        out.push('-');
    } else if n == 1 || is_break(chars[n - 2]) {
        out.push('+');
    }
    out.push('\n');
    let mut breaks = true;
    for &c in &chars {
        if is_break(c) {
            // libyaml writes a line break other than '\n' as it is.
            out.push(c);
            breaks = true;
        } else {
            if breaks {
                out.extend(std::iter::repeat_n(' ', indent));
            }
            out.push(c);
            breaks = false;
        }
    }
    if out.ends_with('\n') {
        out.pop();
    }
    out
}
