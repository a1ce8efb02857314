//! File mode: decrypts files under the source root into `DecryptedFile` documents, which the
//! overlay step reads in place of the encrypted files (as Flux decrypts generator sources before
//! `kustomize build`).

use base64::Engine as _;
use serde_json::{Value, json};

use crate::{Format, Keys, decrypt_file};

/// `apiVersion` of a decrypted file document.
pub const API_VERSION: &str = "kiln.dev/v1alpha1";
/// `kind` of a decrypted file document.
pub const KIND: &str = "DecryptedFile";

/// One entry of the step's `files` list: a path, or a path with the format to read it in.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(untagged)]
pub enum FileEntry {
    /// A path relative to the source root; the format comes from its name.
    Path(String),
    /// A path with an explicit format (`yaml`, `json`, `dotenv`, `ini`, `binary`).
    WithFormat {
        path: String,
        #[serde(default)]
        format: Option<String>,
    },
}

impl FileEntry {
    /// The path as written.
    pub fn path(&self) -> &str {
        match self {
            Self::Path(p) | Self::WithFormat { path: p, .. } => p,
        }
    }

    fn format(&self) -> Option<&str> {
        match self {
            Self::Path(_) => None,
            Self::WithFormat { format, .. } => format.as_deref(),
        }
    }
}

/// Why a file of the `files` list could not be decrypted.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "`files` entry `{0}` is not a relative path inside the source root; give it relative to the repository top, with `/` separators"
    )]
    Path(String),
    #[error(
        "unknown sops format `{format}` for {file}; use one of yaml, json, dotenv, ini, binary"
    )]
    Format { file: String, format: String },
    #[error("cannot read {file}: {message}")]
    Read { file: String, message: String },
    #[error("cannot decrypt {file}: {source}")]
    Decrypt {
        file: String,
        #[source]
        source: crate::Error,
    },
}

impl Error {
    /// The file the error is about, as given in the config (normalised when it could be).
    pub fn file(&self) -> &str {
        match self {
            Self::Path(file)
            | Self::Format { file, .. }
            | Self::Read { file, .. }
            | Self::Decrypt { file, .. } => file,
        }
    }
}

/// Normalises a `/`-separated relative path: drops empty and `.` parts, resolves `..`; `None`
/// when it is absolute, empty or leaves the root.
pub fn normalize(path: &str) -> Option<String> {
    normalize_dir(path).filter(|p| !p.is_empty())
}

/// As [`normalize`], but the root itself is allowed (as the empty string).
pub fn normalize_dir(path: &str) -> Option<String> {
    if path.starts_with('/') || path.contains('\\') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// The format of an encrypted file: the one given, else from its name as sops picks it; a
/// name sops reads as binary whose content is not sops' JSON envelope is recognised by its
/// metadata markers instead (`sops_mac=` dotenv, a `[sops]` INI section, a YAML `sops:` map),
/// as Flux recognises encrypted generator sources.
pub fn format_of(path: &str, bytes: &[u8], given: Option<Format>) -> Format {
    if let Some(f) = given {
        return f;
    }
    let by_name = Format::from_path(path);
    if by_name != Format::Binary || bytes.trim_ascii_start().starts_with(b"{") {
        return by_name;
    }
    let has = |marker: &[u8]| bytes.windows(marker.len()).any(|w| w == marker);
    if has(b"sops_mac=") || has(b"sops_version=") {
        Format::Dotenv
    } else if has(b"[sops]") {
        Format::Ini
    } else if bytes.starts_with(b"sops:") || has(b"\nsops:") {
        Format::Yaml
    } else {
        Format::Binary
    }
}

/// Decrypts one file under `root` into a `DecryptedFile` document.
pub fn decrypt_entry(
    root: &std::path::Path,
    entry: &FileEntry,
    keys: &Keys,
) -> Result<Value, Error> {
    let given = entry.path();
    let path = normalize(given).ok_or_else(|| Error::Path(given.to_owned()))?;
    let format = entry
        .format()
        .map(|f| {
            Format::from_name(f).ok_or_else(|| Error::Format {
                file: path.clone(),
                format: f.to_owned(),
            })
        })
        .transpose()?;
    let bytes = std::fs::read(root.join(&path)).map_err(|e| Error::Read {
        file: path.clone(),
        message: e.to_string(),
    })?;
    let format = format_of(&path, &bytes, format);
    let plain =
        decrypt_file(&path, &bytes, Some(format), keys).map_err(|source| Error::Decrypt {
            file: path.clone(),
            source,
        })?;
    Ok(json!({
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": path},
        "path": path,
        "data": base64::engine::general_purpose::STANDARD.encode(plain),
    }))
}

/// Decrypts every entry, in order; the first failure stops.
pub fn decrypt_files(
    root: &std::path::Path,
    entries: &[FileEntry],
    keys: &Keys,
) -> Result<Vec<Value>, Error> {
    entries
        .iter()
        .map(|e| decrypt_entry(root, e, keys))
        .collect()
}
