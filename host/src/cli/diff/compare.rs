//! Comparing two renders resource by resource, and printing the result.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Value, json};

/// The rendered resources of an app, or why its render failed.
type Rendered = Result<Vec<Value>, String>;

/// The renders of each app on one side.
pub(super) type Side = [(String, Rendered)];

/// What happened to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// Only in head.
    Added,
    /// Only in base.
    Removed,
    /// In both, different.
    Changed,
}

impl Change {
    fn as_str(self) -> &'static str {
        match self {
            Self::Added => "added",
            Self::Removed => "removed",
            Self::Changed => "changed",
        }
    }
}

/// One differing resource.
#[derive(Debug, Clone)]
pub(crate) struct ResourceDiff {
    /// `group/kind/namespace/name` (`_` for no namespace).
    pub(crate) id: String,
    /// What happened.
    pub(crate) change: Change,
    /// The unified diff, Secret values masked.
    pub(crate) diff: String,
}

/// The differences in one app.
#[derive(Debug, Clone)]
pub(crate) struct AppDiff {
    /// The app's path.
    pub(crate) app: String,
    /// Why a render failed, if one did.
    pub(crate) error: Option<String>,
    /// Differing resources, in id order.
    pub(crate) resources: Vec<ResourceDiff>,
}

/// Compares the renders of every app present on either side.
pub(super) fn compare(base: &Side, head: &Side, context: usize) -> Vec<AppDiff> {
    let mut apps: BTreeMap<&str, (Option<&Rendered>, Option<&Rendered>)> = BTreeMap::new();
    for (label, r) in base {
        apps.entry(label.as_str()).or_default().0 = Some(r);
    }
    for (label, r) in head {
        apps.entry(label.as_str()).or_default().1 = Some(r);
    }
    let empty = Ok(Vec::new());
    let mut out = Vec::new();
    for (app, (b, h)) in apps {
        let (b, h) = (b.unwrap_or(&empty), h.unwrap_or(&empty));
        let diff = match (b, h) {
            (Err(e), _) => AppDiff {
                app: app.to_owned(),
                error: Some(format!("base: {e}")),
                resources: Vec::new(),
            },
            (_, Err(e)) => AppDiff {
                app: app.to_owned(),
                error: Some(format!("head: {e}")),
                resources: Vec::new(),
            },
            (Ok(b), Ok(h)) => AppDiff {
                app: app.to_owned(),
                error: None,
                resources: resources(app, b, h, context),
            },
        };
        out.push(diff);
    }
    out
}

fn id_of(r: &Value) -> String {
    let api = r["apiVersion"].as_str().unwrap_or_default();
    let group = api.rsplit_once('/').map_or("", |(g, _)| g);
    let kind = r["kind"].as_str().unwrap_or("?");
    let ns = r["metadata"]["namespace"].as_str().unwrap_or("_");
    let name = r["metadata"]["name"]
        .as_str()
        .or_else(|| r["metadata"]["generateName"].as_str())
        .unwrap_or("?");
    let kind = if group.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}.{group}")
    };
    format!("{kind}/{ns}/{name}")
}

fn by_id(resources: &[Value]) -> BTreeMap<String, &Value> {
    let mut map = BTreeMap::new();
    for r in resources {
        let id = id_of(r);
        let mut key = id.clone();
        let mut n = 1;
        while map.contains_key(&key) {
            n += 1;
            key = format!("{id}#{n}");
        }
        map.insert(key, r);
    }
    map
}

fn resources(app: &str, base: &[Value], head: &[Value], context: usize) -> Vec<ResourceDiff> {
    let (b, h) = (by_id(base), by_id(head));
    let mut ids: Vec<&String> = b.keys().chain(h.keys()).collect();
    ids.sort();
    ids.dedup();
    let mut out = Vec::new();
    for id in ids {
        let (before, after) = (b.get(id).copied(), h.get(id).copied());
        if before == after {
            continue;
        }
        let (before, after) = mask(before, after);
        let text = |v: &Option<Value>| {
            v.as_ref()
                .map(kiln_resource::yaml::to_string)
                .unwrap_or_default()
        };
        let (bt, ht) = (text(&before), text(&after));
        let change = match (&before, &after) {
            (None, _) => Change::Added,
            (_, None) => Change::Removed,
            _ => Change::Changed,
        };
        let old = if before.is_some() {
            format!("base/{app}/{id}")
        } else {
            "/dev/null".to_owned()
        };
        let new = if after.is_some() {
            format!("head/{app}/{id}")
        } else {
            "/dev/null".to_owned()
        };
        let diff = similar::TextDiff::from_lines(&bt, &ht)
            .unified_diff()
            .context_radius(context)
            .header(&old, &new)
            .to_string();
        out.push(ResourceDiff {
            id: id.clone(),
            change,
            diff,
        });
    }
    out
}

/// Copies of the two versions with Secret `data`/`stringData` values
/// replaced: equal values by `***`, differing ones by `*** (base)` and
/// `*** (head)`, so a change shows without showing the value.
fn mask(before: Option<&Value>, after: Option<&Value>) -> (Option<Value>, Option<Value>) {
    let (mut b, mut a) = (before.cloned(), after.cloned());
    for field in ["data", "stringData"] {
        let other_b = before.filter(|v| is_secret(v)).map(|v| v[field].clone());
        let other_a = after.filter(|v| is_secret(v)).map(|v| v[field].clone());
        for (mine, other, tag) in [(&mut b, &other_a, "base"), (&mut a, &other_b, "head")] {
            let Some(doc) = mine.as_mut().filter(|v| is_secret(v)) else {
                continue;
            };
            let Some(map) = doc.get_mut(field).and_then(Value::as_object_mut) else {
                continue;
            };
            for (k, v) in map.iter_mut() {
                let same = other.as_ref().is_some_and(|o| o.get(k) == Some(v));
                *v = Value::String(if same {
                    "***".to_owned()
                } else {
                    format!("*** ({tag})")
                });
            }
        }
    }
    (b, a)
}

fn is_secret(v: &Value) -> bool {
    v["kind"] == "Secret" && v["apiVersion"] == "v1"
}

/// Unified diffs, one per resource.
pub(super) fn text(diffs: &[AppDiff]) -> String {
    diffs
        .iter()
        .flat_map(|d| d.resources.iter().map(|r| r.diff.clone()))
        .collect()
}

/// One JSON document.
pub(super) fn json(diffs: &[AppDiff], base: &str, head: &str) -> String {
    let apps: Vec<Value> = diffs
        .iter()
        .map(|d| {
            json!({
                "app": d.app,
                "error": d.error,
                "resources": d.resources.iter().map(|r| json!({"id": r.id, "change": r.change.as_str(), "diff": r.diff})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let equal = diffs
        .iter()
        .all(|d| d.error.is_none() && d.resources.is_empty());
    let mut out = serde_json::to_string_pretty(
        &json!({"base": base, "head": head, "equal": equal, "apps": apps}),
    )
    .expect("JSON values always serialise");
    out.push('\n');
    out
}

/// A summary table, then one collapsible diff per resource.
pub(super) fn markdown(diffs: &[AppDiff], base: &str, head: &str) -> String {
    let mut out = format!("### kiln diff `{base}` → `{head}`\n\n");
    let changed: Vec<&AppDiff> = diffs
        .iter()
        .filter(|d| d.error.is_some() || !d.resources.is_empty())
        .collect();
    if changed.is_empty() {
        let _ = writeln!(out, "No changes in {} app(s).", diffs.len());
        return out;
    }
    out.push_str("| App | Added | Removed | Changed |\n| --- | ---: | ---: | ---: |\n");
    for d in &changed {
        let count = |c: Change| d.resources.iter().filter(|r| r.change == c).count();
        if let Some(e) = &d.error {
            let _ = writeln!(
                out,
                "| `{}` | render failed: {} | | |",
                d.app,
                e.replace('|', "\\|").replace('\n', " ")
            );
        } else {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                d.app,
                count(Change::Added),
                count(Change::Removed),
                count(Change::Changed)
            );
        }
    }
    let unchanged = diffs.len() - changed.len();
    if unchanged > 0 {
        let _ = writeln!(out, "\n{unchanged} app(s) unchanged.");
    }
    for d in &changed {
        for r in &d.resources {
            let _ = write!(
                out,
                "\n<details><summary><code>{}</code>: {} ({})</summary>\n\n```diff\n{}```\n\n</details>\n",
                d.app,
                r.id,
                r.change.as_str(),
                r.diff.replace("```", "` ` `")
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_and_changes_found() {
        let secret = |v: &str| json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": v, "same": "eA=="}});
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}});
        let base = vec![("app".to_owned(), Ok(vec![secret("b2xk"), cm.clone()]))];
        let head = vec![("app".to_owned(), Ok(vec![secret("bmV3")]))];
        let diffs = compare(&base, &head, 3);
        let res = &diffs[0].resources;
        assert_eq!(res.len(), 2);
        assert_eq!(res[0].change, Change::Removed);
        assert_eq!(res[0].id, "ConfigMap/n/c");
        assert_eq!(res[1].change, Change::Changed);
        assert!(
            !res[1].diff.contains("b2xk") && !res[1].diff.contains("bmV3"),
            "{}",
            res[1].diff
        );
        assert!(
            res[1].diff.contains("-  k: '*** (base)'")
                || res[1].diff.contains("-  k: \"*** (base)\""),
            "{}",
            res[1].diff
        );
        assert!(
            !res[1].diff.contains("-  same"),
            "equal values are not shown as changed: {}",
            res[1].diff
        );
        assert!(markdown(&diffs, "a", "b").contains("<details>"));
    }
}
