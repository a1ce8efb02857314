//! Sprig's dict functions.

use std::collections::BTreeMap;

use crate::funcs::conv::{empty, strval, want_map, want_str};
use crate::funcs::{FResult, FuncError, Registry, at, ex};
use crate::value::{Map, Value};

pub(crate) fn register(r: &mut Registry) {
    r.add("dict", at(0), |_, a| {
        let mut m = BTreeMap::new();
        for pair in a.chunks(2) {
            let v = pair
                .get(1)
                .cloned()
                .unwrap_or_else(|| Value::String(String::new()));
            m.insert(strval(&pair[0]), v);
        }
        Ok(Value::from(m))
    });
    r.add("get", ex(2), |_, a| {
        let (m, k) = (want_map(&a, 0)?, want_str(&a, 1)?);
        Ok(m.get(&k).unwrap_or_else(|| Value::String(String::new())))
    });
    // `set` and `unset` change the map itself, seen through every handle to it.
    r.add("set", ex(3), |_, a| {
        let (m, k) = (want_map(&a, 0)?, want_str(&a, 1)?);
        m.insert(k, a[2].clone());
        Ok(Value::Map(m))
    });
    r.add("unset", ex(2), |_, a| {
        let (m, k) = (want_map(&a, 0)?, want_str(&a, 1)?);
        m.remove(&k);
        Ok(Value::Map(m))
    });
    r.add("hasKey", ex(2), |_, a| {
        let (m, k) = (want_map(&a, 0)?, want_str(&a, 1)?);
        Ok(Value::Bool(m.contains_key(&k)))
    });
    r.add("pluck", at(1), |_, a| {
        let k = want_str(&a, 0)?;
        let mut out = Vec::new();
        for i in 1..a.len() {
            if let Some(v) = want_map(&a, i)?.get(&k) {
                out.push(v);
            }
        }
        Ok(Value::List(out))
    });
    r.add("dig", at(0), |_, a| {
        if a.len() < 3 {
            return Err(FuncError::Call("dig needs at least three arguments".into()));
        }
        // Sprig asserts `map[string]interface {}`, which Helm's `common.Values` is not.
        let (Value::Map(m), false) = (&a[a.len() - 1], a[a.len() - 1].is_helm_values()) else {
            return Err(FuncError::Call(format!(
                "interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                a[a.len() - 1].type_name()
            )));
        };
        let def = &a[a.len() - 2];
        let mut cur = m.clone();
        let keys = &a[..a.len() - 2];
        for (i, k) in keys.iter().enumerate() {
            let Value::String(k) = k else {
                return Err(FuncError::Call(format!(
                    "interface conversion: interface {{}} is {}, not string",
                    k.type_name()
                )));
            };
            let Some(step) = cur.get(k) else {
                return Ok(def.clone());
            };
            if i + 1 == keys.len() {
                return Ok(step);
            }
            match step {
                Value::Map(n) if !n.is_helm_values() => cur = n,
                other => {
                    return Err(FuncError::Call(format!(
                        "interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                        other.type_name()
                    )));
                }
            }
        }
        Ok(def.clone())
    });
    r.add("keys", at(0), |_, a| {
        let mut out = Vec::new();
        for i in 0..a.len() {
            out.extend(want_map(&a, i)?.keys().into_iter().map(Value::String));
        }
        Ok(Value::List(out))
    });
    r.add("values", ex(1), |_, a| {
        Ok(Value::List(want_map(&a, 0)?.values()))
    });
    r.add("pick", at(1), |_, a| {
        let m = want_map(&a, 0)?;
        let mut out = BTreeMap::new();
        for i in 1..a.len() {
            let k = want_str(&a, i)?;
            if let Some(v) = m.get(&k) {
                out.insert(k, v);
            }
        }
        Ok(Value::from(out))
    });
    r.add("omit", at(1), |_, a| {
        let mut m = want_map(&a, 0)?.to_btree();
        for i in 1..a.len() {
            m.remove(&want_str(&a, i)?);
        }
        Ok(Value::from(m))
    });
    r.add("merge", at(1), |_, a| merge_all(&a, false));
    r.add("mustMerge", at(1), |_, a| merge_all(&a, false));
    r.add("mergeOverwrite", at(1), |_, a| merge_all(&a, true));
    r.add("mustMergeOverwrite", at(1), |_, a| merge_all(&a, true));
    r.add("deepCopy", ex(1), |_, a| Ok(a[0].deep_copy()));
    r.add("mustDeepCopy", ex(1), |_, a| Ok(a[0].deep_copy()));
}

/// Sprig's `merge` family: `dst` (the first map) is changed in place and returned.
fn merge_all(a: &[Value], overwrite: bool) -> FResult {
    let dst = want_map(a, 0)?;
    for i in 1..a.len() {
        let src = want_map(a, i)?;
        merge_into(&dst, &src, overwrite);
    }
    Ok(Value::Map(dst))
}

/// mergo's map merge (v1.0, as Sprig calls it), in place. A source value is
/// copied when the destination lacks the key or holds an empty value (nil,
/// zero, "", false, an empty list or map), and with `overwrite` always: a list
/// replaces the destination's even when it is empty, and a nil replaces it
/// too. Two maps merge recursively instead, and the destination keeps its
/// map unless that is still empty afterwards. Values copied from `src` stay
/// shared with it (nested maps are the same maps, as in Go).
pub(crate) fn merge_into(dst: &Map, src: &Map, overwrite: bool) {
    // Entries are read first, so no borrow is held while `dst` changes (`src` may
    // be `dst`, or contain it).
    for (k, sv) in src.entries() {
        let dv = dst.get(&k);
        if sv.is_nil() {
            if overwrite {
                dst.insert(k, Value::Nil);
            }
            continue;
        }
        if let (Value::Map(sm), Some(Value::Map(dm))) = (&sv, &dv) {
            if sm.ptr_eq(dm) {
                continue;
            }
            merge_into(dm, sm, overwrite);
            if !dm.is_empty() {
                continue;
            }
        }
        if overwrite || dv.as_ref().is_none_or(empty) {
            dst.insert(k, sv);
        }
    }
}
