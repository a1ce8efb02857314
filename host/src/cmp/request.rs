//! What a request asks for: Argo CD's environment entries and the
//! Application's plugin parameters, read into kiln's render options.
//!
//! Argo CD sends the environment inside the metadata message (never as the
//! process's environment): `ARGOCD_APP_*`, `KUBE_VERSION`,
//! `KUBE_API_VERSIONS`, each `spec.source.plugin.env` entry as
//! `ARGOCD_ENV_<NAME>`, and the parameters as JSON in
//! `ARGOCD_APP_PARAMETERS` (plus `PARAM_*` copies, which kiln does not need).
//! A parameter wins over the `ARGOCD_ENV_` entry of the same name.

use std::path::{Component, Path};

use kiln_cmp_proto::{EnvEntry, ParameterAnnouncement};
use serde::Deserialize;

/// Environment entry names Argo CD sends.
pub mod env {
    /// The Application's name.
    pub const APP_NAME: &str = "ARGOCD_APP_NAME";
    /// The Application's destination namespace.
    pub const APP_NAMESPACE: &str = "ARGOCD_APP_NAMESPACE";
    /// The resolved commit.
    pub const APP_REVISION: &str = "ARGOCD_APP_REVISION";
    /// `spec.source.path`.
    pub const SOURCE_PATH: &str = "ARGOCD_APP_SOURCE_PATH";
    /// `spec.source.repoURL`.
    pub const SOURCE_REPO_URL: &str = "ARGOCD_APP_SOURCE_REPO_URL";
    /// `spec.source.targetRevision`.
    pub const SOURCE_TARGET_REVISION: &str = "ARGOCD_APP_SOURCE_TARGET_REVISION";
    /// The destination cluster's version, e.g. `1.32.3`.
    pub const KUBE_VERSION: &str = "KUBE_VERSION";
    /// The destination cluster's API versions, comma-separated.
    pub const KUBE_API_VERSIONS: &str = "KUBE_API_VERSIONS";
    /// The parameters, a JSON array.
    pub const APP_PARAMETERS: &str = "ARGOCD_APP_PARAMETERS";
    /// The prefix of `spec.source.plugin.env` entries.
    pub const ENV_PREFIX: &str = "ARGOCD_ENV_";
}

/// The parameters kiln announces and applies.
pub mod param {
    /// Helm release name (default: the Application's name).
    pub const RELEASE_NAME: &str = "release-name";
    /// Target namespace (default: the Application's destination namespace).
    pub const NAMESPACE: &str = "namespace";
    /// Helm values files, relative to the app directory.
    pub const VALUES: &str = "values";
    /// Helm `--set` values.
    pub const SET: &str = "set";
    /// Helm `--set-string` values.
    pub const SET_STRING: &str = "set-string";
    /// Include the chart's `crds/`.
    pub const INCLUDE_CRDS: &str = "include-crds";
    /// Leave out test hooks.
    pub const SKIP_TESTS: &str = "skip-tests";
    /// Which of the operator's SOPS keys the app may use.
    pub const SOPS_KEYS: &str = "sops-keys";
}

/// Why a request's environment or parameters were refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `ARGOCD_APP_PARAMETERS` is not the JSON Argo CD writes.
    #[error("ARGOCD_APP_PARAMETERS is not a JSON array of parameters")]
    Parameters(#[source] serde_json::Error),
    /// A parameter has the wrong shape.
    #[error("parameter `{name}` must be {want}")]
    Shape {
        /// The parameter.
        name: String,
        /// What it must be.
        want: &'static str,
    },
    /// A parameter kiln does not know.
    #[error("unknown parameter `{0}`")]
    Unknown(String),
    /// A values file leaves the source tree.
    #[error("parameter `values`: `{0}` is outside the source tree")]
    Outside(String),
    /// The app path leaves the source tree.
    #[error("the app path `{0}` is outside the streamed source tree")]
    AppOutside(String),
}

impl Error {
    /// What to do about it.
    pub fn hint(&self) -> String {
        match self {
            Self::Unknown(_) | Self::Shape { .. } => format!(
                "kiln takes the parameters {}; see the Application's Parameters tab",
                ANNOUNCED.join(", ")
            ),
            Self::Outside(_) => {
                "give values files relative to the app directory, inside the repository".into()
            }
            Self::AppOutside(_) => {
                "set spec.source.path to a directory inside the repository".into()
            }
            Self::Parameters(_) => "set the parameters in spec.source.plugin.parameters".into(),
        }
    }
}

/// Every parameter kiln takes, in announcement order.
pub const ANNOUNCED: [&str; 7] = [
    param::RELEASE_NAME,
    param::NAMESPACE,
    param::VALUES,
    param::SET,
    param::SET_STRING,
    param::INCLUDE_CRDS,
    param::SKIP_TESTS,
];

/// One request, read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppRequest {
    /// The app directory relative to the source root, `/`-separated, `.` for the root.
    pub app_dir: String,
    /// The Application's name (`ARGOCD_APP_NAME`), else the app directory's base name.
    pub app_name: String,
    /// Target namespace: the parameter, else `ARGOCD_APP_NAMESPACE`.
    pub namespace: Option<String>,
    /// The commit (`ARGOCD_APP_REVISION`).
    pub revision: Option<String>,
    /// A stable name of the app across requests: repository URL and path.
    pub source_id: String,
    /// The repository URL (`ARGOCD_APP_SOURCE_REPO_URL`): the scope of the
    /// render's random values (see `RenderSettings::seed_scope`).
    pub repo_url: Option<String>,
    /// `KUBE_VERSION`.
    pub kube_version: Option<String>,
    /// `KUBE_API_VERSIONS`.
    pub api_versions: Vec<String>,
    /// Helm release name.
    pub release_name: Option<String>,
    /// Values files, relative to the app directory.
    pub values: Vec<String>,
    /// `--set` values, `K=V`.
    pub set: Vec<String>,
    /// `--set-string` values, `K=V`.
    pub set_string: Vec<String>,
    /// Include CRDs.
    pub include_crds: bool,
    /// Skip test hooks.
    pub skip_tests: bool,
    /// Names of the operator's SOPS keys the app asks for (`None`: all of them).
    pub sops_keys: Option<Vec<String>>,
}

/// One parameter as Argo CD writes it into `ARGOCD_APP_PARAMETERS`.
#[derive(Debug, Deserialize)]
struct Parameter {
    name: String,
    #[serde(default)]
    string: Option<String>,
    #[serde(default)]
    array: Option<Vec<String>>,
    #[serde(default)]
    map: Option<std::collections::BTreeMap<String, String>>,
}

impl AppRequest {
    /// Reads the request for the app at `app_rel_path` (as the metadata
    /// gives it) from the environment entries.
    pub fn read(app_rel_path: &str, entries: &[EnvEntry]) -> Result<Self, Error> {
        let get = |name: &str| {
            entries
                .iter()
                .rev()
                .find(|e| e.name == name)
                .map(|e| e.value.clone())
                .filter(|v| !v.is_empty())
        };
        let app_dir =
            normalise(app_rel_path).ok_or_else(|| Error::AppOutside(app_rel_path.to_owned()))?;
        let base = app_dir.rsplit('/').next().unwrap_or("app");
        let mut out = Self {
            app_name: get(env::APP_NAME).unwrap_or_else(|| base.to_owned()),
            namespace: get(env::APP_NAMESPACE),
            revision: get(env::APP_REVISION),
            source_id: format!(
                "{}#{}",
                get(env::SOURCE_REPO_URL).unwrap_or_default(),
                get(env::SOURCE_PATH).unwrap_or_else(|| app_dir.clone())
            ),
            repo_url: get(env::SOURCE_REPO_URL),
            kube_version: get(env::KUBE_VERSION),
            api_versions: get(env::KUBE_API_VERSIONS)
                .map(|v| {
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            app_dir,
            ..Self::default()
        };
        // `spec.source.plugin.env`: ARGOCD_ENV_RELEASE_NAME and the like.
        for name in ANNOUNCED.iter().chain(&[param::SOPS_KEYS]) {
            let var = format!(
                "{}{}",
                env::ENV_PREFIX,
                name.to_uppercase().replace('-', "_")
            );
            if let Some(value) = get(&var) {
                let list = || {
                    value
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect::<Vec<_>>()
                };
                out.apply(name, Some(value.clone()), Some(list()), None)?;
            }
        }
        if let Some(json) = get(env::APP_PARAMETERS) {
            let params: Option<Vec<Parameter>> =
                serde_json::from_str(&json).map_err(Error::Parameters)?;
            for p in params.unwrap_or_default() {
                let map = p
                    .map
                    .map(|m| m.into_iter().map(|(k, v)| format!("{k}={v}")).collect());
                out.apply(&p.name, p.string, p.array, map)?;
            }
        }
        for file in &out.values {
            let joined = if out.app_dir == "." {
                file.clone()
            } else {
                format!("{}/{file}", out.app_dir)
            };
            if Path::new(file).is_absolute() || normalise(&joined).is_none() {
                return Err(Error::Outside(file.clone()));
            }
        }
        Ok(out)
    }

    /// Sets one parameter from whichever of its shapes was given.
    fn apply(
        &mut self,
        name: &str,
        string: Option<String>,
        array: Option<Vec<String>>,
        map: Option<Vec<String>>,
    ) -> Result<(), Error> {
        let shape = |want| Error::Shape {
            name: name.to_owned(),
            want,
        };
        let boolean = |s: Option<String>| -> Result<bool, Error> {
            match s.as_deref().map(str::trim) {
                Some("true") => Ok(true),
                Some("false" | "") | None => Ok(false),
                Some(_) => Err(shape("`true` or `false`")),
            }
        };
        match name {
            param::RELEASE_NAME => self.release_name = string.filter(|s| !s.is_empty()),
            param::NAMESPACE => {
                if let Some(ns) = string.filter(|s| !s.is_empty()) {
                    self.namespace = Some(ns);
                }
            }
            param::VALUES => {
                self.values = array.ok_or_else(|| shape("an array of files"))?;
            }
            param::SET | param::SET_STRING => {
                let list = map
                    .or(array)
                    .ok_or_else(|| shape("a map (or an array of K=V)"))?;
                if list.iter().any(|kv| !kv.contains('=')) {
                    return Err(shape("a map (or an array of K=V)"));
                }
                if name == param::SET {
                    self.set = list;
                } else {
                    self.set_string = list;
                }
            }
            param::INCLUDE_CRDS => self.include_crds = boolean(string)?,
            param::SKIP_TESTS => self.skip_tests = boolean(string)?,
            param::SOPS_KEYS => {
                self.sops_keys = Some(array.ok_or_else(|| shape("an array of key names"))?);
            }
            other => return Err(Error::Unknown(other.to_owned())),
        }
        Ok(())
    }
}

/// A relative path with `..` resolved, `/`-separated (`.` for empty);
/// `None` when it is absolute or climbs above its start.
pub fn normalise(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for c in Path::new(path).components() {
        match c {
            Component::Normal(p) => parts.push(p.to_str()?),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    })
}

/// The parameters kiln announces for an app, with the request's values as
/// defaults where Argo CD gives them (the Application's name and namespace).
pub fn announcements(
    request: &AppRequest,
    helm: bool,
    keys: &[String],
) -> Vec<ParameterAnnouncement> {
    let string =
        |name: &str, title: &str, tooltip: &str, default: Option<&str>| ParameterAnnouncement {
            name: name.to_owned(),
            title: title.to_owned(),
            tooltip: tooltip.to_owned(),
            item_type: "string".to_owned(),
            collection_type: "string".to_owned(),
            string: default.unwrap_or_default().to_owned(),
            ..ParameterAnnouncement::default()
        };
    let mut out = vec![string(
        param::NAMESPACE,
        "Namespace",
        "Namespace of namespaced resources that name none",
        request.namespace.as_deref(),
    )];
    if helm {
        out.push(string(
            param::RELEASE_NAME,
            "Release name",
            "Helm release name",
            Some(request.release_name.as_deref().unwrap_or(&request.app_name)),
        ));
        out.push(ParameterAnnouncement {
            collection_type: "array".to_owned(),
            ..string(
                param::VALUES,
                "Values files",
                "Values files relative to the chart, merged in order",
                None,
            )
        });
        for (name, title) in [
            (param::SET, "Set values"),
            (param::SET_STRING, "Set string values"),
        ] {
            out.push(ParameterAnnouncement {
                collection_type: "map".to_owned(),
                ..string(name, title, "Like helm --set: a.b=c, list={x,y}", None)
            });
        }
        for (name, title) in [
            (param::INCLUDE_CRDS, "Include CRDs"),
            (param::SKIP_TESTS, "Skip tests"),
        ] {
            out.push(ParameterAnnouncement {
                item_type: "boolean".to_owned(),
                ..string(name, title, title, Some("false"))
            });
        }
    }
    if !keys.is_empty() {
        out.push(ParameterAnnouncement {
            collection_type: "array".to_owned(),
            array: keys.to_vec(),
            ..string(
                param::SOPS_KEYS,
                "SOPS keys",
                "Which of the sidecar's SOPS keys may decrypt this app's files",
                None,
            )
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(pairs: &[(&str, &str)]) -> Vec<EnvEntry> {
        pairs
            .iter()
            .map(|(n, v)| EnvEntry {
                name: (*n).to_owned(),
                value: (*v).to_owned(),
            })
            .collect()
    }

    #[test]
    fn reads_argo_env_and_parameters() {
        let params = r#"[{"name":"release-name","string":"web"},{"name":"values","array":["values-prod.yaml"]},{"name":"set","map":{"replicas":"3","image.tag":"v2"}},{"name":"include-crds","string":"true"}]"#;
        let r = AppRequest::read(
            "apps/web",
            &entries(&[
                (env::APP_NAME, "web-prod"),
                (env::APP_NAMESPACE, "prod"),
                (env::APP_REVISION, "abc123"),
                (env::SOURCE_REPO_URL, "https://git.example/repo"),
                (env::SOURCE_PATH, "apps/web"),
                (env::KUBE_VERSION, "1.32.3"),
                (
                    env::KUBE_API_VERSIONS,
                    "v1,apps/v1,monitoring.coreos.com/v1",
                ),
                ("ARGOCD_ENV_SET", "ignored=1"),
                (env::APP_PARAMETERS, params),
            ]),
        )
        .unwrap();
        assert_eq!(r.app_dir, "apps/web");
        assert_eq!(r.app_name, "web-prod");
        assert_eq!(r.namespace.as_deref(), Some("prod"));
        assert_eq!(r.revision.as_deref(), Some("abc123"));
        assert_eq!(r.source_id, "https://git.example/repo#apps/web");
        assert_eq!(r.repo_url.as_deref(), Some("https://git.example/repo"));
        assert_eq!(r.kube_version.as_deref(), Some("1.32.3"));
        assert_eq!(r.api_versions.len(), 3);
        assert_eq!(r.release_name.as_deref(), Some("web"));
        assert_eq!(r.values, ["values-prod.yaml"]);
        // The parameter replaced the env entry; map keys in order.
        assert_eq!(r.set, ["image.tag=v2", "replicas=3"]);
        assert!(r.include_crds);
        assert!(!r.skip_tests);
    }

    #[test]
    fn env_entries_give_parameters_too() {
        let r = AppRequest::read(
            ".",
            &entries(&[
                ("ARGOCD_ENV_RELEASE_NAME", "rel"),
                ("ARGOCD_ENV_VALUES", "a.yaml, b.yaml"),
                ("ARGOCD_ENV_SOPS_KEYS", "team-a"),
                (env::APP_PARAMETERS, "null"),
            ]),
        )
        .unwrap();
        assert_eq!(r.app_dir, ".");
        assert_eq!(r.app_name, ".");
        assert_eq!(r.release_name.as_deref(), Some("rel"));
        assert_eq!(r.values, ["a.yaml", "b.yaml"]);
        assert_eq!(r.sops_keys, Some(vec!["team-a".to_owned()]));
    }

    #[test]
    fn refuses_bad_parameters() {
        let read = |json: &str| AppRequest::read("app", &entries(&[(env::APP_PARAMETERS, json)]));
        assert!(matches!(read("{").unwrap_err(), Error::Parameters(_)));
        assert!(matches!(
            read(r#"[{"name":"colour","string":"red"}]"#).unwrap_err(),
            Error::Unknown(n) if n == "colour"
        ));
        assert!(matches!(
            read(r#"[{"name":"values","string":"x.yaml"}]"#).unwrap_err(),
            Error::Shape { .. }
        ));
        assert!(matches!(
            read(r#"[{"name":"values","array":["../../etc/passwd"]}]"#).unwrap_err(),
            Error::Outside(_)
        ));
        assert!(matches!(
            read(r#"[{"name":"values","array":["/etc/passwd"]}]"#).unwrap_err(),
            Error::Outside(_)
        ));
        // One level up from the app stays inside the tree.
        assert!(read(r#"[{"name":"values","array":["../shared.yaml"]}]"#).is_ok());
        assert!(matches!(
            AppRequest::read("../x", &[]).unwrap_err(),
            Error::AppOutside(_)
        ));
    }

    #[test]
    fn announces_helm_parameters_with_defaults() {
        let r = AppRequest {
            app_name: "web".into(),
            namespace: Some("prod".into()),
            ..AppRequest::default()
        };
        let all = announcements(&r, true, &["team-a".to_owned()]);
        let names: Vec<&str> = all.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "namespace",
                "release-name",
                "values",
                "set",
                "set-string",
                "include-crds",
                "skip-tests",
                "sops-keys"
            ]
        );
        assert_eq!(all[0].string, "prod");
        assert_eq!(all[1].string, "web");
        assert_eq!(all[3].collection_type, "map");
        assert_eq!(all[7].array, ["team-a"]);
        let plain = announcements(&r, false, &[]);
        assert_eq!(plain.len(), 1);
    }
}
