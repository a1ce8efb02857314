//! The parser: tokens into trees, with Go's grammar and error messages.
#![expect(
    clippy::many_single_char_names,
    reason = "short names mirror the Go originals"
)]

mod literal;
#[cfg(test)]
mod tests;

use literal::{number, unquote};

use crate::ast::{Arg, Branch, Command, Node, Pipe};
use crate::lex::{self, Kind, Token};

/// A parse failure: message and the byte offset of the offending token.
#[derive(Debug)]
pub(crate) struct ParseError {
    pub(crate) msg: String,
    pub(crate) pos: usize,
}

type PResult<T> = Result<T, ParseError>;

/// The result of parsing one text: its own body and the templates it defines.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub(crate) root: Vec<Node>,
    pub(crate) defines: Vec<(String, Vec<Node>)>,
}

struct Parser<'a, 't> {
    toks: Vec<Token<'t>>,
    i: usize,
    has_func: &'a dyn Fn(&str) -> bool,
    vars: Vec<String>,
    range_depth: usize,
    defines: Vec<(String, Vec<Node>)>,
}

/// Parses `text`; `has_func` says whether a function name is defined.
pub(crate) fn parse(text: &str, has_func: &dyn Fn(&str) -> bool) -> PResult<Parsed> {
    let toks = lex::lex(text).map_err(|e| ParseError {
        msg: e.msg,
        pos: e.pos,
    })?;
    let mut p = Parser {
        toks,
        i: 0,
        has_func,
        vars: vec!["$".into()],
        range_depth: 0,
        defines: Vec::new(),
    };
    let mut root = Vec::new();
    while p.peek().kind != Kind::Eof {
        if p.peek().kind == Kind::LeftDelim {
            let save = p.i;
            p.next();
            if p.next_non_space().kind == Kind::Define {
                p.parse_definition()?;
                continue;
            }
            p.i = save;
        }
        match p.text_or_action()? {
            Item::Node(n) => root.push(n),
            Item::End(t) | Item::Else(t) => {
                return Err(ParseError {
                    msg: format!(
                        "unexpected {}",
                        if t.kind == Kind::End {
                            "{{end}}"
                        } else {
                            "{{else}}"
                        }
                    ),
                    pos: t.pos,
                });
            }
        }
    }
    Ok(Parsed {
        root,
        defines: p.defines,
    })
}

enum Item<'t> {
    Node(Node),
    End(Token<'t>),
    Else(Token<'t>),
}

impl<'t> Parser<'_, 't> {
    fn peek(&self) -> &Token<'t> {
        &self.toks[self.i.min(self.toks.len() - 1)]
    }

    fn next(&mut self) -> Token<'t> {
        let t = *self.peek();
        if self.i < self.toks.len() {
            self.i += 1;
        }
        t
    }

    fn next_non_space(&mut self) -> Token<'t> {
        loop {
            let t = self.next();
            if t.kind != Kind::Space {
                return t;
            }
        }
    }

    fn peek_non_space(&mut self) -> Token<'t> {
        let t = self.next_non_space();
        self.i -= 1;
        t
    }

    fn backup(&mut self) {
        self.i -= 1;
    }

    #[expect(clippy::unused_self, reason = "keeps error sites uniform")]
    fn err<T>(&self, pos: usize, msg: impl Into<String>) -> PResult<T> {
        Err(ParseError {
            msg: msg.into(),
            pos,
        })
    }

    fn unexpected<T>(&self, t: &Token<'_>, context: &str) -> PResult<T> {
        self.err(t.pos, format!("unexpected {} in {context}", t.describe()))
    }

    fn expect(&mut self, kind: Kind, context: &str) -> PResult<Token<'t>> {
        let t = self.next_non_space();
        if t.kind != kind {
            return self.unexpected(&t, context);
        }
        Ok(t)
    }

    fn parse_definition(&mut self) -> PResult<()> {
        let t = self.next_non_space();
        if !matches!(t.kind, Kind::String | Kind::RawString) {
            return self.unexpected(&t, "define clause");
        }
        let name = unquote(t.val).map_err(|m| ParseError { msg: m, pos: t.pos })?;
        self.expect(Kind::RightDelim, "define clause")?;
        let saved = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let (list, end) = self.item_list()?;
        self.vars = saved;
        if let Item::Else(t) = end {
            return self.err(t.pos, "unexpected {{else}} in define clause");
        }
        self.defines.push((name, list));
        Ok(())
    }

    fn item_list(&mut self) -> PResult<(Vec<Node>, Item<'t>)> {
        let mut list = Vec::new();
        while self.peek_non_space().kind != Kind::Eof {
            match self.text_or_action()? {
                Item::Node(n) => list.push(n),
                end => return Ok((list, end)),
            }
        }
        let pos = self.peek().pos;
        self.err(pos, "unexpected EOF")
    }

    fn text_or_action(&mut self) -> PResult<Item<'t>> {
        let t = self.next_non_space();
        match t.kind {
            Kind::Text => Ok(Item::Node(Node::Text(t.val.to_string()))),
            Kind::LeftDelim => self.action(),
            _ => self.unexpected(&t, "input"),
        }
    }

    fn action(&mut self) -> PResult<Item<'t>> {
        let t = self.next_non_space();
        match t.kind {
            Kind::Block => return self.block_control(),
            Kind::Break | Kind::Continue => {
                let n = self.next_non_space();
                let name = if t.kind == Kind::Break {
                    "{{break}}"
                } else {
                    "{{continue}}"
                };
                if n.kind != Kind::RightDelim {
                    return self.unexpected(&n, name);
                }
                if self.range_depth == 0 {
                    return self.err(t.pos, format!("{name} outside {{{{range}}}}"));
                }
                return Ok(Item::Node(if t.kind == Kind::Break {
                    Node::Break
                } else {
                    Node::Continue
                }));
            }
            Kind::Else => {
                let p = self.peek_non_space();
                if !matches!(p.kind, Kind::If | Kind::With) {
                    self.expect(Kind::RightDelim, "else")?;
                }
                return Ok(Item::Else(t));
            }
            Kind::End => {
                self.expect(Kind::RightDelim, "end")?;
                return Ok(Item::End(t));
            }
            Kind::If => return Ok(Item::Node(Node::If(self.control("if")?))),
            Kind::Range => return Ok(Item::Node(Node::Range(self.control("range")?))),
            Kind::With => return Ok(Item::Node(Node::With(self.control("with")?))),
            Kind::Template => return self.template_control(),
            _ => {}
        }
        self.backup();
        let pipe = self.pipeline("command", Kind::RightDelim)?;
        Ok(Item::Node(Node::Action(pipe)))
    }

    fn control(&mut self, context: &str) -> PResult<Branch> {
        let nvars = self.vars.len();
        let pipe = self.pipeline(context, Kind::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let (list, next) = self.item_list()?;
        if context == "range" {
            self.range_depth -= 1;
        }
        let mut else_list = None;
        if let Item::Else(_) = next {
            let p = self.peek_non_space();
            if (context == "if" && p.kind == Kind::If)
                || (context == "with" && p.kind == Kind::With)
            {
                self.next_non_space();
                let inner = self.control(context)?;
                else_list = Some(vec![if context == "if" {
                    Node::If(inner)
                } else {
                    Node::With(inner)
                }]);
            } else {
                let (l, end) = self.item_list()?;
                if let Item::Else(t) = end {
                    return self.err(t.pos, "expected end; found {{else}}");
                }
                else_list = Some(l);
            }
        }
        self.vars.truncate(nvars);
        Ok(Branch {
            pipe,
            list,
            else_list,
        })
    }

    fn template_name(&mut self, context: &str) -> PResult<(Token<'t>, String)> {
        let t = self.next_non_space();
        if !matches!(t.kind, Kind::String | Kind::RawString) {
            return self.unexpected(&t, context);
        }
        let name = unquote(t.val).map_err(|m| ParseError { msg: m, pos: t.pos })?;
        Ok((t, name))
    }

    fn template_control(&mut self) -> PResult<Item<'t>> {
        let (t, name) = self.template_name("template clause")?;
        let pipe = if self.next_non_space().kind == Kind::RightDelim {
            None
        } else {
            self.backup();
            Some(self.pipeline("template clause", Kind::RightDelim)?)
        };
        Ok(Item::Node(Node::Template {
            pos: t.pos,
            name,
            pipe,
        }))
    }

    fn block_control(&mut self) -> PResult<Item<'t>> {
        let (t, name) = self.template_name("block clause")?;
        let pipe = self.pipeline("block clause", Kind::RightDelim)?;
        let saved = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let saved_depth = std::mem::replace(&mut self.range_depth, 0);
        let (list, end) = self.item_list()?;
        self.vars = saved;
        self.range_depth = saved_depth;
        if let Item::Else(e) = end {
            return self.err(e.pos, "unexpected {{else}} in block clause");
        }
        self.defines.push((name.clone(), list));
        Ok(Item::Node(Node::Template {
            pos: t.pos,
            name,
            pipe: Some(pipe),
        }))
    }

    fn pipeline(&mut self, context: &str, end: Kind) -> PResult<Pipe> {
        let start = self.peek_non_space();
        let mut pipe = Pipe {
            pos: start.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        loop {
            let v = self.peek_non_space();
            if v.kind != Kind::Variable {
                break;
            }
            let save = self.i;
            self.next_non_space();
            let next = self.peek_non_space();
            match next.kind {
                Kind::Assign | Kind::Declare => {
                    pipe.is_assign = next.kind == Kind::Assign;
                    self.next_non_space();
                    if pipe.is_assign && !self.vars.iter().any(|n| n == v.val) {
                        return self.err(v.pos, format!("undefined variable {:?}", v.val));
                    }
                    pipe.decl.push(v.val.to_string());
                    self.vars.push(v.val.to_string());
                    break;
                }
                Kind::Char if next.val == "," => {
                    self.next_non_space();
                    pipe.decl.push(v.val.to_string());
                    self.vars.push(v.val.to_string());
                    if context == "range" && pipe.decl.len() < 2 {
                        let k = self.peek_non_space().kind;
                        if matches!(k, Kind::Variable | Kind::RightDelim | Kind::RightParen) {
                            continue;
                        }
                        return self.err(next.pos, "range can only initialize variables");
                    }
                    return self.err(next.pos, format!("too many declarations in {context}"));
                }
                _ => {
                    self.i = save;
                    break;
                }
            }
        }
        loop {
            let t = self.next_non_space();
            if t.kind == end {
                self.check_pipeline(&pipe, context, &t)?;
                return Ok(pipe);
            }
            match t.kind {
                Kind::Bool
                | Kind::CharConst
                | Kind::Dot
                | Kind::Field
                | Kind::Identifier
                | Kind::Number
                | Kind::Nil
                | Kind::RawString
                | Kind::String
                | Kind::Variable
                | Kind::LeftParen => {
                    self.backup();
                    let c = self.command()?;
                    pipe.cmds.push(c);
                }
                _ => return self.unexpected(&t, context),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str, t: &Token<'_>) -> PResult<()> {
        if pipe.cmds.is_empty() {
            return self.err(t.pos, format!("missing value for {context}"));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args[0],
                Arg::Bool(..) | Arg::Dot(_) | Arg::Nil(_) | Arg::Number(..) | Arg::Str(..)
            ) {
                return self.err(
                    c.pos,
                    format!("non executable command in pipeline stage {}", i + 1),
                );
            }
        }
        Ok(())
    }

    fn command(&mut self) -> PResult<Command> {
        let pos = self.peek_non_space().pos;
        let mut cmd = Command {
            pos,
            args: Vec::new(),
        };
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand()? {
                cmd.args.push(op);
            }
            let t = self.next();
            match t.kind {
                Kind::Space => {}
                Kind::RightDelim | Kind::RightParen => {
                    self.backup();
                    break;
                }
                Kind::Pipe => break,
                _ => return self.unexpected(&t, "operand"),
            }
        }
        if cmd.args.is_empty() {
            return self.err(pos, "empty command");
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().kind != Kind::Field {
            return Ok(Some(node));
        }
        // Go positions the chain (and a field or variable it extends) at its first
        // chained field: `.a.b` is at `.b`.
        let p = self.peek().pos;
        let mut fields = Vec::new();
        while self.peek().kind == Kind::Field {
            fields.push(self.next().val[1..].to_string());
        }
        Ok(Some(match node {
            Arg::Field(_, mut names) => {
                names.extend(fields);
                Arg::Field(p, names)
            }
            Arg::Variable(_, name, mut f) => {
                f.extend(fields);
                Arg::Variable(p, name, f)
            }
            Arg::Bool(..) | Arg::Str(..) | Arg::Number(..) | Arg::Nil(_) | Arg::Dot(_) => {
                return self.err(
                    node.pos(),
                    format!("unexpected . after term {:?}", node.to_string()),
                );
            }
            other => Arg::Chain(p, Box::new(other), fields),
        }))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let t = self.next_non_space();
        Ok(Some(match t.kind {
            Kind::Identifier => {
                if !(self.has_func)(t.val) {
                    return self.err(t.pos, format!("function {:?} not defined", t.val));
                }
                Arg::Ident(t.pos, t.val.to_string())
            }
            Kind::Dot => Arg::Dot(t.pos),
            Kind::Nil => Arg::Nil(t.pos),
            Kind::Variable => {
                let mut parts = t.val.split('.');
                let name = parts.next().unwrap_or("$").to_string();
                if !self.vars.contains(&name) {
                    return self.err(t.pos, format!("undefined variable {name:?}"));
                }
                Arg::Variable(t.pos, name, parts.map(str::to_string).collect())
            }
            Kind::Field => Arg::Field(t.pos, vec![t.val[1..].to_string()]),
            Kind::Bool => Arg::Bool(t.pos, t.val == "true"),
            Kind::CharConst | Kind::Number => {
                let n = number(&t).map_err(|m| ParseError { msg: m, pos: t.pos })?;
                Arg::Number(t.pos, n)
            }
            Kind::LeftParen => Arg::Pipe(Box::new(
                self.pipeline("parenthesized pipeline", Kind::RightParen)?,
            )),
            Kind::String | Kind::RawString => {
                let s = unquote(t.val).map_err(|m| ParseError { msg: m, pos: t.pos })?;
                Arg::Str(t.pos, t.val.to_string(), s)
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }
}
