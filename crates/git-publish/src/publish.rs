//! Publishing: fetch the branch, replace the target directory, commit, push,
//! and on a race fetch and rebuild again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gix::ObjectId;

use crate::push::{Pushed, maintain, push};
use crate::target::{Target, check_relative, redact};
use crate::text::Scrubbed;
use crate::work::{Tip, WorkRepo};

/// How many times a commit is rebuilt and pushed when the branch keeps moving.
pub const MAX_ATTEMPTS: u32 = 5;

/// Who commits, and with what message. Author and committer are the same;
/// the time is the time of the commit.
#[derive(Debug, Clone, Copy)]
pub struct Commit<'a> {
    /// The full commit message; a final newline is added if missing.
    /// [`Provenance::message`](crate::Provenance::message) composes one.
    pub message: &'a str,
    /// Author and committer name.
    pub author_name: &'a str,
    /// Author and committer email.
    pub author_email: &'a str,
}

/// What [`publish`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A commit was made and pushed.
    Committed {
        /// The new tip of the branch.
        id: String,
        /// The previous tip; `None` when the branch was created.
        parent: Option<String>,
        /// How many pushes it took (more than 1 when another publisher moved the branch).
        attempts: u32,
    },
    /// The branch already held exactly these files; nothing was committed or pushed.
    Unchanged {
        /// The tip of the branch.
        id: String,
    },
}

/// Publishing to a git branch failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file path is not relative, `/`-separated and free of `.`/`..`, or git refuses the name.
    #[error("refusing to publish `{file}` to {target}: {reason}")]
    BadPath {
        /// The target, without credentials.
        target: String,
        /// The file path as given.
        file: String,
        /// Why.
        reason: String,
    },
    /// A path is given both as a file and as a directory of other files.
    #[error(
        "cannot publish `{file}` to {target} both as a file and as the directory of `{below}`: rename one of them"
    )]
    FileAndDirectory {
        /// The target, without credentials.
        target: String,
        /// The file.
        file: String,
        /// A file below it.
        below: String,
    },
    /// The author name or email cannot be written into a commit.
    #[error(
        "cannot commit to {target} as `{name} <{email}>`: names and emails must not hold `<`, `>` or line breaks"
    )]
    BadIdentity {
        /// The target, without credentials.
        target: String,
        /// The author name.
        name: String,
        /// The author email.
        email: String,
    },
    /// The work directory cannot be used.
    #[error("cannot use {} as the publish work directory: check that it is writable", .path.display())]
    WorkDir {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Fetching the branch failed.
    #[error(
        "failed to fetch branch `{branch}` from {url}: check that the repository exists, is reachable and that you may read it"
    )]
    Fetch {
        /// The URL, without credentials.
        url: String,
        /// The branch.
        branch: String,
        /// Why, without credentials.
        #[source]
        source: Scrubbed,
    },
    /// The branch tip cannot be read as a commit.
    #[error(
        "the tip {tip} of branch `{branch}` in {url} is not a readable commit: check the repository with `git fsck` or publish to another branch"
    )]
    BadTip {
        /// The URL, without credentials.
        url: String,
        /// The branch.
        branch: String,
        /// The commit id advertised by the remote.
        tip: String,
        /// Why.
        #[source]
        source: Scrubbed,
    },
    /// Writing trees or the commit into the work repository failed.
    #[error("cannot write the commit for {target} in the work repository {}; remove it to start afresh", .path.display())]
    Objects {
        /// The target, without credentials.
        target: String,
        /// The work repository.
        path: PathBuf,
        /// Why.
        #[source]
        source: Scrubbed,
    },
    /// `git` could not be run.
    #[error(
        "pushing to {url} runs the `git` command, which could not be started: install git and put it on PATH"
    )]
    GitMissing {
        /// The URL, without credentials.
        url: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `git push` failed for another reason than a moved branch.
    #[error(
        "git push of branch `{branch}` to {url} failed: {detail}; check the URL, your write access and the remote's hooks"
    )]
    Push {
        /// The URL, without credentials.
        url: String,
        /// The branch.
        branch: String,
        /// What git said, without credentials.
        detail: String,
    },
    /// The branch moved before every push.
    #[error(
        "branch `{branch}` of {url} moved before each of {attempts} pushes: another publisher keeps writing it; try again later"
    )]
    Contended {
        /// The URL, without credentials.
        url: String,
        /// The branch.
        branch: String,
        /// How many pushes were tried.
        attempts: u32,
    },
}

/// A publication prepared against the branch as just fetched: its tree is
/// written, nothing is committed or pushed yet.
///
/// [`Publication::push`] commits and pushes it; [`publish`] does both steps.
/// Holding one holds no lock.
pub struct Publication<'a> {
    target: &'a Target,
    files: &'a BTreeMap<String, Vec<u8>>,
    work: WorkRepo,
    tip: Option<Tip>,
    tree: ObjectId,
}

/// Fetches `target.branch` into a bare work repository under `work_dir`
/// and writes the tree that replaces the subtree `target.path` with exactly
/// `files` (relative `/`-separated path → contents), keeping every other
/// path of the branch.
pub fn prepare<'a>(
    target: &'a Target,
    files: &'a BTreeMap<String, Vec<u8>>,
    work_dir: &Path,
) -> Result<Publication<'a>, Error> {
    let span = tracing::info_span!("prepare", target = %target);
    let _entered = span.enter();
    check_files(target, files)?;
    let work = WorkRepo::open(work_dir, target)?;
    let (tip, tree) = fetch_and_build(&work, target, files)?;
    Ok(Publication {
        target,
        files,
        work,
        tip,
        tree,
    })
}

/// Replaces the subtree `target.path` of `target.branch` with exactly
/// `files`, commits and pushes; see the crate docs.
pub fn publish(
    target: &Target,
    files: &BTreeMap<String, Vec<u8>>,
    commit: &Commit<'_>,
    work_dir: &Path,
) -> Result<Outcome, Error> {
    prepare(target, files, work_dir)?.push(commit)
}

impl Publication<'_> {
    /// The branch tip this publication is built on; `None` when the branch does not exist yet.
    pub fn parent(&self) -> Option<String> {
        self.tip.map(|t| t.commit.to_string())
    }

    /// The id of the root tree the commit will have.
    pub fn tree(&self) -> String {
        self.tree.to_string()
    }

    /// The target this publication goes to.
    pub fn target(&self) -> &Target {
        self.target
    }

    pub(crate) fn work(&self) -> &WorkRepo {
        &self.work
    }

    pub(crate) fn tip_tree(&self) -> Option<ObjectId> {
        self.tip.map(|t| t.tree)
    }

    pub(crate) fn tree_id(&self) -> ObjectId {
        self.tree
    }

    /// Whether committing would change the branch.
    pub fn is_change(&self) -> bool {
        self.tip.is_none_or(|t| t.tree != self.tree)
    }

    /// Commits and pushes (no force). When the push is refused because the
    /// branch moved, fetches again, rebuilds the tree on the new tip and
    /// retries, up to [`MAX_ATTEMPTS`] pushes. Nothing is committed when the
    /// tree equals the tip's.
    pub fn push(mut self, commit: &Commit<'_>) -> Result<Outcome, Error> {
        let target = self.target;
        let span = tracing::info_span!("publish", target = %target);
        let _entered = span.enter();
        check_identity(target, commit)?;
        let mut attempt = 0;
        loop {
            if let Some(tip) = self.tip.filter(|t| t.tree == self.tree) {
                tracing::info!(target = %target, tip = %tip.commit, "unchanged; nothing to commit");
                return Ok(Outcome::Unchanged {
                    id: tip.commit.to_string(),
                });
            }
            if attempt == MAX_ATTEMPTS {
                return Err(Error::Contended {
                    url: redact(&target.url),
                    branch: target.branch.clone(),
                    attempts: MAX_ATTEMPTS,
                });
            }
            attempt += 1;
            let parent = self.tip.map(|t| t.commit);
            let id = self.work.write_commit(target, commit, self.tree, parent)?;
            match push(&self.work.dir, target, id)? {
                Pushed::Done => {
                    self.work.record_pushed(target, id);
                    if let Ok(_lock) = self.work.lock() {
                        maintain(&self.work.dir);
                    }
                    tracing::info!(target = %target, commit = %id, attempt, "published");
                    return Ok(Outcome::Committed {
                        id: id.to_string(),
                        parent: parent.map(|p| p.to_string()),
                        attempts: attempt,
                    });
                }
                Pushed::AlreadyThere => {
                    self.work.record_pushed(target, id);
                    return Ok(Outcome::Unchanged { id: id.to_string() });
                }
                Pushed::Moved { detail } => {
                    (self.tip, self.tree) = fetch_and_build(&self.work, target, self.files)?;
                    if self.tip.map(|t| t.commit) == parent {
                        // Refused, yet the branch is where it was: not a race.
                        return Err(Error::Push {
                            url: redact(&target.url),
                            branch: target.branch.clone(),
                            detail,
                        });
                    }
                    tracing::info!(target = %target, attempt, "the branch moved since it was fetched; rebuilt on the new tip");
                }
            }
        }
    }
}

fn fetch_and_build(
    work: &WorkRepo,
    target: &Target,
    files: &BTreeMap<String, Vec<u8>>,
) -> Result<(Option<Tip>, ObjectId), Error> {
    let tip = work.fetch(target)?;
    let tree = work.write_tree(target, tip.map(|t| t.tree), files)?;
    Ok((tip, tree))
}

/// Every path is relative and clean, and none is also a directory of another.
fn check_files(target: &Target, files: &BTreeMap<String, Vec<u8>>) -> Result<(), Error> {
    for path in files.keys() {
        check_relative(path).map_err(|reason| Error::BadPath {
            target: target.to_string(),
            file: path.clone(),
            reason: reason.to_string(),
        })?;
    }
    // The first name at or after `a/` is below `a` if any is.
    for file in files.keys() {
        let dir = format!("{file}/");
        if let Some((below, _)) = files
            .range::<String, _>(&dir..)
            .next()
            .filter(|(b, _)| b.starts_with(&dir))
        {
            return Err(Error::FileAndDirectory {
                target: target.to_string(),
                file: file.clone(),
                below: below.clone(),
            });
        }
    }
    Ok(())
}

fn check_identity(target: &Target, commit: &Commit<'_>) -> Result<(), Error> {
    let bad = |s: &str| s.contains(['<', '>', '\n', '\r', '\0']);
    if bad(commit.author_name) || bad(commit.author_email) {
        return Err(Error::BadIdentity {
            target: target.to_string(),
            name: commit.author_name.to_owned(),
            email: commit.author_email.to_owned(),
        });
    }
    Ok(())
}
