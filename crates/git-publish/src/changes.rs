//! What a publication changes below the target directory, for a dry run or
//! a diff before pushing.

use std::collections::BTreeMap;

use gix::ObjectId;

use crate::publish::{Error, Publication};
use crate::text::Scrubbed;

/// One file that a publication adds, modifies or removes; paths are
/// relative to the target directory, like the keys of the published files.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    /// A file the branch does not have yet.
    Added(String),
    /// A file whose contents (or mode) change.
    Modified(String),
    /// A file of the branch that is not among the published files.
    Removed(String),
}

impl Publication<'_> {
    /// The files below the target directory that pushing would add, modify
    /// or remove, sorted by path; empty when nothing changes.
    pub fn changes(&self) -> Result<Vec<Change>, Error> {
        let old = match self.tip_tree() {
            Some(tree) => self.files_below(tree)?,
            None => BTreeMap::new(),
        };
        let new = self.files_below(self.tree_id())?;
        let mut changes: Vec<Change> = new
            .iter()
            .filter_map(|(path, entry)| match old.get(path) {
                None => Some(Change::Added(path.clone())),
                Some(before) if before != entry => Some(Change::Modified(path.clone())),
                Some(_) => None,
            })
            .chain(
                old.keys()
                    .filter(|path| !new.contains_key(*path))
                    .map(|path| Change::Removed(path.clone())),
            )
            .collect();
        changes.sort_by(|a, b| path_of(a).cmp(path_of(b)));
        Ok(changes)
    }

    /// Every non-tree entry below the target directory of `root`: path → (mode, id).
    fn files_below(&self, root: ObjectId) -> Result<BTreeMap<String, (u16, ObjectId)>, Error> {
        let repo = &self.work().repo;
        let objects = |e: &gix::Error| Error::Objects {
            target: self.target().to_string(),
            path: self.work().dir.clone(),
            source: Scrubbed::new(e, &self.target().url),
        };
        let mut out = BTreeMap::new();
        let path = &self.target().path;
        let start = if path.is_empty() {
            Some(root)
        } else {
            let tree = repo.find_tree(root).map_err(|e| objects(&e))?;
            tree.lookup_entry(path.split('/'))
                .map_err(|e| objects(&e))?
                .filter(|e| e.mode().is_tree())
                .map(|e| e.object_id())
        };
        let mut pending: Vec<(String, ObjectId)> =
            start.into_iter().map(|id| (String::new(), id)).collect();
        while let Some((prefix, id)) = pending.pop() {
            let tree = repo.find_tree(id).map_err(|e| objects(&e))?;
            let decoded = tree.decode().map_err(|e| objects(&e))?;
            for entry in decoded.entries {
                let name = format!("{prefix}{}", entry.filename);
                if entry.mode.is_tree() {
                    pending.push((format!("{name}/"), entry.oid.to_owned()));
                } else {
                    out.insert(name, (entry.mode.value(), entry.oid.to_owned()));
                }
            }
        }
        Ok(out)
    }
}

fn path_of(change: &Change) -> &str {
    match change {
        Change::Added(p) | Change::Modified(p) | Change::Removed(p) => p,
    }
}
