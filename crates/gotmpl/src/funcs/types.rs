//! Sprig's defaults, emptiness and type inspection.

use crate::funcs::conv::{empty, want_bool, want_str};
use crate::funcs::{FuncError, Registry, at, ex};
use crate::value::{Value, deep_equal};

pub(crate) fn register(r: &mut Registry) {
    r.add("default", at(1), |_, a| {
        Ok(match a.get(1) {
            Some(v) if !empty(v) => v.clone(),
            _ => a[0].clone(),
        })
    });
    r.add("empty", ex(1), |_, a| Ok(Value::Bool(empty(&a[0]))));
    r.add("coalesce", at(0), |_, a| {
        Ok(a.into_iter().find(|v| !empty(v)).unwrap_or_default())
    });
    r.add("all", at(0), |_, a| {
        Ok(Value::Bool(a.iter().all(|v| !empty(v))))
    });
    r.add("any", at(0), |_, a| {
        Ok(Value::Bool(a.iter().any(|v| !empty(v))))
    });
    r.add("ternary", ex(3), |_, a| {
        Ok(if want_bool(&a, 2)? {
            a[0].clone()
        } else {
            a[1].clone()
        })
    });
    r.add("typeOf", ex(1), |_, a| Ok(Value::String(a[0].type_name())));
    r.add("kindOf", ex(1), |_, a| {
        Ok(Value::String(a[0].kind_name().to_string()))
    });
    r.add("typeIs", ex(2), |_, a| {
        Ok(Value::Bool(want_str(&a, 0)? == a[1].type_name()))
    });
    r.add("typeIsLike", ex(2), |_, a| {
        let t = want_str(&a, 0)?;
        let n = a[1].type_name();
        Ok(Value::Bool(t == n || format!("*{t}") == n))
    });
    r.add("kindIs", ex(2), |_, a| {
        Ok(Value::Bool(want_str(&a, 0)? == a[1].kind_name()))
    });
    r.add("deepEqual", ex(2), |_, a| {
        Ok(Value::Bool(deep_equal(&a[0], &a[1])))
    });
    r.add("fail", ex(1), |_, a| Err(FuncError::Fail(want_str(&a, 0)?)));
}
