//! `render_text`: the whole of `helm template` as a library function.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::capabilities::{KubeVersion, KubeVersionError, capabilities};
use crate::chart::{Chart, LoadError};
use crate::deps::DepsError;
use crate::output::{ShowOnlyError, Stream};
use crate::render::{RenderError, Top};
use crate::schema::SchemaError;
use crate::strvals::{Reader, parse_into};
use crate::values::{coalesce_chart, floats_everywhere, merge_maps};

/// The options of `helm template`, named as its flags (kebab-case keys in
/// the step config).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "the flags of helm template, one field each"
)]
pub struct Options {
    /// Chart directory or `.tgz`, relative to the app directory.
    pub chart: Option<String>,
    /// Release name (default `release-name`).
    pub release_name: Option<String>,
    /// Release namespace (default `default`).
    pub namespace: Option<String>,
    /// Values files, applied in order.
    pub values: Vec<String>,
    /// `--set` lines.
    pub set: Vec<String>,
    /// `--set-string` lines.
    pub set_string: Vec<String>,
    /// `--set-file` lines (`key=path`).
    pub set_file: Vec<String>,
    /// `--set-json` lines.
    pub set_json: Vec<String>,
    /// `--show-only` patterns.
    pub show_only: Vec<String>,
    /// Extra API versions (comma-separated entries are split).
    pub api_versions: Vec<String>,
    /// Kubernetes version (default `1.20.0`, as Helm's test build).
    pub kube_version: Option<String>,
    /// Print the `crds/` files first.
    pub include_crds: bool,
    /// Leave out test hooks.
    pub skip_tests: bool,
    /// Also return the text (plugin only).
    pub emit_text: bool,
    /// Unix time the engine's `now` returns (default 0).
    pub now: Option<i64>,
    /// On a YAML error, keep the rendered files ([`Error::partial_output`])
    /// and leave out the `--debug` hint, as `helm template --debug`.
    pub debug: bool,
}

/// Why `helm template` failed, worded as Helm words it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("path {0:?} not found")]
    NotFound(String),
    #[error("{0}")]
    Load(#[from] LoadError),
    #[error("{message}")]
    ValuesFile { file: String, message: String },
    #[error("failed parsing --{flag} data: {message}")]
    Set { flag: &'static str, message: String },
    #[error("failed parsing --set-json data {0}")]
    SetJson(String),
    #[error("failed parsing --set-json data JSON: {0}")]
    SetJsonObject(String),
    #[error(
        "release name check failed: release name {0:?}: invalid release name, must match regex ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$ and the length must not be longer than 53"
    )]
    ReleaseName(String),
    #[error("release name check failed: release name {0:?}: no name provided")]
    NoReleaseName(String),
    #[error("{0} charts are not installable")]
    NotInstallable(String),
    #[error("{0}")]
    Deps(#[from] DepsError),
    #[error("{0}")]
    Values(String),
    #[error("{0}")]
    Schema(#[from] SchemaError),
    #[error("{0}")]
    KubeVersion(#[from] KubeVersionError),
    #[error("chart requires kubeVersion: {want} which is incompatible with Kubernetes {have}")]
    KubeIncompatible { want: String, have: String },
    #[error("{0}")]
    Render(#[from] RenderError),
    #[error("{0}\n\nUse --debug flag to render out invalid YAML")]
    Yaml(#[from] crate::order::YamlError),
    #[error("{source}")]
    YamlDebug {
        source: crate::order::YamlError,
        output: String,
    },
    #[error("{0}")]
    ShowOnly(#[from] ShowOnlyError),
}

impl Error {
    /// What `helm template --debug` prints before a YAML error: every
    /// rendered file as `---\n# Source: PATH\nTEXT\n`.
    pub fn partial_output(&self) -> Option<&str> {
        match self {
            Error::YamlDebug { output, .. } => Some(output),
            _ => None,
        }
    }

    /// The file the error is about, when there is one.
    pub fn file(&self) -> Option<String> {
        match self {
            Error::ValuesFile { file, .. } => Some(file.clone()),
            Error::Yaml(e) | Error::YamlDebug { source: e, .. } => Some(e.path.clone()),
            _ => None,
        }
    }
}

fn read_values_file(path: &Path, shown: &str) -> Result<Map<String, Value>, Error> {
    let err = |message: String| Error::ValuesFile {
        file: shown.to_owned(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(format!("open {shown}: {e}")))?;
    crate::values::load_values(&text, shown)
        .map_err(|m| err(format!("failed to parse {shown}: {m}")))
}

/// The user values: files, then `--set-json`, `--set`, `--set-string`, `--set-file`.
fn user_values(app: &Path, opts: &Options) -> Result<Map<String, Value>, Error> {
    let mut base = Map::new();
    for f in &opts.values {
        base = merge_maps(base, read_values_file(&app.join(f), f)?);
    }
    let set_err = |flag: &'static str| {
        move |e: crate::strvals::StrvalsError| Error::Set { flag, message: e.0 }
    };
    for line in &opts.set_json {
        let trimmed = line.trim();
        if trimmed.starts_with('{') {
            let m: Map<String, Value> =
                serde_json::from_str(trimmed).map_err(|_| Error::SetJsonObject(line.clone()))?;
            if let Value::Object(m) = floats_everywhere(Value::Object(m)) {
                base = merge_maps(base, m);
            }
        } else {
            parse_into(line, &mut base, Reader::Json).map_err(|_| Error::SetJson(line.clone()))?;
        }
    }
    for line in &opts.set {
        parse_into(line, &mut base, Reader::Typed).map_err(set_err("set"))?;
    }
    for line in &opts.set_string {
        parse_into(line, &mut base, Reader::String).map_err(set_err("set-string"))?;
    }
    let read = |p: &str| -> Result<String, String> {
        std::fs::read_to_string(app.join(p)).map_err(|e| format!("open {p}: {e}"))
    };
    for line in &opts.set_file {
        parse_into(line, &mut base, Reader::File(&read)).map_err(set_err("set-file"))?;
    }
    Ok(base)
}

fn load(path: &Path) -> Result<Chart, Error> {
    if path.is_file() {
        let data = std::fs::read(path).map_err(|e| LoadError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        return Ok(crate::archive::load_archive(&data)?);
    }
    Ok(crate::chart::load_dir(path)?)
}

/// 32 bytes of the call's `wasi:random`, which kiln's host draws from the
/// operator's render seed and the step's inputs: reproducible by the
/// operator, unknown to whoever only reads the repository. Built natively
/// (tests), there is none: the seed follows from the chart and values.
fn call_secret() -> Option<[u8; 32]> {
    #[cfg(target_family = "wasm")]
    {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).ok()?;
        Some(bytes)
    }
    #[cfg(not(target_family = "wasm"))]
    None
}

/// The engine's seed: a hash of the chart's files, the values, the release
/// and namespace, keyed by `secret` when there is one.
fn seed(
    secret: Option<[u8; 32]>,
    chart: &Chart,
    vals: &Map<String, Value>,
    release: &str,
    namespace: &str,
) -> [u8; 32] {
    fn feed(h: &mut blake3::Hasher, c: &Chart) {
        for f in c.templates.iter().chain(&c.files) {
            h.update(f.name.as_bytes());
            h.update(&[0]);
            h.update(&f.data);
            h.update(&[0]);
        }
        h.update(Value::Object(c.values.clone()).to_string().as_bytes());
        for d in &c.dependencies {
            feed(h, d);
        }
    }
    let mut h = match secret {
        Some(secret) => blake3::Hasher::new_keyed(&secret),
        None => blake3::Hasher::new(),
    };
    feed(&mut h, chart);
    h.update(Value::Object(vals.clone()).to_string().as_bytes());
    h.update(release.as_bytes());
    h.update(&[0]);
    h.update(namespace.as_bytes());
    *h.finalize().as_bytes()
}

fn crds(chart: &Chart, parent: Option<&str>, out: &mut Vec<(String, String)>) {
    let full = match parent {
        Some(p) => format!("{p}/charts/{}", chart.name()),
        None => chart.name().to_owned(),
    };
    for f in &chart.files {
        if f.name.starts_with("crds/") && crate::chart::has_ext(&f.name, &["yaml", "yml", "json"]) {
            out.push((
                format!("{full}/{}", f.name),
                String::from_utf8_lossy(&f.data).into_owned(),
            ));
        }
    }
    for d in &chart.dependencies {
        crds(d, Some(&full), out);
    }
}

/// Helm's `ValidateReleaseName`: DNS-label-like segments, at most 53 bytes.
fn check_release_name(name: &str) -> Result<(), Error> {
    if name.is_empty() {
        return Err(Error::NoReleaseName(String::new()));
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if name.len() > 53 || !name.split('.').all(label_ok) {
        return Err(Error::ReleaseName(name.to_owned()));
    }
    Ok(())
}

/// Renders the chart of `app` (a directory under `root`, or absolute) as
/// `helm template` prints it.
pub fn render_text(root: &Path, app: &Path, opts: &Options) -> Result<String, Error> {
    render_parsed(root, app, opts).map(|(text, _)| text)
}

/// The parsed manifests and hooks of a render, by their text (a document of
/// the printed stream without its `# Source:` line).
pub(crate) type Parsed = std::collections::HashMap<String, Value>;

/// [`render_text`], with the documents it already parsed to sort them.
pub(crate) fn render_parsed(
    root: &Path,
    app: &Path,
    opts: &Options,
) -> Result<(String, Parsed), Error> {
    let app: PathBuf = root.join(app);
    let chart_path = match &opts.chart {
        Some(c) => app.join(c),
        None => app.clone(),
    };
    let kube = KubeVersion::parse(opts.kube_version.as_deref().unwrap_or("1.20.0"))?;
    if !chart_path.exists() {
        return Err(Error::NotFound(chart_path.display().to_string()));
    }
    let vals = user_values(&app, opts)?;
    let mut chart = load(&chart_path)?;
    if !matches!(chart.metadata.chart_type.as_str(), "" | "application") {
        return Err(Error::NotInstallable(chart.metadata.chart_type.clone()));
    }
    if !chart.metadata.dependencies.is_empty() {
        crate::deps::check(&chart)?;
    }
    let release_name = opts
        .release_name
        .clone()
        .unwrap_or_else(|| "release-name".to_owned());
    check_release_name(&release_name)?;
    crate::deps::process(&mut chart, &vals)?;
    let values = coalesce_chart(&chart, &vals, false).map_err(Error::Values)?;
    crate::schema::validate(&chart, &values)?;
    if !chart.metadata.kube_version.is_empty()
        && !crate::semver::matches(&chart.metadata.kube_version, &kube.normalized)
    {
        return Err(Error::KubeIncompatible {
            want: chart.metadata.kube_version.clone(),
            have: kube.version.clone(),
        });
    }
    let release_name = opts
        .release_name
        .clone()
        .unwrap_or_else(|| "release-name".to_owned());
    let namespace = opts
        .namespace
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "default".to_owned());
    let api_versions: Vec<String> = opts
        .api_versions
        .iter()
        .flat_map(|a| a.split(','))
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect();
    let release = crate::render::to_template(&serde_json::json!({
        "Name": release_name, "Namespace": namespace, "IsUpgrade": false, "IsInstall": true,
        "Service": "Helm",
    }));
    // `.Release.Revision` is a Go `int`.
    if let kiln_gotmpl::Value::Map(m) = &release {
        m.insert("Revision".to_owned(), kiln_gotmpl::Value::Int(1));
    }
    let top = Top {
        release,
        capabilities: capabilities(&kube, &api_versions),
        seed: seed(call_secret(), &chart, &vals, &release_name, &namespace),
        values,
        now: opts.now.unwrap_or(0),
    };
    let mut rendered: BTreeMap<String, String> = crate::render::render(&chart, &top)?;
    rendered.retain(|name, _| !name.ends_with("NOTES.txt"));
    let (hooks, manifests) = match crate::order::sort_manifests(&rendered) {
        Ok(sorted) => sorted,
        Err(source) if opts.debug => {
            let mut output = String::new();
            for (name, content) in rendered.iter().filter(|(_, c)| !c.trim().is_empty()) {
                let _ = write!(output, "---\n# Source: {name}\n{content}\n");
            }
            return Err(Error::YamlDebug { source, output });
        }
        Err(e) => return Err(e.into()),
    };
    let mut crd_files = Vec::new();
    if opts.include_crds {
        crds(&chart, None, &mut crd_files);
    }
    let text = crate::output::write(&Stream {
        crds: &crd_files,
        manifests: &manifests,
        hooks: &hooks,
        skip_tests: opts.skip_tests,
        show_only: &opts.show_only,
    })?;
    let parsed = manifests
        .into_iter()
        .chain(hooks)
        .map(|m| (m.content, m.value))
        .collect();
    Ok((text, parsed))
}
