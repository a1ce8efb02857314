//! Compiling components, and the on-disk cache of compiled components.
//!
//! A compiled component is stored under `components-v0/<key>.cwasm`, where
//! the key is a blake3 hash of the component's digest, the wasmtime version
//! and the engine's compatibility hash. The file starts with a magic line
//! and the blake3 hash of the payload, which is checked before the payload
//! is handed to wasmtime: a corrupt or truncated file is dropped and the
//! component compiled again; a file from another engine is refused by
//! wasmtime and likewise rebuilt.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

use super::LoadError;

const BUCKET: &str = "components-v0";
const MAGIC: &[u8] = b"KILN-CWASM-1\n";

/// The on-disk cache of compiled components.
#[derive(Debug, Clone)]
pub struct CompiledCache {
    dir: PathBuf,
}

impl CompiledCache {
    /// A cache under `root` (the kiln cache directory).
    pub fn new(root: &Path) -> Self {
        Self {
            dir: root.join(BUCKET),
        }
    }

    fn path(&self, engine: &Engine, digest: blake3::Hash) -> PathBuf {
        let mut hasher = Blake3Hasher(blake3::Hasher::new());
        hasher.0.update(digest.as_bytes());
        hasher.0.update(env!("CARGO_PKG_VERSION").as_bytes());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        self.dir
            .join(format!("{}.cwasm", hasher.0.finalize().to_hex()))
    }

    fn read(engine: &Engine, path: &Path) -> Option<Component> {
        let bytes = fs_err::read(path).ok()?;
        let Some(payload) = verified_payload(&bytes) else {
            tracing::warn!(path = %path.display(), "compiled component is corrupt; compiling again");
            let _ = fs_err::remove_file(path);
            return None;
        };
        // SAFETY: the payload was written by `store` below from
        // `Engine::precompile_component` (the file name binds it to this
        // engine's configuration and wasmtime version) and its checksum has
        // just been verified, so it is wasmtime's own output, unmodified.
        #[expect(
            unsafe_code,
            reason = "loading a precompiled component, verified above"
        )]
        let loaded = unsafe { Component::deserialize(engine, payload) };
        match loaded {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "compiled component is unusable; compiling again");
                let _ = fs_err::remove_file(path);
                None
            }
        }
    }

    fn store(&self, path: &Path, compiled: &[u8]) -> std::io::Result<()> {
        fs_err::create_dir_all(&self.dir)?;
        let mut file = tempfile::NamedTempFile::new_in(&self.dir)?;
        std::io::Write::write_all(&mut file, MAGIC)?;
        std::io::Write::write_all(&mut file, blake3::hash(compiled).as_bytes())?;
        std::io::Write::write_all(&mut file, compiled)?;
        file.persist(path).map_err(|e| e.error)?;
        Ok(())
    }
}

fn verified_payload(bytes: &[u8]) -> Option<&[u8]> {
    let rest = bytes.strip_prefix(MAGIC)?;
    if rest.len() < 32 {
        return None;
    }
    let (sum, payload) = rest.split_at(32);
    (blake3::hash(payload).as_bytes() == sum).then_some(payload)
}

/// Compiles `wasm`, or loads its compiled form from `cache`.
pub(super) fn component(
    engine: &Engine,
    cache: Option<&CompiledCache>,
    name: &str,
    wasm: &[u8],
    digest: blake3::Hash,
) -> Result<Component, LoadError> {
    let Some(cache) = cache else {
        return Component::new(engine, wasm).map_err(|source| LoadError::NotAComponent {
            name: name.to_owned(),
            source,
        });
    };
    let path = cache.path(engine, digest);
    if let Some(component) = CompiledCache::read(engine, &path) {
        tracing::debug!(plugin = name, "compiled component cache hit");
        return Ok(component);
    }
    let _span = tracing::debug_span!("compile", plugin = name).entered();
    let compiled =
        engine
            .precompile_component(wasm)
            .map_err(|source| LoadError::NotAComponent {
                name: name.to_owned(),
                source,
            })?;
    if let Err(e) = cache.store(&path, &compiled) {
        tracing::warn!(error = %e, "cannot write the compiled component cache");
    }
    // SAFETY: `compiled` was produced just now by this engine.
    #[expect(
        unsafe_code,
        reason = "loading a component this engine has just compiled"
    )]
    let component = unsafe { Component::deserialize(engine, &compiled) };
    component.map_err(|source| LoadError::NotAComponent {
        name: name.to_owned(),
        source,
    })
}

/// Feeds `Hash` implementations into blake3.
struct Blake3Hasher(blake3::Hasher);

impl Hasher for Blake3Hasher {
    fn finish(&self) -> u64 {
        let mut out = [0; 8];
        out.copy_from_slice(&self.0.finalize().as_bytes()[..8]);
        u64::from_le_bytes(out)
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_checksum_detects_corruption() {
        let mut file = MAGIC.to_vec();
        file.extend_from_slice(blake3::hash(b"payload").as_bytes());
        file.extend_from_slice(b"payload");
        assert_eq!(verified_payload(&file), Some(&b"payload"[..]));
        let last = file.len() - 1;
        file[last] ^= 1;
        assert_eq!(verified_payload(&file), None);
        assert_eq!(verified_payload(&file[..20]), None);
        assert_eq!(verified_payload(b"ELF"), None);
    }
}
