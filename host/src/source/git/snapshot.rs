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
}

fn trees_dir(cache_dir: &Path) -> PathBuf {
    cache_dir.join("git-v0").join("trees")
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

fn write_tree(repo: &gix::Repository, tree: &gix::Tree<'_>, dir: &Path) -> Result<(), Error> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    for entry in tree.iter() {
        let entry = entry.map_err(Error::Objects)?;
        let name = entry.filename().to_string();
        if name.is_empty()
            || name == "."
            || name == ".."
            || name.contains(['/', '\\'])
            || name == ".git"
        {
            continue;
        }
        let path = dir.join(&name);
        let mode = entry.mode();
        if mode.is_tree() {
            fs_err::create_dir(&path).map_err(io(&path))?;
            let sub = repo
                .find_tree(entry.oid().to_owned())
                .map_err(Error::Objects)?;
            write_tree(repo, &sub, &path)?;
        } else if mode.is_link() {
            let blob = repo
                .find_blob(entry.oid().to_owned())
                .map_err(Error::Objects)?;
            let target = String::from_utf8_lossy(&blob.data).into_owned();
            link(&target, &path).map_err(io(&path))?;
        } else if mode.is_blob() {
            let blob = repo
                .find_blob(entry.oid().to_owned())
                .map_err(Error::Objects)?;
            fs_err::write(&path, &blob.data).map_err(io(&path))?;
        }
        // Submodules (commits) are not part of the snapshot.
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
    fs_err::write(path, target)
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
