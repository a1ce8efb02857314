//! The directory backend: one file per resource, the whole tree replaced
//! atomically.
//!
//! Files are named `<namespace>/<kind>[.<group>]-<name>.yaml` (cluster-scoped
//! resources under `_cluster/`), lowercase. The new tree is written into a
//! temporary sibling directory, then swapped in with renames, so a reader
//! sees the old tree or the new one, never half of one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kiln_resource::ResourceId;
use serde_json::Value;

/// Writing the tree failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Two resources map to the same file.
    #[error("two resources would be written to {0}")]
    Collision(String),
    /// A resource has no apiVersion/kind.
    #[error("resource #{0} has no apiVersion or kind")]
    NotAManifest(usize),
    /// A resource's namespace, kind or name cannot be a file name.
    #[error("resource #{index} ({id}) cannot be written to a file: its {part} `{value}` {why}")]
    BadName {
        /// 0-based position.
        index: usize,
        /// The resource.
        id: String,
        /// Which part: namespace, kind or name.
        part: &'static str,
        /// The value.
        value: String,
        /// Why it is refused.
        why: &'static str,
    },
    /// The output path exists and is not a directory.
    #[error("{} exists and is not a directory; kiln only replaces a directory it can own", .0.display())]
    NotADirectory(PathBuf),
    /// An I/O error.
    #[error("cannot write {}", .path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// One component of an output path, made of a namespace, kind or name:
/// lowercase, with `/`, `\\` and `:` turned into `_`. Refused when it
/// could name anything but a file or directory of its own inside the output
/// tree: empty, `.`, `..`, or holding NUL or another control character.
/// The directory and git backends both name files through this.
pub fn component(text: &str) -> Result<String, &'static str> {
    if text.is_empty() {
        return Err("is empty");
    }
    if text.chars().any(char::is_control) {
        return Err("holds a control character");
    }
    let clean = text.to_lowercase().replace(['/', '\\', ':'], "_");
    if clean == "." || clean == ".." {
        return Err("is a relative directory name");
    }
    Ok(clean)
}

/// The file name (relative to the output dir) of a resource; `Err` says
/// which part cannot be a file name, and why.
pub fn file_name(id: &ResourceId) -> Result<String, (&'static str, String, &'static str)> {
    let ns = id.namespace.as_deref().unwrap_or("_cluster");
    let kind = if id.group.is_empty() {
        id.kind.clone()
    } else {
        format!("{}.{}", id.kind, id.group)
    };
    let part = |part: &'static str, value: &str| {
        component(value).map_err(|why| (part, value.to_owned(), why))
    };
    let dir = fit(&part("namespace", ns)?, "");
    let file = fit(
        &format!("{}-{}", part("kind", &kind)?, part("name", &id.name)?),
        ".yaml",
    );
    Ok(format!("{dir}/{file}"))
}

/// The longest file name most file systems take, in bytes.
const MAX_FILE_NAME: usize = 255;

/// `stem` + `suffix` as one file name of at most [`MAX_FILE_NAME`] bytes: a
/// longer stem (a valid Kubernetes name with its kind can be longer) is cut
/// and given a hash of the whole, so distinct names stay distinct.
fn fit(stem: &str, suffix: &str) -> String {
    if stem.len() + suffix.len() <= MAX_FILE_NAME {
        return format!("{stem}{suffix}");
    }
    let hash = blake3::hash(stem.as_bytes()).to_hex();
    let keep = MAX_FILE_NAME - suffix.len() - 17;
    let cut = (0..=keep)
        .rev()
        .find(|&i| stem.is_char_boundary(i))
        .unwrap_or(0);
    format!("{}-{}{suffix}", &stem[..cut], &hash[..16])
}

/// The files of the tree: relative path to YAML text, one per resource.
pub fn files(resources: &[Value]) -> Result<BTreeMap<String, String>, Error> {
    let mut files = BTreeMap::new();
    for (i, r) in resources.iter().enumerate() {
        let id = ResourceId::of(r).ok_or(Error::NotAManifest(i))?;
        let name = file_name(&id).map_err(|(part, value, why)| Error::BadName {
            index: i,
            id: id.to_string(),
            part,
            value,
            why,
        })?;
        if files
            .insert(name.clone(), kiln_resource::yaml::to_string(r))
            .is_some()
        {
            return Err(Error::Collision(name));
        }
    }
    Ok(files)
}

/// Whether the tree at `dir` holds exactly `files`.
fn holds(dir: &Path, files: &BTreeMap<String, String>) -> bool {
    let mut found = 0;
    for entry in ignore::WalkBuilder::new(dir)
        .standard_filters(false)
        .build()
        .flatten()
    {
        if entry.file_type().is_some_and(|t| t.is_file()) {
            found += 1;
            let rel = entry
                .path()
                .strip_prefix(dir)
                .unwrap_or(entry.path())
                .to_string_lossy()
                .replace('\\', "/");
            match files.get(&rel) {
                Some(text) if fs_err::read(entry.path()).is_ok_and(|b| b == text.as_bytes()) => {}
                _ => return false,
            }
        }
    }
    found == files.len()
}

/// Writes apps into a directory: one app into the directory itself,
/// several each into `<dir>/<app dir>`.
pub struct Dir {
    path: PathBuf,
}

impl Dir {
    /// A backend writing under `path`.
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }
}

impl super::Backend for Dir {
    fn deliver(&mut self, delivery: &super::Delivery<'_>) -> anyhow::Result<super::Delivered> {
        let dir = if delivery.apps_in_run > 1 && delivery.label != "." {
            self.path.join(delivery.label)
        } else {
            self.path.clone()
        };
        let files = files(delivery.resources)?;
        if holds(&dir, &files) {
            return Ok(super::Delivered {
                changed: false,
                lines: vec![format!("{} unchanged", dir.display())],
                failed: false,
            });
        }
        replace(&dir, &files)?;
        Ok(super::Delivered {
            changed: true,
            lines: vec![format!("wrote {} files to {}", files.len(), dir.display())],
            failed: false,
        })
    }
}

/// Replaces the tree at `dir` with one file per resource.
pub fn write(dir: &Path, resources: &[Value]) -> Result<(), Error> {
    replace(dir, &files(resources)?)
}

/// Replaces the tree at `dir` with `files`.
fn replace(dir: &Path, files: &BTreeMap<String, String>) -> Result<(), Error> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    // Only a directory is replaced: never a file, a link or anything else
    // the path may name.
    let existing = match fs_err::symlink_metadata(dir) {
        Ok(meta) if meta.is_dir() => true,
        Ok(_) => return Err(Error::NotADirectory(dir.to_path_buf())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(io(dir)(e)),
    };
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs_err::create_dir_all(parent).map_err(io(parent))?;
    let staging = tempfile::Builder::new()
        .prefix(".kiln-out-")
        .tempdir_in(parent)
        .map_err(io(parent))?;
    for (name, text) in files {
        let path = staging.path().join(name);
        if let Some(p) = path.parent() {
            fs_err::create_dir_all(p).map_err(io(p))?;
        }
        let mut options = fs_err::OpenOptions::new();
        options.write(true).create_new(true);
        std::io::Write::write_all(
            &mut options.open(&path).map_err(io(&path))?,
            text.as_bytes(),
        )
        .map_err(io(&path))?;
    }
    let staged = staging.keep();
    if existing {
        let old = parent.join(format!(".kiln-old-{}", std::process::id()));
        fs_err::rename(dir, &old).map_err(io(dir))?;
        fs_err::rename(&staged, dir).map_err(io(dir))?;
        fs_err::remove_dir_all(&old).map_err(io(&old))?;
    } else {
        fs_err::rename(&staged, dir).map_err(io(dir))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn writes_one_file_per_resource_and_replaces_the_tree() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "web"}});
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "web"}});
        let dep = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "web"}});
        write(&out, &[cm.clone(), ns, dep]).unwrap();
        assert!(out.join("web/configmap-a.yaml").is_file());
        assert!(out.join("_cluster/namespace-web.yaml").is_file());
        assert!(out.join("web/deployment.apps-web.yaml").is_file());
        write(&out, std::slice::from_ref(&cm)).unwrap();
        assert!(!out.join("_cluster").exists(), "old files are gone");
        assert_eq!(
            std::fs::read_to_string(out.join("web/configmap-a.yaml")).unwrap(),
            kiln_resource::yaml::to_string(&cm)
        );
        assert!(matches!(
            write(&out, &[cm.clone(), cm]),
            Err(Error::Collision(_))
        ));
        assert!(
            out.join("web/configmap-a.yaml").is_file(),
            "a failed write leaves the old tree"
        );
        let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, vec![std::ffi::OsString::from("out")]);
    }

    #[test]
    fn long_names_are_cut_to_a_file_name_with_a_hash() {
        let name = |ns: &str, name: &str| {
            file_name(&ResourceId {
                group: "apiextensions.k8s.io".into(),
                version: "v1".into(),
                kind: "CustomResourceDefinition".into(),
                namespace: Some(ns.into()),
                name: name.into(),
            })
            .unwrap()
        };
        // A valid Kubernetes name (253 characters) with its kind is longer
        // than a file name may be.
        let long = "é".repeat(126) + "x";
        let a = name("ns", &long);
        let b = name("ns", &(long.clone() + "y"));
        let file = a.strip_prefix("ns/").unwrap();
        assert!(
            file.len() <= 255 && std::path::Path::new(file).extension() == Some("yaml".as_ref()),
            "{a}"
        );
        assert!(file.starts_with("customresourcedefinition.apiextensions.k8s.io-éé"));
        assert_ne!(a, b, "distinct names stay distinct");
        let dir = name(&"n".repeat(300), "x");
        assert!(dir.split('/').all(|part| part.len() <= 255), "{dir}");
        assert_eq!(
            name("ns", "x"),
            "ns/customresourcedefinition.apiextensions.k8s.io-x.yaml"
        );
    }

    #[test]
    fn names_that_leave_the_tree_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        for (ns, name) in [("..", "x"), (".", "x"), ("web", ".."), ("a\u{0}b", "x")] {
            let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}});
            let err = write(&out, &[cm]).expect_err(&format!("namespace {ns:?}, name {name:?}"));
            assert!(matches!(err, Error::BadName { .. }), "{err}");
        }
        let sneaky = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "../../x", "namespace": "../.."}});
        write(&out, &[sneaky]).unwrap();
        assert!(out.join(".._../configmap-.._.._x.yaml").is_file());
        let names: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            vec![std::ffi::OsString::from("out")],
            "nothing beside the output"
        );
    }

    #[test]
    fn only_a_directory_is_replaced() {
        let tmp = tempfile::tempdir().unwrap();
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}});
        let file = tmp.path().join("notes.txt");
        std::fs::write(&file, "keep me").unwrap();
        let err = write(&file, std::slice::from_ref(&cm)).unwrap_err();
        assert!(matches!(err, Error::NotADirectory(_)), "{err}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
        #[cfg(unix)]
        {
            let target = tmp.path().join("real");
            std::fs::create_dir(&target).unwrap();
            let link = tmp.path().join("link");
            std::os::unix::fs::symlink(&target, &link).unwrap();
            assert!(matches!(write(&link, &[cm]), Err(Error::NotADirectory(_))));
            assert!(
                link.symlink_metadata().unwrap().is_symlink(),
                "the link stays"
            );
        }
    }
}
