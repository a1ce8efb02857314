//! The sops step's `DecryptedFile` documents: decrypted copies of files under
//! the source root, which the build reads instead of the encrypted files.
//!
//! A document is `{apiVersion: kiln.dev/v1alpha1, kind: DecryptedFile,
//! metadata: {name}, path, data}`: `path` is relative to the source root,
//! `/`-separated; `data` is the plaintext in standard base64.

use std::collections::BTreeMap;
use std::path::Path;
use std::rc::Rc;

use base64::Engine as _;
use serde_json::Value;

use crate::loader::{Layer, clean};

const API_VERSION: &str = "kiln.dev/v1alpha1";
const KIND: &str = "DecryptedFile";

/// Why the `DecryptedFile` documents of the input cannot be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("DecryptedFile {name} has no string `path`")]
    NoPath { name: String },
    #[error("DecryptedFile {name}: path '{path}' is not a relative path inside the source root")]
    Outside { name: String, path: String },
    #[error("DecryptedFile {name}: `data` is not standard base64 text")]
    Data { name: String },
    #[error("two DecryptedFile documents give '{path}'")]
    Duplicate { path: String },
}

/// Whether an input document is a decrypted file.
pub(crate) fn is_decrypted_file(doc: &Value) -> bool {
    doc.get("apiVersion").and_then(Value::as_str) == Some(API_VERSION)
        && doc.get("kind").and_then(Value::as_str) == Some(KIND)
}

/// Takes the decrypted files out of `inputs`; returns the other inputs, in
/// order, and the layer of decrypted files under `root`.
pub(crate) fn split(root: &Path, inputs: Vec<Value>) -> Result<(Vec<Value>, Layer), Error> {
    let root = clean(root);
    let mut layer = BTreeMap::new();
    let mut rest = Vec::with_capacity(inputs.len());
    for doc in inputs {
        if !is_decrypted_file(&doc) {
            rest.push(doc);
            continue;
        }
        let name = doc
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("(unnamed)")
            .to_owned();
        let path = doc
            .get("path")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::NoPath { name: name.clone() })?;
        let full = clean(&root.join(path));
        if path.starts_with('/') || path.contains('\\') || !full.starts_with(&root) || full == root
        {
            return Err(Error::Outside {
                name,
                path: path.to_owned(),
            });
        }
        let data = doc.get("data").and_then(Value::as_str).unwrap_or_default();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .map_err(|_| Error::Data { name })?;
        if layer.insert(full, bytes).is_some() {
            return Err(Error::Duplicate {
                path: path.to_owned(),
            });
        }
    }
    Ok((rest, Rc::new(layer)))
}
