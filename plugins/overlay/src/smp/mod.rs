//! Strategic merge patches as kustomize applies them: maps merge field by
//! field, `null` deletes, `$patch: delete|replace|merge` directives, lists
//! merge by key where the type's schema says so and are replaced otherwise.

mod keyed;
mod schema;

use serde_json::Value;

pub(crate) use schema::Ty;

const DIRECTIVE: &str = "$patch";

/// Applies `patch` to `target` (a whole resource). Returns `None` when the
/// patch deletes the resource.
pub(crate) fn apply(
    target: &Value,
    patch: &Value,
    custom: Option<&Value>,
) -> Result<Option<Value>, String> {
    let av = target
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let kind = target
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let ty = schema::root_type(av, kind, custom);
    let cx = Cx { custom };
    cx.walk(Some(target.clone()), patch, &ty, None)
}

/// Drops the fields of `paths` that still hold no value from `obj`, as
/// kustomize's merge does while it walks a patched resource: in every
/// mapping it reaches, which is all but the elements of lists merged as a
/// whole (lists without a merge key in the type's schema). The paths it
/// dropped leave `paths`.
pub(crate) fn drop_empty_values(
    obj: &mut Value,
    paths: &mut Vec<Vec<crate::alias::Seg>>,
    custom: Option<&Value>,
) {
    use crate::alias::Seg;
    if paths.is_empty() {
        return;
    }
    let av = obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
    let root = schema::root_type(av, kind, custom);
    paths.retain(|path| {
        let Some((Seg::Key(last), parents)) = path.split_last() else {
            return true;
        };
        let mut ty = root.clone();
        let mut merged_list = false;
        let mut at = &mut *obj;
        for seg in parents {
            at = match (seg, at) {
                (Seg::Key(k), Value::Object(m)) => {
                    let (child, strategy) = schema::field(&ty, k, custom);
                    ty = child;
                    merged_list = strategy.is_some_and(|s| s.merge);
                    match m.get_mut(k) {
                        Some(v) => v,
                        None => return false,
                    }
                }
                (Seg::Index(i), Value::Array(items)) if merged_list => {
                    merged_list = false;
                    match items.get_mut(*i) {
                        Some(v) => v,
                        None => return false,
                    }
                }
                // A list replaced whole keeps its elements as written.
                (Seg::Index(_), Value::Array(_)) => return true,
                _ => return false,
            };
        }
        match at {
            Value::Object(m) if m.get(last).is_some_and(Value::is_null) => {
                m.remove(last);
                false
            }
            Value::Object(m) => m.contains_key(last),
            _ => false,
        }
    });
}

struct Cx<'a> {
    custom: Option<&'a Value>,
}

fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Object(_) => "MappingNode",
        Value::Array(_) => "SequenceNode",
        Value::Null => "null",
        _ => "ScalarNode",
    }
}

impl Cx<'_> {
    fn walk(
        &self,
        dest: Option<Value>,
        patch: &Value,
        ty: &Ty,
        list: Option<&schema::ListStrategy>,
    ) -> Result<Option<Value>, String> {
        let dest = dest.filter(|d| !d.is_null());
        let shape = dest.as_ref().unwrap_or(patch);
        match shape {
            Value::Object(_) => {
                if !patch.is_object() && !patch.is_null() {
                    return Err(format!(
                        "wrong node kind: expected MappingNode but got {}",
                        kind_name(patch)
                    ));
                }
                self.walk_map(dest, patch, ty)
            }
            Value::Array(_) => {
                if !patch.is_array() && !patch.is_null() {
                    return Err(format!(
                        "wrong node kind: expected SequenceNode but got {}",
                        kind_name(patch)
                    ));
                }
                match list {
                    Some(s) if s.merge => self.walk_assoc(dest, patch, ty, s),
                    _ => Ok(if patch.is_null() {
                        None
                    } else {
                        Some(patch.clone())
                    }),
                }
            }
            _ => {
                if dest.is_some() && (patch.is_object() || patch.is_array()) {
                    return Err(format!(
                        "wrong node kind: expected ScalarNode but got {}",
                        kind_name(patch)
                    ));
                }
                Ok(if patch.is_null() {
                    None
                } else {
                    Some(patch.clone())
                })
            }
        }
    }

    fn walk_map(
        &self,
        dest: Option<Value>,
        patch: &Value,
        ty: &Ty,
    ) -> Result<Option<Value>, String> {
        let Value::Object(pm) = patch else {
            // A null patch clears the field.
            return Ok(None);
        };
        let directive = match pm.get(DIRECTIVE) {
            None => "merge",
            Some(Value::String(s)) if s == "delete" || s == "replace" || s == "merge" => s.as_str(),
            Some(other) => {
                return Err(format!(
                    "unknown patch strategy '{}'",
                    crate::res::scalar_text(other).unwrap_or_default()
                ));
            }
        };
        let mut pm = pm.clone();
        pm.remove(DIRECTIVE);
        let mut out = match (directive, dest) {
            ("delete", _) => return Ok(None),
            ("replace", _) | (_, None) => pm.clone(),
            (_, Some(Value::Object(d))) => d,
            (_, Some(_)) => pm.clone(),
        };
        let mut keys: Vec<&String> = pm.keys().collect();
        keys.sort();
        for key in keys {
            let (child, strategy) = schema::field(ty, key, self.custom);
            let existing = out.get(key).cloned();
            match self.walk(existing, &pm[key], &child, strategy.as_ref())? {
                Some(v) => {
                    out.insert(key.clone(), v);
                }
                None => {
                    out.remove(key);
                }
            }
        }
        Ok(Some(Value::Object(out)))
    }

    fn walk_assoc(
        &self,
        dest: Option<Value>,
        patch: &Value,
        ty: &Ty,
        strategy: &schema::ListStrategy,
    ) -> Result<Option<Value>, String> {
        let Value::Array(items) = patch else {
            return Ok(None);
        };
        let mut items = items.clone();
        let directive = items.iter().position(|e| {
            e.as_object()
                .is_some_and(|m| m.len() == 1 && m.contains_key(DIRECTIVE))
        });
        if let Some(i) = directive {
            let d = items.remove(i);
            match d.get(DIRECTIVE).and_then(Value::as_str) {
                Some("delete") => return Ok(None),
                Some("replace") => return Ok(Some(Value::Array(items))),
                Some("merge") => {}
                other => {
                    return Err(format!(
                        "unknown patch strategy '{}'",
                        other.unwrap_or_default()
                    ));
                }
            }
        }
        let dest_items = match dest {
            Some(Value::Array(d)) => d,
            _ => Vec::new(),
        };
        let merged = if strategy.keys.is_empty() {
            merge_primitives(&dest_items, &items)
        } else {
            self.merge_keyed(dest_items, &items, &strategy.keys, ty)?
        };
        Ok(Some(Value::Array(merged)))
    }

    fn merge_keyed(
        &self,
        dest: Vec<Value>,
        patch: &[Value],
        keys: &[String],
        ty: &Ty,
    ) -> Result<Vec<Value>, String> {
        keyed::merge(dest, patch, keys, &mut |d, p| self.walk(d, p, ty, None))
    }
}

fn merge_primitives(dest: &[Value], patch: &[Value]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for v in patch.iter().chain(dest) {
        if !out.contains(v) {
            out.push(v.clone());
        }
    }
    out
}
