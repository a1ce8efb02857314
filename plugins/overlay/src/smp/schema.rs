//! Merge keys and list strategies of the built-in Kubernetes types, and of
//! custom types described by an `OpenAPI` document.

use serde_json::Value;

/// Where a walk is in a type, as far as merging cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ty {
    /// No schema is known: lists are replaced.
    None,
    /// A built-in type by our short name.
    Builtin(&'static str),
    /// A schema of a custom `OpenAPI` document.
    Custom(Value),
}

/// How a list field merges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ListStrategy {
    /// Whether the list merges at all (strategy contains `merge`).
    pub merge: bool,
    /// Merge keys; empty for lists of primitives.
    pub keys: Vec<String>,
}

const WORKLOADS: &[(&str, &[&str])] = &[
    (
        "Deployment",
        &[
            "apps/v1",
            "apps/v1beta1",
            "apps/v1beta2",
            "extensions/v1beta1",
        ],
    ),
    ("StatefulSet", &["apps/v1", "apps/v1beta1", "apps/v1beta2"]),
    (
        "DaemonSet",
        &["apps/v1", "apps/v1beta2", "extensions/v1beta1"],
    ),
    (
        "ReplicaSet",
        &["apps/v1", "apps/v1beta2", "extensions/v1beta1"],
    ),
    ("Job", &["batch/v1"]),
    ("ReplicationController", &["v1"]),
];

const GENERIC: &[(&str, &[&str])] = &[
    ("ConfigMap", &["v1"]),
    ("Secret", &["v1"]),
    ("Namespace", &["v1"]),
    ("PersistentVolumeClaim", &["v1"]),
    ("PersistentVolume", &["v1"]),
    ("Endpoints", &["v1"]),
    ("LimitRange", &["v1"]),
    ("ResourceQuota", &["v1"]),
    ("Node", &["v1"]),
    (
        "Role",
        &[
            "rbac.authorization.k8s.io/v1",
            "rbac.authorization.k8s.io/v1beta1",
        ],
    ),
    (
        "ClusterRole",
        &[
            "rbac.authorization.k8s.io/v1",
            "rbac.authorization.k8s.io/v1beta1",
        ],
    ),
    (
        "RoleBinding",
        &[
            "rbac.authorization.k8s.io/v1",
            "rbac.authorization.k8s.io/v1beta1",
        ],
    ),
    (
        "ClusterRoleBinding",
        &[
            "rbac.authorization.k8s.io/v1",
            "rbac.authorization.k8s.io/v1beta1",
        ],
    ),
    (
        "Ingress",
        &[
            "networking.k8s.io/v1",
            "networking.k8s.io/v1beta1",
            "extensions/v1beta1",
        ],
    ),
    ("NetworkPolicy", &["networking.k8s.io/v1"]),
    ("PodDisruptionBudget", &["policy/v1", "policy/v1beta1"]),
    (
        "HorizontalPodAutoscaler",
        &[
            "autoscaling/v1",
            "autoscaling/v2beta1",
            "autoscaling/v2beta2",
        ],
    ),
    (
        "StorageClass",
        &["storage.k8s.io/v1", "storage.k8s.io/v1beta1"],
    ),
    ("PriorityClass", &["scheduling.k8s.io/v1"]),
    (
        "CustomResourceDefinition",
        &["apiextensions.k8s.io/v1", "apiextensions.k8s.io/v1beta1"],
    ),
];

/// The type of a whole resource.
pub(crate) fn root_type(api_version: &str, kind: &str, custom: Option<&Value>) -> Ty {
    if let Some(doc) = custom
        && let Some(def) = custom_definition(doc, api_version, kind)
        && let Some(schema) = doc.get("definitions").and_then(|d| d.get(&def))
    {
        return Ty::Custom(schema.clone());
    }
    let has = |table: &[(&str, &[&str])]| {
        table
            .iter()
            .any(|(k, vs)| *k == kind && vs.contains(&api_version))
    };
    if has(WORKLOADS) {
        return Ty::Builtin("Workload");
    }
    if has(GENERIC) {
        return Ty::Builtin("Generic");
    }
    match (kind, api_version) {
        ("CronJob", "batch/v1" | "batch/v1beta1") => Ty::Builtin("CronJob"),
        ("Pod", "v1") => Ty::Builtin("Pod"),
        ("PodTemplate", "v1") => Ty::Builtin("PodTemplate"),
        ("Service", "v1") => Ty::Builtin("Service"),
        ("ServiceAccount", "v1") => Ty::Builtin("ServiceAccount"),
        (
            "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration",
            "admissionregistration.k8s.io/v1" | "admissionregistration.k8s.io/v1beta1",
        ) => Ty::Builtin("Webhooks"),
        _ => Ty::None,
    }
}

#[expect(clippy::unnecessary_wraps, reason = "the table's arms read alike")]
fn keyed(keys: &[&str]) -> Option<ListStrategy> {
    Some(ListStrategy {
        merge: true,
        keys: keys.iter().map(|k| (*k).to_owned()).collect(),
    })
}

/// The type of field `name` of `ty`, and its list strategy if it is a list.
#[expect(
    clippy::match_same_arms,
    reason = "one arm per type and field keeps the table readable"
)]
pub(crate) fn field(ty: &Ty, name: &str, custom: Option<&Value>) -> (Ty, Option<ListStrategy>) {
    match ty {
        Ty::None => (Ty::None, None),
        Ty::Custom(schema) => {
            custom.map_or((Ty::None, None), |doc| custom_field(doc, schema, name))
        }
        Ty::Builtin(t) => {
            let b = |s: &'static str| Ty::Builtin(s);
            let (child, strategy): (Ty, Option<ListStrategy>) = match (*t, name) {
                (_, "metadata") if *t != "ObjectMeta" => (b("ObjectMeta"), None),
                ("Workload", "spec") => (b("WorkloadSpec"), None),
                ("WorkloadSpec" | "PodTemplate", "template") => (b("PodTemplateSpec"), None),
                ("CronJob", "spec") => (b("CronJobSpec"), None),
                ("CronJobSpec", "jobTemplate") => (b("JobTemplateSpec"), None),
                ("JobTemplateSpec", "spec") => (b("WorkloadSpec"), None),
                ("Pod" | "PodTemplateSpec", "spec") => (b("PodSpec"), None),
                ("PodSpec", "containers" | "initContainers" | "ephemeralContainers") => {
                    (b("Container"), keyed(&["name"]))
                }
                ("PodSpec", "volumes" | "imagePullSecrets") => (b("Leaf"), keyed(&["name"])),
                ("PodSpec", "hostAliases") => (b("Leaf"), keyed(&["ip"])),
                ("PodSpec", "topologySpreadConstraints") => {
                    (b("Leaf"), keyed(&["topologyKey", "whenUnsatisfiable"]))
                }
                ("Container", "env") => (b("Leaf"), keyed(&["name"])),
                ("Container", "ports") => (b("Leaf"), keyed(&["containerPort", "protocol"])),
                ("Container", "volumeMounts") => (b("Leaf"), keyed(&["mountPath"])),
                ("Container", "volumeDevices") => (b("Leaf"), keyed(&["devicePath"])),
                ("Workload" | "Pod" | "Service" | "CronJob", "status") => (b("Status"), None),
                ("Status", "conditions") => (b("Leaf"), keyed(&["type"])),
                ("Status", "podIPs") => (b("Leaf"), keyed(&["ip"])),
                ("Service", "spec") => (b("ServiceSpec"), None),
                ("ServiceSpec", "ports") => (b("Leaf"), keyed(&["port", "protocol"])),
                ("ServiceAccount", "secrets") => (b("Leaf"), keyed(&["name"])),
                ("Webhooks", "webhooks") => (b("Leaf"), keyed(&["name"])),
                ("ObjectMeta", "finalizers") => (b("Leaf"), keyed(&[])),
                ("ObjectMeta", "ownerReferences") => (b("Leaf"), keyed(&["uid"])),
                _ => (b("Leaf"), None),
            };
            (child, strategy)
        }
    }
}

fn custom_definition(doc: &Value, api_version: &str, kind: &str) -> Option<String> {
    let (group, version) = match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    };
    let defs = doc.get("definitions")?.as_object()?;
    for (name, def) in defs {
        let gvks = def
            .get("x-kubernetes-group-version-kind")
            .and_then(Value::as_array);
        for g in gvks.into_iter().flatten() {
            let s = |k: &str| g.get(k).and_then(Value::as_str).unwrap_or_default();
            if s("group") == group && s("version") == version && s("kind") == kind {
                return Some(name.clone());
            }
        }
    }
    None
}

fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    let mut cur = v;
    for _ in 0..8 {
        let Some(r) = cur.get("$ref").and_then(Value::as_str) else {
            break;
        };
        let name = r.rsplit('/').next().unwrap_or(r);
        match doc.get("definitions").and_then(|d| d.get(name)) {
            Some(next) => cur = next,
            None => break,
        }
    }
    cur
}

/// A reference to a built-in Kubernetes type the custom document does not define.
fn builtin_ref(doc: &Value, v: &Value) -> Option<Ty> {
    let r = v.get("$ref")?.as_str()?;
    let name = r.rsplit('/').next().unwrap_or(r);
    if doc.get("definitions").and_then(|d| d.get(name)).is_some() {
        return None;
    }
    let short = name.rsplit('.').next().unwrap_or(name);
    let ty = match short {
        "PodTemplateSpec" => "PodTemplateSpec",
        "PodSpec" => "PodSpec",
        "Container" | "EphemeralContainer" => "Container",
        "ObjectMeta" => "ObjectMeta",
        "ServiceSpec" => "ServiceSpec",
        "JobTemplateSpec" => "JobTemplateSpec",
        "DeploymentSpec" | "StatefulSetSpec" | "DaemonSetSpec" | "ReplicaSetSpec" | "JobSpec" => {
            "WorkloadSpec"
        }
        _ => "Leaf",
    };
    Some(Ty::Builtin(ty))
}

fn custom_field(doc: &Value, schema: &Value, name: &str) -> (Ty, Option<ListStrategy>) {
    let Some(prop) = resolve(doc, schema)
        .get("properties")
        .and_then(|p| p.get(name))
    else {
        return (Ty::None, None);
    };
    let strategy = prop
        .get("x-kubernetes-patch-strategy")
        .and_then(Value::as_str)
        .map(|s| {
            let keys = prop
                .get("x-kubernetes-list-map-keys")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .or_else(|| {
                    prop.get("x-kubernetes-patch-merge-key")
                        .and_then(Value::as_str)
                        .map(|k| vec![k.to_owned()])
                })
                .unwrap_or_default();
            ListStrategy {
                merge: s.split(',').any(|x| x == "merge"),
                keys,
            }
        });
    let resolved = resolve(doc, prop);
    let target = resolved.get("items").unwrap_or(resolved);
    let child = match builtin_ref(doc, target) {
        Some(b) => b,
        None => Ty::Custom(resolve(doc, target).clone()),
    };
    (child, Some(strategy.unwrap_or_default()))
}
