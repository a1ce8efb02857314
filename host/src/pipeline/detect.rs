//! Detecting an app's kind when it has no `kiln.yaml`, as Argo CD does.

use std::path::Path;

use serde_json::{Map, Value};

use super::{Pipeline, PluginRef, Step};
use crate::runtime::Limits;

/// The kind of an app without a `kiln.yaml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppKind {
    /// A `Chart.yaml`: the `helm` plugin.
    Helm,
    /// A `kustomization.yaml`, `kustomization.yml` or `Kustomization`: the `overlay` plugin.
    Kustomize,
    /// Plain manifests: the `directory` plugin.
    Directory,
}

/// Names of kustomization files, in kustomize's order of preference.
pub(crate) const KUSTOMIZATION_FILES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

impl AppKind {
    /// Detects the kind of the app in `dir`.
    pub fn of(dir: &Path) -> Self {
        if dir.join("Chart.yaml").is_file() {
            Self::Helm
        } else if KUSTOMIZATION_FILES.iter().any(|f| dir.join(f).is_file()) {
            Self::Kustomize
        } else {
            Self::Directory
        }
    }

    /// The built-in plugin that renders this kind.
    pub fn plugin(self) -> &'static str {
        match self {
            Self::Helm => "helm",
            Self::Kustomize => "overlay",
            Self::Directory => "directory",
        }
    }
}

/// The one-step pipeline of an app without `kiln.yaml`.
pub fn detect(dir: &Path, limits: Limits) -> Pipeline {
    let kind = AppKind::of(dir);
    Pipeline {
        steps: vec![Step {
            name: kind.plugin().to_owned(),
            plugin: PluginRef::Builtin(kind.plugin().to_owned()),
            config: Value::Object(Map::new()),
            secrets: Vec::new(),
            limits,
        }],
        detected: Some(kind),
        name: None,
        namespace: None,
    }
}
