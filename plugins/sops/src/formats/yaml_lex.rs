//! Line-level pieces of the YAML reader: comments, keys, quoted scalars, flow collections.

use super::yaml_scalar::resolve_plain;
use crate::tree::{Item, Value};

pub(super) fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// Splits off a trailing ` #comment` outside quotes.
pub(super) fn split_comment(text: &str) -> (&str, Option<&str>) {
    let b = text.as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(b'"') if c == b'\\' => i += 1,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => {
                if (c == b'"' || c == b'\'')
                    && (i == 0 || matches!(b[i - 1], b' ' | b'[' | b'{' | b',' | b':'))
                {
                    quote = Some(c);
                } else if c == b'#' && (i == 0 || b[i - 1] == b' ' || b[i - 1] == b'\t') {
                    return (text[..i].trim_end(), Some(&text[i + 1..]));
                }
            }
        }
        i += 1;
    }
    (text.trim_end(), None)
}

/// Finds a mapping key at the start of `text`: returns the key, whether it was quoted, and the rest after the colon.
pub(super) fn split_key(text: &str) -> Option<(String, bool, &str)> {
    let b = text.as_bytes();
    if b.is_empty() || matches!(b[0], b'[' | b'{' | b'#' | b'|' | b'>' | b'*' | b'!' | b'&') {
        return None;
    }
    if b[0] == b'"' || b[0] == b'\'' {
        let (value, len) = quoted_single_line(text)?;
        let rest = text[len..].trim_start();
        let rest = rest.strip_prefix(':')?;
        if !(rest.is_empty() || rest.starts_with(' ')) {
            return None;
        }
        return Some((value, true, rest));
    }
    let mut i = 0;
    while i < b.len() {
        if b[i] == b':' && (i + 1 == b.len() || b[i + 1] == b' ' || b[i + 1] == b'\t') {
            return Some((text[..i].trim_end().to_owned(), false, &text[i + 1..]));
        }
        if b[i] == b'#' && i > 0 && b[i - 1] == b' ' {
            return None;
        }
        i += 1;
    }
    None
}

/// A quoted scalar wholly on one line: (value, byte length including quotes).
pub(super) fn quoted_single_line(text: &str) -> Option<(String, usize)> {
    let q = text.chars().next()?;
    let mut out = String::new();
    let mut chars = text.char_indices().skip(1).peekable();
    while let Some((i, c)) = chars.next() {
        if q == '\'' && c == '\'' {
            if chars.peek().map(|(_, c)| *c) == Some('\'') {
                chars.next();
                out.push('\'');
                continue;
            }
            return Some((out, i + 1));
        }
        if q == '"' && c == '"' {
            return Some((out, i + 1));
        }
        if q == '"' && c == '\\' {
            let (_, e) = chars.next()?;
            unescape(e, &mut chars, &mut out)?;
            continue;
        }
        out.push(c);
    }
    None
}

fn unescape(
    e: char,
    chars: &mut std::iter::Peekable<impl Iterator<Item = (usize, char)>>,
    out: &mut String,
) -> Option<()> {
    let hex = |chars: &mut std::iter::Peekable<_>, n: usize| -> Option<char> {
        let mut v = 0u32;
        for _ in 0..n {
            let (_, c): (usize, char) = Iterator::next(chars)?;
            v = v * 16 + c.to_digit(16)?;
        }
        char::from_u32(v)
    };
    let c = match e {
        '0' => '\0',
        'a' => '\u{7}',
        'b' => '\u{8}',
        't' | '\t' => '\t',
        'n' => '\n',
        'v' => '\u{b}',
        'f' => '\u{c}',
        'r' => '\r',
        'e' => '\u{1b}',
        ' ' => ' ',
        '"' => '"',
        '/' => '/',
        '\\' => '\\',
        'N' => '\u{85}',
        '_' => '\u{a0}',
        'L' => '\u{2028}',
        'P' => '\u{2029}',
        'x' => hex(chars, 2)?,
        'u' => hex(chars, 4)?,
        'U' => hex(chars, 8)?,
        _ => return None,
    };
    out.push(c);
    Some(())
}

/// A tiny flow-style parser (`[a, "b", {c: d}]`).
pub(super) struct Flow<'a> {
    pub(super) s: &'a [u8],
    pub(super) i: usize,
}

impl Flow<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t') {
            self.i += 1;
        }
    }

    pub(super) fn value(&mut self) -> Option<Value> {
        self.ws();
        match *self.s.get(self.i)? {
            b'[' => {
                self.i += 1;
                let mut out = Vec::new();
                loop {
                    self.ws();
                    if *self.s.get(self.i)? == b']' {
                        self.i += 1;
                        return Some(Value::Seq(out));
                    }
                    out.push(self.value()?);
                    self.ws();
                    match *self.s.get(self.i)? {
                        b',' => self.i += 1,
                        b']' => {}
                        _ => return None,
                    }
                }
            }
            b'{' => {
                self.i += 1;
                let mut out = Vec::new();
                loop {
                    self.ws();
                    if *self.s.get(self.i)? == b'}' {
                        self.i += 1;
                        return Some(Value::Map(out));
                    }
                    let key = match self.value()? {
                        Value::Str(s) => s,
                        Value::Null => String::new(),
                        other => super::yaml_emit::scalar_text(&other),
                    };
                    self.ws();
                    let value = if self.s.get(self.i) == Some(&b':') {
                        self.i += 1;
                        self.value()?
                    } else {
                        Value::Null
                    };
                    out.push(Item::new(key, value));
                    self.ws();
                    match *self.s.get(self.i)? {
                        b',' => self.i += 1,
                        b'}' => {}
                        _ => return None,
                    }
                }
            }
            b'"' | b'\'' => {
                let text = std::str::from_utf8(&self.s[self.i..]).ok()?;
                let (v, len) = quoted_single_line(text)?;
                self.i += len;
                Some(Value::Str(v))
            }
            _ => {
                let start = self.i;
                while self.i < self.s.len() {
                    let c = self.s[self.i];
                    if matches!(c, b',' | b']' | b'}')
                        || (c == b':'
                            && matches!(
                                self.s.get(self.i + 1),
                                None | Some(b' ' | b',' | b']' | b'}')
                            ))
                    {
                        break;
                    }
                    self.i += 1;
                }
                let text = std::str::from_utf8(&self.s[start..self.i]).ok()?.trim();
                Some(resolve_plain(text))
            }
        }
    }
}
