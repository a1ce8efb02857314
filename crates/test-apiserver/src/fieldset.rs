//! Sets of field paths, as kept in `metadata.managedFields` (the `FieldsV1` format).
//!
//! A path is a list of elements in their `FieldsV1` spelling: `f:name` (a map field),
//! `k:{"name":"web"}` (a list item by its keys), `v:"x"` (a set item by value) and `i:3` (a list
//! item by index). A set holds the paths that are members; intermediate nodes are not members
//! unless they are listed themselves (a `.` entry in `FieldsV1`).

use std::collections::BTreeSet;

use serde_json::{Map, Value};

/// One path: elements in `FieldsV1` spelling.
pub(crate) type Path = Vec<String>;

/// A set of field paths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FieldSet(pub BTreeSet<Path>);

impl FieldSet {
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn insert(&mut self, path: Path) {
        self.0.insert(path);
    }

    pub(crate) fn contains(&self, path: &Path) -> bool {
        self.0.contains(path)
    }

    pub(crate) fn union(&self, other: &FieldSet) -> FieldSet {
        FieldSet(self.0.union(&other.0).cloned().collect())
    }

    pub(crate) fn difference(&self, other: &FieldSet) -> FieldSet {
        FieldSet(self.0.difference(&other.0).cloned().collect())
    }

    pub(crate) fn intersection(&self, other: &FieldSet) -> FieldSet {
        FieldSet(self.0.intersection(&other.0).cloned().collect())
    }

    /// Whether some member lies strictly below `path`.
    pub(crate) fn has_descendant(&self, path: &Path) -> bool {
        self.0
            .range(path.clone()..)
            .skip_while(|p| *p == path)
            .take_while(|p| p.starts_with(path))
            .next()
            .is_some()
    }

    /// Keeps only the paths for which `keep` holds.
    pub(crate) fn retain(&mut self, keep: impl Fn(&Path) -> bool) {
        self.0.retain(|p| keep(p));
    }

    /// The `FieldsV1` JSON tree of this set.
    pub(crate) fn to_fields_v1(&self) -> Value {
        let mut root = Map::new();
        for path in &self.0 {
            let mut node = &mut root;
            for element in path {
                node = node
                    .entry(element.clone())
                    .or_insert_with(|| Value::Object(Map::new()))
                    .as_object_mut()
                    .expect("field set nodes are objects");
            }
            node.shift_insert(0, ".".to_owned(), Value::Object(Map::new()));
        }
        collapse_members(&mut root);
        Value::Object(root)
    }

    /// Reads a `FieldsV1` JSON tree.
    pub(crate) fn from_fields_v1(value: &Value) -> FieldSet {
        let mut set = FieldSet::default();
        let mut path = Vec::new();
        read_node(value, &mut path, &mut set);
        set
    }
}

/// A node holding only `.` is a leaf member: `{}`.
fn collapse_members(node: &mut Map<String, Value>) {
    for (key, child) in node.iter_mut() {
        if key == "." {
            continue;
        }
        if let Value::Object(map) = child {
            if map.len() == 1 && map.contains_key(".") {
                map.clear();
            } else {
                collapse_members(map);
            }
        }
    }
}

fn read_node(value: &Value, path: &mut Path, set: &mut FieldSet) {
    let Some(map) = value.as_object() else { return };
    for (key, child) in map {
        if key == "." {
            set.insert(path.clone());
            continue;
        }
        path.push(key.clone());
        if child.as_object().is_some_and(Map::is_empty) {
            set.insert(path.clone());
        } else {
            read_node(child, path, set);
        }
        path.pop();
    }
}

/// The path as the real server prints it in conflict messages: `.spec.containers[name="web"].image`.
pub(crate) fn display(path: &Path) -> String {
    let mut out = String::new();
    for element in path {
        let (tag, rest) = element.split_at(2.min(element.len()));
        match tag {
            "f:" => {
                out.push('.');
                out.push_str(rest);
            }
            "k:" => {
                let keys: Map<String, Value> = serde_json::from_str(rest).unwrap_or_default();
                let parts: Vec<String> = keys.iter().map(|(k, v)| format!("{k}={v}")).collect();
                out.push('[');
                out.push_str(&parts.join(","));
                out.push(']');
            }
            "v:" => {
                out.push_str("[=");
                out.push_str(rest);
                out.push(']');
            }
            "i:" => {
                out.push('[');
                out.push_str(rest);
                out.push(']');
            }
            _ => out.push_str(element),
        }
    }
    out
}

/// Whether list `item` is the one `element` (`k:`, `v:` or `i:` at `index`) names.
fn item_matches(item: &Value, index: usize, element: &str) -> bool {
    if let Some(keys) = element.strip_prefix("k:") {
        let Ok(Value::Object(keys)) = serde_json::from_str::<Value>(keys) else {
            return false;
        };
        keys.iter().all(|(k, v)| match item.get(k) {
            Some(found) => found == v,
            // The server default of a missing `protocol` key (see `ssa::item_element`).
            None => k == "protocol" && v == "TCP",
        })
    } else if let Some(value) = element.strip_prefix("v:") {
        serde_json::from_str::<Value>(value).is_ok_and(|v| &v == item)
    } else if let Some(i) = element.strip_prefix("i:") {
        i.parse::<usize>().is_ok_and(|i| i == index)
    } else {
        false
    }
}

/// The value at `path`, if present.
pub(crate) fn get<'a>(mut value: &'a Value, path: &[String]) -> Option<&'a Value> {
    for element in path {
        value = match (value, element.strip_prefix("f:")) {
            (Value::Object(map), Some(field)) => map.get(field)?,
            (Value::Array(items), None) => {
                items
                    .iter()
                    .enumerate()
                    .find(|(i, item)| item_matches(item, *i, element))?
                    .1
            }
            _ => return None,
        };
    }
    Some(value)
}

/// Removes the value at `path`; returns whether something was removed.
pub(crate) fn remove(value: &mut Value, path: &[String]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut node = value;
    for element in parents {
        node = match (node, element.strip_prefix("f:")) {
            (Value::Object(map), Some(field)) => match map.get_mut(field) {
                Some(v) => v,
                None => return false,
            },
            (Value::Array(items), None) => {
                match items
                    .iter_mut()
                    .enumerate()
                    .find(|(i, item)| item_matches(item, *i, element))
                {
                    Some((_, v)) => v,
                    None => return false,
                }
            }
            _ => return false,
        };
    }
    match (node, last.strip_prefix("f:")) {
        (Value::Object(map), Some(field)) => map.shift_remove(field).is_some(),
        (Value::Array(items), None) => {
            let before = items.len();
            let mut index = 0;
            items.retain(|item| {
                let keep = !item_matches(item, index, last);
                index += 1;
                keep
            });
            items.len() != before
        }
        _ => false,
    }
}
