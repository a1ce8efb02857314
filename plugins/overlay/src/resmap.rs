//! The ordered list of resources under construction, with kustomize's id
//! rules: unique current ids, lookups by any previous id, generator merges.

use regex::Regex;

pub(crate) use crate::labelsel::LabelSelector;
use serde_json::Value;

use crate::kustomization::Selector;
use crate::res::{Gvk, Res, ResId};

/// Why resources could not be combined or selected.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("may not add resource with an already registered id: {0}")]
    Duplicate(ResId),
    #[error("id {0} does not exist; cannot merge or replace")]
    NothingToMerge(ResId),
    #[error("id {0} exists; can not use behavior: '{1}', behavior must be merge or replace")]
    BadBehavior(ResId, String),
    #[error("found multiple objects that could accept merge of {0}")]
    AmbiguousMerge(ResId),
    #[error("invalid selector: {0}")]
    Selector(String),
}

pub(crate) type ResMap = Vec<Res>;

/// Appends `res`, refusing a second resource with the same current id.
pub(crate) fn append(m: &mut ResMap, res: Res) -> Result<(), Error> {
    let id = res.cur_id();
    if m.iter().any(|r| r.cur_id().equals(&id)) {
        return Err(Error::Duplicate(id));
    }
    m.push(res);
    Ok(())
}

pub(crate) fn append_all(m: &mut ResMap, more: Vec<Res>) -> Result<(), Error> {
    for r in more {
        append(m, r)?;
    }
    Ok(())
}

/// Indexes of resources any of whose ids (previous or current) match.
pub(crate) fn matching_any_id(m: &ResMap, f: impl Fn(&ResId) -> bool) -> Vec<usize> {
    m.iter()
        .enumerate()
        .filter(|(_, r)| !r.is_empty() && (r.prev_ids().iter().any(&f) || f(&r.cur_id())))
        .map(|(i, _)| i)
        .collect()
}

/// Adds a generated resource, merging with or replacing an existing one
/// as its behaviour says.
pub(crate) fn absorb(m: &mut ResMap, mut res: Res) -> Result<(), Error> {
    let id = res.cur_id();
    let matches = matching_any_id(m, |x| x.equals(&id));
    let behavior = res.behavior.clone().unwrap_or_default();
    match matches.as_slice() {
        [] => {
            if behavior == "merge" || behavior == "replace" {
                return Err(Error::NothingToMerge(id));
            }
            append(m, res)
        }
        [i] => {
            let old = &m[*i];
            match behavior.as_str() {
                "replace" => copy_merge_meta(&mut res, old),
                "merge" => {
                    let origin = old.origin.clone();
                    copy_merge_meta(&mut res, old);
                    for field in ["data", "binaryData"] {
                        let mut merged = old
                            .obj
                            .get(field)
                            .and_then(Value::as_object)
                            .cloned()
                            .unwrap_or_default();
                        if let Some(new) = res.obj.get(field).and_then(Value::as_object) {
                            for (k, v) in new {
                                merged.insert(k.clone(), v.clone());
                            }
                        }
                        if let Some(o) = res.obj.as_object_mut() {
                            if merged.is_empty() {
                                o.remove(field);
                            } else {
                                o.insert(field.to_owned(), Value::Object(merged));
                            }
                        }
                    }
                    if origin.is_some() {
                        res.origin = origin;
                    }
                }
                other => return Err(Error::BadBehavior(id, other.to_owned())),
            }
            m[*i] = res;
            Ok(())
        }
        _ => Err(Error::AmbiguousMerge(id)),
    }
}

/// Labels, annotations, name, namespace and build facts of `old` onto `res`.
fn copy_merge_meta(res: &mut Res, old: &Res) {
    for field in ["labels", "annotations"] {
        let mut merged = old.string_map(field);
        for (k, v) in res.string_map(field) {
            merged.insert(k, v);
        }
        res.set_string_map(field, merged);
    }
    res.set_name(&old.name());
    res.set_namespace(&old.namespace());
    res.needs_hash = res.needs_hash && old.needs_hash;
    res.behavior.clone_from(&old.behavior);
    res.prev.clone_from(&old.prev);
    res.prefixes.clone_from(&old.prefixes);
    res.suffixes.clone_from(&old.suffixes);
    res.ref_var_names.clone_from(&old.ref_var_names);
}

fn anchored(p: &str) -> Result<Option<Regex>, Error> {
    if p.is_empty() {
        return Ok(None);
    }
    let p = crate::goregex::translate(p).map_err(Error::Selector)?;
    Regex::new(&format!("^(?:{p})$"))
        .map(Some)
        .map_err(|e| Error::Selector(e.to_string()))
}

/// A compiled target selector.
pub(crate) struct SelectorRegex {
    group: Option<Regex>,
    version: Option<Regex>,
    kind: Option<Regex>,
    name: Option<Regex>,
    namespace: Option<Regex>,
    labels: Option<LabelSelector>,
    annotations: Option<LabelSelector>,
}

impl SelectorRegex {
    pub(crate) fn new(s: &Selector) -> Result<Self, Error> {
        let sel = |t: &str| {
            if t.is_empty() {
                Ok(None)
            } else {
                LabelSelector::parse(t).map(Some).map_err(Error::Selector)
            }
        };
        Ok(Self {
            group: anchored(&s.group)?,
            version: anchored(&s.version)?,
            kind: anchored(&s.kind)?,
            name: anchored(&s.name)?,
            namespace: anchored(&s.namespace)?,
            labels: sel(&s.label_selector)?,
            annotations: sel(&s.annotation_selector)?,
        })
    }

    fn ok(re: Option<&Regex>, s: &str) -> bool {
        re.is_none_or(|r| r.is_match(s))
    }

    pub(crate) fn matches_gvk(&self, g: &Gvk) -> bool {
        Self::ok(self.group.as_ref(), &g.group)
            && Self::ok(self.version.as_ref(), &g.version)
            && Self::ok(self.kind.as_ref(), &g.kind)
    }

    pub(crate) fn matches(&self, r: &Res) -> bool {
        let cur = r.cur_id();
        let org = r.org_id();
        if !(Self::ok(self.namespace.as_ref(), &org.effective_namespace())
            || Self::ok(self.namespace.as_ref(), &cur.effective_namespace()))
        {
            return false;
        }
        if !(Self::ok(self.name.as_ref(), &org.name) || Self::ok(self.name.as_ref(), &cur.name)) {
            return false;
        }
        if !self.matches_gvk(&cur.gvk) {
            return false;
        }
        if let Some(l) = &self.labels
            && !l.matches(&r.labels())
        {
            return false;
        }
        if let Some(a) = &self.annotations
            && !a.matches(&r.annotations())
        {
            return false;
        }
        true
    }
}

/// Indexes of resources a selector picks.
pub(crate) fn select(m: &ResMap, s: &Selector) -> Result<Vec<usize>, Error> {
    let sr = SelectorRegex::new(s)?;
    Ok(m.iter()
        .enumerate()
        .filter(|(_, r)| sr.matches(r))
        .map(|(i, _)| i)
        .collect())
}
