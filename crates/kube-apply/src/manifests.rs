//! A validated render: the only input an apply takes.

use std::collections::BTreeSet;

use kiln_resource::ResourceId;
use serde_json::Value;

/// Why a render cannot be applied.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("manifest #{index} is not a mapping")]
    NotAnObject { index: usize },
    #[error(
        "manifest #{index} ({id}) has no {field}; every object needs apiVersion, kind and metadata.name"
    )]
    MissingField {
        index: usize,
        id: String,
        field: &'static str,
    },
    #[error("{id} appears twice in the render; each object may be applied once")]
    Duplicate { id: ResourceId },
}

/// The objects of a successful render, in apply order as given (kustomize order).
///
/// An apply prunes against this set, so it exists only for a render that succeeded: build it
/// from the render's `Ok` value. There is no way to prune without one.
#[derive(Debug, Clone)]
pub struct Manifests {
    pub(crate) objects: Vec<(ResourceId, Value)>,
}

impl Manifests {
    /// Checks every object (a mapping with `apiVersion`, `kind` and `metadata.name`; no object
    /// twice) before anything reaches the cluster.
    pub fn new(objects: Vec<Value>) -> Result<Self, Error> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::with_capacity(objects.len());
        for (index, obj) in objects.into_iter().enumerate() {
            if !obj.is_object() {
                return Err(Error::NotAnObject { index });
            }
            let id = ResourceId::of(&obj);
            let shown = id.as_ref().map(ToString::to_string).unwrap_or_default();
            let missing = |field| Error::MissingField {
                index,
                id: shown.clone(),
                field,
            };
            let Some(id) = id else {
                return Err(missing("apiVersion or kind"));
            };
            if obj
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                return Err(missing("metadata.name"));
            }
            if !seen.insert(crate::inventory::key(&id)) {
                return Err(Error::Duplicate { id });
            }
            out.push((id, obj));
        }
        Ok(Manifests { objects: out })
    }

    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }
}
