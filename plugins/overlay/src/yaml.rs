//! YAML parsing as kustomize reads files: like the project codec, except
//! that a repeated mapping key keeps its last value instead of failing.

use kiln_sdk::yaml::Error;
use serde_json::Value;

fn lenient(text: &str) -> Option<Vec<Value>> {
    let options = serde_saphyr::options! { duplicate_keys: serde_saphyr::options::DuplicateKeyPolicy::LastWins };
    serde_saphyr::from_multiple_with_options::<Value>(text, options).ok()
}

/// Parses a stream; empty and `null` documents are dropped.
pub(crate) fn stream(text: &str, file: &str) -> Result<Vec<Value>, Error> {
    match kiln_sdk::yaml::parse_stream(text, file) {
        Ok(docs) => Ok(docs),
        Err(e) if e.message.contains("duplicate") => match lenient(text) {
            Some(docs) => Ok(docs.into_iter().filter(|d| !d.is_null()).collect()),
            None => Err(e),
        },
        Err(e) => Err(e),
    }
}

/// Parses one document (an empty text gives `null`).
pub(crate) fn one(text: &str, file: &str) -> Result<Value, Error> {
    match kiln_sdk::yaml::parse_one(text, file) {
        Ok(doc) => Ok(doc),
        Err(e) if e.message.contains("duplicate") => match lenient(text) {
            Some(mut docs) if docs.len() == 1 => Ok(docs.remove(0)),
            _ => Err(e),
        },
        Err(e) => Err(e),
    }
}
