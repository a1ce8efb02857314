//! Reading files under a kustomization root with kustomize's root-only
//! restriction, and recognising kustomization files.
//!
//! Every file a build reads goes through [`Loader::read`]; a [`Layer`] of
//! decrypted files (from the sops step's `DecryptedFile` documents) is
//! consulted there before the disk.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

/// File contents that replace the disk's, by absolute cleaned path.
pub(crate) type Layer = Rc<BTreeMap<PathBuf, Vec<u8>>>;

/// Names a kustomization file may have, in the order kustomize tries them.
pub(crate) const KUSTOMIZATION_FILES: &[&str] =
    &["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("security; file '{file}' is not in or below '{root}'")]
    OutsideRoot { file: String, root: String },
    #[error("file '{file}' is outside the source root '{root}'")]
    OutsideSource { file: String, root: String },
    #[error("remote resource {0} cannot be loaded: plugins have no network access")]
    Remote(String),
    #[error("cannot read '{file}': {message}")]
    Read { file: String, message: String },
    #[error("file '{0}' doesn't exist")]
    Missing(String),
}

/// Lexically normalises a path (no symlink resolution).
pub(crate) fn clean(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Whether a reference names a remote location (git or http).
pub(crate) fn is_remote(s: &str) -> bool {
    s.contains("://")
        || s.starts_with("git@")
        || s.starts_with("github.com/")
        || s.starts_with("gitlab.com/")
        || s.starts_with("bitbucket.org/")
}

/// Reads files relative to one kustomization directory.
#[derive(Debug, Clone)]
pub(crate) struct Loader {
    /// The source root nothing may escape.
    pub source_root: PathBuf,
    /// The kustomization directory (absolute, cleaned).
    pub dir: PathBuf,
    /// Files read from here instead of the disk.
    layer: Layer,
}

impl Loader {
    pub(crate) fn new(source_root: &Path, dir: &Path, layer: Layer) -> Self {
        Self {
            source_root: clean(source_root),
            dir: clean(dir),
            layer,
        }
    }

    /// Whether `p` (absolute, cleaned) is a file: in the layer or on disk.
    pub(crate) fn is_file(&self, p: &Path) -> bool {
        self.layer.contains_key(p) || p.is_file()
    }

    /// A path relative to the source root, for messages.
    pub(crate) fn display(&self, p: &Path) -> String {
        let rel = p.strip_prefix(&self.source_root).unwrap_or(p);
        let s = rel.to_string_lossy().into_owned();
        if s.is_empty() { ".".into() } else { s }
    }

    /// Resolves `rel` against this directory, checking the source root.
    pub(crate) fn resolve(&self, rel: &str) -> Result<PathBuf, Error> {
        if is_remote(rel) {
            return Err(Error::Remote(rel.to_owned()));
        }
        let p = clean(&self.dir.join(rel));
        if !p.starts_with(&self.source_root) {
            return Err(Error::OutsideSource {
                file: rel.to_owned(),
                root: self.display(&self.source_root),
            });
        }
        Ok(p)
    }

    /// Reads a file that must lie in or below this directory.
    pub(crate) fn read(&self, rel: &str) -> Result<Vec<u8>, Error> {
        let p = self.resolve(rel)?;
        if !p.starts_with(&self.dir) {
            return Err(Error::OutsideRoot {
                file: self.display(&p),
                root: self.display(&self.dir),
            });
        }
        if let Some(bytes) = self.layer.get(&p) {
            return Ok(bytes.clone());
        }
        std::fs::read(&p).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::Missing(self.display(&p))
            } else {
                Error::Read {
                    file: self.display(&p),
                    message: e.to_string(),
                }
            }
        })
    }

    pub(crate) fn read_string(&self, rel: &str) -> Result<String, Error> {
        let bytes = self.read(rel)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// A loader for a subdirectory (a base or component).
    pub(crate) fn sub(&self, rel: &str) -> Result<Loader, Error> {
        let p = self.resolve(rel)?;
        Ok(Loader {
            source_root: self.source_root.clone(),
            dir: p,
            layer: Rc::clone(&self.layer),
        })
    }
}
