//! The executor: walks a parsed template with Go's evaluation rules.

mod call;
mod fields;
#[cfg(test)]
mod tests;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::ast::{Arg, Branch, Command, Node, Pipe};
use crate::error::Error;
use crate::fmt::format_value;
use crate::lex;
use crate::rng::Rng;
use crate::templates::{Def, ROOT_NAME, Templates};
use crate::value::Value;

/// Go limits template nesting to 100000; a Rust stack allows far less.
pub(crate) const MAX_DEPTH: usize = 200;

/// State shared by one `execute` call and everything it includes.
pub(crate) struct Shared {
    pub(crate) rng: RefCell<Rng>,
    pub(crate) included: RefCell<HashMap<String, usize>>,
    pub(crate) depth: RefCell<usize>,
    /// Dot or a variable holding exactly this is Go's nil `interface {}` (a nil
    /// element reached by `range`), whose fields are an error; any other nil is
    /// Go's untyped nil, whose fields are nil.
    pub(crate) typed_nil: Rc<Value>,
}

impl Shared {
    pub(crate) fn new(seed: [u8; 32], stream: u64) -> Shared {
        Shared {
            rng: RefCell::new(Rng::new(seed, stream)),
            included: RefCell::new(HashMap::new()),
            depth: RefCell::new(0),
            typed_nil: Rc::new(Value::Nil),
        }
    }
}

/// Runs template `name` of `set` with `data`, appending to `out`.
pub(crate) fn run(
    set: &Templates,
    shared: &Shared,
    name: &str,
    data: &Rc<Value>,
    out: &mut String,
) -> Result<(), Error> {
    let Some(def) = set.defs.get(name) else {
        return Err(Error::no_template(name, ROOT_NAME));
    };
    let mut ex = Exec {
        set,
        shared,
        def,
        name,
        vars: vec![("$".into(), Rc::clone(data))],
    };
    let mut dot = Rc::clone(data);
    ex.walk_list(&mut dot, &def.list, out)?;
    Ok(())
}

/// Where a field chain starts.
enum Base {
    Dot,
    Var(String),
    Owned(Value),
}

#[derive(PartialEq, Eq)]
enum Flow {
    Normal,
    Break,
    Continue,
}

struct Exec<'a> {
    set: &'a Templates,
    shared: &'a Shared,
    def: &'a Def,
    name: &'a str,
    vars: Vec<(String, Rc<Value>)>,
}

type R<T> = Result<T, Error>;

impl Exec<'_> {
    fn error(&self, pos: usize, context: &str, msg: impl Into<String>) -> Error {
        let text = &self.def.text;
        Error::exec(
            &self.def.parse_name,
            lex::line_of(text, pos),
            lex::col_of(text, pos),
            self.name,
            context,
            msg.into(),
        )
    }

    fn walk_list(&mut self, dot: &mut Rc<Value>, list: &[Node], out: &mut String) -> R<Flow> {
        for n in list {
            let f = self.walk(dot, n, out)?;
            if f != Flow::Normal {
                return Ok(f);
            }
        }
        Ok(Flow::Normal)
    }

    fn walk(&mut self, dot: &mut Rc<Value>, node: &Node, out: &mut String) -> R<Flow> {
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Action(pipe) => {
                let v = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    print_value(&v, out);
                }
            }
            Node::If(b) | Node::With(b) => {
                let is_with = matches!(node, Node::With(_));
                let mark = self.vars.len();
                let v = self.eval_pipeline(dot, &b.pipe)?;
                let flow = if v.truthy() {
                    if is_with {
                        let mut d = Rc::new(v);
                        self.walk_list(&mut d, &b.list, out)?
                    } else {
                        self.walk_list(dot, &b.list, out)?
                    }
                } else if let Some(e) = &b.else_list {
                    self.walk_list(dot, e, out)?
                } else {
                    Flow::Normal
                };
                self.vars.truncate(mark);
                return Ok(flow);
            }
            Node::Range(b) => return self.walk_range(dot, b, out),
            Node::Template { pos, name, pipe } => {
                let data = match pipe {
                    Some(p) => self.eval_pipeline_rc(dot, p)?,
                    None => Rc::new(Value::Nil),
                };
                let ctx = format!(
                    "{{{{template {name:?}{}}}}}",
                    pipe.as_ref().map_or(String::new(), |p| format!(" {p}"))
                );
                let Some(def) = self.set.defs.get(name) else {
                    return Err(self.error(*pos, &ctx, format!("template {name:?} not defined")));
                };
                let depth = *self.shared.depth.borrow();
                if depth >= MAX_DEPTH {
                    return Err(self.error(
                        *pos,
                        &ctx,
                        format!("exceeded maximum template depth ({MAX_DEPTH})"),
                    ));
                }
                *self.shared.depth.borrow_mut() += 1;
                let mut ex = Exec {
                    set: self.set,
                    shared: self.shared,
                    def,
                    name,
                    vars: vec![("$".into(), Rc::clone(&data))],
                };
                let mut d = Rc::clone(&data);
                let r = ex.walk_list(&mut d, &def.list, out);
                *self.shared.depth.borrow_mut() -= 1;
                r?;
            }
            Node::Break => return Ok(Flow::Break),
            Node::Continue => return Ok(Flow::Continue),
        }
        Ok(Flow::Normal)
    }

    fn walk_range(&mut self, dot: &mut Rc<Value>, b: &Branch, out: &mut String) -> R<Flow> {
        let mark = self.vars.len();
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let items: Vec<(Value, Value)> = match &val {
            Value::List(l) => l
                .iter()
                .enumerate()
                .map(|(i, v)| (Value::Int(i64::try_from(i).unwrap_or(i64::MAX)), v.clone()))
                .collect(),
            Value::Map(m) => m
                .entries()
                .into_iter()
                .map(|(k, v)| (Value::String(k), v))
                .collect(),
            Value::Int(n) => {
                if b.pipe.decl.len() > 1 {
                    return Err(self.error(
                        b.pipe.pos,
                        &b.pipe.to_string(),
                        format!("can't use {n} to iterate over more than one variable"),
                    ));
                }
                (0..*n).map(|i| (Value::Int(i), Value::Int(i))).collect()
            }
            Value::Int64(n) => {
                if b.pipe.decl.len() > 1 {
                    return Err(self.error(
                        b.pipe.pos,
                        &b.pipe.to_string(),
                        format!("can't use {n} to iterate over more than one variable"),
                    ));
                }
                (0..*n)
                    .map(|i| (Value::Int64(i), Value::Int64(i)))
                    .collect()
            }
            Value::Nil => Vec::new(),
            // A Go map type with methods (Helm's `.Files.Glob`) ranges as its map.
            Value::Object(o) if matches!(o.to_value(), Some(Value::Map(_))) => match o.to_value() {
                Some(Value::Map(m)) => m
                    .entries()
                    .into_iter()
                    .map(|(k, v)| (Value::String(k), v))
                    .collect(),
                _ => Vec::new(),
            },
            Value::Object(o) if o.list().is_some() => o
                .list()
                .unwrap_or_default()
                .into_iter()
                .enumerate()
                .map(|(i, v)| (Value::Int(i64::try_from(i).unwrap_or(i64::MAX)), v))
                .collect(),
            other => {
                return Err(self.error(
                    b.pipe.pos,
                    &b.pipe.to_string(),
                    format!("range can't iterate over {}", format_value(other)),
                ));
            }
        };
        if items.is_empty() {
            let flow = match &b.else_list {
                Some(e) => self.walk_list(dot, e, out)?,
                None => Flow::Normal,
            };
            self.vars.truncate(mark);
            return Ok(flow);
        }
        let top = self.vars.len();
        for (k, v) in items {
            let elem = if v.is_nil() {
                Rc::clone(&self.shared.typed_nil)
            } else {
                Rc::new(v)
            };
            if !b.pipe.decl.is_empty() && !b.pipe.is_assign {
                let n = b.pipe.decl.len();
                if n >= 1 {
                    self.vars[top - 1].1 = Rc::clone(&elem);
                }
                if n >= 2 {
                    self.vars[top - 2].1 = Rc::new(k.clone());
                }
            } else if b.pipe.is_assign {
                let n = b.pipe.decl.len();
                if n == 1 {
                    self.set_var(&b.pipe.decl[0], Rc::clone(&elem));
                } else if n == 2 {
                    self.set_var(&b.pipe.decl[0], Rc::new(k.clone()));
                    self.set_var(&b.pipe.decl[1], Rc::clone(&elem));
                }
            }
            let mut d = elem;
            let f = self.walk_list(&mut d, &b.list, out)?;
            self.vars.truncate(top);
            if f == Flow::Break {
                break;
            }
        }
        self.vars.truncate(mark);
        Ok(Flow::Normal)
    }

    fn set_var(&mut self, name: &str, v: Rc<Value>) {
        if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == name) {
            slot.1 = v;
        }
    }

    fn var_rc(&self, name: &str) -> Rc<Value> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map_or_else(|| Rc::new(Value::Nil), |(_, v)| Rc::clone(v))
    }

    /// A pipeline's value as Go's `evalPipeline` leaves it: a nil `interface {}`
    /// becomes untyped nil.
    fn untyped(&self, v: Rc<Value>) -> Rc<Value> {
        if Rc::ptr_eq(&v, &self.shared.typed_nil) {
            Rc::new(Value::Nil)
        } else {
            v
        }
    }

    /// Whether dot or variable `name` holds a nil `interface {}` (see [`Shared`]).
    fn is_typed_nil(&self, base: &Base, dot: &Rc<Value>) -> bool {
        match base {
            Base::Dot => Rc::ptr_eq(dot, &self.shared.typed_nil),
            Base::Var(name) => Rc::ptr_eq(&self.var_rc(name), &self.shared.typed_nil),
            Base::Owned(_) => false,
        }
    }

    fn var(&self, name: &str) -> Value {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| (**v).clone())
            .unwrap_or_default()
    }

    fn eval_pipeline(&mut self, dot: &mut Rc<Value>, pipe: &Pipe) -> R<Value> {
        if !pipe.decl.is_empty() {
            let v = self.eval_pipeline_rc(dot, pipe)?;
            return Ok((*v).clone());
        }
        let mut value: Option<Value> = None;
        for cmd in &pipe.cmds {
            value = Some(self.eval_command(dot, cmd, value)?);
        }
        Ok(value.unwrap_or_default())
    }

    /// A pipeline's value without copying it when it is just `.` or a variable (so
    /// `$x := .` shares the data, as Go's maps are shared); declares its variables.
    fn eval_pipeline_rc(&mut self, dot: &mut Rc<Value>, pipe: &Pipe) -> R<Rc<Value>> {
        let v = match pipe.cmds.as_slice() {
            [c] if c.args.len() == 1 => match &c.args[0] {
                Arg::Dot(_) => self.untyped(Rc::clone(dot)),
                Arg::Variable(_, name, fields) if fields.is_empty() => {
                    self.untyped(self.var_rc(name))
                }
                _ => Rc::new(self.eval_command(dot, c, None)?),
            },
            cmds => {
                let mut value: Option<Value> = None;
                for cmd in cmds {
                    value = Some(self.eval_command(dot, cmd, value)?);
                }
                Rc::new(value.unwrap_or_default())
            }
        };
        for name in &pipe.decl {
            if pipe.is_assign {
                self.set_var(name, Rc::clone(&v));
            } else {
                self.vars.push((name.clone(), Rc::clone(&v)));
            }
        }
        Ok(v)
    }

    fn not_a_function(&self, cmd: &Command, final_: Option<&Value>) -> R<()> {
        if cmd.args.len() > 1 || final_.is_some() {
            let a = &cmd.args[0];
            return Err(self.error(
                a.pos(),
                &a.to_string(),
                format!("can't give argument to non-function {a}"),
            ));
        }
        Ok(())
    }

    fn eval_command(
        &mut self,
        dot: &mut Rc<Value>,
        cmd: &Command,
        final_: Option<Value>,
    ) -> R<Value> {
        let first = &cmd.args[0];
        match first {
            Arg::Field(_, names) => self.eval_field_chain(
                dot,
                &Base::Dot,
                first,
                names,
                &cmd.args[1..],
                final_.as_ref(),
                true,
            ),
            Arg::Chain(_, node, names) => {
                if matches!(**node, Arg::Nil(_)) {
                    return Err(self.error(
                        first.pos(),
                        &first.to_string(),
                        format!("indirection through explicit nil in {first}"),
                    ));
                }
                let recv = self.eval_arg(dot, node)?;
                // A parenthesized pipeline yields Go's untyped nil (no error on a
                // field of it); a function's nil result is a nil `interface {}`.
                let untyped = matches!(**node, Arg::Pipe(_));
                self.eval_field_chain(
                    dot,
                    &Base::Owned(recv),
                    first,
                    names,
                    &cmd.args[1..],
                    final_.as_ref(),
                    untyped,
                )
            }
            Arg::Ident(_, name) => self.eval_function(dot, name, cmd, &cmd.args[1..], final_),
            Arg::Pipe(p) => {
                self.not_a_function(cmd, final_.as_ref())?;
                self.eval_pipeline(dot, p)
            }
            Arg::Variable(_, name, fields) => {
                if fields.is_empty() {
                    self.not_a_function(cmd, final_.as_ref())?;
                    return Ok(self.var(name));
                }
                self.eval_field_chain(
                    dot,
                    &Base::Var(name.clone()),
                    first,
                    fields,
                    &cmd.args[1..],
                    final_.as_ref(),
                    true,
                )
            }
            Arg::Nil(p) => Err(self.error(*p, "nil", "nil is not a command")),
            _ => {
                self.not_a_function(cmd, final_.as_ref())?;
                self.eval_arg(dot, first)
            }
        }
    }

    fn eval_arg(&mut self, dot: &mut Rc<Value>, arg: &Arg) -> R<Value> {
        match arg {
            Arg::Field(_, names) => {
                self.eval_field_chain(dot, &Base::Dot, arg, names, &[], None, true)
            }
            Arg::Variable(_, name, fields) => {
                if fields.is_empty() {
                    Ok(self.var(name))
                } else {
                    self.eval_field_chain(
                        dot,
                        &Base::Var(name.clone()),
                        arg,
                        fields,
                        &[],
                        None,
                        true,
                    )
                }
            }
            Arg::Pipe(p) => self.eval_pipeline(dot, p),
            Arg::Ident(_, name) => {
                let cmd = Command {
                    pos: arg.pos(),
                    args: vec![arg.clone()],
                };
                self.eval_function(dot, name, &cmd, &[], None)
            }
            Arg::Chain(_, node, names) => {
                let recv = self.eval_arg(dot, node)?;
                let untyped = matches!(**node, Arg::Pipe(_));
                self.eval_field_chain(dot, &Base::Owned(recv), arg, names, &[], None, untyped)
            }
            Arg::Dot(_) => Ok((**dot).clone()),
            Arg::Nil(_) => Ok(Value::Nil),
            Arg::Bool(_, b) => Ok(Value::Bool(*b)),
            Arg::Str(_, _, s) => Ok(Value::String(s.clone())),
            Arg::Number(p, n) => {
                if n.is_float {
                    Ok(Value::Float(n.float.unwrap_or_default()))
                } else if let Some(i) = n.int {
                    Ok(Value::Int(i))
                } else {
                    Err(self.error(*p, &n.text, format!("{} overflows int", n.text)))
                }
            }
        }
    }
}

/// Prints an action's value: nil as `<no value>`, else as `%v`.
fn print_value(v: &Value, out: &mut String) {
    match v {
        Value::Nil => out.push_str("<no value>"),
        Value::String(s) => out.push_str(s),
        Value::Object(o) => match o.print() {
            Some(text) => out.push_str(&text),
            None => out.push_str(&format_value(v)),
        },
        other => out.push_str(&format_value(other)),
    }
}
