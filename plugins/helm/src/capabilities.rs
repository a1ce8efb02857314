//! `.Capabilities`: the Kubernetes version and API versions templates see.

use std::sync::Arc;

use kiln_gotmpl::{Object, Value};

/// The API versions `helm template` assumes besides those given by
/// `--api-versions` (client-go's scheme, as Helm's default capabilities).
pub const DEFAULT_API_VERSIONS: &[&str] = &[
    "v1",
    "admissionregistration.k8s.io/v1",
    "admissionregistration.k8s.io/v1alpha1",
    "admissionregistration.k8s.io/v1beta1",
    "internal.apiserver.k8s.io/v1alpha1",
    "apps/v1",
    "apps/v1beta1",
    "apps/v1beta2",
    "authentication.k8s.io/v1",
    "authentication.k8s.io/v1alpha1",
    "authentication.k8s.io/v1beta1",
    "authorization.k8s.io/v1",
    "authorization.k8s.io/v1beta1",
    "autoscaling/v1",
    "autoscaling/v2",
    "autoscaling/v2beta1",
    "autoscaling/v2beta2",
    "batch/v1",
    "batch/v1beta1",
    "certificates.k8s.io/v1",
    "certificates.k8s.io/v1beta1",
    "certificates.k8s.io/v1alpha1",
    "coordination.k8s.io/v1alpha2",
    "coordination.k8s.io/v1beta1",
    "coordination.k8s.io/v1",
    "discovery.k8s.io/v1",
    "discovery.k8s.io/v1beta1",
    "events.k8s.io/v1",
    "events.k8s.io/v1beta1",
    "extensions/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1",
    "flowcontrol.apiserver.k8s.io/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1beta2",
    "flowcontrol.apiserver.k8s.io/v1beta3",
    "networking.k8s.io/v1",
    "networking.k8s.io/v1beta1",
    "node.k8s.io/v1",
    "node.k8s.io/v1alpha1",
    "node.k8s.io/v1beta1",
    "policy/v1",
    "policy/v1beta1",
    "rbac.authorization.k8s.io/v1",
    "rbac.authorization.k8s.io/v1beta1",
    "rbac.authorization.k8s.io/v1alpha1",
    "resource.k8s.io/v1",
    "resource.k8s.io/v1beta2",
    "resource.k8s.io/v1beta1",
    "resource.k8s.io/v1alpha3",
    "scheduling.k8s.io/v1alpha1",
    "scheduling.k8s.io/v1beta1",
    "scheduling.k8s.io/v1",
    "storage.k8s.io/v1beta1",
    "storage.k8s.io/v1",
    "storage.k8s.io/v1alpha1",
    "storagemigration.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1",
];

/// `.Capabilities.HelmVersion` (Helm's `version.BuildInfo`): the build of
/// helm v4.1.4 whose renders this plugin reproduces.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HelmVersion;

/// The fields of [`HelmVersion`]: Go name, JSON name, value.
const HELM_BUILD: [(&str, &str, &str); 5] = [
    ("Version", "version", "v4.1.4"),
    (
        "GitCommit",
        "git_commit",
        "05fa37973dc9e42b76e1d2883494c87174b6074f",
    ),
    ("GitTreeState", "git_tree_state", "clean"),
    ("GoVersion", "go_version", "go1.25.9"),
    ("KubeClientVersion", "kube_client_version", "v1.35"),
];

impl Object for HelmVersion {
    fn type_name(&self) -> &'static str {
        "version.BuildInfo"
    }
    fn field(&self, name: &str) -> Option<Value> {
        HELM_BUILD
            .iter()
            .find(|(go, _, _)| *go == name)
            .map(|(_, _, v)| Value::String((*v).to_owned()))
    }
    fn call(&self, _method: &str, _args: &[Value]) -> Option<Result<Value, String>> {
        None
    }
    fn display(&self) -> String {
        let fields: Vec<&str> = HELM_BUILD.iter().map(|(_, _, v)| *v).collect();
        format!("{{{}}}", fields.join(" "))
    }
    /// `.Capabilities.HelmVersion` is a struct value, not a pointer.
    fn kind_name(&self) -> &'static str {
        "struct"
    }
    /// Encoders see the JSON tags (`version`, `git_commit`, ...).
    fn fields(&self) -> Option<Vec<(String, Value)>> {
        Some(
            HELM_BUILD
                .iter()
                .map(|(_, json, v)| ((*json).to_owned(), Value::String((*v).to_owned())))
                .collect(),
        )
    }
}

/// A Kubernetes version as Helm parses `--kube-version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeVersion {
    /// As given, with a `v` prefix (`v1.20.0`).
    pub version: String,
    /// `vMAJOR.MINOR.PATCH` (for constraints and printing).
    pub normalized: String,
    /// Major version.
    pub major: String,
    /// Minor version.
    pub minor: String,
    /// Whether templates reach it as a field of `.Capabilities` (addressable,
    /// so an action prints it through its `String` method).
    addressable: bool,
}

/// A `--kube-version` that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("invalid kube version '{0}': could not parse \"{0}\" as version")]
pub struct KubeVersionError(pub String);

impl KubeVersion {
    /// Parses `1.20`, `v1.20.0`, `1.33.4-gke.1245000`.
    pub fn parse(s: &str) -> Result<Self, KubeVersionError> {
        let bad = || KubeVersionError(s.to_owned());
        let t = s.trim();
        let t = t.strip_prefix('v').unwrap_or(t);
        let core = t.split(['-', '+']).next().unwrap_or_default();
        let nums: Vec<&str> = core.split('.').collect();
        if nums.len() < 2
            || nums
                .iter()
                .any(|n| n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(bad());
        }
        let num = |i: usize| {
            nums.get(i)
                .map_or(Ok(0), |n| n.parse::<u64>())
                .map_err(|_| bad())
        };
        let (major, minor, patch) = (num(0)?, num(1)?, num(2)?);
        let version = if s.starts_with('v') {
            s.to_owned()
        } else {
            format!("v{s}")
        };
        Ok(Self {
            version,
            normalized: format!("v{major}.{minor}.{patch}"),
            major: major.to_string(),
            minor: minor.to_string(),
            addressable: false,
        })
    }
}

impl Object for KubeVersion {
    fn type_name(&self) -> &'static str {
        "common.KubeVersion"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Version" | "GitVersion" => Some(Value::String(self.version.clone())),
            "Major" => Some(Value::String(self.major.clone())),
            "Minor" => Some(Value::String(self.minor.clone())),
            "String" => Some(Value::String(self.normalized.clone())),
            _ => None,
        }
    }
    fn call(&self, method: &str, _args: &[Value]) -> Option<Result<Value, String>> {
        match method {
            "String" => Some(Ok(Value::String(self.normalized.clone()))),
            "GitVersion" => Some(Ok(Value::String(self.version.clone()))),
            _ => None,
        }
    }
    /// Helm 4 keeps `.Capabilities.KubeVersion` as a struct value whose
    /// `String` method needs a pointer: templates print its fields,
    /// `{v1.33.4-gke.1 v1.33.4 1 33}`.
    fn display(&self) -> String {
        format!(
            "{{{} {} {} {}}}",
            self.version, self.normalized, self.major, self.minor
        )
    }
    /// `{{ .Capabilities.KubeVersion }}` calls `(*KubeVersion).String`.
    fn print(&self) -> Option<String> {
        self.addressable.then(|| self.normalized.clone())
    }
    fn kind_name(&self) -> &'static str {
        "struct"
    }
    /// Encoders see the exported fields (the normalized version is not one).
    fn fields(&self) -> Option<Vec<(String, Value)>> {
        Some(vec![
            ("Version".to_owned(), Value::String(self.version.clone())),
            ("Major".to_owned(), Value::String(self.major.clone())),
            ("Minor".to_owned(), Value::String(self.minor.clone())),
        ])
    }
}

/// `.Capabilities.APIVersions`: a list with a `Has` method.
#[derive(Debug, Clone)]
pub(crate) struct VersionSet(pub Vec<String>);

impl Object for VersionSet {
    fn type_name(&self) -> &'static str {
        "common.VersionSet"
    }
    fn field(&self, _name: &str) -> Option<Value> {
        None
    }
    fn call(&self, method: &str, args: &[Value]) -> Option<Result<Value, String>> {
        match method {
            "Has" => Some(match args {
                [Value::String(s)] => Ok(Value::Bool(self.0.iter().any(|v| v == s))),
                [other] => Err(format!(
                    "wrong type for value; expected string; got {}",
                    other.type_name()
                )),
                _ => Err(format!(
                    "wrong number of args for Has: want 1 got {}",
                    args.len()
                )),
            }),
            _ => None,
        }
    }
    fn truthy(&self) -> bool {
        !self.0.is_empty()
    }
    fn display(&self) -> String {
        format!("[{}]", self.0.join(" "))
    }
    /// A `[]string` to Go: `range`, `len`, `has`, `first` see its elements.
    fn list(&self) -> Option<Vec<Value>> {
        Some(self.0.iter().map(|v| Value::String(v.clone())).collect())
    }
}

/// `.Capabilities`: Helm's `*common.Capabilities`, a pointer to a struct of
/// the Kubernetes version, the API versions and Helm's own version.
#[derive(Debug, Clone)]
pub(crate) struct Capabilities {
    kube: KubeVersion,
    api_versions: VersionSet,
}

impl Capabilities {
    /// The struct as `%v` prints it: `{{v1.35.0 ...} [v1 ...] {v4.1.4 ...}}`.
    fn fields_text(&self) -> String {
        format!(
            "{{{} {} {}}}",
            self.kube.display(),
            self.api_versions.display(),
            HelmVersion.display()
        )
    }

    fn field_values(&self) -> [(&'static str, Value); 3] {
        [
            (
                "KubeVersion",
                Value::Object(Arc::new(KubeVersion {
                    addressable: true,
                    ..self.kube.clone()
                })),
            ),
            (
                "APIVersions",
                Value::Object(Arc::new(self.api_versions.clone())),
            ),
            ("HelmVersion", Value::Object(Arc::new(HelmVersion))),
        ]
    }
}

impl Object for Capabilities {
    fn type_name(&self) -> &'static str {
        "*common.Capabilities"
    }
    fn field(&self, name: &str) -> Option<Value> {
        self.field_values()
            .into_iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }
    fn call(&self, _method: &str, _args: &[Value]) -> Option<Result<Value, String>> {
        None
    }
    /// `%v` of a pointer to a struct: `&{{v1.35.0 ...} [v1 ...] {v4.1.4 ...}}`.
    fn display(&self) -> String {
        format!("&{}", self.fields_text())
    }
    /// An action prints the struct the pointer points to.
    fn print(&self) -> Option<String> {
        Some(self.fields_text())
    }
    fn fields(&self) -> Option<Vec<(String, Value)>> {
        Some(
            self.field_values()
                .into_iter()
                .map(|(n, v)| (n.to_owned(), v))
                .collect(),
        )
    }
}

/// Builds `.Capabilities`.
pub(crate) fn capabilities(kube: &KubeVersion, extra_api_versions: &[String]) -> Value {
    let mut apis: Vec<String> = DEFAULT_API_VERSIONS
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    apis.extend(extra_api_versions.iter().cloned());
    Value::Object(Arc::new(Capabilities {
        kube: kube.clone(),
        api_versions: VersionSet(apis),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kube_versions_parse_like_helm() {
        let k = KubeVersion::parse("1.16.0").unwrap();
        assert_eq!(
            (k.version.as_str(), k.major.as_str(), k.minor.as_str()),
            ("v1.16.0", "1", "16")
        );
        let k = KubeVersion::parse("v1.33.4-gke.1245000").unwrap();
        assert_eq!(k.normalized, "v1.33.4");
        assert_eq!(k.version, "v1.33.4-gke.1245000");
        assert!(KubeVersion::parse("banana").is_err());
    }

    #[test]
    fn api_versions_has() {
        let set = VersionSet(vec!["v1".into(), "apps/v1".into()]);
        assert!(matches!(
            set.call("Has", &[Value::String("apps/v1".into())]),
            Some(Ok(Value::Bool(true)))
        ));
        assert!(matches!(
            set.call("Has", &[Value::String("x/v1".into())]),
            Some(Ok(Value::Bool(false)))
        ));
    }
}
