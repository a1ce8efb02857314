//! Decrypts SOPS files (age, PGP) inside the sandbox.
//!
//! The library decrypts files the way `sops --decrypt` does (sops 3.x): YAML, JSON, dotenv, INI
//! and binary files, AES-256-GCM values authenticated with their key path, the data key
//! unwrapped from age or PGP recipients (every identity or key given is tried; Shamir key
//! groups included), the MAC verified (`mac_only_encrypted` honoured), the encryption rules
//! (`encrypted_regex`, `unencrypted_regex`, `encrypted_suffix`, `unencrypted_suffix`,
//! `encrypted_comment_regex`, `unencrypted_comment_regex`) applied as sops applies them, and
//! the output printed byte for byte as sops prints it: YAML as go-yaml v3 writes it (indent 4,
//! comments kept, `sops` metadata removed), JSON tab-indented, dotenv and INI as sops' stores
//! write them, binary files as their raw bytes.
//!
//! - [`Keys::from_texts`] reads key files, told apart by content: age identity files
//!   (`AGE-SECRET-KEY-1…` lines and `#` comments) and armored PGP secret keys.
//! - [`decrypt_file`] decrypts a whole file; [`decrypt_convert`] prints it in another format.
//! - [`is_encrypted`] and [`decrypt_resource`] handle SOPS-encrypted Kubernetes manifests (a
//!   document with a top-level `sops` mapping, as Flux decrypts them).
//!
//! Errors ([`Error`]) never carry key material or plaintext; a missing or wrong key names the
//! recipients (age public keys, PGP fingerprints) that could decrypt the file.
//!
//! ```no_run
//! let key_file = std::fs::read("keys.txt")?;
//! let keys = kiln_plugin_sops::Keys::from_texts(&[&key_file])?;
//! let bytes = std::fs::read("secrets.enc.yaml")?;
//! let plain = kiln_plugin_sops::decrypt_file("secrets.enc.yaml", &bytes, None, &keys)?;
//! # let _ = plain;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Plugin
//!
//! Keys come from the host only, through the secrets `sops-age-keys` (age identity files,
//! possibly concatenated) and `sops-pgp-keys` (armored PGP secret keys, concatenated), read
//! when granted. The step config (`with:`):
//!
//! - `file`: a path relative to the source root (`/src`); when given, that file is decrypted
//!   and the step returns one resource `{"apiVersion": "kiln.dev/v1alpha1", "kind":
//!   "DecryptedFile", "metadata": {"name": FILE}, "format": FORMAT, "content": BASE64}` whose
//!   content is the exact output bytes;
//! - `format`: `yaml`, `json`, `dotenv`, `ini` or `binary` (from the extension by default).
//!
//! - `files`: a list of paths relative to the source root (`/`-separated), each a string or
//!   `{path: P, format: F}`; the input resources are handled as without it (below), then each
//!   file is decrypted as [`decrypt_file`] prints it and appended as `{"apiVersion":
//!   "kiln.dev/v1alpha1", "kind": "DecryptedFile", "metadata": {"name": PATH}, "path": PATH,
//!   "data": BASE64}` ([`files`]), for the overlay step to read instead of the encrypted file.
//!   The format comes from the name as sops picks it, except that a name sops would read as
//!   binary whose content carries dotenv, INI or YAML sops metadata is read in that format.
//! - `kustomization`: a kustomization directory relative to the application directory (`.`
//!   for itself); the encrypted files its generators and patches read, and those of the
//!   kustomizations it includes, are decrypted as `files` are ([`sources`], as Flux finds
//!   them); may be combined with `files`.
//!
//! Without `file`, the input resources are decrypted as Flux's kustomize-controller decrypts
//! the output of `kustomize build` ([`plugin::decrypt_resources`]): a resource with sops
//! metadata is decrypted (its `sops` key removed) without checking its MAC, which the build's
//! transformations break (see [`decrypt_resource`]); a Secret whose `data` values are whole sops
//! files has them decrypted in the format of their key ([`secret_data`]); a resource annotated
//! `kustomize.toolkit.fluxcd.io/decrypt: disabled` and all others pass through unchanged.
//! Encrypted resources without keys fail with a `bad_input` error naming the resource and the
//! recipients it needs. Files (`file`, `files`, `kustomization`) always have their MAC checked.

mod crypt;
pub mod files;
mod flatten;
mod formats;
mod keys;
mod metadata;
pub mod plugin;
pub mod secret_data;
mod shamir;
pub mod sources;
mod tree;

pub use keys::{Keys, KeysError};
pub use plugin::Sops;

use metadata::Metadata;
use tree::{Item, Value};

/// A file format sops can store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Json,
    Dotenv,
    Ini,
    Binary,
}

impl Format {
    /// The format sops picks from a file name's suffix (case-sensitive, as sops): `.yaml` or
    /// `.yml`, `.json`, `.env`, `.ini`, else binary.
    #[expect(
        clippy::case_sensitive_file_extension_comparisons,
        reason = "sops compares name suffixes exactly, `.env` included"
    )]
    pub fn from_path(name: &str) -> Self {
        if name.ends_with(".yaml") || name.ends_with(".yml") {
            Self::Yaml
        } else if name.ends_with(".json") {
            Self::Json
        } else if name.ends_with(".env") {
            Self::Dotenv
        } else if name.ends_with(".ini") {
            Self::Ini
        } else {
            Self::Binary
        }
    }

    /// Parses a format name as `sops --input-type` takes it.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "yaml" | "yml" => Self::Yaml,
            "json" => Self::Json,
            "dotenv" | "env" => Self::Dotenv,
            "ini" => Self::Ini,
            "binary" => Self::Binary,
            _ => return None,
        })
    }

    /// The format's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Yaml => "yaml",
            Self::Json => "json",
            Self::Dotenv => "dotenv",
            Self::Ini => "ini",
            Self::Binary => "binary",
        }
    }
}

/// Why a file or resource could not be decrypted. Messages never carry key material or
/// plaintext.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot parse the {format} file: {message}")]
    Parse {
        format: &'static str,
        message: String,
    },
    #[error("not a sops-encrypted file: no `sops` metadata found")]
    NotEncrypted,
    #[error("invalid sops metadata: {0}")]
    Metadata(String),
    #[error("unsupported sops file version `{0}` (this decrypter reads sops 2.x and 3.x files)")]
    UnsupportedVersion(String),
    #[error(
        "no key given can decrypt this file; it needs the private key of one of these recipients: {}",
        .recipients.join(", ")
    )]
    NoKeys { recipients: Vec<String> },
    #[error(
        "failed to get the data key: none of the given keys matches a recipient of this file \
         (wrong key?); it needs the private key of one of: {}",
        .recipients.join(", ")
    )]
    WrongKeys { recipients: Vec<String> },
    #[error("could not decrypt the value at `{path}`: {reason}")]
    Value { path: String, reason: String },
    #[error("MAC mismatch: the file has no MAC (sops refuses it without --ignore-mac)")]
    MacMissing,
    #[error("MAC mismatch: the stored MAC cannot be decrypted (tampered MAC or lastmodified)")]
    MacUndecryptable,
    #[error(
        "MAC mismatch: the MAC computed over the decrypted values differs from the stored one \
         (the file was tampered with)"
    )]
    MacMismatch,
    #[error("cannot write the decrypted output: {0}")]
    Output(String),
}

/// Decrypts a sops file as `sops --decrypt` prints it.
///
/// `name` gives the format by its extension when `format` is `None` (as sops does: `.yaml` or
/// `.yml`, `.json`, `.env`, `.ini`, else binary).
pub fn decrypt_file(
    name: &str,
    bytes: &[u8],
    format: Option<Format>,
    keys: &Keys,
) -> Result<Vec<u8>, Error> {
    let format = format.unwrap_or_else(|| Format::from_path(name));
    decrypt_convert(bytes, format, format, keys)
}

/// Decrypts a sops file stored in format `input` and prints the plaintext in format `output`,
/// as `sops --decrypt --input-type I --output-type O` does (a binary output is the `data`
/// value; dotenv and INI outputs need a flat or sectioned tree).
pub fn decrypt_convert(
    bytes: &[u8],
    input: Format,
    output: Format,
    keys: &Keys,
) -> Result<Vec<u8>, Error> {
    let docs = open_file(bytes, input, keys)?;
    match output {
        Format::Yaml => Ok(formats::yaml_emit::emit(&docs)),
        Format::Json => formats::json::emit(&docs[0]),
        Format::Dotenv => formats::dotenv::emit(&docs[0]),
        Format::Ini => formats::ini::emit(&docs[0]),
        Format::Binary => match docs[0].iter().find(|i| i.key_str() == Some("data")) {
            Some(Item {
                value: Value::Str(s),
                ..
            }) => Ok(s.clone().into_bytes()),
            Some(Item {
                value: Value::Bytes(b),
                ..
            }) => Ok(b.clone()),
            Some(_) => Err(Error::Output(
                "the binary `data` value is not a string".into(),
            )),
            None => Err(Error::Output("no binary `data` found in the file".into())),
        },
    }
}

/// Parses a sops file, decrypts its values and checks its MAC; returns its documents (at
/// least one).
fn open_file(bytes: &[u8], format: Format, keys: &Keys) -> Result<Vec<Vec<Item>>, Error> {
    let (mut docs, meta) = match format {
        Format::Yaml => {
            let mut docs = formats::yaml_parse::parse(bytes)?;
            let meta = extract_nested(&mut docs)?;
            (docs, meta)
        }
        Format::Json | Format::Binary => {
            let parsed = formats::json::parse(bytes).map_err(|e| match (format, e) {
                (Format::Binary, Error::Parse { message, .. }) => Error::Parse {
                    format: "binary",
                    message: format!(
                        "not a sops-encrypted binary file (expected sops' JSON envelope): {message}"
                    ),
                },
                (_, e) => e,
            })?;
            let mut docs = vec![parsed];
            let meta = extract_nested(&mut docs)?;
            (docs, meta)
        }
        Format::Dotenv => {
            let mut items = formats::dotenv::parse(bytes)?;
            let mut meta_items = Vec::new();
            items.retain_mut(|item| {
                match item
                    .key_str()
                    .and_then(|k| k.strip_prefix("sops_"))
                    .map(str::to_owned)
                {
                    Some(k) => {
                        meta_items.push(Item::new(
                            k,
                            std::mem::replace(&mut item.value, Value::Null),
                        ));
                        false
                    }
                    None => true,
                }
            });
            if meta_items.is_empty() {
                return Err(Error::NotEncrypted);
            }
            (
                vec![items],
                Metadata::parse(&flatten::unflatten(meta_items)?)?,
            )
        }
        Format::Ini => {
            let mut items = formats::ini::parse(bytes)?;
            let pos = items
                .iter()
                .position(|i| i.key_str() == Some("sops"))
                .ok_or(Error::NotEncrypted)?;
            let section = items.remove(pos);
            let Value::Map(flat) = section.value else {
                return Err(Error::NotEncrypted);
            };
            let flat = flat
                .into_iter()
                .map(|mut i| {
                    if let Value::Str(s) = &i.value {
                        i.value = Value::Str(s.replace("\\n", "\n"));
                    }
                    i
                })
                .collect();
            (vec![items], Metadata::parse(&flatten::unflatten(flat)?)?)
        }
    };
    if docs.is_empty() {
        docs.push(Vec::new());
    }
    decrypt_branches(&mut docs, &meta, keys)?;
    Ok(docs)
}

/// Takes the `sops` mapping out of every document (metadata from the first one).
fn extract_nested(docs: &mut [Vec<Item>]) -> Result<Metadata, Error> {
    let mut meta = None;
    for (n, doc) in docs.iter_mut().enumerate() {
        while let Some(pos) = doc.iter().position(|i| i.key_str() == Some("sops")) {
            let item = doc.remove(pos);
            if n == 0 {
                if meta.is_some() {
                    return Err(Error::Metadata("duplicate `sops` entry".into()));
                }
                match item.value {
                    Value::Map(m) => meta = Some(m),
                    _ => return Err(Error::Metadata("the `sops` entry is not a mapping".into())),
                }
            }
        }
    }
    Metadata::parse(&meta.ok_or(Error::NotEncrypted)?)
}

fn decrypt_branches(docs: &mut [Vec<Item>], meta: &Metadata, keys: &Keys) -> Result<(), Error> {
    let key = meta.data_key(keys)?;
    let mac = crypt::decrypt_tree(docs, meta, &key)?;
    crypt::verify_mac(meta, &key, &mac)
}

/// Whether a manifest is SOPS-encrypted: it has a top-level `sops` mapping holding a `mac` or
/// a `version`.
pub fn is_encrypted(doc: &serde_json::Value) -> bool {
    doc.get("sops")
        .and_then(serde_json::Value::as_object)
        .is_some_and(|m| m.contains_key("mac") || m.contains_key("version"))
}

/// The recipients (age public keys, PGP fingerprints, other key kinds) that can decrypt an
/// encrypted manifest, for error messages.
pub fn resource_recipients(doc: &serde_json::Value) -> Vec<String> {
    let Value::Map(items) = formats::json::from_json(doc) else {
        return Vec::new();
    };
    match items.into_iter().find(|i| i.key_str() == Some("sops")) {
        Some(Item {
            value: Value::Map(m),
            ..
        }) => Metadata::parse(&m)
            .map(|m| m.recipients())
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// Decrypts a SOPS-encrypted Kubernetes manifest (a document with a `sops` key, as Flux
/// decrypts them) and returns it without the `sops` key.
///
/// As Flux's kustomize-controller, the MAC is not verified: the manifest has been through a
/// build that may set its namespace, prefix its name, add labels or reorder its fields, and the
/// MAC covers every value in document order (unless `mac_only_encrypted`). Each encrypted value
/// is still authenticated by AES-GCM with its key path, so a changed or moved ciphertext fails.
pub fn decrypt_resource(doc: &serde_json::Value, keys: &Keys) -> Result<serde_json::Value, Error> {
    let Value::Map(items) = formats::json::from_json(doc) else {
        return Err(Error::NotEncrypted);
    };
    let mut docs = vec![items];
    let meta = extract_nested(&mut docs)?;
    let key = meta.data_key(keys)?;
    crypt::decrypt_tree(&mut docs, &meta, &key)?;
    Ok(formats::json::to_json(&Value::Map(docs.remove(0))))
}

#[cfg(test)]
mod tests;
