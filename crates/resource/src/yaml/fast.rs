//! A fast reader for the block-style YAML that templates, `kubectl` and
//! `kustomize` print: block mappings and sequences, plain, quoted and
//! literal scalars, one-line flow sequences of scalars, comments and `---`
//! separators. It reads those several times faster than the full parser.
//!
//! It never decides anything the full parser would decide differently: on
//! any construct outside that subset, any doubt, and any input the full
//! parser would refuse (or stop at one of its budgets), it returns `None`,
//! and the caller parses the text again with the full parser, which also
//! gives the errors. A plain scalar that could be anything but a string is
//! resolved by the full parser too. A differential fuzz target
//! (`yaml_fast`) holds the two to the same result.

use serde_json::{Map, Value};

/// Deeper nesting is left to the full parser (its limit is 64).
const MAX_DEPTH: usize = 48;
/// More nodes in one text are left to the full parser (its limit is 250,000).
const MAX_NODES: usize = 200_000;
/// More documents in one text are left to the full parser (its limit is 1,024).
const MAX_DOCS: usize = 1_000;
/// A longer implicit key is left to the full parser (YAML's limit is 1,024).
const MAX_KEY: usize = 1_000;
/// A longer text is left to the full parser.
const MAX_TEXT: usize = 64 << 20;

/// Every document of a stream (none for an empty one), or `None` when the
/// full parser must read it.
pub(super) fn stream(text: &str) -> Option<Vec<Value>> {
    let mut reader = Reader::new(text)?;
    let markers = reader.markers()?;
    let mut docs = Vec::new();
    // Content before the first `---` is a document of its own.
    let head_end = markers.first().copied().unwrap_or(reader.lines.len());
    if reader.next_content(0, head_end)?.is_some() {
        docs.push(reader.document(0, head_end)?);
    }
    for (i, &m) in markers.iter().enumerate() {
        let end = markers.get(i + 1).copied().unwrap_or(reader.lines.len());
        // The full parser gives no document at all for an empty one.
        if reader.next_content(m + 1, end)?.is_some() {
            docs.push(reader.document(m + 1, end)?);
        }
    }
    Some(docs)
}

/// The single document of `text`, or `None` when the full parser must read
/// it (also when it holds more than one document).
pub(super) fn one(text: &str) -> Option<Value> {
    let mut reader = Reader::new(text)?;
    let markers = reader.markers()?;
    let end = reader.lines.len();
    let start = match markers[..] {
        [] => 0,
        [m] if reader.next_content(0, m)?.is_none() => m + 1,
        _ => return None,
    };
    // An empty document is the caller's (or the full parser's) to read.
    reader.next_content(start, end)??;
    reader.document(start, end)
}

/// Whether a line is a `---` document start (with nothing after it but a
/// comment); `None` for markers the fast reader leaves to the full parser
/// (`---` with content, `...`, directives).
fn is_doc_start(line: &str) -> Option<bool> {
    if line.starts_with('%') {
        return None;
    }
    for marker in ["---", "..."] {
        if let Some(rest) = line.strip_prefix(marker)
            && (rest.is_empty() || rest.starts_with(' '))
        {
            let rest = rest.trim_start_matches(' ');
            return (marker == "---" && (rest.is_empty() || rest.starts_with('#'))).then_some(true);
        }
    }
    Some(false)
}

struct Reader<'a> {
    lines: Vec<&'a str>,
    /// Index of the text's last line when the text does not end in a line
    /// break (a block scalar ending there is left to the full parser).
    unterminated: Option<usize>,
    nodes: usize,
}

/// Where a node's text starts: a line and the column in it.
#[derive(Clone, Copy)]
struct At {
    line: usize,
    col: usize,
}

impl<'a> Reader<'a> {
    fn new(text: &'a str) -> Option<Self> {
        if text.len() > MAX_TEXT || !printable(text) {
            return None;
        }
        let mut lines: Vec<&str> = text.split('\n').collect();
        let unterminated = if text.ends_with('\n') {
            lines.pop();
            None
        } else {
            Some(lines.len() - 1)
        };
        Some(Self {
            lines,
            unterminated,
            nodes: 0,
        })
    }

    /// The lines that start a document (`---`), or `None` when a line is a
    /// marker the fast reader leaves to the full parser.
    fn markers(&self) -> Option<Vec<usize>> {
        let mut markers = Vec::new();
        for (i, line) in self.lines.iter().enumerate() {
            if is_doc_start(line)? {
                markers.push(i);
            }
        }
        (markers.len() < MAX_DOCS).then_some(markers)
    }

    /// The document between two lines (exclusive of both markers).
    fn document(&mut self, start: usize, end: usize) -> Option<Value> {
        let Some(first) = self.next_content(start, end)? else {
            return Some(Value::Null);
        };
        let indent = indent_of(self.lines[first]);
        let (value, next) = self.block_node(
            At {
                line: first,
                col: indent,
            },
            end,
            0,
        )?;
        if next < end && self.next_content(next, end)?.is_some() {
            return None;
        }
        Some(value)
    }

    /// The first line at or after `from` (before `end`) that is neither blank
    /// nor a comment. `None` (outer) for a line the fast reader does not take
    /// (a tab in its indentation or structure).
    #[expect(
        clippy::option_option,
        reason = "the outer None gives up on the text, the inner one is no line"
    )]
    fn next_content(&self, from: usize, end: usize) -> Option<Option<usize>> {
        for i in from..end {
            let line = self.lines[i];
            let trimmed = line.trim_start_matches(' ');
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            if line.contains('\t') {
                return None;
            }
            return Some(Some(i));
        }
        Some(None)
    }

    fn count(&mut self, depth: usize) -> Option<()> {
        self.nodes += 1;
        (self.nodes <= MAX_NODES && depth <= MAX_DEPTH).then_some(())
    }

    /// A block collection starting at `at`; returns it and the first line
    /// after it.
    fn block_node(&mut self, at: At, end: usize, depth: usize) -> Option<(Value, usize)> {
        let rest = &self.lines[at.line][at.col..];
        if is_seq_entry(rest) {
            self.sequence(at, end, depth)
        } else if key(rest)?.is_some() {
            self.mapping(at, end, depth)
        } else {
            // A scalar where a collection would be (a document that is one
            // scalar) is left to the full parser.
            None
        }
    }

    fn sequence(&mut self, first: At, end: usize, depth: usize) -> Option<(Value, usize)> {
        self.count(depth)?;
        let n = first.col;
        let mut items = Vec::new();
        let mut at = first;
        loop {
            let line = self.lines[at.line];
            let after = &line[at.col + 1..];
            let spaces = after.len() - after.trim_start_matches(' ').len();
            let col = at.col + 1 + spaces;
            let (item, next) = self.value_at(At { line: at.line, col }, end, n, depth + 1)?;
            items.push(item);
            let Some(l) = self.next_content(next, end)? else {
                return Some((Value::Array(items), end));
            };
            let indent = indent_of(self.lines[l]);
            if indent < n || (indent == n && !is_seq_entry(&self.lines[l][n..])) {
                return Some((Value::Array(items), l));
            }
            if indent > n {
                return None;
            }
            at = At { line: l, col: n };
        }
    }

    fn mapping(&mut self, first: At, end: usize, depth: usize) -> Option<(Value, usize)> {
        self.count(depth)?;
        let n = first.col;
        let mut map = Map::new();
        let mut at = first;
        loop {
            let rest = &self.lines[at.line][at.col..];
            let (name, used) = key(rest)??;
            let (value, next) = self.value_at(
                At {
                    line: at.line,
                    col: at.col + used,
                },
                end,
                n,
                depth + 1,
            )?;
            if map.insert(name, value).is_some() {
                // A repeated key: the full parser says what to do.
                return None;
            }
            let Some(l) = self.next_content(next, end)? else {
                return Some((Value::Object(map), end));
            };
            let indent = indent_of(self.lines[l]);
            if indent < n {
                return Some((Value::Object(map), l));
            }
            if indent > n {
                return None;
            }
            at = At { line: l, col: n };
        }
    }

    /// The value after a key's `:` or a `-` (at `at`, possibly after spaces),
    /// in a collection at indentation `n`; returns it and the next line.
    fn value_at(&mut self, at: At, end: usize, n: usize, depth: usize) -> Option<(Value, usize)> {
        let line = self.lines[at.line];
        let rest = line[at.col..].trim_start_matches(' ');
        let col = line.len() - rest.len();
        if rest.is_empty() || rest.starts_with('#') {
            // The value is on the lines below, or null.
            let Some(l) = self.next_content(at.line + 1, end)? else {
                self.count(depth)?;
                return Some((Value::Null, end));
            };
            let indent = indent_of(self.lines[l]);
            let nested = indent > n
                || (indent == n && is_seq_entry(&self.lines[l][n..]) && !self.in_sequence(at, n));
            if !nested {
                self.count(depth)?;
                return Some((Value::Null, at.line + 1));
            }
            let nested = At {
                line: l,
                col: indent,
            };
            let rest = &self.lines[l][indent..];
            if is_seq_entry(rest) || key(rest)?.is_some() {
                return self.block_node(nested, end, depth);
            }
            // A scalar or flow collection on a line of its own.
            return self.inline(nested, end, n, depth);
        }
        // A collection starting on this line: a compact `- - x` or `- k: v`.
        if col > n
            && (is_seq_entry(rest) || (!rest.starts_with(['[', '{', '|']) && key(rest)?.is_some()))
        {
            if !self.in_sequence(at, n) {
                // `k: - x` and `k: k2: v` are errors the full parser reports.
                return None;
            }
            return self.block_node(At { line: at.line, col }, end, depth);
        }
        self.inline(At { line: at.line, col }, end, n, depth)
    }

    /// A scalar or a flow collection starting at `at` (not a space), the
    /// value of a collection at indentation `n`; returns it and the next line.
    fn inline(&mut self, at: At, end: usize, n: usize, depth: usize) -> Option<(Value, usize)> {
        self.count(depth)?;
        let rest = &self.lines[at.line][at.col..];
        let (value, last) = match rest.as_bytes()[0] {
            b'|' => return self.literal(at, end, n),
            b'"' | b'\'' => {
                let (s, last, after) = self.quoted(at, end, n)?;
                trailing_ok(after)?;
                (Value::String(s), last)
            }
            b'[' => (flow_sequence(rest)?, at.line),
            b'{' => {
                trailing_ok(rest.strip_prefix("{}")?)?;
                (Value::Object(Map::new()), at.line)
            }
            _ => self.plain_lines(at, end, n)?,
        };
        // A more indented line below would continue the scalar (or be an
        // error): both are for the full parser.
        if let Some(l) = self.next_content(last + 1, end)?
            && indent_of(self.lines[l]) > n
        {
            return None;
        }
        Some((value, last + 1))
    }

    /// A plain scalar starting at `at`, with the more indented lines that
    /// continue it folded in; its value and its last line.
    fn plain_lines(&self, at: At, end: usize, n: usize) -> Option<(Value, usize)> {
        let rest = &self.lines[at.line][at.col..];
        let first = plain_text(rest)?;
        let commented = first.len() < rest.trim_end_matches(' ').len();
        let mut text: Option<String> = None;
        let mut last = at.line;
        let mut empties = 0;
        for i in at.line + 1..end {
            let line = self.lines[i];
            if line.bytes().all(|b| b == b' ') {
                empties += 1;
                continue;
            }
            let t = line.trim_matches(' ');
            if indent_of(line) <= n || t.starts_with('#') {
                break;
            }
            if commented
                || line.contains('\t')
                || t.contains(" #")
                || t.contains(": ")
                || t.ends_with(':')
            {
                return None;
            }
            let folded = text.get_or_insert_with(|| first.to_owned());
            if empties == 0 {
                folded.push(' ');
            } else {
                folded.extend(std::iter::repeat_n('\n', empties));
            }
            folded.push_str(t);
            empties = 0;
            last = i;
        }
        let value = match text {
            Some(folded) => plain(&folded)?,
            None => plain(first)?,
        };
        Some((value, last))
    }

    /// A quoted scalar starting at `at`, over as many lines as it takes
    /// (each more indented than `n`), folded as YAML folds them: its value,
    /// its last line and what follows it there.
    fn quoted(&self, at: At, end: usize, n: usize) -> Option<(String, usize, &'a str)> {
        let double = self.lines[at.line].as_bytes()[at.col] == b'"';
        let mut out = String::new();
        let mut line = at.line;
        let mut text: &'a str = &self.lines[at.line][at.col + 1..];
        loop {
            // Where the spaces at the end of `out` began, if it ends in
            // spaces of the text (not escapes): a line break drops them.
            let mut spaces_from = None;
            let mut escaped_break = false;
            let mut chars = text.char_indices();
            while let Some((i, c)) = chars.next() {
                match c {
                    '"' if double => return Some((out, line, &text[i + 1..])),
                    '\'' if !double => {
                        if text[i + 1..].starts_with('\'') {
                            chars.next();
                            out.push('\'');
                            spaces_from = None;
                            continue;
                        }
                        return Some((out, line, &text[i + 1..]));
                    }
                    '\\' if double => {
                        let Some((_, e)) = chars.next() else {
                            escaped_break = true;
                            break;
                        };
                        escape(e, &mut chars, &mut out)?;
                        spaces_from = None;
                    }
                    '\t' => return None,
                    ' ' => {
                        spaces_from.get_or_insert(out.len());
                        out.push(' ');
                    }
                    c => {
                        out.push(c);
                        spaces_from = None;
                    }
                }
            }
            if !escaped_break && let Some(from) = spaces_from {
                out.truncate(from);
            }
            let mut empties = 0;
            line += 1;
            while line < end && self.lines[line].bytes().all(|b| b == b' ') {
                empties += 1;
                line += 1;
            }
            let next = *self.lines.get(line).filter(|_| line < end)?;
            if indent_of(next) <= n || next.contains('\t') || (escaped_break && empties > 0) {
                return None;
            }
            if !escaped_break {
                if empties == 0 {
                    out.push(' ');
                } else {
                    out.extend(std::iter::repeat_n('\n', empties));
                }
            }
            text = next.trim_start_matches(' ');
        }
    }

    /// Whether the value at `at` follows a `-` of a sequence at `n` (rather
    /// than a key's `:`).
    fn in_sequence(&self, at: At, n: usize) -> bool {
        let line = self.lines[at.line];
        line.len() > n
            && line.as_bytes()[n] == b'-'
            && line[n + 1..at.col].bytes().all(|b| b == b' ')
    }

    /// A literal block scalar (`|`, `|-`, `|+`) whose header is at `at`, in a
    /// collection at indentation `n`.
    fn literal(&mut self, at: At, end: usize, n: usize) -> Option<(Value, usize)> {
        let header = &self.lines[at.line][at.col + 1..];
        let (keep, strip, rest) = match header.as_bytes().first() {
            Some(b'+') => (true, false, &header[1..]),
            Some(b'-') => (false, true, &header[1..]),
            _ => (false, false, header),
        };
        trailing_ok(rest)?;
        // The first line that is not blank sets the indentation; blank lines
        // before it may not be longer.
        let mut first = None;
        let mut longest_blank = 0;
        for i in at.line + 1..end {
            let line = self.lines[i];
            if line.bytes().all(|b| b == b' ') {
                longest_blank = longest_blank.max(line.len());
                continue;
            }
            first = Some(i);
            break;
        }
        let Some(first) = first.filter(|&f| indent_of(self.lines[f]) > n) else {
            // No content: an empty string (what `|+` keeps is left to the
            // full parser).
            return (!keep).then(|| (Value::String(String::new()), first.unwrap_or(end)));
        };
        let indent = indent_of(self.lines[first]);
        if longest_blank > indent {
            return None;
        }
        let mut content: Vec<&str> = Vec::new();
        let mut next = end;
        for i in at.line + 1..end {
            let line = self.lines[i];
            // A last line without a line break (even a blank one, which
            // `|+` would otherwise keep) is left to the full parser.
            if self.unterminated == Some(i) {
                return None;
            }
            if indent_of(line) >= indent {
                content.push(&line[indent..]);
            } else if line.bytes().all(|b| b == b' ') {
                content.push("");
            } else {
                next = i;
                break;
            }
        }
        let last = content.iter().rposition(|l| !l.is_empty())?;
        let trailing = content.len() - 1 - last;
        let mut s = String::with_capacity(content[..=last].iter().map(|l| l.len() + 1).sum());
        for l in &content[..=last] {
            s.push_str(l);
            s.push('\n');
        }
        if strip {
            s.pop();
        } else if keep {
            s.extend(std::iter::repeat_n('\n', trailing));
        }
        Some((Value::String(s), next))
    }
}

/// Whether `text` holds only characters YAML allows in a stream (and no
/// carriage return, byte order mark or line separator, which the fast reader
/// leaves to the full parser).
fn printable(text: &str) -> bool {
    text.chars().all(|c| match c {
        '\t'
        | '\n'
        | '\u{20}'..='\u{7e}'
        | '\u{a0}'..='\u{2027}'
        | '\u{202a}'..='\u{d7ff}'
        | '\u{e000}'..='\u{fefe}'
        | '\u{ff00}'..='\u{fffd}' => true,
        c => c >= '\u{10000}',
    })
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// Whether the text at a node's start is a block sequence entry (`-` then a
/// space or the end of the line).
fn is_seq_entry(rest: &str) -> bool {
    rest == "-" || rest.starts_with("- ")
}

/// The key at the start of `rest` and the bytes up to and including its
/// `:`; `Some(None)` when `rest` is not a key; `None` when it is a key the
/// fast reader leaves to the full parser.
#[expect(
    clippy::option_option,
    reason = "the outer None gives up on the text, the inner one is no key"
)]
fn key(rest: &str) -> Option<Option<(String, usize)>> {
    let bytes = rest.as_bytes();
    match bytes.first() {
        None => return Some(None),
        Some(b'"' | b'\'') => {
            let quoted = if bytes[0] == b'"' {
                double_quoted(rest)
            } else {
                single_quoted(rest)
            };
            let Some((name, used)) = quoted else {
                // Not closed on its line: a multi-line scalar, never a key.
                return Some(None);
            };
            let after = &rest[used..];
            return if after == ":" || after.starts_with(": ") {
                (used < MAX_KEY).then_some(Some((name, used + 1)))
            } else if trailing_ok(after).is_some() {
                // A quoted scalar, not a key.
                Some(None)
            } else {
                None
            };
        }
        // Not a plain key (a sequence entry, a flow collection, a block
        // scalar, …): at a collection's start that makes the fast reader
        // give up, and as a value each is read as such.
        Some(b) if b"-?:,[]{}#&*!|>%@`".contains(b) => return Some(None),
        Some(_) => {}
    }
    let mut i = 0;
    let colon = loop {
        match memchr_colon(&bytes[i..]) {
            None => return Some(None),
            Some(j) => {
                let p = i + j;
                if p + 1 == bytes.len() || bytes[p + 1] == b' ' {
                    break p;
                }
                i = p + 1;
            }
        }
    };
    let name = rest[..colon].trim_end_matches(' ');
    if name.contains(" #") || special(name) || name == "<<" || colon >= MAX_KEY {
        return None;
    }
    Some(Some((name.to_owned(), colon + 1)))
}

fn memchr_colon(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b':')
}

/// The text of a plain scalar at the start of `rest`, without a trailing
/// comment; `None` when it is not one the fast reader takes.
fn plain_text(rest: &str) -> Option<&str> {
    let first = *rest.as_bytes().first()?;
    if b"?:,[]{}#&*!|>%@`'\"".contains(&first) || is_seq_entry(rest) {
        return None;
    }
    let text = match rest.find(" #") {
        Some(i) => &rest[..i],
        None => rest,
    };
    let text = text.trim_end_matches(' ');
    if text.is_empty() || text.contains(": ") || text.ends_with(':') {
        return None;
    }
    Some(text)
}

/// Whether a plain scalar might resolve to something other than a string
/// (a number, boolean or null), so that the full parser must resolve it.
fn special(s: &str) -> bool {
    let Some(&first) = s.as_bytes().first() else {
        return true;
    };
    if first.is_ascii_alphabetic() {
        return s.len() <= 8
            && [
                "y", "yes", "n", "no", "true", "false", "on", "off", "null", "inf", "infinity",
                "nan",
            ]
            .iter()
            .any(|k| s.eq_ignore_ascii_case(k));
    }
    first.is_ascii_digit() || b"+-._~".contains(&first)
}

/// A plain scalar's value.
fn plain(s: &str) -> Option<Value> {
    // A plain scalar folded over lines with an empty one between is never a
    // number, boolean or null (and read alone it would fold again).
    if !special(s) || s.contains('\n') {
        return Some(Value::String(s.to_owned()));
    }
    if let Some(n) = small_int(s) {
        return Some(n);
    }
    if s.starts_with("---") || s.starts_with("...") || s == "-" {
        return None;
    }
    serde_saphyr::from_str::<Value>(s).ok()
}

/// `0`, or a decimal integer without a leading zero and with at most 18
/// digits, as the full parser reads it.
fn small_int(s: &str) -> Option<Value> {
    let (negative, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s),
    };
    let ok = !digits.is_empty()
        && digits.len() <= 18
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    if !ok || (negative && digits == "0") {
        return None;
    }
    let v: u64 = digits.parse().ok()?;
    Some(if negative {
        Value::from(-i64::try_from(v).ok()?)
    } else {
        Value::from(v)
    })
}

/// After a scalar or a block scalar header: nothing, or a comment after at
/// least one space.
fn trailing_ok(rest: &str) -> Option<()> {
    let trimmed = rest.trim_start_matches(' ');
    (trimmed.is_empty() || (trimmed.starts_with('#') && trimmed.len() < rest.len())).then_some(())
}

/// A double-quoted scalar on one line at the start of `rest`: its value and
/// the bytes it takes.
fn double_quoted(rest: &str) -> Option<(String, usize)> {
    let mut out = String::new();
    let mut chars = rest.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, i + 1)),
            '\\' => {
                let (_, e) = chars.next()?;
                escape(e, &mut chars, &mut out)?;
            }
            c => out.push(c),
        }
    }
    // Not closed on this line: a multi-line scalar, for the full parser.
    None
}

/// Appends what the escape `\e` of a double-quoted scalar stands for,
/// reading its hex digits from `chars`; `None` for an escape the fast reader
/// leaves to the full parser.
fn escape(
    e: char,
    chars: &mut impl Iterator<Item = (usize, char)>,
    out: &mut String,
) -> Option<()> {
    let simple = match e {
        '0' => Some('\0'),
        'a' => Some('\u{7}'),
        'b' => Some('\u{8}'),
        't' | '\t' => Some('\t'),
        'n' => Some('\n'),
        'v' => Some('\u{b}'),
        'f' => Some('\u{c}'),
        'r' => Some('\r'),
        'e' => Some('\u{1b}'),
        ' ' => Some(' '),
        '"' => Some('"'),
        '/' => Some('/'),
        '\\' => Some('\\'),
        'N' => Some('\u{85}'),
        '_' => Some('\u{a0}'),
        'L' => Some('\u{2028}'),
        'P' => Some('\u{2029}'),
        _ => None,
    };
    if let Some(c) = simple {
        out.push(c);
        return Some(());
    }
    let len = match e {
        'x' => 2,
        'u' => 4,
        'U' => 8,
        _ => return None,
    };
    let mut code = 0u32;
    for _ in 0..len {
        let (_, h) = chars.next()?;
        code = code * 16 + h.to_digit(16)?;
    }
    out.push(char::from_u32(code)?);
    Some(())
}

/// A single-quoted scalar on one line at the start of `rest`: its value and
/// the bytes it takes.
fn single_quoted(rest: &str) -> Option<(String, usize)> {
    let mut out = String::new();
    let bytes = rest.as_bytes();
    let mut start = 1;
    let mut i = 1;
    while i < bytes.len() {
        if bytes[i] == b'\'' {
            out.push_str(&rest[start..i]);
            if bytes.get(i + 1) == Some(&b'\'') {
                out.push('\'');
                i += 2;
                start = i;
                continue;
            }
            return Some((out, i + 1));
        }
        i += 1;
    }
    None
}

/// A flow sequence of scalars on one line (`[a, "b", 3]`), or `None`.
fn flow_sequence(rest: &str) -> Option<Value> {
    let mut items = Vec::new();
    let mut s = rest[1..].trim_start_matches(' ');
    if let Some(after) = s.strip_prefix(']') {
        trailing_ok(after)?;
        return Some(Value::Array(items));
    }
    loop {
        let (item, used) = match s.as_bytes().first()? {
            b'"' => {
                let (v, used) = double_quoted(s)?;
                (Value::String(v), used)
            }
            b'\'' => {
                let (v, used) = single_quoted(s)?;
                (Value::String(v), used)
            }
            _ => {
                let end = s.find([',', ']'])?;
                let text = s[..end].trim_end_matches(' ');
                if text.is_empty()
                    || text.contains([':', '#', '[', '{', '}'])
                    || b"?,&*!|>%@`'\"".contains(&text.as_bytes()[0])
                    || text.starts_with("- ")
                {
                    return None;
                }
                (plain(text)?, end)
            }
        };
        items.push(item);
        s = s[used..].trim_start_matches(' ');
        match s.as_bytes().first()? {
            b',' => {
                s = s[1..].trim_start_matches(' ');
                if s.starts_with(']') || s.is_empty() {
                    return None;
                }
            }
            b']' => {
                trailing_ok(&s[1..])?;
                return Some(Value::Array(items));
            }
            _ => return None,
        }
    }
}
