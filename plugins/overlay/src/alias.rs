//! Fields that share one value, as kustomize's shared YAML nodes make them.
//!
//! When kustomize's label or annotation transformer adds a key that a map
//! lacks, every field it adds for that key in one resource holds the *same*
//! YAML node (`metadata.labels.team`, `spec.selector.matchLabels.team` and
//! `spec.template.metadata.labels.team` for `commonLabels`). Later steps
//! that write a value in place — another label transformer, a strategic
//! merge patch, a replacement — change that node, so every field holding it
//! changes with it, also in an overlay that only meant `metadata.labels`
//! (`labels` without `includeSelectors`). A JSON patch rebuilds the resource
//! from JSON and ends the sharing. kiln keeps the groups of such fields per
//! resource and mirrors a change to one onto the others.

use serde_json::Value;

use crate::res::Res;

/// One step of a path from an object's root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

/// Fields of one resource that hold one shared value.
pub(crate) type Group = Vec<Vec<Seg>>;

pub(crate) fn get<'a>(v: &'a Value, path: &[Seg]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, seg| match seg {
        Seg::Key(k) => v.as_object()?.get(k),
        Seg::Index(i) => v.as_array()?.get(*i),
    })
}

fn get_mut<'a>(v: &'a mut Value, path: &[Seg]) -> Option<&'a mut Value> {
    path.iter().try_fold(v, |v, seg| match seg {
        Seg::Key(k) => v.as_object_mut()?.get_mut(k),
        Seg::Index(i) => v.as_array_mut()?.get_mut(*i),
    })
}

/// The value of every field of every group, to compare after a step.
pub(crate) fn snapshot(r: &Res) -> Vec<Vec<Option<Value>>> {
    r.links
        .iter()
        .map(|g| g.iter().map(|p| get(&r.obj, p).cloned()).collect())
        .collect()
}

/// After a step that writes values in place: a field of a group whose value
/// the step changed passes the new value to the group's other fields; a
/// field the step removed leaves its group.
pub(crate) fn sync(r: &mut Res, before: &[Vec<Option<Value>>]) {
    let mut links = std::mem::take(&mut r.links);
    for (group, was) in links.iter_mut().zip(before) {
        let now: Vec<Option<Value>> = group.iter().map(|p| get(&r.obj, p).cloned()).collect();
        let changed = now
            .iter()
            .zip(was)
            .find_map(|(n, w)| n.as_ref().filter(|n| Some(*n) != w.as_ref()).cloned());
        if let Some(value) = changed.filter(|v| !v.is_object() && !v.is_array()) {
            for (p, n) in group.iter().zip(&now) {
                if n.as_ref() != Some(&value)
                    && let Some(slot) = get_mut(&mut r.obj, p)
                {
                    *slot = value.clone();
                }
            }
        }
        let mut keep = now.iter().map(Option::is_some);
        group.retain(|_| keep.next().unwrap_or(false));
    }
    links.retain(|g| g.len() > 1);
    r.links = links;
}

/// Sets `path` to `value` in place, and every field sharing its value.
pub(crate) fn set_shared(r: &mut Res, path: &[Seg], value: &Value) {
    let Some(group) = r.links.iter().find(|g| g.iter().any(|p| p == path)) else {
        return;
    };
    for p in group {
        if let Some(slot) = get_mut(&mut r.obj, p) {
            *slot = value.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(path: &[&str]) -> Vec<Seg> {
        path.iter().map(|k| Seg::Key((*k).to_owned())).collect()
    }

    fn res() -> Res {
        let mut r = Res::new(json!({
            "metadata": {"labels": {"team": "a"}},
            "spec": {"selector": {"team": "a"}, "other": {"team": "a"}}
        }));
        r.links = vec![vec![
            key(&["metadata", "labels", "team"]),
            key(&["spec", "selector", "team"]),
        ]];
        r
    }

    #[test]
    fn a_change_to_one_field_of_a_group_reaches_the_others_only() {
        let mut r = res();
        let before = snapshot(&r);
        r.obj["metadata"]["labels"]["team"] = json!("b");
        sync(&mut r, &before);
        assert_eq!(r.obj["spec"]["selector"]["team"], json!("b"));
        assert_eq!(r.obj["spec"]["other"]["team"], json!("a"));
    }

    #[test]
    fn a_removed_field_leaves_its_group() {
        let mut r = res();
        let before = snapshot(&r);
        r.obj["spec"]["selector"]
            .as_object_mut()
            .unwrap()
            .remove("team");
        sync(&mut r, &before);
        assert!(r.links.is_empty());
        let before = snapshot(&r);
        r.obj["metadata"]["labels"]["team"] = json!("c");
        sync(&mut r, &before);
        assert_eq!(r.obj["spec"]["selector"].get("team"), None);
    }

    #[test]
    fn set_shared_writes_every_field_of_the_group() {
        let mut r = res();
        set_shared(&mut r, &key(&["spec", "selector", "team"]), &json!("z"));
        assert_eq!(r.obj["metadata"]["labels"]["team"], json!("z"));
        assert_eq!(r.obj["spec"]["other"]["team"], json!("a"));
    }
}
