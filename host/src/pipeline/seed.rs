//! The operator's render seed: the secret that every random value of a
//! render comes from (what a plugin reads from `wasi:random`, so the
//! passwords, keys and certificates a chart generates).
//!
//! A render is reproducible, so its random values must follow from
//! something; were that only the inputs (the repository, which whoever can
//! read it can render again), every generated password and private key
//! would be known to every reader of the repository. Each call's random
//! stream is therefore keyed by this secret and the step's cache key: the
//! same seed renders the same output, another seed other values, and the
//! inputs alone tell nothing.

/// The operator's render seed (32 bytes derived from what the operator
/// gave). Its `Debug` shows only its public [`RenderSeed::id`].
#[derive(Clone, PartialEq, Eq)]
pub struct RenderSeed([u8; 32]);

impl RenderSeed {
    /// The seed of a secret of any length (a passphrase, a key file's bytes).
    #[must_use]
    pub fn from_secret(secret: &[u8]) -> Self {
        Self(blake3::derive_key("kiln render seed v1", secret))
    }

    /// A public name of this seed, which tells nothing of it: part of cache
    /// keys and memo ids, so that what one seed rendered is never served to
    /// another.
    #[must_use]
    pub fn id(&self) -> String {
        let id = blake3::Hash::from(blake3::derive_key("kiln render seed id v1", &self.0));
        id.to_hex()[..32].to_owned()
    }

    /// The random seed of the call whose cache key is `key`.
    #[must_use]
    pub fn for_call(&self, key: &[u8; 32]) -> [u8; 32] {
        *blake3::keyed_hash(&self.0, key).as_bytes()
    }
}

impl std::fmt::Debug for RenderSeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RenderSeed({})", self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::RenderSeed;

    #[test]
    fn calls_draw_from_the_seed_and_the_key_and_the_id_reveals_neither() {
        let a = RenderSeed::from_secret(b"first");
        let b = RenderSeed::from_secret(b"second");
        let key = *blake3::hash(b"a step").as_bytes();
        let other = *blake3::hash(b"another step").as_bytes();
        assert_eq!(
            a.for_call(&key),
            RenderSeed::from_secret(b"first").for_call(&key)
        );
        assert_ne!(a.for_call(&key), b.for_call(&key));
        assert_ne!(a.for_call(&key), a.for_call(&other));
        // Without the seed, the key alone gives nothing a call draws.
        assert_ne!(a.for_call(&key), key);
        assert_ne!(a.id(), b.id());
        assert_eq!(a.id().len(), 32);
        assert!(!format!("{a:?}").contains(&blake3::Hash::from(a.0).to_hex().to_string()));
        assert!(format!("{a:?}").contains(&a.id()));
    }
}
