//! The built-in field specs of the namespace, prefix, label, annotation,
//! image and replica transformers.

use crate::defaults::{name_references, var_references};
use crate::fieldspec::{FieldSpec, TransformerConfig};

impl TransformerConfig {
    /// kustomize's built-in field specs, built once per plugin instance.
    /// No spec in them is covered by an earlier one (a test checks), so
    /// merging them into an empty config gives them unchanged.
    pub(crate) fn defaults() -> std::sync::Arc<Self> {
        static DEFAULTS: std::sync::OnceLock<std::sync::Arc<TransformerConfig>> =
            std::sync::OnceLock::new();
        std::sync::Arc::clone(DEFAULTS.get_or_init(|| std::sync::Arc::new(Self::listed())))
    }

    /// The built-in specs as written down.
    fn listed() -> Self {
        let meta_labels = || {
            let mut v = vec![FieldSpec::new("", "metadata/labels", true)];
            v.extend(template_meta("labels"));
            v
        };
        let mut common_labels = selector_specs();
        common_labels.extend(meta_labels());
        common_labels.push(FieldSpec::with(
            "apps",
            "",
            "StatefulSet",
            "spec/volumeClaimTemplates[]/metadata/labels",
            true,
        ));
        let mut common_annotations = vec![FieldSpec::new("", "metadata/annotations", true)];
        common_annotations.extend(template_meta("annotations"));
        let mut images = Vec::new();
        for prefix in ["spec", "spec/template/spec"] {
            images.push(FieldSpec::new(
                "",
                &format!("{prefix}/containers[]/image"),
                true,
            ));
            images.push(FieldSpec::new(
                "",
                &format!("{prefix}/initContainers[]/image"),
                true,
            ));
            images.push(FieldSpec::new(
                "",
                &format!("{prefix}/volumes[]/image/reference"),
                true,
            ));
        }
        Self {
            name_prefix: vec![FieldSpec::new("", "metadata/name", false)],
            name_suffix: vec![FieldSpec::new("", "metadata/name", false)],
            namespace: vec![
                FieldSpec::new("Namespace", "metadata/name", true),
                FieldSpec::with(
                    "apiregistration.k8s.io",
                    "",
                    "APIService",
                    "spec/service/namespace",
                    true,
                ),
                FieldSpec::with(
                    "apiextensions.k8s.io",
                    "",
                    "CustomResourceDefinition",
                    "spec/conversion/webhook/clientConfig/service/namespace",
                    false,
                ),
            ],
            common_labels,
            labels: Vec::new(),
            template_labels: meta_labels(),
            common_annotations,
            name_reference: name_references(),
            var_reference: var_references(),
            images,
            replicas: [
                "Deployment",
                "ReplicationController",
                "ReplicaSet",
                "StatefulSet",
            ]
            .iter()
            .map(|k| FieldSpec::new(k, "spec/replicas", true))
            .collect(),
        }
    }
}

/// `metadata/<field>` of pod templates in workloads.
fn template_meta(field: &str) -> Vec<FieldSpec> {
    let t = format!("spec/template/metadata/{field}");
    // kustomize's label specs name StatefulSet's group; its annotation specs
    // match the kind in any group.
    let stateful_set_group = if field == "labels" { "apps" } else { "" };
    vec![
        FieldSpec::with("", "v1", "ReplicationController", &t, true),
        FieldSpec::new("Deployment", &t, true),
        FieldSpec::new("ReplicaSet", &t, true),
        FieldSpec::new("DaemonSet", &t, true),
        FieldSpec::with(stateful_set_group, "", "StatefulSet", &t, true),
        FieldSpec::with("batch", "", "Job", &t, true),
        FieldSpec::with(
            "batch",
            "",
            "CronJob",
            &format!("spec/jobTemplate/metadata/{field}"),
            true,
        ),
        FieldSpec::with(
            "batch",
            "",
            "CronJob",
            &format!("spec/jobTemplate/spec/template/metadata/{field}"),
            true,
        ),
    ]
}

/// Label selectors that common labels also go into.
fn selector_specs() -> Vec<FieldSpec> {
    let mut v = vec![
        FieldSpec::with("", "v1", "Service", "spec/selector", true),
        FieldSpec::with("", "v1", "ReplicationController", "spec/selector", true),
        FieldSpec::new("Deployment", "spec/selector/matchLabels", true),
    ];
    let affinity = |kind: &str| {
        let base = "spec/template/spec/affinity";
        [
            format!("{base}/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels"),
            format!("{base}/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels"),
            format!("{base}/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels"),
            format!("{base}/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels"),
            "spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels".to_owned(),
        ]
        .into_iter()
        .map(|p| FieldSpec::with("apps", "", kind, &p, false))
        .collect::<Vec<_>>()
    };
    v.extend(affinity("Deployment"));
    v.push(FieldSpec::new(
        "ReplicaSet",
        "spec/selector/matchLabels",
        true,
    ));
    v.push(FieldSpec::new(
        "DaemonSet",
        "spec/selector/matchLabels",
        true,
    ));
    v.push(FieldSpec::with(
        "apps",
        "",
        "StatefulSet",
        "spec/selector/matchLabels",
        true,
    ));
    v.extend(affinity("StatefulSet"));
    v.push(FieldSpec::with(
        "batch",
        "",
        "Job",
        "spec/selector/matchLabels",
        false,
    ));
    v.push(FieldSpec::with(
        "batch",
        "",
        "CronJob",
        "spec/jobTemplate/spec/selector/matchLabels",
        false,
    ));
    v.push(FieldSpec::with(
        "policy",
        "",
        "PodDisruptionBudget",
        "spec/selector/matchLabels",
        false,
    ));
    for p in [
        "spec/podSelector/matchLabels",
        "spec/ingress/from/podSelector/matchLabels",
        "spec/egress/to/podSelector/matchLabels",
    ] {
        v.push(FieldSpec::with(
            "networking.k8s.io",
            "",
            "NetworkPolicy",
            p,
            false,
        ));
    }
    v
}

#[cfg(test)]
mod tests {
    use crate::fieldspec::TransformerConfig;

    /// `defaults()` is used as an already merged config, so merging it into
    /// an empty one must not drop or reorder anything.
    #[test]
    fn the_defaults_are_a_merge_result() {
        let defaults = TransformerConfig::defaults();
        let mut merged = TransformerConfig::default();
        merged.merge(&TransformerConfig::listed());
        assert_eq!(merged, *defaults);
        assert!(defaults.name_reference.len() > 10);
    }
}
