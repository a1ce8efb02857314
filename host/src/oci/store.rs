//! The content-addressed store of pulled OCI blobs (manifests, configs,
//! wasm layers, signatures) under `$KILN_CACHE_DIR/oci-v1/`: each file is
//! named by its sha256 digest and checked against it whenever it is read,
//! so a render with a pinned digest works offline once pulled, and a
//! changed file in the cache is never used.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use sha2::Digest as _;

/// The store's directory under the cache directory; bump the version when
/// the layout changes.
const BUCKET: &str = "oci-v1";

/// The store of pulled blobs.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

/// The sha256 digest of `bytes`, as `sha256:HEX`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

impl Store {
    /// The store inside the kiln cache directory `cache_dir`.
    pub fn new(cache_dir: &Path) -> Self {
        Self {
            dir: cache_dir.join(BUCKET),
        }
    }

    fn blob_path(&self, digest: &str) -> Option<PathBuf> {
        let hex = digest
            .strip_prefix("sha256:")
            .filter(|_| super::reference::is_sha256_digest(digest))?;
        Some(self.dir.join("blobs").join("sha256").join(hex))
    }

    /// The blob of `digest`, when it is stored and still has that digest
    /// (a damaged file is removed).
    pub fn get(&self, digest: &str) -> Option<Vec<u8>> {
        let path = self.blob_path(digest)?;
        let bytes = fs_err::read(&path).ok()?;
        if sha256_digest(&bytes) == digest {
            return Some(bytes);
        }
        tracing::warn!(
            path = %path.display(),
            "a cached OCI blob does not match its digest; it is removed and pulled again"
        );
        let _ = fs_err::remove_file(&path);
        None
    }

    /// Stores `bytes` under `digest`, refusing bytes of another digest.
    pub fn put(&self, digest: &str, bytes: &[u8]) -> std::io::Result<()> {
        let Some(path) = self
            .blob_path(digest)
            .filter(|_| sha256_digest(bytes) == digest)
        else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("content does not match its digest {digest}"),
            ));
        };
        if path.is_file() {
            return Ok(());
        }
        write_atomic(&path, bytes)
    }

    fn signatures_path(&self, manifest_digest: &str) -> Option<PathBuf> {
        let hex = manifest_digest.strip_prefix("sha256:")?;
        super::reference::is_sha256_digest(manifest_digest)
            .then(|| self.dir.join("signatures").join(hex))
    }

    /// The digests of the signature manifests found for `manifest_digest`
    /// when it was pulled (their blobs are in the store).
    pub fn signatures(&self, manifest_digest: &str) -> Option<Vec<String>> {
        let text = fs_err::read_to_string(self.signatures_path(manifest_digest)?).ok()?;
        Some(
            text.lines()
                .filter(|l| super::reference::is_sha256_digest(l))
                .map(str::to_owned)
                .collect(),
        )
    }

    /// Records the signature manifests of `manifest_digest`.
    pub fn put_signatures(&self, manifest_digest: &str, found: &[String]) -> std::io::Result<()> {
        let Some(path) = self.signatures_path(manifest_digest) else {
            return Ok(());
        };
        let text = found.iter().fold(String::new(), |s, d| s + d + "\n");
        write_atomic(&path, text.as_bytes())
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory
/// and a rename, so a reader never sees half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    fs_err::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blob_is_served_only_while_it_matches_its_digest() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let digest = sha256_digest(b"wasm");
        assert!(store.put(&digest, b"other").is_err());
        store.put(&digest, b"wasm").unwrap();
        assert_eq!(store.get(&digest).as_deref(), Some(&b"wasm"[..]));
        let path = store.blob_path(&digest).unwrap();
        fs_err::write(&path, b"tampered").unwrap();
        assert_eq!(store.get(&digest), None);
        assert!(!path.exists());
    }
}
