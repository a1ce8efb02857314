//! Sprig's dict functions.

use std::collections::BTreeMap;

use crate::funcs::conv::{empty, strval, want_map, want_str};
use crate::funcs::{FResult, FuncError, Registry, at, ex};
use crate::value::Value;

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
        Ok(Value::Map(m))
    });
    r.add("get", ex(2), |_, a| {
        let (m, k) = (want_map(&a, 0)?, want_str(&a, 1)?);
        Ok(m.get(&k)
            .cloned()
            .unwrap_or_else(|| Value::String(String::new())))
    });
    r.add("set", ex(3), |_, a| {
        let (mut m, k) = (want_map(&a, 0)?, want_str(&a, 1)?);
        m.insert(k, a[2].clone());
        Ok(Value::Map(m))
    });
    r.add("unset", ex(2), |_, a| {
        let (mut m, k) = (want_map(&a, 0)?, want_str(&a, 1)?);
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
                out.push(v.clone());
            }
        }
        Ok(Value::List(out))
    });
    r.add("dig", at(0), |_, a| {
        if a.len() < 3 {
            return Err(FuncError::Call("dig needs at least three arguments".into()));
        }
        let Value::Map(m) = &a[a.len() - 1] else {
            return Err(FuncError::Call(format!(
                "interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                a[a.len() - 1].type_name()
            )));
        };
        let def = &a[a.len() - 2];
        let mut cur = m;
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
                return Ok(step.clone());
            }
            match step {
                Value::Map(n) => cur = n,
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
            out.extend(want_map(&a, i)?.into_keys().map(Value::String));
        }
        Ok(Value::List(out))
    });
    r.add("values", ex(1), |_, a| {
        Ok(Value::List(want_map(&a, 0)?.into_values().collect()))
    });
    r.add("pick", at(1), |_, a| {
        let m = want_map(&a, 0)?;
        let mut out = BTreeMap::new();
        for i in 1..a.len() {
            let k = want_str(&a, i)?;
            if let Some(v) = m.get(&k) {
                out.insert(k, v.clone());
            }
        }
        Ok(Value::Map(out))
    });
    r.add("omit", at(1), |_, a| {
        let mut m = want_map(&a, 0)?;
        for i in 1..a.len() {
            m.remove(&want_str(&a, i)?);
        }
        Ok(Value::Map(m))
    });
    r.add("merge", at(1), |_, a| merge_all(&a, false));
    r.add("mustMerge", at(1), |_, a| merge_all(&a, false));
    r.add("mergeOverwrite", at(1), |_, a| merge_all(&a, true));
    r.add("mustMergeOverwrite", at(1), |_, a| merge_all(&a, true));
    r.add("deepCopy", ex(1), |_, a| Ok(a[0].clone()));
    r.add("mustDeepCopy", ex(1), |_, a| Ok(a[0].clone()));
}

fn merge_all(a: &[Value], overwrite: bool) -> FResult {
    let mut dst = want_map(a, 0)?;
    for i in 1..a.len() {
        let src = want_map(a, i)?;
        merge_into(&mut dst, &src, overwrite);
    }
    Ok(Value::Map(dst))
}

/// mergo's map merge: fill missing or empty keys, recurse into maps; with
/// `overwrite`, source values replace destination values.
pub(crate) fn merge_into(
    dst: &mut BTreeMap<String, Value>,
    src: &BTreeMap<String, Value>,
    overwrite: bool,
) {
    for (k, sv) in src {
        if sv.is_nil() {
            continue;
        }
        let dv = dst.get_mut(k);
        match (sv, dv) {
            (Value::Map(sm), Some(Value::Map(dm))) => {
                merge_into(dm, sm, overwrite);
                if dm.is_empty() {
                    dst.insert(k.clone(), sv.clone());
                }
            }
            (Value::List(sl), Some(dv)) => {
                if (!sl.is_empty()) && (overwrite || empty(dv)) {
                    *dv = sv.clone();
                }
            }
            (_, Some(dv)) => {
                if matches!(sv, Value::Map(_)) && !empty(dv) {
                    continue;
                }
                if overwrite || empty(dv) {
                    *dv = sv.clone();
                }
            }
            (_, None) => {
                dst.insert(k.clone(), sv.clone());
            }
        }
    }
}
