//! Field specs: which fields of which kinds a transformer touches, the
//! built-in defaults, and walking an object along a spec's path.

use serde_json::{Map, Value};
use std::sync::Arc;

use crate::res::Gvk;

/// One field of objects of a kind (empty gvk parts match any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldSpec {
    pub gvk: Gvk,
    pub path: String,
    pub create: bool,
}

impl FieldSpec {
    pub(crate) fn new(kind: &str, path: &str, create: bool) -> Self {
        Self {
            gvk: Gvk {
                kind: kind.into(),
                ..Gvk::default()
            },
            path: path.into(),
            create,
        }
    }

    pub(crate) fn with(group: &str, version: &str, kind: &str, path: &str, create: bool) -> Self {
        Self {
            gvk: Gvk {
                group: group.into(),
                version: version.into(),
                kind: kind.into(),
            },
            path: path.into(),
            create,
        }
    }

    /// Reads a spec from a configuration entry.
    pub(crate) fn from_value(v: &Value) -> Option<Self> {
        let s = |k: &str| {
            v.get(k)
                .and_then(crate::res::scalar_text)
                .unwrap_or_default()
        };
        Some(Self {
            gvk: Gvk {
                group: s("group"),
                version: s("version"),
                kind: s("kind"),
            },
            path: v.get("path")?.as_str()?.to_owned(),
            create: v.get("create").and_then(Value::as_bool).unwrap_or(false),
        })
    }
}

/// What a name refers to, and the fields that hold such references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NameRef {
    pub gvk: Gvk,
    pub specs: Vec<FieldSpec>,
}

/// The field specs of every built-in transformer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TransformerConfig {
    pub name_prefix: Vec<FieldSpec>,
    pub name_suffix: Vec<FieldSpec>,
    pub namespace: Vec<FieldSpec>,
    pub common_labels: Vec<FieldSpec>,
    pub labels: Vec<FieldSpec>,
    pub template_labels: Vec<FieldSpec>,
    pub common_annotations: Vec<FieldSpec>,
    pub name_reference: Vec<NameRef>,
    pub var_reference: Vec<FieldSpec>,
    pub images: Vec<FieldSpec>,
    pub replicas: Vec<FieldSpec>,
}

fn merge_specs(into: &mut Vec<FieldSpec>, more: &[FieldSpec]) {
    // Every spec selects itself, so merging a list into itself adds nothing;
    // kustomizations mostly merge the same built-in lists over and over.
    if into.as_slice() == more {
        return;
    }
    for fs in more {
        if !into
            .iter()
            .any(|x| x.gvk.is_selected(&fs.gvk) && x.path == fs.path)
        {
            into.push(fs.clone());
        }
    }
}

impl TransformerConfig {
    /// Adds `other`'s specs to this config.
    pub(crate) fn merge(&mut self, other: &TransformerConfig) {
        if self == other {
            return;
        }
        merge_specs(&mut self.name_prefix, &other.name_prefix);
        merge_specs(&mut self.name_suffix, &other.name_suffix);
        merge_specs(&mut self.namespace, &other.namespace);
        merge_specs(&mut self.common_labels, &other.common_labels);
        merge_specs(&mut self.labels, &other.labels);
        merge_specs(&mut self.template_labels, &other.template_labels);
        merge_specs(&mut self.common_annotations, &other.common_annotations);
        merge_specs(&mut self.var_reference, &other.var_reference);
        merge_specs(&mut self.images, &other.images);
        merge_specs(&mut self.replicas, &other.replicas);
        for nr in &other.name_reference {
            match self.name_reference.iter_mut().find(|x| x.gvk == nr.gvk) {
                Some(x) => merge_specs(&mut x.specs, &nr.specs),
                None => self.name_reference.push(nr.clone()),
            }
        }
    }

    /// Takes `other` as the config `into` when that is still empty or is
    /// the same, else merges it. Only for a config that is itself a merge
    /// result (as every accumulated one is): a list straight from a file may
    /// hold a spec that an earlier one covers, which only a merge drops.
    /// Configs are shared: most kustomizations of a build hold just the
    /// built-in specs, and copying those was much of a small build.
    pub(crate) fn absorb(into: &mut Arc<TransformerConfig>, other: Arc<TransformerConfig>) {
        if Arc::ptr_eq(into, &other) || *other == TransformerConfig::default() {
            return;
        }
        if **into == TransformerConfig::default() {
            *into = other;
        } else {
            Arc::make_mut(into).merge(&other);
        }
    }

    /// Reads a `configurations:` file.
    pub(crate) fn from_value(v: &Value) -> Self {
        let specs = |key: &str| -> Vec<FieldSpec> {
            v.get(key)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(FieldSpec::from_value).collect())
                .unwrap_or_default()
        };
        let name_reference = v
            .get("nameReference")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|e| {
                        let s = |k: &str| {
                            e.get(k)
                                .and_then(crate::res::scalar_text)
                                .unwrap_or_default()
                        };
                        NameRef {
                            gvk: Gvk {
                                group: s("group"),
                                version: s("version"),
                                kind: s("kind"),
                            },
                            specs: e
                                .get("fieldSpecs")
                                .and_then(Value::as_array)
                                .map(|a| a.iter().filter_map(FieldSpec::from_value).collect())
                                .unwrap_or_default(),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self {
            name_prefix: specs("namePrefix"),
            name_suffix: specs("nameSuffix"),
            namespace: specs("namespace"),
            common_labels: specs("commonLabels"),
            labels: specs("labels"),
            template_labels: specs("templateLabels"),
            common_annotations: specs("commonAnnotations"),
            name_reference,
            var_reference: specs("varReference"),
            images: specs("images"),
            replicas: specs("replicas"),
        }
    }
}

/// What a walk creates at the end of a path when a field is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Create {
    Nothing,
    Scalar,
    Map,
}

/// Splits a path on `/`, keeping `\/` escapes and `[...]` groups whole.
pub(crate) fn split_path(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0;
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'/') => {
                cur.push('/');
                chars.next();
            }
            '[' => {
                depth += 1;
                cur.push(c);
            }
            ']' => {
                depth -= 1;
                cur.push(c);
            }
            '/' if depth == 0 => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// Whether a spec's gvk selects `obj`.
pub(crate) fn matches_gvk(fs: &FieldSpec, obj: &Value) -> bool {
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
    let av = obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Gvk::from_api_version(av, kind).is_selected(&fs.gvk)
}

pub(crate) use crate::alias::Seg;

pub(crate) type Setter<'a> = dyn FnMut(&mut Value) -> Result<(), String> + 'a;

/// Calls `set` on every field of `obj` that `fs` names, creating the path
/// when the spec says so.
pub(crate) fn apply(
    obj: &mut Value,
    fs: &FieldSpec,
    create: Create,
    set: &mut Setter<'_>,
) -> Result<(), String> {
    apply_at(obj, fs, create, &mut |v, _| set(v))
}

/// A setter that is also given the field's path from the object's root.
pub(crate) type PathSetter<'a> = dyn FnMut(&mut Value, &[Seg]) -> Result<(), String> + 'a;

/// As [`apply`], also giving `set` the field's path from the object's root.
pub(crate) fn apply_at(
    obj: &mut Value,
    fs: &FieldSpec,
    create: Create,
    set: &mut PathSetter<'_>,
) -> Result<(), String> {
    if !matches_gvk(fs, obj) {
        return Ok(());
    }
    let path = split_path(&fs.path);
    let create = if fs.create { create } else { Create::Nothing };
    walk(obj, &path, create, &mut Vec::new(), set)
        .map_err(|e| format!("considering field '{}' of object: {e}", fs.path))
}

fn walk(
    v: &mut Value,
    path: &[String],
    create: Create,
    at: &mut Vec<Seg>,
    set: &mut PathSetter<'_>,
) -> Result<(), String> {
    let Some((head, rest)) = path.split_first() else {
        return set(v, at);
    };
    match v {
        Value::Null => Ok(()),
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                at.push(Seg::Index(i));
                let done = walk(item, path, create, at, set);
                at.pop();
                done?;
            }
            Ok(())
        }
        Value::Object(m) => {
            let (name, is_seq) = match head.strip_suffix("[]") {
                Some(n) => (n, true),
                None => (head.as_str(), false),
            };
            if name.is_empty() {
                return Err("cannot set or create an empty field name".into());
            }
            let field = if create == Create::Nothing || is_seq {
                match m.get_mut(name) {
                    Some(f) => f,
                    None => return Ok(()),
                }
            } else {
                let leaf = rest.is_empty();
                let f = m.entry(name.to_owned()).or_insert_with(|| {
                    if leaf && create == Create::Scalar {
                        Value::String(String::new())
                    } else {
                        Value::Object(Map::new())
                    }
                });
                if f.is_null() {
                    *f = if leaf && create == Create::Scalar {
                        Value::String(String::new())
                    } else {
                        Value::Object(Map::new())
                    };
                }
                f
            };
            at.push(Seg::Key(name.to_owned()));
            let done = walk(field, rest, create, at, set);
            at.pop();
            done
        }
        _ => Err("expected sequence or mapping node".into()),
    }
}
