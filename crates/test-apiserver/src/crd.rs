//! `CustomResourceDefinition` specifics: validation and the status conditions.

use serde_json::{Value, json};

use crate::api::State;
use crate::clock;
use crate::discovery::{self, ResourceType};
use crate::status::ApiError;
use crate::store::Key;

pub(crate) fn validate_crd(rt: &ResourceType, name: &str, crd: &Value) -> Result<(), ApiError> {
    let group = crd["spec"]["group"].as_str().unwrap_or_default();
    let plural = crd["spec"]["names"]["plural"].as_str().unwrap_or_default();
    if group.is_empty() || plural.is_empty() || crd["spec"]["names"]["kind"].as_str().is_none() {
        return Err(ApiError::invalid(
            rt,
            name,
            "spec",
            "Required value: spec.group, spec.names.plural and spec.names.kind are required",
        ));
    }
    if name != format!("{plural}.{group}") {
        return Err(ApiError::invalid(
            rt,
            name,
            "metadata.name",
            &format!("Invalid value: {name:?}: must be spec.names.plural+\".\"+spec.group"),
        ));
    }
    if discovery::crd_storage_version(crd).is_none() {
        return Err(ApiError::invalid(
            rt,
            name,
            "spec.versions",
            "Invalid value: must have exactly one version marked as storage version",
        ));
    }
    Ok(())
}

/// Sets a CRD's `acceptedNames` and its `NamesAccepted` / `Established` conditions.
pub(crate) fn set_crd_conditions(crd: &mut Value, established: bool) {
    let now = clock::now_rfc3339();
    let cond = |t: &str, ok: bool, reason: &str, message: &str| json!({"type": t, "status": if ok { "True" } else { "False" }, "lastTransitionTime": now, "reason": reason, "message": message});
    crd["status"] = json!({
        "acceptedNames": crd["spec"]["names"].clone(),
        "conditions": [
            cond("NamesAccepted", true, "NoConflicts", "no conflicts found"),
            if established {
                cond("Established", true, "InitialNamesAccepted", "the initial names have been accepted")
            } else {
                cond("Established", false, "Installing", "the initial names are being installed")
            }
        ],
        "storedVersions": [discovery::crd_storage_version(crd).unwrap_or_default()],
    });
}

/// The `openAPIV3Schema` of a custom resource type's version, from its CRD.
pub(crate) fn schema_of(state: &State, rt: &ResourceType) -> Option<Value> {
    if rt.builtin {
        return None;
    }
    let key = Key::of(
        "apiextensions.k8s.io",
        "customresourcedefinitions",
        "",
        &format!("{}.{}", rt.plural, rt.group),
    );
    let crd = state.store.get(&key)?;
    let versions = crd["spec"]["versions"].as_array()?;
    let version = versions.iter().find(|v| v["name"] == rt.version.as_str())?;
    version["schema"].get("openAPIV3Schema").cloned()
}
