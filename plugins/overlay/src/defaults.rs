//! Built-in name-reference and variable-reference field tables.

use crate::fieldspec::{FieldSpec, NameRef};
use crate::res::Gvk;

/// Workload kinds and where their pod spec sits.
const POD_SPECS: &[(&str, &str)] = &[
    ("Pod", "spec"),
    ("PodTemplate", "template/spec"),
    ("Deployment", "spec/template/spec"),
    ("ReplicaSet", "spec/template/spec"),
    ("DaemonSet", "spec/template/spec"),
    ("StatefulSet", "spec/template/spec"),
    ("Job", "spec/template/spec"),
    ("CronJob", "spec/jobTemplate/spec/template/spec"),
];

/// Kinds whose pod spec names service accounts, claims and priority classes.
const POD_SPECS_SHORT: &[(&str, &str)] = &[
    ("Pod", "spec"),
    ("StatefulSet", "spec/template/spec"),
    ("Deployment", "spec/template/spec"),
    ("ReplicationController", "spec/template/spec"),
    ("CronJob", "spec/jobTemplate/spec/template/spec"),
    ("Job", "spec/template/spec"),
    ("DaemonSet", "spec/template/spec"),
];

fn fs(group: &str, version: &str, kind: &str, path: &str) -> FieldSpec {
    FieldSpec {
        gvk: Gvk {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
        },
        path: path.into(),
        create: false,
    }
}

fn gvk(group: &str, version: &str, kind: &str) -> Gvk {
    Gvk {
        group: group.into(),
        version: version.into(),
        kind: kind.into(),
    }
}

fn pod_refs(suffixes: &[&str]) -> Vec<FieldSpec> {
    let mut out = Vec::new();
    for (kind, prefix) in POD_SPECS {
        let version = if *kind == "Pod" { "v1" } else { "" };
        for s in suffixes {
            out.push(fs("", version, kind, &format!("{prefix}/{s}")));
        }
    }
    out
}

fn short_refs(field: &str) -> Vec<FieldSpec> {
    POD_SPECS_SHORT
        .iter()
        .map(|(k, p)| fs("", "", k, &format!("{p}/{field}")))
        .collect()
}

/// Which fields hold names of which kinds.
pub(crate) fn name_references() -> Vec<NameRef> {
    let scale = |kind: &str| NameRef {
        gvk: gvk("", "", kind),
        specs: vec![fs(
            "",
            "",
            "HorizontalPodAutoscaler",
            "spec/scaleTargetRef/name",
        )],
    };
    let mut configmap = pod_refs(&[
        "volumes/configMap/name",
        "containers/env/valueFrom/configMapKeyRef/name",
        "initContainers/env/valueFrom/configMapKeyRef/name",
        "containers/envFrom/configMapRef/name",
        "initContainers/envFrom/configMapRef/name",
        "volumes/projected/sources/configMap/name",
    ]);
    configmap.extend([
        fs("", "", "Node", "spec/configSource/configMap"),
        fs("", "", "Role", "rules/resourceNames"),
        fs("", "", "ClusterRole", "rules/resourceNames"),
        fs(
            "",
            "",
            "Ingress",
            "metadata/annotations/nginx.ingress.kubernetes.io\\/fastcgi-params-configmap",
        ),
    ]);
    let mut secret = pod_refs(&[
        "volumes/secret/secretName",
        "containers/env/valueFrom/secretKeyRef/name",
        "initContainers/env/valueFrom/secretKeyRef/name",
        "containers/envFrom/secretRef/name",
        "initContainers/envFrom/secretRef/name",
        "imagePullSecrets/name",
        "volumes/projected/sources/secret/name",
    ]);
    secret.extend([
        fs("", "", "Ingress", "spec/tls/secretName"),
        fs(
            "",
            "",
            "Ingress",
            "metadata/annotations/ingress.kubernetes.io\\/auth-secret",
        ),
        fs(
            "",
            "",
            "Ingress",
            "metadata/annotations/nginx.ingress.kubernetes.io\\/auth-secret",
        ),
        fs(
            "",
            "",
            "Ingress",
            "metadata/annotations/nginx.ingress.kubernetes.io\\/auth-tls-secret",
        ),
        fs("", "", "ServiceAccount", "imagePullSecrets/name"),
        fs("", "", "StorageClass", "parameters/secretName"),
        fs("", "", "StorageClass", "parameters/adminSecretName"),
        fs("", "", "StorageClass", "parameters/userSecretName"),
        fs("", "", "StorageClass", "parameters/secretRef"),
        fs("", "", "Role", "rules/resourceNames"),
        fs("", "", "ClusterRole", "rules/resourceNames"),
        fs(
            "serving.knative.dev",
            "v1",
            "Service",
            "spec/template/spec/containers/env/valueFrom/secretKeyRef/name",
        ),
        fs("", "", "PersistentVolume", "spec/azureFile/secretName"),
    ]);
    let rbac = "rbac.authorization.k8s.io";
    let adm = "admissionregistration.k8s.io";
    let mut sa = vec![
        fs(rbac, "", "RoleBinding", "subjects"),
        fs(rbac, "", "ClusterRoleBinding", "subjects"),
    ];
    sa.extend(short_refs("serviceAccountName"));
    vec![
        scale("Deployment"),
        scale("ReplicationController"),
        scale("ReplicaSet"),
        scale("StatefulSet"),
        NameRef {
            gvk: gvk("", "v1", "ConfigMap"),
            specs: configmap,
        },
        NameRef {
            gvk: gvk("", "v1", "Secret"),
            specs: secret,
        },
        NameRef {
            gvk: gvk("", "v1", "Service"),
            specs: vec![
                fs("apps", "", "StatefulSet", "spec/serviceName"),
                fs(
                    "",
                    "",
                    "Ingress",
                    "spec/rules/http/paths/backend/serviceName",
                ),
                fs("", "", "Ingress", "spec/backend/serviceName"),
                fs(
                    "",
                    "",
                    "Ingress",
                    "spec/rules/http/paths/backend/service/name",
                ),
                fs("", "", "Ingress", "spec/defaultBackend/service/name"),
                fs(
                    "apiregistration.k8s.io",
                    "",
                    "APIService",
                    "spec/service/name",
                ),
                fs(
                    adm,
                    "",
                    "ValidatingWebhookConfiguration",
                    "webhooks/clientConfig/service",
                ),
                fs(
                    adm,
                    "",
                    "MutatingWebhookConfiguration",
                    "webhooks/clientConfig/service",
                ),
            ],
        },
        NameRef {
            gvk: gvk(rbac, "", "Role"),
            specs: vec![fs(rbac, "", "RoleBinding", "roleRef/name")],
        },
        NameRef {
            gvk: gvk(rbac, "", "ClusterRole"),
            specs: vec![
                fs(rbac, "", "RoleBinding", "roleRef/name"),
                fs(rbac, "", "ClusterRoleBinding", "roleRef/name"),
            ],
        },
        NameRef {
            gvk: gvk("", "v1", "ServiceAccount"),
            specs: sa,
        },
        NameRef {
            gvk: gvk("", "v1", "PersistentVolumeClaim"),
            specs: short_refs("volumes/persistentVolumeClaim/claimName"),
        },
        NameRef {
            gvk: gvk("", "v1", "PersistentVolume"),
            specs: vec![
                fs("", "", "PersistentVolumeClaim", "spec/volumeName"),
                fs("", "", "ClusterRole", "rules/resourceNames"),
            ],
        },
        NameRef {
            gvk: gvk("storage.k8s.io", "v1", "StorageClass"),
            specs: vec![
                fs("", "", "PersistentVolume", "spec/storageClassName"),
                fs("", "", "PersistentVolumeClaim", "spec/storageClassName"),
                fs(
                    "",
                    "",
                    "StatefulSet",
                    "spec/volumeClaimTemplates/spec/storageClassName",
                ),
            ],
        },
        NameRef {
            gvk: gvk("scheduling.k8s.io", "v1", "PriorityClass"),
            specs: short_refs("priorityClassName"),
        },
        NameRef {
            gvk: gvk("networking.k8s.io/v1", "v1", "IngressClass"),
            specs: vec![fs("", "", "Ingress", "spec/ingressClassName")],
        },
        NameRef {
            gvk: gvk(adm, "", "ValidatingAdmissionPolicy"),
            specs: vec![fs(
                adm,
                "",
                "ValidatingAdmissionPolicyBinding",
                "spec/policyName",
            )],
        },
    ]
}

/// Fields where `$(VAR)` references are expanded.
pub(crate) fn var_references() -> Vec<FieldSpec> {
    let container_fields = ["args", "command", "env/value", "volumeMounts/mountPath"];
    let mut out = Vec::new();
    let workloads: &[(&str, &str, &str)] = &[
        (
            "CronJob",
            "spec/jobTemplate/spec/template/spec",
            "spec/jobTemplate/spec/template/volumes/nfs/server",
        ),
        (
            "DaemonSet",
            "spec/template/spec",
            "spec/template/spec/volumes/nfs/server",
        ),
        (
            "Deployment",
            "spec/template/spec",
            "spec/template/spec/volumes/nfs/server",
        ),
        (
            "Job",
            "spec/template/spec",
            "spec/template/spec/volumes/nfs/server",
        ),
        ("Pod", "spec", "spec/volumes/nfs/server"),
        (
            "ReplicaSet",
            "spec/template/spec",
            "spec/template/spec/volumes/nfs/server",
        ),
        (
            "StatefulSet",
            "spec/template/spec",
            "spec/volumeClaimTemplates/spec/nfs/server",
        ),
    ];
    for (kind, prefix, nfs) in workloads {
        for c in ["containers", "initContainers"] {
            for f in container_fields {
                out.push(fs("", "", kind, &format!("{prefix}/{c}/{f}")));
            }
        }
        out.push(fs("", "", kind, nfs));
    }
    out.push(fs(
        "",
        "",
        "Deployment",
        "spec/template/metadata/annotations",
    ));
    out.push(fs("", "", "Ingress", "spec/rules/host"));
    out.push(fs("", "", "Ingress", "spec/tls/hosts"));
    out.push(fs("", "", "Ingress", "spec/tls/secretName"));
    out.push(fs("", "", "Service", "spec/ports/port"));
    out.push(fs("", "", "Service", "spec/ports/targetPort"));
    out.push(fs("", "", "PersistentVolume", "spec/nfs/server"));
    out.push(fs("", "", "", "metadata/labels"));
    out.push(fs("", "", "", "metadata/annotations"));
    out
}
