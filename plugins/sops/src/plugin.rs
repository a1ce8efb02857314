//! The kiln plugin: decrypts one file, the files of a `files` list, or every encrypted input
//! resource.

use base64::Engine as _;
use kiln_sdk::prelude::*;

use crate::files::{self, FileEntry};
use crate::{Format, Keys, decrypt_file, decrypt_resource, is_encrypted, resource_recipients};
use crate::{secret_data, sources};

/// Secret holding age identity files (several may be concatenated).
pub const AGE_SECRET: &str = "sops-age-keys";
/// Secret holding armored PGP secret keys (several may be concatenated).
pub const PGP_SECRET: &str = "sops-pgp-keys";

const HINT: &str = "give the private key with `--key-file PATH` or `SOPS_AGE_KEY_FILE`";

/// Step configuration.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// A file to decrypt, relative to the source root.
    pub file: Option<String>,
    /// Its format (`yaml`, `json`, `dotenv`, `ini`, `binary`); from the extension by default.
    pub format: Option<String>,
    /// Files to decrypt into `DecryptedFile` documents after the input resources.
    pub files: Option<Vec<FileEntry>>,
    /// A kustomization directory, relative to the application directory (`.` for itself),
    /// whose encrypted generator sources and patches are decrypted like `files`.
    pub kustomization: Option<String>,
    /// What to do when no key at all is given: `fail` (the default), or `keep` the
    /// encrypted content as it is, with a warning, as `kustomize build` does.
    #[serde(rename = "withoutKeys")]
    pub without_keys: WithoutKeys,
}

/// See [`Config::without_keys`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WithoutKeys {
    #[default]
    Fail,
    Keep,
}

/// The warning of a step that keeps encrypted content for want of any key.
fn kept_encrypted(what: &str) -> Diagnostic {
    Diagnostic::warning(format!(
        "{what} rendered still encrypted, as kustomize does: no SOPS key was given ({HINT} to decrypt)"
    ))
}

/// The `sops` plugin.
pub struct Sops;

fn host_keys() -> Result<Keys, Error> {
    let granted = kiln_sdk::granted_secrets();
    let mut keys = Keys::new();
    for (index, name) in [AGE_SECRET, PGP_SECRET].into_iter().enumerate() {
        if granted.iter().any(|g| g == name)
            && let Some(text) = kiln_sdk::secret(name)
        {
            keys.add_text(index + 1, &text)
                .map_err(|e| Error::bad_input(format!("secret `{name}`: {e}")))?;
        }
    }
    Ok(keys)
}

/// Decrypts the configured file into a `DecryptedFile` resource.
pub fn decrypt_configured_file(
    root: &std::path::Path,
    config: &Config,
    keys: &Keys,
) -> Result<Value, Error> {
    let file = config.file.as_deref().unwrap_or_default();
    let format = match config.format.as_deref() {
        Some(f) => Some(Format::from_name(f).ok_or_else(|| {
            Error::bad_config(format!("unknown sops format `{f}`"))
                .with_hint("use one of yaml, json, dotenv, ini, binary")
        })?),
        None => None,
    };
    let path = root.join(file);
    let bytes = std::fs::read(&path)
        .map_err(|e| Error::bad_input(format!("cannot read {file}: {e}")).with_file(file))?;
    let format = format.unwrap_or_else(|| Format::from_path(file));
    let out = decrypt_file(file, &bytes, Some(format), keys).map_err(|e| {
        let err = Error::bad_input(format!("cannot decrypt {file}: {e}")).with_file(file);
        if matches!(
            e,
            crate::Error::NoKeys { .. } | crate::Error::WrongKeys { .. }
        ) {
            err.with_hint(HINT)
        } else {
            err
        }
    })?;
    Ok(json!({
        "apiVersion": "kiln.dev/v1alpha1",
        "kind": "DecryptedFile",
        "metadata": {"name": file},
        "format": format.name(),
        "content": base64::engine::general_purpose::STANDARD.encode(out),
    }))
}

/// Decrypts every encrypted resource, as Flux's kustomize-controller does after a build:
/// a resource with sops metadata is decrypted whole (without checking its MAC, see
/// [`decrypt_resource`]); a Secret without has each `data` value that is a whole sops file
/// decrypted ([`secret_data`]); a resource annotated `kustomize.toolkit.fluxcd.io/decrypt:
/// disabled` and all others pass through unchanged.
pub fn decrypt_resources(resources: Vec<Value>, keys: &Keys) -> Result<Vec<Value>, Error> {
    resources
        .into_iter()
        .map(|r| {
            if secret_data::decryption_disabled(&r) {
                Ok(r)
            } else if is_encrypted(&r) {
                decrypt_whole(&r, keys)
            } else if secret_data::has_encrypted_data(&r) {
                let name = describe(&r);
                if keys.is_empty() {
                    return Err(Error::bad_input(format!(
                        "{name} holds sops-encrypted data but no key was given"
                    ))
                    .with_hint(HINT));
                }
                secret_data::decrypt_secret_data(r, keys).map_err(|e| {
                    key_hint(
                        Error::bad_input(format!("cannot decrypt {name}: {e}")),
                        &e.source,
                    )
                })
            } else {
                Ok(r)
            }
        })
        .collect()
}

fn decrypt_whole(r: &Value, keys: &Keys) -> Result<Value, Error> {
    let name = describe(r);
    if keys.is_empty() {
        return Err(Error::bad_input(format!(
            "{name} is sops-encrypted but no key was given; it needs the private key of one of: {}",
            resource_recipients(r).join(", ")
        ))
        .with_hint(HINT));
    }
    decrypt_resource(r, keys)
        .map_err(|e| key_hint(Error::bad_input(format!("cannot decrypt {name}: {e}")), &e))
}

fn key_hint(err: Error, cause: &crate::Error) -> Error {
    if matches!(
        cause,
        crate::Error::NoKeys { .. } | crate::Error::WrongKeys { .. }
    ) {
        err.with_hint(HINT)
    } else {
        err
    }
}

fn describe(r: &Value) -> String {
    let kind = r.get("kind").and_then(Value::as_str).unwrap_or("resource");
    let name = r
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("(unnamed)");
    match r.pointer("/metadata/namespace").and_then(Value::as_str) {
        Some(ns) => format!("{kind} {ns}/{name}"),
        None => format!("{kind} {name}"),
    }
}

/// The files to decrypt: `files`, then the encrypted sources of `kustomization` (relative to
/// `app_dir`, itself relative to `root`) not listed already.
pub fn file_entries(
    root: &std::path::Path,
    app_dir: &str,
    config: &Config,
) -> Result<Vec<FileEntry>, Error> {
    let mut entries = config.files.clone().unwrap_or_default();
    if let Some(dir) = &config.kustomization {
        let dir = if app_dir.is_empty() {
            dir.clone()
        } else {
            format!("{app_dir}/{dir}")
        };
        let found = sources::kustomize_sources(root, &dir).map_err(|e| match &e {
            sources::Error::Outside(_) => Error::bad_config(e.to_string())
                .with_hint("give `kustomization` relative to the application directory"),
            sources::Error::Parse { file, .. } => {
                Error::bad_input(e.to_string()).with_file(file.clone())
            }
        })?;
        let listed: Vec<Option<String>> =
            entries.iter().map(|e| files::normalize(e.path())).collect();
        entries.extend(
            found
                .into_iter()
                .filter(|f| !listed.contains(&Some(f.path().to_owned()))),
        );
    }
    Ok(entries)
}

/// Decrypts the input resources that are encrypted, then appends one `DecryptedFile` per entry
/// of `files` (paths relative to `root`).
pub fn decrypt_with_files(
    root: &std::path::Path,
    resources: Vec<Value>,
    entries: &[FileEntry],
    keys: &Keys,
) -> Result<Vec<Value>, Error> {
    let mut out = decrypt_resources(resources, keys)?;
    let decrypted = files::decrypt_files(root, entries, keys).map_err(|e| {
        let file = e.file().to_owned();
        let err = match &e {
            files::Error::Path(_) | files::Error::Format { .. } => Error::bad_config(e.to_string()),
            files::Error::Read { .. } | files::Error::Decrypt { .. } => {
                Error::bad_input(e.to_string())
            }
        };
        match e {
            files::Error::Decrypt {
                source: crate::Error::NoKeys { .. } | crate::Error::WrongKeys { .. },
                ..
            } => err.with_file(file).with_hint(HINT),
            _ => err.with_file(file),
        }
    })?;
    out.extend(decrypted);
    Ok(out)
}

impl Plugin for Sops {
    fn render(req: Request) -> Result<Response, Error> {
        let config: Config = req.config_as()?;
        let keys = host_keys()?;
        if config.files.is_some() || config.kustomization.is_some() {
            if config.file.is_some() || config.format.is_some() {
                return Err(Error::bad_config(
                    "`files` and `kustomization` cannot be combined with `file` or `format`",
                )
                .with_hint("give each file's format in its `files` entry: {path: P, format: F}"));
            }
            let root = std::path::Path::new(kiln_sdk::SOURCE_ROOT);
            let entries = file_entries(root, &req.context.app_dir, &config)?;
            if keys.is_empty() && config.without_keys == WithoutKeys::Keep {
                let mut response = Response::new(req.resources);
                if !entries.is_empty() {
                    let what = match entries.as_slice() {
                        [one] => format!("`{}`", one.path()),
                        many => format!("{} encrypted files", many.len()),
                    };
                    response = response.with_diagnostic(kept_encrypted(&what));
                }
                return Ok(response);
            }
            return Ok(Response::new(decrypt_with_files(
                root,
                req.resources,
                &entries,
                &keys,
            )?));
        }
        if config.file.is_some() {
            let root = std::path::Path::new(kiln_sdk::SOURCE_ROOT);
            return Ok(Response::new(vec![decrypt_configured_file(
                root, &config, &keys,
            )?]));
        }
        if keys.is_empty() && config.without_keys == WithoutKeys::Keep {
            let encrypted = req
                .resources
                .iter()
                .filter(|r| {
                    !secret_data::decryption_disabled(r)
                        && (is_encrypted(r) || secret_data::has_encrypted_data(r))
                })
                .count();
            let mut response = Response::new(req.resources);
            if encrypted > 0 {
                response =
                    response.with_diagnostic(kept_encrypted(&format!("{encrypted} resource(s)")));
            }
            return Ok(response);
        }
        Ok(Response::new(decrypt_resources(req.resources, &keys)?))
    }
}

kiln_sdk::export!(Sops);
