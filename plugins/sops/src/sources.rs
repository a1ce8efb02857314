//! The encrypted files a kustomization reads, found the way Flux's kustomize-controller finds
//! them before `kustomize build`: from a kustomization directory, through the directories its
//! `resources`, `bases` and `components` name, the file and env sources of its generators and
//! the files of its patches, kept when they carry sops metadata.
//!
//! Flux reads `secretGenerator` sources and `patches[].path`; `configMapGenerator` sources,
//! `patchesStrategicMerge` and `patchesJson6902` files are read too. A file source `KEY=PATH`
//! is read in the format of KEY's name (a `.dockerconfigjson` suffix is JSON), an env source in
//! the format of its name with dotenv instead of binary, a patch as its name says; a file
//! without that format's sops metadata is read in the format its content shows
//! ([`format_of`]). Missing files, remote references and paths leaving the source root are
//! skipped: the build reports them.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::Format;
use crate::files::{FileEntry, format_of, normalize, normalize_dir};

/// Names a kustomization file may have.
const KUSTOMIZATION_FILES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Why the kustomization tree could not be walked.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("`kustomization` directory `{0}` is not inside the source root")]
    Outside(String),
    #[error("cannot parse {file}: {message}")]
    Parse { file: String, message: String },
}

/// Every sops-encrypted file the kustomization in `dir` (relative to `root`) and the
/// kustomizations it includes read, each with the format to decrypt it in, in walk order.
pub fn kustomize_sources(root: &Path, dir: &str) -> Result<Vec<FileEntry>, Error> {
    let dir = normalize_dir(dir).ok_or_else(|| Error::Outside(dir.to_owned()))?;
    let mut walk = Walk {
        root,
        visited: BTreeSet::new(),
        seen: BTreeSet::new(),
        out: Vec::new(),
    };
    walk.dir(&dir)?;
    Ok(walk.out)
}

/// Whether `bytes` carry the sops metadata of some format (the markers Flux looks for).
pub fn has_sops_marker(bytes: &[u8], format: Option<Format>) -> bool {
    let has = |marker: &[u8]| bytes.windows(marker.len()).any(|w| w == marker);
    match format {
        Some(Format::Json | Format::Binary) => has(b"\"mac\": \"ENC["),
        Some(Format::Dotenv) => has(b"sops_mac=ENC["),
        Some(Format::Ini) => has(b"[sops]"),
        Some(Format::Yaml) => has(b"mac: ENC["),
        None => crate::secret_data::marker_format(bytes).is_some(),
    }
}

struct Walk<'a> {
    root: &'a Path,
    visited: BTreeSet<String>,
    seen: BTreeSet<String>,
    out: Vec<FileEntry>,
}

fn join(dir: &str, rel: &str) -> Option<String> {
    if rel.starts_with('/') || rel.contains("://") {
        return None;
    }
    if dir.is_empty() {
        normalize(rel)
    } else {
        normalize(&format!("{dir}/{rel}"))
    }
}

fn strings(v: Option<&Value>) -> Vec<&str> {
    match v {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(s)) => vec![s.as_str()],
        _ => Vec::new(),
    }
}

impl Walk<'_> {
    fn dir(&mut self, dir: &str) -> Result<(), Error> {
        if !self.visited.insert(dir.to_owned()) {
            return Ok(());
        }
        let Some((file, text)) = KUSTOMIZATION_FILES.iter().find_map(|name| {
            let file = join(dir, name)?;
            let text = std::fs::read_to_string(self.root.join(&file)).ok()?;
            Some((file, text))
        }) else {
            return Ok(());
        };
        let kust = kiln_sdk::yaml::parse_one(&text, &file).map_err(|e| Error::Parse {
            file: file.clone(),
            message: e.message,
        })?;
        for field in ["secretGenerator", "configMapGenerator"] {
            let generators = kust.get(field).and_then(Value::as_array);
            for generator in generators.into_iter().flatten() {
                for source in strings(generator.get("files")) {
                    let (key, path) = source.split_once('=').unwrap_or((source, source));
                    let format = if key.ends_with(".dockerconfigjson") {
                        Format::Json
                    } else {
                        Format::from_path(key)
                    };
                    self.file(dir, path, format);
                }
                let envs = strings(generator.get("envs"));
                for env in envs.into_iter().chain(strings(generator.get("env"))) {
                    let format = match Format::from_path(env) {
                        Format::Binary => Format::Dotenv,
                        f => f,
                    };
                    self.file(dir, env, format);
                }
            }
        }
        for field in ["patches", "patchesJson6902"] {
            let patches = kust.get(field).and_then(Value::as_array);
            for path in patches.into_iter().flatten().filter_map(|p| p.get("path")) {
                if let Some(path) = path.as_str() {
                    self.file(dir, path, Format::from_path(path));
                }
            }
        }
        for path in strings(kust.get("patchesStrategicMerge")) {
            if !path.contains('\n') {
                self.file(dir, path, Format::from_path(path));
            }
        }
        for field in ["resources", "bases", "components"] {
            for rel in strings(kust.get(field)) {
                if let Some(sub) = join(dir, rel)
                    && self.root.join(&sub).is_dir()
                {
                    self.dir(&sub)?;
                }
            }
        }
        Ok(())
    }

    /// Keeps `rel` (relative to `dir`) when it is an encrypted file.
    fn file(&mut self, dir: &str, rel: &str, format: Format) {
        let Some(path) = join(dir, rel) else { return };
        if self.seen.contains(&path) {
            return;
        }
        let Ok(bytes) = std::fs::read(self.root.join(&path)) else {
            return;
        };
        if !has_sops_marker(&bytes, None) {
            return;
        }
        let format = if has_sops_marker(&bytes, Some(format)) {
            format
        } else {
            format_of(&path, &bytes, None)
        };
        self.seen.insert(path.clone());
        self.out.push(FileEntry::WithFormat {
            path,
            format: Some(format.name().to_owned()),
        });
    }
}
