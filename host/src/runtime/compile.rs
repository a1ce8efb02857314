//! Compiling components, and the on-disk cache of compiled components.
//!
//! A compiled component is stored as `components-v2/<key>.cwasm`, exactly as
//! wasmtime serialised it, so that it can be mapped into memory instead of
//! read and copied (a compiled plugin is several MB: copying it cost more
//! than running it). The key is a blake3 hash of the component's digest,
//! the kiln version and the engine's compatibility hash.
//!
//! Beside it, `<key>.sum` holds the key, the blake3 hash of the file keyed
//! by the key (so a component and its `.sum` copied over another key's are
//! refused: one plugin's native code never runs as another's), and the
//! [`Stamp`](crate::stamp::Stamp) it had when that hash was last checked. A
//! load whose stamp still matches a trusted one maps the file without
//! reading it; any other load (the file was rewritten, touched, copied, or
//! the stamp was taken too soon after the file was written to be trusted)
//! reads the whole file and checks the hash first, then records the new
//! stamp. So a damaged or truncated file is dropped and the component
//! compiled again; a file from another engine is refused by wasmtime and
//! likewise rebuilt. Only a change that leaves size, times and inode as they
//! were (bit rot below the file system) would go unnoticed.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

use super::LoadError;
use crate::stamp::Watch;

const BUCKET: &str = "components-v2";
const SUM_MAGIC: &[u8] = b"KILN-CWASM-SUM-2\n";

/// The on-disk cache of compiled components.
#[derive(Debug, Clone)]
pub struct CompiledCache {
    dir: PathBuf,
}

/// The `.sum` file: the key, the file's hash keyed by it, and the stamp it
/// was checked at.
#[derive(serde::Serialize, serde::Deserialize)]
struct Sum {
    key: String,
    hash: String,
    checked: Watch,
}

impl CompiledCache {
    /// A cache under `root` (the kiln cache directory).
    pub fn new(root: &Path) -> Self {
        Self {
            dir: root.join(BUCKET),
        }
    }

    /// The key of the compiled form of the plugin with `digest`.
    fn key(engine: &Engine, digest: blake3::Hash) -> blake3::Hash {
        let mut hasher = Blake3Hasher(blake3::Hasher::new());
        hasher.0.update(digest.as_bytes());
        hasher.0.update(env!("CARGO_PKG_VERSION").as_bytes());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        hasher.0.finalize()
    }

    fn path(&self, key: blake3::Hash) -> PathBuf {
        self.dir.join(format!("{}.cwasm", key.to_hex()))
    }

    /// The `.sum` beside `path`, if it was written for `key`.
    fn read_sum(path: &Path, key: blake3::Hash) -> Option<Sum> {
        let bytes = fs_err::read(path.with_extension("sum")).ok()?;
        let sum: Sum = serde_json::from_slice(bytes.strip_prefix(SUM_MAGIC)?).ok()?;
        (sum.key == key.to_hex().as_str()).then_some(sum)
    }

    fn write_sum(path: &Path, key: blake3::Hash, hash: blake3::Hash) -> std::io::Result<()> {
        let dir = path.parent().expect("cache files live in the bucket");
        let mut checked = Watch::default();
        checked.add_path(dir, &path.file_name().expect("named").to_string_lossy());
        let sum = Sum {
            key: key.to_hex().to_string(),
            hash: hash.to_hex().to_string(),
            checked,
        };
        let mut file = tempfile::NamedTempFile::new_in(dir)?;
        std::io::Write::write_all(&mut file, SUM_MAGIC)?;
        std::io::Write::write_all(
            &mut file,
            &serde_json::to_vec(&sum).expect("a sum serialises"),
        )?;
        file.persist(path.with_extension("sum"))
            .map_err(|e| e.error)?;
        Ok(())
    }

    /// Whether the file at `path` is intact and was written for `key`:
    /// trusted by its stamp, or read and hashed (then its stamp recorded).
    fn verify(path: &Path, key: blake3::Hash) -> bool {
        let dir = path.parent().expect("cache files live in the bucket");
        let Some(sum) = Self::read_sum(path, key) else {
            return false;
        };
        if sum.checked.holds(dir) {
            return true;
        }
        let Ok(bytes) = fs_err::read(path) else {
            return false;
        };
        let hash = blake3::keyed_hash(key.as_bytes(), &bytes);
        if hash.to_hex().as_str() != sum.hash {
            return false;
        }
        if let Err(e) = Self::write_sum(path, key, hash) {
            tracing::debug!(error = %e, "cannot record the checked stamp of a compiled component");
        }
        true
    }

    fn read(engine: &Engine, path: &Path, key: blake3::Hash) -> Option<Component> {
        if !path.exists() {
            return None;
        }
        if !Self::verify(path, key) {
            tracing::warn!(path = %path.display(), "compiled component is corrupt; compiling again");
            Self::remove(path);
            return None;
        }
        // SAFETY: the file was written by `store` below from
        // `Engine::precompile_component` (its name binds it to this engine's
        // configuration and wasmtime version), its `.sum` was written for
        // this key and its hash, keyed by the key, has been checked against
        // the one recorded when it was written (or its stamp shows
        // it was not written since that check), and files in the bucket are
        // only ever replaced by rename, never modified in place while mapped.
        #[expect(
            unsafe_code,
            reason = "mapping a precompiled component, verified above"
        )]
        let loaded = unsafe { Component::deserialize_file(engine, path) };
        match loaded {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "compiled component is unusable; compiling again");
                Self::remove(path);
                None
            }
        }
    }

    fn remove(path: &Path) {
        let _ = fs_err::remove_file(path);
        let _ = fs_err::remove_file(path.with_extension("sum"));
    }

    fn store(&self, key: blake3::Hash, compiled: &[u8]) -> std::io::Result<()> {
        let path = self.path(key);
        fs_err::create_dir_all(&self.dir)?;
        let mut file = tempfile::NamedTempFile::new_in(&self.dir)?;
        std::io::Write::write_all(&mut file, compiled)?;
        file.persist(&path).map_err(|e| e.error)?;
        Self::write_sum(&path, key, blake3::keyed_hash(key.as_bytes(), compiled))
    }
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
    let key = CompiledCache::key(engine, digest);
    let path = cache.path(key);
    if let Some(component) = CompiledCache::read(engine, &path, key) {
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
    if let Err(e) = cache.store(key, &compiled) {
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

/// Compiles a core module (a `wasip1` KRM function), or loads its compiled
/// form from `cache`, checked as [`component`] checks a component's. The
/// key comes from `digest`, which the caller derives so that it never
/// equals a component's.
pub(super) fn module(
    engine: &Engine,
    cache: Option<&CompiledCache>,
    name: &str,
    wasm: &[u8],
    digest: blake3::Hash,
) -> Result<wasmtime::Module, LoadError> {
    let refused = |source| LoadError::NotAKrmFunction {
        name: name.to_owned(),
        source,
    };
    let Some(cache) = cache else {
        return wasmtime::Module::new(engine, wasm).map_err(refused);
    };
    let key = CompiledCache::key(engine, digest);
    let path = cache.path(key);
    if path.exists() {
        if CompiledCache::verify(&path, key) {
            // SAFETY: as in `CompiledCache::read`: written by `store` from
            // `Engine::precompile_module`, its keyed hash checked against
            // the `.sum` written for this key, replaced only by rename.
            #[expect(unsafe_code, reason = "mapping a precompiled module, verified above")]
            let loaded = unsafe { wasmtime::Module::deserialize_file(engine, &path) };
            match loaded {
                Ok(module) => return Ok(module),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "compiled module is unusable; compiling again");
                }
            }
        } else {
            tracing::warn!(path = %path.display(), "compiled module is corrupt; compiling again");
        }
        CompiledCache::remove(&path);
    }
    let _span = tracing::debug_span!("compile", plugin = name).entered();
    let compiled = engine.precompile_module(wasm).map_err(refused)?;
    if let Err(e) = cache.store(key, &compiled) {
        tracing::warn!(error = %e, "cannot write the compiled component cache");
    }
    // SAFETY: `compiled` was produced just now by this engine.
    #[expect(unsafe_code, reason = "loading a module this engine has just compiled")]
    let module = unsafe { wasmtime::Module::deserialize(engine, &compiled) };
    module.map_err(refused)
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

    /// Regression test for issue #12: a compiled component and its `.sum`
    /// copied over another plugin's were loaded as that plugin.
    #[test]
    fn a_compiled_component_is_bound_to_its_key() {
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true);
        let engine = Engine::new(&config).expect("engine");
        let tmp = tempfile::tempdir().expect("temp dir");
        let cache = CompiledCache::new(tmp.path());
        let hello = fs_err::read(env!("KILN_TEST_PLUGIN_HELLO")).expect("plugin");
        let hostile = fs_err::read(env!("KILN_TEST_PLUGIN_HOSTILE")).expect("plugin");
        let (a, b) = (blake3::hash(&hello), blake3::hash(&hostile));
        component(&engine, Some(&cache), "hello", &hello, a).expect("compiles");
        component(&engine, Some(&cache), "hostile", &hostile, b).expect("compiles");
        let (key_a, key_b) = (
            CompiledCache::key(&engine, a),
            CompiledCache::key(&engine, b),
        );
        let (path_a, path_b) = (cache.path(key_a), cache.path(key_b));
        assert!(
            CompiledCache::read(&engine, &path_a, key_a).is_some(),
            "a hit"
        );
        for ext in ["cwasm", "sum"] {
            fs_err::copy(path_b.with_extension(ext), path_a.with_extension(ext)).expect("copy");
        }
        assert!(
            CompiledCache::read(&engine, &path_a, key_a).is_none(),
            "another plugin's native code was accepted"
        );
        assert!(!path_a.exists(), "the impostor is removed");
        assert!(CompiledCache::read(&engine, &path_b, key_b).is_some());
    }
}
