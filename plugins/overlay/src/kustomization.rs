//! The kustomization file: its fields, read leniently where kustomize is
//! lenient and refusing fields it does not know.

use serde::Deserialize;
use serde_json::{Map, Value};

/// A string map whose values may be written as any scalar.
pub(crate) type StrMap = Vec<(String, String)>;

fn str_map<'de, D: serde::Deserializer<'de>>(d: D) -> Result<StrMap, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(value_to_str_map(&v))
}

pub(crate) fn value_to_str_map(v: &Value) -> StrMap {
    match v {
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| (k.clone(), crate::res::scalar_text(v).unwrap_or_default()))
            .collect(),
        _ => Vec::new(),
    }
}

fn string_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(match v {
        Value::Array(a) => a.iter().filter_map(crate::res::scalar_text).collect(),
        Value::String(s) => vec![s],
        _ => Vec::new(),
    })
}

fn opt_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(crate::res::scalar_text(&v).unwrap_or_default())
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[expect(
    clippy::struct_field_names,
    reason = "the names are kustomize's field names"
)]
pub(crate) struct Selector {
    #[serde(deserialize_with = "opt_string")]
    pub group: String,
    #[serde(deserialize_with = "opt_string")]
    pub version: String,
    #[serde(deserialize_with = "opt_string")]
    pub kind: String,
    #[serde(deserialize_with = "opt_string")]
    pub name: String,
    #[serde(deserialize_with = "opt_string")]
    pub namespace: String,
    #[serde(deserialize_with = "opt_string")]
    pub label_selector: String,
    #[serde(deserialize_with = "opt_string")]
    pub annotation_selector: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct PatchOptions {
    pub allow_name_change: bool,
    pub allow_kind_change: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[expect(
    clippy::struct_field_names,
    reason = "the names are kustomize's field names"
)]
pub(crate) struct Patch {
    pub path: String,
    pub patch: String,
    pub target: Option<Selector>,
    pub options: PatchOptions,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Image {
    #[serde(deserialize_with = "opt_string")]
    pub name: String,
    #[serde(deserialize_with = "opt_string")]
    pub new_name: String,
    #[serde(deserialize_with = "opt_string")]
    pub new_tag: String,
    #[serde(deserialize_with = "opt_string")]
    pub digest: String,
    #[serde(deserialize_with = "opt_string")]
    pub tag_suffix: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Replica {
    pub name: String,
    pub count: i64,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct GeneratorOptions {
    #[serde(deserialize_with = "str_map")]
    pub labels: StrMap,
    #[serde(deserialize_with = "str_map")]
    pub annotations: StrMap,
    pub disable_name_suffix_hash: bool,
    pub immutable: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct GeneratorArgs {
    pub name: String,
    pub namespace: String,
    pub behavior: String,
    #[serde(deserialize_with = "string_list")]
    pub files: Vec<String>,
    #[serde(deserialize_with = "string_list")]
    pub literals: Vec<String>,
    #[serde(deserialize_with = "string_list")]
    pub envs: Vec<String>,
    pub env: String,
    pub options: Option<GeneratorOptions>,
    #[serde(rename = "type")]
    pub type_: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Label {
    #[serde(deserialize_with = "str_map")]
    pub pairs: StrMap,
    pub include_selectors: bool,
    pub include_templates: bool,
    /// Newer kustomize's switch for `StatefulSet` volume claim templates;
    /// kustomize `v5.7.1` has no such field and labels them with
    /// `includeTemplates`, which is what its absence means here.
    pub include_volume_claim_templates: Option<bool>,
    pub fields: Vec<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct SortOptions {
    pub order: String,
    pub legacy_sort_options: Option<LegacySortOptions>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct LegacySortOptions {
    pub order_first: Vec<String>,
    pub order_last: Vec<String>,
}

/// A kustomization file (or component).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Kustomization {
    pub api_version: String,
    pub kind: String,
    pub name_prefix: String,
    pub name_suffix: String,
    pub namespace: String,
    #[serde(deserialize_with = "str_map")]
    pub common_labels: StrMap,
    pub labels: Vec<Label>,
    #[serde(deserialize_with = "str_map")]
    pub common_annotations: StrMap,
    #[serde(deserialize_with = "string_list")]
    pub resources: Vec<String>,
    #[serde(deserialize_with = "string_list")]
    pub bases: Vec<String>,
    #[serde(deserialize_with = "string_list")]
    pub components: Vec<String>,
    pub patches: Vec<Patch>,
    pub patches_strategic_merge: Vec<Value>,
    pub patches_json6902: Vec<Patch>,
    pub images: Vec<Image>,
    pub replicas: Vec<Replica>,
    pub config_map_generator: Vec<GeneratorArgs>,
    pub secret_generator: Vec<GeneratorArgs>,
    pub generator_options: Option<GeneratorOptions>,
    pub replacements: Vec<Value>,
    pub vars: Vec<Value>,
    #[serde(deserialize_with = "string_list")]
    pub crds: Vec<String>,
    #[serde(deserialize_with = "string_list")]
    pub configurations: Vec<String>,
    #[serde(deserialize_with = "string_list")]
    pub generators: Vec<String>,
    #[serde(deserialize_with = "string_list")]
    pub transformers: Vec<String>,
    #[serde(deserialize_with = "string_list")]
    pub validators: Vec<String>,
    #[serde(deserialize_with = "str_map")]
    pub openapi: StrMap,
    #[serde(deserialize_with = "string_list")]
    pub build_metadata: Vec<String>,
    pub sort_options: Option<SortOptions>,
    pub metadata: Value,
    pub helm_charts: Vec<Value>,
    pub helm_globals: Value,
    pub helm_chart_inflation_generator: Vec<Value>,
    pub image_tags: Vec<Image>,
}

/// Every field a kustomization may have.
const KNOWN: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "namePrefix",
    "nameSuffix",
    "namespace",
    "commonLabels",
    "labels",
    "commonAnnotations",
    "resources",
    "bases",
    "components",
    "patches",
    "patchesStrategicMerge",
    "patchesJson6902",
    "images",
    "imageTags",
    "replicas",
    "configMapGenerator",
    "secretGenerator",
    "generatorOptions",
    "replacements",
    "vars",
    "crds",
    "configurations",
    "generators",
    "transformers",
    "validators",
    "openapi",
    "buildMetadata",
    "sortOptions",
    "helmCharts",
    "helmGlobals",
    "helmChartInflationGenerator",
];

/// What is wrong with a kustomization file.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("invalid Kustomization: json: unknown field \"{0}\"")]
    UnknownField(String),
    #[error("kustomization is not a mapping")]
    NotAMap,
    #[error("invalid kustomization: {0}")]
    Invalid(String),
    #[error("kustomization.yaml is empty")]
    Empty,
}

impl Kustomization {
    /// Reads a parsed kustomization document.
    pub(crate) fn from_value(v: &Value) -> Result<Self, Error> {
        let map: Map<String, Value> = match v {
            Value::Object(m) => m.clone(),
            Value::Null => return Err(Error::Empty),
            _ => return Err(Error::NotAMap),
        };
        // Field names match case-insensitively, as Go's JSON decoding does.
        let mut map: Map<String, Value> = map
            .into_iter()
            .map(
                |(k, v)| match KNOWN.iter().find(|known| known.eq_ignore_ascii_case(&k)) {
                    Some(known) => Ok(((*known).to_owned(), v)),
                    None => Err(Error::UnknownField(k)),
                },
            )
            .collect::<Result<_, _>>()?;
        map.retain(|_, v| !v.is_null());
        if map
            .keys()
            .all(|k| k == "apiVersion" || k == "kind" || k == "metadata")
        {
            return Err(Error::Empty);
        }
        let mut k: Kustomization = serde_json::from_value(Value::Object(map))
            .map_err(|e| Error::Invalid(e.to_string()))?;
        // Legacy fields fold into their successors, as kustomize's fix-up does.
        let bases = std::mem::take(&mut k.bases);
        k.resources.extend(bases);
        let tags = std::mem::take(&mut k.image_tags);
        k.images.extend(tags);
        for g in k
            .config_map_generator
            .iter_mut()
            .chain(k.secret_generator.iter_mut())
        {
            if !g.env.is_empty() {
                let env = std::mem::take(&mut g.env);
                g.envs.push(env);
            }
        }
        Ok(k)
    }

    pub(crate) fn is_component(&self) -> bool {
        self.kind == "Component"
    }
}
