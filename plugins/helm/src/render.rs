//! Rendering every template of a chart and its subcharts with the engine,
//! as Helm's engine does (template order, per-chart values, error text).

use std::collections::BTreeMap;
use std::sync::Arc;

use kiln_gotmpl::{ErrorKind, Templates, Value};
use serde_json::Map;

use crate::chart::Chart;
use crate::chartyaml::chart_object;
use crate::files::Files;

/// A template that failed to parse or execute, worded as Helm words it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RenderError(pub String);

/// Converts values to template values: floats stay floats; integers (only
/// `--set` gives them: Helm's strvals parses them as `int64`) are `int64`.
pub(crate) fn to_template(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) if !n.is_f64() => Value::Int64(i),
            _ => Value::Float(n.as_f64().unwrap_or(0.0)),
        },
        serde_json::Value::String(s) => Value::String(s.clone()),
        serde_json::Value::Array(a) => Value::List(a.iter().map(to_template).collect()),
        serde_json::Value::Object(m) => {
            Value::Map(m.iter().map(|(k, v)| (k.clone(), to_template(v))).collect())
        }
    }
}

/// What every template of a render sees besides its chart's own data.
pub(crate) struct Top {
    /// `.Release`.
    pub release: Value,
    /// `.Capabilities`.
    pub capabilities: Value,
    /// The coalesced values of the top chart.
    pub values: Map<String, serde_json::Value>,
    /// Seed of the engine's random functions.
    pub seed: [u8; 32],
    /// Unix time of `now`.
    pub now: i64,
}

struct Renderable {
    text: String,
    /// The chart's top-level data, one map shared by all its files (as in Helm, where
    /// `set $ "Values" ...` in one file is seen by the files rendered after it).
    scope: kiln_gotmpl::Map,
    base_path: String,
}

fn collect(
    chart: &Chart,
    parent_path: Option<&str>,
    values: Value,
    top: &Top,
    out: &mut BTreeMap<String, Renderable>,
) -> BTreeMap<String, Value> {
    let full_path = match parent_path {
        Some(p) => format!("{p}/charts/{}", chart.name()),
        None => chart.name().to_owned(),
    };
    let mut subcharts = BTreeMap::new();
    for child in &chart.dependencies {
        let child_values = match &values {
            Value::Map(m) => match m.get(child.name()) {
                Some(v @ Value::Map(_)) => v.clone(),
                _ => Value::empty_map(),
            },
            _ => Value::empty_map(),
        };
        let next = collect(child, Some(&full_path), child_values, top, out);
        subcharts.insert(child.name().to_owned(), Value::from(next));
    }
    let mut next = BTreeMap::new();
    next.insert(
        "Chart".to_owned(),
        to_template(&chart_object(&chart.metadata, parent_path.is_none())),
    );
    let files = Files::new(chart.files.iter().map(|f| (f.name.clone(), f.data.clone())));
    next.insert("Files".to_owned(), Value::Object(Arc::new(files)));
    next.insert("Release".to_owned(), top.release.clone());
    next.insert("Capabilities".to_owned(), top.capabilities.clone());
    // `.Values` has Helm's `common.Values` type (with `AsMap`, `YAML`, `Table`).
    let values = match values {
        Value::Map(m) => Value::Map(m.as_helm_values()),
        other => other,
    };
    next.insert("Values".to_owned(), values);
    next.insert("Subcharts".to_owned(), Value::from(subcharts));
    let scope = kiln_gotmpl::Map::from(next.clone());
    for t in &chart.templates {
        let base = t.name.rsplit('/').next().unwrap_or(&t.name);
        if chart.is_library() && !base.starts_with('_') {
            continue;
        }
        out.insert(
            format!("{full_path}/{}", t.name),
            Renderable {
                text: String::from_utf8_lossy(&t.data).into_owned(),
                scope: scope.clone(),
                base_path: format!("{full_path}/templates"),
            },
        );
    }
    next
}

/// Helm's template order: deeper paths first, then names in reverse.
fn sorted_names(tpls: &BTreeMap<String, Renderable>) -> Vec<String> {
    let mut keys: Vec<String> = tpls.keys().cloned().collect();
    keys.sort_by(|a, b| {
        let (ca, cb) = (a.matches('/').count(), b.matches('/').count());
        cb.cmp(&ca).then_with(|| b.cmp(a))
    });
    keys
}

/// Renders every template; the result maps template paths to their text
/// (partials left out, `NOTES.txt` included).
pub(crate) fn render(chart: &Chart, top: &Top) -> Result<BTreeMap<String, String>, RenderError> {
    let mut tpls = BTreeMap::new();
    collect(
        chart,
        None,
        to_template(&serde_json::Value::Object(top.values.clone())),
        top,
        &mut tpls,
    );
    let keys = sorted_names(&tpls);
    let mut engine = Templates::new();
    engine.set_seed(top.seed);
    engine.set_now(top.now);
    engine.set_strict(false);
    for name in &keys {
        engine
            .add(name, &tpls[name].text)
            .map_err(|e| parse_error(name, &e))?;
    }
    let mut rendered = BTreeMap::new();
    for name in &keys {
        let base = name.rsplit('/').next().unwrap_or(name);
        if base.starts_with('_') {
            continue;
        }
        let r = &tpls[name];
        let vals = &r.scope;
        let mut template = BTreeMap::new();
        template.insert("Name".to_owned(), Value::String(name.clone()));
        template.insert("BasePath".to_owned(), Value::String(r.base_path.clone()));
        // Helm's render data, and `.Template` in it, are `common.Values` too.
        vals.insert(
            "Template".to_owned(),
            Value::Map(kiln_gotmpl::Map::from(template).as_helm_values()),
        );
        let text = engine
            .execute(name, &Value::Map(vals.as_helm_values()))
            .map_err(|e| exec_error(name, &e))?;
        rendered.insert(name.clone(), text.replace("<no value>", ""));
    }
    Ok(rendered)
}

/// `parse error at (NAME:LINE): MESSAGE`, as Helm's `cleanupParseError`.
fn parse_error(name: &str, e: &kiln_gotmpl::Error) -> RenderError {
    let text = e.to_string();
    let tokens: Vec<&str> = text.split(": ").collect();
    if tokens.len() == 1 {
        return RenderError(format!("parse error in ({name}): {text}"));
    }
    RenderError(format!(
        "parse error at ({}): {}",
        tokens[1],
        tokens[tokens.len() - 1]
    ))
}

/// Helm's `reformatExecErrorMsg`: `fail`/`required` as
/// `execution error at (NAME:LINE:COL): MESSAGE`, other errors as a trace
/// of every template location the error passed through.
fn exec_error(name: &str, e: &kiln_gotmpl::Error) -> RenderError {
    let text = e.to_string();
    if e.kind() != ErrorKind::Exec {
        return RenderError(text);
    }
    let tokens: Vec<&str> = text.splitn(3, ": ").collect();
    if tokens.len() != 3 {
        return RenderError(format!("execution error in ({name}): {text}"));
    }
    let warn = ["error calling fail: ", "error calling required: "]
        .iter()
        .filter_map(|m| tokens[2].find(m).map(|i| i + m.len()))
        .min();
    if let Some(start) = warn {
        return RenderError(format!(
            "execution error at ({}): {}",
            tokens[1],
            &tokens[2][start..]
        ));
    }
    if !calls_wrap_template_errors(&text) {
        return RenderError(text);
    }
    let mut traces: Vec<String> = Vec::new();
    let mut rest = text.as_str();
    loop {
        let next = rest[1..].find(": template: ").map(|i| i + 1);
        let segment = next.map_or(rest, |i| &rest[..i]);
        let Some(trace) = trace(rest, segment) else {
            return RenderError(text);
        };
        if traces.last() != Some(&trace) {
            traces.push(trace);
        }
        match next {
            Some(i) => rest = &rest[i + 2..],
            None => break,
        }
    }
    RenderError(traces.concat().trim().to_owned())
}

/// Whether every function error in the chain is itself a template error.
/// Helm walks the wrapped errors and gives up on the trace (printing Go's
/// one-line error) at the first that is not: `error calling tpl: error
/// during tpl function execution ...`, or any other function's own error.
fn calls_wrap_template_errors(text: &str) -> bool {
    const CALL: &str = "error calling ";
    let mut rest = text;
    while let Some(i) = rest.find(CALL) {
        let after = &rest[i + CALL.len()..];
        let Some((name, tail)) = after.split_once(": ") else {
            return false;
        };
        if name.contains(char::is_whitespace) {
            rest = after;
            continue;
        }
        if !tail.starts_with("template: ") {
            return false;
        }
        rest = tail;
    }
    true
}

/// One location of an execution error (`parseTemplateExecErrorString`):
/// `full` is the error text from this level on, `segment` its own part.
fn trace(full: &str, segment: &str) -> Option<String> {
    let remainder = full.strip_prefix("template: ")?;
    if remainder.starts_with("no template ") {
        return Some(format!("{full}\n"));
    }
    let cut = |m: &str| m.find(" template:").map_or(m, |i| &m[..i]).to_owned();
    if let Some((location, after)) = remainder.split_once(": executing ") {
        let after = after.strip_prefix('"')?;
        let end = after.find('"')?;
        let function = &after[..end];
        let after_at = after[end + 1..].strip_prefix(" at <")?;
        let (node, message) = after_at.split_once(">: ")?;
        return Some(format!(
            "{location}\n  executing \"{function}\" at <{node}>:\n    {}\n",
            cut(message)
        ));
    }
    let own = segment.strip_prefix("template: ").unwrap_or(segment);
    let sep = own.rfind(": ")?;
    Some(format!("{}\n  {}\n", &own[..sep], cut(&own[sep + 2..])))
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
