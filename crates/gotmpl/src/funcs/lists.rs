//! Sprig's list functions and their `must` forms.

use crate::funcs::conv::{check_built, empty, idx, len_i64, to_i64, want_int};
use crate::funcs::{Ctx, FResult, FuncError, Registry, at, ex};
use crate::value::{Value, deep_equal};

type ListOp = fn(&[Value], &[Value]) -> Result<Value, String>;

/// The elements of a Go slice: a list, or a host object that is a slice (such as
/// `.Capabilities.APIVersions`, a `[]string`).
fn as_list<'a>(v: &'a Value, what: &str) -> Result<std::borrow::Cow<'a, [Value]>, String> {
    match v {
        Value::List(l) => Ok(std::borrow::Cow::Borrowed(l)),
        Value::Object(o) => match o.list() {
            Some(l) => Ok(std::borrow::Cow::Owned(l)),
            None => Err(format!("Cannot {what} on type {}", v.kind_name())),
        },
        other => Err(format!("Cannot {what} on type {}", other.kind_name())),
    }
}

/// Registers `name` and `mustName` for an operation on a list (arg 0) and the rest.
macro_rules! pair {
    ($r:expr, $name:literal, $must:literal, $arity:expr, $op:expr) => {
        $r.add($name, $arity, |_: &Ctx<'_>, a: Vec<Value>| -> FResult {
            let op: ListOp = $op;
            op(&a[..1], &a[1..]).map_err(FuncError::Call)
        });
        $r.add($must, $arity, |_: &Ctx<'_>, a: Vec<Value>| -> FResult {
            let op: ListOp = $op;
            op(&a[..1], &a[1..]).map_err(FuncError::Call)
        });
    };
}

pub(crate) fn register(r: &mut Registry) {
    r.add("list", at(0), |_, a| Ok(Value::List(a)));
    r.add("tuple", at(0), |_, a| Ok(Value::List(a)));
    pair!(r, "first", "mustFirst", ex(1), |l, _| {
        Ok(as_list(&l[0], "find first")?
            .first()
            .cloned()
            .unwrap_or_default())
    });
    pair!(r, "last", "mustLast", ex(1), |l, _| {
        Ok(as_list(&l[0], "find last")?
            .last()
            .cloned()
            .unwrap_or_default())
    });
    pair!(r, "rest", "mustRest", ex(1), |l, _| {
        let v = as_list(&l[0], "find rest")?;
        Ok(Value::List(
            v.get(1..).map(<[Value]>::to_vec).unwrap_or_default(),
        ))
    });
    pair!(r, "initial", "mustInitial", ex(1), |l, _| {
        let v = as_list(&l[0], "find initial")?;
        Ok(Value::List(v[..v.len().saturating_sub(1)].to_vec()))
    });
    pair!(r, "append", "mustAppend", ex(2), |l, rest| {
        let mut v = as_list(&l[0], "push")?.to_vec();
        v.push(rest[0].clone());
        Ok(Value::List(v))
    });
    pair!(r, "push", "mustPush", ex(2), |l, rest| {
        let mut v = as_list(&l[0], "push")?.to_vec();
        v.push(rest[0].clone());
        Ok(Value::List(v))
    });
    pair!(r, "prepend", "mustPrepend", ex(2), |l, rest| {
        let mut v = vec![rest[0].clone()];
        v.extend_from_slice(&as_list(&l[0], "prepend")?);
        Ok(Value::List(v))
    });
    pair!(r, "reverse", "mustReverse", ex(1), |l, _| {
        let mut v = as_list(&l[0], "find reverse")?.to_vec();
        v.reverse();
        Ok(Value::List(v))
    });
    pair!(r, "uniq", "mustUniq", ex(1), |l, _| {
        let mut out: Vec<Value> = Vec::new();
        for e in as_list(&l[0], "find uniq")?.iter() {
            if !out.iter().any(|o| deep_equal(o, e)) {
                out.push(e.clone());
            }
        }
        Ok(Value::List(out))
    });
    pair!(r, "without", "mustWithout", at(1), |l, rest| {
        let v = as_list(&l[0], "find without")?;
        Ok(Value::List(
            v.iter()
                .filter(|e| !rest.iter().any(|o| deep_equal(o, e)))
                .cloned()
                .collect(),
        ))
    });
    pair!(r, "compact", "mustCompact", ex(1), |l, _| {
        let v = as_list(&l[0], "compact")?;
        Ok(Value::List(
            v.iter().filter(|e| !empty(e)).cloned().collect(),
        ))
    });
    pair!(r, "slice", "mustSlice", at(1), |l, rest| {
        let v = as_list(&l[0], "slice")?;
        let start = rest.first().map_or(0, to_i64);
        let end = rest.get(1).map_or(len_i64(v.len()), to_i64);
        if start < 0 || end < start || idx(end) > v.len() {
            return Err(format!("slice bounds out of range [{start}:{end}]"));
        }
        Ok(Value::List(v[idx(start)..idx(end)].to_vec()))
    });
    r.add("has", ex(2), has);
    r.add("mustHas", ex(2), has);
    r.add("concat", at(0), |_, a| {
        let mut out = Vec::new();
        for l in &a {
            match l {
                Value::List(v) => out.extend_from_slice(v),
                other => {
                    return Err(FuncError::Call(format!(
                        "Cannot concat type {} as list",
                        other.kind_name()
                    )));
                }
            }
        }
        Ok(Value::List(out))
    });
    r.add("chunk", ex(2), chunk);
    r.add("mustChunk", ex(2), chunk);
    r.add("until", ex(1), |_, a| {
        let n = want_int(&a, 0)?;
        Ok(ints(until_step("until", 0, n, if n < 0 { -1 } else { 1 })?))
    });
    r.add("untilStep", ex(3), |_, a| {
        Ok(ints(until_step(
            "untilStep",
            want_int(&a, 0)?,
            want_int(&a, 1)?,
            want_int(&a, 2)?,
        )?))
    });
    r.add("seq", at(0), |_, a| {
        let mut p = Vec::new();
        for i in 0..a.len() {
            p.push(want_int(&a, i)?);
        }
        Ok(Value::String(seq(&p)?))
    });
}

#[expect(
    clippy::needless_pass_by_value,
    reason = "the function table passes arguments by value"
)]
fn has(_: &Ctx<'_>, a: Vec<Value>) -> FResult {
    match &a[1] {
        Value::Nil => Ok(Value::Bool(false)),
        Value::List(_) | Value::Object(_) => {
            let l = as_list(&a[1], "find has").map_err(FuncError::Call)?;
            Ok(Value::Bool(l.iter().any(|e| deep_equal(e, &a[0]))))
        }
        other => Err(FuncError::Call(format!(
            "Cannot find has on type {}",
            other.kind_name()
        ))),
    }
}

#[expect(
    clippy::needless_pass_by_value,
    reason = "the function table passes arguments by value"
)]
fn chunk(_: &Ctx<'_>, a: Vec<Value>) -> FResult {
    let size = want_int(&a, 0)?;
    let v = as_list(&a[1], "chunk").map_err(FuncError::Call)?;
    if size <= 0 {
        return Err(FuncError::Call("size must be positive".into()));
    }
    Ok(Value::List(
        v.chunks(idx(size))
            .map(|c| Value::List(c.to_vec()))
            .collect(),
    ))
}

fn ints(v: Vec<i64>) -> Value {
    Value::List(v.into_iter().map(Value::Int).collect())
}

/// Sprig's `untilStep`: `start`, `start + inc`... up to `stop` (excluded),
/// refused above [`check_built`]'s bound (where Go would run out of memory).
pub(crate) fn until_step(
    func: &str,
    start: i64,
    stop: i64,
    inc: i64,
) -> Result<Vec<i64>, FuncError> {
    let forward = stop >= start;
    if (forward && inc <= 0) || (!forward && inc >= 0) {
        return Ok(Vec::new());
    }
    let span = (i128::from(stop) - i128::from(start)).unsigned_abs();
    let count = span.div_ceil(i128::from(inc).unsigned_abs());
    check_built(func, count * std::mem::size_of::<Value>() as u128)?;
    let mut v = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    let mut i = start;
    while if forward { i < stop } else { i > stop } {
        v.push(i);
        let Some(next) = i.checked_add(inc) else {
            break;
        };
        i = next;
    }
    Ok(v)
}

/// Sprig's `seq`, as GNU seq: `seq END`, `seq START END`, `seq START STEP END`.
fn seq(p: &[i64]) -> Result<String, FuncError> {
    let v = match p {
        [end] => {
            let inc = if *end < 1 { -1 } else { 1 };
            until_step("seq", 1, end.wrapping_add(inc), inc)?
        }
        [start, end] => {
            let step = if end < start { -1 } else { 1 };
            until_step("seq", *start, end.wrapping_add(step), step)?
        }
        [start, step, end] => {
            let mut inc = 1;
            if end < start {
                inc = -1;
                if *step > 0 {
                    return Ok(String::new());
                }
            }
            until_step("seq", *start, end.wrapping_add(inc), *step)?
        }
        _ => return Ok(String::new()),
    };
    Ok(v.iter().map(i64::to_string).collect::<Vec<_>>().join(" "))
}
