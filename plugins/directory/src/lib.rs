//! The built-in `directory` plugin: every manifest file under the
//! application directory, as Argo CD's directory source reads them.
//!
//! Files ending in `.yaml`, `.yml` or `.json` are read recursively, depth
//! first with the entries of each directory in name order; multi-document files give one resource per
//! document; `List` kinds are flattened; documents without `apiVersion` and
//! `kind` are skipped. Hidden entries (`.git`, `.github`, …) and `kiln.yaml`
//! are not read. A manifest name that is not a regular file (a FIFO, a
//! socket, a device) is an error.
//!
//! Config (`with:`): `recurse` (default `true`) and `exclude`, a list of
//! glob patterns (`*` and `?`, matched against the path relative to the app
//! directory) of files to leave out.

use std::path::{Path, PathBuf};

use kiln_sdk::prelude::*;
use kiln_sdk::{flatten_lists, is_manifest, yaml};

/// Step configuration.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Read subdirectories too (default `true`).
    pub recurse: Option<bool>,
    /// Glob patterns of files to leave out.
    pub exclude: Vec<String>,
}

/// Reads every manifest under `app` (an absolute path in the sandbox).
pub fn read_dir(app: &Path, config: &Config) -> Result<Vec<Value>, Error> {
    let mut files = Vec::new();
    collect(app, app, config.recurse.unwrap_or(true), &mut files)?;
    files.retain(|f| {
        let rel = rel_path(app, f);
        !config.exclude.iter().any(|g| glob_match(g, &rel))
    });
    let mut out = Vec::new();
    for file in files {
        let name = file.to_string_lossy().into_owned();
        // A FIFO, socket or device is refused before it is opened (kiln's
        // sandbox refuses to open one anyway): reading it could block.
        let meta = std::fs::metadata(&file)
            .map_err(|e| Error::bad_input(format!("cannot read {name}: {e}")).with_file(&name))?;
        if !meta.is_file() {
            return Err(Error::bad_input(format!(
                "{name} is not a regular file (a FIFO, socket or device); only regular files are read"
            ))
            .with_file(&name));
        }
        let text = std::fs::read_to_string(&file)
            .map_err(|e| Error::bad_input(format!("cannot read {name}: {e}")).with_file(&name))?;
        let docs = if extension(&file) == Some("json") {
            if text.trim().is_empty() {
                Vec::new()
            } else {
                vec![yaml::parse_one(&text, &name)?]
            }
        } else {
            yaml::parse_stream(&text, &name)?
        };
        out.extend(flatten_lists(docs).into_iter().filter(is_manifest));
    }
    Ok(out)
}

/// The file's extension, as Argo CD matches it (case-sensitively).
fn extension(path: &Path) -> Option<&str> {
    path.extension().and_then(|e| e.to_str())
}

fn rel_path(app: &Path, file: &Path) -> String {
    file.strip_prefix(app)
        .unwrap_or(file)
        .to_string_lossy()
        .into_owned()
}

fn collect(app: &Path, dir: &Path, recurse: bool, out: &mut Vec<PathBuf>) -> Result<(), Error> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Error::bad_input(format!("cannot read directory {}: {e}", dir.display()))
            .with_file(dir.to_string_lossy())
    })?;
    let mut entries = entries
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::bad_input(format!("cannot list {}: {e}", dir.display())))?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let ty = entry
            .file_type()
            .map_err(|e| Error::bad_input(format!("cannot stat {}: {e}", path.display())))?;
        if ty.is_dir() {
            if recurse {
                collect(app, &path, recurse, out)?;
            }
        } else if matches!(extension(&path), Some("yaml" | "yml" | "json"))
            && !(dir == app && (name == "kiln.yaml" || name == "kiln.yml"))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// Matches `*` (any run of characters but `/`), `**` (any run) and `?`.
fn glob_match(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some((b'*', rest)) if rest.first() == Some(&b'*') => {
                let rest = rest[1..].strip_prefix(b"/").unwrap_or(&rest[1..]);
                (0..=t.len()).any(|i| go(rest, &t[i..]))
            }
            Some((b'*', rest)) => (0..=t.len())
                .take_while(|&i| i == 0 || t[i - 1] != b'/')
                .any(|i| go(rest, &t[i..])),
            Some((b'?', rest)) => t.first().is_some_and(|&c| c != b'/') && go(rest, &t[1..]),
            Some((c, rest)) => t.first() == Some(c) && go(rest, &t[1..]),
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
}

struct Directory;

impl Plugin for Directory {
    fn render(req: Request) -> Result<Response, Error> {
        let config: Config = req.config_as()?;
        let mut resources = req.resources;
        resources.extend(read_dir(&req.context.app_path(), &config)?);
        Ok(Response::new(resources))
    }
}

kiln_sdk::export!(Directory);

#[cfg(test)]
mod tests;
