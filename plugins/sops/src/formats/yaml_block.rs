//! Multi-line scalars of the YAML reader: block scalars, quoted and plain continuations, flow
//! collections.

use super::yaml_lex::{Flow, indent_of, quoted_single_line, split_comment};
use super::yaml_parse::Parser;
use crate::Error;
use crate::tree::Value;

impl Parser {
    /// Appends the continuation lines of a multi-line plain scalar.
    pub(super) fn plain_continuation(&mut self, text: &mut String, parent: usize) {
        let mut blank = 0;
        let mut j = self.pos;
        while j < self.lines.len() {
            let line = &self.lines[j];
            if line.trim().is_empty() {
                blank += 1;
                j += 1;
                continue;
            }
            if indent_of(line) <= parent || line.trim_start().starts_with('#') {
                break;
            }
            let (content, _) = split_comment(line.trim());
            if blank > 0 {
                text.push_str(&"\n".repeat(blank));
            } else {
                text.push(' ');
            }
            text.push_str(content);
            blank = 0;
            j += 1;
            self.pos = j;
        }
    }

    pub(super) fn block_scalar(&mut self, header: &str, parent: usize) -> Result<String, Error> {
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
            if ind < ci || ind <= parent {
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
    pub(super) fn quoted(&mut self, first: &str) -> Result<(Value, Option<String>), Error> {
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
    pub(super) fn flow(&mut self, first: String) -> Result<(Value, Option<String>), Error> {
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
