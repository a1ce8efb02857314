//! `replacements`: copy a field of one object into fields of others.

use serde_json::{Map, Value};

use crate::kustomization::Selector;
use crate::res::{Gvk, Res, ResId};
use crate::resmap::{LabelSelector, ResMap, SelectorRegex};

/// Why a replacement failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("replacements must specify a source and at least one target")]
    Incomplete,
    #[error("multiple matches for selector {0}")]
    Multiple(String),
    #[error("nothing selected by {0}")]
    Nothing(String),
    #[error("fieldPath `{0}` is missing for replacement source {1}")]
    MissingSource(String, String),
    #[error("unable to find field {0:?} in replacement target")]
    NoTarget(String),
    #[error("unable to find or create field {0:?} in replacement target")]
    NoTargetCreate(String),
    #[error("options.index {0} is out of bounds for value {1}")]
    Index(i64, String),
    #[error("delimiter option can only be used with scalar nodes")]
    Delimiter,
    #[error("invalid replacement: {0}")]
    Invalid(String),
    #[error(transparent)]
    Select(#[from] crate::resmap::Error),
}

fn s(v: &Value, k: &str) -> String {
    v.get(k)
        .and_then(crate::res::scalar_text)
        .unwrap_or_default()
}

fn res_id_of(v: &Value) -> ResId {
    let mut gvk = Gvk {
        group: s(v, "group"),
        version: s(v, "version"),
        kind: s(v, "kind"),
    };
    let av = s(v, "apiVersion");
    if !av.is_empty() {
        gvk = Gvk::from_api_version(&av, &gvk.kind);
    }
    ResId {
        gvk,
        name: s(v, "name"),
        namespace: s(v, "namespace"),
    }
}

fn selected_by(id: &ResId, sel: &ResId) -> bool {
    (sel.name.is_empty() || sel.name == id.name)
        && (sel.namespace.is_empty() || sel.ns_equals(id))
        && id.gvk.is_selected(&sel.gvk)
}

fn all_ids(r: &Res) -> Vec<ResId> {
    let mut ids = vec![r.cur_id()];
    ids.extend(r.prev_ids());
    ids
}

/// Splits a replacement field path on dots, keeping `[a.b=c]` whole.
pub(crate) fn split(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '[' => {
                depth += 1;
                cur.push(c);
            }
            ']' => {
                depth -= 1;
                cur.push(c);
            }
            '.' if depth == 0 => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

fn lookup<'v>(v: &'v Value, path: &[String]) -> Option<&'v Value> {
    let mut cur = v;
    for seg in path {
        cur = match (cur, seg.strip_prefix('[').and_then(|x| x.strip_suffix(']'))) {
            (Value::Array(items), Some(cond)) => {
                let (k, val) = cond.split_once('=')?;
                items
                    .iter()
                    .find(|e| e.get(k).and_then(crate::res::scalar_text).as_deref() == Some(val))?
            }
            (Value::Array(items), None) => items.get(seg.parse::<usize>().ok()?)?,
            (Value::Object(m), None) => m.get(seg)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Every node at `path`, created when `create`.
fn matches<'v>(v: &'v mut Value, path: &[String], create: bool, out: &mut Vec<&'v mut Value>) {
    let Some((seg, rest)) = path.split_first() else {
        out.push(v);
        return;
    };
    let cond = seg.strip_prefix('[').and_then(|x| x.strip_suffix(']'));
    match v {
        Value::Array(items) => {
            if seg == "*" {
                for item in items.iter_mut() {
                    matches(item, rest, create, out);
                }
            } else if let Some((k, val)) = cond.and_then(|c| c.split_once('=')) {
                let mut found = false;
                let idx: Vec<usize> = items
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| {
                        val == "*"
                            || e.get(k).and_then(crate::res::scalar_text).as_deref() == Some(val)
                    })
                    .map(|(i, _)| i)
                    .collect();
                if idx.is_empty() && create && val != "*" {
                    let mut m = Map::new();
                    m.insert(k.to_owned(), Value::String(val.to_owned()));
                    items.push(Value::Object(m));
                    found = true;
                }
                if found {
                    let last = items.last_mut().expect("just pushed");
                    matches(last, rest, create, out);
                    return;
                }
                let mut refs: Vec<&mut Value> = items.iter_mut().collect();
                for i in idx.into_iter().rev() {
                    let item = refs.swap_remove(i);
                    matches(item, rest, create, out);
                }
            } else if let Ok(i) = seg.parse::<usize>()
                && let Some(item) = items.get_mut(i)
            {
                matches(item, rest, create, out);
            }
        }
        Value::Object(m) => {
            if cond.is_some() {
                return;
            }
            if !m.contains_key(seg.as_str()) {
                if !create {
                    return;
                }
                let next_is_seq = rest.first().is_some_and(|r| r.starts_with('['));
                m.insert(
                    seg.clone(),
                    if rest.is_empty() {
                        Value::Null
                    } else if next_is_seq {
                        Value::Array(Vec::new())
                    } else {
                        Value::Object(Map::new())
                    },
                );
            }
            let child = m.get_mut(seg.as_str()).expect("present or inserted");
            if child.is_null() && create && !rest.is_empty() {
                *child = Value::Object(Map::new());
            }
            matches(child, rest, create, out);
        }
        Value::Null if create => {
            *v = Value::Object(Map::new());
            matches(v, path, create, out);
        }
        _ => {}
    }
}

fn options(v: &Value) -> (String, i64, bool) {
    let o = v.get("options").cloned().unwrap_or(Value::Null);
    (
        s(&o, "delimiter"),
        o.get("index").and_then(Value::as_i64).unwrap_or(0),
        o.get("create").and_then(Value::as_bool).unwrap_or(false),
    )
}

fn source_value(m: &ResMap, r: &Value) -> Result<Value, Error> {
    let src = r.get("source").ok_or(Error::Incomplete)?;
    let sel = res_id_of(src);
    let mut found: Option<&Res> = None;
    for res in m {
        if all_ids(res).iter().any(|id| selected_by(id, &sel)) {
            if found.is_some() {
                return Err(Error::Multiple(sel.to_string()));
            }
            found = Some(res);
        }
    }
    let res = found.ok_or_else(|| Error::Nothing(sel.to_string()))?;
    let fp = s(src, "fieldPath");
    let fp = if fp.is_empty() {
        "metadata.name".to_owned()
    } else {
        fp
    };
    let v = lookup(&res.obj, &split(&fp))
        .filter(|v| !v.is_null() && !matches!(v, Value::String(x) if x.is_empty()))
        .ok_or_else(|| Error::MissingSource(fp.clone(), sel.to_string()))?;
    let (delim, index, _) = options(src);
    if delim.is_empty() {
        return Ok(v.clone());
    }
    let text = crate::res::scalar_text(v).ok_or(Error::Delimiter)?;
    let parts: Vec<&str> = text.split(delim.as_str()).collect();
    let part = usize::try_from(index)
        .ok()
        .and_then(|i| parts.get(i))
        .ok_or(Error::Index(index, text.clone()))?;
    Ok(Value::String((*part).to_owned()))
}

fn selector_of(v: &Value) -> Selector {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

fn set_value(target: &mut Value, value: &Value, delim: &str, index: i64) -> Result<(), Error> {
    let mut value = value.clone();
    if !delim.is_empty() {
        let cur = if target.is_null() {
            String::new()
        } else {
            crate::res::scalar_text(target).ok_or(Error::Delimiter)?
        };
        let mut parts: Vec<String> = cur.split(delim).map(str::to_owned).collect();
        let v = crate::res::scalar_text(&value).unwrap_or_default();
        match usize::try_from(index) {
            Err(_) => parts.insert(0, v),
            Ok(i) if i >= parts.len() => parts.push(v),
            Ok(i) => parts[i] = v,
        }
        value = Value::String(parts.join(delim));
    }
    let text = crate::res::scalar_text(&value);
    *target = match (&*target, text) {
        (Value::String(_), Some(t)) => Value::String(t),
        (Value::Number(_), Some(t)) => t
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| t.parse::<f64>().map(Value::from))
            .unwrap_or(Value::String(t)),
        (Value::Bool(_), Some(t)) => t
            .parse::<bool>()
            .map(Value::Bool)
            .unwrap_or(Value::String(t)),
        _ => value,
    };
    Ok(())
}

/// Runs a list of replacements over the resources.
pub(crate) fn apply(m: &mut ResMap, replacements: &[Value]) -> Result<(), Error> {
    for r in replacements {
        let targets = r
            .get("targets")
            .and_then(Value::as_array)
            .ok_or(Error::Incomplete)?;
        let value = source_value(m, r)?;
        for t in targets {
            let sel_v = t
                .get("select")
                .ok_or_else(|| Error::Invalid("target must specify resources to select".into()))?;
            let sel = selector_of(sel_v);
            let sr = SelectorRegex::new(&Selector {
                label_selector: String::new(),
                annotation_selector: String::new(),
                ..sel.clone()
            })?;
            let rejects: Vec<Selector> = t
                .get("reject")
                .and_then(Value::as_array)
                .map(|a| a.iter().map(selector_of).collect())
                .unwrap_or_default();
            let mut paths: Vec<String> = t
                .get("fieldPaths")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(crate::res::scalar_text).collect())
                .unwrap_or_default();
            if paths.is_empty() {
                paths.push("metadata.name".into());
            }
            let (delim, index, create) = options(t);
            for res in m.iter_mut() {
                let labels = res.labels();
                let annos = res.annotations();
                let sel_ok = |s: &Selector| -> Result<bool, Error> {
                    let l = s.label_selector.is_empty()
                        || LabelSelector::parse(&s.label_selector)?.matches(&labels);
                    let a = s.annotation_selector.is_empty()
                        || LabelSelector::parse(&s.annotation_selector)?.matches(&annos);
                    Ok(l && a)
                };
                if !sel_ok(&sel)? {
                    continue;
                }
                let mut rejected = false;
                for rj in &rejects {
                    if (!rj.label_selector.is_empty() || !rj.annotation_selector.is_empty())
                        && sel_ok(rj)?
                    {
                        rejected = true;
                    }
                }
                let ids = all_ids(res);
                for rj in &rejects {
                    let no_meta = Selector {
                        label_selector: String::new(),
                        annotation_selector: String::new(),
                        ..rj.clone()
                    };
                    let is_empty = no_meta.group.is_empty()
                        && no_meta.version.is_empty()
                        && no_meta.kind.is_empty()
                        && no_meta.name.is_empty()
                        && no_meta.namespace.is_empty();
                    if is_empty {
                        continue;
                    }
                    let rr = SelectorRegex::new(&no_meta)?;
                    if ids.iter().any(|id| id_selected(&rr, id)) {
                        rejected = true;
                    }
                }
                if rejected || !ids.iter().any(|id| id_selected(&sr, id)) {
                    continue;
                }
                for fp in &paths {
                    let mut found = Vec::new();
                    matches(&mut res.obj, &split(fp), create, &mut found);
                    if found.is_empty() {
                        return Err(if create {
                            Error::NoTargetCreate(fp.clone())
                        } else {
                            Error::NoTarget(fp.clone())
                        });
                    }
                    for f in found {
                        set_value(f, &value, &delim, index)?;
                    }
                }
            }
        }
    }
    Ok(())
}

fn id_selected(sr: &SelectorRegex, id: &ResId) -> bool {
    sr.matches_id(id)
}
