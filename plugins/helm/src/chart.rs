//! Loading a chart: `Chart.yaml`, values, templates, files and subcharts,
//! from a directory or from the file list of an archive.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

use crate::ignore::Rules;

/// A file of a chart: its path relative to the chart root and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartFile {
    /// Path relative to the chart root, `/`-separated.
    pub name: String,
    /// Content.
    pub data: Vec<u8>,
}

/// A maintainer in `Chart.yaml`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Maintainer {
    /// Name.
    pub name: String,
    /// E-mail address.
    pub email: String,
    /// Web address.
    pub url: String,
}

/// A dependency declared in `Chart.yaml` (or `requirements.yaml`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dependency {
    /// Chart name.
    pub name: String,
    /// Version constraint.
    pub version: String,
    /// Repository address.
    pub repository: String,
    /// Comma-separated value paths that enable the dependency.
    pub condition: String,
    /// Tags that enable the dependency.
    pub tags: Vec<String>,
    /// Whether it is enabled (computed).
    pub enabled: bool,
    /// `import-values` entries (strings or `{child, parent}` maps).
    pub import_values: Vec<Value>,
    /// Name the dependency is known under.
    pub alias: String,
}

/// `Chart.yaml`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata {
    pub name: String,
    pub home: String,
    pub sources: Vec<String>,
    pub version: String,
    pub description: String,
    pub keywords: Vec<String>,
    pub maintainers: Vec<Maintainer>,
    pub icon: String,
    pub api_version: String,
    pub condition: String,
    pub tags: String,
    pub app_version: String,
    pub deprecated: bool,
    pub annotations: BTreeMap<String, String>,
    pub kube_version: String,
    pub dependencies: Vec<Dependency>,
    pub chart_type: String,
}

/// A loaded chart.
#[derive(Debug, Clone, Default)]
pub struct Chart {
    /// `Chart.yaml` (plus `requirements.yaml` for v1 charts).
    pub metadata: Metadata,
    /// `values.yaml`, numbers as floats as Helm decodes them.
    pub values: Map<String, Value>,
    /// `values.schema.json`, if any.
    pub schema: Option<Vec<u8>>,
    /// Files under `templates/`.
    pub templates: Vec<ChartFile>,
    /// Every other file (crds included), for `.Files`.
    pub files: Vec<ChartFile>,
    /// Subcharts.
    pub dependencies: Vec<Chart>,
}

/// Why a chart could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {message}")]
    Io { path: String, message: String },
    #[error("cannot load {file}: error converting YAML to JSON: yaml: line {line}: {message}")]
    Yaml {
        file: String,
        line: u64,
        message: String,
    },
    #[error("cannot load values.yaml: {0}")]
    Values(String),
    #[error("{0}")]
    Ignore(String),
    #[error("Chart.yaml file is missing")]
    MissingChartYaml,
    #[error("validation: {0}")]
    Validation(String),
    #[error("error unpacking {sub} in {chart}: {source}")]
    Subchart {
        sub: String,
        chart: String,
        #[source]
        source: Box<LoadError>,
    },
    #[error("{0}")]
    Archive(String),
}

impl Chart {
    /// The chart's name (`Chart.yaml` `name`, or the alias it was given).
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// Whether this is a library chart.
    pub fn is_library(&self) -> bool {
        self.metadata.chart_type == "library"
    }
}

/// Loads the chart in directory `dir`, honouring its `.helmignore`.
pub fn load_dir(dir: &Path) -> Result<Chart, LoadError> {
    let io = |p: &Path, e: std::io::Error| LoadError::Io {
        path: p.display().to_string(),
        message: e.to_string(),
    };
    let ignore_file = dir.join(".helmignore");
    let rules = match std::fs::read_to_string(&ignore_file) {
        Ok(text) => Rules::parse(&text).map_err(LoadError::Ignore)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Rules::parse("").map_err(LoadError::Ignore)?
        }
        Err(e) => return Err(io(&ignore_file, e)),
    };
    let mut files = Vec::new();
    walk(dir, "", &rules, &mut files, &io)?;
    load_files(files)
}

fn walk(
    dir: &Path,
    prefix: &str,
    rules: &Rules,
    out: &mut Vec<ChartFile>,
    io: &dyn Fn(&Path, std::io::Error) -> LoadError,
) -> Result<(), LoadError> {
    let mut entries = std::fs::read_dir(dir)
        .map_err(|e| io(dir, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| io(dir, e))?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let path = entry.path();
        let is_dir = std::fs::metadata(&path).map_err(|e| io(&path, e))?.is_dir();
        if rules.ignore(&rel, is_dir) {
            continue;
        }
        if is_dir {
            walk(&path, &rel, rules, out, io)?;
        } else {
            let mut data = std::fs::read(&path).map_err(|e| io(&path, e))?;
            if data.starts_with(&[0xef, 0xbb, 0xbf]) {
                data.drain(..3);
            }
            out.push(ChartFile { name: rel, data });
        }
    }
    Ok(())
}

/// Parses one YAML document of a chart file into JSON.
pub(crate) fn parse_yaml(file: &str, data: &[u8]) -> Result<Value, LoadError> {
    let text = String::from_utf8_lossy(data);
    let docs = crate::order::parse_values_stream(&text, file).map_err(|e| LoadError::Yaml {
        file: file.to_owned(),
        line: e.line,
        message: e.message,
    })?;
    Ok(docs.into_iter().next().unwrap_or(Value::Null))
}

/// Builds a chart from its files (paths relative to the chart root).
pub fn load_files(files: Vec<ChartFile>) -> Result<Chart, LoadError> {
    let mut chart = Chart::default();
    let chart_yaml = files
        .iter()
        .find(|f| f.name == "Chart.yaml")
        .ok_or(LoadError::MissingChartYaml)?;
    let doc = parse_yaml("Chart.yaml", &chart_yaml.data)?;
    chart.metadata = crate::chartyaml::metadata(&doc);
    crate::chartyaml::keep_scalar_text(
        &mut chart.metadata,
        &String::from_utf8_lossy(&chart_yaml.data),
    );
    if chart.metadata.api_version.is_empty() {
        "v1".clone_into(&mut chart.metadata.api_version);
    }
    let mut subcharts: BTreeMap<String, Vec<ChartFile>> = BTreeMap::new();
    for f in files {
        match f.name.as_str() {
            "Chart.yaml" | "Chart.lock" => {}
            "requirements.lock" => {
                if chart.metadata.api_version == "v1" {
                    chart.files.push(f);
                }
            }
            "values.yaml" => {
                chart.values =
                    crate::values::load_values(&String::from_utf8_lossy(&f.data), "values.yaml")
                        .map_err(LoadError::Values)?;
            }
            "values.schema.json" => chart.schema = Some(f.data),
            "requirements.yaml" => {
                let doc = parse_yaml("requirements.yaml", &f.data)?;
                chart.metadata.dependencies = crate::chartyaml::dependencies(&doc);
                if chart.metadata.api_version == "v1" {
                    chart.files.push(f);
                }
            }
            n if n.starts_with("templates/") => chart.templates.push(f),
            n if n.starts_with("charts/") => {
                if has_ext(n, &["prov"]) {
                    chart.files.push(f);
                    continue;
                }
                let rest = &n["charts/".len()..];
                let (cname, inner) = rest.split_once('/').unwrap_or((rest, ""));
                let name = if inner.is_empty() {
                    cname.to_owned()
                } else {
                    inner.to_owned()
                };
                let entry = subcharts.entry(cname.to_owned()).or_default();
                if !inner.is_empty() || has_ext(cname, &["tgz"]) {
                    entry.push(ChartFile { name, data: f.data });
                }
            }
            _ => chart.files.push(f),
        }
    }
    validate(&chart.metadata)?;
    for (n, files) in subcharts {
        if n.starts_with(['_', '.']) {
            continue;
        }
        let wrap = |e: LoadError| LoadError::Subchart {
            sub: n.clone(),
            chart: chart.metadata.name.clone(),
            source: Box::new(e),
        };
        let sub = if has_ext(&n, &["tgz"]) {
            let data = files.into_iter().next().map(|f| f.data).unwrap_or_default();
            crate::archive::load_archive(&data).map_err(wrap)?
        } else {
            load_files(files).map_err(wrap)?
        };
        chart.dependencies.push(sub);
    }
    Ok(chart)
}

/// Whether `name` ends with one of the extensions `exts` (any case).
pub(crate) fn has_ext(name: &str, exts: &[&str]) -> bool {
    Path::new(name)
        .extension()
        .is_some_and(|e| exts.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

fn validate(md: &Metadata) -> Result<(), LoadError> {
    let fail = |m: String| Err(LoadError::Validation(m));
    if md.name.is_empty() {
        return fail("chart.metadata.name is required".into());
    }
    if md.name == "." || md.name == ".." {
        return fail(format!("chart.metadata.name {:?} is not allowed", md.name));
    }
    if md.name.contains('/') || md.name.contains('\\') {
        return fail(format!("chart.metadata.name {:?} is invalid", md.name));
    }
    if md.version.is_empty() {
        return fail("chart.metadata.version is required".into());
    }
    if crate::semver::Version::parse(&md.version).is_none() {
        return fail(format!(
            "chart.metadata.version {:?} is invalid",
            md.version
        ));
    }
    if !matches!(md.chart_type.as_str(), "" | "application" | "library") {
        return fail("chart.metadata.type must be application or library".into());
    }
    let mut seen = std::collections::BTreeSet::new();
    for d in &md.dependencies {
        let key = if d.alias.is_empty() {
            &d.name
        } else {
            &d.alias
        };
        if !d.alias.is_empty()
            && !d
                .alias
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return fail(format!(
                "dependency {:?} has disallowed characters in the alias",
                d.name
            ));
        }
        if !seen.insert(key.clone()) {
            return fail(format!(
                "more than one dependency with name or alias {key:?}"
            ));
        }
    }
    Ok(())
}
