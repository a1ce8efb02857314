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
pub(crate) const KUSTOMIZATION_FILES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

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

/// The secrets the automatic `sops` step is granted.
pub(super) const SOPS_SECRETS: [&str; 2] = ["sops-age-keys", "sops-pgp-keys"];

/// The pipeline of an app without `kiln.yaml`: the plugin of its kind, then,
/// for directory and kustomize apps whose output holds SOPS-encrypted
/// resources, `sops`, which decrypts them (and passes the others through)
/// with the keys the command line and environment give, and fails naming the
/// recipients when it has none.
pub fn detect(dir: &Path, limits: Limits) -> Pipeline {
    let kind = AppKind::of(dir);
    let mut steps = vec![Step {
        name: kind.plugin().to_owned(),
        plugin: PluginRef::Builtin(kind.plugin().to_owned()),
        config: Value::Object(Map::new()),
        secrets: Vec::new(),
        limits,
        only_if_encrypted: false,
    }];
    if kind != AppKind::Helm && crate::builtin::get("sops").is_some() {
        steps.push(Step {
            name: "sops".to_owned(),
            plugin: PluginRef::Builtin("sops".to_owned()),
            config: Value::Object(Map::new()),
            secrets: SOPS_SECRETS.iter().map(|s| (*s).to_owned()).collect(),
            limits,
            only_if_encrypted: true,
        });
    }
    Pipeline {
        steps,
        detected: Some(kind),
        name: None,
        namespace: None,
    }
}
