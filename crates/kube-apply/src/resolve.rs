//! Discovery: which resource (plural, scope) serves a group/version/kind.

use std::collections::HashMap;

use serde_json::Value;

use crate::api::{CallError, Kube};

/// A served resource: where its objects live and whether they are namespaced.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ApiRes {
    pub(crate) group: String,
    pub(crate) version: String,
    pub(crate) kind: String,
    pub(crate) plural: String,
    pub(crate) namespaced: bool,
}

impl ApiRes {
    /// `group/version`, or `version` for the core group.
    pub(crate) fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    fn builtin(group: &str, version: &str, kind: &str, plural: &str, namespaced: bool) -> ApiRes {
        ApiRes {
            group: group.to_owned(),
            version: version.to_owned(),
            kind: kind.to_owned(),
            plural: plural.to_owned(),
            namespaced,
        }
    }

    pub(crate) fn configmaps() -> ApiRes {
        ApiRes::builtin("", "v1", "ConfigMap", "configmaps", true)
    }
}

/// Whether a manifest is a `CustomResourceDefinition`.
pub(crate) fn is_crd(group: &str, kind: &str) -> bool {
    group == "apiextensions.k8s.io" && kind == "CustomResourceDefinition"
}

/// Whether a manifest is a `Namespace`.
pub(crate) fn is_namespace(group: &str, kind: &str) -> bool {
    group.is_empty() && kind == "Namespace"
}

/// The resources a CRD manifest defines (used before the cluster serves them: dry runs, diff).
pub(crate) fn from_crd(crd: &Value) -> Vec<ApiRes> {
    let spec = crd.get("spec");
    let text = |p: &str| {
        spec.and_then(|s| s.pointer(p))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let (group, kind, plural) = (text("/group"), text("/names/kind"), text("/names/plural"));
    let namespaced = text("/scope") != "Cluster";
    spec.and_then(|s| s.get("versions"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.get("name").and_then(Value::as_str))
        .map(|version| ApiRes {
            group: group.clone(),
            version: version.to_owned(),
            kind: kind.clone(),
            plural: plural.clone(),
            namespaced,
        })
        .collect()
}

/// A discovery cache for one operation.
#[derive(Debug, Default)]
pub(crate) struct Discovery {
    /// apiVersion -> served resources (`None`: the group/version is not served).
    cache: HashMap<String, Option<Vec<ApiRes>>>,
    /// apiVersion -> why its discovery failed (asked once per operation).
    failed: HashMap<String, CallError>,
    /// Resources defined by CRDs of the render, for kinds the cluster does not serve yet.
    pub(crate) pending: Vec<ApiRes>,
}

impl Discovery {
    /// Looks the kind up; `Ok(None)` when the cluster does not serve it (nor a CRD of the render).
    pub(crate) async fn resolve(
        &mut self,
        kube: &Kube<'_>,
        group: &str,
        version: &str,
        kind: &str,
    ) -> Result<Option<ApiRes>, CallError> {
        let gv = if group.is_empty() {
            version.to_owned()
        } else {
            format!("{group}/{version}")
        };
        if let Some(e) = self.failed.get(&gv) {
            return Err(e.clone());
        }
        if !self.cache.contains_key(&gv) {
            let path = if group.is_empty() {
                format!("/api/{version}")
            } else {
                format!("/apis/{gv}")
            };
            let doc = match kube.get_path(&path).await {
                Ok(doc) => doc,
                Err(e) => {
                    self.failed.insert(gv, e.clone());
                    return Err(e);
                }
            };
            let served = doc.map(|doc| parse_resource_list(&doc, group, version));
            self.cache.insert(gv.clone(), served);
        }
        let served = self.cache.get(&gv).and_then(Option::as_ref);
        let found = served
            .and_then(|list| list.iter().find(|r| r.kind == kind))
            .or_else(|| {
                self.pending
                    .iter()
                    .find(|r| r.group == group && r.version == version && r.kind == kind)
            });
        Ok(found.cloned())
    }

    /// Like [`Discovery::resolve`], falling back to the group's preferred version when this
    /// version is no longer served (an inventory written before an API version was removed).
    pub(crate) async fn resolve_any_version(
        &mut self,
        kube: &Kube<'_>,
        group: &str,
        version: &str,
        kind: &str,
    ) -> Result<Option<ApiRes>, CallError> {
        if let Some(found) = self.resolve(kube, group, version, kind).await? {
            return Ok(Some(found));
        }
        if group.is_empty() {
            return Ok(None);
        }
        let doc = kube.get_path(&format!("/apis/{group}")).await?;
        let preferred = doc
            .as_ref()
            .and_then(|d| d.pointer("/preferredVersion/version"))
            .and_then(Value::as_str)
            .filter(|v| *v != version)
            .map(str::to_owned);
        match preferred {
            Some(v) => self.resolve(kube, group, &v, kind).await,
            None => Ok(None),
        }
    }
}

fn parse_resource_list(doc: &Value, group: &str, version: &str) -> Vec<ApiRes> {
    doc.get("resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let plural = r.get("name")?.as_str()?;
            if plural.contains('/') {
                return None;
            }
            Some(ApiRes {
                group: group.to_owned(),
                version: version.to_owned(),
                kind: r.get("kind")?.as_str()?.to_owned(),
                plural: plural.to_owned(),
                namespaced: r
                    .get("namespaced")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            })
        })
        .collect()
}
