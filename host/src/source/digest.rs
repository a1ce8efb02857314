//! The digest of the part of a source tree a render may read.
//!
//! A plugin may read anything under the source root (a kustomize overlay
//! reads `../base`, a chart `file://../common`), and the host cannot see
//! which files a plugin read. Digesting the whole root would be safe but
//! would make every app of a monorepo miss the cache when any one changes.
//! So the digest covers the *closure* of the app:
//!
//! - every file below the app directory, honouring `.gitignore`, `.ignore`
//!   and `.git/info/exclude` (so `node_modules/`, build outputs and other
//!   ignored trees are neither walked nor hashed), and `.git` left out;
//! - then, transitively, every file or directory named by a relative path
//!   that climbs out (`../x`, `file://../x`) in the text of a file already
//!   covered, when it exists inside the root.
//!
//! A plugin that reads a file outside the app which no covered file names
//! this way would not invalidate the cache; every built-in plugin names
//! what it reads. Ignored files are outside the digest too: regenerate
//! vendored ignored content (e.g. `helm dependency build`) together with
//! the file that pins it (`Chart.lock`), as usual.
//!
//! For git sources the walk runs over the snapshot of the commit's tree,
//! which the git tree id names; the caller may pass that id instead.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use crate::stamp::{Stamp, Watch};

/// Files larger than this are hashed but not scanned for references.
const SCAN_LIMIT: u64 = 1 << 20;

/// What one walk over an app's closure found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closure {
    /// A blake3 digest of every file and link, in path order.
    pub digest: blake3::Hash,
    /// Whether a file holds SOPS metadata (what an encrypted YAML, JSON,
    /// dotenv, INI or binary file carries).
    pub sops_files: bool,
}

/// The closure of the app at `app_dir` (relative to `root`, `.` for the
/// root itself): the app and what it references inside `root`; `named` is
/// more text to find references in, relative to the app (the plugin config
/// the command line adds, e.g. `helm -f ../values.yaml`).
pub fn tree_digest(root: &Path, app_dir: &str, named: &str) -> std::io::Result<Closure> {
    digest(root, app_dir, named, None)
}

/// [`tree_digest`], also recording in `watch` the stamp of every file and
/// directory it read (taken before reading) and of every referenced path
/// that does not exist, so that a later [`Watch::holds`] tells that the
/// digest is still the same without reading anything.
pub fn tree_digest_watched(
    root: &Path,
    app_dir: &str,
    named: &str,
    watch: &mut Watch,
) -> std::io::Result<Closure> {
    digest(root, app_dir, named, Some(watch))
}

/// Whether `bytes` look like a file encrypted by SOPS.
pub(crate) fn is_sops_file(bytes: &[u8]) -> bool {
    const MARKERS: [&[u8]; 4] = [
        b"sops_mac=ENC[",
        b"\"mac\": \"ENC[",
        b"mac: ENC[",
        b"[sops]",
    ];
    MARKERS
        .iter()
        .any(|m| bytes.windows(m.len()).any(|w| w == *m))
}

fn digest(
    root: &Path,
    app_dir: &str,
    named: &str,
    watch: Option<&mut Watch>,
) -> std::io::Result<Closure> {
    let mut files: BTreeMap<String, blake3::Hash> = BTreeMap::new();
    let mut sops_files = false;
    walk(root, app_dir, named, watch, &mut |name, entry| {
        let hash = match entry {
            Entry::Link(target) => blake3::hash(format!("link:{}", target.display()).as_bytes()),
            Entry::File(bytes) => {
                sops_files |= is_sops_file(bytes);
                blake3::hash(bytes)
            }
        };
        files.insert(name, hash);
    })?;
    let mut h = blake3::Hasher::new();
    h.update(&(files.len() as u64).to_le_bytes());
    for (name, digest) in &files {
        h.update(&(name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        h.update(digest.as_bytes());
    }
    Ok(Closure {
        digest: h.finalize(),
        sops_files,
    })
}

/// A file or link met by [`walk`].
enum Entry<'a> {
    Link(&'a Path),
    File(&'a [u8]),
}

/// Visits every file and link of the app's closure (see the module docs),
/// with its path relative to `root`.
fn walk(
    root: &Path,
    app_dir: &str,
    named: &str,
    mut watch: Option<&mut Watch>,
    visit: &mut dyn FnMut(String, Entry<'_>),
) -> std::io::Result<()> {
    let mut seen: BTreeSet<PathBuf> = BTreeSet::new();
    let start = if app_dir == "." {
        PathBuf::new()
    } else {
        PathBuf::from(app_dir)
    };
    if let Some(w) = watch.as_deref_mut() {
        // Ignore files above the app decide what the walk below sees.
        for dir in start.ancestors().skip(1) {
            for name in [".gitignore", ".ignore"] {
                w.add_path(root, &dir.join(name).to_string_lossy());
            }
        }
        w.add_path(root, ".git/info/exclude");
    }
    // Paths the command line names for the steps (`helm -f ../values.yaml`)
    // are read as if a file of the app named them.
    let mut queue: Vec<PathBuf> = references(named)
        .filter_map(|r| resolve(root, &root.join(&start), r))
        .filter(|p| root.join(p).exists())
        .collect();
    queue.push(start);
    while let Some(rel) = queue.pop() {
        if seen.iter().any(|s| rel.starts_with(s)) {
            continue;
        }
        seen.insert(rel.clone());
        let path = root.join(&rel);
        let walker = ignore::WalkBuilder::new(&path)
            .hidden(false)
            .parents(true)
            .git_ignore(true)
            .git_exclude(true)
            .git_global(false)
            .require_git(false)
            .follow_links(false)
            .filter_entry(|e| e.file_name() != ".git")
            .build();
        for entry in walker {
            let entry = entry.map_err(std::io::Error::other)?;
            let Some(ty) = entry.file_type() else {
                continue;
            };
            let p = entry.path();
            let name = p
                .strip_prefix(root)
                .unwrap_or(p)
                .to_string_lossy()
                .replace('\\', "/");
            if let Some(w) = watch.as_deref_mut() {
                if ty.is_dir() {
                    w.add_dir(&name, p);
                } else {
                    w.add(&name, Stamp::read(p));
                }
            }
            if ty.is_symlink() {
                let target = fs_err::read_link(p)?;
                visit(name, Entry::Link(&target));
            } else if ty.is_file() {
                let bytes = fs_err::read(p)?;
                if (bytes.len() as u64) < SCAN_LIMIT
                    && let Ok(text) = std::str::from_utf8(&bytes)
                {
                    let dir = p.parent().unwrap_or(root);
                    for reference in references(text) {
                        if let Some(inside) = resolve(root, dir, reference) {
                            if root.join(&inside).exists() {
                                queue.push(inside);
                            } else if let Some(w) = watch.as_deref_mut() {
                                w.add(&inside.to_string_lossy(), None);
                            }
                        }
                    }
                }
                visit(name, Entry::File(&bytes));
            }
        }
    }
    Ok(())
}

/// Relative paths that climb out of their directory, as written in `text`.
fn references(text: &str) -> impl Iterator<Item = &str> {
    let delimiter = |c: char| c.is_whitespace() || "\"'`,;()[]{}<>=|".contains(c);
    text.match_indices("../").filter_map(move |(at, _)| {
        let start = text[..at].rfind(delimiter).map_or(0, |i| i + 1);
        let end = text[at..].find(delimiter).map_or(text.len(), |i| at + i);
        let token = &text[start..end];
        let token = token.strip_prefix("file://").unwrap_or(token);
        let token = token
            .trim_start_matches('-')
            .trim_start_matches(':')
            .trim_end_matches([':', '.']);
        // Only report each token once: at its first `../`.
        (text[start..at].find("../").is_none() && token.starts_with("..")).then_some(token)
    })
}

/// `reference` seen in a file in `dir`, as a path relative to `root`; `None`
/// when it leaves the root.
fn resolve(root: &Path, dir: &Path, reference: &str) -> Option<PathBuf> {
    let base = dir.strip_prefix(root).ok()?;
    let mut out: Vec<&std::ffi::OsStr> = base.iter().collect();
    for part in Path::new(reference).components() {
        match part {
            Component::ParentDir => {
                out.pop()?;
            }
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(out.iter().collect())
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
    fn references_are_found() {
        let refs: Vec<_> = references(
            "resources:\n- ../base\n- ../../common/x.yaml\nrepository: \"file://../lib\"\n",
        )
        .collect();
        assert_eq!(refs, vec!["../base", "../../common/x.yaml", "../lib"]);
    }

    #[test]
    fn digest_covers_files_the_command_line_names() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let root = tmp.path();
        write(root, "app/Chart.yaml", "name: app\n");
        write(root, "env/prod.yaml", "replicas: 1\n");
        let named = r#"[["helm",{"values":["../env/prod.yaml"]}]]"#;
        let before = tree_digest(root, "app", named).expect("digest");
        assert_ne!(before, tree_digest(root, "app", "").expect("digest"));
        write(root, "env/prod.yaml", "replicas: 2\n");
        assert_ne!(
            before,
            tree_digest(root, "app", named).expect("digest"),
            "a values file outside the app counts when it is named"
        );
    }

    #[test]
    fn digest_covers_the_app_and_what_it_names() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let root = tmp.path();
        write(root, "base/deploy.yaml", "kind: Deployment\n");
        write(
            root,
            "overlay/kustomization.yaml",
            "resources:\n- ../base\n",
        );
        write(root, "other/cm.yaml", "kind: ConfigMap\n");
        write(root, "overlay/.gitignore", "junk/\n");
        let before = tree_digest(root, "overlay", "").expect("digest");
        write(root, "other/cm.yaml", "kind: Secret\n");
        write(root, "overlay/junk/big.bin", "ignored");
        assert_eq!(
            before,
            tree_digest(root, "overlay", "").expect("digest"),
            "unrelated and ignored files do not count"
        );
        write(root, "base/deploy.yaml", "kind: StatefulSet\n");
        assert_ne!(
            before,
            tree_digest(root, "overlay", "").expect("digest"),
            "the referenced base counts"
        );
    }
}
