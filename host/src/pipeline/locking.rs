//! What `kiln plugin push|add|update|verify` and `kiln render --locked`
//! do: publish a plugin as a Wasm OCI artifact, pin an app's plugins in
//! `kiln.lock`, and check the lock against `kiln.yaml`, the plugins'
//! bytes, the registry and the trust policy.
//!
//! Tags are resolved here and only here (`add`, `update`); renders read
//! the digests this module wrote.
use std::fmt::Write as _;

use std::path::Path;

use super::lock::{Entry, Lock, VERSION};
use super::oci::Trust;
use super::{App, file};
use crate::oci::signature::{self, SigningKey};
use crate::oci::{OciRef, Registry, Store, artifact, client};
use crate::runtime::{self, Runtime};

/// A `kiln plugin` command failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `kiln.yaml` or its trust policy cannot be used.
    #[error(transparent)]
    Pipeline(#[from] super::Error),
    /// `kiln.lock` cannot be read or written.
    #[error(transparent)]
    Lock(#[from] super::lock::Error),
    /// The registry or the cache failed.
    #[error(transparent)]
    Registry(#[from] client::Error),
    /// The trust policy is not met.
    #[error(transparent)]
    Signature(#[from] signature::Error),
    /// A reference cannot be parsed.
    #[error(transparent)]
    Reference(#[from] crate::oci::reference::ParseError),
    /// The bytes are not a kiln plugin or a KRM function.
    #[error("`{plugin}` is not a kiln plugin component or a KRM function module")]
    NotAPlugin {
        /// The plugin.
        plugin: String,
        /// Why.
        #[source]
        source: runtime::LoadError,
    },
    /// A file cannot be read.
    #[error("cannot read plugin `{plugin}`")]
    Read {
        /// The plugin.
        plugin: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `kiln.lock` has no entry for a plugin of `kiln.yaml`.
    #[error("kiln.lock has no entry for plugin `{plugin}` of {file}")]
    Missing {
        /// The pipeline file.
        file: String,
        /// The plugin reference.
        plugin: String,
    },
    /// `kiln.lock` pins other bytes than the plugin has now.
    #[error("kiln.lock is stale for plugin `{plugin}`: {detail}")]
    Stale {
        /// The plugin reference.
        plugin: String,
        /// What differs.
        detail: String,
    },
    /// `kiln plugin update NAME` names no plugin of the pipeline.
    #[error("{file} has no step or plugin `{name}` to update")]
    NoSuchPlugin {
        /// The pipeline file.
        file: String,
        /// What was asked for.
        name: String,
    },
    /// The pipeline has no `kiln.yaml`.
    #[error("{} has no kiln.yaml, so it has no plugins to lock", .0.display())]
    NoPipeline(std::path::PathBuf),
    /// A push needs a tag.
    #[error("`{0}` names no tag to push to (oci://REGISTRY/REPOSITORY:TAG)")]
    NoTag(String),
}

impl Error {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Missing { plugin, .. } => Some(format!(
                "run `kiln plugin update` (or `kiln plugin add {plugin}`) in the app directory and commit kiln.lock"
            )),
            Self::Stale { .. } => Some(
                "run `kiln plugin update` in the app directory, review the kiln.lock diff and commit it"
                    .into(),
            ),
            Self::Pipeline(e) => e.hint(),
            Self::NotAPlugin { .. } => Some(
                "push a component of the kiln:plugin world (`kiln plugin build`) or a KRM function compiled to WASI"
                    .into(),
            ),
            _ => None,
        }
    }
}

/// What a plugin of the pipeline is, for locking.
enum Source {
    Oci(OciRef),
    File(String),
}

/// The pipeline file of `app`, parsed, with its name as shown.
fn pipeline_file(app: &App) -> Result<Option<(file::PipelineFile, String)>, Error> {
    let path = app.path().join(file::FILE_NAME);
    let shown = path
        .strip_prefix(&app.root)
        .unwrap_or(&path)
        .to_string_lossy()
        .into_owned();
    let text = match crate::source::read_config(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::Pipeline(super::Error::Io(e))),
    };
    let parsed = file::parse(&text, &shown).map_err(super::Error::from)?;
    Ok(Some((parsed, shown)))
}

/// How `kiln.yaml` treats `plugin`: built in (`None`), a file or OCI.
fn classify(app: &App, plugin: &str, shown: &str) -> Result<Option<Source>, Error> {
    if OciRef::is_oci(plugin) {
        return Ok(Some(Source::Oci(OciRef::parse(plugin)?)));
    }
    let is_file = Path::new(plugin)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("wasm"));
    if is_file || plugin.contains('/') {
        return Ok(Some(Source::File(super::resolve_in_root(
            app, plugin, shown,
        )?)));
    }
    Ok(None)
}

/// The trust policy of `app`'s `kiln.yaml` (none without one).
fn trust(app: &App) -> Result<Trust, Error> {
    match pipeline_file(app)? {
        Some((parsed, shown)) => Ok(Trust::load(app, parsed.trust.as_ref(), &shown)?),
        None => Ok(Trust::default()),
    }
}

/// What was pinned for one plugin.
#[derive(Debug, Clone)]
pub struct Pinned {
    /// The lock entry.
    pub entry: Entry,
    /// The plugin's kind, as the runtime loaded it.
    pub kind: runtime::Kind,
    /// The contract version of a component.
    pub contract: Option<String>,
    /// The key whose signature verified, when the policy asked.
    pub signed_by: Option<String>,
}

/// Checks `wasm` is a plugin this kiln runs (compiling it into the cache).
fn load(
    runtime: &Runtime,
    plugin: &str,
    wasm: &[u8],
) -> Result<(runtime::Kind, Option<String>), Error> {
    let loaded = runtime
        .load(plugin, wasm)
        .map_err(|source| Error::NotAPlugin {
            plugin: plugin.to_owned(),
            source,
        })?;
    Ok((loaded.kind(), loaded.contract_version().map(str::to_owned)))
}

/// Pins one plugin: resolves a tag, pulls, checks, verifies signatures.
fn pin(
    app: &App,
    plugin: &str,
    source: &Source,
    trust: &Trust,
    runtime: &Runtime,
    cache_dir: &Path,
) -> Result<Pinned, Error> {
    match source {
        Source::File(rel) => {
            let wasm =
                runtime::read_plugin_file(&app.root.join(rel)).map_err(|source| Error::Read {
                    plugin: plugin.to_owned(),
                    source,
                })?;
            let (kind, contract) = load(runtime, plugin, &wasm)?;
            Ok(Pinned {
                entry: Entry {
                    source: plugin.to_owned(),
                    digest: None,
                    wasm: None,
                    blake3: blake3::hash(&wasm).to_hex().to_string(),
                },
                kind,
                contract,
                signed_by: None,
            })
        }
        Source::Oci(reference) => {
            let registry = Registry::new();
            let store = Store::new(cache_dir);
            let digest = match &reference.digest {
                Some(d) => d.clone(),
                None => registry.resolve(reference)?,
            };
            let pulled = registry.pull(reference, &digest, &store)?;
            let (kind, contract) = load(runtime, plugin, &pulled.wasm)?;
            let signed_by = trust
                .verify(&registry, &store, reference, &digest)?
                .map(|v| v.key);
            Ok(Pinned {
                entry: Entry {
                    source: plugin.to_owned(),
                    digest: Some(digest),
                    wasm: Some(pulled.layer_digest),
                    blake3: blake3::hash(&pulled.wasm).to_hex().to_string(),
                },
                kind,
                contract,
                signed_by,
            })
        }
    }
}

/// `kiln plugin add PLUGIN`: pins `plugin` (an `oci://` reference, whose
/// tag is resolved now, or a path relative to the app directory) in the
/// app's `kiln.lock`. `kiln.yaml` is not edited: its step names the
/// plugin by the same text.
pub fn add(app: &App, plugin: &str, runtime: &Runtime, cache_dir: &Path) -> Result<Pinned, Error> {
    let shown = format!("{}/{}", app.dir, file::FILE_NAME);
    let source = match classify(app, plugin, &shown)? {
        Some(s) => s,
        None => Source::File(super::resolve_in_root(app, plugin, &shown)?),
    };
    let trust = trust(app)?;
    let pinned = pin(app, plugin, &source, &trust, runtime, cache_dir)?;
    let mut lock = Lock::read(&app.path())?.unwrap_or(Lock {
        version: VERSION,
        plugins: Vec::new(),
    });
    lock.insert(pinned.entry.clone());
    lock.write(&app.path())?;
    Ok(pinned)
}

/// One line of what `kiln plugin update` changed.
#[derive(Debug, Clone)]
pub struct Update {
    /// The plugin.
    pub source: String,
    /// Its entry before (`None`: new).
    pub before: Option<Entry>,
    /// Its entry now.
    pub after: Pinned,
}

/// `kiln plugin update [NAME]`: pins again every plugin `kiln.yaml` names
/// (re-resolving tags, hashing files), or only the one whose step or
/// reference is `only`; entries of plugins `kiln.yaml` no longer names are
/// dropped.
pub fn update(
    app: &App,
    only: Option<&str>,
    runtime: &Runtime,
    cache_dir: &Path,
) -> Result<Vec<Update>, Error> {
    let Some((parsed, shown)) = pipeline_file(app)? else {
        return Err(Error::NoPipeline(app.path()));
    };
    let trust = Trust::load(app, parsed.trust.as_ref(), &shown)?;
    let old = Lock::read(&app.path())?.unwrap_or(Lock {
        version: VERSION,
        plugins: Vec::new(),
    });
    let mut lock = Lock {
        version: VERSION,
        plugins: Vec::new(),
    };
    let mut updates = Vec::new();
    let mut matched = false;
    for step in &parsed.steps {
        let Some(source) = classify(app, &step.plugin, &shown)? else {
            continue;
        };
        if lock.get(&step.plugin).is_some() {
            continue;
        }
        let wanted =
            only.is_none_or(|name| name == step.plugin || step.name.as_deref() == Some(name));
        matched |= wanted;
        let before = old.get(&step.plugin).cloned();
        if !wanted && let Some(kept) = &before {
            lock.insert(kept.clone());
            continue;
        }
        let after = pin(app, &step.plugin, &source, &trust, runtime, cache_dir)?;
        lock.insert(after.entry.clone());
        updates.push(Update {
            source: step.plugin.clone(),
            before,
            after,
        });
    }
    if let Some(name) = only
        && !matched
    {
        return Err(Error::NoSuchPlugin {
            file: shown,
            name: name.to_owned(),
        });
    }
    lock.write(&app.path())?;
    Ok(updates)
}

/// `kiln render --locked`: every plugin `kiln.yaml` names that is not
/// built in has an entry in `kiln.lock`, and a file plugin still has the
/// blake3 the lock pins. Reads no registry.
pub fn check_locked(app: &App) -> Result<(), Error> {
    let Some((parsed, shown)) = pipeline_file(app)? else {
        return Ok(());
    };
    let lock = Lock::read(&app.path())?;
    for step in &parsed.steps {
        let Some(source) = classify(app, &step.plugin, &shown)? else {
            continue;
        };
        let Some(entry) = lock.as_ref().and_then(|l| l.get(&step.plugin)) else {
            return Err(Error::Missing {
                file: shown,
                plugin: step.plugin.clone(),
            });
        };
        match source {
            Source::Oci(reference) => {
                if let Some(written) = &reference.digest
                    && entry.digest.as_ref() != Some(written)
                {
                    return Err(Error::Stale {
                        plugin: step.plugin.clone(),
                        detail: format!(
                            "kiln.yaml pins {written}, kiln.lock {}",
                            entry.digest.as_deref().unwrap_or("no digest")
                        ),
                    });
                }
                if entry.digest.is_none() {
                    return Err(Error::Stale {
                        plugin: step.plugin.clone(),
                        detail: "its entry has no digest".into(),
                    });
                }
            }
            Source::File(rel) => {
                let wasm = runtime::read_plugin_file(&app.root.join(&rel)).map_err(|source| {
                    Error::Read {
                        plugin: step.plugin.clone(),
                        source,
                    }
                })?;
                let now = blake3::hash(&wasm).to_hex().to_string();
                if now != entry.blake3 {
                    return Err(Error::Stale {
                        plugin: step.plugin.clone(),
                        detail: format!("its blake3 is now {now}, kiln.lock pins {}", entry.blake3),
                    });
                }
            }
        }
    }
    Ok(())
}

/// The outcome of checking one lock entry.
#[derive(Debug)]
pub struct Checked {
    /// The plugin.
    pub source: String,
    /// `Ok(what was checked)` or the problem.
    pub result: Result<String, Error>,
}

/// `kiln plugin verify`: checks that `kiln.yaml`'s plugins are all locked
/// and every entry of `kiln.lock` against the bytes (from the cache or the
/// registry, by digest) and, when the trust policy asks, signatures.
pub fn verify(app: &App, cache_dir: &Path) -> Result<Vec<Checked>, Error> {
    let mut out = Vec::new();
    if let Err(e) = check_locked(app) {
        let source = match &e {
            Error::Missing { plugin, .. } | Error::Stale { plugin, .. } => plugin.clone(),
            _ => return Err(e),
        };
        out.push(Checked {
            source,
            result: Err(e),
        });
    }
    let trust = trust(app)?;
    let lock = Lock::read(&app.path())?.unwrap_or_default();
    let registry = Registry::new();
    let store = Store::new(cache_dir);
    let shown = format!("{}/{}", app.dir, file::FILE_NAME);
    for entry in lock.plugins {
        let result = verify_entry(app, &entry, &shown, &trust, &registry, &store);
        out.push(Checked {
            source: entry.source,
            result,
        });
    }
    Ok(out)
}

fn verify_entry(
    app: &App,
    entry: &Entry,
    shown: &str,
    trust: &Trust,
    registry: &Registry,
    store: &Store,
) -> Result<String, Error> {
    let stale = |detail: String| Error::Stale {
        plugin: entry.source.clone(),
        detail,
    };
    match classify(app, &entry.source, shown)? {
        None => Err(stale("it names no file or OCI artifact".into())),
        Some(Source::File(rel)) => {
            let wasm =
                runtime::read_plugin_file(&app.root.join(rel)).map_err(|source| Error::Read {
                    plugin: entry.source.clone(),
                    source,
                })?;
            let now = blake3::hash(&wasm).to_hex().to_string();
            if now == entry.blake3 {
                Ok(format!("blake3 {now}"))
            } else {
                Err(stale(format!(
                    "its blake3 is now {now}, kiln.lock pins {}",
                    entry.blake3
                )))
            }
        }
        Some(Source::Oci(reference)) => {
            let Some(digest) = &entry.digest else {
                return Err(stale("its entry has no digest".into()));
            };
            let pulled = registry.pull(&reference, digest, store)?;
            let now = blake3::hash(&pulled.wasm).to_hex().to_string();
            if now != entry.blake3 {
                return Err(stale(format!(
                    "the wasm of {digest} has blake3 {now}, kiln.lock pins {}",
                    entry.blake3
                )));
            }
            if entry
                .wasm
                .as_ref()
                .is_some_and(|w| *w != pulled.layer_digest)
            {
                return Err(stale(format!(
                    "the wasm layer of {digest} is {}",
                    pulled.layer_digest
                )));
            }
            let mut said = format!("{digest}, blake3 {now}");
            if let Some(v) = trust.verify(registry, store, &reference, digest)? {
                let _ = write!(said, ", signed by {}", v.key);
            }
            Ok(said)
        }
    }
}

/// What `kiln plugin push` pushed.
#[derive(Debug, Clone)]
pub struct Pushed {
    /// The reference pushed to, with its digest.
    pub reference: OciRef,
    /// The manifest digest.
    pub digest: String,
    /// The plugin's kind.
    pub kind: runtime::Kind,
    /// The signature manifest's digest, when signed.
    pub signature: Option<String>,
}

/// `kiln plugin push FILE oci://…:TAG [--sign-key KEY]`: checks the file
/// is a kiln plugin or KRM function, pushes it as a Wasm OCI artifact, and
/// signs it when given a key.
pub fn push(
    path: &Path,
    target: &str,
    sign_key: Option<&SigningKey>,
    runtime: &Runtime,
) -> Result<Pushed, Error> {
    let reference = OciRef::parse(target)?;
    if reference.tag.is_none() {
        return Err(Error::NoTag(target.to_owned()));
    }
    let shown = path.display().to_string();
    let wasm = runtime::read_plugin_file(path).map_err(|source| Error::Read {
        plugin: shown.clone(),
        source,
    })?;
    let (kind, contract) = load(runtime, &shown, &wasm)?;
    let wasm_kind = artifact::WasmKind::of(&wasm).ok_or_else(|| Error::Read {
        plugin: shown.clone(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, "not WebAssembly"),
    })?;
    let target_world = contract.map(|v| format!("kiln:plugin/plugin@{v}"));
    let config = artifact::config_json(&wasm, wasm_kind, target_world.as_deref(), &created());
    let config_digest = crate::oci::store::sha256_digest(&config);
    let layer_digest = crate::oci::store::sha256_digest(&wasm);
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": artifact::MANIFEST_MEDIA_TYPE,
        "config": {
            "mediaType": artifact::CONFIG_MEDIA_TYPE,
            "digest": config_digest,
            "size": config.len(),
        },
        "layers": [{
            "mediaType": artifact::WASM_MEDIA_TYPE,
            "digest": layer_digest,
            "size": wasm.len(),
        }],
    });
    let manifest = serde_json::to_vec(&manifest).expect("JSON values always serialize");
    let registry = Registry::new();
    let digest = registry.push(
        &reference,
        &[(&config_digest, &config), (&layer_digest, &wasm)],
        &manifest,
    )?;
    let signature = sign_key
        .map(|key| key.sign_and_push(&registry, &reference, &digest))
        .transpose()?;
    Ok(Pushed {
        reference: reference.with_digest(&digest),
        digest,
        kind,
        signature,
    })
}

/// The artifact's `created` time: `SOURCE_DATE_EPOCH` when set (for
/// reproducible pushes), else now; RFC 3339 in UTC.
fn created() -> String {
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        });
    rfc3339(secs)
}

/// `secs` after the Unix epoch as RFC 3339 in UTC.
fn rfc3339(secs: u64) -> String {
    crate::agent::status::rfc3339(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(super::rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
