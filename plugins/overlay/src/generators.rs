//! `ConfigMap` and Secret generators, and the content hash kustomize appends
//! to generated names.

use std::fmt::Write as _;
use std::path::Path;

use base64::Engine as _;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::kustomization::{GeneratorArgs, GeneratorOptions};
use crate::loader::Loader;
use crate::res::Res;

/// Why a generator could not make its object.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("a configmap must have a name")]
    NoName,
    #[error("invalid literal source {0}, expected key=value")]
    Literal(String),
    #[error("source {0:?} key name or file path contains '='")]
    FileSource(String),
    #[error("missing key name for file path in source {0:?}")]
    MissingKey(String),
    #[error("configmap {0} illegally repeats the key `{1}`")]
    Repeated(String, String),
    #[error("env file {0}: line {1} is not valid utf8")]
    Utf8(String, usize),
    #[error(transparent)]
    Load(#[from] crate::loader::Error),
}

/// Global options folded into a generator's own, local values first.
pub(crate) fn merge_options(
    local: Option<&GeneratorOptions>,
    global: Option<&GeneratorOptions>,
) -> GeneratorOptions {
    let mut out = local.cloned().unwrap_or_default();
    if let Some(g) = global {
        for (k, v) in &g.labels {
            if !out.labels.iter().any(|(lk, _)| lk == k) {
                out.labels.push((k.clone(), v.clone()));
            }
        }
        for (k, v) in &g.annotations {
            if !out.annotations.iter().any(|(lk, _)| lk == k) {
                out.annotations.push((k.clone(), v.clone()));
            }
        }
        out.disable_name_suffix_hash |= g.disable_name_suffix_hash;
        out.immutable |= g.immutable;
    }
    out
}

fn parse_literal(s: &str) -> Result<(String, String), Error> {
    let Some((k, v)) = s.split_once('=') else {
        return Err(Error::Literal(s.to_owned()));
    };
    if k.is_empty() {
        return Err(Error::Literal(s.to_owned()));
    }
    let v = if v.len() >= 2 && (v.starts_with('"') || v.starts_with('\'')) && v.ends_with(&v[..1]) {
        &v[1..v.len() - 1]
    } else {
        v
    };
    Ok((k.to_owned(), v.to_owned()))
}

fn parse_file_source(s: &str) -> Result<(String, String), Error> {
    match s.matches('=').count() {
        0 => {
            let base = Path::new(s)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            Ok((base, s.to_owned()))
        }
        1 if s.starts_with('=') => Err(Error::MissingKey(s.to_owned())),
        1 if s.ends_with('=') => Err(Error::MissingKey(s.to_owned())),
        1 => {
            let (k, p) = s.split_once('=').expect("one separator counted");
            Ok((k.to_owned(), p.to_owned()))
        }
        _ => Err(Error::FileSource(s.to_owned())),
    }
}

fn env_pairs(text: &[u8], file: &str) -> Result<Vec<(String, String)>, Error> {
    let mut out = Vec::new();
    let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let line = std::str::from_utf8(line).map_err(|_| Error::Utf8(file.to_owned(), i + 1))?;
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (k, v) = line.split_once('=').unwrap_or((line, ""));
        if k.is_empty() {
            continue;
        }
        out.push((k.to_owned(), v.to_owned()));
    }
    Ok(out)
}

/// Makes one `ConfigMap` or Secret from generator arguments.
pub(crate) fn generate(
    ldr: &Loader,
    kind: &str,
    args: &GeneratorArgs,
    options: &GeneratorOptions,
) -> Result<Res, Error> {
    if args.name.is_empty() {
        return Err(Error::NoName);
    }
    let mut pairs: Vec<(String, Vec<u8>)> = Vec::new();
    for env in &args.envs {
        let text = ldr.read(env)?;
        pairs.extend(
            env_pairs(&text, env)?
                .into_iter()
                .map(|(k, v)| (k, v.into_bytes())),
        );
    }
    for lit in &args.literals {
        let (k, v) = parse_literal(lit)?;
        pairs.push((k, v.into_bytes()));
    }
    for f in &args.files {
        let (k, p) = parse_file_source(f)?;
        pairs.push((k, ldr.read(&p)?));
    }
    let mut seen = std::collections::BTreeMap::new();
    for (k, v) in pairs {
        if seen.insert(k.clone(), v).is_some() {
            return Err(Error::Repeated(args.name.clone(), k));
        }
    }
    let mut obj = Map::new();
    obj.insert("apiVersion".into(), json!("v1"));
    obj.insert("kind".into(), json!(kind));
    let mut meta = Map::new();
    meta.insert("name".into(), json!(args.name));
    if !args.namespace.is_empty() {
        meta.insert("namespace".into(), json!(args.namespace));
    }
    obj.insert("metadata".into(), Value::Object(meta));
    if kind == "Secret" {
        let t = if args.type_.is_empty() {
            "Opaque"
        } else {
            &args.type_
        };
        obj.insert("type".into(), json!(t));
        // A Secret always has `data`, `{}` when the generator has none.
        let data: Map<String, Value> = seen
            .iter()
            .map(|(k, v)| (k.clone(), json!(wrapped_base64(v))))
            .collect();
        obj.insert("data".into(), Value::Object(data));
    } else {
        let mut data = Map::new();
        let mut binary = Map::new();
        for (k, v) in &seen {
            match std::str::from_utf8(v) {
                Ok(s) => data.insert(k.clone(), json!(s)),
                Err(_) => binary.insert(k.clone(), json!(wrapped_base64(v))),
            };
        }
        if !data.is_empty() {
            obj.insert("data".into(), Value::Object(data));
        }
        if !binary.is_empty() {
            obj.insert("binaryData".into(), Value::Object(binary));
        }
    }
    let mut res = Res::new(Value::Object(obj));
    let mut sorted_labels = options.labels.clone();
    sorted_labels.sort();
    let mut labels = Map::new();
    for (k, v) in sorted_labels {
        labels.insert(k, json!(v));
    }
    res.set_string_map("labels", labels);
    let mut sorted_annos = options.annotations.clone();
    sorted_annos.sort();
    let mut annos = Map::new();
    for (k, v) in sorted_annos {
        annos.insert(k, json!(v));
    }
    res.set_string_map("annotations", annos);
    if options.immutable
        && let Some(o) = res.obj.as_object_mut()
    {
        o.insert("immutable".into(), json!(true));
    }
    res.behavior = Some(if args.behavior.is_empty() {
        "create".into()
    } else {
        args.behavior.clone()
    });
    res.needs_hash = !options.disable_name_suffix_hash;
    Ok(res)
}

/// Base64 as kustomize writes generated data: lines of 70 characters,
/// each ended by a newline, once the text is longer than one line.
fn wrapped_base64(v: &[u8]) -> String {
    let enc = base64::engine::general_purpose::STANDARD.encode(v);
    if enc.len() < 70 {
        return enc;
    }
    let mut out = String::with_capacity(enc.len() + enc.len() / 70 + 1);
    for chunk in enc.as_bytes().chunks(70) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ascii"));
        out.push('\n');
    }
    out
}

/// Go's `json.Marshal` of a string: HTML-safe escapes included.
fn go_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                };
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Go's `json.Marshal` of a generic value: map keys sorted.
fn go_json(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => go_json_string(s, out),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json(x, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json_string(k, out);
                out.push(':');
                go_json(&m[k], out);
            }
            out.push('}');
        }
    }
}

/// Field values as the hasher reads them: scalars as text, maps as
/// themselves, missing as the empty string.
fn hash_field(obj: &Value, path: &[&str]) -> Value {
    let mut cur = obj;
    for p in path {
        match cur.get(p) {
            Some(v) => cur = v,
            None => return json!(""),
        }
    }
    match cur {
        Value::Object(_) => cur.clone(),
        Value::Null => json!(""),
        Value::Array(_) => Value::Null,
        other => json!(crate::res::scalar_text(other).unwrap_or_default()),
    }
}

/// The 10-character name suffix kustomize derives from an object's content.
pub(crate) fn content_hash(obj: &Value) -> String {
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
    let mut encoded = String::new();
    match kind {
        "ConfigMap" => {
            let mut m = Map::new();
            m.insert("kind".into(), json!("ConfigMap"));
            // kustomize looks the name up as one field called `metadata/name`, so it is always empty.
            m.insert("name".into(), json!(""));
            m.insert("data".into(), hash_field(obj, &["data"]));
            let bd = hash_field(obj, &["binaryData"]);
            if bd.is_object() {
                m.insert("binaryData".into(), bd);
            }
            go_json(&Value::Object(m), &mut encoded);
        }
        "Secret" => {
            let mut m = Map::new();
            m.insert("kind".into(), json!("Secret"));
            m.insert("type".into(), hash_field(obj, &["type"]));
            // kustomize looks the name up as one field called `metadata/name`, so it is always empty.
            m.insert("name".into(), json!(""));
            m.insert("data".into(), hash_field(obj, &["data"]));
            let sd = hash_field(obj, &["stringData"]);
            if sd.is_object() {
                m.insert("stringData".into(), sd);
            }
            go_json(&Value::Object(m), &mut encoded);
        }
        _ => go_json(obj, &mut encoded),
    }
    let digest = Sha256::digest(encoded.as_bytes());
    let hex = digest.iter().fold(String::new(), |mut acc, b| {
        let _ = write!(acc, "{b:02x}");
        acc
    });
    hex[..10]
        .chars()
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_of_a_known_configmap_matches_kustomize() {
        // kustomize v5.5 names an empty ConfigMap `x-6ct58987ht`.
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}});
        assert_eq!(content_hash(&cm), "6ct58987ht");
    }

    #[test]
    fn literal_quotes_are_removed() {
        assert_eq!(
            parse_literal("a=\"b c\"").expect("valid"),
            ("a".into(), "b c".into())
        );
        assert!(parse_literal("=x").is_err());
    }
}
