//! The executor: walks a parsed template with Go's evaluation rules.

mod fields;
#[cfg(test)]
mod tests;

use std::cell::RefCell;
use std::collections::HashMap;

use crate::ast::{Arg, Branch, Command, Node, Pipe};
use crate::error::Error;
use crate::fmt::format_value;
use crate::funcs::{Arity, Ctx, FuncError, MUTATORS};
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
    /// The data an `include` left changed (Go maps are shared; ours are copied back).
    pub(crate) changed_root: RefCell<Option<Value>>,
}

impl Shared {
    pub(crate) fn new(seed: u64) -> Shared {
        Shared {
            rng: RefCell::new(Rng::new(seed)),
            included: RefCell::new(HashMap::new()),
            depth: RefCell::new(0),
            changed_root: RefCell::new(None),
        }
    }
}

/// Runs template `name` of `set` with `data`, appending to `out`; returns the final
/// value of `$` (changed when the template used `set` and friends on its data).
pub(crate) fn run(
    set: &Templates,
    shared: &Shared,
    name: &str,
    data: &Value,
    out: &mut String,
) -> Result<Value, Error> {
    let Some(def) = set.defs.get(name) else {
        return Err(Error::no_template(name, ROOT_NAME));
    };
    let mut ex = Exec {
        set,
        shared,
        def,
        name,
        vars: vec![("$".into(), data.clone())],
    };
    let mut dot = data.clone();
    ex.walk_list(&mut dot, &def.list, out)?;
    Ok(ex.vars.swap_remove(0).1)
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
    vars: Vec<(String, Value)>,
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

    fn walk_list(&mut self, dot: &mut Value, list: &[Node], out: &mut String) -> R<Flow> {
        for n in list {
            let f = self.walk(dot, n, out)?;
            if f != Flow::Normal {
                return Ok(f);
            }
        }
        Ok(Flow::Normal)
    }

    fn walk(&mut self, dot: &mut Value, node: &Node, out: &mut String) -> R<Flow> {
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
                        let mut d = v.clone();
                        let f = self.walk_list(&mut d, &b.list, out)?;
                        self.write_back_changed(dot, &b.pipe, &v, d);
                        f
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
                    Some(p) => self.eval_pipeline(dot, p)?,
                    None => Value::Nil,
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
                    vars: vec![("$".into(), data.clone())],
                };
                let mut d = data.clone();
                let r = ex.walk_list(&mut d, &def.list, out);
                *self.shared.depth.borrow_mut() -= 1;
                r?;
                let root = ex.vars.swap_remove(0).1;
                if let Some(p) = pipe {
                    self.write_back_changed(dot, p, &data, root);
                }
            }
            Node::Break => return Ok(Flow::Break),
            Node::Continue => return Ok(Flow::Continue),
        }
        Ok(Flow::Normal)
    }

    fn walk_range(&mut self, dot: &mut Value, b: &Branch, out: &mut String) -> R<Flow> {
        let mark = self.vars.len();
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let items: Vec<(Value, Value)> = match &val {
            Value::List(l) => l
                .iter()
                .enumerate()
                .map(|(i, v)| (Value::Int(i64::try_from(i).unwrap_or(i64::MAX)), v.clone()))
                .collect(),
            Value::Map(m) => m
                .iter()
                .map(|(k, v)| (Value::String(k.clone()), v.clone()))
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
            Value::Nil => Vec::new(),
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
            if !b.pipe.decl.is_empty() && !b.pipe.is_assign {
                let n = b.pipe.decl.len();
                if n >= 1 {
                    self.vars[top - 1].1 = v.clone();
                }
                if n >= 2 {
                    self.vars[top - 2].1 = k.clone();
                }
            } else if b.pipe.is_assign {
                let n = b.pipe.decl.len();
                if n == 1 {
                    self.set_var(&b.pipe.decl[0], v.clone());
                } else if n == 2 {
                    self.set_var(&b.pipe.decl[0], k.clone());
                    self.set_var(&b.pipe.decl[1], v.clone());
                }
            }
            let mut d = v.clone();
            let f = self.walk_list(&mut d, &b.list, out)?;
            self.vars.truncate(top);
            if f == Flow::Break {
                break;
            }
        }
        self.vars.truncate(mark);
        Ok(Flow::Normal)
    }

    fn set_var(&mut self, name: &str, v: Value) {
        if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == name) {
            slot.1 = v;
        }
    }

    fn var_ref(&self, name: &str) -> &Value {
        const NIL: &Value = &Value::Nil;
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map_or(NIL, |(_, v)| v)
    }

    fn var(&self, name: &str) -> Value {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    fn eval_pipeline(&mut self, dot: &mut Value, pipe: &Pipe) -> R<Value> {
        let mut value: Option<Value> = None;
        for cmd in &pipe.cmds {
            value = Some(self.eval_command(dot, cmd, value)?);
        }
        let v = value.unwrap_or_default();
        for name in &pipe.decl {
            if pipe.is_assign {
                self.set_var(name, v.clone());
            } else {
                self.vars.push((name.clone(), v.clone()));
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

    fn eval_command(&mut self, dot: &mut Value, cmd: &Command, final_: Option<Value>) -> R<Value> {
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
                self.eval_field_chain(
                    dot,
                    &Base::Owned(recv),
                    first,
                    names,
                    &cmd.args[1..],
                    final_.as_ref(),
                    false,
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

    fn eval_arg(&mut self, dot: &mut Value, arg: &Arg) -> R<Value> {
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
                self.eval_field_chain(dot, &Base::Owned(recv), arg, names, &[], None, false)
            }
            Arg::Dot(_) => Ok(dot.clone()),
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

    fn eval_function(
        &mut self,
        dot: &mut Value,
        name: &str,
        cmd: &Command,
        args: &[Arg],
        final_: Option<Value>,
    ) -> R<Value> {
        let ctx = cmd.to_string();
        let Some(def) = self.set.funcs.get(name) else {
            return Err(self.error(cmd.pos, &ctx, format!("{name:?} is not a defined function")));
        };
        let nargs = args.len() + usize::from(final_.is_some());
        match def.arity {
            Arity::Exact(n) if n != nargs => {
                return Err(self.error(
                    cmd.pos,
                    &ctx,
                    format!("wrong number of args for {name}: want {n} got {nargs}"),
                ));
            }
            Arity::AtLeast(n) if nargs < n => {
                return Err(self.error(
                    cmd.pos,
                    &ctx,
                    format!("wrong number of args for {name}: want at least {n} got {nargs}"),
                ));
            }
            _ => {}
        }
        if name == "and" || name == "or" {
            let mut v = Value::Nil;
            for a in args {
                v = self.eval_arg(dot, a)?;
                if v.truthy() == (name == "or") {
                    return Ok(v);
                }
            }
            if let Some(f) = final_ {
                v = f;
            }
            return Ok(v);
        }
        let mut values = Vec::with_capacity(nargs);
        for a in args {
            values.push(self.eval_arg(dot, a)?);
        }
        if let Some(f) = final_ {
            values.push(f);
        }
        let fctx = Ctx {
            set: self.set,
            shared: self.shared,
        };
        let result = (def.f)(&fctx, values).map_err(|e| match e {
            FuncError::Call(m) => self.error(cmd.pos, &ctx, format!("error calling {name}: {m}")),
            FuncError::Fail(m) => self
                .error(cmd.pos, &ctx, format!("error calling {name}: {m}"))
                .with_failure(Some(m)),
            FuncError::Nested(prefix, inner) => {
                let failure = inner.failure().map(str::to_string);
                self.error(
                    cmd.pos,
                    &ctx,
                    format!("error calling {name}: {prefix}{inner}"),
                )
                .with_failure(failure)
            }
            FuncError::Arg(i, m) => match args.get(i) {
                Some(a) => self.error(a.pos(), &a.to_string(), m),
                None => self.error(cmd.pos, &ctx, m),
            },
        })?;
        if name == "include" {
            let changed = self.shared.changed_root.borrow_mut().take();
            if let (Some(root), Some(target)) = (changed, args.get(1)) {
                self.write_back(dot, target, root);
            }
        }
        if MUTATORS.contains(&name)
            && let (Some(target), Value::Map(_)) = (args.first(), &result)
        {
            self.write_back(dot, target, result.clone());
        }
        Ok(result)
    }
}

/// Prints an action's value: nil as `<no value>`, else as `%v`.
fn print_value(v: &Value, out: &mut String) {
    match v {
        Value::Nil => out.push_str("<no value>"),
        Value::String(s) => out.push_str(s),
        other => out.push_str(&format_value(other)),
    }
}
