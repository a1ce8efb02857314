//! Legacy `vars`: values read from objects and substituted for `$(NAME)`.

use serde_json::Value;

use crate::fieldspec::{self, Create, FieldSpec};
use crate::res::{Gvk, ResId};
use crate::resmap::{self, ResMap};

/// Why variables could not be declared or resolved.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("var '{0}' already encountered")]
    Duplicate(String),
    #[error("found {0} resId matches for var {1} (unable to disambiguate)")]
    Ambiguous(usize, String),
    #[error("var '{0}' cannot be mapped to a field in the set of known resources")]
    Unmapped(String),
    #[error("field specified in var '{0}' not found in corresponding resource")]
    NoField(String),
    #[error("invalid var: {0}")]
    Invalid(String),
    #[error("{0}")]
    Field(String),
}

/// One declared variable.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Var {
    pub name: String,
    pub target: ResId,
    pub field_path: String,
}

impl Var {
    pub(crate) fn from_value(v: &Value) -> Result<Self, Error> {
        let name = v
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::Invalid("var has no name".into()))?;
        let o = v.get("objref").cloned().unwrap_or(Value::Null);
        let s = |k: &str| {
            o.get(k)
                .and_then(crate::res::scalar_text)
                .unwrap_or_default()
        };
        let mut gvk = Gvk {
            group: s("group"),
            version: s("version"),
            kind: s("kind"),
        };
        let av = s("apiVersion");
        if !av.is_empty() {
            match av.split_once('/') {
                Some((g, ver)) => {
                    g.clone_into(&mut gvk.group);
                    ver.clone_into(&mut gvk.version);
                }
                None => gvk.version = av,
            }
        }
        let field_path = v
            .get("fieldref")
            .and_then(|f| f.get("fieldpath").or_else(|| f.get("fieldPath")))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .unwrap_or("metadata.name")
            .to_owned();
        Ok(Self {
            name: name.to_owned(),
            target: ResId {
                gvk,
                name: s("name"),
                namespace: s("namespace"),
            },
            field_path,
        })
    }
}

/// Declares `incoming` variables, tagging the objects they read.
pub(crate) fn merge(m: &mut ResMap, vars: &mut Vec<Var>, incoming: &[Var]) -> Result<(), Error> {
    for v in incoming {
        let t = &v.target;
        let exact = !t.namespace.is_empty() || t.gvk.is_cluster_scoped();
        let hits = resmap::matching_any_id(m, |id| {
            if exact {
                id.equals(t)
            } else {
                id.name == t.name && id.gvk == t.gvk
            }
        });
        if hits.len() > 1 {
            return Err(Error::Ambiguous(hits.len(), v.name.clone()));
        }
        if let [i] = hits.as_slice() {
            m[*i].ref_var_names.push(v.name.clone());
        }
    }
    merge_set(vars, incoming)
}

pub(crate) fn merge_set(vars: &mut Vec<Var>, incoming: &[Var]) -> Result<(), Error> {
    for v in incoming {
        if vars.iter().any(|x| x.name == v.name) {
            return Err(Error::Duplicate(v.name.clone()));
        }
        vars.push(v.clone());
    }
    Ok(())
}

/// Reads a dotted field path (`spec.ports[0].port`) of an object.
pub(crate) fn field_value<'v>(obj: &'v Value, path: &str) -> Option<&'v Value> {
    let mut cur = obj;
    for seg in crate::replacements::split(path) {
        let (name, index) = match seg.find('[') {
            Some(i) => (&seg[..i], Some(seg[i + 1..].trim_end_matches(']'))),
            None => (seg.as_str(), None),
        };
        if !name.is_empty() {
            cur = cur.get(name)?;
        }
        if let Some(ix) = index {
            let items = cur.as_array()?;
            cur = if let Some((k, v)) = ix.split_once('=') {
                items
                    .iter()
                    .find(|e| e.get(k).and_then(crate::res::scalar_text).as_deref() == Some(v))?
            } else {
                items.get(ix.parse::<usize>().ok()?)?
            };
        }
    }
    Some(cur)
}

/// Expands `$(NAME)` references in `input`.
fn expand(input: &str, values: &[(String, Value)]) -> Value {
    let lookup = |k: &str| values.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let bytes = input.as_bytes();
    let mut out = String::new();
    let mut checkpoint = 0;
    let mut cursor = 0;
    while cursor < bytes.len() {
        if bytes[cursor] == b'$' && cursor + 1 < bytes.len() {
            out.push_str(&input[checkpoint..cursor]);
            let rest = &input[cursor + 1..];
            let (read, is_var, advance) = match rest.as_bytes()[0] {
                b'$' => ("$".to_owned(), false, 1),
                b'(' => match rest[1..].find(')') {
                    Some(i) => (rest[1..=i].to_owned(), true, i + 2),
                    None => ("$(".to_owned(), false, 1),
                },
                _ => {
                    let ch = rest.chars().next().expect("rest is not empty");
                    (format!("${ch}"), false, ch.len_utf8())
                }
            };
            if is_var {
                let mapped = lookup(&read);
                if input == format!("$({read})") {
                    return mapped.unwrap_or_else(|| Value::String(input.to_owned()));
                }
                match mapped {
                    Some(Value::String(s)) => out.push_str(&s),
                    Some(other) => out.push_str(&other.to_string()),
                    None => {
                        out.push_str("$(");
                        out.push_str(&read);
                        out.push(')');
                    }
                }
            } else {
                out.push_str(&read);
            }
            cursor += advance;
            checkpoint = cursor + 1;
        }
        cursor += 1;
    }
    if checkpoint < input.len() {
        out.push_str(&input[checkpoint..]);
    }
    Value::String(out)
}

fn replace_node(node: &mut Value, values: &[(String, Value)]) -> Result<(), String> {
    match node {
        Value::String(s) => {
            *node = expand(s, values);
            Ok(())
        }
        Value::Object(m) => {
            for v in m.values_mut() {
                if let Value::String(s) = v {
                    *v = expand(s, values);
                }
            }
            Ok(())
        }
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::String(s) => *item = expand(s, values),
                    _ => return Err("invalid value type expect a string".into()),
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Resolves every declared variable and substitutes it along `specs`.
pub(crate) fn resolve(m: &mut ResMap, vars: &[Var], specs: &[FieldSpec]) -> Result<(), Error> {
    let mut values = Vec::new();
    let mut sorted = vars.to_vec();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    for v in &sorted {
        let r = m
            .iter()
            .find(|r| r.ref_var_names.contains(&v.name))
            .ok_or_else(|| Error::Unmapped(v.name.clone()))?;
        let val =
            field_value(&r.obj, &v.field_path).ok_or_else(|| Error::NoField(v.name.clone()))?;
        values.push((v.name.clone(), val.clone()));
    }
    if values.is_empty() {
        return Ok(());
    }
    for r in m.iter_mut() {
        for fs in specs {
            fieldspec::apply(&mut r.obj, fs, Create::Nothing, &mut |n| {
                replace_node(n, &values)
            })
            .map_err(Error::Field)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn expands_references_and_keeps_types_for_whole_values() {
        let vals = vec![("A".to_owned(), json!("x")), ("N".to_owned(), json!(3))];
        assert_eq!(expand("a-$(A)-$(B)-$$", &vals), json!("a-x-$(B)-$"));
        assert_eq!(expand("$(N)", &vals), json!(3));
        assert_eq!(expand("p$(N)", &vals), json!("p3"));
    }
}
