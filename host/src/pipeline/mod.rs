//! Pipelines: `kiln.yaml` or a detected app kind, turned into ordered plugin
//! steps, and the render that runs them.

mod detect;
pub mod lock;
pub mod locking;
mod memo;
pub mod oci;
mod run;
mod seed;

pub use detect::{AppKind, detect};
pub use memo::render_memoized;
pub use run::DECRYPTED_FILE_KIND;
pub use run::{Error, KEY_SECRETS, RenderOptions, Rendered, render};
pub use seed::RenderSeed;

pub use crate::model::{App, StepReport, file};

use std::path::Path;

use crate::runtime::Limits;

/// The Kubernetes version assumed when neither a flag nor the environment
/// names one: `helm template` v4.1.4's default, so that a chart comparing
/// `.Capabilities.KubeVersion` renders as helm renders it.
pub const DEFAULT_KUBE_VERSION: &str = "v1.35.0";

/// The Kubernetes version a render targets: `flag` (`1.32.0` or
/// `v1.32.0`), else [`DEFAULT_KUBE_VERSION`].
pub fn kube_version(flag: Option<&str>) -> String {
    match flag {
        None => DEFAULT_KUBE_VERSION.to_owned(),
        Some(v) if v.starts_with('v') => v.to_owned(),
        Some(v) => format!("v{v}"),
    }
}

/// The plugin a step runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginRef {
    /// A plugin embedded in the binary.
    Builtin(String),
    /// A `.wasm` component inside the source root (path relative to it).
    File(String),
    /// An `oci://` artifact, pinned to a digest.
    Oci(Box<oci::OciPlugin>),
}

impl std::fmt::Display for PluginRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Builtin(name) | Self::File(name) => f.write_str(name),
            Self::Oci(p) => f.write_str(&p.source),
        }
    }
}

/// One step of a pipeline.
#[derive(Debug, Clone)]
pub struct Step {
    /// The step's name.
    pub name: String,
    /// The plugin it runs.
    pub plugin: PluginRef,
    /// Its config (`with:`), a JSON object.
    pub config: serde_json::Value,
    /// Secrets granted to it.
    pub secrets: Vec<String>,
    /// Its limits.
    pub limits: Limits,
    /// When the step runs; when it does not, its input passes on unchanged.
    pub when: RunWhen,
}

/// When a step runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RunWhen {
    /// Always.
    #[default]
    Always,
    /// When an input resource is SOPS-encrypted (the automatic `sops` step
    /// after a detected app's build).
    EncryptedResources,
    /// When a file the app reads holds SOPS metadata (the automatic `sops`
    /// step that decrypts generator sources before a kustomize build).
    EncryptedSources,
}

/// An ordered list of steps.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// The steps.
    pub steps: Vec<Step>,
    /// How the pipeline came about: `None` for `kiln.yaml`.
    pub detected: Option<AppKind>,
    /// The app name from `kiln.yaml` metadata, if any.
    pub name: Option<String>,
    /// The namespace from `kiln.yaml` metadata, if any.
    pub namespace: Option<String>,
}

/// Reads the pipeline of `app`: its `kiln.yaml`, or a detected one.
pub fn load(app: &App, defaults: Limits) -> Result<Pipeline, Error> {
    let dir = app.path();
    if !dir.is_dir() {
        return Err(Error::MissingApp(dir));
    }
    let file = dir.join(file::FILE_NAME);
    let shown = relative_display(app, &file);
    match fs_err::symlink_metadata(&file) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(detect(&dir, defaults)),
        Err(e) => return Err(Error::Io(e)),
        Ok(m) if m.is_file() => {}
        Ok(m) if m.is_symlink() => {
            // A link is read only when it leads to a file inside the root.
            let inside = file
                .canonicalize()
                .ok()
                .zip(app.root.canonicalize().ok())
                .is_some_and(|(f, r)| f.starts_with(r) && f.is_file());
            if !inside {
                return Err(Error::Io(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!(
                        "{shown} is a link to something that is not a file inside the source root"
                    ),
                )));
            }
        }
        Ok(_) => {
            return Err(Error::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{shown} is not a regular file (a FIFO, socket or device?)"),
            )));
        }
    }
    let text = crate::source::read_config(&file).map_err(Error::Io)?;
    let parsed = file::parse(&text, &shown)?;
    let mut steps = Vec::with_capacity(parsed.steps.len());
    let uses_oci = parsed
        .steps
        .iter()
        .any(|s| crate::oci::OciRef::is_oci(&s.plugin));
    let (lock, trust) = if uses_oci {
        (
            lock::Lock::read(&dir)?,
            std::sync::Arc::new(oci::Trust::load(app, parsed.trust.as_ref(), &shown)?),
        )
    } else {
        (None, std::sync::Arc::default())
    };
    for spec in parsed.steps {
        let is_file = Path::new(&spec.plugin)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("wasm"));
        let plugin = if crate::oci::OciRef::is_oci(&spec.plugin) {
            PluginRef::Oci(Box::new(oci::pin(
                &spec.plugin,
                &shown,
                lock.as_ref(),
                &trust,
            )?))
        } else if is_file || spec.plugin.contains('/') {
            PluginRef::File(resolve_in_root(app, &spec.plugin, &shown)?)
        } else {
            PluginRef::Builtin(spec.plugin.clone())
        };
        let limits = step_limits(&spec.limits, defaults).map_err(|message| {
            Error::Pipeline(file::Error::Invalid {
                file: shown.clone(),
                line: 0,
                column: 0,
                message,
            })
        })?;
        steps.push(Step {
            name: spec.name.unwrap_or_else(|| spec.plugin.clone()),
            plugin,
            config: spec
                .with
                .unwrap_or_else(|| serde_json::Value::Object(serde_json::Map::new())),
            secrets: spec.secrets,
            limits,
            when: RunWhen::Always,
        });
    }
    Ok(Pipeline {
        steps,
        detected: None,
        name: parsed.metadata.name,
        namespace: parsed.metadata.namespace,
    })
}

fn step_limits(spec: &file::LimitsSpec, defaults: Limits) -> Result<Limits, String> {
    use crate::runtime::limits::{parse_duration, parse_size};
    Ok(Limits {
        memory: spec
            .memory
            .as_deref()
            .map(parse_size)
            .transpose()?
            .unwrap_or(defaults.memory),
        time: spec
            .timeout
            .as_deref()
            .map(parse_duration)
            .transpose()?
            .unwrap_or(defaults.time),
        output: spec
            .output
            .as_deref()
            .map(parse_size)
            .transpose()?
            .unwrap_or(defaults.output),
    })
}

/// Resolves a plugin path written in `kiln.yaml` (relative to the app
/// directory) to a path relative to the source root, refusing escapes.
fn resolve_in_root(app: &App, rel: &str, shown: &str) -> Result<String, Error> {
    let outside = || Error::PluginOutsideRoot {
        file: shown.to_owned(),
        path: rel.to_owned(),
    };
    if Path::new(rel).is_absolute() {
        return Err(outside());
    }
    let joined = app.path().join(rel);
    let canonical = joined.canonicalize().map_err(|e| Error::ReadPlugin {
        path: rel.to_owned(),
        file: shown.to_owned(),
        source: e,
    })?;
    let root = app.root.canonicalize().map_err(Error::Io)?;
    let inside = canonical.strip_prefix(&root).map_err(|_| outside())?;
    // Reading a FIFO or a device would block or never end.
    if !canonical.is_file() {
        return Err(Error::ReadPlugin {
            path: rel.to_owned(),
            file: shown.to_owned(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a regular file (a FIFO, socket, device or directory)",
            ),
        });
    }
    Ok(inside.to_string_lossy().replace('\\', "/"))
}

fn relative_display(app: &App, path: &Path) -> String {
    path.strip_prefix(&app.root)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn kube_versions_get_their_v() {
        assert_eq!(super::kube_version(Some("1.30.2")), "v1.30.2");
        assert_eq!(super::kube_version(Some("v1.30.2")), "v1.30.2");
        assert_eq!(super::kube_version(None), super::DEFAULT_KUBE_VERSION);
    }
}
