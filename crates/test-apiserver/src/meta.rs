//! Metadata chores shared by the writes.

use serde_json::Value;

use crate::discovery::ResourceType;

/// Everything but `metadata` (and `status` where it is a subresource): changes here bump
/// `generation`.
pub(crate) fn spec_part(rt: &ResourceType, obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Some(map) = v.as_object_mut() {
        map.shift_remove("metadata");
        if rt.status_subresource {
            map.shift_remove("status");
        }
    }
    v
}

/// Drops empty `labels`, `annotations`, `finalizers` and `ownerReferences`, as the real server's
/// typed `ObjectMeta` does.
pub(crate) fn normalize_meta(obj: &mut Value) {
    if let Some(meta) = obj["metadata"].as_object_mut() {
        for field in ["labels", "annotations", "finalizers", "ownerReferences"] {
            let empty = meta.get(field).is_some_and(|v| {
                v.is_null()
                    || v.as_object().is_some_and(serde_json::Map::is_empty)
                    || v.as_array().is_some_and(Vec::is_empty)
            });
            if empty {
                meta.shift_remove(field);
            }
        }
    }
}

/// The object without `managedFields` timestamps, to tell no-op writes.
pub(crate) fn without_times(obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Some(list) = v["metadata"]["managedFields"].as_array_mut() {
        for e in list {
            if let Some(e) = e.as_object_mut() {
                e.shift_remove("time");
            }
        }
    }
    v
}

/// Moves a Secret's write-only `stringData` into `data`, base64-encoded, as the real server does.
pub(crate) fn fold_string_data(rt: &ResourceType, obj: &mut Value) {
    if !(rt.builtin && rt.kind == "Secret") {
        return;
    }
    let Some(Value::Object(strings)) = obj
        .as_object_mut()
        .and_then(|o| o.shift_remove("stringData"))
    else {
        return;
    };
    if !obj["data"].is_object() {
        obj["data"] = Value::Object(serde_json::Map::new());
    }
    for (key, value) in strings {
        let text = value
            .as_str()
            .map_or_else(|| value.to_string(), str::to_owned);
        obj["data"][key.as_str()] = Value::String(base64(text.as_bytes()));
    }
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }
}
