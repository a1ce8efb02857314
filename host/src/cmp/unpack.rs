//! Unpacking the repository tarball Argo CD streams, with nothing escaping
//! the destination.
//!
//! Argo CD's own receiver checks each entry's path and symlink target, and
//! sets modes to 0644/0755; it has no size limit. This one also refuses
//! hard links and symlinks that lead out, devices and FIFOs, never writes
//! through a symlink, and caps the bytes, the entries and the compression
//! ratio (a tar bomb stops at the cap, not when the disk is full).

use std::cell::Cell;
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

/// The caps of one tarball.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// Largest gzipped tarball accepted, in bytes.
    pub stream_bytes: u64,
    /// Largest unpacked tar stream (headers and contents), plus the copies
    /// hard links are unpacked as, in bytes.
    pub unpacked_bytes: u64,
    /// Most entries (files, directories, links).
    pub entries: u64,
    /// Largest ratio of unpacked to gzipped bytes, once past
    /// [`Self::RATIO_FLOOR`] unpacked bytes.
    pub ratio: u64,
}

impl Caps {
    /// Unpacked bytes under which the ratio is not checked: a small repository
    /// of tiny files compresses far better than a large one.
    pub const RATIO_FLOOR: u64 = 8 << 20;
}

impl Default for Caps {
    /// 256 MiB streamed (Argo CD's gRPC messages stop at 100 MiB each, but
    /// a stream has many), 1 GiB unpacked, 100,000 entries, ratio 100.
    fn default() -> Self {
        Self {
            stream_bytes: 256 << 20,
            unpacked_bytes: 1 << 30,
            entries: 100_000,
            ratio: 100,
        }
    }
}

/// Why a tarball was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Not a gzipped tar stream.
    #[error("the tarball is not a gzipped tar stream")]
    Format(#[source] std::io::Error),
    /// An entry's path is absolute or has `..`.
    #[error("tarball entry `{0}` is outside the app's source tree (absolute or with `..`)")]
    Escape(String),
    /// A symlink leads outside the destination.
    #[error("tarball symlink `{entry}` -> `{target}` leads outside the source tree")]
    SymlinkOut {
        /// The link.
        entry: String,
        /// Its target, as written.
        target: String,
    },
    /// A hard link names something outside, or not a file unpacked before it.
    #[error("tarball hard link `{entry}` -> `{target}` does not name a file unpacked before it")]
    HardLinkOut {
        /// The link.
        entry: String,
        /// Its target, as written.
        target: String,
    },
    /// An entry would be written through a symlink.
    #[error("tarball entry `{0}` would be written through a symlink")]
    ThroughSymlink(String),
    /// A device, FIFO or other special entry.
    #[error(
        "tarball entry `{entry}` is a {kind}; only files, directories and symlinks are accepted"
    )]
    Special {
        /// The entry.
        entry: String,
        /// What it is.
        kind: &'static str,
    },
    /// An entry replaces one of another kind.
    #[error("tarball entry `{0}` clashes with an earlier entry of another kind")]
    Clash(String),
    /// Too many bytes unpacked.
    #[error("the tarball unpacks to more than {cap} bytes")]
    TooLarge {
        /// The cap.
        cap: u64,
    },
    /// Too many entries.
    #[error("the tarball has more than {cap} entries")]
    TooManyEntries {
        /// The cap.
        cap: u64,
    },
    /// Compression ratio past the cap: a tar bomb.
    #[error("the tarball unpacks to over {cap} times its gzipped size (a tar bomb?)")]
    Ratio {
        /// The cap.
        cap: u64,
    },
    /// Writing the unpacked tree failed.
    #[error("cannot write `{entry}` of the tarball")]
    Io {
        /// The entry.
        entry: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// Whether a cap was hit (rather than the tarball being malformed or hostile).
    pub fn is_cap(&self) -> bool {
        matches!(
            self,
            Self::TooLarge { .. } | Self::TooManyEntries { .. } | Self::Ratio { .. }
        )
    }
}

/// What was unpacked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unpacked {
    /// Regular files written.
    pub files: u64,
    /// Bytes of the tar stream read.
    pub bytes: u64,
}

/// Unpacks the gzipped tarball `gz` (of `gz_len` bytes) into `dest`, an
/// empty directory.
pub fn unpack(gz: impl Read, gz_len: u64, dest: &Path, caps: Caps) -> Result<Unpacked, Error> {
    let hit = Rc::new(Cell::new(None));
    let read = Rc::new(Cell::new(0));
    let counter = Counter {
        inner: flate2::read::GzDecoder::new(gz),
        read: Rc::clone(&read),
        gz_len: gz_len.max(1),
        caps,
        hit: Rc::clone(&hit),
    };
    let fail = |e: std::io::Error, entry: Option<&str>| read_error(e, entry, hit.get());
    let mut archive = tar::Archive::new(counter);
    let mut links: Vec<(PathBuf, String, String)> = Vec::new();
    let mut done = Unpacked::default();
    let mut entries = 0u64;
    // Bytes written by hard-link copies, which the tar stream does not carry.
    let mut copied = 0u64;
    let iter = archive.entries().map_err(|e| fail(e, None))?;
    for entry in iter {
        let mut entry = entry.map_err(|e| fail(e, None))?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let Some(rel) = relative(&raw)? else {
            continue;
        };
        entries += 1;
        if entries > caps.entries {
            return Err(Error::TooManyEntries { cap: caps.entries });
        }
        let target = dest.join(&rel);
        let io = |source| Error::Io {
            entry: raw.clone(),
            source,
        };
        let kind = entry.header().entry_type();
        match kind {
            tar::EntryType::Directory => {
                make_dirs(dest, &rel, &raw)?;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                if let Some(parent) = rel.parent() {
                    make_dirs(dest, parent, &raw)?;
                }
                check_replaceable(&target, &raw, false)?;
                // A later entry of the same name replaces the file, as tar
                // does: it is still one file.
                let new = fs_err::symlink_metadata(&target).is_err();
                let mut file = fs_err::File::create(&target).map_err(io)?;
                std::io::copy(&mut entry, &mut file).map_err(|e| fail(e, Some(&raw)))?;
                done.files += u64::from(new);
            }
            tar::EntryType::Symlink => {
                let link = entry
                    .link_name_bytes()
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                if link.is_empty() || Path::new(&link).is_absolute() {
                    return Err(Error::SymlinkOut {
                        entry: raw,
                        target: link,
                    });
                }
                // Made once every file is in place, then checked against
                // the final tree, so no later entry can redirect them.
                links.push((rel, raw, link));
            }
            tar::EntryType::Link => {
                let link = entry
                    .link_name_bytes()
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                let out = || Error::HardLinkOut {
                    entry: raw.clone(),
                    target: link.clone(),
                };
                let source = relative(&link).map_err(|_| out())?.ok_or_else(out)?;
                let from = dest.join(&source);
                if !is_plain_file_inside(dest, &source) {
                    return Err(out());
                }
                if let Some(parent) = rel.parent() {
                    make_dirs(dest, parent, &raw)?;
                }
                check_replaceable(&target, &raw, false)?;
                // A copy, not a link: the unpacked tree shares no inode. Its
                // bytes count against the size cap like the stream's.
                let len = fs_err::metadata(&from).map_err(io)?.len();
                copied = copied.saturating_add(len);
                if read.get().saturating_add(copied) > caps.unpacked_bytes {
                    return Err(Error::TooLarge {
                        cap: caps.unpacked_bytes,
                    });
                }
                let new = fs_err::symlink_metadata(&target).is_err();
                fs_err::copy(&from, &target).map_err(io)?;
                done.files += u64::from(new);
            }
            tar::EntryType::XGlobalHeader | tar::EntryType::XHeader => {}
            other => {
                return Err(Error::Special {
                    entry: raw,
                    kind: special_kind(other),
                });
            }
        }
    }
    for (rel, raw, link) in &links {
        if let Some(parent) = rel.parent() {
            make_dirs(dest, parent, raw)?;
        }
        let target = dest.join(rel);
        check_replaceable(&target, raw, true)?;
        symlink(link, &target).map_err(|source| Error::Io {
            entry: raw.clone(),
            source,
        })?;
    }
    for (rel, raw, link) in &links {
        if !resolves_inside(dest, rel) {
            return Err(Error::SymlinkOut {
                entry: raw.clone(),
                target: link.clone(),
            });
        }
    }
    done.bytes = read.get();
    Ok(done)
}

#[cfg(unix)]
fn symlink(link: &str, at: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(link, at)
}

#[cfg(not(unix))]
fn symlink(_link: &str, _at: &Path) -> std::io::Result<()> {
    Err(std::io::Error::other("symlinks are only unpacked on Unix"))
}

/// The entry's path as a relative path with normal components only;
/// `None` for the root (`.`).
fn relative(raw: &str) -> Result<Option<PathBuf>, Error> {
    let path = Path::new(raw);
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(c) => out.push(c),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(Error::Escape(raw.to_owned()));
            }
        }
    }
    Ok((!out.as_os_str().is_empty()).then_some(out))
}

/// Creates the directories of `rel` under `dest`, refusing to go through
/// anything but a real directory.
fn make_dirs(dest: &Path, rel: &Path, raw: &str) -> Result<(), Error> {
    let mut at = dest.to_path_buf();
    for component in rel.components() {
        at.push(component);
        match fs_err::symlink_metadata(&at) {
            Ok(m) if m.is_dir() => {}
            Ok(m) if m.file_type().is_symlink() => {
                return Err(Error::ThroughSymlink(raw.to_owned()));
            }
            Ok(_) => return Err(Error::Clash(raw.to_owned())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                fs_err::create_dir(&at).map_err(|source| Error::Io {
                    entry: raw.to_owned(),
                    source,
                })?;
            }
            Err(source) => {
                return Err(Error::Io {
                    entry: raw.to_owned(),
                    source,
                });
            }
        }
    }
    Ok(())
}

/// A file (or, with `fresh`, any entry) may be written at `target`: nothing
/// is there, or (not `fresh`) a regular file an earlier entry wrote.
fn check_replaceable(target: &Path, raw: &str, fresh: bool) -> Result<(), Error> {
    match fs_err::symlink_metadata(target) {
        Err(_) => Ok(()),
        Ok(m) if m.is_file() && !fresh => Ok(()),
        Ok(m) if m.file_type().is_symlink() => Err(Error::ThroughSymlink(raw.to_owned())),
        Ok(_) => Err(Error::Clash(raw.to_owned())),
    }
}

/// Whether `rel` names a regular file under `dest` reached through real
/// directories only.
fn is_plain_file_inside(dest: &Path, rel: &Path) -> bool {
    let mut at = dest.to_path_buf();
    let count = rel.components().count();
    for (i, component) in rel.components().enumerate() {
        at.push(component);
        match fs_err::symlink_metadata(&at) {
            Ok(m) if i + 1 == count => return m.is_file(),
            Ok(m) if m.is_dir() => {}
            _ => return false,
        }
    }
    false
}

/// Whether the symlink at `rel` (under `dest`), followed link by link as
/// the kernel would, ends inside `dest`. A missing component ends the walk
/// where it is (a dangling link inside is harmless).
fn resolves_inside(dest: &Path, rel: &Path) -> bool {
    // The walk: a stack of normal components under `dest`, and the
    // components still to follow.
    let mut stack: Vec<std::ffi::OsString> = Vec::new();
    let mut todo: Vec<std::ffi::OsString> = rel
        .components()
        .rev()
        .map(|c| c.as_os_str().to_owned())
        .collect();
    let mut hops = 0;
    while let Some(next) = todo.pop() {
        match Path::new(&next).components().next() {
            Some(Component::ParentDir) => {
                if stack.pop().is_none() {
                    return false;
                }
                continue;
            }
            Some(Component::Normal(_)) => {}
            Some(Component::CurDir) | None => continue,
            Some(Component::RootDir | Component::Prefix(_)) => return false,
        }
        stack.push(next);
        let here: PathBuf = std::iter::once(dest.as_os_str())
            .chain(stack.iter().map(std::ffi::OsString::as_os_str))
            .collect();
        match fs_err::symlink_metadata(&here) {
            Ok(m) if m.file_type().is_symlink() => {
                hops += 1;
                if hops > 40 {
                    return false;
                }
                let Ok(link) = fs_err::read_link(&here) else {
                    return false;
                };
                if link.is_absolute() {
                    return false;
                }
                stack.pop();
                todo.extend(link.components().rev().map(|c| c.as_os_str().to_owned()));
            }
            // A directory or file, or missing (what follows is then
            // resolved lexically).
            _ => {}
        }
    }
    true
}

fn special_kind(kind: tar::EntryType) -> &'static str {
    match kind {
        tar::EntryType::Char => "character device",
        tar::EntryType::Block => "block device",
        tar::EntryType::Fifo => "FIFO",
        tar::EntryType::GNUSparse => "sparse file",
        _ => "special entry",
    }
}

/// An error reading the tar stream: a cap the counter hit, else a format error.
fn read_error(e: std::io::Error, entry: Option<&str>, hit: Option<Cap>) -> Error {
    if let Some(cap) = hit {
        return cap.to_error();
    }
    match entry {
        Some(entry) if e.kind() != std::io::ErrorKind::InvalidData => Error::Io {
            entry: entry.to_owned(),
            source: e,
        },
        _ => Error::Format(e),
    }
}

/// A cap hit inside the reader, carried through `std::io::Error`.
#[derive(Debug, Clone, Copy)]
struct CapHit(Cap);

impl std::fmt::Display for CapHit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.to_error())
    }
}

impl std::error::Error for CapHit {}

#[derive(Debug, Clone, Copy)]
enum Cap {
    Size(u64),
    Ratio(u64),
}

impl Cap {
    fn to_error(self) -> Error {
        match self {
            Self::Size(cap) => Error::TooLarge { cap },
            Self::Ratio(cap) => Error::Ratio { cap },
        }
    }
}

/// Counts the bytes the gzip decoder yields and stops at the caps.
struct Counter<R> {
    inner: R,
    read: Rc<Cell<u64>>,
    gz_len: u64,
    caps: Caps,
    hit: Rc<Cell<Option<Cap>>>,
}

impl<R: Read> Read for Counter<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if let Some(cap) = self.hit.get() {
            return Err(std::io::Error::other(CapHit(cap)));
        }
        let n = self.inner.read(buf)?;
        let read = self.read.get() + n as u64;
        self.read.set(read);
        let cap = if read > self.caps.unpacked_bytes {
            Some(Cap::Size(self.caps.unpacked_bytes))
        } else if read > Caps::RATIO_FLOOR && read / self.gz_len > self.caps.ratio {
            Some(Cap::Ratio(self.caps.ratio))
        } else {
            None
        };
        if let Some(cap) = cap {
            self.hit.set(Some(cap));
            return Err(std::io::Error::other(CapHit(cap)));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests;
