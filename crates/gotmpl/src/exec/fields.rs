//! Field chains (`.a.b`, `$x.c`, `(pipe).d`) and writing map changes back.

use std::borrow::Cow;
use std::rc::Rc;

use super::{Base, Exec, R};
use crate::ast::Arg;
use crate::value::Value;

impl Exec<'_> {
    /// Go's `evalFieldChain`: looks `names` up from `base`, borrowing until a value
    /// must be produced (maps are not copied on the way down).
    #[expect(clippy::too_many_arguments, reason = "mirrors Go's evalFieldChain")]
    pub(super) fn eval_field_chain(
        &mut self,
        dot: &mut Rc<Value>,
        base: &Base,
        node: &Arg,
        names: &[String],
        args: &[Arg],
        final_: Option<&Value>,
        top_typed: bool,
    ) -> R<Value> {
        let ctx = node.to_string();
        let pos = node.pos();
        let has_args = !args.is_empty() || final_.is_some();
        // Method arguments apply to the last name only; evaluate them first so the
        // walk below can borrow the receiver.
        let mut method_args = Vec::new();
        for x in args {
            method_args.push(self.eval_arg(dot, x)?);
        }
        if let Some(f) = final_ {
            method_args.push(f.clone());
        }
        let root: &Value = match base {
            Base::Dot => dot,
            Base::Var(name) => self.var_ref(name),
            Base::Owned(v) => v,
        };
        let n = names.len();
        let mut from_map = !top_typed;
        let mut recv: Cow<'_, Value> = Cow::Borrowed(root);
        for (i, name) in names.iter().enumerate() {
            let last = i + 1 == n;
            let has_args = last && has_args;
            let typ = if from_map && !matches!(*recv, Value::Object(_)) {
                "interface {}".to_string()
            } else {
                recv.type_name()
            };
            let obj = match &*recv {
                Value::Object(o) => Some(std::sync::Arc::clone(o)),
                _ => None,
            };
            let next: Cow<'_, Value> = match recv {
                Cow::Borrowed(Value::Map(m)) => {
                    if has_args {
                        return Err(self.error(
                            pos,
                            &ctx,
                            format!("{name} is not a method but has arguments"),
                        ));
                    }
                    match m.get(name) {
                        Some(v) => Cow::Borrowed(v),
                        None => Cow::Owned(self.missing_key(pos, &ctx, name)?),
                    }
                }
                Cow::Owned(Value::Map(mut m)) => {
                    if has_args {
                        return Err(self.error(
                            pos,
                            &ctx,
                            format!("{name} is not a method but has arguments"),
                        ));
                    }
                    match m.remove(name) {
                        Some(v) => Cow::Owned(v),
                        None => Cow::Owned(self.missing_key(pos, &ctx, name)?),
                    }
                }
                Cow::Borrowed(Value::Nil) | Cow::Owned(Value::Nil) => {
                    if i == 0 && !from_map {
                        if self.set.strict {
                            return Err(self.error(
                                pos,
                                &ctx,
                                format!("nil data; no entry for key {name:?}"),
                            ));
                        }
                        return Ok(Value::Nil);
                    }
                    return Err(self.error(
                        pos,
                        &ctx,
                        format!("nil pointer evaluating interface {{}}.{name}"),
                    ));
                }
                Cow::Borrowed(Value::Object(_)) | Cow::Owned(Value::Object(_)) => {
                    let Some(o) = obj else {
                        return Err(self.error(pos, &ctx, "internal error: lost object receiver"));
                    };
                    let margs: &[Value] = if last { &method_args } else { &[] };
                    if let Some(r) = o.call(name, margs) {
                        Cow::Owned(r.map_err(|e| {
                            self.error(pos, &ctx, format!("error calling {name}: {e}"))
                        })?)
                    } else if let Some(v) = o.field(name) {
                        if has_args {
                            return Err(self.error(
                                pos,
                                &ctx,
                                format!("{name} has arguments but cannot be invoked as function"),
                            ));
                        }
                        Cow::Owned(v)
                    } else {
                        return Err(self.error(
                            pos,
                            &ctx,
                            format!("can't evaluate field {name} in type {typ}"),
                        ));
                    }
                }
                _ => {
                    return Err(self.error(
                        pos,
                        &ctx,
                        format!("can't evaluate field {name} in type {typ}"),
                    ));
                }
            };
            recv = next;
            from_map = true;
        }
        Ok(recv.into_owned())
    }

    fn missing_key(&self, pos: usize, ctx: &str, name: &str) -> R<Value> {
        if self.set.strict {
            return Err(self.error(pos, ctx, format!("map has no entry for key {name:?}")));
        }
        Ok(Value::Nil)
    }

    /// After `{{ template "x" PIPE }}` or `{{ with PIPE }}` changed its data: if PIPE
    /// is a plain variable, field or dot, store the change there.
    pub(super) fn write_back_changed(
        &mut self,
        dot: &mut Rc<Value>,
        pipe: &crate::ast::Pipe,
        after: &Rc<Value>,
    ) {
        if pipe.decl.is_empty() && pipe.cmds.len() == 1 && pipe.cmds[0].args.len() == 1 {
            self.write_back(dot, &pipe.cmds[0].args[0], (**after).clone());
        }
    }

    /// Go maps are references: functions such as `set` change their argument in
    /// place. Values here are copied, so the result is stored back where the
    /// argument came from (a variable or a field path from dot), and into every
    /// variable (and dot) that shared the changed value.
    pub(super) fn write_back(&mut self, dot: &mut Rc<Value>, target: &Arg, new: Value) {
        let (old, updated): (Rc<Value>, Rc<Value>) = match target {
            Arg::Variable(_, name, fields) => {
                let Some(i) = self.vars.iter().rposition(|(n, _)| n == name) else {
                    return;
                };
                let old = Rc::clone(&self.vars[i].1);
                let mut v = Rc::clone(&old);
                set_path(Rc::make_mut(&mut v), fields, new);
                (old, v)
            }
            Arg::Field(_, names) => {
                let old = Rc::clone(dot);
                let mut v = Rc::clone(&old);
                set_path(Rc::make_mut(&mut v), names, new);
                (old, v)
            }
            Arg::Dot(_) => (Rc::clone(dot), Rc::new(new)),
            _ => return,
        };
        for slot in &mut self.vars {
            if Rc::ptr_eq(&slot.1, &old) {
                slot.1 = Rc::clone(&updated);
            }
        }
        if Rc::ptr_eq(dot, &old) {
            *dot = updated;
        }
    }
}

fn set_path(root: &mut Value, path: &[String], new: Value) {
    let mut cur = root;
    for p in path {
        let Value::Map(m) = cur else { return };
        let Some(next) = m.get_mut(p) else { return };
        cur = next;
    }
    *cur = new;
}
