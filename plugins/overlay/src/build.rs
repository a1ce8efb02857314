//! The top of a build: accumulate, then the steps kustomize runs once at
//! the end (hash suffixes, name references, vars, local configs, order).

use std::path::Path;

use kiln_sdk::Error;
use serde_json::{Map, Value};

use crate::loader::Loader;
use crate::res::Res;
use crate::target::{Acc, Ctx, Target, fail};
use crate::{decrypted, generators, nameref, order, resmap, transformers, vars};

/// Builds the kustomization in `dir`; files may not be read outside `root`.
pub fn build(root: &Path, dir: &Path) -> Result<Vec<Value>, Error> {
    build_with_inputs(root, dir, Vec::new())
}

/// Builds with `inputs` as extra resources listed before the kustomization's own.
///
/// `kiln.dev/v1alpha1` `DecryptedFile` documents among the inputs are not
/// resources: each gives the plaintext of a file under `root` (its `path`),
/// which every read of that file during the build returns instead of the
/// disk content.
pub fn build_with_inputs(root: &Path, dir: &Path, inputs: Vec<Value>) -> Result<Vec<Value>, Error> {
    let (inputs, layer) = decrypted::split(root, inputs).map_err(|e| {
        Error::bad_input(e.to_string()).with_hint(
            "DecryptedFile documents come from the sops step's `files`; check its output",
        )
    })?;
    let ldr = Loader::new(root, dir, layer);
    let mut ctx = Ctx::default();
    ctx.visiting.push(ldr.dir.clone());
    let target = Target::load(&mut ctx, ldr, String::new())?;
    let shown = target.shown();
    let meta = &target.kust.build_metadata;
    ctx.origins = meta.iter().any(|m| m == "originAnnotations");
    ctx.transformations = meta.iter().any(|m| m == "transformerAnnotations");
    let managed_by = meta.iter().any(|m| m == "managedByLabel");
    let mut acc = Acc::default();
    for input in inputs {
        resmap::append(&mut acc.res, Res::new(input))
            .map_err(|e| fail(e, &shown, "the step's input already holds this object"))?;
    }
    let mut acc = target.accumulate(&mut ctx, acc)?;
    for r in &mut acc.res {
        if r.needs_hash {
            let h = generators::content_hash(&r.obj);
            r.store_previous_id();
            let name = format!("{}-{h}", r.name());
            r.set_name(&name);
        }
    }
    nameref::fix(&mut acc.res, &acc.config.name_reference).map_err(|e| {
        fail(
            e,
            &shown,
            "make the reference unambiguous, e.g. with distinct names or namespaces",
        )
    })?;
    vars::resolve(&mut acc.res, &acc.vars, &acc.config.var_reference)
        .map_err(|e| fail(e, &shown, "check the var's objref and fieldref"))?;
    acc.res.retain(|r| !transformers::is_local_config(r));
    order::sort(&mut acc.res, target.kust.sort_options.as_ref())
        .map_err(|e| fail(e, &shown, "set sortOptions.order to `legacy` or `fifo`"))?;
    Ok(acc
        .res
        .into_iter()
        .map(|r| finish(r, ctx.origins, managed_by))
        .collect())
}

/// Sorts map keys recursively: kustomize writes objects through JSON, so
/// its output lists fields in key order.
fn sort_keys(v: &mut Value) {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(String, Value)> = std::mem::take(m).into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            for (k, mut x) in entries {
                sort_keys(&mut x);
                m.insert(k, x);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(sort_keys),
        _ => {}
    }
}

/// The label `buildMetadata: [managedByLabel]` adds, naming the kustomize
/// version kiln follows.
const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "kustomize-v5.7.1");

/// kustomize rewrites every object's annotations at the end of a build (it
/// strips its own): an empty or null `metadata.annotations` goes, and every
/// value becomes a string (`1` → `"1"`, `true` → `"true"`, null → `""`).
fn normalize_annotations(obj: &mut Value) {
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    match meta.get_mut("annotations") {
        Some(Value::Null) => {
            meta.remove("annotations");
        }
        Some(Value::Object(a)) if a.is_empty() => {
            meta.remove("annotations");
        }
        Some(Value::Object(a)) => {
            for v in a.values_mut() {
                if !v.is_string() {
                    let text = match &*v {
                        Value::Null => String::new(),
                        other => {
                            crate::res::scalar_text(other).unwrap_or_else(|| other.to_string())
                        }
                    };
                    *v = Value::String(text);
                }
            }
        }
        _ => {}
    }
}

/// kustomize writes objects through JSON: a whole float below 2^64 comes
/// out as an integer (`1.0` → `1`, `1e3` → `1000`).
fn whole_floats_to_ints(v: &mut Value) {
    match v {
        Value::Object(m) => m.values_mut().for_each(whole_floats_to_ints),
        Value::Array(items) => items.iter_mut().for_each(whole_floats_to_ints),
        Value::Number(n) if n.is_f64() => {
            let Some(f) = n.as_f64() else { return };
            if f.fract() != 0.0 || !f.is_finite() {
                return;
            }
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "the ranges are checked first"
            )]
            // -2^63 itself stays a float: it is what every integer below
            // i64::MIN rounds to, and kustomize prints it as one.
            if f > -9.223_372_036_854_776e18 && f < 9.223_372_036_854_776e18 {
                *v = Value::from(f as i64);
            } else if (0.0..1.844_674_407_370_955_2e19).contains(&f) {
                *v = Value::from(f as u64);
            }
        }
        _ => {}
    }
}

fn finish(r: Res, origins: bool, managed_by: bool) -> Value {
    let mut obj = r.obj;
    normalize_annotations(&mut obj);
    whole_floats_to_ints(&mut obj);
    if managed_by
        && let Some(meta) = obj.as_object_mut().map(|m| {
            m.entry("metadata")
                .or_insert_with(|| Value::Object(Map::new()))
        })
        && let Some(meta) = meta.as_object_mut()
    {
        let labels = meta
            .entry("labels")
            .or_insert_with(|| Value::Object(Map::new()));
        if labels.is_null() {
            *labels = Value::Object(Map::new());
        }
        if let Some(l) = labels.as_object_mut() {
            l.insert(MANAGED_BY.0.into(), Value::String(MANAGED_BY.1.into()));
        }
    }
    let mut annos: Vec<(&str, String)> = Vec::new();
    if origins && let Some(o) = r.origin {
        annos.push(("config.kubernetes.io/origin", o));
    }
    if !r.transformations.is_empty() {
        annos.push((
            "alpha.config.kubernetes.io/transformations",
            r.transformations.concat(),
        ));
    }
    for (key, text) in annos {
        let Some(m) = obj.as_object_mut() else { break };
        let meta = m
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(meta) = meta.as_object_mut() {
            let a = meta
                .entry("annotations")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Some(a) = a.as_object_mut() {
                a.insert(key.into(), Value::String(text));
            }
        }
    }
    sort_keys(&mut obj);
    obj
}
