//! Merging lists of maps by merge keys, element for element as kustomize's
//! YAML library does it (including its ordering and multi-key quirks).

use serde_json::Value;

fn text(v: &Value) -> Option<String> {
    crate::res::scalar_text(v)
}

fn key_values(e: &Value, keys: &[String]) -> Vec<String> {
    keys.iter()
        .map(|k| e.get(k).and_then(text).unwrap_or_default())
        .collect()
}

/// Whether `e` has every key (a value of `""` asks only for presence).
fn matches(e: &Value, keys: &[String], values: &[String]) -> bool {
    if values.is_empty() {
        return false;
    }
    keys.iter().zip(values).all(|(k, v)| match e.get(k) {
        None | Some(Value::Null) => false,
        Some(x) => v.is_empty() || text(x).as_deref() == Some(v.as_str()),
    })
}

fn is_empty_node(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

/// Replaces the elements matching keys with `elem`, or appends it.
fn set_element(items: &mut Vec<Value>, elem: Option<Value>, keys: &[String], values: &[String]) {
    let mut found = false;
    let mut out = Vec::new();
    for it in items.drain(..) {
        if is_empty_node(&it) {
            continue;
        }
        if !it.is_object() {
            out.push(it);
            continue;
        }
        if !matches(&it, keys, values) {
            if !values.is_empty() {
                out.push(it);
            }
            continue;
        }
        found = true;
        if let Some(e) = &elem {
            out.push(e.clone());
        }
    }
    if let Some(e) = elem
        && !found
    {
        out.push(e);
    }
    *items = out;
}

/// Keeps only the keys (and values) that some value list sets.
fn valid_keys(
    all: &[Vec<String>],
    values: &[String],
    keys: &[String],
) -> (Vec<String>, Vec<String>) {
    let set: Vec<&String> = keys
        .iter()
        .enumerate()
        .filter(|(i, _)| all.iter().any(|v| v.get(*i).is_some_and(|x| !x.is_empty())))
        .map(|(_, k)| k)
        .collect();
    if set.is_empty() {
        return (keys.to_vec(), values.to_vec());
    }
    let vk: Vec<String> = keys.iter().filter(|k| set.contains(k)).cloned().collect();
    let vv: Vec<String> = values
        .iter()
        .enumerate()
        .filter(|(i, v)| !v.is_empty() || set.contains(&&keys[*i]))
        .map(|(_, v)| v.clone())
        .collect();
    (vk, vv)
}

fn merge_values(list: &mut [Vec<String>]) {
    for i in 0..list.len() {
        for j in 0..list.len() {
            let (a, b) = (&list[i], &list[j]);
            if a.len() != b.len() {
                continue;
            }
            let mut common = false;
            let mut res = Vec::new();
            let mut ok = true;
            for (x, y) in a.iter().zip(b) {
                if x == y {
                    common = true;
                    res.push(x.clone());
                } else if !x.is_empty() && !y.is_empty() {
                    ok = false;
                    break;
                } else if x.is_empty() {
                    res.push(y.clone());
                } else {
                    res.push(x.clone());
                }
            }
            if ok && common {
                list[i].clone_from(&res);
                list[j] = res;
            }
        }
    }
}

pub(crate) type Walk<'a> = dyn FnMut(Option<Value>, &Value) -> Result<Option<Value>, String> + 'a;

/// Merges `patch` into `dest` by `keys`; patch elements come first.
pub(crate) fn merge(
    dest: Vec<Value>,
    patch: &[Value],
    keys: &[String],
    walk: &mut Walk<'_>,
) -> Result<Vec<Value>, String> {
    let mut values: Vec<Vec<String>> = Vec::new();
    for e in patch.iter().chain(&dest) {
        if !e.is_object() {
            continue;
        }
        let v = key_values(e, keys);
        if !values.contains(&v) {
            values.push(v);
        }
    }
    if keys.len() > 1 {
        merge_values(&mut values);
    }
    let mut dest = dest;
    let mut items: Vec<Value> = Vec::new();
    let mut last_keys = keys.to_vec();
    for v in values.clone() {
        let (vk, vv) = valid_keys(&values, &v, keys);
        last_keys.clone_from(&vk);
        let (ek, ev) = valid_keys(std::slice::from_ref(&vv), &vv, &vk);
        let position = |list: &[Value]| {
            list.iter()
                .position(|e| e.is_object() && exact(e, &ek, &ev))
        };
        let d_at = position(&dest);
        let d = d_at.map(|i| dest[i].clone());
        let p = position(patch).map(|i| patch[i].clone());
        let val = match (d, p) {
            (d, Some(p)) => walk(d, &p)?,
            (Some(d), None) => Some(d),
            (None, None) => None,
        };
        let Some(mut val) = val.filter(|v| !is_empty_node(v)) else {
            set_element(&mut dest, None, &vk, &vv);
            continue;
        };
        if let Value::Object(m) = &mut val {
            for (k, x) in vk.iter().zip(&vv) {
                if !m.contains_key(k) && !x.is_empty() {
                    m.insert(k.clone(), Value::String(x.clone()));
                }
            }
        }
        // The merge happens in place: the destination element becomes the result.
        if let Some(i) = d_at {
            dest[i] = val.clone();
        }
        set_element(&mut items, Some(val), &vk, &vv);
    }
    if values.is_empty() {
        return Ok(items);
    }
    for elem in dest {
        let mut v = Vec::new();
        for k in &last_keys {
            match elem.get(k).and_then(text) {
                Some(x) => v.push(x),
                None => items.push(elem.clone()),
            }
        }
        if last_keys.len() > 1 {
            set_element(&mut items, None, &last_keys, &v);
        }
        set_element(&mut items, Some(elem), &last_keys, &v);
    }
    Ok(items)
}

/// Whether `e` has exactly these key values.
fn exact(e: &Value, keys: &[String], values: &[String]) -> bool {
    keys.iter()
        .zip(values)
        .all(|(k, v)| e.get(k).and_then(text).unwrap_or_default() == *v)
}
