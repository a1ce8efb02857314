//! Git sources: an app read from a repository at a revision, without a
//! checkout.
//!
//! A remote is fetched into a bare mirror under
//! `<cache>/git-v0/mirrors/<blake3 of the url>`, shared by every kiln process
//! through a lock file. The revision (branch, tag, commit id or any
//! rev-parse expression) is resolved in the mirror; the commit's tree is
//! then materialised once into `<cache>/git-v0/trees/<tree id>`, a
//! content-addressed snapshot reused by later renders of the same tree,
//! which the sandbox preopens as `/src`.
//!
//! The first fetch into a new mirror for a branch, a tag or the default
//! HEAD is shallow (the tips only), since one revision is all a render
//! needs; a revision that does not resolve in a shallow mirror (a commit id
//! below the tips, `main~3`) fetches the whole history once, and later
//! fetches keep the mirror as it is. A commit id already in the mirror is
//! used without any fetch. When a fetch fails but the
//! revision resolves in the mirror, the mirror serves it with a warning.
//!
//! Credentials come from git's credential helpers (through gix), from the
//! SSH agent (ssh URLs run `ssh`), or from `KILN_GIT_TOKEN` for https
//! remotes. They are never logged: URLs are shown without user info.

mod mirror;
mod snapshot;

use std::path::{Path, PathBuf};

use crate::model::App;

pub use mirror::redact;

/// Environment variable holding a token for https remotes.
pub const KILN_GIT_TOKEN: &str = "KILN_GIT_TOKEN";

/// Reading a git source failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Fetching failed.
    #[error("failed to fetch {url}")]
    Fetch {
        /// The URL, without credentials.
        url: String,
        /// Why, with any credentials scrubbed from the text.
        #[source]
        source: mirror::Scrubbed,
    },
    /// `--offline` and nothing cached.
    #[error("{url} is not in the cache and --offline forbids fetching it")]
    NotCached {
        /// The URL, without credentials.
        url: String,
    },
    /// `--offline` and the mirror is damaged.
    #[error("the mirror of {url} is damaged; run again without --offline to fetch it afresh")]
    Damaged {
        /// The URL, without credentials.
        url: String,
    },
    /// The revision does not resolve to a commit.
    #[error("revision `{rev}` not found in {url}")]
    Revision {
        /// The URL or repository path.
        url: String,
        /// The revision.
        rev: String,
        /// Why.
        #[source]
        source: gix::Error,
    },
    /// The path is not a directory at that revision.
    #[error("`{path}` is not a directory in {url} at {rev}")]
    Path {
        /// The URL or repository path.
        url: String,
        /// The revision.
        rev: String,
        /// The path.
        path: String,
    },
    /// A local directory is not inside a git work tree.
    #[error("{} is not inside a git work tree", .0.display())]
    NotARepository(PathBuf),
    /// Reading objects failed.
    #[error("cannot read {what} from {url}")]
    Objects {
        /// What was read.
        what: String,
        /// The URL or repository path.
        url: String,
        /// Why.
        #[source]
        source: gix::Error,
    },
    /// A filesystem error in the cache.
    #[error("cannot write {}", .path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The commit's tree is larger than a snapshot may be.
    #[error("the tree of {rev} in {url} is too large to render: {why}")]
    TooLarge {
        /// The URL or repository path.
        url: String,
        /// The revision.
        rev: String,
        /// Which bound it passes.
        why: String,
    },
}

/// How to reach remotes.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Use only the mirror; never touch the network.
    pub offline: bool,
    /// The kiln cache directory.
    pub cache_dir: PathBuf,
}

/// An app read from git at a commit.
#[derive(Debug, Clone)]
pub struct GitApp {
    /// The app, rooted at the snapshot of the commit's tree.
    pub app: App,
    /// The commit id.
    pub commit: String,
    /// The id of the commit's root tree.
    pub tree: String,
    /// A stable name for the app: the URL (or repository path) and the path.
    pub source_id: String,
}

static TOKEN: std::sync::RwLock<Option<String>> = std::sync::RwLock::new(None);

/// Sets the token for https remotes of this process (the agent's
/// credentials), in place of `KILN_GIT_TOKEN`; `None` goes back to it.
pub fn set_token(token: Option<String>) {
    *TOKEN
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = token;
}

/// The token for https remotes: [`set_token`]'s, else `KILN_GIT_TOKEN`.
fn token() -> Option<String> {
    TOKEN
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
        .or_else(|| std::env::var(KILN_GIT_TOKEN).ok())
}

/// The commit `reference` (a full ref name such as `refs/heads/main`, or
/// `HEAD`) points to on the remote `url`, listing refs only: no objects are
/// fetched. `None` when the remote has no such ref.
pub fn remote_tip(url: &str, reference: &str, opts: &Options) -> Result<Option<String>, Error> {
    let mirror = mirror::Mirror::new(&opts.cache_dir, url);
    let _lock = mirror.lock()?;
    mirror.remote_tip(reference)
}

/// Fetches `url` (unless `offline`, or `rev` is a commit already mirrored)
/// and returns the app at `path` (default the root) at `rev` (default the
/// remote's HEAD).
pub fn remote_app(
    url: &str,
    rev: Option<&str>,
    path: Option<&str>,
    opts: &Options,
) -> Result<GitApp, Error> {
    let mirror = mirror::Mirror::new(&opts.cache_dir, url);
    let _lock = mirror.lock()?;
    let in_mirror = rev.map(in_mirror);
    let repo = mirror.ready(in_mirror.as_deref(), opts.offline)?;
    let shown = redact(url);
    let resolved = app_at(
        &repo,
        &shown,
        in_mirror.as_deref().unwrap_or(mirror::DEFAULT_REV),
        path.unwrap_or("."),
        &opts.cache_dir,
    );
    // Errors name the revision as the user wrote it.
    resolved.map_err(|e| match (e, rev) {
        (Error::Revision { url, source, .. }, Some(rev)) => Error::Revision {
            url,
            rev: rev.to_owned(),
            source,
        },
        (Error::Path { url, path, .. }, Some(rev)) => Error::Path {
            url,
            rev: rev.to_owned(),
            path,
        },
        (e, _) => e,
    })
}

/// `rev` of a remote as the mirror names it: the remote's `HEAD` (its
/// default branch) is kept as [`mirror::DEFAULT_REV`], since the mirror's
/// own `HEAD` names nothing fetched; `HEAD~2`, `HEAD^`, `@` follow it.
fn in_mirror(rev: &str) -> String {
    // `@` alone (and `@~2`) is another name of `HEAD`; `@{…}` is not.
    let head = rev
        .strip_prefix("HEAD")
        .or_else(|| rev.strip_prefix('@').filter(|rest| !rest.starts_with('{')));
    match head {
        Some(rest) if rest.is_empty() || rest.starts_with(['~', '^', '@', ':']) => {
            format!("{}{rest}", mirror::DEFAULT_REV)
        }
        _ => rev.to_owned(),
    }
}

/// The app at `dir`, a directory inside a local git work tree, read from
/// the repository at `rev` rather than from the work tree.
pub fn local_rev_app(dir: &Path, rev: &str, cache_dir: &Path) -> Result<GitApp, Error> {
    let abs = std::path::absolute(dir).map_err(|source| Error::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let repo = gix::discover(&abs).map_err(|_| Error::NotARepository(dir.to_path_buf()))?;
    let top = repo
        .workdir()
        .ok_or_else(|| Error::NotARepository(dir.to_path_buf()))?
        .canonicalize()
        .map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
    let abs = abs.canonicalize().unwrap_or(abs);
    let rel = abs
        .strip_prefix(&top)
        .map_err(|_| Error::NotARepository(dir.to_path_buf()))?;
    let rel = if rel.as_os_str().is_empty() {
        ".".to_owned()
    } else {
        rel.to_string_lossy().replace('\\', "/")
    };
    app_at(&repo, &top.display().to_string(), rev, &rel, cache_dir)
}

fn app_at(
    repo: &gix::Repository,
    url: &str,
    rev: &str,
    path: &str,
    cache_dir: &Path,
) -> Result<GitApp, Error> {
    let commit = repo
        .rev_parse_single(rev)
        .and_then(|id| id.object())
        .and_then(gix::Object::peel_to_commit)
        .map_err(|source| Error::Revision {
            url: url.to_owned(),
            rev: rev.to_owned(),
            source,
        })?;
    let tree = commit.tree().map_err(|source| Error::Objects {
        what: format!("the tree of {}", commit.id),
        url: url.to_owned(),
        source,
    })?;
    let path = path.trim_matches('/');
    let path = if path.is_empty() { "." } else { path };
    if path != "." {
        let entry = tree
            .lookup_entry_by_path(path)
            .map_err(|source| Error::Objects {
                what: format!("`{path}`"),
                url: url.to_owned(),
                source,
            })?;
        if !entry.is_some_and(|e| e.mode().is_tree()) {
            return Err(Error::Path {
                url: url.to_owned(),
                rev: rev.to_owned(),
                path: path.to_owned(),
            });
        }
    }
    let root = snapshot::materialise(repo, &tree, cache_dir).map_err(|e| match e {
        snapshot::Error::Io { path, source } => Error::Io { path, source },
        snapshot::Error::TooLarge(why) => Error::TooLarge {
            url: url.to_owned(),
            rev: rev.to_owned(),
            why,
        },
        snapshot::Error::Objects(source) => Error::Objects {
            what: format!("the tree {}", tree.id),
            url: url.to_owned(),
            source,
        },
    })?;
    let name = if path == "." {
        url.trim_end_matches('/')
            .trim_end_matches(".git")
            .rsplit(['/', ':'])
            .next()
            .unwrap_or("app")
            .to_owned()
    } else {
        path.rsplit('/').next().unwrap_or(path).to_owned()
    };
    Ok(GitApp {
        app: App {
            root,
            dir: path.to_owned(),
            name,
        },
        commit: commit.id.to_string(),
        tree: tree.id.to_string(),
        source_id: format!("{url}#{path}"),
    })
}

/// Whether `dir` is a snapshot of a git tree in the cache at `cache_dir`:
/// a directory named by its tree id, whose files never change once written.
pub fn is_snapshot(dir: &Path, cache_dir: &Path) -> bool {
    snapshot::is_snapshot(dir, cache_dir)
}

/// Removes snapshots not used for `max_age`; returns how many.
pub fn gc_snapshots(cache_dir: &Path, max_age: std::time::Duration) -> usize {
    snapshot::gc(cache_dir, max_age)
}
