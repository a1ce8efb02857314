//! The [`Plugin`] trait and the Rust side of the contract's types.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::bindings::kiln::plugin::types as wit;

/// A kiln plugin: resources in, resources out.
pub trait Plugin {
    /// Renders one step.
    fn render(req: Request) -> Result<Response, Error>;

    /// JSON Schema (as JSON text) of the step configuration, if published.
    fn config_schema() -> Option<String> {
        None
    }
}

/// Facts about the render (see `context` in the WIT contract).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// Name of the application.
    pub app_name: String,
    /// Directory of the application relative to [`crate::SOURCE_ROOT`].
    pub app_dir: String,
    /// Target namespace, if set.
    pub namespace: Option<String>,
    /// Source revision (git commit id), if known.
    pub source_revision: Option<String>,
    /// Target Kubernetes version, e.g. `v1.32.0`.
    pub kube_version: String,
    /// API versions the target serves.
    pub api_versions: Vec<String>,
    /// Name of the step.
    pub step: String,
}

impl Context {
    /// The application directory as an absolute path inside the sandbox.
    pub fn app_path(&self) -> std::path::PathBuf {
        let root = std::path::Path::new(crate::SOURCE_ROOT);
        if self.app_dir == "." || self.app_dir.is_empty() {
            root.to_path_buf()
        } else {
            root.join(&self.app_dir)
        }
    }
}

/// One call of a plugin.
#[derive(Debug, Clone)]
pub struct Request {
    /// Input resources.
    pub resources: Vec<Value>,
    /// The step configuration (`with:`), `{}` when absent.
    pub config: Value,
    /// Facts about the render.
    pub context: Context,
}

impl Request {
    /// Reads config key `key` as `T`; a missing key or a wrong type is a
    /// bad-config error naming the key.
    pub fn config<T: DeserializeOwned>(&self, key: &str) -> Result<T, Error> {
        let value = self
            .config
            .get(key)
            .ok_or_else(|| Error::bad_config(format!("missing config key `{key}`")))?;
        serde_json::from_value(value.clone())
            .map_err(|e| Error::bad_config(format!("config key `{key}`: {e}")))
    }

    /// Reads config key `key` as `T`, or `None` when it is absent or null.
    pub fn config_opt<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Error> {
        match self.config.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => self.config(key).map(Some),
        }
    }

    /// Reads the whole configuration as `T` (use `#[serde(deny_unknown_fields)]`
    /// to refuse unknown keys).
    pub fn config_as<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_value(self.config.clone())
            .map_err(|e| Error::bad_config(format!("step config: {e}")))
    }
}

/// How serious a [`Diagnostic`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Fails the step.
    Error,
    /// Shown to the user; the render goes on.
    Warning,
    /// For information.
    Info,
}

/// A message about the render, like a KRM function result.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// How serious it is.
    pub severity: Severity,
    /// What happened.
    pub message: String,
    /// The resource concerned, if any.
    pub resource: Option<crate::ResourceId>,
    /// Dotted field path, if any.
    pub field_path: Option<String>,
    /// Source file (relative to `/src`) and 1-based line, if any.
    pub file: Option<(String, Option<u32>)>,
}

impl Diagnostic {
    /// A diagnostic with only a severity and a message.
    pub fn new(severity: Severity, message: impl Into<String>) -> Self {
        Self {
            severity,
            message: message.into(),
            resource: None,
            field_path: None,
            file: None,
        }
    }

    /// A warning.
    pub fn warning(message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, message)
    }

    /// Names the resource the message is about.
    #[must_use]
    pub fn with_resource(mut self, resource: &Value) -> Self {
        self.resource = crate::ResourceId::of(resource);
        self
    }

    /// Names the field the message is about.
    #[must_use]
    pub fn with_field(mut self, path: impl Into<String>) -> Self {
        self.field_path = Some(path.into());
        self
    }

    /// Names the source file (and line) the message is about.
    #[must_use]
    pub fn with_file(mut self, path: impl Into<String>, line: Option<u32>) -> Self {
        self.file = Some((path.into(), line));
        self
    }
}

/// The result of a successful render.
#[derive(Debug, Clone, Default)]
pub struct Response {
    /// Output resources, in order.
    pub resources: Vec<Value>,
    /// Diagnostics.
    pub diagnostics: Vec<Diagnostic>,
}

impl Response {
    /// A response with these resources and no diagnostics.
    pub fn new(resources: Vec<Value>) -> Self {
        Self {
            resources,
            diagnostics: Vec::new(),
        }
    }

    /// Adds a diagnostic.
    #[must_use]
    pub fn with_diagnostic(mut self, diagnostic: Diagnostic) -> Self {
        self.diagnostics.push(diagnostic);
        self
    }
}

/// Which side is at fault when a render fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The step configuration is wrong.
    BadConfig,
    /// The input resources or source files are wrong.
    BadInput,
    /// The plugin failed.
    PluginFailure,
}

/// A failed render, with what a person needs to act on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// Who is at fault.
    pub kind: ErrorKind,
    /// What went wrong.
    pub message: String,
    /// The file at fault (relative to `/src`) and 1-based line and column.
    pub file: Option<(String, Option<u32>, Option<u32>)>,
    /// What to do about it.
    pub hint: Option<String>,
}

impl Error {
    /// An error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            file: None,
            hint: None,
        }
    }
    /// The step configuration is wrong.
    pub fn bad_config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadConfig, message)
    }
    /// The input is wrong.
    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadInput, message)
    }
    /// The plugin failed.
    pub fn failure(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::PluginFailure, message)
    }
    /// Names the file at fault; paths under `/src/` are made relative.
    #[must_use]
    pub fn with_file(mut self, path: impl Into<String>) -> Self {
        self.file = Some((relative(path.into()), None, None));
        self
    }
    /// Names the file at fault with a 1-based line and column.
    #[must_use]
    pub fn at(mut self, path: impl Into<String>, line: u32, column: u32) -> Self {
        self.file = Some((relative(path.into()), Some(line), Some(column)));
        self
    }
    /// Says what to do about it.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

fn relative(path: String) -> String {
    match path.strip_prefix("/src/") {
        Some(rest) => rest.to_owned(),
        None => path,
    }
}

impl From<crate::yaml::Error> for Error {
    fn from(e: crate::yaml::Error) -> Self {
        let line = u32::try_from(e.line).ok().filter(|&l| l > 0);
        let column = u32::try_from(e.column).ok().filter(|&c| c > 0);
        Self {
            kind: ErrorKind::BadInput,
            message: format!("invalid YAML: {}", e.message),
            file: Some((relative(e.file), line, column)),
            hint: None,
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Builds `info()` for an exported plugin.
#[doc(hidden)]
pub fn info<P: Plugin>(name: &str, version: &str, description: &str) -> wit::PluginInfo {
    wit::PluginInfo {
        name: name.to_owned(),
        version: version.to_owned(),
        description: description.to_owned(),
        config_schema: P::config_schema(),
    }
}

/// Runs `render()` for an exported plugin, converting at the boundary.
#[doc(hidden)]
pub fn render<P: Plugin>(request: wit::Request) -> Result<wit::Response, wit::Error> {
    let mut resources = Vec::with_capacity(request.resources.len());
    for (i, doc) in request.resources.iter().enumerate() {
        let value = serde_json::from_str(doc).map_err(|e| {
            to_wit_error(Error::bad_input(format!(
                "input resource {i} is not valid JSON: {e}"
            )))
        })?;
        resources.push(value);
    }
    let config = if request.config.trim().is_empty() {
        Value::Object(serde_json::Map::new())
    } else {
        serde_json::from_str(&request.config).map_err(|e| {
            to_wit_error(Error::bad_config(format!(
                "step config is not valid JSON: {e}"
            )))
        })?
    };
    let c = request.context;
    let req = Request {
        resources,
        config,
        context: Context {
            app_name: c.app_name,
            app_dir: c.app_dir,
            namespace: c.namespace,
            source_revision: c.source_revision,
            kube_version: c.kube_version,
            api_versions: c.api_versions,
            step: c.step,
        },
    };
    let response = P::render(req).map_err(to_wit_error)?;
    Ok(wit::Response {
        resources: response.resources.iter().map(Value::to_string).collect(),
        diagnostics: response
            .diagnostics
            .into_iter()
            .map(to_wit_diagnostic)
            .collect(),
    })
}

fn to_wit_error(e: Error) -> wit::Error {
    wit::Error {
        kind: match e.kind {
            ErrorKind::BadConfig => wit::ErrorKind::BadConfig,
            ErrorKind::BadInput => wit::ErrorKind::BadInput,
            ErrorKind::PluginFailure => wit::ErrorKind::PluginFailure,
        },
        message: e.message,
        file: e.file.map(|(path, line, column)| wit::FileLocation {
            path,
            index: None,
            line,
            column,
        }),
        hint: e.hint,
    }
}

fn to_wit_diagnostic(d: Diagnostic) -> wit::Diagnostic {
    wit::Diagnostic {
        severity: match d.severity {
            Severity::Error => wit::Severity::Error,
            Severity::Warning => wit::Severity::Warning,
            Severity::Info => wit::Severity::Info,
        },
        message: d.message,
        resource_ref: d.resource.map(|id| wit::ResourceRef {
            api_version: id.api_version(),
            kind: id.kind,
            name: id.name,
            namespace: id.namespace,
        }),
        field_path: d.field_path,
        file: d.file.map(|(path, line)| wit::FileLocation {
            path,
            index: None,
            line,
            column: None,
        }),
        tags: Vec::new(),
    }
}
