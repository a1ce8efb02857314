//! Field ownership: the field sets of objects, server-side apply, and `managedFields` bookkeeping
//! for ordinary writes.

use serde_json::{Map, Value, json};

use crate::fieldset::{self, FieldSet, Path};
pub(crate) use crate::managed::{Entry, entries, set_entries};
use crate::schema::{ListType, Schema};

/// Who writes, and through which endpoint.
#[derive(Debug, Clone)]
pub(crate) struct Writer<'a> {
    pub(crate) schema: Schema<'a>,
    pub(crate) api_version: &'a str,
    pub(crate) manager: &'a str,
    /// `Some("status")` for writes to the status subresource.
    pub(crate) subresource: Option<&'a str>,
    /// Whether the type has a status subresource (then main writes do not own status).
    pub(crate) status_subresource: bool,
    pub(crate) now: &'a str,
}

impl Writer<'_> {
    /// Whether `path` is tracked by a write through this endpoint.
    fn tracks(&self, path: &Path) -> bool {
        const IGNORED_META: &[&str] = &[
            "f:name",
            "f:namespace",
            "f:generateName",
            "f:uid",
            "f:resourceVersion",
            "f:generation",
            "f:creationTimestamp",
            "f:managedFields",
            "f:selfLink",
            "f:deletionTimestamp",
            "f:deletionGracePeriodSeconds",
        ];
        if self.subresource == Some("scale") {
            return path.len() == 2 && path[0] == "f:spec" && path[1] == "f:replicas";
        }
        match path.first().map(String::as_str) {
            None | Some("f:apiVersion" | "f:kind") => false,
            Some("f:metadata") => {
                self.subresource.is_none()
                    && path
                        .get(1)
                        .is_some_and(|p| !IGNORED_META.contains(&p.as_str()))
            }
            Some("f:status") => self.subresource == Some("status") || !self.status_subresource,
            Some(_) => self.subresource.is_none(),
        }
    }

    /// The set of fields `obj` sets, as seen by this endpoint: leaves, atomic values and list
    /// items; with `maps`, free-form maps are members too (as in the sets of `Update` writes).
    pub(crate) fn field_set(&self, obj: &Value, maps: bool) -> FieldSet {
        let mut set = FieldSet::default();
        let walker = Walker {
            schema: self.schema,
            maps,
        };
        walker.walk(obj, &mut Vec::new(), &mut Vec::new(), &mut set);
        set.retain(|p| self.tracks(p));
        set
    }
}

struct Walker<'a> {
    schema: Schema<'a>,
    maps: bool,
}

impl Walker<'_> {
    fn walk<'v>(
        &self,
        value: &'v Value,
        path: &mut Path,
        names: &mut Vec<&'v str>,
        set: &mut FieldSet,
    ) {
        let schema = self.schema;
        match value {
            Value::Object(map)
                if !path.is_empty() && (map.is_empty() || schema.atomic_map(names)) =>
            {
                set.insert(path.clone());
            }
            Value::Object(map) => {
                let list_item = path.last().is_some_and(|e| !e.starts_with("f:"));
                if list_item || (self.maps && schema.granular_map(names)) {
                    set.insert(path.clone());
                }
                for (key, child) in map {
                    path.push(format!("f:{key}"));
                    names.push(key);
                    self.walk(child, path, names, set);
                    names.pop();
                    path.pop();
                }
            }
            Value::Array(items) => match schema.list_type(names) {
                ListType::Atomic => set.insert(path.clone()),
                ListType::Set => {
                    for item in items {
                        let mut p = path.clone();
                        p.push(format!("v:{item}"));
                        set.insert(p);
                    }
                }
                ListType::Map(keys) => {
                    let keys = keys.names();
                    for (index, item) in items.iter().enumerate() {
                        path.push(item_element(item, &keys, index));
                        self.walk(item, path, names, set);
                        path.pop();
                    }
                }
            },
            _ => set.insert(path.clone()),
        }
    }
}

/// The `k:{...}` element of an associative-list item (`i:N` when it has none of the keys).
///
/// A missing `protocol` key counts as `TCP`, the server default, so that ports applied with and
/// without it are the same item.
fn item_element(item: &Value, keys: &[&str], index: usize) -> String {
    let mut key = Map::new();
    for k in keys {
        match item.get(*k) {
            Some(v) => {
                key.insert((*k).to_owned(), v.clone());
            }
            None if *k == "protocol" && keys.len() > 1 => {
                key.insert((*k).to_owned(), Value::String("TCP".to_owned()));
            }
            None => {}
        }
    }
    if key.len() <= usize::from(key.contains_key("protocol") && item.get("protocol").is_none()) {
        format!("i:{index}")
    } else {
        format!("k:{}", Value::Object(key))
    }
}

/// Merges an applied configuration into the live object: maps and associative lists field by
/// field, everything else replaced.
pub(crate) fn merge(
    schema: Schema<'_>,
    live: &Value,
    config: &Value,
    names: &mut Vec<String>,
) -> Value {
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    match (live, config) {
        (Value::Object(l), Value::Object(c)) if !schema.atomic_map(&name_refs) => {
            let mut out = l.clone();
            for (key, value) in c {
                if value.is_null() {
                    out.shift_remove(key);
                    continue;
                }
                names.push(key.clone());
                let merged = merge(schema, l.get(key).unwrap_or(&Value::Null), value, names);
                names.pop();
                out.insert(key.clone(), merged);
            }
            Value::Object(out)
        }
        (Value::Array(l), Value::Array(c)) => match schema.list_type(&name_refs) {
            ListType::Atomic => config.clone(),
            ListType::Set => {
                let mut out = l.clone();
                out.extend(c.iter().filter(|v| !l.contains(v)).cloned());
                Value::Array(out)
            }
            ListType::Map(keys) => {
                let keys = keys.names();
                let mut out = l.clone();
                for (index, item) in c.iter().enumerate() {
                    let element = item_element(item, &keys, index);
                    let found = out.iter().position(|o| {
                        element.starts_with("k:") && item_element(o, &keys, 0) == element
                    });
                    match found {
                        Some(i) => out[i] = merge(schema, &out[i].clone(), item, names),
                        None => out.push(item.clone()),
                    }
                }
                Value::Array(out)
            }
        },
        _ => config.clone(),
    }
}

/// The fields that differ between two versions: added or changed, and removed.
pub(crate) struct Changes {
    pub(crate) changed: FieldSet,
    pub(crate) removed: FieldSet,
}

pub(crate) fn compare(writer: &Writer<'_>, old: &Value, new: &Value) -> Changes {
    let old_set = writer.field_set(old, true);
    let new_set = writer.field_set(new, true);
    let mut changed = new_set.difference(&old_set);
    for path in old_set.intersection(&new_set).0 {
        let leaf = !new_set.has_descendant(&path);
        if leaf && fieldset::get(old, &path) != fieldset::get(new, &path) {
            changed.insert(path);
        }
    }
    Changes {
        changed,
        removed: old_set.difference(&new_set),
    }
}

/// Records an ordinary (non-apply) write from `old` (absent on create) to `new` in `new`'s
/// managed fields: the writer gains what it changed, the others lose it.
pub(crate) fn track_update(writer: &Writer<'_>, old: Option<&Value>, new: &mut Value) {
    let mut list = old.map(entries).unwrap_or_default();
    let changes = compare(writer, old.unwrap_or(&Value::Null), new);
    let touched = changes.changed.union(&changes.removed);
    for entry in &mut list {
        entry.fields = entry.fields.difference(&touched);
    }
    if !changes.changed.is_empty() {
        let sub = writer.subresource;
        match list
            .iter_mut()
            .find(|e| e.is(writer.manager, "Update", sub))
        {
            Some(entry) => {
                entry.fields = entry.fields.union(&changes.changed);
                writer.now.clone_into(&mut entry.time);
                writer.api_version.clone_into(&mut entry.api_version);
            }
            None => list.push(Entry {
                manager: writer.manager.to_owned(),
                operation: "Update".to_owned(),
                api_version: writer.api_version.to_owned(),
                time: writer.now.to_owned(),
                subresource: sub.map(str::to_owned),
                fields: changes.changed,
            }),
        }
    }
    set_entries(new, &list);
}

/// A field another manager owns with a different value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Conflict {
    pub(crate) manager: String,
    pub(crate) path: String,
}

/// Server-side apply of `config` onto `live` (`Value::Null` when absent). Returns the new object
/// with its managed fields, or the conflicts when `force` is off.
pub(crate) fn apply(
    writer: &Writer<'_>,
    live: &Value,
    config: &Value,
    force: bool,
) -> Result<Value, Vec<Conflict>> {
    let base = if live.is_null() {
        json!({})
    } else {
        live.clone()
    };
    let mut list = entries(&base);
    if !live.is_null() && list.is_empty() {
        // An object nobody manages yet: its current fields belong to a stand-in manager, so the
        // first apply conflicts where it would change them (as on the real server).
        list.push(Entry {
            manager: "before-first-apply".to_owned(),
            operation: "Update".to_owned(),
            api_version: writer.api_version.to_owned(),
            time: writer.now.to_owned(),
            subresource: None,
            fields: writer.field_set(&base, true),
        });
    }
    let sub = writer.subresource;
    let applied_set = writer.field_set(config, false);
    let mut merged = merge(writer.schema, &base, config, &mut Vec::new());
    let changes = compare(writer, &base, &merged);

    let mut conflicts = Vec::new();
    for entry in list
        .iter_mut()
        .filter(|e| !e.is(writer.manager, "Apply", sub))
    {
        let clash = entry.fields.intersection(&changes.changed);
        if clash.is_empty() {
            continue;
        }
        if force {
            entry.fields = entry.fields.difference(&clash);
        } else {
            conflicts.extend(clash.0.iter().map(|p| Conflict {
                manager: entry.describe(),
                path: fieldset::display(p),
            }));
        }
    }
    if !conflicts.is_empty() {
        return Err(conflicts);
    }

    let position = list.iter().position(|e| e.is(writer.manager, "Apply", sub));
    let previous = position.map(|i| list[i].fields.clone()).unwrap_or_default();
    let others = list
        .iter()
        .filter(|e| !e.is(writer.manager, "Apply", sub))
        .fold(FieldSet::default(), |acc, e| acc.union(&e.fields));
    let keep = others.union(&applied_set);
    prune(&mut merged, &previous.difference(&keep), &keep);

    let entry = Entry {
        manager: writer.manager.to_owned(),
        operation: "Apply".to_owned(),
        api_version: writer.api_version.to_owned(),
        time: writer.now.to_owned(),
        subresource: sub.map(str::to_owned),
        fields: applied_set,
    };
    match position {
        Some(i) => list[i] = entry,
        None => list.push(entry),
    }
    if merged.get("metadata").is_none() {
        merged["metadata"] = json!({});
    }
    set_entries(&mut merged, &list);
    Ok(merged)
}

/// Removes the fields in `remove` (shortest paths first), keeping those under which some
/// manager still owns something (`keep`), and drops maps and lists the removal left empty.
fn prune(obj: &mut Value, remove: &FieldSet, keep: &FieldSet) {
    for path in &remove.0 {
        if keep.has_descendant(path) {
            continue;
        }
        if fieldset::remove(obj, path) {
            for len in (1..path.len()).rev() {
                let parent = path[..len].to_vec();
                let empty = fieldset::get(obj, &parent).is_some_and(|v| {
                    v.as_object().is_some_and(Map::is_empty)
                        || v.as_array().is_some_and(Vec::is_empty)
                });
                if !empty || keep.contains(&parent) {
                    break;
                }
                fieldset::remove(obj, &parent);
            }
        }
    }
}

#[cfg(test)]
#[path = "ssa_tests.rs"]
mod tests;
