//! Go's regular expression syntax (RE2, as Go's `regexp` reads it), rewritten
//! for the `regex` crate.
//!
//! kustomize compiles selector patterns (`target.name`, `target.kind`, ...)
//! and image names with Go's `regexp`. The two dialects agree on most
//! patterns; where they differ, the Go meaning is spelled out here:
//!
//! - a `{` that does not open a repetition `{n}`, `{n,}` or `{n,m}` is a
//!   literal (`${CLUSTER_NAME}`), as is a lone `}`;
//! - `\d`, `\s`, `\w`, `\b` and their negations are ASCII-only;
//! - an escaped punctuation character is always itself (`\<` is `<`, not a
//!   word start);
//! - `\Q...\E` quotes text;
//! - octal escapes (`\0`, `\123`);
//! - inside a class, `[` is a literal unless it opens `[:name:]`, and `&&`,
//!   `--` and `~~` are characters, not set operations.
//!
//! Anything else passes through, and a pattern Go refuses is left for the
//! `regex` crate to refuse.

/// The pattern, rewritten so that the `regex` crate reads it as Go would; an
/// error for a repetition count above 1000, which Go refuses.
pub(crate) fn translate(pattern: &str) -> Result<String, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => i = escape(&chars, i, &mut out, false),
            '[' => i = class(&chars, i, &mut out),
            '{' => {
                if let Some(end) = repetition_end(&chars, i) {
                    let counts: String = chars[i + 1..end - 1].iter().collect();
                    if counts
                        .split(',')
                        .any(|n| n.parse::<u32>().is_ok_and(|n| n > 1000))
                    {
                        return Err(format!("invalid repeat count: `{{{counts}}}`"));
                    }
                    out.extend(&chars[i..end]);
                    i = end;
                } else {
                    out.push_str("\\{");
                    i += 1;
                }
            }
            '}' => {
                out.push_str("\\}");
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// The index after a repetition `{n}`, `{n,}` or `{n,m}` starting at
/// `start`, or `None` when the brace opens none (Go then reads it literally).
fn repetition_end(chars: &[char], start: usize) -> Option<usize> {
    let mut i = start + 1;
    let digits = |i: &mut usize| {
        let from = *i;
        while chars.get(*i).is_some_and(char::is_ascii_digit) {
            *i += 1;
        }
        *i > from
    };
    if !digits(&mut i) {
        return None;
    }
    if chars.get(i) == Some(&',') {
        i += 1;
        digits(&mut i);
    }
    (chars.get(i) == Some(&'}')).then_some(i + 1)
}

/// ASCII classes of Go's Perl escapes, as class items.
fn perl_class(c: char) -> Option<(&'static str, bool)> {
    match c {
        'd' => Some(("0-9", false)),
        'D' => Some(("0-9", true)),
        's' => Some(("\\t\\n\\x0C\\r ", false)),
        'S' => Some(("\\t\\n\\x0C\\r ", true)),
        'w' => Some(("0-9A-Za-z_", false)),
        'W' => Some(("0-9A-Za-z_", true)),
        _ => None,
    }
}

/// Rewrites the escape at `chars[i]` (a backslash) into `out`; returns the
/// index after it. `in_class` says whether it stands inside `[...]`.
fn escape(chars: &[char], i: usize, out: &mut String, in_class: bool) -> usize {
    let Some(&c) = chars.get(i + 1) else {
        // A trailing backslash: Go refuses it, and so does the regex crate.
        out.push('\\');
        return i + 1;
    };
    if let Some((items, negated)) = perl_class(c) {
        match (in_class, negated) {
            (true, false) => out.push_str(items),
            (true, true) => {
                out.push_str("[^");
                out.push_str(items);
                out.push(']');
            }
            (false, neg) => {
                out.push_str(if neg { "[^" } else { "[" });
                out.push_str(items);
                out.push(']');
            }
        }
        return i + 2;
    }
    match c {
        'b' | 'B' if !in_class => {
            out.push_str("(?-u:\\");
            out.push(c);
            out.push(')');
            i + 2
        }
        'Q' if !in_class => {
            let mut j = i + 2;
            while j < chars.len() {
                if chars[j] == '\\' && chars.get(j + 1) == Some(&'E') {
                    return j + 2;
                }
                push_literal(out, chars[j]);
                j += 1;
            }
            j
        }
        '0'..='7' => {
            // Go: `\0` and `\1`..`\7` followed by a digit start an octal escape of
            // up to three digits; a lone `\1`..`\7` (a back-reference) is refused.
            let mut j = i + 1;
            let mut value = 0u32;
            while j < chars.len() && j < i + 4 {
                match chars[j].to_digit(8) {
                    Some(d) => value = value * 8 + d,
                    None => break,
                }
                j += 1;
            }
            if c != '0' && j == i + 2 {
                out.push('\\');
                out.push(c);
                return i + 2;
            }
            // At most 0o777: always a character.
            push_literal(out, char::from_u32(value).unwrap_or('\0'));
            j
        }
        c if c.is_ascii_punctuation() => {
            push_literal(out, c);
            i + 2
        }
        c => {
            out.push('\\');
            out.push(c);
            // `\x{...}`, `\p{...}` and `\P{...}` carry their braces along.
            if matches!(c, 'x' | 'p' | 'P') && chars.get(i + 2) == Some(&'{') {
                let mut j = i + 2;
                while j < chars.len() {
                    out.push(chars[j]);
                    j += 1;
                    if chars[j - 1] == '}' {
                        break;
                    }
                }
                return j;
            }
            i + 2
        }
    }
}

/// A character that stands for itself, escaped when the regex crate gives it
/// a meaning (inside or outside a class).
fn push_literal(out: &mut String, c: char) {
    if c.is_ascii_punctuation() && !matches!(c, '<' | '>') {
        out.push('\\');
    }
    out.push(c);
}

/// Rewrites the class opening at `chars[start]` (`[`); returns the index after
/// it. An unterminated class is copied as it is, for the regex crate to refuse.
fn class(chars: &[char], start: usize, out: &mut String) -> usize {
    let mut body = String::from("[");
    let mut i = start + 1;
    if chars.get(i) == Some(&'^') {
        body.push('^');
        i += 1;
    }
    let first = i;
    while i < chars.len() {
        // A `]` first in the class is a literal; later it ends the class.
        if chars[i] == ']' && i > first {
            body.push(']');
            out.push_str(&body);
            return i + 1;
        }
        if chars[i] == '[' && chars.get(i + 1) == Some(&':') {
            // `[:alpha:]` and `[:^alpha:]` are the same in both dialects.
            if let Some(p) = chars[i + 2..].windows(2).position(|w| w == [':', ']']) {
                body.extend(&chars[i..i + 2 + p + 2]);
                i += 2 + p + 2;
                continue;
            }
        }
        if chars[i] == '\\'
            && chars
                .get(i + 1)
                .is_some_and(|c| matches!(c, 'd' | 'D' | 's' | 'S' | 'w' | 'W' | 'p' | 'P'))
        {
            i = escape(chars, i, &mut body, true);
            continue;
        }
        // One character, or a range of two.
        i = class_char(chars, i, &mut body);
        if chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|&c| c != ']') {
            body.push('-');
            i = class_char(chars, i + 1, &mut body);
        }
    }
    out.push_str(&chars[start..].iter().collect::<String>());
    chars.len()
}

/// One character of a class at `chars[i]`, written into `body` so that the
/// regex crate reads it as that character; returns the index after it.
fn class_char(chars: &[char], i: usize, body: &mut String) -> usize {
    if chars[i] == '\\' {
        return escape(chars, i, body, true);
    }
    let c = chars[i];
    if matches!(c, '[' | ']' | '&' | '~' | '-' | '^') {
        body.push('\\');
    }
    body.push(c);
    i + 1
}

#[cfg(test)]
mod tests {
    use super::translate;

    fn go_matches(pattern: &str, text: &str) -> bool {
        let rewritten = translate(pattern).expect("Go reads it");
        regex::Regex::new(&format!("^(?:{rewritten})$"))
            .unwrap_or_else(|e| panic!("{pattern:?} -> {rewritten:?}: {e}"))
            .is_match(text)
    }

    #[test]
    fn a_brace_that_opens_no_repetition_is_literal() {
        assert!(go_matches("\\${CLUSTER_NAME}", "${CLUSTER_NAME}"));
        assert!(!go_matches(
            "${CLUSTER_NAME}-control-plane",
            "${CLUSTER_NAME}-control-plane"
        ));
        assert!(go_matches("a{,2}", "a{,2}"));
        assert!(go_matches("a{x}", "a{x}"));
        assert!(go_matches("a}", "a}"));
        assert!(go_matches("a{2}", "aa"));
        assert!(go_matches("a{1,}", "aaa"));
        assert!(go_matches("a{1,2}b", "aab"));
        assert!(!go_matches("a{2}", "a{2}"));
    }

    #[test]
    fn perl_classes_are_ascii() {
        assert!(go_matches("\\d+", "123"));
        assert!(!go_matches("\\d", "٣"));
        assert!(!go_matches("\\w", "é"));
        assert!(go_matches("\\W", "é"));
        assert!(go_matches("[\\d\\s]+", "1 2"));
        assert!(go_matches("[^\\d]", "x"));
        assert!(go_matches("[a\\D]", "é"));
        assert!(go_matches("a\\bé", "aé"));
        assert!(!go_matches("a\\Bé", "aé"));
    }

    #[test]
    fn escapes_read_as_go_reads_them() {
        assert!(go_matches("\\<a\\>", "<a>"));
        assert!(go_matches("\\Qa.b*\\E+", "a.b**"));
        assert!(!go_matches("\\Qa.b\\E", "axb"));
        assert!(go_matches("\\101\\0", "A\0"));
        assert!(go_matches("[\\101-\\103]+", "ABC"));
        assert!(go_matches("a\\.\\%\\'", "a.%'"));
        assert!(go_matches("\\x{41}\\p{Greek}", "Aα"));
    }

    #[test]
    fn what_go_refuses_stays_refused() {
        for p in ["[a--]", "\\1", "\\8", "a{1001}", "[z-a]", "(", "a\\"] {
            let rewritten = translate(p);
            assert!(
                rewritten
                    .as_ref()
                    .map_or(true, |r| regex::Regex::new(r).is_err()),
                "{p:?} -> {rewritten:?}"
            );
        }
    }

    #[test]
    fn classes_hold_go_literals() {
        assert!(go_matches("[[]", "["));
        assert!(go_matches("[]a]+", "]a"));
        assert!(go_matches("[a&&b]+", "a&b"));
        assert!(go_matches("[\\d-z]+", "1-z"));
        assert!(!go_matches("[\\d-z]", "a"));
        assert!(go_matches("[-a]+", "-a"));
        assert!(go_matches("[~~x]", "~"));
        assert!(go_matches("[[:alpha:]]+", "abc"));
        assert!(go_matches("[a-c]+", "abc"));
        assert!(go_matches("[{}]+", "{}"));
    }
}
