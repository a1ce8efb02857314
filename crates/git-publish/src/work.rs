//! The bare work repository: one per remote URL under the work directory,
//! fetched with gix; trees and commits are written straight into its object
//! database.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use gix::ObjectId;
use gix::objs::tree::EntryKind;
use gix::remote::Direction;

use crate::publish::{Commit, Error};
use crate::target::{Target, redact};
use crate::text::Scrubbed;

/// Cache bucket of the work repositories; bump when the layout changes.
const BUCKET: &str = "git-publish-v0";

/// A bare repository that caches one remote's objects.
pub(crate) struct WorkRepo {
    pub(crate) dir: PathBuf,
    pub(crate) repo: gix::Repository,
}

/// The branch as fetched: its tip commit and that commit's root tree.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tip {
    pub(crate) commit: ObjectId,
    pub(crate) tree: ObjectId,
}

impl WorkRepo {
    /// Opens (or creates) the work repository of `target.url` under `work_dir`.
    pub(crate) fn open(work_dir: &Path, target: &Target) -> Result<Self, Error> {
        let name = blake3::hash(redact(&target.url).as_bytes()).to_hex();
        let dir = work_dir.join(BUCKET).join(&name[..32]);
        let _lock = lock(&dir)?;
        let repo = match dir.exists().then(|| gix::open(&dir)) {
            Some(Ok(repo)) => repo,
            Some(Err(_)) => {
                tracing::warn!(dir = %dir.display(), "the publish work repository is damaged; creating it afresh");
                fs_err::remove_dir_all(&dir).map_err(|source| Error::WorkDir {
                    path: dir.clone(),
                    source,
                })?;
                init(&dir, target)?
            }
            None => init(&dir, target)?,
        };
        Ok(Self { dir, repo })
    }

    /// Takes the lock shared by every process using this work repository.
    pub(crate) fn lock(&self) -> Result<std::fs::File, Error> {
        lock(&self.dir)
    }

    /// Fetches `target.branch` with gix and returns its tip, or `None` when
    /// the remote has no such branch.
    pub(crate) fn fetch(&self, target: &Target) -> Result<Option<Tip>, Error> {
        let _lock = self.lock()?;
        let span =
            tracing::info_span!("fetch", url = %redact(&target.url), branch = %target.branch);
        let _entered = span.enter();
        let remote_ref = format!("refs/heads/{}", target.branch);
        let tracking = tracking_ref(target);
        let fetch_error = |e: &gix::Error| Error::Fetch {
            url: redact(&target.url),
            branch: target.branch.clone(),
            source: Scrubbed::new(e, &target.url),
        };
        let remote = self
            .repo
            .remote_at(target.url.as_str())
            .and_then(|r| {
                r.with_refspecs(
                    [format!("+{remote_ref}:{tracking}").as_str()],
                    Direction::Fetch,
                )
            })
            .map_err(|e| fetch_error(&e))?;
        let connection = remote
            .connect(Direction::Fetch)
            .map_err(|e| fetch_error(&e))?;
        let prepare = connection
            .prepare_fetch(
                gix::progress::Discard,
                gix::remote::ref_map::Options::default(),
            )
            .map_err(|e| fetch_error(&e))?;
        let advertised = prepare.ref_map().remote_refs.iter().find_map(|r| {
            let (name, target, peeled) = r.unpack();
            (name == remote_ref.as_str())
                .then(|| peeled.or(target).map(ToOwned::to_owned))
                .flatten()
        });
        let Some(commit) = advertised else {
            tracing::debug!("the branch does not exist on the remote");
            return Ok(None);
        };
        let interrupt = AtomicBool::new(false);
        prepare
            .receive(gix::progress::Discard, &interrupt)
            .map_err(|e| fetch_error(&e))?;
        let tree = self
            .repo
            .find_commit(commit)
            .and_then(|c| c.tree_id())
            .map_err(|e| Error::BadTip {
                url: redact(&target.url),
                branch: target.branch.clone(),
                tip: commit.to_string(),
                source: Scrubbed::new(&e, &target.url),
            })?
            .detach();
        Ok(Some(Tip { commit, tree }))
    }

    /// Writes the root tree of the branch after replacing `target.path`
    /// (of `base`, the tip's tree) by exactly `files`.
    pub(crate) fn write_tree(
        &self,
        target: &Target,
        base: Option<ObjectId>,
        files: &BTreeMap<String, Vec<u8>>,
    ) -> Result<ObjectId, Error> {
        let objects = |e: &gix::Error| Error::Objects {
            target: target.to_string(),
            path: self.dir.clone(),
            source: Scrubbed::new(e, &target.url),
        };
        let empty = ObjectId::empty_tree(self.repo.object_hash());
        let mut sub = self.repo.edit_tree(empty).map_err(|e| objects(&e))?;
        for (path, bytes) in files {
            let blob = self.repo.write_blob(bytes).map_err(|e| objects(&e))?;
            sub.upsert(path.as_str(), EntryKind::Blob, blob.detach())
                .map_err(|e| Error::BadPath {
                    target: target.to_string(),
                    file: path.clone(),
                    reason: Scrubbed::new(&e, &target.url).to_string(),
                })?;
        }
        let sub = sub.write().map_err(|e| objects(&e))?.detach();
        if target.path.is_empty() {
            return Ok(sub);
        }
        let mut root = self
            .repo
            .edit_tree(base.unwrap_or(empty))
            .map_err(|e| objects(&e))?;
        if sub.is_empty_tree() {
            root.remove(target.path.as_str())
        } else {
            root.upsert(target.path.as_str(), EntryKind::Tree, sub)
        }
        .map_err(|e| objects(&e))?;
        Ok(root.write().map_err(|e| objects(&e))?.detach())
    }

    /// Writes a commit of `tree` on `parent`, dated now.
    pub(crate) fn write_commit(
        &self,
        target: &Target,
        commit: &Commit<'_>,
        tree: ObjectId,
        parent: Option<ObjectId>,
    ) -> Result<ObjectId, Error> {
        let signature = gix::actor::Signature {
            name: commit.author_name.into(),
            email: commit.author_email.into(),
            time: gix::date::Time::now_local_or_utc(),
        };
        let mut message = commit.message.to_owned();
        if !message.ends_with('\n') {
            message.push('\n');
        }
        let mut time = gix::date::parse::TimeBuf::default();
        let signature = signature.to_ref(&mut time);
        self.repo
            .new_commit_as(signature, signature, message, tree, parent)
            .map(|c| c.id)
            .map_err(|e| Error::Objects {
                target: target.to_string(),
                path: self.dir.clone(),
                source: Scrubbed::new(&e, &target.url),
            })
    }

    /// Points the tracking ref at `commit` once it is on the remote, so the
    /// next fetch negotiates from it.
    pub(crate) fn record_pushed(&self, target: &Target, commit: ObjectId) {
        let result = self.repo.reference(
            tracking_ref(target),
            commit,
            gix::refs::transaction::PreviousValue::Any,
            "kiln publish",
        );
        if let Err(e) = result {
            let e = Scrubbed::new(&e, &target.url);
            tracing::debug!(error = %e, "cannot record the pushed commit; the next fetch recovers it");
        }
    }
}

/// Where the fetched tip of `target.branch` is kept in the work repository.
fn tracking_ref(target: &Target) -> String {
    format!("refs/kiln/publish/{}", target.branch)
}

fn init(dir: &Path, target: &Target) -> Result<gix::Repository, Error> {
    gix::init_bare(dir).map_err(|e| Error::Objects {
        target: target.to_string(),
        path: dir.to_owned(),
        source: Scrubbed::new(&e, &target.url),
    })
}

/// An exclusive lock on `<dir>.lock`, released when the file is dropped.
fn lock(dir: &Path) -> Result<std::fs::File, Error> {
    lock_beside(dir).map_err(|source| Error::WorkDir {
        path: dir.with_extension("lock"),
        source,
    })
}

/// Takes an exclusive lock on the file `<dir>.lock` (made, with the parent
/// of `dir`, when missing), waiting while another process holds it; it is
/// released when the returned file is dropped. Every process that locks
/// `dir` this way takes turns with the others.
pub fn lock_beside(dir: &Path) -> std::io::Result<std::fs::File> {
    if let Some(parent) = dir.parent() {
        fs_err::create_dir_all(parent)?;
    }
    let file = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.with_extension("lock"))?;
    file.lock()?;
    Ok(file)
}
