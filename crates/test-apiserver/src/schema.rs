//! The little schema knowledge the emulator has: how lists merge and which maps are granular.
//!
//! Real servers read this from the `OpenAPI` schema of each type. Here it is a fixed table for the
//! built-in kinds keyed by field names; custom resources use the `x-kubernetes-list-type`,
//! `x-kubernetes-list-map-keys` and `x-kubernetes-map-type` markers of their CRD's schema
//! (lists without a marker are atomic, maps granular).

use serde_json::Value;

/// The key fields of an associative list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keys<'a> {
    Fixed(&'static [&'static str]),
    Crd(&'a [Value]),
}

impl<'a> Keys<'a> {
    pub(crate) fn names(self) -> Vec<&'a str> {
        match self {
            Keys::Fixed(k) => k.to_vec(),
            Keys::Crd(v) => v.iter().filter_map(Value::as_str).collect(),
        }
    }
}

/// How a list field merges (server-side apply and strategic merge patch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListType<'a> {
    /// Replaced as a whole.
    Atomic,
    /// A set of scalars, merged by value.
    Set,
    /// A list of objects merged by these key fields (the first is the strategic-merge key).
    Map(Keys<'a>),
}

/// What the schema needs to know about the object being handled.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Schema<'a> {
    pub(crate) builtin: bool,
    pub(crate) kind: &'a str,
    /// The `openAPIV3Schema` of a custom resource's version.
    pub(crate) crd: Option<&'a Value>,
}

impl<'a> Schema<'a> {
    /// The CRD schema node of the field at `names` (list items are stepped through).
    fn crd_node(&self, names: &[&str]) -> Option<&'a Value> {
        let mut node = self.crd?;
        for name in names {
            while node.get("type").and_then(Value::as_str) == Some("array") {
                node = node.get("items")?;
            }
            node = node
                .get("properties")
                .and_then(|p| p.get(*name))
                .or_else(|| node.get("additionalProperties").filter(|a| a.is_object()))?;
        }
        Some(node)
    }

    /// The list type of the field at `names` (field names from the root, list items skipped).
    pub(crate) fn list_type(&self, names: &[&str]) -> ListType<'a> {
        let Some((&last, parents)) = names.split_last() else {
            return ListType::Atomic;
        };
        match (names.first().copied(), last) {
            (Some("metadata"), "ownerReferences") if names.len() == 2 => {
                return ListType::Map(Keys::Fixed(&["uid"]));
            }
            (Some("metadata"), "finalizers") if names.len() == 2 => return ListType::Set,
            _ => {}
        }
        if !self.builtin {
            let node = self.crd_node(names);
            return match node
                .and_then(|n| n.get("x-kubernetes-list-type"))
                .and_then(Value::as_str)
            {
                Some("set") => ListType::Set,
                Some("map") => node
                    .and_then(|n| n.get("x-kubernetes-list-map-keys"))
                    .and_then(Value::as_array)
                    .filter(|keys| !keys.is_empty())
                    .map_or(ListType::Atomic, |keys| ListType::Map(Keys::Crd(keys))),
                _ => ListType::Atomic,
            };
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
            | "resourceClaims" => ListType::Map(Keys::Fixed(&["name"])),
            "env" if in_container => ListType::Map(Keys::Fixed(&["name"])),
            "volumeMounts" if in_container => ListType::Map(Keys::Fixed(&["mountPath"])),
            "volumeDevices" if in_container => ListType::Map(Keys::Fixed(&["devicePath"])),
            "ports" if in_container => ListType::Map(Keys::Fixed(&["containerPort", "protocol"])),
            "ports" if self.kind == "Service" && names == ["spec", "ports"] => {
                ListType::Map(Keys::Fixed(&["port", "protocol"]))
            }
            "hostAliases" => ListType::Map(Keys::Fixed(&["ip"])),
            "conditions" if names.first() == Some(&"status") => {
                ListType::Map(Keys::Fixed(&["type"]))
            }
            "topologySpreadConstraints" => {
                ListType::Map(Keys::Fixed(&["topologyKey", "whenUnsatisfiable"]))
            }
            "finalizers" if self.kind == "Namespace" => ListType::Set,
            _ => ListType::Atomic,
        }
    }

    /// Whether the object at `names` is replaced as a whole (an atomic struct like a label selector).
    pub(crate) fn atomic_map(&self, names: &[&str]) -> bool {
        if !self.builtin {
            return self.crd_node(names).is_some_and(|n| {
                n.get("x-kubernetes-map-type").and_then(Value::as_str) == Some("atomic")
            });
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
            crd: None,
        };
        assert_eq!(
            s.list_type(&["spec", "template", "spec", "containers"]),
            ListType::Map(Keys::Fixed(&["name"]))
        );
        assert_eq!(
            s.list_type(&["spec", "template", "spec", "containers", "ports"]),
            ListType::Map(Keys::Fixed(&["containerPort", "protocol"]))
        );
        assert_eq!(
            s.list_type(&["spec", "template", "spec", "containers", "args"]),
            ListType::Atomic
        );
        assert!(s.atomic_map(&["spec", "selector"]));
        let svc = Schema {
            builtin: true,
            kind: "Service",
            crd: None,
        };
        assert!(!svc.atomic_map(&["spec", "selector"]));
        assert!(svc.granular_map(&["spec", "selector"]));
    }

    #[test]
    fn custom_resources_have_atomic_lists_except_metadata() {
        let s = Schema {
            builtin: false,
            kind: "Widget",
            crd: None,
        };
        assert_eq!(s.list_type(&["spec", "containers"]), ListType::Atomic);
        assert_eq!(s.list_type(&["metadata", "finalizers"]), ListType::Set);
        assert!(s.granular_map(&["spec"]));
        assert!(!s.granular_map(&["metadata"]));
    }
}
