//! The disk store: one file per step result under `<cache>/steps-v1/`,
//! named by its key, verified on read, bounded in size with
//! least-recently-used eviction (a hit refreshes the file's mtime).

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::StepKey;
use super::entry::{self, Cached, Decoded};

/// The bucket under the cache directory; bump with the entry layout.
pub(crate) const BUCKET: &str = "steps-v1";

/// Default size bound of the disk store: 1 GiB.
pub const DEFAULT_MAX_SIZE: u64 = 1 << 30;

/// A store operation on disk failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O error.
    #[error("cannot use the render cache at {}", .path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// What `stats` found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Number of entries.
    pub entries: u64,
    /// Their total size in bytes.
    pub bytes: u64,
    /// The size bound.
    pub max_bytes: u64,
}

/// The disk store.
#[derive(Debug, Clone)]
pub struct DiskStore {
    dir: PathBuf,
    max_bytes: u64,
}

impl DiskStore {
    /// A store in `<cache_dir>/steps-v1`, bounded to `max_bytes`.
    pub fn new(cache_dir: &Path, max_bytes: u64) -> Self {
        Self {
            dir: cache_dir.join(BUCKET),
            max_bytes,
        }
    }

    /// The bucket directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, key: &StepKey) -> PathBuf {
        let hex = key.to_string();
        self.dir.join("entries").join(&hex[..2]).join(hex)
    }

    /// The entry for `key`; a damaged entry is removed and reported as a miss.
    pub fn get(&self, key: &StepKey) -> Option<Cached> {
        let path = self.path(key);
        let bytes = fs_err::read(&path).ok()?;
        match entry::decode(key, &bytes) {
            Decoded::Hit(cached) => {
                // Refresh the mtime: eviction drops the least recently used first.
                if let Ok(f) = std::fs::File::options().append(true).open(&path) {
                    let _ = f.set_modified(SystemTime::now());
                }
                Some(cached)
            }
            Decoded::Old => None,
            Decoded::Bad => {
                tracing::warn!(entry = %path.display(), "dropping a damaged render cache entry");
                let _ = fs_err::remove_file(&path);
                None
            }
        }
    }

    /// Stores `cached` under `key` (written to a temporary file, then renamed).
    pub fn put(&self, key: &StepKey, cached: &Cached) -> Result<(), Error> {
        let path = self.path(key);
        let parent = path.parent().expect("an entry path has a parent");
        let io = |source| Error::Io {
            path: parent.to_path_buf(),
            source,
        };
        fs_err::create_dir_all(parent).map_err(io)?;
        let mut tmp = tempfile::NamedTempFile::new_in(parent).map_err(io)?;
        std::io::Write::write_all(&mut tmp, &entry::encode(key, cached)).map_err(io)?;
        tmp.persist(&path).map_err(|e| io(e.error))?;
        Ok(())
    }

    /// Every entry with its size and last use.
    fn entries(&self) -> Vec<(PathBuf, u64, SystemTime)> {
        let mut out = Vec::new();
        let Ok(shards) = fs_err::read_dir(self.dir.join("entries")) else {
            return out;
        };
        for shard in shards.flatten() {
            let Ok(files) = fs_err::read_dir(shard.path()) else {
                continue;
            };
            for file in files.flatten() {
                if let Ok(meta) = file.metadata()
                    && meta.is_file()
                {
                    out.push((
                        file.path(),
                        meta.len(),
                        meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                    ));
                }
            }
        }
        out
    }

    /// Counts the entries and their size.
    pub fn stats(&self) -> Stats {
        let entries = self.entries();
        Stats {
            entries: entries.len() as u64,
            bytes: entries.iter().map(|e| e.1).sum(),
            max_bytes: self.max_bytes,
        }
    }

    /// Evicts least recently used entries once the bytes stored since the
    /// last eviction (counted across processes in `steps-v1/pending`) pass
    /// a sixteenth of the bound: listing every entry costs more than a render
    /// served from the cache, so not after each one.
    pub fn gc_if_due(&self, written: u64) {
        let marker = self.dir.join("pending");
        let pending = fs_err::read_to_string(&marker)
            .ok()
            .and_then(|t| t.trim().parse::<u64>().ok());
        let total = pending.unwrap_or(0).saturating_add(written);
        let due = total > self.max_bytes / 16;
        let next = if due {
            self.gc(false);
            0
        } else {
            total
        };
        // Written in place of the marker's old text by rename: a race between
        // processes loses a count at worst, which only delays an eviction.
        let write = || -> std::io::Result<()> {
            let mut tmp = tempfile::NamedTempFile::new_in(&self.dir)?;
            std::io::Write::write_all(&mut tmp, next.to_string().as_bytes())?;
            tmp.persist(&marker).map_err(|e| e.error)?;
            Ok(())
        };
        if pending != Some(next) {
            let _ = write();
        }
    }

    /// Removes damaged entries and then the least recently used ones until
    /// the store fits its bound; returns the number removed.
    pub fn gc(&self, verify: bool) -> u64 {
        let mut entries = self.entries();
        let mut removed = 0;
        if verify {
            entries.retain(|(path, _, _)| {
                // Intact, and written for the key it is named by.
                let named = path.file_name().map(|n| n.to_string_lossy().into_owned());
                let ok = fs_err::read(path).ok().is_some_and(|b| {
                    entry::written_for(&b).is_some_and(|k| {
                        named.as_deref() == Some(blake3::Hash::from_bytes(*k).to_hex().as_str())
                    })
                });
                if !ok && fs_err::remove_file(path).is_ok() {
                    removed += 1;
                }
                ok
            });
        }
        let mut total: u64 = entries.iter().map(|e| e.1).sum();
        if total <= self.max_bytes {
            return removed;
        }
        entries.sort_by_key(|e| e.2);
        for (path, size, _) in entries {
            if total <= self.max_bytes {
                break;
            }
            if fs_err::remove_file(&path).is_ok() {
                total -= size;
                removed += 1;
            }
        }
        removed
    }

    /// Removes every entry and the explain records.
    pub fn clear(&self) -> Result<(), Error> {
        match fs_err::remove_dir_all(&self.dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::Io {
                path: self.dir.clone(),
                source: e,
            }),
            _ => Ok(()),
        }
    }
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
    fn put_get_damage_and_lru() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let store = DiskStore::new(tmp.path(), 1 << 20);
        let docs = Cached {
            resources: vec!["{\"a\":1}".to_owned()],
            notes: Vec::new(),
        };
        assert_eq!(store.get(&key(1)), None);
        store.put(&key(1), &docs).expect("put");
        assert_eq!(store.get(&key(1)), Some(docs.clone()));
        // Damage it: the read drops it.
        let path = store.path(&key(1));
        let mut bytes = fs_err::read(&path).expect("read");
        let n = bytes.len();
        bytes[n - 3] ^= 0x20;
        fs_err::write(&path, bytes).expect("write");
        assert_eq!(store.get(&key(1)), None);
        assert!(!path.exists());

        // An entry copied over another key's is not served, and `gc --verify`
        // drops it.
        store.put(&key(1), &docs).expect("put");
        store
            .put(
                &key(5),
                &Cached {
                    resources: vec!["{\"b\":2}".to_owned()],
                    notes: Vec::new(),
                },
            )
            .expect("put");
        fs_err::copy(store.path(&key(5)), &path).expect("copy");
        assert_eq!(store.get(&key(1)), None, "served another key's entry");
        store.put(&key(1), &docs).expect("put");
        fs_err::copy(store.path(&key(5)), &path).expect("copy");
        assert_eq!(store.gc(true), 1);
        assert!(!path.exists() && store.path(&key(5)).exists());
        fs_err::remove_file(store.path(&key(5))).expect("remove");

        let one = entry::encode(&key(1), &docs).len() as u64;
        let small = DiskStore::new(tmp.path(), one * 2);
        for n in 2..=4 {
            small.put(&key(n), &docs).expect("put");
            let old = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1000 * u64::from(n));
            std::fs::File::options()
                .append(true)
                .open(small.path(&key(n)))
                .expect("open")
                .set_modified(old)
                .expect("mtime");
        }
        // Using 2 makes 3 the least recently used.
        assert!(small.get(&key(2)).is_some());
        assert_eq!(small.gc(false), 1);
        assert!(small.get(&key(3)).is_none());
        assert!(small.get(&key(2)).is_some() && small.get(&key(4)).is_some());
        assert_eq!(small.stats().entries, 2);
    }
}
