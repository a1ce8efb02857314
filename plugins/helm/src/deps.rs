//! Dependencies: presence check, aliases, `condition`/`tags` enabling, and
//! `import-values`, in the order and with the quirks of Helm.

use serde_json::{Map, Value};

use crate::chart::Chart;
use crate::semver;
use crate::values::{coalesce_chart, coalesce_tables, path_value, table};

/// Why dependencies could not be processed.
#[derive(Debug, thiserror::Error)]
pub enum DepsError {
    #[error(
        "an error occurred while checking for chart dependencies. You may need to run 'helm dependency build' to fetch missing dependencies: found in Chart.yaml, but missing in charts/ directory: {0}"
    )]
    Missing(String),
    #[error("chart dependencies processing failed: {0}")]
    Values(String),
}

/// Every dependency of `Chart.yaml` must be present in `charts/`.
pub(crate) fn check(chart: &Chart) -> Result<(), DepsError> {
    let missing: Vec<&str> = chart
        .metadata
        .dependencies
        .iter()
        .filter(|r| !chart.dependencies.iter().any(|d| d.name() == r.name))
        .map(|r| r.name.as_str())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(DepsError::Missing(missing.join(", ")))
    }
}

/// Applies aliases and drops disabled dependencies, then imports values.
pub(crate) fn process(chart: &mut Chart, vals: &Map<String, Value>) -> Result<(), DepsError> {
    enabled(chart, vals, "").map_err(DepsError::Values)?;
    import_all(chart).map_err(DepsError::Values)
}

fn enabled(c: &mut Chart, v: &Map<String, Value>, path: &str) -> Result<(), String> {
    if c.metadata.dependencies.is_empty() {
        return Ok(());
    }
    let existing = std::mem::take(&mut c.dependencies);
    let mut deps: Vec<Chart> = existing
        .iter()
        .filter(|e| {
            !c.metadata
                .dependencies
                .iter()
                .any(|r| e.name() == r.name && semver::matches(&r.version, &e.metadata.version))
        })
        .cloned()
        .collect();
    for req in &mut c.metadata.dependencies {
        if let Some(found) = existing
            .iter()
            .find(|e| e.name() == req.name && semver::matches(&req.version, &e.metadata.version))
        {
            let mut out = found.clone();
            if !req.alias.is_empty() {
                out.metadata.name.clone_from(&req.alias);
            }
            deps.push(out);
        }
        if !req.alias.is_empty() {
            req.name.clone_from(&req.alias);
        }
    }
    c.dependencies = deps;
    for r in &mut c.metadata.dependencies {
        r.enabled = true;
    }
    let cvals = coalesce_chart(c, v, false)?;
    tags(c, &cvals);
    conditions(c, &cvals, path);
    let removed: Vec<String> = c
        .metadata
        .dependencies
        .iter()
        .filter(|r| !r.enabled)
        .map(|r| r.name.clone())
        .collect();
    c.dependencies
        .retain(|d| !removed.contains(&d.metadata.name));
    c.metadata
        .dependencies
        .retain(|r| !removed.contains(&r.name));
    for t in &mut c.dependencies {
        let sub = format!("{path}{}.", t.metadata.name);
        enabled(t, &cvals, &sub)?;
    }
    Ok(())
}

fn tags(c: &mut Chart, cvals: &Map<String, Value>) {
    let Some(vt) = table(cvals, "tags") else {
        return;
    };
    for r in &mut c.metadata.dependencies {
        let (mut has_true, mut has_false) = (false, false);
        for k in &r.tags {
            match vt.get(k) {
                Some(Value::Bool(true)) => has_true = true,
                Some(Value::Bool(false)) => has_false = true,
                _ => {}
            }
        }
        r.enabled = has_true || !has_false;
    }
}

fn conditions(c: &mut Chart, cvals: &Map<String, Value>, path: &str) {
    for r in &mut c.metadata.dependencies {
        for cond in r.condition.trim().split(',') {
            if cond.is_empty() {
                continue;
            }
            if let Some(Value::Bool(b)) = path_value(cvals, &format!("{path}{cond}")) {
                r.enabled = *b;
                break;
            }
        }
    }
}

fn import_all(c: &mut Chart) -> Result<(), String> {
    for d in &mut c.dependencies {
        import_all(d)?;
    }
    import(c)
}

fn path_to_map(path: &str, data: Map<String, Value>) -> Map<String, Value> {
    if path == "." {
        return data;
    }
    let mut cur = data;
    for part in path.split('.').rev() {
        let mut m = Map::new();
        m.insert(part.to_owned(), Value::Object(cur));
        cur = m;
    }
    cur
}

fn import(c: &mut Chart) -> Result<(), String> {
    if c.metadata.dependencies.is_empty() {
        return Ok(());
    }
    let cvals = coalesce_chart(c, &Map::new(), true)?;
    let mut b = Map::new();
    for r in &mut c.metadata.dependencies {
        let mut out = Vec::new();
        for riv in &r.import_values {
            let (child, parent) = match riv {
                Value::Object(iv) => {
                    let s = |k: &str| match iv.get(k) {
                        Some(Value::String(s)) => s.clone(),
                        Some(Value::Null) | None => "<nil>".to_owned(),
                        Some(other) => other.to_string(),
                    };
                    (s("child"), s("parent"))
                }
                Value::String(s) => (format!("exports.{s}"), ".".to_owned()),
                _ => continue,
            };
            out.push(serde_json::json!({"child": child, "parent": parent}));
            let Some(vv) = table(&cvals, &format!("{}.{child}", r.name)) else {
                continue;
            };
            coalesce_tables(&mut b, path_to_map(&parent, vv.clone()), true);
        }
        r.import_values = out;
    }
    let mut merged = cvals;
    coalesce_tables(&mut merged, b, true);
    c.values = merged;
    Ok(())
}
