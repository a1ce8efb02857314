//! SOPS keys from the command line and the environment, as sops and Flux
//! read them.
//!
//! Sources, in order: each `--key-file` (an age identity file or an armored
//! `OpenPGP` secret key, told apart by content), `SOPS_AGE_KEY` (identities
//! inline), `SOPS_AGE_KEY_FILE`, and sops' default age key file
//! (`$XDG_CONFIG_HOME/sops/age/keys.txt`, else `~/.config/sops/age/keys.txt`).
//! They reach the built-in sops plugin only (by digest), as the secrets
//! `sops-age-keys` and `sops-pgp-keys`, whatever a repository's `kiln.yaml`
//! lists.
//!
//! Other secrets (`--secret NAME=FILE`) reach a step only when its
//! `kiln.yaml` lists them and the operator granted them to its plugin:
//! `--grant-secret PLUGIN=NAME`, where PLUGIN is `blake3:<hex>` (the
//! digest `kiln plugin inspect` and `--explain` print), a path to the
//! plugin's `.wasm` file (hashed when kiln starts), or a built-in plugin's
//! name.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// Secret name of the age identities.
pub const AGE_SECRET: &str = "sops-age-keys";
/// Secret name of the armored `OpenPGP` secret keys.
pub const PGP_SECRET: &str = "sops-pgp-keys";

/// Environment: age identities inline.
const SOPS_AGE_KEY: &str = "SOPS_AGE_KEY";
/// Environment: a file of age identities.
const SOPS_AGE_KEY_FILE: &str = "SOPS_AGE_KEY_FILE";

/// The secrets for the sops plugin, from `key_files` and the environment.
pub fn sops_secrets(key_files: &[PathBuf]) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let mut age = Vec::new();
    let mut pgp = Vec::new();
    let mut add = |bytes: Vec<u8>| {
        let text = String::from_utf8_lossy(&bytes);
        let target = if text.contains("-----BEGIN PGP PRIVATE KEY BLOCK-----") {
            &mut pgp
        } else {
            &mut age
        };
        target.extend_from_slice(&bytes);
        target.push(b'\n');
    };
    for file in key_files {
        add(fs_err::read(file)
            .with_context(|| format!("cannot read key file {}", file.display()))?);
    }
    if let Some(inline) = std::env::var_os(SOPS_AGE_KEY).filter(|v| !v.is_empty()) {
        add(inline.to_string_lossy().into_owned().into_bytes());
    }
    if let Some(path) = std::env::var_os(SOPS_AGE_KEY_FILE).filter(|v| !v.is_empty()) {
        let path = PathBuf::from(path);
        add(fs_err::read(&path)
            .with_context(|| format!("cannot read {SOPS_AGE_KEY_FILE}={}", path.display()))?);
    }
    if let Some(default) = default_age_file().filter(|p| p.is_file()) {
        add(fs_err::read(&default).with_context(|| format!("cannot read {}", default.display()))?);
    }
    let mut out = Vec::new();
    if !age.is_empty() {
        out.push((AGE_SECRET.to_owned(), age));
    }
    if !pgp.is_empty() {
        out.push((PGP_SECRET.to_owned(), pgp));
    }
    Ok(out)
}

fn default_age_file() -> Option<PathBuf> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os(crate::env::HOME).map(|h| Path::new(&h).join(".config")))?;
    Some(config.join("sops").join("age").join("keys.txt"))
}

/// Environment: grants, comma-separated, as `--grant-secret` takes them.
pub const KILN_GRANT_SECRET: &str = "KILN_GRANT_SECRET";

/// The operator's grants `PLUGIN=NAME` as `(plugin digest, secret name)`.
pub fn secret_grants(specs: &[String]) -> anyhow::Result<Vec<(blake3::Hash, String)>> {
    let mut out = Vec::with_capacity(specs.len());
    for spec in specs {
        let (plugin, name) = spec.rsplit_once('=').filter(|(p, n)| !p.is_empty() && !n.is_empty()).ok_or_else(|| {
            super::Hint::error(
                format!("--grant-secret `{spec}` is not PLUGIN=NAME"),
                "e.g. --grant-secret ./plugins/label.wasm=api-token or --grant-secret blake3:<digest>=api-token",
            )
        })?;
        if crate::pipeline::KEY_SECRETS.contains(&name) {
            return Err(super::Hint::error(
                format!("--grant-secret `{spec}`: `{name}` holds SOPS decryption keys"),
                "decryption keys reach only the built-in sops plugin; they cannot be granted to another",
            ));
        }
        let hex = plugin.strip_prefix("blake3:").unwrap_or(plugin);
        let digest = if let Ok(d) = blake3::Hash::from_hex(hex) {
            d
        } else if let Some(d) = crate::builtin::digest(plugin) {
            d
        } else {
            let bytes = fs_err::read(plugin).with_context(|| {
                format!("--grant-secret `{spec}`: `{plugin}` is no digest, built-in plugin or readable file")
            })?;
            blake3::hash(&bytes)
        };
        out.push((digest, name.to_owned()));
    }
    Ok(out)
}

/// Why `resources` must not reach a cluster: the first one still SOPS-encrypted
/// (an app rendered without its keys keeps its encrypted Secrets, as
/// `kustomize build` does), named with the recipients whose key opens it.
/// `None` when every resource is plain.
pub fn still_encrypted(resources: &[serde_json::Value]) -> Option<anyhow::Error> {
    use base64::Engine as _;
    use serde_json::Value;
    let encrypted = |text: &str| text.contains("ENC[AES256_GCM,data:");
    let metadata = |r: &Value| -> Option<Value> {
        if let Some(m) = r.get("sops").filter(|m| m.is_object()) {
            return Some(m.clone());
        }
        // A Secret's data value that is a whole SOPS file.
        let data = r.get("data")?.as_object()?;
        data.values().find_map(|v| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(v.as_str()?)
                .ok()?;
            let text = String::from_utf8(bytes).ok()?;
            if !encrypted(&text) {
                return None;
            }
            // The file's own recipients (YAML, JSON, dotenv or INI alike).
            let age: Vec<Value> = text
                .split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|w| w.starts_with("age1") && w.len() > 50)
                .map(|w| serde_json::json!({ "recipient": w }))
                .collect();
            Some(serde_json::json!({ "age": age }))
        })
    };
    let (resource, meta) = resources.iter().find_map(|r| metadata(r).map(|m| (r, m)))?;
    let field = |path: &[&str]| {
        path.iter()
            .try_fold(resource, |v, k| v.get(k))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let (kind, ns, name) = (
        field(&["kind"]),
        field(&["metadata", "namespace"]),
        field(&["metadata", "name"]),
    );
    let id = if ns.is_empty() {
        name
    } else {
        format!("{ns}/{name}")
    };
    let mut recipients: Vec<String> = Vec::new();
    for (list, key, what) in [("age", "recipient", "age"), ("pgp", "fp", "pgp")] {
        for entry in meta
            .get(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(r) = entry.get(key).and_then(Value::as_str) {
                recipients.push(format!("{what} {r}"));
            }
        }
    }
    let needs = if recipients.is_empty() {
        String::new()
    } else {
        format!(
            "; it needs the private key of one of: {}",
            recipients.join(", ")
        )
    };
    Some(super::error::Hint::error(
        format!(
            "{kind} {id} is still SOPS-encrypted: no key was given to decrypt it{needs}; nothing of the app is sent to the cluster"
        ),
        "give the private key with `--key-file PATH` or `SOPS_AGE_KEY_FILE`",
    ))
}
