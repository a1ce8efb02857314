//! The byte layout of a cached step result, shared by every store.
//!
//! `kiln-step-v1\n`, the step key the entry was written for (32 bytes), the
//! blake3 hash of the body keyed by that step key (32 bytes), then the body:
//! a JSON array of the step's output resources, each a JSON document string.
//! A reader checks the key against the one it looked up and recomputes the
//! keyed hash, so a truncated or altered entry, or an entry copied over
//! another's, is noticed and treated as a miss.

use super::StepKey;

const MAGIC: &[u8] = b"kiln-step-v1\n";

/// Encodes the output of the step with `key`.
pub(crate) fn encode(key: &StepKey, resources: &[String]) -> Vec<u8> {
    let body = serde_json::to_vec(resources).expect("a list of strings always serialises");
    let mut out = Vec::with_capacity(MAGIC.len() + 64 + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(blake3::keyed_hash(key.as_bytes(), &body).as_bytes());
    out.extend_from_slice(&body);
    out
}

/// Decodes and verifies an entry stored under `key`; `None` when it is
/// damaged or was written for another key.
pub(crate) fn decode(key: &StepKey, bytes: &[u8]) -> Option<Vec<String>> {
    let (written_for, body) = verified(bytes)?;
    if written_for != key.as_bytes() {
        tracing::warn!(key = %key, "a render cache entry was written for another key; ignoring it");
        return None;
    }
    serde_json::from_slice(body).ok()
}

/// The key an intact entry was written for.
pub(crate) fn written_for(bytes: &[u8]) -> Option<&[u8; 32]> {
    verified(bytes).map(|(key, _)| key)
}

/// The key and body of an intact entry.
fn verified(bytes: &[u8]) -> Option<(&[u8; 32], &[u8])> {
    let rest = bytes.strip_prefix(MAGIC)?;
    let (key, rest) = rest.split_first_chunk::<32>()?;
    let (digest, body) = rest.split_first_chunk::<32>()?;
    (blake3::keyed_hash(key, body) == blake3::Hash::from_bytes(*digest)).then_some((key, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> StepKey {
        StepKey::compute(
            &blake3::hash(&[n]),
            &serde_json::json!({}),
            &serde_json::json!({}),
            &[],
            &blake3::hash(b""),
        )
    }

    #[test]
    fn round_trip_and_damage() {
        let docs = vec![r#"{"kind":"A"}"#.to_owned(), "{}".to_owned()];
        let bytes = encode(&key(1), &docs);
        assert_eq!(decode(&key(1), &bytes), Some(docs));
        let mut bad = bytes.clone();
        let last = bad.len() - 2;
        bad[last] ^= 1;
        assert_eq!(decode(&key(1), &bad), None);
        assert_eq!(decode(&key(1), &bytes[..bytes.len() - 1]), None);
        assert_eq!(decode(&key(1), b"nonsense"), None);
    }

    /// Regression test for issue #12: an entry copied over another key's
    /// was served as that key's output.
    #[test]
    fn an_entry_is_bound_to_its_key() {
        let docs = vec![r#"{"kind":"Evil"}"#.to_owned()];
        let bytes = encode(&key(1), &docs);
        assert_eq!(decode(&key(2), &bytes), None, "copied to another key");
        assert_eq!(written_for(&bytes), Some(key(1).as_bytes()));
        // Rewriting the key in the header breaks the keyed hash.
        let mut relabelled = bytes.clone();
        relabelled[MAGIC.len()..MAGIC.len() + 32].copy_from_slice(key(2).as_bytes());
        assert_eq!(decode(&key(2), &relabelled), None, "relabelled");
        assert_eq!(written_for(&relabelled), None);
    }
}
