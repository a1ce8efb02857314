//! Resources as the build sees them: the object plus the build-time facts
//! kustomize keeps in internal annotations (previous ids, prefixes,
//! generator behaviour).

use std::fmt;

use serde_json::{Map, Value};

/// Group, version and kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct Gvk {
    pub group: String,
    pub version: String,
    pub kind: String,
}

impl Gvk {
    pub(crate) fn from_api_version(api_version: &str, kind: &str) -> Self {
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g.to_owned(), v.to_owned()),
            None => (String::new(), api_version.to_owned()),
        };
        Self {
            group,
            version,
            kind: kind.to_owned(),
        }
    }

    /// Whether this gvk is selected by `sel` (empty fields of `sel` match anything).
    pub(crate) fn is_selected(&self, sel: &Gvk) -> bool {
        (sel.group.is_empty() || sel.group == self.group)
            && (sel.version.is_empty() || sel.version == self.version)
            && (sel.kind.is_empty() || sel.kind == self.kind)
    }

    /// Kinds kustomize's built-in schema (Kubernetes 1.21, without alpha
    /// versions) knows as cluster-wide, by group, version and kind: any other
    /// gvk, a newer version of a known kind included (`FlowSchema` in
    /// `flowcontrol.apiserver.k8s.io/v1`), is namespaced as kustomize has it.
    pub(crate) fn is_cluster_scoped(&self) -> bool {
        const V1: &[&str] = &["v1"];
        const BOTH: &[&str] = &["v1", "v1beta1"];
        const BETA: &[&str] = &["v1beta1"];
        const KNOWN: &[(&str, &[&str], &[&str])] = &[
            (
                "",
                V1,
                &["Namespace", "Node", "PersistentVolume", "ComponentStatus"],
            ),
            (
                "rbac.authorization.k8s.io",
                BOTH,
                &["ClusterRole", "ClusterRoleBinding"],
            ),
            ("apiextensions.k8s.io", BOTH, &["CustomResourceDefinition"]),
            (
                "storage.k8s.io",
                BOTH,
                &["StorageClass", "CSIDriver", "CSINode", "VolumeAttachment"],
            ),
            ("scheduling.k8s.io", BOTH, &["PriorityClass"]),
            (
                "admissionregistration.k8s.io",
                BOTH,
                &[
                    "MutatingWebhookConfiguration",
                    "ValidatingWebhookConfiguration",
                ],
            ),
            ("apiregistration.k8s.io", BOTH, &["APIService"]),
            ("certificates.k8s.io", BOTH, &["CertificateSigningRequest"]),
            ("networking.k8s.io", BOTH, &["IngressClass"]),
            ("node.k8s.io", BOTH, &["RuntimeClass"]),
            ("policy", BETA, &["PodSecurityPolicy"]),
            (
                "flowcontrol.apiserver.k8s.io",
                BETA,
                &["FlowSchema", "PriorityLevelConfiguration"],
            ),
        ];
        // ValidatingAdmissionPolicy(Binding) are missing on purpose: kustomize
        // up to v5.8.1 does not know them as cluster-wide and sets a namespace
        // on them (the API server drops it), and kiln renders as v5.7.1 does.
        KNOWN.iter().any(|(g, vs, ks)| {
            *g == self.group
                && vs.contains(&self.version.as_str())
                && ks.contains(&self.kind.as_str())
        })
    }
}

impl fmt::Display for Gvk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let or = |s: &str, d: &'static str| {
            if s.is_empty() {
                d.to_owned()
            } else {
                s.to_owned()
            }
        };
        write!(
            f,
            "{}.{}.{}",
            or(&self.kind, "[noKind]"),
            or(&self.version, "[noVer]"),
            or(&self.group, "[noGrp]")
        )
    }
}

/// The namespace used for ids of cluster-wide objects.
pub(crate) const NOT_NAMESPACED: &str = "_non_namespaceable_";

/// A resource id: gvk, name and namespace as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct ResId {
    pub gvk: Gvk,
    pub name: String,
    pub namespace: String,
}

impl ResId {
    pub(crate) fn effective_namespace(&self) -> String {
        if self.gvk.is_cluster_scoped() {
            NOT_NAMESPACED.to_owned()
        } else if self.namespace.is_empty() || self.namespace == "default" {
            "default".to_owned()
        } else {
            self.namespace.clone()
        }
    }

    pub(crate) fn ns_equals(&self, other: &ResId) -> bool {
        self.effective_namespace() == other.effective_namespace()
    }

    pub(crate) fn equals(&self, other: &ResId) -> bool {
        self.name == other.name && self.gvk == other.gvk && self.ns_equals(other)
    }
}

impl fmt::Display for ResId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = if self.namespace.is_empty() {
            "[noNs]"
        } else {
            &self.namespace
        };
        let name = if self.name.is_empty() {
            "[noName]"
        } else {
            &self.name
        };
        write!(f, "{}/{}.{}", self.gvk, name, ns)
    }
}

/// One resource in the build.
#[derive(Debug, Clone, Default)]
pub(crate) struct Res {
    pub obj: Value,
    /// Previous (namespace, name, kind) triples, oldest first.
    pub prev: Vec<(String, String, String)>,
    pub prefixes: Vec<String>,
    pub suffixes: Vec<String>,
    /// Generator behaviour (`create`, `merge`, `replace`) for generated objects.
    pub behavior: Option<String>,
    pub needs_hash: bool,
    pub ref_var_names: Vec<String>,
    /// Origin annotation text when build metadata asks for it.
    pub origin: Option<String>,
    /// Transformations annotation entries when build metadata asks for them.
    pub transformations: Vec<String>,
    /// Fields that share one value, as in kustomize (see [`crate::alias`]).
    pub links: Vec<crate::alias::Group>,
    /// Fields written with no value at all (`key:`), which kustomize's
    /// strategic merge drops (see [`crate::yaml::empty_values`]).
    pub empty_values: Vec<Vec<crate::alias::Seg>>,
}

impl Res {
    pub(crate) fn new(obj: Value) -> Self {
        Self {
            obj,
            ..Self::default()
        }
    }

    pub(crate) fn gvk(&self) -> Gvk {
        Gvk::from_api_version(&self.api_version(), &self.kind())
    }

    pub(crate) fn api_version(&self) -> String {
        str_at(&self.obj, &["apiVersion"]).unwrap_or_default()
    }

    pub(crate) fn kind(&self) -> String {
        str_at(&self.obj, &["kind"]).unwrap_or_default()
    }

    pub(crate) fn name(&self) -> String {
        str_at(&self.obj, &["metadata", "name"]).unwrap_or_default()
    }

    pub(crate) fn namespace(&self) -> String {
        str_at(&self.obj, &["metadata", "namespace"]).unwrap_or_default()
    }

    pub(crate) fn cur_id(&self) -> ResId {
        ResId {
            gvk: self.gvk(),
            name: self.name(),
            namespace: self.namespace(),
        }
    }

    pub(crate) fn prev_ids(&self) -> Vec<ResId> {
        let gvk = self.gvk();
        self.prev
            .iter()
            .map(|(ns, name, kind)| ResId {
                gvk: Gvk {
                    kind: kind.clone(),
                    ..gvk.clone()
                },
                name: name.clone(),
                namespace: ns.clone(),
            })
            .collect()
    }

    pub(crate) fn org_id(&self) -> ResId {
        self.prev_ids()
            .into_iter()
            .next()
            .unwrap_or_else(|| self.cur_id())
    }

    pub(crate) fn store_previous_id(&mut self) {
        let id = self.cur_id();
        self.prev
            .push((id.effective_namespace(), id.name, id.gvk.kind));
    }

    pub(crate) fn set_name(&mut self, name: &str) {
        meta_mut(&mut self.obj).insert("name".into(), Value::String(name.to_owned()));
    }

    pub(crate) fn set_namespace(&mut self, ns: &str) {
        let meta = meta_mut(&mut self.obj);
        if ns.is_empty() {
            meta.remove("namespace");
        } else {
            meta.insert("namespace".into(), Value::String(ns.to_owned()));
        }
    }

    pub(crate) fn set_kind(&mut self, kind: &str) {
        if let Some(m) = self.obj.as_object_mut() {
            m.insert("kind".into(), Value::String(kind.to_owned()));
        }
    }

    pub(crate) fn string_map(&self, field: &str) -> Map<String, Value> {
        self.obj
            .get("metadata")
            .and_then(|m| m.get(field))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    }

    pub(crate) fn labels(&self) -> Map<String, Value> {
        self.string_map("labels")
    }

    pub(crate) fn annotations(&self) -> Map<String, Value> {
        self.string_map("annotations")
    }

    pub(crate) fn set_string_map(&mut self, field: &str, map: Map<String, Value>) {
        let meta = meta_mut(&mut self.obj);
        if map.is_empty() {
            meta.remove(field);
        } else {
            meta.insert(field.to_owned(), Value::Object(map));
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        match &self.obj {
            Value::Null => true,
            Value::Object(m) => m.is_empty(),
            _ => false,
        }
    }

    /// Whether this resource's prefixes and suffixes agree with `other`'s.
    pub(crate) fn prefix_suffix_equals(&self, other: &Res, allow_empty: bool) -> bool {
        if allow_empty {
            let ep = self.prefixes.is_empty() || other.prefixes.is_empty();
            let es = self.suffixes.is_empty() || other.suffixes.is_empty();
            (ep || same_ending(&self.prefixes, &other.prefixes))
                && (es || same_ending(&self.suffixes, &other.suffixes))
        } else {
            same_ending(&self.prefixes, &other.prefixes)
                && same_ending(&self.suffixes, &other.suffixes)
        }
    }
}

fn same_ending(a: &[String], b: &[String]) -> bool {
    let (short, long) = if a.len() > b.len() { (b, a) } else { (a, b) };
    long.ends_with(short) && (!short.is_empty() || long.is_empty())
}

/// The string at a path of map keys.
pub(crate) fn str_at(v: &Value, path: &[&str]) -> Option<String> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    match cur {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `metadata`, created when missing.
pub(crate) fn meta_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj.is_object() {
        *obj = Value::Object(Map::new());
    }
    let m = obj.as_object_mut().expect("made an object above");
    let meta = m
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    meta.as_object_mut().expect("made an object above")
}

/// Scalar text as kustomize reads it (numbers and booleans as written).
pub(crate) fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
