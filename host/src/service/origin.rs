//! Where apps come from (a directory, a local revision, a remote
//! repository), and finding the apps under a root.

use std::path::PathBuf;

use crate::model::App;
use crate::source::git;
use crate::stamp::Watch;

/// Where an app (or the root of a tree of apps) comes from.
///
/// A local app is `dir` (inside `root`, the directory plugins see as `/src`;
/// default: see [`crate::source`]). With `rev`, it is read at that revision
/// of the git work tree holding `dir`; with `repo`, `dir` is a path inside
/// that repository, fetched into the cache.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    /// A remote repository (https, ssh, `file://` or a path).
    pub repo: Option<String>,
    /// A revision: of `repo`, or of the git work tree holding `dir`.
    pub rev: Option<String>,
    /// The directory: inside `repo` when given, else on disk.
    pub dir: PathBuf,
    /// The source root, for a local app.
    pub root: Option<PathBuf>,
}

impl Origin {
    /// The local app at `dir`, inside the source root `root` (default: see
    /// [`crate::source`]).
    pub fn local(dir: impl Into<PathBuf>, root: Option<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            root,
            ..Self::default()
        }
    }
}

/// An app ready to render, with what the render context needs to know.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The app (its source root, directory and name).
    pub app: App,
    /// The commit, when the source is git.
    pub commit: Option<String>,
    /// A stable name of the source across renders (repository URL and
    /// path, or the directory on the host).
    pub source_id: String,
}

/// Resolves `origin` into an app (fetching or snapshotting as needed);
/// `note` receives a message for people when the offline mirror is used.
pub(crate) fn resolve(
    origin: &Origin,
    offline: bool,
    cache_dir: &std::path::Path,
    note: &dyn Fn(&str),
) -> anyhow::Result<Resolved> {
    let git = if let Some(url) = &origin.repo {
        let path = origin.dir.to_string_lossy();
        let opts = git::Options {
            offline,
            cache_dir: cache_dir.to_path_buf(),
        };
        git::remote_app(url, origin.rev.as_deref(), Some(&path), &opts)?
    } else if let Some(rev) = &origin.rev {
        git::local_rev_app(&origin.dir, rev, cache_dir)?
    } else {
        let app = crate::source::local_app(&origin.dir, origin.root.as_deref())?;
        let source_id = app.path().display().to_string();
        return Ok(Resolved {
            app,
            commit: None,
            source_id,
        });
    };
    if offline {
        note(&format!(
            "offline: using {} at {} (commit {}) from the local mirror",
            origin
                .repo
                .as_deref()
                .map_or_else(|| origin.dir.display().to_string(), git::redact),
            origin.rev.as_deref().unwrap_or("HEAD"),
            git.commit
        ));
    }
    Ok(Resolved {
        app: git.app,
        commit: Some(git.commit),
        source_id: git.source_id,
    })
}

/// The apps under `root` (an app-like resolved origin), each as its own app.
pub(crate) fn discover(root: &Resolved) -> anyhow::Result<Vec<Resolved>> {
    let found = crate::source::discover::apps(&root.app.path())?;
    Ok(resolve_found(root, found))
}

/// [`discover`], recording what the search read in `watch` (relative to
/// the source root); also the directories as found.
pub(crate) fn discover_watched(
    root: &Resolved,
    watch: &mut Watch,
) -> anyhow::Result<(Vec<String>, Vec<Resolved>)> {
    let found = crate::source::discover::apps_watched(&root.app.path(), watch, &root.app.dir)?;
    Ok((found.clone(), resolve_found(root, found)))
}

/// The apps found under `root` (directories relative to it) as apps.
pub(crate) fn resolve_found(root: &Resolved, found: Vec<String>) -> Vec<Resolved> {
    found
        .into_iter()
        .map(|rel| {
            let dir = match (root.app.dir.as_str(), rel.as_str()) {
                (".", r) => r.to_owned(),
                (d, ".") => d.to_owned(),
                (d, r) => format!("{d}/{r}"),
            };
            let name = dir
                .rsplit('/')
                .next()
                .filter(|n| *n != ".")
                .unwrap_or(&root.app.name)
                .to_owned();
            Resolved {
                app: App {
                    root: root.app.root.clone(),
                    dir: dir.clone(),
                    name,
                },
                commit: root.commit.clone(),
                source_id: format!("{}#{rel}", root.source_id),
            }
        })
        .collect()
}

/// The apps found under `root`, each with its label: its directory relative
/// to the root (`.` for the root itself).
pub(crate) fn labelled(root: &Resolved, apps: Vec<Resolved>) -> Vec<(String, Resolved)> {
    let prefix = if root.app.dir == "." {
        String::new()
    } else {
        format!("{}/", root.app.dir)
    };
    apps.into_iter()
        .map(|r| {
            let label = r.app.dir.strip_prefix(&prefix).unwrap_or(&r.app.dir);
            let label = if label == root.app.dir { "." } else { label };
            (label.to_owned(), r)
        })
        .collect()
}
