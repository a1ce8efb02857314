//! Field chains (`.a.b`, `$x.c`, `(pipe).d`).

use std::rc::Rc;

use super::{Base, Exec, R};
use crate::ast::Arg;
use crate::value::{Map, Value};
use crate::yamlv2::{V2, to_yaml};

impl Exec<'_> {
    /// Go's `evalFieldChain`: looks `names` up from `base` (map values are handles,
    /// so nothing is copied on the way down).
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
        let mut recv: Value = match base {
            Base::Dot => (**dot).clone(),
            Base::Var(name) => self.var(name),
            Base::Owned(v) => v.clone(),
        };
        let n = names.len();
        let mut from_map = !top_typed || self.is_typed_nil(base, dot);
        for (i, name) in names.iter().enumerate() {
            let last = i + 1 == n;
            let has_args = last && has_args;
            let typ = if from_map && !matches!(recv, Value::Object(_)) {
                "interface {}".to_string()
            } else {
                recv.type_name()
            };
            let next = match &recv {
                Value::Map(m) if m.is_helm_values() && VALUES_METHODS.contains(&name.as_str()) => {
                    let margs: &[Value] = if last { &method_args } else { &[] };
                    let want = usize::from(name == "Table");
                    if margs.len() != want {
                        return Err(self.error(
                            pos,
                            &ctx,
                            format!(
                                "wrong number of args for {name}: want {want} got {}",
                                margs.len()
                            ),
                        ));
                    }
                    values_method(m, name, margs)
                        .map_err(|e| self.error(pos, &ctx, format!("error calling {name}: {e}")))?
                }
                Value::Map(m) => {
                    if has_args {
                        return Err(self.error(
                            pos,
                            &ctx,
                            format!("{name} is not a method but has arguments"),
                        ));
                    }
                    match m.get(name) {
                        Some(v) => v,
                        None => self.missing_key(pos, &ctx, name)?,
                    }
                }
                Value::Nil => {
                    // Go's untyped nil (dot, a variable or a parenthesized pipeline
                    // that is nil): no field of it is an error, the chain is nil.
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
                Value::Object(o) => {
                    let margs: &[Value] = if last { &method_args } else { &[] };
                    if let Some(r) = o.call(name, margs) {
                        r.map_err(|e| self.error(pos, &ctx, format!("error calling {name}: {e}")))?
                    } else if let Some(v) = o.field(name) {
                        if has_args {
                            return Err(self.error(
                                pos,
                                &ctx,
                                format!("{name} has arguments but cannot be invoked as function"),
                            ));
                        }
                        v
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
        Ok(recv)
    }

    fn missing_key(&self, pos: usize, ctx: &str, name: &str) -> R<Value> {
        if self.set.strict {
            return Err(self.error(pos, ctx, format!("map has no entry for key {name:?}")));
        }
        Ok(Value::Nil)
    }
}

/// The methods of Helm's `common.Values` a template can call (`Encode` wants an
/// `io.Writer`, which no template has).
const VALUES_METHODS: &[&str] = &["AsMap", "YAML", "Table"];

/// Calls a method of Helm's `common.Values` on `m` (with as many arguments as it takes).
fn values_method(m: &Map, name: &str, args: &[Value]) -> Result<Value, String> {
    match name {
        "AsMap" => Ok(Value::Map(m.as_plain())),
        "YAML" => Ok(Value::String(to_yaml(&Value::Map(m.as_plain()), V2))),
        _ => {
            let Value::String(path) = &args[0] else {
                return Err(format!(
                    "wrong type for value; expected string; got {}",
                    args[0].type_name()
                ));
            };
            // Helm's `Table`: each dot-separated step must name a map.
            let mut table = m.as_plain();
            for step in path.split('.') {
                match table.get(step) {
                    Some(Value::Map(next)) => table = next.as_plain(),
                    _ => return Err(format!("{step:?} is not a table")),
                }
            }
            Ok(Value::Map(table.as_helm_values()))
        }
    }
}
