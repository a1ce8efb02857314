//! Memos: a result kept together with the stamps of every file and
//! directory it was computed from, so that when none of them changed the
//! result is served after a few `stat` calls, without reading the files,
//! hashing them, loading the pipeline or its plugins.
//!
//! The step cache already makes an unchanged app cheap, but finding its key
//! means digesting the app's files. A memo skips even that: `kiln render`
//! keeps one per app (naming the final step's cache entry) and one per
//! `--all` run (holding the whole output stream), and discovery keeps the
//! app list of a root. A memo is only written when nothing in the render
//! held a secret, and never from stamps too recent to trust
//! ([`crate::stamp`]).
//!
//! Memos live on local disk in `steps-v1/memo/`, whatever the step store, so
//! `kiln cache clear` removes them with the rest. Each file is
//! `kiln-memo-v2\n`, the blake3 hash of the body keyed by the memo's id (so
//! a memo copied over another's is refused), and the body (postcard, a
//! compact binary serde format: the memo of a large `--all` run holds
//! thousands of stamps, and JSON took longer to parse than they take to
//! check); a damaged memo is ignored and rewritten.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::stamp::Watch;

const MAGIC: &[u8] = b"kiln-memo-v2\n";

/// The memo store.
#[derive(Debug, Clone)]
pub(crate) struct MemoStore {
    dir: PathBuf,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Stored<T> {
    watch: Watch,
    value: T,
}

/// Names a memo: a hash of everything besides files that decides the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoId(blake3::Hash);

impl MemoId {
    /// The id of a memo of `kind` whose result depends on `parts` (and on
    /// this build of kiln).
    pub fn new(kind: &str, parts: &[&[u8]]) -> Self {
        let mut h = blake3::Hasher::new();
        for part in [
            kind.as_bytes(),
            env!("CARGO_PKG_VERSION").as_bytes(),
            crate::CONTRACT_VERSION.as_bytes(),
            crate::builtin::SET_DIGEST.as_bytes(),
            build_stamp().as_bytes(),
        ]
        .into_iter()
        .chain(parts.iter().copied())
        {
            h.update(&(part.len() as u64).to_le_bytes());
            h.update(part);
        }
        Self(h.finalize())
    }
}

/// The stamp of the running executable: a memo holds what this build of
/// kiln decided (the pipeline it detected, the text it wrote), so another
/// build, even of the same version, starts afresh.
fn build_stamp() -> &'static str {
    static STAMP: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    STAMP.get_or_init(|| {
        let stamp = std::env::current_exe()
            .ok()
            .and_then(|exe| crate::stamp::Stamp::read(&exe));
        format!("{stamp:?}")
    })
}

/// The value of a memo from [`MemoStore::get_body`], borrowing from it.
pub fn value<'a, T: serde::Deserialize<'a>>(body: &'a [u8]) -> Option<T> {
    // A stored memo is its watch, then its value.
    let (_, value): (crate::stamp::WatchView<'a>, T) = postcard::from_bytes(body).ok()?;
    Some(value)
}

impl MemoStore {
    pub(crate) fn new(steps_dir: &Path) -> Self {
        Self {
            dir: steps_dir.join("memo"),
        }
    }

    fn path(&self, id: MemoId) -> PathBuf {
        self.dir.join(id.0.to_hex().as_str())
    }

    /// The memo `id` and its watch, if the watch still holds under `base`.
    pub(crate) fn get<T: DeserializeOwned>(&self, id: MemoId, base: &Path) -> Option<(T, Watch)> {
        self.get_unchecked(id)
            .filter(|(_, watch)| watch.holds(base))
    }

    /// The memo `id` and its watch, whether or not the watch holds.
    pub(crate) fn get_unchecked<T: DeserializeOwned>(&self, id: MemoId) -> Option<(T, Watch)> {
        let body = self.get_body(id)?;
        let stored: Stored<T> = postcard::from_bytes(&body).ok()?;
        Some((stored.value, stored.watch))
    }

    /// The stored form of memo `id`, checked against its hash: for
    /// [`value`] to read without copying.
    pub(crate) fn get_body(&self, id: MemoId) -> Option<Vec<u8>> {
        let mut bytes = fs_err::read(self.path(id)).ok()?;
        let rest = bytes.strip_prefix(MAGIC)?;
        if rest.len() < 32 {
            return None;
        }
        let (sum, body) = rest.split_at(32);
        if blake3::keyed_hash(id.0.as_bytes(), body).as_bytes() != sum {
            tracing::debug!("ignoring a damaged memo");
            return None;
        }
        bytes.drain(..MAGIC.len() + 32);
        Some(bytes)
    }

    /// Removes memos (and the output kept beside them) not written for
    /// `max_age`; returns how many memos went. A memo still in use is
    /// simply written again by the next render.
    pub(crate) fn gc(&self, max_age: std::time::Duration) -> u64 {
        let Ok(entries) = fs_err::read_dir(&self.dir) else {
            return 0;
        };
        let mut removed = 0;
        for entry in entries.flatten() {
            let path = entry.path();
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > max_age);
            if old && fs_err::remove_file(&path).is_ok() && path.extension().is_none() {
                removed += 1;
            }
        }
        removed
    }

    /// Keeps `bytes` beside memo `id` (before the memo that names it is
    /// written); returns their hash, for the memo to hold.
    pub(crate) fn put_blob(&self, id: MemoId, bytes: &[u8]) -> Option<String> {
        let write = || -> std::io::Result<()> {
            fs_err::create_dir_all(&self.dir)?;
            let mut tmp = tempfile::NamedTempFile::new_in(&self.dir)?;
            std::io::Write::write_all(&mut tmp, bytes)?;
            tmp.persist(self.path(id).with_extension("blob"))
                .map_err(|e| e.error)?;
            Ok(())
        };
        match write() {
            Ok(()) => Some(blake3::hash(bytes).to_hex().to_string()),
            Err(e) => {
                tracing::debug!(error = %e, "cannot write a memo");
                None
            }
        }
    }

    /// The bytes kept beside memo `id`, if their hash is `hash`.
    pub(crate) fn get_blob(&self, id: MemoId, hash: &str) -> Option<Vec<u8>> {
        let bytes = fs_err::read(self.path(id).with_extension("blob")).ok()?;
        (blake3::hash(&bytes).to_hex().as_str() == hash).then_some(bytes)
    }

    /// Keeps `value` under `id` with `watch`; a racy watch is not kept.
    pub(crate) fn put<T: Serialize>(&self, id: MemoId, watch: Watch, value: &T) {
        if watch.is_racy() {
            tracing::debug!("not memoising: a file changed too recently to trust its stamp");
            return;
        }
        let body = postcard::to_allocvec(&Stored { watch, value }).expect("memos serialise");
        let write = || -> std::io::Result<()> {
            fs_err::create_dir_all(&self.dir)?;
            let mut tmp = tempfile::NamedTempFile::new_in(&self.dir)?;
            std::io::Write::write_all(&mut tmp, MAGIC)?;
            std::io::Write::write_all(
                &mut tmp,
                blake3::keyed_hash(id.0.as_bytes(), &body).as_bytes(),
            )?;
            std::io::Write::write_all(&mut tmp, &body)?;
            tmp.persist(self.path(id)).map_err(|e| e.error)?;
            Ok(())
        };
        if let Err(e) = write() {
            tracing::debug!(error = %e, "cannot write a memo");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stamp::Stamp;

    #[test]
    fn gc_drops_memos_not_written_for_a_while() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let store = MemoStore::new(tmp.path());
        let (old, new) = (MemoId::new("t", &[b"old"]), MemoId::new("t", &[b"new"]));
        for id in [old, new] {
            store.put(id, Watch::default(), &"v");
            store.put_blob(id, b"out").expect("blob");
        }
        let week_ago = std::time::SystemTime::now() - std::time::Duration::from_hours(8 * 24);
        for path in [store.path(old), store.path(old).with_extension("blob")] {
            std::fs::File::options()
                .write(true)
                .open(&path)
                .expect("open")
                .set_modified(week_ago)
                .expect("mtime");
        }
        assert_eq!(store.gc(std::time::Duration::from_hours(7 * 24)), 1);
        assert!(!store.path(old).exists() && !store.path(old).with_extension("blob").exists());
        assert_eq!(
            store.get_unchecked::<String>(new).map(|v| v.0).as_deref(),
            Some("v")
        );
    }

    #[test]
    fn a_memo_is_served_until_a_watched_file_changes_or_it_is_damaged() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let base = tmp.path().join("src");
        fs_err::create_dir_all(&base).expect("mkdir");
        fs_err::write(base.join("a.yaml"), "a").expect("write");
        let store = MemoStore::new(&tmp.path().join("steps"));
        let id = MemoId::new("test", &[b"x"]);
        assert_ne!(id, MemoId::new("test", &[b"y"]));

        let mut racy = Watch::default();
        racy.add_path(&base, "a.yaml");
        store.put(id, racy, &"fresh");
        assert_eq!(
            store.get::<String>(id, &base).map(|v| v.0),
            None,
            "racy watches are not kept"
        );

        let mut old = Watch::default();
        old.add_trusted("a.yaml", Stamp::read(&base.join("a.yaml")));
        store.put(id, old, &"value");
        assert_eq!(
            store.get::<String>(id, &base).map(|v| v.0).as_deref(),
            Some("value")
        );

        let path = store.path(id);
        let mut bytes = fs_err::read(&path).expect("read");
        let last = bytes.len() - 3;
        bytes[last] ^= 1;
        fs_err::write(&path, &bytes).expect("write");
        assert_eq!(store.get::<String>(id, &base).map(|v| v.0), None, "damaged");

        // A memo copied over another's is refused.
        let other = MemoId::new("test", &[b"other"]);
        let mut old = Watch::default();
        old.add_trusted("a.yaml", Stamp::read(&base.join("a.yaml")));
        store.put(other, old, &"other value");
        fs_err::copy(store.path(other), &path).expect("copy");
        assert_eq!(store.get::<String>(id, &base).map(|v| v.0), None, "copied");

        let mut old = Watch::default();
        old.add_trusted("a.yaml", Stamp::read(&base.join("a.yaml")));
        store.put(id, old, &"value");
        fs_err::write(base.join("a.yaml"), "b").expect("write");
        assert_eq!(store.get::<String>(id, &base).map(|v| v.0), None, "changed");
    }
}
