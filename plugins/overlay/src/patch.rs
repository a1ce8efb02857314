//! Patches: strategic merge (by id or by target selector) and JSON 6902.

use serde_json::Value;

use crate::kustomization::{Patch, Selector};
use crate::loader::Loader;
use crate::res::{Gvk, Res, ResId};
use crate::resmap::{self, ResMap};

/// Why a patch could not be loaded or applied.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("patch appears to be empty; files={0:?}")]
    Empty(Vec<String>),
    #[error("must specify one of patch and path in patch #{0}")]
    NoPatch(usize),
    #[error("patch and path can't be set at the same time in patch #{0}")]
    Both(usize),
    #[error("unable to parse SM or JSON patch from {0}")]
    Unparsable(String),
    #[error("no matches for Id {0}; failed to find unique target for patch {0}")]
    NoTarget(ResId),
    #[error("no resource matches strategic merge patch \"{0}\": {1}")]
    NoMatch(ResId, String),
    #[error("multiple matches for Id {0}; failed to find unique target for patch {0}")]
    ManyTargets(ResId),
    #[error("must specify a target for JSON patch {0}")]
    JsonNoTarget(String),
    #[error(
        "Multiple Strategic-Merge Patches in one `patches` entry is not allowed to set `patches.target` field: {0}"
    )]
    MultiWithTarget(String),
    #[error("invalid JSON patch {source_name}: {message}")]
    BadJson {
        source_name: String,
        message: String,
    },
    #[error("failed to apply JSON patch {source_name} to {target}: {message}")]
    JsonApply {
        source_name: String,
        target: String,
        message: String,
    },
    #[error("failed to apply strategic merge patch to {target}: {message}")]
    Smp { target: String, message: String },
    #[error(transparent)]
    Load(#[from] crate::loader::Error),
    #[error(transparent)]
    Yaml(#[from] kiln_sdk::yaml::Error),
    #[error(transparent)]
    Select(#[from] resmap::Error),
}

/// A parsed patch text.
pub(crate) enum Parsed {
    Smp(Vec<Value>),
    Json(Value),
}

/// Parses a patch that may be either kind.
pub(crate) fn parse(text: &str, source_name: &str) -> Result<Parsed, Error> {
    // Only the start is trimmed: a final line break belongs to a block
    // scalar that ends the patch.
    let text = text.trim_start();
    if text.trim().is_empty() {
        return Ok(Parsed::Smp(Vec::new()));
    }
    let docs = crate::yaml::stream(text, source_name)
        .map_err(|_| Error::Unparsable(source_name.to_owned()))?;
    if docs.len() == 1 && docs[0].is_array() {
        return Ok(Parsed::Json(docs[0].clone()));
    }
    if docs.iter().all(Value::is_object) {
        return Ok(Parsed::Smp(kiln_sdk::flatten_lists(docs)));
    }
    Err(Error::Unparsable(source_name.to_owned()))
}

/// Applies a strategic merge patch to resource `i`, keeping its id unless allowed.
pub(crate) fn apply_smp(
    m: &mut ResMap,
    i: usize,
    patch: &Value,
    opts: (bool, bool),
    custom: Option<&Value>,
) -> Result<(), Error> {
    let r = &mut m[i];
    let (name, ns, kind) = (r.name(), r.namespace(), r.kind());
    let (allow_name, allow_kind) = opts;
    if allow_name || allow_kind {
        r.store_previous_id();
    }
    let mut patch = patch.clone();
    if let Some(p) = patch.as_object_mut() {
        // The patch takes the target's group and version.
        p.insert("apiVersion".into(), Value::String(r.api_version()));
    }
    let merged = crate::smp::apply(&r.obj, &patch, custom).map_err(|message| Error::Smp {
        target: r.cur_id().to_string(),
        message,
    })?;
    // kustomize merges in place: a value the patch changes reaches every
    // field that shares it.
    let before = crate::alias::snapshot(r);
    match merged {
        None => r.obj = Value::Null,
        Some(v) if v.as_object().is_some_and(serde_json::Map::is_empty) => r.obj = Value::Null,
        Some(v) => {
            r.obj = v;
            crate::smp::drop_empty_values(&mut r.obj, &mut r.empty_values, custom);
            crate::alias::sync(r, &before);
            if !allow_kind {
                r.set_kind(&kind);
            }
            if !allow_name {
                r.set_name(&name);
            }
            r.set_namespace(&ns);
        }
    }
    Ok(())
}

/// The id a strategic merge patch names.
pub(crate) fn patch_id(p: &Value) -> ResId {
    let s = |path: &[&str]| crate::res::str_at(p, path).unwrap_or_default();
    ResId {
        gvk: Gvk::from_api_version(&s(&["apiVersion"]), &s(&["kind"])),
        name: s(&["metadata", "name"]),
        namespace: s(&["metadata", "namespace"]),
    }
}

/// The single resource a patch's id names.
pub(crate) fn target_by_id(m: &ResMap, id: &ResId) -> Result<usize, Error> {
    let hits = resmap::matching_any_id(m, |x| x.equals(id));
    match hits.as_slice() {
        [i] => Ok(*i),
        [] => Err(Error::NoTarget(id.clone())),
        _ => Err(Error::ManyTargets(id.clone())),
    }
}

fn drop_empties(m: &mut ResMap) {
    m.retain(|r| !r.is_empty());
}

/// Applies each strategic merge patch to the resource it names.
pub(crate) fn strategic_merge_by_id(
    m: &mut ResMap,
    patches: &[Value],
    opts: (bool, bool),
    custom: Option<&Value>,
) -> Result<(), Error> {
    for p in patches {
        let id = patch_id(p);
        let i = target_by_id(m, &id)?;
        apply_smp(m, i, p, opts, custom)?;
        drop_empties(m);
    }
    Ok(())
}

/// Applies a JSON 6902 patch to every selected resource.
pub(crate) fn json6902(
    m: &mut ResMap,
    ops: &Value,
    target: &Selector,
    source_name: &str,
    store_prev: bool,
) -> Result<(), Error> {
    let patch: json_patch::Patch =
        serde_json::from_value(ops.clone()).map_err(|e| Error::BadJson {
            source_name: source_name.to_owned(),
            message: e.to_string(),
        })?;
    for i in resmap::select(m, target)? {
        let r: &mut Res = &mut m[i];
        if store_prev {
            r.store_previous_id();
        }
        apply_as_kustomize(&mut r.obj, &patch).map_err(|e| Error::JsonApply {
            source_name: source_name.to_owned(),
            target: r.cur_id().to_string(),
            message: json_message(&patch, &e),
        })?;
        // kustomize rebuilds the object from JSON: no field shares a value now.
        r.links.clear();
        r.empty_values.clear();
    }
    Ok(())
}

/// Applies `patch` to `obj` as kustomize's JSON patch library does, which
/// is more lenient than RFC 6902 in two ways:
///
/// - during a build kustomize keeps its own bookkeeping annotations on every
///   resource, so `/metadata/annotations` always exists: an `add` under it
///   works on a resource that has no annotations (and an emptied map is
///   dropped again);
/// - `replace` of a key missing from an existing object sets it, as `add`
///   would (an array index out of range is still an error).
fn apply_as_kustomize(
    obj: &mut Value,
    patch: &json_patch::Patch,
) -> Result<(), json_patch::PatchError> {
    use json_patch::{AddOperation, PatchOperation};
    let had_annotations = obj.pointer("/metadata/annotations").is_some();
    if !had_annotations && let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("annotations".into(), Value::Object(serde_json::Map::new()));
    }
    let mut result = Ok(());
    for (i, op) in patch.0.iter().enumerate() {
        let op = match op {
            PatchOperation::Replace(r) if missing_key_of_object(obj, &r.path.to_string()) => {
                PatchOperation::Add(AddOperation {
                    path: r.path.clone(),
                    value: r.value.clone(),
                })
            }
            other => other.clone(),
        };
        if let Err(mut e) = json_patch::patch(obj, &json_patch::Patch(vec![op])) {
            e.operation = i;
            result = Err(e);
            break;
        }
    }
    if !had_annotations
        && let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut)
        && meta
            .get("annotations")
            .and_then(Value::as_object)
            .is_some_and(serde_json::Map::is_empty)
    {
        meta.remove("annotations");
    }
    result
}

/// Whether `pointer` names a key that its parent, an object, lacks.
fn missing_key_of_object(obj: &Value, pointer: &str) -> bool {
    let Some((parent, key)) = pointer.rsplit_once('/') else {
        return false;
    };
    let key = key.replace("~1", "/").replace("~0", "~");
    obj.pointer(parent)
        .and_then(Value::as_object)
        .is_some_and(|o| !o.contains_key(&key))
}

/// A JSON patch failure worded as kustomize words it.
fn json_message(patch: &json_patch::Patch, e: &json_patch::PatchError) -> String {
    use json_patch::{PatchErrorKind, PatchOperation};
    let op = match patch.0.get(e.operation) {
        Some(PatchOperation::Add(_)) => "add",
        Some(PatchOperation::Remove(_)) => "remove",
        Some(PatchOperation::Replace(_)) => "replace",
        Some(PatchOperation::Move(_)) => "move",
        Some(PatchOperation::Copy(_)) => "copy",
        Some(PatchOperation::Test(_)) => "test",
        None => "patch",
    };
    let pointer = e.path.to_string();
    match e.kind {
        PatchErrorKind::TestFailed => format!("testing value {pointer} failed: test failed"),
        PatchErrorKind::InvalidFromPointer => {
            format!(
                "{op} operation does not apply: doc is missing from path: {pointer}: missing value"
            )
        }
        PatchErrorKind::InvalidPointer => {
            format!("{op} operation does not apply: doc is missing path: {pointer}: missing value")
        }
        _ => e.to_string(),
    }
}

/// One `patches:` entry.
pub(crate) fn patch_entry(
    m: &mut ResMap,
    ldr: &Loader,
    p: &Patch,
    index: usize,
    custom: Option<&Value>,
) -> Result<(), Error> {
    let (text, source_name) = match (p.patch.trim().is_empty(), p.path.is_empty()) {
        (true, true) => return Err(Error::NoPatch(index)),
        (false, false) => return Err(Error::Both(index)),
        (false, true) => (p.patch.clone(), format!("[patch: {:?}]", p.patch.trim())),
        (true, false) => (ldr.read_string(&p.path)?, format!("[path: {:?}]", p.path)),
    };
    match parse(&text, &source_name)? {
        Parsed::Smp(docs) => {
            let opts = (p.options.allow_name_change, p.options.allow_kind_change);
            if let Some(target) = &p.target {
                if docs.len() > 1 {
                    return Err(Error::MultiWithTarget(source_name));
                }
                let Some(patch) = docs.first() else {
                    return Ok(());
                };
                for i in resmap::select(m, target)? {
                    let mut pc = patch.clone();
                    if let Some(o) = pc.as_object_mut() {
                        // The patch takes each target's kind only when it names none.
                        if !o.contains_key("kind") {
                            o.insert("kind".into(), Value::String(m[i].kind()));
                        }
                    }
                    apply_smp(m, i, &pc, opts, custom)?;
                }
                drop_empties(m);
                Ok(())
            } else {
                strategic_merge_by_id(m, &docs, opts, custom).map_err(|e| match e {
                    Error::NoTarget(ref id) | Error::ManyTargets(ref id) => {
                        Error::NoMatch(id.clone(), e.to_string())
                    }
                    other => other,
                })
            }
        }
        Parsed::Json(ops) => {
            let Some(target) = &p.target else {
                return Err(Error::JsonNoTarget(source_name));
            };
            json6902(m, &ops, target, &source_name, true)
        }
    }
}

/// Loads the `patchesStrategicMerge:` entries (file paths or inline YAML).
pub(crate) fn load_psm(ldr: &Loader, entries: &[Value]) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    let mut names = Vec::new();
    for e in entries {
        match e {
            Value::String(s)
                if !s.contains('\n') && !s.trim_start().starts_with('{') && !s.contains(": ") =>
            {
                names.push(s.clone());
                let text = ldr.read_string(s)?;
                out.extend(kiln_sdk::flatten_lists(crate::yaml::stream(&text, s)?));
            }
            Value::String(s) => {
                names.push(s.clone());
                out.extend(kiln_sdk::flatten_lists(crate::yaml::stream(
                    s,
                    "patchesStrategicMerge",
                )?));
            }
            other => out.push(other.clone()),
        }
    }
    out.retain(Value::is_object);
    if out.is_empty() {
        return Err(Error::Empty(names));
    }
    Ok(out)
}
