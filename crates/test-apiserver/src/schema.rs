//! The little schema knowledge the emulator has: how lists merge and which maps are granular.
//!
//! Real servers read this from the `OpenAPI` schema of each type. Here it is a fixed table for the
//! built-in kinds keyed by field names; custom resources get atomic lists and granular maps.

/// How a list field merges (server-side apply and strategic merge patch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListType {
    /// Replaced as a whole.
    Atomic,
    /// A set of scalars, merged by value.
    Set,
    /// A list of objects merged by these key fields (the first is the strategic-merge key).
    Map(&'static [&'static str]),
}

/// What the schema needs to know about the object being handled.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Schema<'a> {
    pub(crate) builtin: bool,
    pub(crate) kind: &'a str,
}

impl Schema<'_> {
    /// The list type of the field at `names` (field names from the root, list items skipped).
    pub(crate) fn list_type(&self, names: &[&str]) -> ListType {
        let Some((&last, parents)) = names.split_last() else {
            return ListType::Atomic;
        };
        match (names.first().copied(), last) {
            (Some("metadata"), "ownerReferences") if names.len() == 2 => {
                return ListType::Map(&["uid"]);
            }
            (Some("metadata"), "finalizers") if names.len() == 2 => return ListType::Set,
            _ => {}
        }
        if !self.builtin {
            return ListType::Atomic;
        }
        let in_container = parents
            .last()
            .is_some_and(|p| matches!(*p, "containers" | "initContainers" | "ephemeralContainers"));
        match last {
            "containers"
            | "initContainers"
            | "ephemeralContainers"
            | "volumes"
            | "imagePullSecrets"
            | "resourceClaims" => ListType::Map(&["name"]),
            "env" if in_container => ListType::Map(&["name"]),
            "volumeMounts" if in_container => ListType::Map(&["mountPath"]),
            "volumeDevices" if in_container => ListType::Map(&["devicePath"]),
            "ports" if in_container => ListType::Map(&["containerPort", "protocol"]),
            "ports" if self.kind == "Service" && names == ["spec", "ports"] => {
                ListType::Map(&["port", "protocol"])
            }
            "hostAliases" => ListType::Map(&["ip"]),
            "conditions" if names.first() == Some(&"status") => ListType::Map(&["type"]),
            "topologySpreadConstraints" => ListType::Map(&["topologyKey", "whenUnsatisfiable"]),
            "finalizers" if self.kind == "Namespace" => ListType::Set,
            _ => ListType::Atomic,
        }
    }

    /// Whether the object at `names` is replaced as a whole (an atomic struct like a label selector).
    pub(crate) fn atomic_map(&self, names: &[&str]) -> bool {
        if !self.builtin {
            return false;
        }
        match names.last() {
            Some(&"selector") => !(self.kind == "Service" && names == ["spec", "selector"]),
            Some(
                &("podSelector" | "namespaceSelector" | "labelSelector" | "roleRef"
                | "nodeAffinity"),
            ) => true,
            _ => false,
        }
    }

    /// Whether the object at `names` is a map with free-form keys (its managed-fields node gets a
    /// `.` member) rather than a struct with fixed fields.
    pub(crate) fn granular_map(&self, names: &[&str]) -> bool {
        match names {
            ["metadata", "labels" | "annotations"] => true,
            [] | ["metadata", ..] => false,
            _ if !self.builtin => true,
            _ => {
                matches!(
                    names.last(),
                    Some(
                        &("labels"
                            | "annotations"
                            | "data"
                            | "stringData"
                            | "binaryData"
                            | "nodeSelector"
                            | "limits"
                            | "requests"
                            | "matchLabels"
                            | "parameters")
                    )
                ) || (self.kind == "Service" && names == ["spec", "selector"])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_lists_merge_by_name_and_ports_by_port_and_protocol() {
        let s = Schema {
            builtin: true,
            kind: "Deployment",
        };
        assert_eq!(
            s.list_type(&["spec", "template", "spec", "containers"]),
            ListType::Map(&["name"])
        );
        assert_eq!(
            s.list_type(&["spec", "template", "spec", "containers", "ports"]),
            ListType::Map(&["containerPort", "protocol"])
        );
        assert_eq!(
            s.list_type(&["spec", "template", "spec", "containers", "args"]),
            ListType::Atomic
        );
        assert!(s.atomic_map(&["spec", "selector"]));
        let svc = Schema {
            builtin: true,
            kind: "Service",
        };
        assert!(!svc.atomic_map(&["spec", "selector"]));
        assert!(svc.granular_map(&["spec", "selector"]));
    }

    #[test]
    fn custom_resources_have_atomic_lists_except_metadata() {
        let s = Schema {
            builtin: false,
            kind: "Widget",
        };
        assert_eq!(s.list_type(&["spec", "containers"]), ListType::Atomic);
        assert_eq!(s.list_type(&["metadata", "finalizers"]), ListType::Set);
        assert!(s.granular_map(&["spec"]));
        assert!(!s.granular_map(&["metadata"]));
    }
}
