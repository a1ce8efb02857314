//! A block-YAML reader for files sops writes: mappings, sequences, quoted, plain, block and flow
//! scalars, anchors and aliases, with full-line and trailing comments kept as tree items.

use std::collections::HashMap;

use super::yaml_lex::{indent_of, split_comment, split_key};
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

pub(super) struct Parser {
    pub(super) lines: Vec<String>,
    pub(super) pos: usize,
    base: usize,
    anchors: HashMap<String, Value>,
}

impl Parser {
    fn line_no(&self) -> usize {
        self.base + self.pos + 1
    }

    pub(super) fn err(&self, message: &str) -> Error {
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
    pub(super) fn next_node_line(&self, from: usize) -> Option<usize> {
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
            let nested = self.next_node_line(self.pos).filter(|&j| {
                let l = &self.lines[j];
                let ind = indent_of(l);
                let is_seq = l[ind..] == *"-" || l[ind..].starts_with("- ");
                ind > parent || (in_mapping && ind == parent && is_seq)
            });
            let value = if let Some(j) = nested {
                let lead: Vec<String> = leading.into_iter().map(|c| c.2).collect();
                self.block(indent_of(&self.lines[j]), Some(lead))?
            } else {
                self.pos = leading.first().map_or(self.pos, |c| c.0);
                Value::Null
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
                let next = rest[end..].trim_start().to_owned();
                text = next;
            } else if text.starts_with('!') {
                let end = text.find(' ').unwrap_or(text.len());
                tag = Some(text[..end].to_owned());
                let next = text[end..].trim_start().to_owned();
                text = next;
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
            if comment.is_none() {
                self.plain_continuation(&mut s, parent);
            }
            (resolve_plain(&s), comment.map(str::to_owned))
        };
        let value = apply_tag(tag.as_deref(), value);
        if let Some(a) = anchor {
            self.anchors.insert(a, value.clone());
        }
        Ok((value, comment))
    }
}

fn apply_tag(tag: Option<&str>, value: Value) -> Value {
    let text = |v: &Value| match v {
        Value::Str(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => crate::tree::format_float_g(*f),
        Value::Bool(b) => b.to_string(),
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
