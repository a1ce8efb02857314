//! Finding the apps under a root, for `kiln render --all`.
//!
//! An app is a directory with a `kiln.yaml`, a kustomization or a
//! `Chart.yaml`, unless it is part of another app: a directory inside a
//! chart (a subchart under `charts/`), or a directory another app refers to
//! (a kustomize base or component listed by an overlay, or a path named in a
//! `kiln.yaml`). `.gitignore`d trees and `.git` are not searched.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use crate::stamp::{Stamp, Watch};

const MARKERS: [&str; 5] = [
    "kiln.yaml",
    "kustomization.yaml",
    "kustomization.yml",
    "Kustomization",
    "Chart.yaml",
];

/// Searching for apps failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The root cannot be walked.
    #[error("cannot search {} for apps", .path.display())]
    Walk {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: ignore::Error,
    },
}

/// The app directories under `root`, relative to it (`.` for the root
/// itself), sorted.
pub fn apps(root: &Path) -> Result<Vec<String>, Error> {
    search(root, None)
}

/// [`apps`], also recording in `watch` what the search read: every
/// directory walked, every ignore or marker file read, every referenced path
/// checked (named as `prefix` + the path relative to `root`).
pub fn apps_watched(root: &Path, watch: &mut Watch, prefix: &str) -> Result<Vec<String>, Error> {
    search(root, Some((watch, prefix)))
}

fn search(root: &Path, mut watch: Option<(&mut Watch, &str)>) -> Result<Vec<String>, Error> {
    // Stamps are taken before the entry is read.
    let mut note = |rel: &Path, dir: bool| {
        if let Some((w, prefix)) = watch.as_mut() {
            let rel_text = rel.to_string_lossy().replace('\\', "/");
            let name = match (*prefix, rel_text.as_str()) {
                ("" | ".", "") => ".".to_owned(),
                ("" | ".", r) => r.to_owned(),
                (p, "") => p.to_owned(),
                (p, r) => format!("{p}/{r}"),
            };
            if dir {
                // Entries added or removed change the directory's names.
                w.add_dir(&name, &root.join(rel));
            } else {
                w.add(&name, Stamp::read(&root.join(rel)));
            }
        }
    };
    let mut candidates: BTreeSet<PathBuf> = BTreeSet::new();
    let walker = ignore::WalkBuilder::new(root)
        .hidden(false)
        .require_git(false)
        .git_global(false)
        .filter_entry(|e| e.file_name() != ".git")
        .build();
    for entry in walker {
        let entry = entry.map_err(|source| Error::Walk {
            path: root.to_path_buf(),
            source,
        })?;
        let rel = entry.path().strip_prefix(root).unwrap_or(entry.path());
        let Some(ty) = entry.file_type() else {
            continue;
        };
        if ty.is_dir() {
            note(rel, true);
        } else if ty.is_file() {
            let name = entry.file_name();
            if MARKERS.iter().any(|m| name == *m) {
                note(rel, false);
                if let Some(dir) = rel.parent() {
                    candidates.insert(dir.to_path_buf());
                }
            } else if name == ".gitignore" || name == ".ignore" {
                note(rel, false);
            }
        }
    }
    let charts: Vec<&PathBuf> = candidates
        .iter()
        .filter(|d| root.join(d).join("Chart.yaml").is_file())
        .collect();
    let mut referenced: BTreeSet<PathBuf> = BTreeSet::new();
    for dir in &candidates {
        // Whether a referenced directory exists is covered by the stamps
        // of the directories walked above (references never leave `root`).
        for target in references(root, dir) {
            if &target != dir {
                referenced.insert(target);
            }
        }
    }
    Ok(candidates
        .iter()
        .filter(|d| !referenced.contains(*d))
        .filter(|d| !charts.iter().any(|c| d.starts_with(c) && d != c))
        .map(|d| {
            if d.as_os_str().is_empty() {
                ".".to_owned()
            } else {
                d.to_string_lossy().replace('\\', "/")
            }
        })
        .collect())
}

/// The directories (relative to `root`) the app at `dir` refers to.
fn references(root: &Path, dir: &Path) -> Vec<PathBuf> {
    let abs = root.join(dir);
    let mut out = Vec::new();
    for file in ["kustomization.yaml", "kustomization.yml", "Kustomization"] {
        let Ok(text) = super::read_config(&abs.join(file)) else {
            continue;
        };
        let Ok(doc) = kiln_resource::yaml::parse_one(&text, file) else {
            continue;
        };
        for field in ["resources", "bases", "components"] {
            for item in doc[field].as_array().into_iter().flatten() {
                if let Some(rel) = item.as_str().and_then(|s| join(dir, s))
                    && root.join(&rel).is_dir()
                {
                    out.push(rel);
                }
            }
        }
    }
    if let Ok(text) = super::read_config(&abs.join("kiln.yaml")) {
        for word in text.split(|c: char| c.is_whitespace() || "\"',[]{}".contains(c)) {
            if word.starts_with("../")
                && let Some(rel) = join(dir, word)
                && root.join(&rel).is_dir()
            {
                out.push(rel);
            }
        }
    }
    out
}

/// `rel` seen in `dir`, relative to the root; `None` when it leaves it or is a URL.
fn join(dir: &Path, rel: &str) -> Option<PathBuf> {
    if rel.contains("://") || Path::new(rel).is_absolute() {
        return None;
    }
    let mut parts: Vec<&std::ffi::OsStr> = dir.iter().collect();
    for c in Path::new(rel).components() {
        match c {
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::Normal(p) => parts.push(p),
            _ => {}
        }
    }
    Some(parts.iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        fs_err::create_dir_all(p.parent().expect("has parent")).expect("mkdir");
        fs_err::write(p, text).expect("write");
    }

    #[test]
    fn bases_and_subcharts_are_not_apps() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let root = tmp.path();
        write(
            root,
            "apps/web/base/kustomization.yaml",
            "resources:\n- deploy.yaml\n",
        );
        write(
            root,
            "apps/web/prod/kustomization.yaml",
            "resources:\n- ../base\n",
        );
        write(
            root,
            "apps/web/dev/kustomization.yaml",
            "resources:\n- ../base\n",
        );
        write(root, "charts/db/Chart.yaml", "name: db\n");
        write(root, "charts/db/charts/sub/Chart.yaml", "name: sub\n");
        write(root, "plain/kiln.yaml", "steps: []\n");
        write(root, "ignored/kustomization.yaml", "resources: []\n");
        write(root, ".gitignore", "ignored/\n");
        let found = apps(root).expect("search");
        assert_eq!(
            found,
            vec!["apps/web/dev", "apps/web/prod", "charts/db", "plain"]
        );
    }
}
