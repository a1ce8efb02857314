//! Go's RE2 syntax (`regexp/syntax` with Perl extensions, as `regexp.Compile` reads it)
//! rewritten into the `regex` crate's dialect, so a pattern means what it means in Go.
//!
//! The rewrite keeps the structure and spells every literal unambiguously:
//! * `\d`, `\s`, `\w` (and negations) and `\b`, `\B` are ASCII-only in Go, Unicode-aware
//!   in `regex`: they become explicit ASCII classes (`\s` is `[\t\n\f\r ]`, without `\v`).
//! * `\Q...\E` quotes literally; octal escapes (`\0`, `\123`) and escaped punctuation
//!   (`\<`, `\_`, `\-`) are literals; inside a class `-` after a class escape (`[\w-.]`),
//!   `[`, `&`, `~` are literal characters.
//! * A `{` that does not start a valid repetition (`a{`, `{foo}`, `a{,3}`) is literal.
//!
//! Patterns Go rejects are rejected with Go's message (`error parsing regexp: ...`).

use std::fmt::Write as _;

/// Go's `syntax.Error` text: ``error parsing regexp: CODE: `ARG` ``.
fn go_err(code: &str, arg: &str) -> String {
    format!("error parsing regexp: {code}: `{arg}`")
}

/// Go's limit on `{n,m}` counts.
const MAX_REPEAT: u32 = 1000;

/// Rewrites Go pattern `p` into an equivalent `regex` crate pattern, or gives Go's
/// parse error.
pub(super) fn translate(p: &str) -> Result<String, String> {
    let cs: Vec<char> = p.chars().collect();
    let mut out = String::with_capacity(p.len() + 8);
    let mut i = 0;
    // The text of the repetition operator just emitted (Go forbids stacking them).
    let mut last_repeat: Option<usize> = None;
    while i < cs.len() {
        let c = cs[i];
        if let Some(len) = repeat_at(&cs, i)? {
            if let Some(start) = last_repeat {
                let text: String = cs[start..i + len].iter().collect();
                return Err(go_err("invalid nested repetition operator", &text));
            }
            let mut len = len;
            if cs.get(i + len) == Some(&'?') {
                len += 1;
            }
            out.extend(&cs[i..i + len]);
            last_repeat = Some(i);
            i += len;
            continue;
        }
        last_repeat = None;
        match c {
            '\\' => i = escape(&cs, i, &mut out)?,
            '[' => i = class(&cs, i, &mut out)?,
            '{' | '}' => {
                push_lit(&mut out, c);
                i += 1;
            }
            '(' if cs.get(i + 1) == Some(&'?') => i = group_flags(&cs, i, &mut out)?,
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// The length of a repetition operator at `i` (`*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}`),
/// not counting a non-greedy `?`.
fn repeat_at(cs: &[char], i: usize) -> Result<Option<usize>, String> {
    match cs[i] {
        '*' | '+' | '?' => Ok(Some(1)),
        '{' => {
            let mut j = i + 1;
            let digits = |j: &mut usize| {
                let s = *j;
                while *j < cs.len() && cs[*j].is_ascii_digit() {
                    *j += 1;
                }
                (s < *j).then(|| cs[s..*j].iter().collect::<String>())
            };
            let Some(min) = digits(&mut j) else {
                return Ok(None);
            };
            let max = if cs.get(j) == Some(&',') {
                j += 1;
                if cs.get(j) == Some(&'}') {
                    None
                } else {
                    let Some(m) = digits(&mut j) else {
                        return Ok(None);
                    };
                    Some(m)
                }
            } else {
                Some(min.clone())
            };
            if cs.get(j) != Some(&'}') {
                return Ok(None);
            }
            let text: String = cs[i..=j].iter().collect();
            let min: u32 = min.parse().unwrap_or(u32::MAX);
            let max: Option<u32> = max.map(|m| m.parse().unwrap_or(u32::MAX));
            if min > MAX_REPEAT || max.is_some_and(|m| m > MAX_REPEAT || m < min) {
                return Err(go_err("invalid repeat count", &text));
            }
            Ok(Some(j + 1 - i))
        }
        _ => Ok(None),
    }
}

/// Emits `c` as a literal that means only itself, inside or outside a class.
fn push_lit(out: &mut String, c: char) {
    if c.is_ascii_alphanumeric() {
        out.push(c);
    } else {
        let _ = write!(out, "\\x{{{:x}}}", u32::from(c));
    }
}

/// Go's Perl classes, ASCII-only: the class body (for use inside `[...]`).
fn perl_class_body(c: char) -> Option<(&'static str, bool)> {
    match c {
        'd' => Some(("0-9", false)),
        'D' => Some(("0-9", true)),
        's' => Some(("\\t\\n\\x{c}\\r\\x{20}", false)),
        'S' => Some(("\\t\\n\\x{c}\\r\\x{20}", true)),
        'w' => Some(("0-9A-Za-z_", false)),
        'W' => Some(("0-9A-Za-z_", true)),
        _ => None,
    }
}

/// An escape outside a class, starting at the backslash `cs[i]`; returns the index after it.
fn escape(cs: &[char], i: usize, out: &mut String) -> Result<usize, String> {
    let Some(&e) = cs.get(i + 1) else {
        return Err("error parsing regexp: trailing backslash at end of expression: ``".into());
    };
    if let Some((body, neg)) = perl_class_body(e) {
        out.push('[');
        if neg {
            out.push('^');
        }
        out.push_str(body);
        out.push(']');
        return Ok(i + 2);
    }
    match e {
        'b' | 'B' => {
            let _ = write!(out, "(?-u:\\{e})");
            Ok(i + 2)
        }
        'A' | 'z' => {
            out.push('\\');
            out.push(e);
            Ok(i + 2)
        }
        'p' | 'P' => unicode_class(cs, i, out),
        'Q' => {
            let mut j = i + 2;
            while j < cs.len() {
                if cs[j] == '\\' && cs.get(j + 1) == Some(&'E') {
                    return Ok(j + 2);
                }
                push_lit(out, cs[j]);
                j += 1;
            }
            Ok(j)
        }
        _ => {
            let (c, next) = escape_char(cs, i)?;
            push_lit(out, c);
            Ok(next)
        }
    }
}

/// `\pL`, `\p{Greek}`, `\PL`, `\p{^Greek}`: copied (the names are Unicode's in both).
fn unicode_class(cs: &[char], i: usize, out: &mut String) -> Result<usize, String> {
    let end = match cs.get(i + 2) {
        Some('{') => {
            let Some(k) = cs[i + 2..].iter().position(|c| *c == '}') else {
                let text: String = cs[i..].iter().collect();
                return Err(go_err("invalid character class range", &text));
            };
            i + 2 + k + 1
        }
        Some(_) => i + 3,
        None => {
            let text: String = cs[i..].iter().collect();
            return Err(go_err("invalid character class range", &text));
        }
    };
    out.extend(&cs[i..end]);
    Ok(end)
}

/// A single-character escape at backslash `cs[i]` (Go's `parseEscape`): the character
/// and the index after the escape.
#[expect(
    clippy::many_single_char_names,
    reason = "indices and digits of a short scanner"
)]
fn escape_char(cs: &[char], i: usize) -> Result<(char, usize), String> {
    let bad = |end: usize| {
        let text: String = cs[i..end.min(cs.len())].iter().collect();
        Err(go_err("invalid escape sequence", &text))
    };
    let Some(&e) = cs.get(i + 1) else {
        return Err("error parsing regexp: trailing backslash at end of expression: ``".into());
    };
    let j = i + 2;
    let octal = |c: Option<&char>| c.is_some_and(|c| ('0'..='7').contains(c));
    match e {
        '1'..='7' if !octal(cs.get(j)) => bad(j),
        '0'..='7' => {
            let mut v = e.to_digit(8).unwrap_or(0);
            let mut k = j;
            while k < j + 2 && octal(cs.get(k)) {
                v = v * 8 + cs[k].to_digit(8).unwrap_or(0);
                k += 1;
            }
            Ok((char::from_u32(v).unwrap_or('\0'), k))
        }
        'x' => {
            if cs.get(j) == Some(&'{') {
                let mut k = j + 1;
                let mut v: u32 = 0;
                while k < cs.len() && cs[k] != '}' {
                    let Some(d) = cs[k].to_digit(16) else {
                        return bad(k + 1);
                    };
                    v = v.saturating_mul(16).saturating_add(d);
                    k += 1;
                }
                if k >= cs.len() || k == j + 1 || v > 0x0010_FFFF {
                    return bad(k + 1);
                }
                match char::from_u32(v) {
                    Some(c) => Ok((c, k + 1)),
                    None => bad(k + 1),
                }
            } else {
                let (Some(h), Some(l)) = (
                    cs.get(j).and_then(|c| c.to_digit(16)),
                    cs.get(j + 1).and_then(|c| c.to_digit(16)),
                ) else {
                    return bad(j + 2);
                };
                Ok((char::from_u32(h * 16 + l).unwrap_or('\0'), j + 2))
            }
        }
        'a' => Ok(('\x07', j)),
        'f' => Ok(('\x0c', j)),
        'n' => Ok(('\n', j)),
        'r' => Ok(('\r', j)),
        't' => Ok(('\t', j)),
        'v' => Ok(('\x0b', j)),
        c if c.is_ascii() && !c.is_ascii_alphanumeric() => Ok((c, j)),
        _ => bad(j),
    }
}

/// Go's POSIX class names.
const POSIX: [&str; 14] = [
    "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct",
    "space", "upper", "word", "xdigit",
];

/// A bracketed class starting at `cs[i] == '['`; returns the index after its `]`.
fn class(cs: &[char], i: usize, out: &mut String) -> Result<usize, String> {
    let whole = || cs[i..].iter().collect::<String>();
    let mut j = i + 1;
    out.push('[');
    if cs.get(j) == Some(&'^') {
        out.push('^');
        j += 1;
    }
    let mut first = true;
    loop {
        let Some(&c) = cs.get(j) else {
            return Err(go_err("missing closing ]", &whole()));
        };
        if c == ']' && !first {
            out.push(']');
            return Ok(j + 1);
        }
        first = false;
        if c == '[' && cs.get(j + 1) == Some(&':') {
            let rest: String = cs[j + 2..].iter().collect();
            if let Some(k) = rest.find(":]") {
                let name = &rest[..k];
                let bare = name.strip_prefix('^').unwrap_or(name);
                let text = format!("[:{name}:]");
                if !POSIX.contains(&bare) {
                    return Err(go_err("invalid character class range", &text));
                }
                out.push_str(&text);
                j += text.chars().count();
                continue;
            }
        }
        if c == '\\' {
            match cs.get(j + 1) {
                Some('p' | 'P') => {
                    j = unicode_class(cs, j, out)?;
                    continue;
                }
                Some(&e) => {
                    if let Some((body, neg)) = perl_class_body(e) {
                        if neg {
                            let _ = write!(out, "[^{body}]");
                        } else {
                            out.push_str(body);
                        }
                        j += 2;
                        continue;
                    }
                }
                None => {}
            }
        }
        let start = j;
        let (lo, next) = class_char(cs, j, &whole)?;
        j = next;
        if cs.get(j) == Some(&'-') && cs.get(j + 1).is_some_and(|c| *c != ']') {
            let (hi, next) = class_char(cs, j + 1, &whole)?;
            if hi < lo {
                let text: String = cs[start..next].iter().collect();
                return Err(go_err("invalid character class range", &text));
            }
            push_lit(out, lo);
            out.push('-');
            push_lit(out, hi);
            j = next;
        } else {
            push_lit(out, lo);
        }
    }
}

/// One character of a class (literal or escape).
fn class_char(cs: &[char], j: usize, whole: &dyn Fn() -> String) -> Result<(char, usize), String> {
    match cs.get(j) {
        None => Err(go_err("missing closing ]", &whole())),
        Some('\\') => escape_char(cs, j),
        Some(&c) => Ok((c, j + 1)),
    }
}

/// `(?flags)`, `(?flags:...)`, `(?P<name>...)`, `(?<name>...)` at `cs[i] == '('`.
fn group_flags(cs: &[char], i: usize, out: &mut String) -> Result<usize, String> {
    let j = i + 2;
    let named = match cs.get(j) {
        Some('P') if cs.get(j + 1) == Some(&'<') => Some(j + 2),
        Some('<') => Some(j + 1),
        _ => None,
    };
    if let Some(s) = named {
        let Some(k) = cs[s..].iter().position(|c| *c == '>') else {
            let text: String = cs[i..].iter().collect();
            return Err(go_err("invalid named capture", &text));
        };
        let name: String = cs[s..s + k].iter().collect();
        if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
            let text: String = cs[i..=s + k].iter().collect();
            return Err(go_err("invalid named capture", &text));
        }
        let _ = write!(out, "(?P<{name}>");
        return Ok(s + k + 1);
    }
    let mut k = j;
    let mut neg = false;
    let mut any = false;
    while let Some(&c) = cs.get(k) {
        match c {
            'i' | 'm' | 's' | 'U' => any = true,
            '-' if !neg => {
                neg = true;
                any = false;
            }
            // After a `-`, at least one flag must follow (`(?i-)` is an error in Go).
            ':' | ')' if any || !neg => {
                out.extend(&cs[i..=k]);
                return Ok(k + 1);
            }
            _ => break,
        }
        k += 1;
    }
    let text: String = cs[i..(k + 1).min(cs.len())].iter().collect();
    Err(go_err("invalid or unsupported Perl syntax", &text))
}

#[cfg(test)]
mod tests {
    use super::translate;

    fn ok(p: &str) -> regex::Regex {
        let t = translate(p).unwrap_or_else(|e| panic!("{p}: {e}"));
        regex::Regex::new(&t).unwrap_or_else(|e| panic!("{p} -> {t}: {e}"))
    }

    #[test]
    fn class_escape_then_dash_is_a_literal_dash() {
        let re = ok(r"^[\w-\.]+$");
        assert!(re.is_match("a-b.c_d"));
        assert!(!re.is_match("a/b"));
    }

    #[test]
    fn perl_classes_and_word_boundaries_are_ascii() {
        assert!(!ok(r"^\w+$").is_match("é"));
        assert!(!ok(r"^\d$").is_match("٣"));
        assert!(!ok(r"^\s$").is_match("\u{0b}"));
        assert!(ok(r"^\s$").is_match("\u{0c}"));
        assert!(!ok(r"^[\d]$").is_match("٣"));
        assert!(ok(r"^[^\W]$").is_match("a"));
        assert!(!ok(r"é\b").is_match("é"));
    }

    #[test]
    fn quoted_text_octal_and_punctuation_escapes_are_literals() {
        assert!(ok(r"^\Qa.b*\E+$").is_match("a.b**"));
        assert!(!ok(r"^\Qa.b\E$").is_match("axb"));
        assert!(ok(r"^\Qa.b").is_match("a.b"));
        assert!(ok(r"^\101\0$").is_match("A\0"));
        assert!(ok(r"^\<\_\-\>$").is_match("<_->"));
        assert!(ok(r"^[[a&&b~~]+$").is_match("[a&b~"));
    }

    #[test]
    fn a_brace_that_is_no_repetition_is_literal() {
        assert!(ok("^a{$").is_match("a{"));
        assert!(ok("^{foo}$").is_match("{foo}"));
        assert!(ok("^a{,3}$").is_match("a{,3}"));
        assert!(ok("^a{2}$").is_match("aa"));
        assert!(ok("^a{1,}?$").is_match("aaa"));
    }

    #[test]
    fn go_errors_are_reported_with_go_wording() {
        let cases = [
            (r"\C", "invalid escape sequence: `\\C`"),
            (r"\8", "invalid escape sequence: `\\8`"),
            (r"\1", "invalid escape sequence: `\\1`"),
            (r"[a-\d]", "invalid escape sequence: `\\d`"),
            (r"[z-a]", "invalid character class range: `z-a`"),
            (r"a{2,1}", "invalid repeat count: `{2,1}`"),
            (r"a{1001}", "invalid repeat count: `{1001}`"),
            (r"a**", "invalid nested repetition operator: `**`"),
            (r"a++", "invalid nested repetition operator: `++`"),
            (r"(?x)a", "invalid or unsupported Perl syntax: `(?x`"),
            (r"[a", "missing closing ]: `[a`"),
            (r"\x4", "invalid escape sequence: `\\x4`"),
            (r"[\b]", "invalid escape sequence: `\\b`"),
        ];
        for (p, want) in cases {
            assert_eq!(
                translate(p),
                Err(format!("error parsing regexp: {want}")),
                "{p}"
            );
        }
    }

    #[test]
    fn flags_and_named_groups_pass() {
        assert!(ok("(?i)^abc$").is_match("ABC"));
        assert!(ok("(?s:a.b)").is_match("a\nb"));
        assert!(ok("^(?:ab)+$").is_match("abab"));
        assert!(ok("^(?i-s:a)$").is_match("A"));
        let re = ok("(?<x>a)(?P<y>b)");
        assert_eq!(
            re.captures("ab").map(|c| c["y"].to_string()).as_deref(),
            Some("b")
        );
        assert!(ok("^[[:alpha:]-]+$").is_match("ab-c"));
        assert!(ok(r"^\pL\p{Greek}$").is_match("aα"));
        assert!(ok("^[]a]+$").is_match("]a"));
        assert!(ok("^[^]a]$").is_match("b"));
    }
}
