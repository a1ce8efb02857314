//! Fixing references to renamed objects (name back-references), with
//! kustomize's rules for choosing among candidates.

use serde_json::Value;

use crate::fieldspec::{self, Create, FieldSpec, NameRef};
use crate::res::{Gvk, Res};
use crate::resmap::ResMap;

/// Why a reference could not be fixed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("found multiple possible referrals: {0}")]
    Ambiguous(String),
    #[error("updating name reference in '{path}' field of '{referrer}': {message}")]
    Field {
        path: String,
        referrer: String,
        message: String,
    },
    #[error("Invalid Input: namespace is blank for resource {0:?}")]
    BlankNamespace(String),
}

/// Updates every reference in `m` to the current names of what it refers to.
pub(crate) fn fix(m: &mut ResMap, refs: &[NameRef]) -> Result<(), Error> {
    let org_ids: Vec<_> = m.iter().map(Res::org_id).collect();
    // Referrer index -> list of (field spec, referral gvk), in kustomize's order.
    let mut plan: Vec<(usize, FieldSpec, Gvk)> = Vec::new();
    for br in refs {
        for spec in &br.specs {
            for (i, id) in org_ids.iter().enumerate() {
                if id.gvk.is_selected(&spec.gvk) {
                    plan.push((i, spec.clone(), br.gvk.clone()));
                }
            }
        }
    }
    let mut referrers: Vec<usize> = plan.iter().map(|p| p.0).collect();
    referrers.dedup();
    let mut seen = std::collections::HashSet::new();
    for r in referrers {
        if !seen.insert(r) {
            continue;
        }
        let candidates = subset_for(m, r)?;
        // The referrer is edited on its own copy; every other candidate is
        // read in place, so no resource is cloned per field spec.
        let referrer = m[r].clone();
        let mut obj = std::mem::take(&mut m[r].obj);
        let snapshot: Vec<&Res> = candidates
            .iter()
            .map(|&i| if i == r { &referrer } else { &m[i] })
            .collect();
        let mut outcome = Ok(());
        for (_, spec, target) in plan.iter().filter(|p| p.0 == r) {
            let mut spec = spec.clone();
            spec.gvk = referrer.gvk();
            let f = Filter {
                referrer: &referrer,
                candidates: &snapshot,
                target,
                path: &spec.path,
            };
            let mut err = None;
            let result = fieldspec::apply(&mut obj, &spec, Create::Nothing, &mut |node| {
                f.set(node).map_err(|e| {
                    let s = e.to_string();
                    err = Some(e);
                    s
                })
            });
            if let Some(e) = err {
                outcome = Err(e);
                break;
            }
            if let Err(message) = result {
                outcome = Err(Error::Field {
                    path: spec.path.clone(),
                    referrer: referrer.cur_id().to_string(),
                    message,
                });
                break;
            }
        }
        drop(snapshot);
        m[r].obj = obj;
        outcome?;
    }
    Ok(())
}

/// Resources that a referrer could refer to, by namespace.
fn subset_for(m: &ResMap, r: usize) -> Result<Vec<usize>, Error> {
    let referrer = &m[r];
    let rid = referrer.cur_id();
    if rid.gvk.is_cluster_scoped() {
        return Ok((0..m.len()).collect());
    }
    let mut rb_namespaces = Vec::new();
    if referrer.kind() == "RoleBinding"
        && let Some(subjects) = referrer.obj.get("subjects").and_then(Value::as_array)
    {
        for s in subjects {
            if let (Some(ns), Some(kind)) = (s.get("namespace"), s.get("kind"))
                && kind.as_str() == Some("ServiceAccount")
            {
                match ns.as_str() {
                    Some(n) => rb_namespaces.push(n.to_owned()),
                    None => return Err(Error::BlankNamespace(rid.to_string())),
                }
            }
        }
    }
    Ok(m.iter()
        .enumerate()
        .filter(|(_, t)| {
            let id = t.cur_id();
            id.gvk.is_cluster_scoped()
                || id.ns_equals(&rid)
                || rb_namespaces.contains(&t.namespace())
        })
        .map(|(i, _)| i)
        .collect())
}

struct Filter<'a> {
    referrer: &'a Res,
    candidates: &'a [&'a Res],
    target: &'a Gvk,
    path: &'a str,
}

impl Filter<'_> {
    fn set(&self, node: &mut Value) -> Result<(), Error> {
        match node {
            Value::Null => Ok(()),
            Value::Object(_) => self.set_mapping(node),
            Value::Array(items) => {
                for item in items {
                    match item {
                        Value::Object(_) => self.set_mapping(item)?,
                        Value::Null => {}
                        _ => self.set_scalar(item)?,
                    }
                }
                Ok(())
            }
            _ => self.set_scalar(node),
        }
    }

    fn set_scalar(&self, node: &mut Value) -> Result<(), Error> {
        let Some(old) = crate::res::scalar_text(node) else {
            return Ok(());
        };
        let all: Vec<&Res> = self.candidates.to_vec();
        if let Some(r) = self.select(&old, all, false)? {
            let name = r.name();
            if name != old {
                *node = Value::String(name);
            }
        }
        Ok(())
    }

    fn set_mapping(&self, node: &mut Value) -> Result<(), Error> {
        let Some(old) = node.get("name").and_then(crate::res::scalar_text) else {
            return Err(Error::Field {
                path: self.path.to_owned(),
                referrer: self.referrer.cur_id().to_string(),
                message: "path config error; no 'name' field in node".into(),
            });
        };
        let candidates: Vec<&Res> = match node.get("namespace").and_then(crate::res::scalar_text) {
            None => self.candidates.to_vec(),
            Some(ns) => {
                let by_org: Vec<&Res> = self
                    .candidates
                    .iter()
                    .copied()
                    .filter(|c| c.org_id().effective_namespace() == ns)
                    .collect();
                if by_org.is_empty() {
                    self.candidates
                        .iter()
                        .copied()
                        .filter(|c| c.cur_id().effective_namespace() == ns)
                        .collect()
                } else {
                    by_org
                }
            }
        };
        let Some(r) = self.select(&old, candidates, true)? else {
            return Ok(());
        };
        let name = r.name();
        let ns = r.namespace();
        if name == old && ns.is_empty() {
            return Ok(());
        }
        if let Some(m) = node.as_object_mut() {
            m.insert("name".into(), Value::String(name));
            if !ns.is_empty() {
                m.insert("namespace".into(), Value::String(ns));
            }
        }
        Ok(())
    }

    fn select<'r>(
        &self,
        old: &str,
        candidates: Vec<&'r Res>,
        with_ns: bool,
    ) -> Result<Option<&'r Res>, Error> {
        let role_ref = if self.path.ends_with("roleRef/name") {
            self.referrer.obj.get("roleRef").and_then(|rr| {
                let g = rr.get("apiGroup")?.as_str()?;
                let k = rr.get("kind")?.as_str()?;
                Some(Gvk {
                    group: g.to_owned(),
                    version: String::new(),
                    kind: k.to_owned(),
                })
            })
        } else {
            None
        };
        let rid = self.referrer.cur_id();
        let mut c: Vec<&Res> = candidates
            .into_iter()
            .filter(|r| r.prev_ids().iter().any(|id| id.name == old))
            .filter(|r| {
                r.prev_ids()
                    .iter()
                    .any(|id| id.gvk.is_selected(self.target))
            })
            .filter(|r| {
                role_ref
                    .as_ref()
                    .is_none_or(|g| r.prev_ids().iter().any(|id| id.gvk.is_selected(g)))
            })
            .filter(|r| {
                rid.gvk.is_cluster_scoped()
                    || r.cur_id().gvk.is_cluster_scoped()
                    || r.kind() == "ServiceAccount"
                    || rid.ns_equals(&r.cur_id())
            })
            .collect();
        if c.len() == 1 {
            return Ok(Some(c[0]));
        }
        c.retain(|r| r.prefix_suffix_equals(self.referrer, true));
        if c.len() > 1 {
            c.retain(|r| r.prefix_suffix_equals(self.referrer, false));
        }
        match c.len() {
            0 => Ok(None),
            1 => Ok(Some(c[0])),
            _ => {
                let same = c.iter().all(|r| {
                    r.name() == c[0].name() && (!with_ns || r.namespace() == c[0].namespace())
                });
                if same {
                    Ok(Some(c[0]))
                } else {
                    let ids: Vec<String> = c.iter().map(|r| r.cur_id().to_string()).collect();
                    Err(Error::Ambiguous(ids.join(", ")))
                }
            }
        }
    }
}
