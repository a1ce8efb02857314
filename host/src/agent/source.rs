//! The agent's view of the config repository: the remote's tip (refs
//! only), a snapshot of a commit, the `Agent` file in it, the apps below the
//! apps' root, and rendering one of them.

use std::path::{Path, PathBuf};

use crate::pipeline::{App, Rendered};
use crate::runtime::Limits;
use crate::service::{RenderService, RenderSettings, Resolved};
use crate::source::git;

use super::config::{self, AgentConfig};

/// Where the agent reads from.
#[derive(Debug, Clone)]
pub struct Remote {
    /// The repository URL.
    pub url: String,
    /// A branch name, a full ref name (`refs/tags/v1`) or `HEAD`.
    pub reference: String,
    /// The kiln cache directory (mirror, snapshots, render cache).
    pub cache_dir: PathBuf,
}

impl Remote {
    /// The full ref name the remote is asked about.
    pub fn full_ref(&self) -> String {
        if self.reference == "HEAD" || self.reference.starts_with("refs/") {
            self.reference.clone()
        } else {
            format!("refs/heads/{}", self.reference)
        }
    }

    fn options(&self) -> git::Options {
        git::Options {
            offline: false,
            cache_dir: self.cache_dir.clone(),
        }
    }

    /// The commit the ref points to now, asking for refs only.
    pub fn tip(&self) -> Result<Option<String>, git::Error> {
        git::remote_tip(&self.url, &self.full_ref(), &self.options())
    }

    /// Fetches the ref and snapshots its commit.
    pub fn snapshot(&self) -> Result<Snapshot, git::Error> {
        let rev = (self.reference != "HEAD").then_some(self.reference.as_str());
        let got = git::remote_app(&self.url, rev, None, &self.options())?;
        Ok(Snapshot {
            root: got.app.root,
            revision: super::status::revision(&self.reference, &got.commit),
            commit: got.commit,
            source: git::redact(&self.url),
        })
    }
}

/// A commit of the config repository, on disk (read-only).
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The directory holding the commit's tree.
    pub root: PathBuf,
    /// The commit id.
    pub commit: String,
    /// `<ref>@sha1:<commit>`.
    pub revision: String,
    /// The repository URL without credentials.
    pub source: String,
}

/// Reading the `Agent` file failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file is not in the commit.
    #[error("the Agent file {path} is not in {source_url} at {revision}")]
    Missing {
        /// The path in the repository.
        path: String,
        /// The repository.
        source_url: String,
        /// The revision.
        revision: String,
    },
    /// The file is invalid.
    #[error(transparent)]
    Invalid(#[from] config::Error),
}

impl Snapshot {
    /// Reads and checks the `Agent` file at `path` (relative to the repository).
    pub fn config(&self, path: &str) -> Result<AgentConfig, LoadError> {
        let rel = path.trim_start_matches("./").trim_start_matches('/');
        let missing = || LoadError::Missing {
            path: rel.to_owned(),
            source_url: self.source.clone(),
            revision: self.revision.clone(),
        };
        if rel.split('/').any(|c| c == "..") {
            return Err(missing());
        }
        let file = self.root.join(rel);
        // A link could lead out of the snapshot.
        let meta = fs_err::symlink_metadata(&file).map_err(|_| missing())?;
        if !meta.is_file() {
            return Err(missing());
        }
        let text = fs_err::read_to_string(&file).map_err(|_| missing())?;
        Ok(config::parse(&text, rel)?)
    }

    /// The apps below the apps' root, minus the excluded ones, by path below the root.
    pub fn apps(&self, cfg: &AgentConfig) -> Result<Vec<AppRef>, crate::source::discover::Error> {
        let base = if cfg.apps_root == "." {
            self.root.clone()
        } else {
            self.root.join(&cfg.apps_root)
        };
        if !base.is_dir() {
            return Ok(Vec::new());
        }
        let found = crate::source::discover::apps(&base)?;
        Ok(found
            .into_iter()
            .filter(|p| !cfg.excluded(p))
            .map(|path| {
                let dir = match (cfg.apps_root.as_str(), path.as_str()) {
                    (".", p) => p.to_owned(),
                    (r, ".") => r.to_owned(),
                    (r, p) => format!("{r}/{p}"),
                };
                AppRef {
                    inventory: inventory_name(&path, &cfg.name),
                    path,
                    dir,
                }
            })
            .collect())
    }
}

/// One app of the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppRef {
    /// Its path below the apps' root (`.` for the root itself): the name
    /// `dependsOn`, overrides and `kiln status` use.
    pub path: String,
    /// Its directory relative to the repository.
    pub dir: String,
    /// The name of its inventory (`kiln-inventory-<inventory>`).
    pub inventory: String,
}

/// The inventory name of the app at `path`: the path with `/` as `-`,
/// lowercased (`agent` for the root app).
pub fn inventory_name(path: &str, agent: &str) -> String {
    if path == "." {
        return agent.to_owned();
    }
    path.chars()
        .map(|c| match c {
            '/' | '_' | '.' => '-',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// Renders `app` of `snapshot` through the render service (blocking: call
/// it on a blocking thread). The error is its text, causes and hint included.
pub fn render(
    service: &RenderService,
    settings: &RenderSettings,
    snapshot: &Snapshot,
    app: &AppRef,
) -> Result<Rendered, String> {
    let name = app
        .path
        .rsplit('/')
        .next()
        .filter(|n| *n != ".")
        .unwrap_or(&app.inventory)
        .to_owned();
    let resolved = Resolved {
        app: App {
            root: snapshot.root.clone(),
            dir: app.dir.clone(),
            name,
        },
        commit: Some(snapshot.commit.clone()),
        source_id: format!("{}#{}", snapshot.source, app.dir),
    };
    match service.render(&resolved, settings) {
        Ok(r) => Ok(Rendered {
            resources: r.resources,
            steps: r.report.steps,
        }),
        Err(e) => {
            let mut text = format!("{e:#}");
            if let Some(hint) = crate::service::hint(&e) {
                text.push_str(" (hint: ");
                text.push_str(&hint);
                text.push(')');
            }
            Err(text)
        }
    }
}

/// Whether two directories hold the same files with the same contents (links compared by
/// target); any error counts as a difference.
pub fn same_dir(left: &Path, right: &Path) -> bool {
    fn entries(dir: &Path) -> Option<Vec<(std::ffi::OsString, std::fs::FileType)>> {
        let mut out: Vec<_> = fs_err::read_dir(dir)
            .ok()?
            .map(|e| {
                e.ok()
                    .and_then(|e| Some((e.file_name(), e.file_type().ok()?)))
            })
            .collect::<Option<_>>()?;
        out.sort_by(|x, y| x.0.cmp(&y.0));
        Some(out)
    }
    let (Some(ours), Some(theirs)) = (entries(left), entries(right)) else {
        return false;
    };
    ours.len() == theirs.len()
        && ours.iter().zip(&theirs).all(|((name, kind), (other, other_kind))| {
            if name != other || kind != other_kind {
                return false;
            }
            let (one, two) = (left.join(name), right.join(other));
            if kind.is_dir() {
                same_dir(&one, &two)
            } else if kind.is_symlink() {
                matches!((fs_err::read_link(&one), fs_err::read_link(&two)), (Ok(x), Ok(y)) if x == y)
            } else {
                matches!((fs_err::read(&one), fs_err::read(&two)), (Ok(x), Ok(y)) if x == y)
            }
        })
}

/// The lower of two ceilings, part by part.
pub fn lower(a: Option<Limits>, b: Option<Limits>) -> Option<Limits> {
    match (a, b) {
        (Some(a), Some(b)) => Some(Limits {
            memory: a.memory.min(b.memory),
            time: a.time.min(b.time),
            output: a.output.min(b.output),
        }),
        (a, b) => a.or(b),
    }
}

/// Whether `path` lies inside `dir` (both absolute, no `..` after joining).
pub(crate) fn inside(dir: &Path, path: &Path) -> bool {
    match (dir.canonicalize(), path.canonicalize()) {
        (Ok(d), Ok(p)) => p.starts_with(d),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::same_dir;

    #[test]
    fn directories_compare_by_names_and_contents() {
        let t = tempfile::tempdir().unwrap();
        let (a, b) = (t.path().join("a"), t.path().join("b"));
        for d in [&a, &b] {
            fs_err::create_dir_all(d.join("sub")).unwrap();
            fs_err::write(d.join("k.yaml"), "x: 1\n").unwrap();
            fs_err::write(d.join("sub/c.yaml"), "y: 2\n").unwrap();
        }
        assert!(same_dir(&a, &b));
        fs_err::write(b.join("sub/c.yaml"), "y: 3\n").unwrap();
        assert!(!same_dir(&a, &b), "a changed file");
        fs_err::write(b.join("sub/c.yaml"), "y: 2\n").unwrap();
        fs_err::write(b.join("new.yaml"), "").unwrap();
        assert!(!same_dir(&a, &b), "an added file");
        assert!(!same_dir(&a, &t.path().join("missing")));
    }
}
