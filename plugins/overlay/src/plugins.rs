//! kustomize's builtin generator and transformer plugins, configured by
//! objects listed under `generators:` and `transformers:`.

use serde_json::Value;

use crate::fieldspec::{FieldSpec, TransformerConfig};
use crate::kustomization::{
    GeneratorArgs, GeneratorOptions, Image, Patch, Replica, Selector, value_to_str_map,
};
use crate::loader::Loader;
use crate::res::{Gvk, Res};
use crate::resmap::ResMap;
use crate::{generators, patch, replacements, transformers};

/// Why a plugin configuration failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("unable to load builtin {0}")]
    Unknown(String),
    #[error("invalid {kind} config: {message}")]
    Config { kind: String, message: String },
    #[error(transparent)]
    Load(#[from] crate::loader::Error),
    #[error(transparent)]
    Yaml(#[from] kiln_sdk::yaml::Error),
    #[error(transparent)]
    Generator(#[from] generators::Error),
    #[error(transparent)]
    Transformer(#[from] transformers::Error),
    #[error(transparent)]
    Patch(#[from] patch::Error),
    #[error(transparent)]
    Replacement(#[from] replacements::Error),
}

/// Reads plugin configurations: inline YAML objects or files.
pub(crate) fn load_configs(ldr: &Loader, entries: &[String]) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for e in entries {
        let inline = crate::yaml::stream(e, "inline")
            .ok()
            .filter(|d| d.iter().all(|x| x.get("kind").is_some()) && !d.is_empty());
        if let Some(docs) = inline {
            out.extend(docs);
        } else {
            let text = ldr.read_string(e)?;
            out.extend(kiln_sdk::flatten_lists(crate::yaml::stream(&text, e)?));
        }
    }
    Ok(out)
}

fn specs(cfg: &Value, key: &str) -> Vec<FieldSpec> {
    cfg.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(FieldSpec::from_value).collect())
        .unwrap_or_default()
}

fn text(cfg: &Value, key: &str) -> String {
    cfg.get(key)
        .and_then(crate::res::scalar_text)
        .unwrap_or_default()
}

fn parse<T: serde::de::DeserializeOwned + Default>(
    kind: &str,
    v: Option<&Value>,
) -> Result<T, Error> {
    match v {
        None => Ok(T::default()),
        Some(v) => serde_json::from_value(v.clone()).map_err(|e| Error::Config {
            kind: kind.to_owned(),
            message: e.to_string(),
        }),
    }
}

fn kind_of(cfg: &Value) -> (String, Gvk) {
    let kind = text(cfg, "kind");
    let gvk = Gvk::from_api_version(&text(cfg, "apiVersion"), &kind);
    (kind, gvk)
}

/// Runs a builtin generator configuration.
pub(crate) fn generate(
    ldr: &Loader,
    cfg: &Value,
    global: Option<&GeneratorOptions>,
) -> Result<Vec<Res>, Error> {
    let (kind, gvk) = kind_of(cfg);
    let target = match kind.as_str() {
        "ConfigMapGenerator" => "ConfigMap",
        "SecretGenerator" => "Secret",
        _ => return Err(Error::Unknown(gvk.to_string())),
    };
    let mut args: GeneratorArgs = parse(&kind, Some(cfg))?;
    if args.name.is_empty() {
        args.name = crate::res::str_at(cfg, &["metadata", "name"]).unwrap_or_default();
    }
    if args.namespace.is_empty() {
        args.namespace = crate::res::str_at(cfg, &["metadata", "namespace"]).unwrap_or_default();
    }
    if !args.env.is_empty() {
        args.envs.push(std::mem::take(&mut args.env));
    }
    let opts = generators::merge_options(args.options.as_ref(), global);
    Ok(vec![generators::generate(ldr, target, &args, &opts)?])
}

/// Runs a builtin transformer configuration.
pub(crate) fn transform(
    m: &mut ResMap,
    ldr: &Loader,
    cfg: &Value,
    tc: &TransformerConfig,
    schema: Option<&Value>,
) -> Result<(), Error> {
    let (kind, gvk) = kind_of(cfg);
    match kind.as_str() {
        "PrefixSuffixTransformer" | "PrefixTransformer" | "SuffixTransformer" => {
            let fss = specs(cfg, "fieldSpecs");
            transformers::prefix_suffix(m, &text(cfg, "prefix"), &text(cfg, "suffix"), &fss)?;
        }
        "LabelTransformer" => {
            let labels = value_to_str_map(cfg.get("labels").unwrap_or(&Value::Null));
            transformers::string_map(m, &labels, &specs(cfg, "fieldSpecs"))?;
        }
        "AnnotationsTransformer" => {
            let annos = value_to_str_map(cfg.get("annotations").unwrap_or(&Value::Null));
            transformers::string_map(m, &annos, &specs(cfg, "fieldSpecs"))?;
        }
        "NamespaceTransformer" => {
            let ns = crate::res::str_at(cfg, &["metadata", "namespace"]).unwrap_or_default();
            let mut fss = specs(cfg, "fieldSpecs");
            if fss.is_empty() {
                fss.clone_from(&tc.namespace);
            }
            let unset_only = cfg
                .get("unsetOnly")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            transformers::namespace(
                m,
                &ns,
                &fss,
                &text(cfg, "setRoleBindingSubjects"),
                unset_only,
            )?;
        }
        "PatchTransformer" => {
            let p: Patch = parse(&kind, Some(cfg))?;
            patch::patch_entry(m, ldr, &p, 0, schema)?;
        }
        "PatchStrategicMergeTransformer" => {
            let mut entries: Vec<Value> = cfg
                .get("paths")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if let Some(p) = cfg.get("patches") {
                entries.push(p.clone());
            }
            let patches = patch::load_psm(ldr, &entries)?;
            patch::strategic_merge_by_id(m, &patches, (false, false), schema)?;
        }
        "PatchJson6902Transformer" => {
            let target: Selector = parse(&kind, cfg.get("target"))?;
            let path = text(cfg, "path");
            let body = if path.is_empty() {
                text(cfg, "jsonOp")
            } else {
                ldr.read_string(&path)?
            };
            let ops = crate::yaml::one(&body, "jsonOp")?;
            patch::json6902(m, &ops, &target, "jsonOp", false)?;
        }
        "ImageTagTransformer" => {
            let img: Image = parse(&kind, cfg.get("imageTag"))?;
            let mut fss = specs(cfg, "fieldSpecs");
            if fss.is_empty() {
                fss.clone_from(&tc.images);
            }
            transformers::images(m, &img, &fss)?;
        }
        "ReplicaCountTransformer" => {
            let rep: Replica = parse(&kind, cfg.get("replica"))?;
            let mut fss = specs(cfg, "fieldSpecs");
            if fss.is_empty() {
                fss.clone_from(&tc.replicas);
            }
            transformers::replicas(m, &rep, &fss)?;
        }
        "ReplacementTransformer" => {
            let list = cfg
                .get("replacements")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let list = load_replacements(ldr, &list)?;
            replacements::apply(m, &list)?;
        }
        _ => return Err(Error::Unknown(gvk.to_string())),
    }
    Ok(())
}

/// Expands `path:` entries of a replacements list.
pub(crate) fn load_replacements(ldr: &Loader, entries: &[Value]) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for e in entries {
        match e.get("path").and_then(Value::as_str) {
            Some(p) if e.get("source").is_none() => {
                let text = ldr.read_string(p)?;
                for doc in crate::yaml::stream(&text, p)? {
                    match doc {
                        Value::Array(items) => out.extend(items),
                        other => out.push(other),
                    }
                }
            }
            _ => out.push(e.clone()),
        }
    }
    Ok(out)
}
