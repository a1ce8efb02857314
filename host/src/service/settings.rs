//! What a render is asked for, as plain data: the helm flags, the target,
//! the secrets and limits; and how it becomes a pipeline's options.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde_json::{Map, Value};

use super::Hint;
use crate::model::App;
use crate::pipeline::{self, RenderOptions};
use crate::runtime::Limits;

/// The options of one render (of one app, or of every app of a run).
///
/// Every field is plain data, so that a command line, an Argo CD request's
/// environment or an agent's configuration can fill it. The service reads
/// no environment variable of its own process.
#[derive(Clone, Default)]
pub struct RenderSettings {
    /// Target namespace (else `kiln.yaml`'s).
    pub namespace: Option<String>,
    /// Target Kubernetes version (`1.32.0` or `v1.32.0`; default
    /// [`pipeline::DEFAULT_KUBE_VERSION`]).
    pub kube_version: Option<String>,
    /// API versions the target serves, besides the built-in ones.
    pub api_versions: Vec<String>,
    /// The options of `helm template`, for helm steps.
    pub helm: HelmSettings,
    /// Values of secrets by name (SOPS keys under [`super::keys::AGE_SECRET`]
    /// and [`super::keys::PGP_SECRET`]; see [`super::keys`]).
    pub secrets: Vec<(String, Vec<u8>)>,
    /// The operator's grants of secrets to plugins: `(plugin digest, secret name)`.
    pub grants: Vec<(blake3::Hash, String)>,
    /// The default limits of each plugin call.
    pub limits: Limits,
    /// The operator's ceiling on every step's limits, `kiln.yaml`'s included.
    pub ceiling: Option<Limits>,
    /// The operator's render seed, which every random value of a render
    /// follows from (see [`pipeline::RenderSeed`] and [`super::keys::render_seed`]).
    pub render_seed: Option<pipeline::RenderSeed>,
    /// Whose renders these are, when one server renders for many (Argo CD's
    /// repository URL, an agent's repository): the same files under another
    /// scope draw other random values, so that a tenant who copies
    /// another's chart and values does not get its passwords.
    pub seed_scope: Option<String>,
    /// Ask helm steps for their exact text output too (see
    /// [`super::AppRender::text`]); for printing one app as YAML.
    pub emit_text: bool,
}

impl std::fmt::Debug for RenderSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenderSettings")
            .field("namespace", &self.namespace)
            .field("kube_version", &self.kube_version)
            .field("api_versions", &self.api_versions)
            .field("helm", &self.helm)
            .field(
                "secrets",
                &self.secrets.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("grants", &self.grants)
            .field("limits", &self.limits)
            .field("ceiling", &self.ceiling)
            .field("render_seed", &self.render_seed)
            .field("seed_scope", &self.seed_scope)
            .field("emit_text", &self.emit_text)
            .finish()
    }
}

/// The options of `helm template`, passed to helm steps. Paths are on the
/// host (relative ones to the current directory) and must lie inside the
/// app's source root.
#[derive(Debug, Clone, Default)]
pub struct HelmSettings {
    /// Release name.
    pub release_name: Option<String>,
    /// Values files, merged in order.
    pub values: Vec<PathBuf>,
    /// Set values (`a.b=c`, `list={x,y}`, `a[0].b=c`).
    pub set: Vec<String>,
    /// Set string values.
    pub set_string: Vec<String>,
    /// Set values from files (`K=PATH`).
    pub set_file: Vec<String>,
    /// Set JSON values (`K=JSON`).
    pub set_json: Vec<String>,
    /// Only the manifests rendered from these templates.
    pub show_only: Vec<String>,
    /// Include the chart's `crds/`.
    pub include_crds: bool,
    /// Leave out test hooks.
    pub skip_tests: bool,
}

impl RenderSettings {
    /// A canonical digest of everything here that changes a render
    /// (secret values hashed), for memo ids.
    pub(crate) fn fingerprint(&self) -> String {
        let secrets: Vec<(&str, String)> = self
            .secrets
            .iter()
            .map(|(name, value)| (name.as_str(), blake3::hash(value).to_hex().to_string()))
            .collect();
        let grants: Vec<(String, &str)> = self
            .grants
            .iter()
            .map(|(d, n)| (d.to_hex().to_string(), n.as_str()))
            .collect();
        format!(
            "{:?}|{:?}|{:?}|{:?}|{secrets:?}|{grants:?}|{:?}|{:?}|{}|{:?}|{:?}",
            self.namespace,
            self.kube_version,
            self.api_versions,
            self.helm,
            self.limits,
            self.ceiling,
            self.emit_text,
            self.render_seed.as_ref().map(pipeline::RenderSeed::id),
            self.seed_scope
        )
    }

    /// The pipeline options of rendering `app` with these settings.
    pub(crate) fn options(&self, app: &App) -> anyhow::Result<RenderOptions> {
        Ok(RenderOptions {
            namespace: self.namespace.clone(),
            kube_version: pipeline::kube_version(self.kube_version.as_deref()),
            api_versions: self.api_versions.clone(),
            source_revision: None,
            plugin_config: vec![("helm".to_owned(), self.helm_config(app)?)],
            secrets: self.secrets.clone(),
            grants: self.grants.clone(),
            ceiling: self.ceiling,
            render_seed: self.render_seed.clone(),
            seed_scope: self.seed_scope.clone(),
            ..RenderOptions::default()
        })
    }

    /// The helm settings as a helm step's config; paths made relative to
    /// the app directory.
    fn helm_config(&self, app: &App) -> anyhow::Result<Map<String, Value>> {
        let h = &self.helm;
        let mut m = Map::new();
        let strings = |v: &[String]| Value::Array(v.iter().cloned().map(Value::String).collect());
        if let Some(name) = &h.release_name {
            m.insert("release-name".into(), name.clone().into());
        }
        if let Some(ns) = &self.namespace {
            m.insert("namespace".into(), ns.clone().into());
        }
        if !h.values.is_empty() {
            let files = h
                .values
                .iter()
                .map(|f| app_relative(app, f))
                .collect::<anyhow::Result<Vec<_>>>()?;
            m.insert("values".into(), strings(&files));
        }
        for (key, list) in [
            ("set", &h.set),
            ("set-string", &h.set_string),
            ("set-json", &h.set_json),
            ("show-only", &h.show_only),
        ] {
            if !list.is_empty() {
                m.insert(key.into(), strings(list));
            }
        }
        if !h.set_file.is_empty() {
            let mut out = Vec::new();
            for spec in &h.set_file {
                let (k, path) = spec.split_once('=').ok_or_else(|| {
                    Hint::error(
                        format!("--set-file `{spec}` is not K=PATH"),
                        "e.g. --set-file config=./config.txt",
                    )
                })?;
                out.push(format!("{k}={}", app_relative(app, Path::new(path))?));
            }
            m.insert("set-file".into(), strings(&out));
        }
        if !self.api_versions.is_empty() {
            m.insert("api-versions".into(), strings(&self.api_versions));
        }
        if let Some(v) = &self.kube_version {
            m.insert("kube-version".into(), v.clone().into());
        }
        if h.include_crds {
            m.insert("include-crds".into(), true.into());
        }
        if h.skip_tests {
            m.insert("skip-tests".into(), true.into());
        }
        if self.emit_text {
            m.insert("emit-text".into(), true.into());
        }
        Ok(m)
    }
}

/// A path on the host, relative to the app directory as plugins see it; it
/// must be inside the source root.
fn app_relative(app: &App, path: &Path) -> anyhow::Result<String> {
    let abs = path
        .canonicalize()
        .with_context(|| format!("cannot read {}", path.display()))?;
    let inside = abs.strip_prefix(&app.root).map_err(|_| {
        Hint::error(
            format!(
                "{} is outside the source root {}",
                path.display(),
                app.root.display()
            ),
            crate::source::outside_root_hint(),
        )
    })?;
    let depth = if app.dir == "." {
        0
    } else {
        app.dir.split('/').count()
    };
    let mut rel = "../".repeat(depth);
    rel.push_str(&inside.to_string_lossy());
    Ok(rel)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(root: &Path, dir: &str) -> App {
        App {
            root: root.canonicalize().expect("root exists"),
            dir: dir.to_owned(),
            name: "web".to_owned(),
        }
    }

    #[test]
    fn helm_settings_become_the_helm_steps_config_with_app_relative_paths() {
        let tmp = tempfile::tempdir().expect("temp dir");
        fs_err::create_dir_all(tmp.path().join("apps/web")).expect("mkdir");
        fs_err::write(tmp.path().join("values.yaml"), "a: 1\n").expect("write");
        fs_err::write(tmp.path().join("apps/web/cert.pem"), "x").expect("write");
        let settings = RenderSettings {
            namespace: Some("prod".into()),
            kube_version: Some("1.31.0".into()),
            api_versions: vec!["x.dev/v1".into()],
            helm: HelmSettings {
                release_name: Some("shop".into()),
                values: vec![tmp.path().join("values.yaml")],
                set: vec!["a=2".into()],
                set_file: vec![format!(
                    "cert={}",
                    tmp.path().join("apps/web/cert.pem").display()
                )],
                include_crds: true,
                ..HelmSettings::default()
            },
            ..RenderSettings::default()
        };
        let opts = settings
            .options(&app(tmp.path(), "apps/web"))
            .expect("options");
        assert_eq!(opts.kube_version, "v1.31.0");
        assert_eq!(opts.namespace.as_deref(), Some("prod"));
        let (plugin, config) = &opts.plugin_config[0];
        assert_eq!(plugin, "helm");
        assert_eq!(
            Value::Object(config.clone()),
            serde_json::json!({
                "release-name": "shop",
                "namespace": "prod",
                "values": ["../../values.yaml"],
                "set": ["a=2"],
                "set-file": ["cert=../../apps/web/cert.pem"],
                "api-versions": ["x.dev/v1"],
                "kube-version": "1.31.0",
                "include-crds": true,
            })
        );
    }

    #[test]
    fn a_bad_set_file_and_a_values_file_outside_the_root_say_what_to_do() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let outside = tempfile::NamedTempFile::new().expect("temp file");
        let root = app(tmp.path(), ".");
        let mut settings = RenderSettings::default();
        settings.helm.set_file = vec!["no-equals-sign".into()];
        let error = settings.options(&root).expect_err("not K=PATH");
        assert!(error.to_string().contains("is not K=PATH"), "{error:#}");
        assert!(super::super::hint(&error).is_some_and(|h| h.contains("--set-file")));
        settings.helm.set_file.clear();
        settings.helm.values = vec![outside.path().to_path_buf()];
        let error = settings.options(&root).expect_err("outside");
        assert!(
            error.to_string().contains("outside the source root"),
            "{error:#}"
        );
        assert!(super::super::hint(&error).is_some());
    }

    #[test]
    fn the_fingerprint_changes_with_a_secret_and_never_shows_it() {
        let mut settings = RenderSettings {
            secrets: vec![("sops-age-keys".into(), b"AGE-SECRET-KEY-1XYZ".to_vec())],
            ..RenderSettings::default()
        };
        let before = settings.fingerprint();
        assert!(!before.contains("AGE-SECRET-KEY"), "{before}");
        assert!(!format!("{settings:?}").contains("AGE-SECRET-KEY"));
        settings.secrets[0].1 = b"AGE-SECRET-KEY-1ABC".to_vec();
        assert_ne!(settings.fingerprint(), before);
    }
}
