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

/// Converts values to template values: floats stay floats, integers ints.
pub fn to_template(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) if !n.is_f64() => Value::Int(i),
            _ => Value::Float(n.as_f64().unwrap_or(0.0)),
        },
        serde_json::Value::String(s) => Value::String(s.clone()),
        serde_json::Value::Array(a) => Value::List(a.iter().map(to_template).collect()),
        serde_json::Value::Object(m) => Value::Map(m.iter().map(|(k, v)| (k.clone(), to_template(v))).collect()),
    }
}

/// What every template of a render sees besides its chart's own data.
pub struct Top {
    /// `.Release`.
    pub release: Value,
    /// `.Capabilities`.
    pub capabilities: Value,
    /// The coalesced values of the top chart.
    pub values: Map<String, serde_json::Value>,
    /// Seed of the engine's random functions.
    pub seed: u64,
    /// Unix time of `now`.
    pub now: i64,
}

struct Renderable {
    text: String,
    scope: Arc<BTreeMap<String, Value>>,
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
                _ => Value::Map(BTreeMap::new()),
            },
            _ => Value::Map(BTreeMap::new()),
        };
        let next = collect(child, Some(&full_path), child_values, top, out);
        subcharts.insert(child.name().to_owned(), Value::Map(next));
    }
    let mut next = BTreeMap::new();
    next.insert("Chart".to_owned(), to_template(&chart_object(&chart.metadata, parent_path.is_none())));
    let files = Files::new(chart.files.iter().map(|f| (f.name.clone(), f.data.clone())));
    next.insert("Files".to_owned(), Value::Object(Arc::new(files)));
    next.insert("Release".to_owned(), top.release.clone());
    next.insert("Capabilities".to_owned(), top.capabilities.clone());
    next.insert("Values".to_owned(), values);
    next.insert("Subcharts".to_owned(), Value::Map(subcharts));
    let scope = Arc::new(next.clone());
    for t in &chart.templates {
        let base = t.name.rsplit('/').next().unwrap_or(&t.name);
        if chart.is_library() && !base.starts_with('_') {
            continue;
        }
        out.insert(
            format!("{full_path}/{}", t.name),
            Renderable {
                text: String::from_utf8_lossy(&t.data).into_owned(),
                scope: Arc::clone(&scope),
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
pub fn render(chart: &Chart, top: &Top) -> Result<BTreeMap<String, String>, RenderError> {
    let mut tpls = BTreeMap::new();
    collect(chart, None, to_template(&serde_json::Value::Object(top.values.clone())), top, &mut tpls);
    let keys = sorted_names(&tpls);
    let mut engine = Templates::new();
    engine.set_seed(top.seed);
    engine.set_now(top.now);
    engine.set_strict(false);
    for name in &keys {
        engine.add(name, &tpls[name].text).map_err(|e| parse_error(name, &e))?;
    }
    let mut rendered = BTreeMap::new();
    for name in &keys {
        let base = name.rsplit('/').next().unwrap_or(name);
        if base.starts_with('_') {
            continue;
        }
        let r = &tpls[name];
        let mut vals = (*r.scope).clone();
        let mut template = BTreeMap::new();
        template.insert("Name".to_owned(), Value::String(name.clone()));
        template.insert("BasePath".to_owned(), Value::String(r.base_path.clone()));
        vals.insert("Template".to_owned(), Value::Map(template));
        let text = engine.execute(name, &Value::Map(vals)).map_err(|e| exec_error(name, &e))?;
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
    RenderError(format!("parse error at ({}): {}", tokens[1], tokens[tokens.len() - 1]))
}

const WARN_START: &str = "HELM_ERR_START";
const WARN_END: &str = "HELM_ERR_END";

/// Helm's `reformatExecErrorMsg`: `fail`/`required` as
/// `execution error at (NAME:LINE:COL): MESSAGE`, other errors as a trace.
fn exec_error(name: &str, e: &kiln_gotmpl::Error) -> RenderError {
    let text = e.to_string();
    if e.kind() != ErrorKind::Exec {
        return RenderError(text);
    }
    let tokens: Vec<&str> = text.splitn(3, ": ").collect();
    if tokens.len() != 3 {
        return RenderError(format!("execution error in ({name}): {text}"));
    }
    if let Some(start) = tokens[2].find(WARN_START) {
        let rest = &tokens[2][start + WARN_START.len()..];
        let msg = rest.rfind(WARN_END).map_or(rest, |end| &rest[..end]);
        return RenderError(format!("execution error at ({}): {msg}", tokens[1]));
    }
    let context = e.context().unwrap_or_default();
    if is_helm_failure(context) {
        return RenderError(format!("execution error at ({}): {}", tokens[1], e.message()));
    }
    let mut msg = e.message().to_owned();
    if let Some(cut) = msg.find(" template:") {
        msg.truncate(cut);
    }
    let location = format!("{}:{}:{}", e.template(), e.line(), e.col().unwrap_or(0));
    let executing = e.executing().unwrap_or(name);
    RenderError(format!("{location}\n  executing \"{executing}\" at <{context}>:\n    {msg}"))
}

/// Whether the failing node is a call of `fail` or `required` (whose
/// messages Helm prints without a trace).
fn is_helm_failure(context: &str) -> bool {
    let head = context.trim_start_matches('(').split_whitespace().next().unwrap_or_default();
    matches!(head, "fail" | "required")
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
