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

/// Environment: the render seed itself (any text; see [`render_seed`]).
pub const KILN_RENDER_SEED: &str = "KILN_RENDER_SEED";
/// Environment: a file holding the render seed.
pub const KILN_RENDER_SEED_FILE: &str = "KILN_RENDER_SEED_FILE";

/// The operator's render seed (see [`crate::pipeline::RenderSeed`]), from,
/// in order: `KILN_RENDER_SEED`, the file `KILN_RENDER_SEED_FILE` names, or
/// this machine's own seed file, `$XDG_CONFIG_HOME/kiln/render-seed` (else
/// `~/.config/kiln/render-seed`; where that cannot be written, `render-seed`
/// in the cache directory), made with 32 random bytes the first time
/// (readable by its owner only).
///
/// The same seed renders the same passwords and keys; to get the same
/// output on several machines (CI runners, Argo CD repo-server replicas,
/// agents), give them one seed, e.g. from a CI or Kubernetes secret.
pub fn render_seed() -> anyhow::Result<crate::pipeline::RenderSeed> {
    use crate::pipeline::RenderSeed;
    if let Some(seed) = std::env::var_os(KILN_RENDER_SEED).filter(|v| !v.is_empty()) {
        return Ok(RenderSeed::from_secret(seed.as_encoded_bytes()));
    }
    if let Some(path) = std::env::var_os(KILN_RENDER_SEED_FILE).filter(|v| !v.is_empty()) {
        let path = PathBuf::from(path);
        let bytes = fs_err::read(&path)
            .with_context(|| format!("cannot read {KILN_RENDER_SEED_FILE}={}", path.display()))?;
        return seed_of_file(&path, &bytes);
    }
    let places = default_seed_files();
    for path in &places {
        match fs_err::read(path) {
            Ok(bytes) => return seed_of_file(path, &bytes),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) => {}
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!(
                    "cannot read the render seed file {} (set {KILN_RENDER_SEED} or {KILN_RENDER_SEED_FILE})",
                    path.display()
                )));
            }
        }
    }
    // None yet: the first place that takes one (a read-only home in a
    // container leaves the cache directory).
    let mut last = None;
    for path in &places {
        match create_seed_file(path) {
            Ok(seed) => return Ok(seed),
            Err(e) => last = Some((path, e)),
        }
    }
    let (path, e) = last.expect("there is always a place to try");
    Err(e.context(format!(
        "cannot create the render seed file {} (set {KILN_RENDER_SEED} or {KILN_RENDER_SEED_FILE})",
        path.display()
    )))
}

/// A seed file's seed: its bytes, less surrounding white space; an empty
/// file is refused (every render would share its seed with every other).
fn seed_of_file(path: &Path, bytes: &[u8]) -> anyhow::Result<crate::pipeline::RenderSeed> {
    let trimmed = bytes.trim_ascii();
    if trimmed.is_empty() {
        return Err(super::Hint::error(
            format!("the render seed file {} is empty", path.display()),
            "remove it to have kiln make a new one, or write a long random secret in it",
        ));
    }
    Ok(crate::pipeline::RenderSeed::from_secret(trimmed))
}

/// Writes a new random seed to `path` (whole or not at all), unless another
/// process just did: then that one is read.
fn create_seed_file(path: &Path) -> anyhow::Result<crate::pipeline::RenderSeed> {
    use std::io::Write as _;
    let mut random = [0u8; 32];
    aws_lc_rs::rand::fill(&mut random).map_err(|_| anyhow::anyhow!("no random bytes"))?;
    // 64 hex digits (a `Hash` only to write them).
    let text = format!("{}\n", blake3::Hash::from(random).to_hex());
    let dir = path.parent().unwrap_or(Path::new("."));
    fs_err::create_dir_all(dir)?;
    let mut file = tempfile::Builder::new()
        .prefix(".render-seed")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .tempfile_in(dir)?;
    file.write_all(text.as_bytes())?;
    file.as_file().sync_all()?;
    match file.persist_noclobber(path) {
        Ok(_) => {
            tracing::warn!(
                "made a new render seed, {}: the passwords and keys charts generate follow from it; \
                 give every machine that must render the same output one seed ({KILN_RENDER_SEED})",
                path.display()
            );
            seed_of_file(path, text.as_bytes())
        }
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
            seed_of_file(path, &fs_err::read(path)?)
        }
        Err(e) => Err(e.error.into()),
    }
}

/// Where this machine keeps its own seed: the user's configuration
/// directory, then kiln's cache directory.
fn default_seed_files() -> Vec<PathBuf> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os(crate::env::HOME)
                .filter(|v| !v.is_empty())
                .map(|h| Path::new(&h).join(".config"))
        });
    config
        .map(|dir| dir.join("kiln").join("render-seed"))
        .into_iter()
        .chain([crate::env::cache_dir().join("render-seed")])
        .collect()
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
