//! Sources: where an app's files come from.
//!
//! A local app lives inside a source root, the directory plugins see as
//! `/src`: `--root` when given; else the top of the git work tree that
//! holds the app; else the current directory when it holds the app and is
//! neither the home directory nor `/`; else the app directory itself. So
//! `cd ~ && kiln render Downloads/app` shows the app's plugins that app, not
//! the home directory, while `kiln render overlays/prod` beside its `base`
//! works as with kustomize.
//! A git source ([`git`]) is a snapshot of a commit's tree.

mod digest;
pub mod discover;
pub mod git;

use std::path::{Path, PathBuf};

pub(crate) use digest::is_sops_file;
pub use digest::{Closure, tree_digest, tree_digest_watched, tree_digest_within};

use crate::model::App;

/// The app directory could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The directory does not exist.
    #[error("app directory {} does not exist", .0.display())]
    Missing(PathBuf),
    /// The app is not inside the given root (`--root`).
    #[error("app directory {} is not inside the source root {}", .app.display(), .root.display())]
    OutsideRoot {
        /// The app.
        app: PathBuf,
        /// The root.
        root: PathBuf,
    },
    /// An I/O error.
    #[error("cannot read {}", .path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// Resolves a local app directory and its source root.
pub fn local_app(dir: &Path, root: Option<&Path>) -> Result<App, Error> {
    let app = dir
        .canonicalize()
        .map_err(|_| Error::Missing(dir.to_path_buf()))?;
    if !app.is_dir() {
        return Err(Error::Missing(dir.to_path_buf()));
    }
    let root = match root {
        Some(r) => r.canonicalize().map_err(|source| Error::Io {
            path: r.to_path_buf(),
            source,
        })?,
        None => default_root(&app),
    };
    let rel = app.strip_prefix(&root).map_err(|_| Error::OutsideRoot {
        app: app.clone(),
        root: root.clone(),
    })?;
    let dir = if rel.as_os_str().is_empty() {
        ".".to_owned()
    } else {
        rel.to_string_lossy().replace('\\', "/")
    };
    let name = app
        .file_name()
        .map_or_else(|| "app".to_owned(), |n| n.to_string_lossy().into_owned());
    Ok(App { root, dir, name })
}

/// The top of the git work tree holding `app` (a `.git` directory or file
/// beside it or above); else the current directory when it holds `app`
/// (as kustomize, a base beside the overlay is reachable from where the
/// command runs); else `app` itself. Neither the work tree nor the current
/// directory counts when it is `/`, the home directory or a directory
/// above it (`/home`, a dotfiles repository in `~`): an app in
/// `~/Downloads` never gets the home as its root.
fn default_root(app: &Path) -> PathBuf {
    let home = std::env::var_os("HOME").and_then(|h| PathBuf::from(h).canonicalize().ok());
    let too_wide =
        |d: &Path| d.parent().is_none() || home.as_ref().is_some_and(|h| h.starts_with(d));
    if let Some(tree) = app.ancestors().find(|a| a.join(".git").exists())
        && !too_wide(tree)
    {
        return tree.to_path_buf();
    }
    std::env::current_dir()
        .ok()
        .and_then(|d| d.canonicalize().ok())
        .filter(|cwd| app.starts_with(cwd) && !too_wide(cwd))
        .unwrap_or_else(|| app.to_path_buf())
}

/// The largest `kiln.yaml` or kustomization kiln reads: 16 MiB.
pub const MAX_CONFIG_FILE: u64 = 16 << 20;

/// Reads a configuration file of a repository (`kiln.yaml`, a
/// kustomization) as text, refusing one larger than [`MAX_CONFIG_FILE`]
/// without reading it all: a repository's file of gigabytes never becomes
/// gigabytes of memory.
pub fn read_config(path: &Path) -> std::io::Result<String> {
    let file = fs_err::File::open(path)?;
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut std::io::Read::take(file, MAX_CONFIG_FILE + 1),
        &mut text,
    )?;
    if text.len() as u64 > MAX_CONFIG_FILE {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "{} is larger than {} MiB, the most kiln reads of a configuration file",
                path.display(),
                MAX_CONFIG_FILE >> 20
            ),
        ));
    }
    Ok(text)
}

/// What to say when a reference leaves the source root.
pub fn outside_root_hint() -> String {
    "plugins see only the source root: the git work tree that holds the app, else the current \
     directory when it holds the app (not the home directory or /), else the app directory; pass --root DIR (or set KILN_ROOT) to make a directory above both the app and \
     what it references the root"
        .to_owned()
}
