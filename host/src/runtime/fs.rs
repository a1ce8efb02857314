//! The changes kiln makes to WASI's file system: a plugin may open only
//! regular files and directories under `/src`, and never sees a `.git`.
//!
//! File reads run on the calling thread (see `sandbox`), so an open that
//! blocks would hold the call past its time bound where no timer can stop
//! it: opening a FIFO blocks until a writer comes, reading a terminal or
//! some devices blocks for input. The target is looked up (without opening
//! it) first, and anything but a regular file, a directory or a symlink
//! left unfollowed is refused with `access` before the open.
//!
//! A `.git` directory or file, at any depth, holds what a plugin has no
//! business reading (a CI checkout keeps its job token in `.git/config`).
//! It is left out of every directory listing, and a path naming it (in
//! any letter case) is reported as missing by `open-at`, `stat-at`,
//! `metadata-hash-at` and `readlink-at`. A path can also reach it through
//! a symlink (`link -> .git`, `link -> sub/../.git/config`), so what
//! `open-at` opened is checked where it really is (through the opened
//! descriptor, not the path) and closed again when that is inside a
//! `.git`; `stat-at` and the others check their target the same way.

use std::path::Path;
use std::sync::Arc;

use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::filesystem::WasiFilesystemView;
use wasmtime_wasi::p2::bindings::filesystem::types::{
    self, Descriptor, DescriptorFlags, DescriptorStat, DescriptorType, DirectoryEntry,
    DirectoryEntryStream, ErrorCode, HostDescriptor, HostDirectoryEntryStream, MetadataHashValue,
    OpenFlags, PathFlags,
};

use super::sandbox::State;

/// The interface as wasmtime-wasi defines it (plugins importing an older
/// 0.2 version are linked to it by semver).
const INTERFACE: &str = "wasi:filesystem/types@0.2.12";

/// The name hidden from plugins.
const HIDDEN: &str = ".git";

type OpenArgs = (
    Resource<Descriptor>,
    PathFlags,
    String,
    OpenFlags,
    DescriptorFlags,
);

type AtArgs = (Resource<Descriptor>, PathFlags, String);

/// Replaces `descriptor.open-at`, `stat-at`, `metadata-hash-at`,
/// `readlink-at` and `directory-entry-stream.read-directory-entry` in
/// `linker` (which already holds wasmtime-wasi's file system) by ones that
/// refuse special files and hide `.git`.
pub(super) fn guard(linker: &mut Linker<State>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut types = linker.instance(INTERFACE)?;
    types.func_wrap_async(
        "[method]descriptor.open-at",
        |mut store, (dir, path_flags, path, oflags, flags): OpenArgs| {
            Box::new(async move {
                let root = Arc::clone(&store.data().root);
                let mut view = store.data_mut().filesystem();
                if names_hidden(&path) {
                    return Ok((Err(ErrorCode::NoEntry),));
                }
                let borrowed = Resource::<Descriptor>::new_borrow(dir.rep());
                // A failed lookup is left for the open to report as it would.
                if let Ok(stat) = view.stat_at(borrowed, path_flags, path.clone()).await
                    && !allowed(stat.type_)
                {
                    return Ok((Err(ErrorCode::Access),));
                }
                let dir_rep = dir.rep();
                let fd = match view
                    .open_at(dir, path_flags, path.clone(), oflags, flags)
                    .await
                {
                    Ok(fd) => fd,
                    Err(e) => {
                        let mut code = types::Host::convert_error_code(&mut view, e)?;
                        // Not even the kind of a hidden file may show.
                        if reaches_hidden(&mut view, &root, dir_rep, path_flags, &path).await? {
                            code = ErrorCode::NoEntry;
                        }
                        return Ok((Err(code),));
                    }
                };
                let inside = lies_in_hidden(&root, view.table.get(&fd)?);
                if inside {
                    view.table.delete(fd)?;
                    return Ok((Err(ErrorCode::NoEntry),));
                }
                Ok((Ok(fd),))
            })
        },
    )?;
    types.func_wrap_async(
        "[method]descriptor.stat-at",
        |mut store, (dir, path_flags, path): AtArgs| {
            Box::new(async move {
                let root = Arc::clone(&store.data().root);
                let mut view = store.data_mut().filesystem();
                if reaches_hidden(&mut view, &root, dir.rep(), path_flags, &path).await? {
                    return Ok((Err(ErrorCode::NoEntry),));
                }
                let stat: Result<DescriptorStat, ErrorCode> =
                    match view.stat_at(dir, path_flags, path).await {
                        Ok(stat) => Ok(stat),
                        Err(e) => Err(types::Host::convert_error_code(&mut view, e)?),
                    };
                Ok((stat,))
            })
        },
    )?;
    types.func_wrap_async(
        "[method]descriptor.metadata-hash-at",
        |mut store, (dir, path_flags, path): AtArgs| {
            Box::new(async move {
                let root = Arc::clone(&store.data().root);
                let mut view = store.data_mut().filesystem();
                if reaches_hidden(&mut view, &root, dir.rep(), path_flags, &path).await? {
                    return Ok((Err(ErrorCode::NoEntry),));
                }
                let hash: Result<MetadataHashValue, ErrorCode> =
                    match view.metadata_hash_at(dir, path_flags, path).await {
                        Ok(hash) => Ok(hash),
                        Err(e) => Err(types::Host::convert_error_code(&mut view, e)?),
                    };
                Ok((hash,))
            })
        },
    )?;
    types.func_wrap_async(
        "[method]descriptor.readlink-at",
        |mut store, (dir, path): (Resource<Descriptor>, String)| {
            Box::new(async move {
                let root = Arc::clone(&store.data().root);
                let mut view = store.data_mut().filesystem();
                // The link itself is not followed: its directory is checked.
                let parent = match path.trim_end_matches('/').rsplit_once('/') {
                    Some((parent, _)) if !parent.is_empty() => parent,
                    Some(_) => "/",
                    None => ".",
                };
                if names_hidden(&path)
                    || reaches_hidden(
                        &mut view,
                        &root,
                        dir.rep(),
                        PathFlags::SYMLINK_FOLLOW,
                        parent,
                    )
                    .await?
                {
                    return Ok((Err(ErrorCode::NoEntry),));
                }
                let target: Result<String, ErrorCode> = match view.readlink_at(dir, path).await {
                    Ok(target) => Ok(target),
                    Err(e) => Err(types::Host::convert_error_code(&mut view, e)?),
                };
                Ok((target,))
            })
        },
    )?;
    types.func_wrap_async(
        "[method]directory-entry-stream.read-directory-entry",
        |mut store, (stream,): (Resource<DirectoryEntryStream>,)| {
            Box::new(async move {
                let mut view = store.data_mut().filesystem();
                loop {
                    let borrowed = Resource::<DirectoryEntryStream>::new_borrow(stream.rep());
                    let entry: Result<Option<DirectoryEntry>, ErrorCode> =
                        match view.read_directory_entry(borrowed).await {
                            Ok(Some(e)) if is_hidden_name(&e.name) => continue,
                            Ok(entry) => Ok(entry),
                            Err(e) => Err(types::Host::convert_error_code(&mut view, e)?),
                        };
                    return Ok((entry,));
                }
            })
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

/// Whether a file of this type may be opened: a symlink is only seen here
/// when the open does not follow it, and then the open itself fails.
fn allowed(ty: DescriptorType) -> bool {
    matches!(
        ty,
        DescriptorType::RegularFile | DescriptorType::Directory | DescriptorType::SymbolicLink
    )
}

/// Whether `name` is hidden from plugins: `.git` in any letter case (a
/// case-insensitive file system opens `.GIT` as `.git`).
fn is_hidden_name(name: &str) -> bool {
    name.eq_ignore_ascii_case(HIDDEN)
}

/// Whether a guest path names a hidden entry as one of its components.
fn names_hidden(path: &str) -> bool {
    path.split('/').any(is_hidden_name)
}

/// Whether `path` from the directory `dir` names a hidden entry or, once
/// every symlink on the way is followed, lands in one. Only regular files
/// and directories are opened to tell; anything else is left to the call.
async fn reaches_hidden(
    view: &mut wasmtime_wasi::filesystem::WasiFilesystemCtxView<'_>,
    root: &Path,
    dir: u32,
    path_flags: PathFlags,
    path: &str,
) -> wasmtime::Result<bool> {
    if names_hidden(path) {
        return Ok(true);
    }
    let stat = view
        .stat_at(Resource::new_borrow(dir), path_flags, path.to_owned())
        .await;
    if !matches!(
        stat,
        Ok(DescriptorStat {
            type_: DescriptorType::RegularFile | DescriptorType::Directory,
            ..
        })
    ) {
        return Ok(false);
    }
    let opened = view
        .open_at(
            Resource::new_borrow(dir),
            path_flags,
            path.to_owned(),
            OpenFlags::empty(),
            DescriptorFlags::READ,
        )
        .await;
    let Ok(fd) = opened else {
        return Ok(false);
    };
    let inside = lies_in_hidden(root, view.table.get(&fd)?);
    view.table.delete(fd)?;
    Ok(inside)
}

/// Whether an opened file or directory lies inside a hidden entry of
/// `root` (or is one), going by where the operating system says it is.
/// When that cannot be told where it could be, it counts as hidden.
fn lies_in_hidden(root: &Path, descriptor: &wasmtime_wasi::filesystem::Descriptor) -> bool {
    use wasmtime_wasi::filesystem::Descriptor as D;
    let file = match descriptor {
        D::File(f) => &f.file,
        D::Dir(d) => &d.dir,
    };
    match real_path(file) {
        Some(path) => match path.strip_prefix(root) {
            Ok(rel) => rel
                .components()
                .any(|c| c.as_os_str().to_str().is_some_and(is_hidden_name)),
            // The sandbox never opens anything outside its root.
            Err(_) => true,
        },
        None => cfg!(any(target_os = "linux", target_vendor = "apple")),
    }
}

/// Where the open file `file` is, as the operating system names it.
#[cfg(target_os = "linux")]
fn real_path(file: &std::fs::File) -> Option<std::path::PathBuf> {
    use std::os::fd::AsRawFd;
    fs_err::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).ok()
}

/// Where the open file `file` is, as the operating system names it.
#[cfg(target_vendor = "apple")]
fn real_path(file: &std::fs::File) -> Option<std::path::PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let path = rustix::fs::getpath(file).ok()?;
    Some(std::ffi::OsStr::from_bytes(path.as_bytes()).into())
}

/// Elsewhere the path is not known: only names are checked, never where
/// symlinks lead.
#[cfg(not(any(target_os = "linux", target_vendor = "apple")))]
fn real_path(_file: &std::fs::File) -> Option<std::path::PathBuf> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_names() {
        for path in [
            ".git",
            "a/.git",
            ".git/config",
            "a/.GIT/x",
            "./.Git",
            "a/../.git",
        ] {
            assert!(names_hidden(path), "{path}");
        }
        for path in ["git", ".gitignore", "a/.github/x", "x.git", ".git2", ""] {
            assert!(!names_hidden(path), "{path}");
        }
    }
}
