//! Content-addressed snapshots of git trees: `<cache>/git-v0/trees/<id>`,
//! written into a temporary sibling and renamed into place, so a snapshot
//! that exists is complete, and reused as is. A snapshot's mtime is
//! refreshed on use, for `kiln cache gc`.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Writing a snapshot failed.
#[derive(Debug)]
pub(super) enum Error {
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    Objects(gix::Error),
    /// The tree passes a bound of [`Bounds`]: why.
    TooLarge(String),
}

/// What a snapshot may hold. A tree names its subtrees and blobs by id, so
/// a commit of a few kilobytes can name the same large blob a thousand
/// times, or a tree of ten subtrees each naming the next ten levels down
/// (10^10 files): written out, either fills the disk. A tree is measured,
/// each distinct subtree once, before anything is written.
#[derive(Debug, Clone, Copy)]
struct Bounds {
    /// Files, links and directories in all.
    entries: u64,
    /// Bytes of files in all.
    bytes: u64,
    /// Directories nested in one another.
    depth: u64,
}

impl Bounds {
    /// Far beyond any repository rendered whole (a large monorepo holds a
    /// few hundred thousand files), far below what fills a disk.
    const DEFAULT: Self = Self {
        entries: 2_000_000,
        bytes: 8 << 30,
        depth: 256,
    };
}

/// What a tree holds once written out: entries, bytes, and its height.
#[derive(Debug, Clone, Copy, Default)]
struct Size {
    entries: u64,
    bytes: u64,
    height: u64,
}

/// Checks that `tree` fits in `bounds`, reading each distinct subtree once.
fn measure(repo: &gix::Repository, tree: &gix::Tree<'_>, bounds: Bounds) -> Result<(), Error> {
    let mut seen = std::collections::HashMap::new();
    let size = measure_at(repo, tree, 0, bounds, &mut seen)?;
    check(size, 0, bounds)
}

fn check(size: Size, depth: u64, bounds: Bounds) -> Result<(), Error> {
    if depth.saturating_add(size.height) > bounds.depth {
        return Err(Error::TooLarge(format!(
            "directories nest more than {} deep",
            bounds.depth
        )));
    }
    if size.entries > bounds.entries {
        return Err(Error::TooLarge(format!(
            "it holds {}{} files and directories, more than the limit of {}",
            if size.entries == u64::MAX {
                "over "
            } else {
                ""
            },
            size.entries,
            bounds.entries
        )));
    }
    if size.bytes > bounds.bytes {
        return Err(Error::TooLarge(format!(
            "its files hold {}{} bytes, more than the limit of {}",
            if size.bytes == u64::MAX { "over " } else { "" },
            size.bytes,
            bounds.bytes
        )));
    }
    Ok(())
}

fn measure_at(
    repo: &gix::Repository,
    tree: &gix::Tree<'_>,
    depth: u64,
    bounds: Bounds,
    seen: &mut std::collections::HashMap<gix::ObjectId, Size>,
) -> Result<Size, Error> {
    let mut size = Size::default();
    for entry in tree.iter() {
        let entry = entry.map_err(Error::Objects)?;
        if entry.filename().eq_ignore_ascii_case(b".git") {
            continue;
        }
        let mode = entry.mode();
        let id = entry.oid().to_owned();
        let sub = if mode.is_tree() {
            if let Some(known) = seen.get(&id) {
                *known
            } else {
                // Deeper than the bound: refused before going further down.
                if depth >= bounds.depth {
                    return Err(Error::TooLarge(format!(
                        "directories nest more than {} deep",
                        bounds.depth
                    )));
                }
                let subtree = repo.find_tree(id).map_err(Error::Objects)?;
                let found = measure_at(repo, &subtree, depth + 1, bounds, seen)?;
                seen.insert(id, found);
                found
            }
        } else if mode.is_blob() {
            let header = repo.find_header(id).map_err(Error::Objects)?;
            Size {
                entries: 0,
                bytes: header.size(),
                height: 0,
            }
        } else {
            Size::default()
        };
        size.entries = size.entries.saturating_add(1).saturating_add(sub.entries);
        size.bytes = size.bytes.saturating_add(sub.bytes);
        if mode.is_tree() {
            size.height = size.height.max(sub.height.saturating_add(1));
        }
        check(size, depth, bounds)?;
    }
    Ok(size)
}

fn trees_dir(cache_dir: &Path) -> PathBuf {
    cache_dir.join("git-v0").join("trees")
}

/// Whether `dir` is a snapshot under `cache_dir`: `trees/<tree id>`.
pub(super) fn is_snapshot(dir: &Path, cache_dir: &Path) -> bool {
    let named = dir
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| matches!(n.len(), 40 | 64) && n.bytes().all(|b| b.is_ascii_hexdigit()));
    named
        && dir.parent().is_some_and(|parent| {
            let base = trees_dir(cache_dir);
            parent == base
                || base
                    .canonicalize()
                    .is_ok_and(|b| parent.canonicalize().is_ok_and(|p| p == b))
        })
}

/// The directory holding `tree`'s files, written if absent.
pub(super) fn materialise(
    repo: &gix::Repository,
    tree: &gix::Tree<'_>,
    cache_dir: &Path,
) -> Result<PathBuf, Error> {
    let base = trees_dir(cache_dir);
    let dir = base.join(tree.id.to_string());
    if dir.is_dir() {
        let _ = std::fs::File::open(&dir).and_then(|f| f.set_modified(SystemTime::now()));
        return Ok(dir);
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    measure(repo, tree, Bounds::DEFAULT)?;
    fs_err::create_dir_all(&base).map_err(io(&base))?;
    let staging = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempdir_in(&base)
        .map_err(io(&base))?;
    write_tree(repo, tree, staging.path())?;
    let staged = staging.keep();
    match fs_err::rename(&staged, &dir) {
        Ok(()) => {}
        // Another process put the same snapshot in place first.
        Err(_) if dir.is_dir() => {
            let _ = fs_err::remove_dir_all(&staged);
        }
        Err(e) => {
            return Err(Error::Io {
                path: dir,
                source: e,
            });
        }
    }
    dir.canonicalize().map_err(io(&dir))
}

/// Blobs larger than this are streamed from `git cat-file` into their
/// file rather than decoded in memory (gix decodes an object whole).
const STREAM_THRESHOLD: u64 = 16 << 20;

/// Writes the entries of `tree` into `dir`, a directory this process just
/// created. Every file, link and directory is created new: an entry never
/// replaces or writes through one written before (a tree naming a link and
/// then a file of the same name is refused), and names that could leave
/// the directory (`..`, `/`) are refused; `.git` is left out.
fn write_tree(repo: &gix::Repository, tree: &gix::Tree<'_>, dir: &Path) -> Result<(), Error> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    let mut names = std::collections::HashSet::new();
    for entry in tree.iter() {
        let entry = entry.map_err(Error::Objects)?;
        let name = entry.filename().to_string();
        let path = dir.join(&name);
        // Git refuses to check out a `.git` entry; it is left out.
        if name.eq_ignore_ascii_case(".git") {
            continue;
        }
        if let Err(why) = check_name(&name) {
            return Err(Error::Io {
                path,
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, why),
            });
        }
        if !names.insert(name.clone()) {
            return Err(Error::Io {
                path,
                source: std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "the tree names this entry twice; the commit is malformed",
                ),
            });
        }
        let mode = entry.mode();
        if mode.is_tree() {
            fs_err::create_dir(&path).map_err(io(&path))?;
            let sub = repo
                .find_tree(entry.oid().to_owned())
                .map_err(Error::Objects)?;
            write_tree(repo, &sub, &path)?;
        } else if mode.is_link() {
            // A link's target is a path: no longer than the system takes.
            let header = repo
                .find_header(entry.oid().to_owned())
                .map_err(Error::Objects)?;
            if header.size() > 4096 {
                return Err(Error::Io {
                    path,
                    source: std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "a link whose target is longer than 4096 bytes; the commit is malformed",
                    ),
                });
            }
            let blob = repo
                .find_blob(entry.oid().to_owned())
                .map_err(Error::Objects)?;
            let target = String::from_utf8_lossy(&blob.data).into_owned();
            link(&target, &path).map_err(io(&path))?;
        } else if mode.is_blob() {
            write_blob(repo, entry.oid(), &path)?;
        }
        // Submodules (commits) are not part of the snapshot.
    }
    Ok(())
}

/// Why a tree entry's name cannot be written, if it cannot.
fn check_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name == "." || name == ".." {
        return Err("a tree entry named `.`, `..` or nothing; the commit is malformed");
    }
    if name.contains(['/', '\\', '\0']) {
        return Err("a tree entry whose name holds `/`, `\\` or NUL; the commit is malformed");
    }
    Ok(())
}

/// A new file at `path` (never an existing one, never through a link).
fn create_new(path: &Path) -> std::io::Result<fs_err::File> {
    let mut options = fs_err::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use fs_err::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(rustix::fs::OFlags::NOFOLLOW.bits().cast_signed());
    }
    options.open(path)
}

/// Writes the blob `id` into a new file at `path`; a large blob is streamed.
fn write_blob(repo: &gix::Repository, id: &gix::oid, path: &Path) -> Result<(), Error> {
    use std::io::Write as _;
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let header = repo.find_header(id.to_owned()).map_err(Error::Objects)?;
    let mut file = create_new(path).map_err(io)?;
    if header.size() > STREAM_THRESHOLD {
        return stream_blob(repo, id, &mut file, header.size()).map_err(io);
    }
    let blob = repo.find_blob(id.to_owned()).map_err(Error::Objects)?;
    file.write_all(&blob.data).map_err(io)
}

/// Copies a blob of `size` bytes into `file` through `git cat-file`, so
/// that its bytes never sit in memory at once.
fn stream_blob(
    repo: &gix::Repository,
    id: &gix::oid,
    file: &mut fs_err::File,
    size: u64,
) -> std::io::Result<()> {
    let mut child = std::process::Command::new("git")
        .arg("--git-dir")
        .arg(repo.git_dir())
        .args(["cat-file", "blob"])
        .arg(id.to_string())
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!(
                    "a file of {size} bytes is streamed through `git cat-file`, which cannot run ({e}); install git"
                ),
            )
        })?;
    let copied = match child.stdout.take() {
        Some(mut out) => std::io::copy(&mut out, file),
        None => Ok(0),
    };
    let status = child.wait()?;
    let copied = copied?;
    if !status.success() || copied != size {
        return Err(std::io::Error::other(format!(
            "`git cat-file blob {id}` gave {copied} of {size} bytes ({status})"
        )));
    }
    Ok(())
}

#[cfg(unix)]
fn link(target: &str, path: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, path)
}

#[cfg(not(unix))]
fn link(target: &str, path: &Path) -> std::io::Result<()> {
    // Without symlinks, keep the link's text as a file, as git does.
    use std::io::Write as _;
    create_new(path)?.write_all(target.as_bytes())
}

/// Removes snapshots (and left-over staging dirs) unused for `max_age`.
pub(super) fn gc(cache_dir: &Path, max_age: Duration) -> usize {
    let Ok(entries) = fs_err::read_dir(trees_dir(cache_dir)) else {
        return 0;
    };
    let now = SystemTime::now();
    let mut removed = 0;
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| now.duration_since(t).unwrap_or_default() > max_age);
        if old && fs_err::remove_dir_all(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}
