//! The byte layout of a cached step result, shared by every store.
//!
//! `kiln-step-v0\n`, the blake3 digest of the body (32 bytes), then the body:
//! a JSON array of the step's output resources, each a JSON document string.
//! A reader recomputes the digest, so a truncated or altered entry is
//! noticed and treated as a miss.

const MAGIC: &[u8] = b"kiln-step-v0\n";

/// Encodes a step's output.
pub(crate) fn encode(resources: &[String]) -> Vec<u8> {
    let body = serde_json::to_vec(resources).expect("a list of strings always serialises");
    let mut out = Vec::with_capacity(MAGIC.len() + 32 + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(blake3::hash(&body).as_bytes());
    out.extend_from_slice(&body);
    out
}

/// Decodes and verifies an entry; `None` when it is damaged.
pub(crate) fn decode(bytes: &[u8]) -> Option<Vec<String>> {
    let rest = bytes.strip_prefix(MAGIC)?;
    if rest.len() < 32 {
        return None;
    }
    let (digest, body) = rest.split_at(32);
    if blake3::hash(body).as_bytes() != digest {
        return None;
    }
    serde_json::from_slice(body).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage() {
        let docs = vec![r#"{"kind":"A"}"#.to_owned(), "{}".to_owned()];
        let bytes = encode(&docs);
        assert_eq!(decode(&bytes), Some(docs));
        let mut bad = bytes.clone();
        let last = bad.len() - 2;
        bad[last] ^= 1;
        assert_eq!(decode(&bad), None);
        assert_eq!(decode(&bytes[..bytes.len() - 1]), None);
        assert_eq!(decode(b"nonsense"), None);
    }
}
