//! The lexer: template text into tokens, as Go's text/template/parse lexes it.

#[cfg(test)]
mod tests;

/// Kinds of token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Text,
    LeftDelim,
    RightDelim,
    Space,
    Field,
    Variable,
    Identifier,
    Dot,
    Number,
    String,
    RawString,
    CharConst,
    Bool,
    Nil,
    Pipe,
    LeftParen,
    RightParen,
    Declare,
    Assign,
    /// Any other printable ASCII character inside an action (`,`, `}` ...).
    Char,
    Block,
    Break,
    Continue,
    Define,
    Else,
    End,
    If,
    Range,
    Template,
    With,
    Eof,
}

/// One token: kind, text (a slice of the input, so tokens copy freely) and
/// byte offset in the input.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Token<'t> {
    pub(crate) kind: Kind,
    pub(crate) val: &'t str,
    pub(crate) pos: usize,
}

impl Token<'_> {
    /// How Go's parser names the token in "unexpected X" messages.
    pub(crate) fn describe(&self) -> String {
        match self.kind {
            Kind::Eof => "EOF".into(),
            Kind::Block
            | Kind::Break
            | Kind::Continue
            | Kind::Define
            | Kind::Else
            | Kind::End
            | Kind::If
            | Kind::Range
            | Kind::Template
            | Kind::With => format!("<{}>", self.val),
            _ => format!("{:?}", self.val),
        }
    }
}

/// A lexing error: message and byte offset.
#[derive(Debug)]
pub(crate) struct LexError {
    pub(crate) msg: String,
    pub(crate) pos: usize,
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

struct Lexer<'a> {
    input: &'a str,
    pos: usize,
    tokens: Vec<Token<'a>>,
    paren_depth: usize,
}

/// Splits `input` into tokens; the last is always `Eof`.
pub(crate) fn lex(input: &str) -> Result<Vec<Token<'_>>, LexError> {
    let mut l = Lexer {
        input,
        pos: 0,
        tokens: Vec::new(),
        paren_depth: 0,
    };
    l.run()?;
    Ok(l.tokens)
}

impl<'a> Lexer<'a> {
    fn rest(&self) -> &'a str {
        &self.input[self.pos..]
    }

    fn emit(&mut self, kind: Kind, start: usize) {
        self.tokens.push(Token {
            kind,
            val: &self.input[start..self.pos],
            pos: start,
        });
    }

    fn err<T>(&self, msg: impl Into<String>) -> Result<T, LexError> {
        Err(LexError {
            msg: msg.into(),
            pos: self.pos,
        })
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn run(&mut self) -> Result<(), LexError> {
        let mut trim_next = false;
        loop {
            let start = self.pos;
            let found = self.rest().find("{{");
            let text_end = found.map_or(self.input.len(), |i| self.pos + i);
            let left_trim = found.is_some() && {
                let after = &self.input[text_end + 2..];
                after.len() >= 2 && after.as_bytes()[0] == b'-' && is_space(after.as_bytes()[1])
            };
            let mut text = &self.input[start..text_end];
            let mut text_start = start;
            if trim_next {
                let trimmed = text.trim_start_matches([' ', '\t', '\r', '\n']);
                text_start += text.len() - trimmed.len();
                text = trimmed;
            }
            if left_trim {
                text = text.trim_end_matches([' ', '\t', '\r', '\n']);
            }
            if !text.is_empty() {
                self.tokens.push(Token {
                    kind: Kind::Text,
                    val: text,
                    pos: text_start,
                });
            }
            let Some(_) = found else {
                self.pos = self.input.len();
                self.emit(Kind::Eof, self.pos);
                return Ok(());
            };
            self.pos = text_end;
            trim_next = self.lex_action(left_trim)?;
        }
    }

    /// Lexes one action starting at `{{`; returns whether it ended with a trim marker.
    fn lex_action(&mut self, left_trim: bool) -> Result<bool, LexError> {
        let start = self.pos;
        self.pos += 2;
        let delim_start = start;
        if left_trim {
            self.pos += 2;
        }
        // Comments.
        if self.rest().starts_with("/*") {
            let Some(end) = self.rest().find("*/") else {
                return self.err("unclosed comment");
            };
            self.pos += end + 2;
            if let Some(trim) = self.at_right_delim() {
                self.pos += if trim { 4 } else { 2 };
                return Ok(trim);
            }
            return self.err("comment ends before closing delimiter");
        }
        self.tokens.push(Token {
            kind: Kind::LeftDelim,
            val: "{{",
            pos: delim_start,
        });
        self.paren_depth = 0;
        loop {
            if let Some(trim) = self.at_right_delim() {
                if self.paren_depth > 0 {
                    return self.err("unclosed left paren");
                }
                let s = self.pos;
                if trim {
                    self.pos += 2;
                }
                let d = self.pos;
                self.pos += 2;
                self.tokens.push(Token {
                    kind: Kind::RightDelim,
                    val: "}}",
                    pos: if trim { d } else { s },
                });
                return Ok(trim);
            }
            let Some(c) = self.peek() else {
                return self.err("unclosed action");
            };
            let s = self.pos;
            match c {
                ' ' | '\t' | '\r' | '\n' => {
                    while let Some(b) = self.rest().bytes().next() {
                        if !is_space(b) || self.at_right_delim() == Some(true) {
                            break;
                        }
                        self.pos += 1;
                    }
                    self.emit(Kind::Space, s);
                }
                '=' => {
                    self.pos += 1;
                    self.emit(Kind::Assign, s);
                }
                ':' => {
                    if !self.rest().starts_with(":=") {
                        return self.err("expected :=");
                    }
                    self.pos += 2;
                    self.emit(Kind::Declare, s);
                }
                '|' => {
                    self.pos += 1;
                    self.emit(Kind::Pipe, s);
                }
                '"' => self.lex_quote('"', Kind::String, "unterminated quoted string")?,
                '\'' => self.lex_quote('\'', Kind::CharConst, "unterminated character constant")?,
                '`' => {
                    let Some(end) = self.rest()[1..].find('`') else {
                        return self.err("unterminated raw quoted string");
                    };
                    self.pos += end + 2;
                    self.emit(Kind::RawString, s);
                }
                '$' => {
                    self.pos += 1;
                    self.lex_word(Kind::Variable, s)?;
                }
                '.' => {
                    if self.rest()[1..].starts_with(|c: char| c.is_ascii_digit()) {
                        self.lex_number(s)?;
                    } else {
                        self.pos += 1;
                        if self.peek().is_some_and(is_alnum) {
                            self.lex_word(Kind::Field, s)?;
                        } else {
                            self.emit(Kind::Dot, s);
                        }
                    }
                }
                '+' | '-' | '0'..='9' => self.lex_number(s)?,
                '(' => {
                    self.pos += 1;
                    self.paren_depth += 1;
                    self.emit(Kind::LeftParen, s);
                }
                ')' => {
                    self.pos += 1;
                    if self.paren_depth == 0 {
                        return self.err("unexpected right paren");
                    }
                    self.paren_depth -= 1;
                    self.emit(Kind::RightParen, s);
                }
                c if is_alnum(c) => {
                    self.lex_word(Kind::Identifier, s)?;
                    let kind = match &self.input[s..self.pos] {
                        "block" => Kind::Block,
                        "break" => Kind::Break,
                        "continue" => Kind::Continue,
                        "define" => Kind::Define,
                        "else" => Kind::Else,
                        "end" => Kind::End,
                        "if" => Kind::If,
                        "range" => Kind::Range,
                        "template" => Kind::Template,
                        "with" => Kind::With,
                        "true" | "false" => Kind::Bool,
                        "nil" => Kind::Nil,
                        _ => Kind::Identifier,
                    };
                    if let Some(t) = self.tokens.last_mut() {
                        t.kind = kind;
                    }
                }
                c if c.is_ascii() && !c.is_ascii_control() => {
                    self.pos += 1;
                    self.emit(Kind::Char, s);
                }
                c => {
                    return self.err(format!(
                        "unrecognized character in action: U+{:04X} '{c}'",
                        u32::from(c)
                    ));
                }
            }
        }
    }

    /// `Some(trim)` when the input is at `}}` or ` -}}`.
    fn at_right_delim(&self) -> Option<bool> {
        let r = self.rest().as_bytes();
        if r.len() >= 4 && is_space(r[0]) && r[1] == b'-' && r[2] == b'}' && r[3] == b'}' {
            return Some(true);
        }
        if r.starts_with(b"}}") {
            return Some(false);
        }
        None
    }

    fn at_terminator(&self) -> bool {
        match self.peek() {
            None => true,
            Some(c) => {
                matches!(
                    c,
                    ' ' | '\t' | '\r' | '\n' | '.' | ',' | '|' | ':' | ')' | '('
                ) || self.rest().starts_with("}}")
            }
        }
    }

    fn lex_word(&mut self, kind: Kind, start: usize) -> Result<(), LexError> {
        while let Some(c) = self.peek() {
            if !is_alnum(c) {
                break;
            }
            self.pos += c.len_utf8();
        }
        if !self.at_terminator() {
            let c = self.peek().unwrap_or(' ');
            return self.err(format!("bad character U+{:04X} '{c}'", u32::from(c)));
        }
        self.emit(kind, start);
        Ok(())
    }

    fn lex_quote(&mut self, q: char, kind: Kind, unterminated: &str) -> Result<(), LexError> {
        let s = self.pos;
        self.pos += 1;
        loop {
            let Some(c) = self.peek() else {
                return self.err(unterminated);
            };
            self.pos += c.len_utf8();
            if c == '\\' {
                match self.peek() {
                    Some(n) if n != '\n' => self.pos += n.len_utf8(),
                    _ => return self.err(unterminated),
                }
            } else if c == '\n' {
                return self.err(unterminated);
            } else if c == q {
                break;
            }
        }
        self.emit(kind, s);
        Ok(())
    }

    fn accept(&mut self, set: &str) -> bool {
        match self.peek() {
            Some(c) if set.contains(c) => {
                self.pos += 1;
                true
            }
            _ => false,
        }
    }

    fn accept_run(&mut self, set: &str) {
        while self.accept(set) {}
    }

    fn lex_number(&mut self, s: usize) -> Result<(), LexError> {
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        if self.peek().is_some_and(is_alnum) {
            self.pos += self.peek().map_or(1, char::len_utf8);
            return self.err(format!("bad number syntax: {:?}", &self.input[s..self.pos]));
        }
        self.emit(Kind::Number, s);
        Ok(())
    }
}

/// 1-based line of byte offset `pos` in `text`.
pub(crate) fn line_of(text: &str, pos: usize) -> usize {
    1 + text.as_bytes()[..pos.min(text.len())]
        .split(|b| *b == b'\n')
        .count()
        - 1
}

/// 0-based byte column of `pos` within its line, as Go's `ErrorContext` counts it.
pub(crate) fn col_of(text: &str, pos: usize) -> usize {
    let before = &text[..pos.min(text.len())];
    match before.rfind('\n') {
        Some(i) => pos - (i + 1),
        None => pos,
    }
}
