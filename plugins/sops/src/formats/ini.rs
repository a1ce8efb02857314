//! sops' INI store (go-ini underneath): sections of string keys, comments above keys, output with
//! aligned `=` signs.

use crate::Error;
use crate::formats::dotenv::val_to_string;
use crate::tree::{Item, Key, Value};

fn strip_comment_char(c: &str) -> String {
    if let Some(rest) = c.strip_prefix(';') {
        rest.trim_start_matches([';', ' ']).to_owned()
    } else if let Some(rest) = c.strip_prefix('#') {
        rest.trim_start_matches(['#', ' ']).to_owned()
    } else {
        c.to_owned()
    }
}

struct Section {
    name: String,
    comment: String,
    keys: Vec<(String, String, String)>,
}

/// Parses an INI file into a branch of sections.
pub(crate) fn parse(bytes: &[u8]) -> Result<Vec<Item>, Error> {
    let text = std::str::from_utf8(bytes).map_err(|_| Error::Parse {
        format: "ini",
        message: "the file is not UTF-8".into(),
    })?;
    let err = |line: usize, message: &str| Error::Parse {
        format: "ini",
        message: format!("line {line}: {message}"),
    };
    let mut sections = vec![Section {
        name: "DEFAULT".into(),
        comment: String::new(),
        keys: Vec::new(),
    }];
    let mut comment = String::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut n = 0;
    while n < lines.len() {
        let line = lines[n].trim_start();
        n += 1;
        if line.is_empty() {
            continue;
        }
        if line.starts_with('#') || line.starts_with(';') {
            if !comment.is_empty() {
                comment.push('\n');
            }
            comment.push_str(line.trim_end());
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            let close = rest
                .find(']')
                .ok_or_else(|| err(n, "unclosed section header"))?;
            sections.push(Section {
                name: rest[..close].trim().to_owned(),
                comment: std::mem::take(&mut comment),
                keys: Vec::new(),
            });
            continue;
        }
        let (key, raw) = split_key(line).ok_or_else(|| err(n, "a key without `=` or `:`"))?;
        let value = if let Some(after) = raw.strip_prefix("\"\"\"") {
            if let Some(end) = after.find("\"\"\"") {
                after[..end].to_owned()
            } else {
                let mut value = after.to_owned();
                loop {
                    let Some(next) = lines.get(n) else {
                        return Err(err(n, "unterminated `\"\"\"` value"));
                    };
                    n += 1;
                    value.push('\n');
                    if let Some(end) = next.find("\"\"\"") {
                        value.push_str(&next[..end]);
                        break;
                    }
                    value.push_str(next);
                }
                value
            }
        } else {
            unquote(raw)
        };
        let section = sections.last_mut().expect("DEFAULT exists");
        let comment = std::mem::take(&mut comment);
        if let Some(slot) = section.keys.iter_mut().find(|(k, _, _)| *k == key) {
            slot.1 = value;
            slot.2 = comment;
        } else {
            section.keys.push((key, value, comment));
        }
    }
    Ok(sections
        .into_iter()
        .map(|s| {
            let mut items = Vec::new();
            if !s.comment.is_empty() {
                items.push(Item::comment(strip_comment_char(&s.comment), false));
            }
            for (k, v, c) in s.keys {
                items.push(Item::new(k, Value::Str(v)));
                if !c.is_empty() {
                    items.push(Item::comment(strip_comment_char(&c), false));
                }
            }
            Item::new(s.name, Value::Map(items))
        })
        .collect())
}

fn split_key(line: &str) -> Option<(String, &str)> {
    for quote in ["\"\"\"", "`", "\""] {
        if let Some(rest) = line.strip_prefix(quote) {
            let end = rest.find(quote)?;
            let key = rest[..end].to_owned();
            let after = rest[end + quote.len()..].trim_start();
            let after = after.strip_prefix(['=', ':'])?;
            return Some((key, after.trim()));
        }
    }
    let pos = line.find(['=', ':'])?;
    Some((line[..pos].trim().to_owned(), line[pos + 1..].trim()))
}

/// A single-line value as go-ini reads it: backtick quotes, then inline comments cut at `#` or
/// `;`, then one pair of surrounding `'` or `"` removed.
fn unquote(raw: &str) -> String {
    if raw.len() >= 2
        && let Some(inner) = raw.strip_prefix('`')
        && let Some(end) = inner.rfind('`')
    {
        return inner[..end].to_owned();
    }
    let cut = raw.find(['#', ';']).unwrap_or(raw.len());
    let value = raw[..cut].trim();
    for q in ['\'', '"'] {
        if value.len() >= 2
            && value.starts_with(q)
            && value.ends_with(q)
            && value.matches(q).count() == 2
        {
            return value[1..value.len() - 1].to_owned();
        }
    }
    value.to_owned()
}

fn comment_lines(out: &mut String, comment: &str) {
    for line in comment.split('\n') {
        if line.starts_with('#') || line.starts_with(';') {
            out.push_str(&line[..1]);
            out.push(' ');
            out.push_str(line[1..].trim());
        } else {
            out.push_str("; ");
            out.push_str(line.trim());
        }
        out.push('\n');
    }
}

/// Emits sections as `sops --decrypt` prints INI files.
pub(crate) fn emit(items: &[Item]) -> Result<Vec<u8>, Error> {
    let sections: Vec<(&str, &[Item])> = items
        .iter()
        .filter_map(|i| match (&i.key, &i.value) {
            (Key::Str(k), Value::Map(m)) => Some(Ok((k.as_str(), m.as_slice()))),
            (Key::Str(_), _) => Some(Err(Error::Output(
                "INI section values must be mappings".into(),
            ))),
            (Key::Comment(_), _) => None,
        })
        .collect::<Result<_, _>>()?;
    let mut out = String::new();
    let last = sections.len().saturating_sub(1);
    for (i, (name, entries)) in sections.iter().enumerate() {
        let mut section_comment = None;
        let mut keys: Vec<(String, String, Option<String>)> = Vec::new();
        for (j, entry) in entries.iter().enumerate() {
            match &entry.key {
                Key::Comment(c) if j == 0 => section_comment = Some(c.value.clone()),
                Key::Comment(c) => {
                    if let Some(last) = keys.last_mut() {
                        last.2 = Some(c.value.clone());
                    }
                }
                Key::Str(k) => {
                    let value = val_to_string(&entry.value);
                    if let Some(slot) = keys.iter_mut().find(|(key, _, _)| key == k) {
                        slot.1 = value;
                    } else {
                        keys.push((k.clone(), value, None));
                    }
                }
            }
        }
        if let Some(c) = section_comment.filter(|c| !c.is_empty()) {
            comment_lines(&mut out, &c);
        }
        if i == 0 && name.eq_ignore_ascii_case("DEFAULT") {
            if keys.is_empty() {
                continue;
            }
        } else {
            out.push('[');
            out.push_str(name);
            out.push_str("]\n");
        }
        let names: Vec<String> = keys
            .iter()
            .map(|(k, _, _)| {
                if k.contains('"') || k.contains(['=', ':']) {
                    format!("`{k}`")
                } else if k.contains('`') {
                    format!("\"\"\"{k}\"\"\"")
                } else {
                    k.clone()
                }
            })
            .collect();
        let align = keys
            .iter()
            .map(|(k, _, _)| {
                if k.contains('"') || k.contains(['=', ':']) {
                    k.len() + 2
                } else if k.contains('`') {
                    k.len() + 6
                } else {
                    k.len()
                }
            })
            .max()
            .unwrap_or(0);
        for ((_, value, comment), kname) in keys.iter().zip(&names) {
            if let Some(c) = comment.as_deref().filter(|c| !c.is_empty()) {
                comment_lines(&mut out, c);
            }
            out.push_str(kname);
            out.extend(std::iter::repeat_n(' ', align.saturating_sub(kname.len())));
            out.push_str(" = ");
            if value.contains(['\n', '`']) {
                out.push_str("\"\"\"");
                out.push_str(value);
                out.push_str("\"\"\"");
            } else if value.contains(['#', ';']) {
                out.push('`');
                out.push_str(value);
                out.push('`');
            } else if value.trim().len() != value.len() {
                out.push('"');
                out.push_str(value);
                out.push('"');
            } else {
                out.push_str(value);
            }
            out.push('\n');
        }
        if i != last {
            out.push('\n');
        }
    }
    Ok(out.into_bytes())
}
