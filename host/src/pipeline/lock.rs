//! `kiln.lock`: the plugins of an app's `kiln.yaml`, pinned.
//!
//! It sits next to `kiln.yaml` in the app directory (one per pipeline,
//! as `Cargo.lock` sits next to `Cargo.toml`), is written by
//! `kiln plugin add` and `kiln plugin update`, and is meant to be
//! committed. An OCI plugin is pinned by its manifest digest (what a
//! render pulls), the digest of its wasm layer and kiln's blake3 of the
//! wasm; a plugin in the repository by its blake3.
//!
//! ```yaml
//! # kiln.lock: written by `kiln plugin add` and `kiln plugin update`; commit it.
//! version: 1
//! plugins:
//! - source: "oci://ghcr.io/acme/team-label:1.2.0"
//!   digest: "sha256:54f2…"
//!   wasm: "sha256:4fe4…"
//!   blake3: "8c1e…"
//! - source: "plugins/local.wasm"
//!   blake3: "77a0…"
//! ```
//!
//! Entries are sorted by `source`, the plugin reference exactly as
//! `kiln.yaml` writes it; the file is replaced atomically.
use std::fmt::Write as _;

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The name of the lock file in an app directory.
pub const FILE_NAME: &str = "kiln.lock";
/// The only `version` this kiln reads and writes.
pub const VERSION: u32 = 1;

/// A parsed `kiln.lock`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    /// Must be [`VERSION`].
    pub version: u32,
    /// The pinned plugins, sorted by `source`.
    #[serde(default)]
    pub plugins: Vec<Entry>,
}

/// One pinned plugin.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The plugin reference as `kiln.yaml` writes it.
    pub source: String,
    /// The OCI manifest digest (`sha256:…`), for an OCI plugin.
    #[serde(default)]
    pub digest: Option<String>,
    /// The digest of the OCI wasm layer, for an OCI plugin.
    #[serde(default)]
    pub wasm: Option<String>,
    /// blake3 of the plugin's wasm bytes, hex.
    pub blake3: String,
}

/// `kiln.lock` could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing failed.
    #[error("cannot {action} {}", .path.display())]
    Io {
        /// Read or write.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Not a lock file of this kiln.
    #[error("{}: {message}", .path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl Lock {
    /// The lock file of the app directory `dir`.
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(FILE_NAME)
    }

    /// Reads the lock of app directory `dir`; `None` when there is none.
    pub fn read(dir: &Path) -> Result<Option<Self>, Error> {
        let path = Self::path(dir);
        let text = match crate::source::read_config(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(Error::Io {
                    action: "read",
                    path,
                    source,
                });
            }
        };
        let shown = path.display().to_string();
        let lock: Self =
            kiln_resource::yaml::from_str(&text, &shown).map_err(|e| Error::Invalid {
                path: path.clone(),
                message: format!("{}:{}: {}", e.line, e.column, e.message),
            })?;
        if lock.version != VERSION {
            return Err(Error::Invalid {
                path,
                message: format!(
                    "version {} is not the lock format {VERSION} this kiln reads",
                    lock.version
                ),
            });
        }
        Ok(Some(lock))
    }

    /// The entry of `source`, if any.
    pub fn get(&self, source: &str) -> Option<&Entry> {
        self.plugins.iter().find(|e| e.source == source)
    }

    /// Adds `entry`, replacing the entry of the same source.
    pub fn insert(&mut self, entry: Entry) {
        self.plugins.retain(|e| e.source != entry.source);
        self.plugins.push(entry);
        self.plugins.sort_by(|a, b| a.source.cmp(&b.source));
    }

    /// The file's text: sorted entries, each string JSON-quoted (valid
    /// YAML).
    pub fn to_text(&self) -> String {
        let q = |s: &str| serde_json::to_string(s).expect("strings always serialize");
        let mut entries = self.plugins.clone();
        entries.sort_by(|a, b| a.source.cmp(&b.source));
        let mut out = format!(
            "# {FILE_NAME}: the plugins of kiln.yaml, pinned. Written by `kiln plugin add` and\n\
             # `kiln plugin update`; commit it. Renders use these digests and never resolve a tag.\n\
             version: {VERSION}\nplugins:"
        );
        if entries.is_empty() {
            out.push_str(" []");
        }
        out.push('\n');
        for e in &entries {
            let _ = writeln!(out, "- source: {}", q(&e.source));
            if let Some(d) = &e.digest {
                let _ = writeln!(out, "  digest: {}", q(d));
            }
            if let Some(w) = &e.wasm {
                let _ = writeln!(out, "  wasm: {}", q(w));
            }
            let _ = writeln!(out, "  blake3: {}", q(&e.blake3));
        }
        out
    }

    /// Writes the lock into app directory `dir` (a temporary file, then a
    /// rename).
    pub fn write(&self, dir: &Path) -> Result<(), Error> {
        let path = Self::path(dir);
        crate::oci::store::write_atomic(&path, self.to_text().as_bytes()).map_err(|source| {
            Error::Io {
                action: "write",
                path,
                source,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_reads_back_what_it_wrote_sorted() {
        let dir = tempfile::tempdir().unwrap();
        let mut lock = Lock {
            version: VERSION,
            plugins: Vec::new(),
        };
        lock.insert(Entry {
            source: "plugins/z.wasm".into(),
            digest: None,
            wasm: None,
            blake3: "ab".into(),
        });
        lock.insert(Entry {
            source: "oci://r.example/a:1 \"quoted\"".into(),
            digest: Some("sha256:00".into()),
            wasm: Some("sha256:11".into()),
            blake3: "cd".into(),
        });
        lock.write(dir.path()).unwrap();
        let back = Lock::read(dir.path()).unwrap().unwrap();
        assert_eq!(back, lock);
        assert_eq!(back.plugins[0].source, "oci://r.example/a:1 \"quoted\"");
        let text = fs_err::read_to_string(Lock::path(dir.path())).unwrap();
        assert!(text.contains("version: 1\n"), "{text}");
    }

    #[test]
    fn another_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        fs_err::write(Lock::path(dir.path()), "version: 2\nplugins: []\n").unwrap();
        let err = Lock::read(dir.path()).unwrap_err().to_string();
        assert!(err.contains("version 2"), "{err}");
        assert!(Lock::read(&dir.path().join("none")).unwrap().is_none());
    }
}
