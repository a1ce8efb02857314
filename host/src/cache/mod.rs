//! Content-addressed stores for render results.
//!
//! A step's output is stored under its [`StepKey`], a blake3 hash of every
//! input that can change it. Stores: [`DiskStore`] (the default, under the
//! kiln cache directory) and [`RedisStore`] (shared between machines, chosen
//! with `--cache redis://HOST:PORT` or `KILN_CACHE`). Entries are verified on
//! read; a damaged one is dropped and recomputed.
//!
//! Failed steps are never cached. A step granted a secret whose value was
//! given to the render, and every step after it (its output may carry the
//! secret), is never written to any store: such steps always run (see
//! `pipeline::render`). A grant whose secret was not given passes nothing
//! secret on, so it does not stop caching. Encrypting them
//! instead would save little, since decryption steps are cheap.
//!
//! For `kiln render --explain` the cache also keeps, per app, the digests of
//! the inputs of the last render's step keys (under `steps-v1/last/`, always
//! on local disk), to say which input changed when a step misses.

mod disk;
mod entry;
mod key;
mod memo;
mod redis;

pub use disk::{DEFAULT_MAX_SIZE, DiskStore, Stats};
pub use entry::Cached;
pub(crate) use key::canonical;
pub use key::{KeyInputs, StepKey};
pub use memo::{MemoId, value as memo_value};
pub use redis::RedisStore;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use memo::MemoStore;

/// Opening a cache failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The redis store could not be reached.
    #[error("cannot open the shared render cache")]
    Redis(#[from] redis::Error),
    /// The cache spec is neither `redis://…` nor `off`.
    #[error("unsupported cache `{0}` (use redis://HOST:PORT, or `off`)")]
    Unsupported(String),
}

/// Removes the memos under `cache_dir` not written for `max_age`; returns
/// how many went.
pub fn gc_memos(cache_dir: &Path, max_age: std::time::Duration) -> u64 {
    MemoStore::new(&cache_dir.join(disk::BUCKET)).gc(max_age)
}

/// Whether a step's output came from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStatus {
    /// Taken from the cache.
    Hit,
    /// Taken from the cache without digesting the app: no file it read
    /// changed since its last render.
    Unchanged,
    /// Rendered, then stored.
    Miss,
    /// Rendered and not stored: the step or one before it was granted a secret.
    Secret,
    /// No cache in use.
    Off,
}

#[derive(Debug)]
enum Backend {
    Disk(DiskStore),
    Redis(RedisStore),
}

/// The render cache used by a pipeline run.
#[derive(Debug)]
pub struct StepCache {
    backend: Backend,
    records: PathBuf,
    memos: MemoStore,
    /// Bytes this process stored.
    wrote: AtomicU64,
}

/// The last render's step inputs of one app.
type Record = Vec<(String, KeyInputs)>;

impl StepCache {
    /// The disk cache in `cache_dir`, bounded to `max_bytes`.
    pub fn disk(cache_dir: &Path, max_bytes: u64) -> Self {
        let store = DiskStore::new(cache_dir, max_bytes);
        let records = store.dir().join("last");
        let memos = MemoStore::new(store.dir());
        Self {
            backend: Backend::Disk(store),
            records,
            memos,
            wrote: AtomicU64::new(0),
        }
    }

    /// The cache named by `spec`: `redis://HOST:PORT[/DB]`; explain records
    /// stay in `cache_dir`.
    pub fn open(spec: &str, cache_dir: &Path) -> Result<Self, Error> {
        if spec.starts_with("redis://") {
            let store = RedisStore::connect(spec)?;
            Ok(Self {
                backend: Backend::Redis(store),
                records: cache_dir.join(disk::BUCKET).join("last"),
                memos: MemoStore::new(&cache_dir.join(disk::BUCKET)),
                wrote: AtomicU64::new(0),
            })
        } else {
            Err(Error::Unsupported(spec.to_owned()))
        }
    }

    /// The stored result of the step with `key`; errors count as a miss.
    pub fn get(&self, key: &StepKey) -> Option<Cached> {
        match &self.backend {
            Backend::Disk(store) => store.get(key),
            Backend::Redis(store) => store.get(key).unwrap_or_else(|e| {
                tracing::warn!(error = %crate::error_chain(&e), "render cache read failed; rendering");
                None
            }),
        }
    }

    /// Stores a step's result; errors are logged, never fatal.
    pub fn put(&self, key: &StepKey, cached: &Cached) {
        let bytes: usize = cached.resources.iter().map(String::len).sum();
        self.wrote.fetch_add(bytes as u64, Ordering::Relaxed);
        let result = match &self.backend {
            Backend::Disk(store) => store.put(key, cached).map_err(|e| crate::error_chain(&e)),
            Backend::Redis(store) => store.put(key, cached).map_err(|e| crate::error_chain(&e)),
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "cannot write the render cache");
        }
    }

    /// Evicts least recently used disk entries beyond the size bound, when
    /// enough was stored since the last eviction to matter (see
    /// [`DiskStore::gc_if_due`]).
    pub fn trim(&self) {
        let wrote = self.wrote.swap(0, Ordering::Relaxed);
        if wrote == 0 {
            return;
        }
        if let Backend::Disk(store) = &self.backend {
            store.gc_if_due(wrote);
        }
    }

    /// The memo `id` and its watch, if no file it watches under `base` changed.
    pub fn memo<T: serde::de::DeserializeOwned>(
        &self,
        id: MemoId,
        base: &Path,
    ) -> Option<(T, crate::stamp::Watch)> {
        self.memos.get(id, base)
    }

    /// The stored form of memo `id`, for [`memo_value`] to read without
    /// copying; its watch is not checked.
    pub fn memo_body(&self, id: MemoId) -> Option<Vec<u8>> {
        self.memos.get_body(id)
    }

    /// Keeps `bytes` beside memo `id`; their hash, for the memo to hold.
    pub fn put_memo_blob(&self, id: MemoId, bytes: &[u8]) -> Option<String> {
        self.memos.put_blob(id, bytes)
    }

    /// The bytes kept beside memo `id`, if their hash is `hash`.
    pub fn memo_blob(&self, id: MemoId, hash: &str) -> Option<Vec<u8>> {
        self.memos.get_blob(id, hash)
    }

    /// Keeps `value` as memo `id`, valid while `watch` holds.
    pub fn put_memo<T: serde::Serialize>(&self, id: MemoId, watch: crate::stamp::Watch, value: &T) {
        self.memos.put(id, watch, value);
    }

    fn record_path(&self, app: &str) -> PathBuf {
        self.records
            .join(format!("{}.json", blake3::hash(app.as_bytes()).to_hex()))
    }

    /// The step inputs recorded by the last render of `app`.
    pub fn last_inputs(&self, app: &str) -> Vec<(String, KeyInputs)> {
        fs_err::read(self.record_path(app))
            .ok()
            .and_then(|b| serde_json::from_slice::<Record>(&b).ok())
            .unwrap_or_default()
    }

    /// Records the step inputs of this render of `app`.
    pub fn record(&self, app: &str, steps: &[(String, KeyInputs)]) {
        let path = self.record_path(app);
        let write = || -> std::io::Result<()> {
            fs_err::create_dir_all(&self.records)?;
            let mut tmp = tempfile::NamedTempFile::new_in(&self.records)?;
            std::io::Write::write_all(
                &mut tmp,
                &serde_json::to_vec(steps).expect("records serialise"),
            )?;
            tmp.persist(&path).map_err(|e| e.error)?;
            Ok(())
        };
        if let Err(e) = write() {
            tracing::debug!(error = %e, "cannot record the step inputs for --explain");
        }
    }
}
