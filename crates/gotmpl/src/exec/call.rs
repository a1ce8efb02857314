//! Function calls, with `and`/`or` short-circuiting and `include`/`tpl` sharing data.

use std::rc::Rc;

use super::{Exec, R};
use crate::ast::{Arg, Command};
use crate::error::Error;
use crate::funcs::{Arity, Ctx, FuncError};
use crate::value::Value;

impl Exec<'_> {
    pub(super) fn eval_function(
        &mut self,
        dot: &mut Rc<Value>,
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
        if name == "include" || name == "tpl" {
            return self.eval_include(dot, name, cmd, args, final_);
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
        let result =
            (def.f)(&fctx, values).map_err(|e| self.func_error(name, cmd, args, &ctx, e))?;
        Ok(result)
    }

    /// `include` and `tpl`, which get their data without a copy.
    fn eval_include(
        &mut self,
        dot: &mut Rc<Value>,
        name: &str,
        cmd: &Command,
        args: &[Arg],
        final_: Option<Value>,
    ) -> R<Value> {
        let ctx = cmd.to_string();
        let (first, data) = match (args, final_) {
            ([a, b], None) => (self.eval_arg(dot, a)?, self.eval_arg_rc(dot, b)?),
            ([a], Some(f)) => (self.eval_arg(dot, a)?, Rc::new(f)),
            (_, f) => (f.unwrap_or_default(), Rc::new(Value::Nil)),
        };
        let fctx = Ctx {
            set: self.set,
            shared: self.shared,
        };
        let r = if name == "include" {
            crate::funcs::include(&fctx, &first, &data)
        } else {
            crate::funcs::tpl(&fctx, &first, &data)
        };
        r.map_err(|e| self.func_error(name, cmd, args, &ctx, e))
    }

    fn eval_arg_rc(&mut self, dot: &mut Rc<Value>, arg: &Arg) -> R<Rc<Value>> {
        Ok(match arg {
            Arg::Dot(_) => self.untyped(Rc::clone(dot)),
            Arg::Variable(_, name, fields) if fields.is_empty() => self.untyped(self.var_rc(name)),
            _ => Rc::new(self.eval_arg(dot, arg)?),
        })
    }

    fn func_error(
        &self,
        name: &str,
        cmd: &Command,
        args: &[Arg],
        ctx: &str,
        e: FuncError,
    ) -> Error {
        match e {
            FuncError::Call(m) => self.error(cmd.pos, ctx, format!("error calling {name}: {m}")),
            FuncError::Fail(m) => self
                .error(cmd.pos, ctx, format!("error calling {name}: {m}"))
                .with_failure(Some(m)),
            FuncError::Nested(prefix, inner) => {
                let failure = inner.failure().map(str::to_string);
                self.error(
                    cmd.pos,
                    ctx,
                    format!("error calling {name}: {prefix}{inner}"),
                )
                .with_failure(failure)
            }
            FuncError::Arg(i, m) => match args.get(i) {
                Some(a) => self.error(a.pos(), &a.to_string(), m),
                None => self.error(cmd.pos, ctx, m),
            },
        }
    }
}
