//! Detecting an app's kind when it has no `kiln.yaml`, as Argo CD does.

use std::path::Path;

use serde_json::{Map, Value};

use super::{Pipeline, PluginRef, RunWhen, Step};
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
pub(super) const SOPS_SECRETS: [&str; 2] = super::run::KEY_SECRETS;

/// The pipeline of an app without `kiln.yaml`: the plugin of its kind,
/// and for directory and kustomize apps the automatic `sops` steps, granted
/// the keys the command line and environment give (they fail naming the
/// recipients when the keys given do not fit; with no key at all they keep
/// the encrypted content, with a warning, as `kustomize build` does):
///
/// - before a kustomize build, when a file the app reads holds SOPS
///   metadata, `sops` decrypts the files the build's generators and patches
///   read (as Flux does before `kustomize build`), handing them to the
///   overlay plugin as `DecryptedFile` documents, never writing them to disk;
/// - after the build, when a resource is SOPS-encrypted, `sops` decrypts it
///   (and passes the others through), as Flux does after the build.
pub fn detect(dir: &Path, limits: Limits) -> Pipeline {
    let kind = AppKind::of(dir);
    let has_sops = kind != AppKind::Helm && crate::builtin::get("sops").is_some();
    let sops = |when, config: Value| Step {
        name: "sops".to_owned(),
        plugin: PluginRef::Builtin("sops".to_owned()),
        config,
        secrets: SOPS_SECRETS.iter().map(|s| (*s).to_owned()).collect(),
        limits,
        when,
    };
    let mut steps = Vec::new();
    if has_sops && kind == AppKind::Kustomize {
        steps.push(Step {
            name: "sops-sources".to_owned(),
            ..sops(
                RunWhen::EncryptedSources,
                serde_json::json!({ "kustomization": ".", "withoutKeys": "keep" }),
            )
        });
    }
    steps.push(Step {
        name: kind.plugin().to_owned(),
        plugin: PluginRef::Builtin(kind.plugin().to_owned()),
        config: Value::Object(Map::new()),
        secrets: Vec::new(),
        limits,
        when: RunWhen::Always,
    });
    if has_sops {
        steps.push(sops(
            RunWhen::EncryptedResources,
            serde_json::json!({ "withoutKeys": "keep" }),
        ));
    }
    Pipeline {
        steps,
        detected: Some(kind),
        name: None,
        namespace: None,
    }
}
