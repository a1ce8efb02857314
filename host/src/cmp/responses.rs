//! Answers kept in memory: an unchanged repository streamed again for the
//! same app and environment gets the same manifests (kiln renders
//! deterministically), so its tarball is only read and checked.

use std::collections::HashMap;
use std::sync::Arc;

use kiln_cmp_proto::{ManifestRequestMetadata, ManifestResponse};

/// The key of a request: blake3 of the tarball's checksum, the app path
/// and the environment entries (in any order).
pub fn key(metadata: &ManifestRequestMetadata) -> blake3::Hash {
    let mut env: Vec<(&str, &str)> = metadata
        .env
        .iter()
        .map(|e| (e.name.as_str(), e.value.as_str()))
        .collect();
    env.sort_unstable();
    let mut h = blake3::Hasher::new();
    h.update(b"kiln-cmp-response-v1\0");
    for part in [
        metadata.checksum.trim().to_ascii_lowercase().as_str(),
        metadata.app_rel_path.as_str(),
    ] {
        h.update(&(part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    for (name, value) in env {
        for part in [name, value] {
            h.update(&(part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
    }
    h.finalize()
}

/// Answers by key, bounded in bytes; the least recently used go first.
#[derive(Debug, Default)]
pub struct Responses {
    entries: HashMap<blake3::Hash, Entry>,
    bytes: usize,
    max: usize,
    clock: u64,
}

#[derive(Debug)]
struct Entry {
    response: Arc<ManifestResponse>,
    bytes: usize,
    used: u64,
}

impl Responses {
    /// An empty cache of at most `max` bytes of manifests (0: off).
    pub fn new(max: usize) -> Self {
        Self {
            max,
            ..Self::default()
        }
    }

    /// The answer kept under `key`.
    pub fn get(&mut self, key: &blake3::Hash) -> Option<Arc<ManifestResponse>> {
        self.clock += 1;
        let clock = self.clock;
        self.entries.get_mut(key).map(|e| {
            e.used = clock;
            Arc::clone(&e.response)
        })
    }

    /// Keeps `response` under `key`, dropping the least recently used
    /// answers past the bound.
    pub fn put(&mut self, key: blake3::Hash, response: &ManifestResponse) {
        let bytes: usize = response.manifests.iter().map(String::len).sum::<usize>() + 64;
        if bytes > self.max {
            return;
        }
        self.clock += 1;
        if let Some(old) = self.entries.insert(
            key,
            Entry {
                response: Arc::new(response.clone()),
                bytes,
                used: self.clock,
            },
        ) {
            self.bytes -= old.bytes;
        }
        self.bytes += bytes;
        while self.bytes > self.max {
            let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| *k)
            else {
                break;
            };
            if let Some(e) = self.entries.remove(&oldest) {
                self.bytes -= e.bytes;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_cmp_proto::EnvEntry;

    fn meta(checksum: &str, env: &[(&str, &str)]) -> ManifestRequestMetadata {
        ManifestRequestMetadata {
            checksum: checksum.into(),
            app_rel_path: "apps/a".into(),
            env: env
                .iter()
                .map(|(n, v)| EnvEntry {
                    name: (*n).into(),
                    value: (*v).into(),
                })
                .collect(),
            ..ManifestRequestMetadata::default()
        }
    }

    fn answer(text: &str) -> ManifestResponse {
        ManifestResponse {
            manifests: vec![text.to_owned()],
            source_type: String::new(),
        }
    }

    #[test]
    fn keys_cover_checksum_path_and_env_in_any_order() {
        let a = key(&meta("AB", &[("X", "1"), ("Y", "2")]));
        assert_eq!(a, key(&meta("ab", &[("Y", "2"), ("X", "1")])));
        assert_ne!(a, key(&meta("ac", &[("X", "1"), ("Y", "2")])));
        assert_ne!(a, key(&meta("ab", &[("X", "1"), ("Y", "3")])));
        // Lengths are hashed: no two splits of the same bytes collide.
        assert_ne!(
            key(&meta("ab", &[("X", "12")])),
            key(&meta("ab", &[("X1", "2")]))
        );
    }

    #[test]
    fn keeps_within_the_bound_dropping_the_least_recently_used() {
        let mut r = Responses::new(300);
        let (k1, k2, k3) = (blake3::hash(b"1"), blake3::hash(b"2"), blake3::hash(b"3"));
        r.put(k1, &answer(&"a".repeat(80)));
        r.put(k2, &answer(&"b".repeat(80)));
        assert!(r.get(&k1).is_some(), "k1 is now the most recently used");
        r.put(k3, &answer(&"c".repeat(80)));
        assert!(r.get(&k2).is_none(), "k2 went first");
        assert_eq!(r.get(&k1).unwrap().manifests[0], "a".repeat(80));
        assert!(r.get(&k3).is_some());
        r.put(blake3::hash(b"big"), &answer(&"d".repeat(400)));
        assert!(
            r.get(&blake3::hash(b"big")).is_none(),
            "larger than the whole cache"
        );
        let mut off = Responses::new(0);
        off.put(k1, &answer("x"));
        assert!(off.get(&k1).is_none());
    }
}
