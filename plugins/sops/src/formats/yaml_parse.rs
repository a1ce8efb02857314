//! A block-YAML reader for files sops writes: mappings, sequences, quoted, plain, block and flow
//! scalars, anchors and aliases, with full-line and trailing comments kept as tree items.

use std::collections::HashMap;

use super::yaml_scalar::resolve_plain;
use crate::Error;
use crate::tree::{Comment, Item, Value};

/// Parses every document of a YAML stream into mapping branches.
pub(crate) fn parse(bytes: &[u8]) -> Result<Vec<Vec<Item>>, Error> {
    let text = std::str::from_utf8(bytes).map_err(|_| perr(0, "the file is not UTF-8"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut docs = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut offsets = 0;
    let mut start = 0;
    let mut explicit = false;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line == "---" || line.starts_with("--- ") || line == "..." {
            if !current.iter().all(|l| l.trim().is_empty()) || explicit {
                docs.push((start, std::mem::take(&mut current)));
            }
            current.clear();
            start = n + 1;
            explicit = line.starts_with("---");
            if let Some(rest) = line.strip_prefix("--- ") {
                current.push(format!("{}{rest}", " ".repeat(4)));
            }
            continue;
        }
        if line.starts_with('%') && current.is_empty() {
            continue;
        }
        current.push(line.to_owned());
        offsets += 1;
    }
    let _ = offsets;
    if !current.iter().all(|l| l.trim().is_empty()) || explicit {
        docs.push((start, current));
    }
    let mut out = Vec::new();
    for (start, lines) in docs {
        let mut p = Parser {
            lines,
            pos: 0,
            base: start,
            anchors: HashMap::new(),
        };
        out.push(p.document()?);
    }
    Ok(out)
}

fn perr(line: usize, message: &str) -> Error {
    Error::Parse {
        format: "yaml",
        message: if line == 0 {
            message.to_owned()
        } else {
            format!("line {line}: {message}")
        },
    }
}

struct Parser {
    lines: Vec<String>,
    pos: usize,
    base: usize,
    anchors: HashMap<String, Value>,
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// Splits off a trailing ` #comment` outside quotes.
fn split_comment(text: &str) -> (&str, Option<&str>) {
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

/// Finds a mapping key at the start of `text`: returns (key, is_quoted, rest after `:`).
fn split_key(text: &str) -> Option<(String, bool, &str)> {
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
fn quoted_single_line(text: &str) -> Option<(String, usize)> {
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

impl Parser {
    fn line_no(&self) -> usize {
        self.base + self.pos + 1
    }

    fn err(&self, message: &str) -> Error {
        perr(self.line_no(), message)
    }

    /// Skips blank lines; returns the index of the next non-blank line.
    fn next_content(&self, from: usize) -> Option<usize> {
        (from..self.lines.len()).find(|&i| !self.lines[i].trim().is_empty())
    }

    fn is_comment_line(&self, i: usize) -> bool {
        self.lines[i].trim_start().starts_with('#')
    }

    /// Next line that is neither blank nor a comment.
    fn next_node_line(&self, from: usize) -> Option<usize> {
        (from..self.lines.len())
            .find(|&i| !self.lines[i].trim().is_empty() && !self.is_comment_line(i))
    }

    fn document(&mut self) -> Result<Vec<Item>, Error> {
        let Some(first) = self.next_node_line(0) else {
            // only comments: keep them as the document's items
            let mut items = Vec::new();
            while let Some(i) = self.next_content(self.pos) {
                items.push(Item::comment(
                    self.lines[i].trim_start()[1..].to_owned(),
                    false,
                ));
                self.pos = i + 1;
            }
            return Ok(items);
        };
        let indent = indent_of(&self.lines[first]);
        let value = self.block(indent, None)?;
        let mut items = match value {
            Value::Map(items) => items,
            Value::Null => Vec::new(),
            _ => {
                return Err(perr(
                    self.base + first + 1,
                    "the document is not a mapping (sops needs a mapping at the top level)",
                ));
            }
        };
        // trailing comments of the document
        while let Some(i) = self.next_content(self.pos) {
            if !self.is_comment_line(i) {
                self.pos = i;
                return Err(self.err("unexpected content after the top-level mapping"));
            }
            items.push(Item::comment(
                self.lines[i].trim_start()[1..].to_owned(),
                false,
            ));
            self.pos = i + 1;
        }
        Ok(items)
    }

    /// Parses the block node whose first line (at `self.pos` or later) is indented `indent`.
    /// `leading` holds comments already seen before it.
    fn block(&mut self, indent: usize, leading: Option<Vec<String>>) -> Result<Value, Error> {
        let Some(i) = self.next_node_line(self.pos) else {
            return Ok(Value::Null);
        };
        let text = self.lines[i][indent.min(self.lines[i].len())..].to_owned();
        if text == "-" || text.starts_with("- ") {
            return self.sequence(indent, leading.unwrap_or_default());
        }
        let (content, _) = split_comment(&text);
        if split_key(content).is_some() {
            return self.mapping(indent, leading.unwrap_or_default());
        }
        // a scalar (or flow collection) standing alone
        self.pos = i;
        let (value, _) = self.inline_value(i, indent, indent.saturating_sub(1))?;
        Ok(value)
    }

    /// Collects comment lines from `self.pos` up to the next node line; returns them with
    /// their columns and leaves `self.pos` on the node line.
    fn comments(&mut self) -> Vec<(usize, usize, String)> {
        let mut out = Vec::new();
        while let Some(i) = self.next_content(self.pos) {
            if !self.is_comment_line(i) {
                break;
            }
            let line = &self.lines[i];
            out.push((i, indent_of(line), line.trim_start()[1..].to_owned()));
            self.pos = i + 1;
        }
        out
    }

    /// Gives back comments indented less than `indent` to the enclosing node; returns the rest.
    fn keep_comments(
        &mut self,
        pending: Vec<(usize, usize, String)>,
        indent: usize,
    ) -> Vec<String> {
        if let Some(k) = pending.iter().position(|(_, col, _)| *col < indent) {
            self.pos = pending[k].0;
            pending.into_iter().take(k).map(|c| c.2).collect()
        } else {
            pending.into_iter().map(|c| c.2).collect()
        }
    }

    fn mapping(&mut self, indent: usize, leading: Vec<String>) -> Result<Value, Error> {
        let mut items: Vec<Item> = leading
            .into_iter()
            .map(|c| Item::comment(c, false))
            .collect();
        loop {
            let pending = self.comments();
            let Some(i) = self.next_node_line(self.pos) else {
                items.extend(
                    self.keep_comments(pending, indent)
                        .into_iter()
                        .map(|c| Item::comment(c, false)),
                );
                break;
            };
            let line_indent = indent_of(&self.lines[i]);
            if line_indent != indent {
                if line_indent > indent {
                    self.pos = i;
                    return Err(self.err("unexpected indentation"));
                }
                items.extend(
                    self.keep_comments(pending, indent)
                        .into_iter()
                        .map(|c| Item::comment(c, false)),
                );
                break;
            }
            items.extend(pending.into_iter().map(|c| Item::comment(c.2, false)));
            let line = self.lines[i].clone();
            let text = &line[indent..];
            if text == "-" || text.starts_with("- ") {
                break;
            }
            let (key, _, rest) = split_key(text).ok_or_else(|| {
                self.pos = i;
                self.err("expected a `key: value` line")
            })?;
            let key = if key == "<<" { key } else { key };
            let rest_col = line.len() - rest.len();
            self.pos = i + 1;
            let (value, comment) = self.value_after(i, rest_col, indent, true)?;
            if let Some(c) = comment {
                let nested = matches!(value, Value::Map(_) | Value::Seq(_));
                items.push(Item::comment(c, !nested));
            }
            if key == "<<"
                && let Value::Map(merged) = value
            {
                for m in merged {
                    if let Some(k) = m.key_str()
                        && items.iter().any(|it| it.key_str() == Some(k))
                    {
                        continue;
                    }
                    items.push(m);
                }
                continue;
            }
            items.push(Item::new(key, value));
        }
        Ok(Value::Map(items))
    }

    fn sequence(&mut self, indent: usize, leading: Vec<String>) -> Result<Value, Error> {
        let mut values: Vec<Value> = leading
            .into_iter()
            .map(|c| {
                Value::Comment(Comment {
                    value: c,
                    inline: false,
                })
            })
            .collect();
        loop {
            let pending = self.comments();
            let next = self.next_node_line(self.pos);
            let is_item = next.is_some_and(|i| {
                let l = &self.lines[i];
                indent_of(l) == indent && (l[indent..] == *"-" || l[indent..].starts_with("- "))
            });
            if !is_item {
                values.extend(self.keep_comments(pending, indent).into_iter().map(|c| {
                    Value::Comment(Comment {
                        value: c,
                        inline: false,
                    })
                }));
                break;
            }
            values.extend(pending.into_iter().map(|c| {
                Value::Comment(Comment {
                    value: c.2,
                    inline: false,
                })
            }));
            let i = next.expect("checked above");
            // blank the dash so the item's content stands at its own column
            let mut line = self.lines[i].clone();
            line.replace_range(indent..=indent, " ");
            self.lines[i].clone_from(&line);
            let content_col = indent_of(&line);
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                let comment = line.trim_start().strip_prefix('#').map(str::to_owned);
                self.lines[i].clear();
                self.pos = i + 1;
                if let Some(c) = comment {
                    values.push(Value::Comment(Comment {
                        value: c,
                        inline: true,
                    }));
                }
                let value = match self.next_node_line(self.pos) {
                    Some(j) if indent_of(&self.lines[j]) > indent => {
                        let ind = indent_of(&self.lines[j]);
                        self.block(ind, None)?
                    }
                    _ => Value::Null,
                };
                values.push(value);
                continue;
            }
            let text = line[content_col..].to_owned();
            let (content, _) = split_comment(&text);
            if content == "-" || content.starts_with("- ") || split_key(content).is_some() {
                self.pos = i;
                let value = self.block(content_col, None)?;
                values.push(value);
                continue;
            }
            self.pos = i + 1;
            let (value, comment) = self.inline_value(i, content_col, indent)?;
            if let Some(c) = comment {
                values.push(Value::Comment(Comment {
                    value: c,
                    inline: true,
                }));
            }
            values.push(value);
        }
        Ok(Value::Seq(values))
    }

    /// The value after `key:` on line `i` from column `col`; `parent` is the key's indent.
    fn value_after(
        &mut self,
        i: usize,
        col: usize,
        parent: usize,
        in_mapping: bool,
    ) -> Result<(Value, Option<String>), Error> {
        let rest = self.lines[i][col..].to_owned();
        let (content, comment) = split_comment(rest.trim_start());
        if content.is_empty() {
            let comment = comment.map(str::to_owned);
            let leading = self.comments();
            let value = match self.next_node_line(self.pos) {
                Some(j) => {
                    let ind = indent_of(&self.lines[j]);
                    let l = &self.lines[j];
                    let is_seq = l[ind..] == *"-" || l[ind..].starts_with("- ");
                    if ind > parent || (in_mapping && ind == parent && is_seq) {
                        let lead: Vec<String> = leading.into_iter().map(|c| c.2).collect();
                        self.block(ind, Some(lead))?
                    } else {
                        self.pos = leading.first().map_or(self.pos, |c| c.0);
                        Value::Null
                    }
                }
                None => {
                    self.pos = leading.first().map_or(self.pos, |c| c.0);
                    Value::Null
                }
            };
            return Ok((value, comment));
        }
        let start = self.lines[i].len() - rest.trim_start().len();
        self.inline_value(i, start, parent)
    }

    /// A node starting on line `i` at column `col` (scalar, flow collection, block scalar,
    /// alias, with optional anchor and tag). Leaves `self.pos` after its last line.
    fn inline_value(
        &mut self,
        i: usize,
        col: usize,
        parent: usize,
    ) -> Result<(Value, Option<String>), Error> {
        self.pos = i + 1;
        let mut text = self.lines[i][col..].to_owned();
        let mut anchor = None;
        let mut tag = None;
        loop {
            if let Some(rest) = text.strip_prefix('&') {
                let end = rest.find(' ').unwrap_or(rest.len());
                anchor = Some(rest[..end].to_owned());
                text = rest[end..].trim_start().to_owned();
            } else if text.starts_with('!') {
                let end = text.find(' ').unwrap_or(text.len());
                tag = Some(text[..end].to_owned());
                text = text[end..].trim_start().to_owned();
            } else {
                break;
            }
        }
        let (value, comment) = if let Some(name) = text.strip_prefix('*') {
            let (name, comment) = split_comment(name);
            let v = self
                .anchors
                .get(name.trim())
                .cloned()
                .ok_or_else(|| self.err("unknown alias"))?;
            (v, comment.map(str::to_owned))
        } else if text.is_empty() || text.starts_with('#') {
            let comment = text.strip_prefix('#').map(str::to_owned);
            let value = match self.next_node_line(self.pos) {
                Some(j) if indent_of(&self.lines[j]) > parent => {
                    let ind = indent_of(&self.lines[j]);
                    self.block(ind, None)?
                }
                _ => Value::Null,
            };
            (value, comment)
        } else if text.starts_with('|') || text.starts_with('>') {
            let (header, comment) = split_comment(&text);
            (
                Value::Str(self.block_scalar(header, parent)?),
                comment.map(str::to_owned),
            )
        } else if text.starts_with('"') || text.starts_with('\'') {
            self.quoted(&text)?
        } else if text.starts_with('[') || text.starts_with('{') {
            self.flow(text)?
        } else {
            let (content, comment) = split_comment(&text);
            let mut s = content.to_owned();
            // continuation lines of a multi-line plain scalar
            if comment.is_none() {
                let mut blank = 0;
                let mut j = self.pos;
                while j < self.lines.len() {
                    let l = &self.lines[j];
                    if l.trim().is_empty() {
                        blank += 1;
                        j += 1;
                        continue;
                    }
                    if indent_of(l) <= parent || l.trim_start().starts_with('#') {
                        break;
                    }
                    let (c, _) = split_comment(l.trim());
                    if blank > 0 {
                        s.push_str(&"\n".repeat(blank));
                    } else {
                        s.push(' ');
                    }
                    s.push_str(c);
                    blank = 0;
                    j += 1;
                    self.pos = j;
                }
            }
            (resolve_plain(&s), comment.map(str::to_owned))
        };
        let value = apply_tag(tag.as_deref(), value);
        if let Some(a) = anchor {
            self.anchors.insert(a, value.clone());
        }
        Ok((value, comment))
    }

    fn block_scalar(&mut self, header: &str, parent: usize) -> Result<String, Error> {
        let folded = header.starts_with('>');
        let mut chomp = ' ';
        let mut explicit = None;
        for c in header[1..].chars() {
            match c {
                '+' | '-' => chomp = c,
                d if d.is_ascii_digit() => explicit = d.to_digit(10),
                _ => return Err(self.err("invalid block scalar header")),
            }
        }
        let mut content_indent = explicit.map(|d| parent + d as usize);
        let mut lines: Vec<String> = Vec::new();
        while self.pos < self.lines.len() {
            let l = &self.lines[self.pos];
            if l.trim().is_empty() {
                lines.push(String::new());
                self.pos += 1;
                continue;
            }
            let ind = indent_of(l);
            let ci = *content_indent.get_or_insert(ind);
            if ind < ci || ind <= parent && !(parent == 0 && ci == 0 && false) {
                break;
            }
            lines.push(l[ci..].to_owned());
            self.pos += 1;
        }
        // give back trailing blank lines (they stay counted for chomping)
        let trailing = lines.iter().rev().take_while(|l| l.is_empty()).count();
        let body = &lines[..lines.len() - trailing];
        let mut text = String::new();
        if folded {
            let mut prev_normal = false;
            for (n, l) in body.iter().enumerate() {
                let normal = !l.is_empty() && !l.starts_with(' ');
                if n > 0 {
                    if l.is_empty() {
                        text.push('\n');
                    } else if prev_normal && normal && !body[n - 1].is_empty() {
                        text.push(' ');
                    } else if !body[n - 1].is_empty() || !normal {
                        text.push('\n');
                    }
                }
                text.push_str(l);
                prev_normal = normal || (l.is_empty() && prev_normal);
            }
        } else {
            text = body.join("\n");
        }
        match chomp {
            '-' => {}
            '+' => {
                if !body.is_empty() {
                    text.push('\n');
                }
                text.push_str(&"\n".repeat(trailing));
            }
            _ => {
                if !body.is_empty() {
                    text.push('\n');
                }
            }
        }
        Ok(text)
    }

    /// A quoted scalar, possibly spanning lines.
    fn quoted(&mut self, first: &str) -> Result<(Value, Option<String>), Error> {
        let mut text = first.to_owned();
        loop {
            if let Some((value, len)) = quoted_single_line(&text) {
                let rest = text[len..].trim();
                let comment = rest.strip_prefix('#').map(str::to_owned);
                if comment.is_none() && !rest.is_empty() {
                    return Err(self.err("unexpected text after a quoted scalar"));
                }
                return Ok((Value::Str(value), comment));
            }
            let Some(next) = self.lines.get(self.pos) else {
                return Err(self.err("unterminated quoted scalar"));
            };
            let next = next.trim().to_owned();
            self.pos += 1;
            // line folding: a line break becomes a space, blank lines become newlines
            if next.is_empty() {
                text.push('\n');
            } else if text.ends_with('\\') && text.starts_with('"') {
                text.pop();
                text.push_str(&next);
            } else if text.ends_with('\n') {
                text.push_str(&next);
            } else {
                let trimmed = text.trim_end_matches(' ').len();
                text.truncate(trimmed);
                text.push(' ');
                text.push_str(&next);
            }
        }
    }

    /// A flow collection, possibly spanning lines.
    fn flow(&mut self, first: String) -> Result<(Value, Option<String>), Error> {
        let mut text = first;
        loop {
            let mut p = Flow {
                s: text.as_bytes(),
                i: 0,
            };
            if let Some(v) = p.value() {
                let rest = text[p.i..].trim();
                let comment = rest.strip_prefix('#').map(str::to_owned);
                return Ok((v, comment));
            }
            let Some(next) = self.lines.get(self.pos) else {
                return Err(self.err("unterminated flow collection"));
            };
            let (c, _) = split_comment(next.trim());
            text.push(' ');
            text.push_str(c);
            self.pos += 1;
        }
    }
}

fn apply_tag(tag: Option<&str>, value: Value) -> Value {
    let text = |v: &Value| match v {
        Value::Str(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => crate::tree::format_float_g(*f),
        Value::Bool(b) => b.to_string(),
        Value::Null => String::new(),
        _ => String::new(),
    };
    match tag {
        Some("!!str") if !matches!(value, Value::Map(_) | Value::Seq(_)) => {
            Value::Str(text(&value))
        }
        Some("!!int" | "!!float" | "!!bool" | "!!null") => resolve_plain(&text(&value)),
        _ => value,
    }
}

/// A tiny flow-style parser (`[a, "b", {c: d}]`).
struct Flow<'a> {
    s: &'a [u8],
    i: usize,
}

impl Flow<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t') {
            self.i += 1;
        }
    }

    fn value(&mut self) -> Option<Value> {
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
