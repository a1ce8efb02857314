//! Flux's second case for manifests: a Secret without sops metadata of its own whose `data`
//! values are whole sops-encrypted files (a generator read them encrypted). Each such value is
//! decrypted and written in the format of its key's name, as Flux's kustomize-controller does
//! after `kustomize build`.

use base64::Engine as _;
use serde_json::Value;

use crate::{Format, Keys, decrypt_convert};

/// The annotation with which Flux turns decryption off for one resource (value `disabled`).
pub const DECRYPT_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/decrypt";

/// Whether the resource asks not to be decrypted (`kustomize.toolkit.fluxcd.io/decrypt:
/// disabled`, any case).
pub fn decryption_disabled(doc: &Value) -> bool {
    doc.pointer("/metadata/annotations")
        .and_then(|a| a.get(DECRYPT_ANNOTATION))
        .and_then(Value::as_str)
        .is_some_and(|v| v.eq_ignore_ascii_case("disabled"))
}

/// The format whose sops metadata `bytes` carry (the markers Flux looks for), if any.
pub fn marker_format(bytes: &[u8]) -> Option<Format> {
    let has = |marker: &[u8]| bytes.windows(marker.len()).any(|w| w == marker);
    [
        (&b"\"mac\": \"ENC["[..], Format::Json),
        (b"sops_mac=ENC[", Format::Dotenv),
        (b"[sops]", Format::Ini),
        (b"mac: ENC[", Format::Yaml),
    ]
    .into_iter()
    .find_map(|(marker, format)| has(marker).then_some(format))
}

/// The format a Secret key's value is written in: from the key's name, a
/// `.dockerconfigjson` suffix being JSON.
pub fn key_format(key: &str) -> Format {
    if key.ends_with(".dockerconfigjson") {
        Format::Json
    } else {
        Format::from_path(key)
    }
}

/// A `data` value that could not be decrypted.
#[derive(Debug, thiserror::Error)]
#[error("cannot decrypt the value of `data.{key}`: {source}")]
pub struct Error {
    pub key: String,
    #[source]
    pub source: crate::Error,
}

/// Whether any `data` value of a Secret is a sops-encrypted file.
pub fn has_encrypted_data(doc: &Value) -> bool {
    doc.get("kind").and_then(Value::as_str) == Some("Secret")
        && doc
            .get("data")
            .and_then(Value::as_object)
            .is_some_and(|data| {
                data.values()
                    .any(|v| decode(v).is_some_and(|b| marker_format(&b).is_some()))
            })
}

fn decode(v: &Value) -> Option<Vec<u8>> {
    let text: String = v
        .as_str()?
        .chars()
        .filter(|c| *c != '\n' && *c != '\r')
        .collect();
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

/// Decrypts the `data` values of a Secret that are sops-encrypted files; values that are not
/// (or not base64) are left alone.
pub fn decrypt_secret_data(mut doc: Value, keys: &Keys) -> Result<Value, Error> {
    let Some(data) = doc.get_mut("data").and_then(Value::as_object_mut) else {
        return Ok(doc);
    };
    for (key, value) in data.iter_mut() {
        let Some(bytes) = decode(value) else { continue };
        let Some(input) = marker_format(&bytes) else {
            continue;
        };
        let plain =
            decrypt_convert(&bytes, input, key_format(key), keys).map_err(|source| Error {
                key: key.clone(),
                source,
            })?;
        *value = Value::String(base64::engine::general_purpose::STANDARD.encode(plain));
    }
    Ok(doc)
}
