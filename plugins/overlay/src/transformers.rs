//! The built-in field transformers: namespace, name prefix and suffix,
//! labels, annotations, images and replicas.

use serde_json::Value;

use crate::alias::{self, Seg};
use crate::fieldspec::{self, Create, FieldSpec};
use crate::kustomization::{Image, Replica, StrMap};
use crate::res::{Gvk, Res};
use crate::resmap::{self, ResMap};

/// Why a transformer failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("namespace transformation produces ID conflict: {0}")]
    NamespaceConflict(String),
    #[error("{0}")]
    Field(String),
    #[error("resource with name {name} does not match a config with the following GVK [{gvks}]")]
    NoReplicaTarget { name: String, gvks: String },
    #[error(
        "invalid value {0:?} for setRoleBindingSubjects: must be one of \"defaultOnly\", \"none\" or \"allServiceAccounts\""
    )]
    SubjectMode(String),
}

fn set_string(value: &str) -> impl FnMut(&mut Value) -> Result<(), String> + '_ {
    move |node| {
        *node = Value::String(value.to_owned());
        Ok(())
    }
}

/// Sets the namespace of every namespaced resource and of namespace fields.
pub(crate) fn namespace(
    m: &mut ResMap,
    ns: &str,
    specs: &[FieldSpec],
    subjects: &str,
    unset_only: bool,
) -> Result<(), Error> {
    if ns.is_empty() {
        return Ok(());
    }
    for i in 0..m.len() {
        if m[i].is_empty() {
            continue;
        }
        m[i].store_previous_id();
        let r = &mut m[i];
        let gvk = r.gvk();
        let mut setter = |node: &mut Value| {
            let has = matches!(node, Value::String(s) if !s.is_empty());
            if !(unset_only && has) {
                *node = Value::String(ns.to_owned());
            }
            Ok(())
        };
        if !gvk.is_cluster_scoped() {
            let fs = FieldSpec::new("", "metadata/namespace", true);
            fieldspec::apply(&mut r.obj, &fs, Create::Scalar, &mut setter).map_err(Error::Field)?;
        }
        let av = r.api_version();
        let is_binding = gvk.kind == "RoleBinding" || gvk.kind == "ClusterRoleBinding";
        let specs: Vec<&FieldSpec> = specs
            .iter()
            .filter(|fs| fs.path != "metadata/namespace")
            .filter(|fs| !(av != "v1" && fs.path == "metadata/name"))
            .filter(|fs| !(is_binding && fs.path == "subjects/namespace"))
            .collect();
        if is_binding {
            let mode = subjects;
            if !matches!(mode, "" | "defaultOnly" | "allServiceAccounts" | "none") {
                return Err(Error::SubjectMode(mode.to_owned()));
            }
            if mode != "none"
                && let Some(subs) = r.obj.get_mut("subjects").and_then(Value::as_array_mut)
            {
                for s in subs {
                    let hit = if mode == "allServiceAccounts" {
                        s.get("kind").and_then(Value::as_str) == Some("ServiceAccount")
                    } else {
                        s.get("name").and_then(Value::as_str) == Some("default")
                    };
                    if hit && let Some(o) = s.as_object_mut() {
                        let entry = o.entry("namespace").or_insert(Value::String(String::new()));
                        setter(entry).map_err(Error::Field)?;
                    }
                }
            }
        }
        for fs in specs {
            fieldspec::apply(&mut r.obj, fs, Create::Scalar, &mut setter).map_err(Error::Field)?;
        }
        let id = m[i].cur_id();
        if m.iter().filter(|x| x.cur_id().equals(&id)).count() != 1 {
            return Err(Error::NamespaceConflict(id.to_string()));
        }
    }
    Ok(())
}

fn skip_prefix(id_gvk: &Gvk) -> bool {
    id_gvk.kind == "CustomResourceDefinition"
        || (id_gvk.group == "apiregistration.k8s.io" && id_gvk.kind == "APIService")
        || id_gvk.kind == "Namespace"
}

/// Adds a name prefix and/or suffix along the given field specs.
pub(crate) fn prefix_suffix(
    m: &mut ResMap,
    prefix: &str,
    suffix: &str,
    specs: &[FieldSpec],
) -> Result<(), Error> {
    for r in m.iter_mut() {
        let org = r.org_id();
        if skip_prefix(&org.gvk) {
            continue;
        }
        for fs in specs {
            if !org.gvk.is_selected(&fs.gvk) {
                continue;
            }
            if fs.path == "metadata/name" {
                if !prefix.is_empty() {
                    r.prefixes.push(prefix.to_owned());
                }
                if !suffix.is_empty() {
                    r.suffixes.push(suffix.to_owned());
                }
                if !prefix.is_empty() || !suffix.is_empty() {
                    r.store_previous_id();
                }
            }
            fieldspec::apply(&mut r.obj, fs, Create::Scalar, &mut |node| {
                let old = crate::res::scalar_text(node).unwrap_or_default();
                *node = Value::String(format!("{prefix}{old}{suffix}"));
                Ok(())
            })
            .map_err(Error::Field)?;
        }
    }
    Ok(())
}

/// Sets string map entries (labels or annotations) along field specs.
///
/// As in kustomize, the fields one key adds to one resource share their
/// value (see [`crate::alias`]); setting a key that a map already has
/// changes every field sharing that value.
pub(crate) fn string_map(m: &mut ResMap, pairs: &StrMap, specs: &[FieldSpec]) -> Result<(), Error> {
    if pairs.is_empty() {
        return Ok(());
    }
    let mut sorted = pairs.clone();
    sorted.sort();
    for r in m.iter_mut() {
        for (k, v) in &sorted {
            let value = Value::String(v.clone());
            let (mut added, mut existing) = (Vec::new(), Vec::new());
            for fs in specs {
                fieldspec::apply_at(&mut r.obj, fs, Create::Map, &mut |node, at| {
                    if node.is_null() {
                        *node = Value::Object(serde_json::Map::new());
                    }
                    let Some(map) = node.as_object_mut() else {
                        return Err("expected a mapping node".into());
                    };
                    let mut path = at.to_vec();
                    path.push(Seg::Key(k.clone()));
                    if map.insert(k.clone(), value.clone()).is_some() {
                        existing.push(path);
                    } else {
                        added.push(path);
                    }
                    Ok(())
                })
                .map_err(Error::Field)?;
            }
            for path in &existing {
                alias::set_shared(r, path, &value);
            }
            if added.len() > 1 {
                r.links.push(added);
            }
        }
    }
    Ok(())
}

/// Whether an image reference names the image `name`.
///
/// `name` is a regular expression, as in kustomize. A plain name (letters,
/// digits, `_-/:@`, and `.` which matches any character) is matched by hand;
/// any other is compiled once per build: compiling dominated an `images` run.
fn image_matches(value: &str, name: &str) -> bool {
    if let Some(matched) = plain_image_matches(value, name) {
        return matched;
    }
    thread_local! {
        static COMPILED: std::cell::RefCell<std::collections::HashMap<String, Option<regex::Regex>>> =
            std::cell::RefCell::default();
    }
    COMPILED.with_borrow_mut(|compiled| {
        compiled
            .entry(name.to_owned())
            .or_insert_with(|| {
                let pattern = crate::goregex::translate(&format!(
                    "^{name}(:[a-zA-Z0-9_.{{}}-]*)?(@sha256:[a-zA-Z0-9_.{{}}-]*)?$"
                ))
                .ok()?;
                regex::Regex::new(&pattern).ok()
            })
            .as_ref()
            .is_some_and(|re| re.is_match(value))
    })
}

/// [`image_matches`] for a name without regex operators other than `.`;
/// `None` for any other name.
fn plain_image_matches(value: &str, name: &str) -> Option<bool> {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-/:@.".contains(c);
    if !name.chars().all(plain) {
        return None;
    }
    // The name has a fixed length and no alternatives, so it matches exactly
    // the first `name.len()` characters, `.` standing for any but a newline.
    let mut chars = value.chars();
    for want in name.chars() {
        match chars.next() {
            Some(got) if got == want || (want == '.' && got != '\n') => {}
            _ => return Some(false),
        }
    }
    let rest = chars.as_str();
    let tag_char = |c: char| c.is_ascii_alphanumeric() || "_.{}-".contains(c);
    // `(:TAG)?`: the tag may not contain `@` or `:`, so it runs to either.
    let rest = match rest.strip_prefix(':') {
        Some(tag) => tag.trim_start_matches(tag_char),
        None => rest,
    };
    if rest.is_empty() {
        return Some(true);
    }
    // `(@sha256:TAG)?$`: kustomize v5.7.1 knows no other digest algorithm.
    let Some(hex) = rest.strip_prefix("@sha256:") else {
        return Some(false);
    };
    Some(hex.chars().all(tag_char))
}

/// Splits an image reference into name, tag and digest.
fn split_image(image: &str) -> (String, String, String) {
    let slash = image.find('/').filter(|&i| i > 0).unwrap_or(0);
    let search = &image[slash..];
    let at = search.find('@');
    let colon = search.find(':');
    match (at, colon) {
        (None, None) => (image.to_owned(), String::new(), String::new()),
        (Some(a), c) if c.is_none_or(|c| a < c) => {
            let a = a + slash;
            (
                image[..a].to_owned(),
                String::new(),
                image[a + 1..].to_owned(),
            )
        }
        (Some(a), Some(c)) => {
            let (a, c) = (a + slash, c + slash);
            (
                image[..c].to_owned(),
                image[c + 1..a].to_owned(),
                image[a + 1..].to_owned(),
            )
        }
        (None, Some(c)) => {
            let c = c + slash;
            (
                image[..c].to_owned(),
                image[c + 1..].to_owned(),
                String::new(),
            )
        }
        (Some(_), None) => unreachable!("handled by the guard above"),
    }
}

fn update_image(node: &mut Value, img: &Image) -> Result<(), String> {
    let Value::String(value) = node else {
        return Err("wrong node kind: expected ScalarNode".into());
    };
    if !image_matches(value, &img.name) {
        return Ok(());
    }
    let (mut name, mut tag, mut digest) = split_image(value);
    if !img.new_name.is_empty() {
        name.clone_from(&img.new_name);
    }
    if !img.new_tag.is_empty() && !img.digest.is_empty() {
        tag.clone_from(&img.new_tag);
        digest.clone_from(&img.digest);
    } else if !img.new_tag.is_empty() {
        tag.clone_from(&img.new_tag);
        digest.clear();
    } else if !img.digest.is_empty() {
        tag.clear();
        digest.clone_from(&img.digest);
    } else if !img.tag_suffix.is_empty() {
        tag.push_str(&img.tag_suffix);
        digest.clear();
    }
    if !tag.is_empty() {
        name = format!("{name}:{tag}");
    }
    if !digest.is_empty() {
        name = format!("{name}@{digest}");
    }
    *node = Value::String(name);
    Ok(())
}

fn legacy_images(v: &mut Value, img: &Image) -> Result<(), String> {
    match v {
        Value::Object(m) => {
            for (k, child) in m.iter_mut() {
                legacy_images(child, img)?;
                if (k == "containers" || k == "initContainers")
                    && let Value::Array(items) = child
                {
                    for c in items {
                        if let Some(image) = c.get_mut("image") {
                            update_image(image, img)?;
                        }
                    }
                }
            }
            Ok(())
        }
        Value::Array(a) => a.iter_mut().try_for_each(|x| legacy_images(x, img)),
        _ => Ok(()),
    }
}

/// Rewrites image references.
pub(crate) fn images(m: &mut ResMap, img: &Image, specs: &[FieldSpec]) -> Result<(), Error> {
    for r in m.iter_mut() {
        if r.kind() == "CustomResourceDefinition" {
            continue;
        }
        legacy_images(&mut r.obj, img).map_err(Error::Field)?;
        for fs in specs {
            fieldspec::apply(&mut r.obj, fs, Create::Nothing, &mut |node| {
                update_image(node, img)
            })
            .map_err(Error::Field)?;
        }
    }
    Ok(())
}

/// Sets replica counts of the named workloads.
pub(crate) fn replicas(m: &mut ResMap, rep: &Replica, specs: &[FieldSpec]) -> Result<(), Error> {
    let mut found = false;
    for fs in specs {
        let hits =
            resmap::matching_any_id(m, |id| id.name == rep.name && id.gvk.is_selected(&fs.gvk));
        if !hits.is_empty() {
            found = true;
        }
        for i in hits {
            let count = rep.count;
            fieldspec::apply(&mut m[i].obj, fs, Create::Scalar, &mut |node| {
                *node = Value::from(count);
                Ok(())
            })
            .map_err(Error::Field)?;
        }
    }
    if !found {
        let gvks: Vec<String> = specs.iter().map(|f| f.gvk.to_string()).collect();
        return Err(Error::NoReplicaTarget {
            name: rep.name.clone(),
            gvks: gvks.join(" "),
        });
    }
    Ok(())
}

#[allow(dead_code, reason = "shared helper for callers setting plain strings")]
pub(crate) fn set_plain(v: &str) -> impl FnMut(&mut Value) -> Result<(), String> + '_ {
    set_string(v)
}

/// Whether `r` is a local-config object that the output leaves out.
pub(crate) fn is_local_config(r: &Res) -> bool {
    r.annotations()
        .get("config.kubernetes.io/local-config")
        .and_then(Value::as_str)
        == Some("true")
}

#[cfg(test)]
mod tests {
    use super::plain_image_matches;

    /// The hand matcher agrees with kustomize's regular expression on plain
    /// names, including `.` standing for any character.
    #[test]
    fn plain_image_names_match_as_the_regex_does() {
        let names = [
            "nginx",
            "ghcr.io/example/shop",
            "localhost:5000/app",
            "a.b",
            "my-app_2",
        ];
        let suffixes = [
            "",
            ":1.2",
            ":",
            ":v1{x}",
            "@sha256:abc",
            "@sha256:",
            ":1@sha256:abc",
            "@sha256",
            "@sha.256+x:abc",
            "@sha..256:abc",
            "@sha512:abc",
            ":1@sha512:abc",
            "@sha256:abc:def",
            "@:abc",
            ":1:2",
            "x",
            "/x",
            "@sha256:ab@c",
            ":a b",
        ];
        let mut checked = 0;
        for name in names {
            let mut values: Vec<String> = suffixes.iter().map(|s| format!("{name}{s}")).collect();
            // `.` in a name matches any character but a newline.
            values.push(name.replace('.', "x"));
            values.push(name.replace('.', "\n"));
            values.push(name[..name.len() - 1].to_owned());
            for value in &values {
                let pattern =
                    format!("^{name}(:[a-zA-Z0-9_.{{}}-]*)?(@sha256:[a-zA-Z0-9_.{{}}-]*)?$");
                let want = regex::Regex::new(&pattern).unwrap().is_match(value);
                assert_eq!(
                    plain_image_matches(value, name),
                    Some(want),
                    "{value:?} against {name:?}"
                );
                checked += 1;
            }
        }
        assert_eq!(checked, 5 * 22);
        assert_eq!(
            plain_image_matches("nginx", "ngin[x]"),
            None,
            "a class goes to the regex"
        );
    }
}
