//! The byte layout of a cached step result, shared by every store.
//!
//! `kiln-step-v2\n`, the step key the entry was written for (32 bytes), the
//! blake3 hash of the body keyed by that step key (32 bytes), then the body:
//! a JSON object with the step's output `resources` (each a JSON document
//! string) and the `notes` the plugin had shown (log lines, warnings), to
//! show again on a hit. A reader checks the key against the one it looked
//! up and recomputes the keyed hash, so a truncated or altered entry, or an
//! entry copied over another's, is noticed and treated as a miss. An entry
//! of an older layout is a plain miss.

use super::StepKey;
use crate::runtime::Note;

const MAGIC: &[u8] = b"kiln-step-v2\n";

/// What older kiln versions wrote: no notes to show again, so never served.
const OLD_MAGIC: &[u8] = b"kiln-step-v1\n";

/// A step's result as the cache keeps it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Cached {
    /// The output resources, one JSON document each.
    pub resources: Vec<String>,
    /// What the plugin had shown while it ran, in order.
    pub notes: Vec<Note>,
}

/// Encodes the output of the step with `key`.
pub(crate) fn encode(key: &StepKey, cached: &Cached) -> Vec<u8> {
    let body = serde_json::to_vec(cached).expect("strings and notes always serialise");
    let mut out = Vec::with_capacity(MAGIC.len() + 64 + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(blake3::keyed_hash(key.as_bytes(), &body).as_bytes());
    out.extend_from_slice(&body);
    out
}

/// What reading an entry found.
pub(crate) enum Decoded {
    /// An intact entry for the key looked up.
    Hit(Cached),
    /// An entry of an older layout: a miss, nothing wrong with it.
    Old,
    /// Damaged, or written for another key.
    Bad,
}

/// Decodes and verifies an entry stored under `key`.
pub(crate) fn decode(key: &StepKey, bytes: &[u8]) -> Decoded {
    if bytes.starts_with(OLD_MAGIC) {
        return Decoded::Old;
    }
    let Some((written_for, body)) = verified(bytes) else {
        return Decoded::Bad;
    };
    if written_for != key.as_bytes() {
        tracing::warn!(key = %key, "a render cache entry was written for another key; ignoring it");
        return Decoded::Bad;
    }
    serde_json::from_slice(body).map_or(Decoded::Bad, Decoded::Hit)
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

    fn hit(decoded: Decoded) -> Option<Cached> {
        match decoded {
            Decoded::Hit(c) => Some(c),
            Decoded::Old | Decoded::Bad => None,
        }
    }

    fn cached(docs: &[&str]) -> Cached {
        Cached {
            resources: docs.iter().map(|d| (*d).to_owned()).collect(),
            notes: vec![Note {
                level: crate::runtime::NoteLevel::Warn,
                text: "careful".into(),
            }],
        }
    }

    #[test]
    fn round_trip_and_damage() {
        let docs = cached(&[r#"{"kind":"A"}"#, "{}"]);
        let bytes = encode(&key(1), &docs);
        assert_eq!(hit(decode(&key(1), &bytes)), Some(docs));
        let mut bad = bytes.clone();
        let last = bad.len() - 2;
        bad[last] ^= 1;
        assert!(matches!(decode(&key(1), &bad), Decoded::Bad));
        assert!(matches!(
            decode(&key(1), &bytes[..bytes.len() - 1]),
            Decoded::Bad
        ));
        assert!(matches!(decode(&key(1), b"nonsense"), Decoded::Bad));
        assert!(matches!(
            decode(&key(1), b"kiln-step-v1\nwhatever"),
            Decoded::Old
        ));
    }

    /// Regression test for issue #12: an entry copied over another key's
    /// was served as that key's output.
    #[test]
    fn an_entry_is_bound_to_its_key() {
        let docs = cached(&[r#"{"kind":"Evil"}"#]);
        let bytes = encode(&key(1), &docs);
        assert!(
            matches!(decode(&key(2), &bytes), Decoded::Bad),
            "copied to another key"
        );
        assert_eq!(written_for(&bytes), Some(key(1).as_bytes()));
        // Rewriting the key in the header breaks the keyed hash.
        let mut relabelled = bytes.clone();
        relabelled[MAGIC.len()..MAGIC.len() + 32].copy_from_slice(key(2).as_bytes());
        assert!(
            matches!(decode(&key(2), &relabelled), Decoded::Bad),
            "relabelled"
        );
        assert_eq!(written_for(&relabelled), None);
    }
}
