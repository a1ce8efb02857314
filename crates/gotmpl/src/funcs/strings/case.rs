//! xstrings' word splitting for `snakecase` and `kebabcase`.

#[derive(Clone, Copy, PartialEq, Eq)]
enum Word {
    Invalid,
    Number,
    Upper,
    Alpha,
    Connector,
    Punct,
    Other,
}

fn is_connector(c: char) -> bool {
    c == '-' || c == '_' || c.is_whitespace()
}

fn is_alphabet(c: char) -> bool {
    c.is_ascii_alphabetic()
}

/// Go's `unicode.IsPunct` for ASCII (symbols such as `$` and `+` are not punctuation).
fn is_punct(c: char) -> bool {
    c.is_ascii_punctuation() && !"$+<=>^`|~".contains(c)
}

/// The next word of `s[i..]`: its type and end index.
fn next_word(s: &[char], i: usize) -> (Word, usize) {
    let Some(&c) = s.get(i) else {
        return (Word::Invalid, i);
    };
    let run = |mut j: usize, f: &dyn Fn(char) -> bool| {
        while j < s.len() && f(s[j]) {
            j += 1;
        }
        j
    };
    if is_connector(c) {
        return (Word::Connector, run(i + 1, &is_connector));
    }
    if is_punct(c) {
        return (Word::Punct, run(i + 1, &is_punct));
    }
    if c.is_uppercase() {
        let Some(&n) = s.get(i + 1) else {
            return (Word::Upper, i + 1);
        };
        if n.is_uppercase() {
            let end = run(i + 1, &char::is_uppercase);
            // "HTTPStatus": the S belongs to the next word.
            if end < s.len() && is_alphabet(s[end]) {
                return (Word::Upper, end - 1);
            }
            return (Word::Upper, end);
        }
        if is_alphabet(n) {
            return (
                Word::Upper,
                run(i + 2, &|x| is_alphabet(x) && !x.is_uppercase()),
            );
        }
        return (Word::Upper, i + 1);
    }
    if is_alphabet(c) {
        return (
            Word::Alpha,
            run(i + 1, &|x| is_alphabet(x) && !x.is_uppercase()),
        );
    }
    if c.is_numeric() {
        return (Word::Number, run(i + 1, &char::is_numeric));
    }
    let end = run(i + 1, &|x| {
        !(is_connector(x) || is_alphabet(x) || x.is_numeric() || is_punct(x))
    });
    (Word::Other, end)
}

fn to_lower(out: &mut String, w: Word, word: &[char], connector: char) {
    if w != Word::Upper && w != Word::Connector {
        out.extend(word);
        return;
    }
    for &c in word {
        if is_connector(c) {
            out.push(connector);
        } else {
            out.extend(c.to_lowercase());
        }
    }
}

/// xstrings' `camelCaseToLowerCase` (`ToSnakeCase` with `_`, `ToKebabCase` with `-`).
pub(super) fn camel_to_lower(s: &str, connector: char) -> String {
    let s: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let (mut wt, mut end) = next_word(&s, 0);
    let mut start = 0;
    while end < s.len() {
        if wt != Word::Connector {
            to_lower(&mut out, wt, &s[start..end], connector);
        }
        let (prev, last) = (wt, start..end);
        start = end;
        (wt, end) = next_word(&s, start);
        match prev {
            Word::Number => {
                while matches!(wt, Word::Alpha | Word::Number) {
                    to_lower(&mut out, wt, &s[start..end], connector);
                    start = end;
                    (wt, end) = next_word(&s, start);
                }
                if !matches!(wt, Word::Invalid | Word::Punct | Word::Connector) {
                    out.push(connector);
                }
            }
            Word::Connector => to_lower(&mut out, prev, &s[last], connector),
            Word::Punct => {}
            _ => {
                if wt != Word::Number {
                    if !matches!(wt, Word::Connector | Word::Punct) {
                        out.push(connector);
                    }
                    continue;
                }
                if end >= s.len() {
                    continue;
                }
                let num = start..end;
                start = end;
                (wt, end) = next_word(&s, start);
                if wt != Word::Alpha {
                    to_lower(&mut out, Word::Number, &s[num], connector);
                    if !matches!(wt, Word::Connector | Word::Punct) {
                        out.push(connector);
                    }
                    continue;
                }
                out.push(connector);
                to_lower(&mut out, Word::Number, &s[num], connector);
                while matches!(wt, Word::Alpha | Word::Number) {
                    to_lower(&mut out, wt, &s[start..end], connector);
                    start = end;
                    (wt, end) = next_word(&s, start);
                }
                if !matches!(wt, Word::Invalid | Word::Connector | Word::Punct) {
                    out.push(connector);
                }
            }
        }
    }
    to_lower(&mut out, wt, &s[start..end.min(s.len())], connector);
    out
}
