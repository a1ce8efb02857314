//! Resource identity: group, version, kind, namespace and name.

use std::fmt;

use serde_json::Value;

/// The identity of a Kubernetes resource.
///
/// Displayed as `apiVersion/Kind/name` for cluster-wide names and
/// `apiVersion/Kind/namespace/name` for namespaced ones.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceId {
    /// API group; empty for the core group.
    pub group: String,
    /// API version, without the group.
    pub version: String,
    /// Kind.
    pub kind: String,
    /// Namespace, if the manifest sets one.
    pub namespace: Option<String>,
    /// `metadata.name` (or `metadata.generateName` when there is no name).
    pub name: String,
}

impl ResourceId {
    /// Reads the id of a manifest; `None` unless it has `apiVersion` and `kind` strings.
    pub fn of(resource: &Value) -> Option<Self> {
        let api_version = resource.get("apiVersion")?.as_str()?;
        let kind = resource.get("kind")?.as_str()?;
        let (group, version) = match api_version.rsplit_once('/') {
            Some((g, v)) => (g.to_owned(), v.to_owned()),
            None => (String::new(), api_version.to_owned()),
        };
        let meta = resource.get("metadata");
        let text = |key: &str| {
            meta.and_then(|m| m.get(key))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        Some(Self {
            group,
            version,
            kind: kind.to_owned(),
            namespace: text("namespace"),
            name: text("name")
                .or_else(|| text("generateName"))
                .unwrap_or_default(),
        })
    }

    /// `group/version`, or `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/", self.api_version(), self.kind)?;
        if let Some(ns) = &self.namespace {
            write!(f, "{ns}/")?;
        }
        f.write_str(&self.name)
    }
}
