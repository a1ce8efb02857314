//! `replacements`: copy a field of one object into fields of others.

use serde_json::{Map, Value};

use crate::kustomization::Selector;
use crate::res::{Gvk, Res, ResId};
use crate::resmap::{LabelSelector, ResMap};

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

/// Splits a dotted path on dots, keeping `[a.b=c]` whole (the older syntax
/// legacy `vars` field paths use).
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

/// Splits a replacement field path as kustomize does: on dots, a leading dot
/// ignored, `\.` an escaped dot; a bracketed element holding dots stays whole,
/// keeping its brackets when it selects a list entry (`[name=a.b]`) and
/// losing them when it names a map key (`[cert-manager.io/inject-ca-from]`).
pub(crate) fn field_path(path: &str) -> Vec<String> {
    let mut parts: Vec<&str> = path.split('.').collect();
    if parts.len() > 1 && parts[0].is_empty() {
        parts.remove(0);
    }
    let mut escaped: Vec<String> = Vec::new();
    for p in parts {
        match escaped.last_mut() {
            Some(last) if last.ends_with('\\') => {
                last.pop();
                last.push('.');
                last.push_str(p);
            }
            _ => escaped.push(p.to_owned()),
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < escaped.len() {
        let elem = &escaped[i];
        if elem.starts_with('[') && !elem.ends_with(']') {
            let mut joined = elem.clone();
            while i + 1 < escaped.len() {
                i += 1;
                joined.push('.');
                joined.push_str(&escaped[i]);
                if escaped[i].ends_with(']') {
                    break;
                }
            }
            if joined.contains('=') {
                out.push(joined);
            } else {
                out.push(joined.trim_matches(|c| c == '[' || c == ']').to_owned());
            }
        } else {
            out.push(elem.clone());
        }
        i += 1;
    }
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

/// A node a target field path reached: the value, and whether the
/// replacement created it (kustomize types a created scalar by its text).
type Found<'v> = (&'v mut Value, bool);

/// Every node at `path`, created when `create`.
fn matches<'v>(v: &'v mut Value, path: &[String], create: bool, out: &mut Vec<Found<'v>>) {
    walk(v, path, create, false, out);
}

fn walk<'v>(
    v: &'v mut Value,
    path: &[String],
    create: bool,
    fresh: bool,
    out: &mut Vec<Found<'v>>,
) {
    let Some((seg, rest)) = path.split_first() else {
        out.push((v, fresh));
        return;
    };
    let cond = seg.strip_prefix('[').and_then(|x| x.strip_suffix(']'));
    match v {
        Value::Array(items) => {
            if seg == "*" {
                for item in items.iter_mut() {
                    walk(item, rest, create, false, out);
                }
            } else if let Some((k, val)) = cond.and_then(|c| c.split_once('=')) {
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
                    if let Some(last) = items.last_mut() {
                        walk(last, rest, create, false, out);
                    }
                    return;
                }
                let mut refs: Vec<&mut Value> = items.iter_mut().collect();
                for i in idx.into_iter().rev() {
                    let item = refs.swap_remove(i);
                    walk(item, rest, create, false, out);
                }
            } else if let Ok(i) = seg.parse::<usize>()
                && let Some(item) = items.get_mut(i)
            {
                walk(item, rest, create, false, out);
            }
        }
        Value::Object(m) => {
            if cond.is_some() {
                return;
            }
            let mut made = false;
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
                made = true;
            }
            let Some(child) = m.get_mut(seg.as_str()) else {
                return;
            };
            if child.is_null() && create && !rest.is_empty() {
                *child = Value::Object(Map::new());
            }
            walk(child, rest, create, made, out);
        }
        Value::Null if create => {
            *v = Value::Object(Map::new());
            walk(v, path, create, fresh, out);
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
    if let Some(v) = r.get("sourceValue").filter(|v| !v.is_null()) {
        if r.get("source").is_some_and(|s| !s.is_null()) {
            return Err(Error::Invalid(
                "value and resource selectors are mutually exclusive".into(),
            ));
        }
        return Ok(Value::String(node_text(v)));
    }
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
    let v = lookup(&res.obj, &field_path(&fp))
        .filter(|v| match v {
            Value::Null => false,
            Value::Object(m) => !m.is_empty(),
            Value::Array(a) => !a.is_empty(),
            _ => true,
        })
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

/// The text of a scalar as kustomize copies it between nodes (a map or a
/// list has none).
fn node_text(v: &Value) -> String {
    crate::res::scalar_text(v).unwrap_or_default()
}

/// How a plain scalar of this text reads back (`8080` an int, `true` a bool).
fn resolve_plain(text: &str) -> Value {
    match crate::yaml::parse_plain_scalar(text) {
        Some(v) => v,
        None => Value::String(text.to_owned()),
    }
}

/// Sets one target field as kustomize does: a scalar target keeps its type
/// and takes the value's text (an int field given "8080" stays an int; a
/// value whose text does not fit the field's type is an error, as kustomize
/// fails decoding it); a map or list target is replaced by the value; a
/// field the replacement created is typed by its text.
fn set_value(
    target: &mut Value,
    fresh: bool,
    value: &Value,
    delim: &str,
    index: i64,
) -> Result<(), Error> {
    let mut value = value.clone();
    if !delim.is_empty() {
        let cur = if fresh || target.is_null() {
            String::new()
        } else {
            crate::res::scalar_text(target).ok_or(Error::Delimiter)?
        };
        let mut parts: Vec<String> = cur.split(delim).map(str::to_owned).collect();
        let v = node_text(&value);
        match usize::try_from(index) {
            Err(_) => parts.insert(0, v),
            Ok(i) if i >= parts.len() => parts.push(v),
            Ok(i) => parts[i] = v,
        }
        let joined = parts.join(delim);
        value = match value {
            Value::Object(_) | Value::Array(_) | Value::String(_) => Value::String(joined),
            _ => resolve_plain(&joined),
        };
    }
    if fresh {
        *target = match &value {
            Value::Object(_) | Value::Array(_) => value,
            scalar => resolve_plain(&node_text(scalar)),
        };
        return Ok(());
    }
    let mismatch = |text: &str, want: &str| {
        Error::Invalid(format!(
            "cannot set a {want} field to {text:?}: the value does not read as a {want}"
        ))
    };
    *target = match &*target {
        Value::Object(_) | Value::Array(_) => value,
        Value::String(_) => Value::String(node_text(&value)),
        Value::Number(_) => {
            let text = node_text(&value);
            match resolve_plain(&text) {
                n @ Value::Number(_) => n,
                _ => return Err(mismatch(&text, "number")),
            }
        }
        Value::Bool(_) => {
            let text = node_text(&value);
            match resolve_plain(&text) {
                b @ Value::Bool(_) => b,
                _ => return Err(mismatch(&text, "boolean")),
            }
        }
        Value::Null => {
            let text = node_text(&value);
            match resolve_plain(&text) {
                Value::Null => Value::Null,
                _ => return Err(mismatch(&text, "null")),
            }
        }
    };
    Ok(())
}

/// Runs a list of replacements over the resources.
pub(crate) fn apply(m: &mut ResMap, replacements: &[Value]) -> Result<(), Error> {
    // Replacements write in place: a value they change reaches every field
    // sharing it (see `crate::alias`).
    for one in replacements {
        let before: Vec<_> = m.iter().map(crate::alias::snapshot).collect();
        apply_all(m, std::slice::from_ref(one))?;
        for (r, was) in m.iter_mut().zip(&before) {
            crate::alias::sync(r, was);
        }
    }
    Ok(())
}

fn apply_all(m: &mut ResMap, replacements: &[Value]) -> Result<(), Error> {
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
            // kustomize v5.7.1 selects targets by exact id, as it selects the
            // source (patch targets take regular expressions; these do not).
            let sel = selector_of(sel_v);
            let sel_id = res_id_of(sel_v);
            let reject_values: Vec<&Value> = t
                .get("reject")
                .and_then(Value::as_array)
                .map(|a| a.iter().collect())
                .unwrap_or_default();
            let rejects: Vec<Selector> = reject_values.iter().map(|v| selector_of(v)).collect();
            let reject_ids: Vec<ResId> = reject_values
                .iter()
                .map(|v| res_id_of(v))
                .filter(|id| {
                    !(id.gvk.group.is_empty()
                        && id.gvk.version.is_empty()
                        && id.gvk.kind.is_empty()
                        && id.name.is_empty()
                        && id.namespace.is_empty())
                })
                .collect();
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
                        || LabelSelector::parse(&s.label_selector)
                            .map_err(crate::resmap::Error::Selector)?
                            .matches(&labels);
                    let a = s.annotation_selector.is_empty()
                        || LabelSelector::parse(&s.annotation_selector)
                            .map_err(crate::resmap::Error::Selector)?
                            .matches(&annos);
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
                if reject_ids
                    .iter()
                    .any(|rj| ids.iter().any(|id| selected_by(id, rj)))
                {
                    rejected = true;
                }
                if rejected || !ids.iter().any(|id| selected_by(id, &sel_id)) {
                    continue;
                }
                for fp in &paths {
                    let mut found = Vec::new();
                    matches(&mut res.obj, &field_path(fp), create, &mut found);
                    if found.is_empty() {
                        return Err(if create {
                            Error::NoTargetCreate(fp.clone())
                        } else {
                            Error::NoTarget(fp.clone())
                        });
                    }
                    for (f, fresh) in found {
                        set_value(f, fresh, &value, &delim, index)?;
                    }
                }
            }
        }
    }
    Ok(())
}
