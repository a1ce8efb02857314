//! `oci://` plugins in a pipeline: a reference pinned to a digest (written
//! in `kiln.yaml` or taken from `kiln.lock`, never by resolving a tag), the
//! pipeline's trust policy, and fetching the wasm for a step.

use std::path::Path;
use std::sync::Arc;

use super::App;
use super::file::{Require, TrustSpec};
use super::lock::Lock;
use super::run::Error;
use crate::env::{KILN_ALLOWED_REGISTRIES, KILN_PLUGIN_POLICY};
use crate::oci::keyless::{Identity, Pattern, TrustedRoot};
use crate::oci::signature::{self, Policy, PublicKey};
use crate::oci::{OciRef, Registry, Store, client};

/// An OCI plugin of a step, pinned.
#[derive(Debug, Clone)]
pub struct OciPlugin {
    /// The reference as `kiln.yaml` writes it.
    pub source: String,
    /// The reference, with the digest it is pinned to.
    pub reference: OciRef,
    /// The manifest digest pulled.
    pub digest: String,
    /// kiln's blake3 of the wasm, from `kiln.lock`, when it has the entry.
    pub blake3: Option<String>,
    /// The pipeline's trust policy.
    pub trust: Arc<Trust>,
}

impl PartialEq for OciPlugin {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source && self.digest == other.digest
    }
}

impl Eq for OciPlugin {}

/// A pipeline's trust policy, its keys read, and the operator's.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    /// Whether a signature the policy accepts is required.
    pub require_signed: bool,
    /// Who may sign.
    pub policy: Policy,
    /// The operator's policy ([`KILN_PLUGIN_POLICY`]), met first.
    pub operator: Option<Arc<Operator>>,
}

/// The operator's trust policy: the file [`KILN_PLUGIN_POLICY`] names.
#[derive(Debug)]
pub struct Operator {
    /// The policy file, to name it in messages.
    pub file: String,
    /// Whether a signature the policy accepts is required.
    pub require_signed: bool,
    /// Who may sign.
    pub policy: Policy,
}

impl Trust {
    /// Checks the signatures of `digest` of `reference`: against the
    /// operator's policy, then the pipeline's. The signer the pipeline's
    /// policy accepted (else the operator's); `None` when neither requires
    /// a signature.
    pub fn verify(
        &self,
        registry: &crate::oci::Registry,
        store: &Store,
        reference: &OciRef,
        digest: &str,
    ) -> Result<Option<signature::Verified>, signature::Error> {
        let mut signer = None;
        if let Some(op) = self.operator.as_deref().filter(|op| op.require_signed) {
            signer = Some(
                signature::verify(registry, store, reference, digest, &op.policy).map_err(|e| {
                    match e {
                        signature::Error::Registry(_) => e,
                        e => signature::Error::Operator {
                            policy: op.file.clone(),
                            source: Box::new(e),
                        },
                    }
                })?,
            );
        }
        if self.require_signed {
            signer = Some(signature::verify(
                registry,
                store,
                reference,
                digest,
                &self.policy,
            )?);
        }
        Ok(signer)
    }
}

/// The operator's policy from [`KILN_PLUGIN_POLICY`], read once per
/// process; `None` when it is unset.
fn operator() -> Result<Option<Arc<Operator>>, Error> {
    /// The policy, or the file and why it cannot be used.
    type Read = Result<Option<Arc<Operator>>, (String, String)>;
    static POLICY: std::sync::OnceLock<Read> = std::sync::OnceLock::new();
    POLICY
        .get_or_init(|| {
            let Some(path) = std::env::var_os(KILN_PLUGIN_POLICY).filter(|p| !p.is_empty()) else {
                return Ok(None);
            };
            let path = std::path::PathBuf::from(path);
            let file = path.display().to_string();
            read_operator(&path)
                .map(|op| Some(Arc::new(op)))
                .map_err(|message| (file, message))
        })
        .clone()
        .map_err(|(file, message)| Error::Trust {
            file: format!("{file} ({KILN_PLUGIN_POLICY})"),
            message,
        })
}

/// What the operator's bounds on OCI plugins are ([`KILN_PLUGIN_POLICY`]
/// as read, keys included, and [`KILN_ALLOWED_REGISTRIES`]), hashed: part
/// of the memo ids, so that a render memoized before a bound changed is
/// not served after.
pub fn operator_fingerprint() -> String {
    let allowed = std::env::var(KILN_ALLOWED_REGISTRIES).unwrap_or_default();
    let text = format!("{:?}|{allowed}", operator());
    blake3::hash(text.as_bytes()).to_hex().to_string()
}

fn read_operator(path: &Path) -> Result<Operator, String> {
    let text = fs_err::read_to_string(path).map_err(|e| e.to_string())?;
    let file = path.display().to_string();
    let spec: TrustSpec = kiln_resource::yaml::from_str(&text, &file).map_err(|e| e.to_string())?;
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let read = |rel: &str| fs_err::read_to_string(dir.join(rel)).map_err(|e| e.to_string());
    let keys = spec
        .keys
        .iter()
        .map(|k| PublicKey::from_pem(k, &read(k)?).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, String>>()?;
    let root = match &spec.trusted_root {
        Some(r) => Some(TrustedRoot::parse(r, &read(r)?).map_err(|e| e.to_string())?),
        None => None,
    };
    let identities = identities(&spec)?;
    if spec.require == Require::Signed && keys.is_empty() && identities.is_empty() {
        return Err("`require: signed` needs `keys` or `identities`".into());
    }
    Ok(Operator {
        file,
        require_signed: spec.require == Require::Signed,
        policy: Policy {
            keys,
            identities,
            root,
        },
    })
}

/// The identities of `spec`, their patterns compiled.
fn identities(spec: &TrustSpec) -> Result<Vec<Identity>, String> {
    let pattern = |exact: &Option<String>, re: &Option<String>| -> Result<Pattern, String> {
        match (exact, re) {
            (Some(s), _) => Ok(Pattern::Exact(s.clone())),
            (None, Some(r)) => regex::Regex::new(r)
                .map(Pattern::Regex)
                .map_err(|e| format!("bad regular expression {r:?}: {e}")),
            (None, None) => Err("an identity lacks its issuer or subject".into()),
        }
    };
    spec.identities
        .iter()
        .map(|id| {
            Ok(Identity {
                issuer: pattern(&id.issuer, &id.issuer_reg_exp)?,
                subject: pattern(&id.subject, &id.subject_reg_exp)?,
            })
        })
        .collect()
}

/// Fetching an OCI plugin failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The registry or the cache failed.
    #[error(transparent)]
    Registry(#[from] client::Error),
    /// The wasm is not what `kiln.lock` pinned.
    #[error(
        "{reference}: the wasm has blake3 {found}, but kiln.lock pins {expected} (tampered, or kiln.lock is stale)"
    )]
    Blake3 {
        /// The reference.
        reference: String,
        /// What kiln.lock says.
        expected: String,
        /// What the wasm has.
        found: String,
    },
    /// The trust policy is not met.
    #[error(transparent)]
    Signature(#[from] signature::Error),
}

impl Trust {
    /// Reads the keys of `spec` (paths relative to the app directory,
    /// inside the source root) for the pipeline file `shown`.
    pub fn load(app: &App, spec: Option<&TrustSpec>, shown: &str) -> Result<Self, Error> {
        let operator = operator()?;
        let Some(spec) = spec else {
            return Ok(Self {
                operator,
                ..Self::default()
            });
        };
        let mut keys = Vec::with_capacity(spec.keys.len());
        for path in &spec.keys {
            let rel = super::resolve_in_root(app, path, shown)?;
            let pem = crate::source::read_config(&app.root.join(&rel)).map_err(|source| {
                Error::ReadPlugin {
                    path: path.clone(),
                    file: shown.to_owned(),
                    source,
                }
            })?;
            keys.push(PublicKey::from_pem(path, &pem).map_err(|e| Error::Trust {
                file: shown.to_owned(),
                message: e.to_string(),
            })?);
        }
        let trust_error = |message: String| Error::Trust {
            file: shown.to_owned(),
            message,
        };
        let root = match &spec.trusted_root {
            Some(path) => {
                let rel = super::resolve_in_root(app, path, shown)?;
                let text = crate::source::read_config(&app.root.join(&rel)).map_err(|source| {
                    Error::ReadPlugin {
                        path: path.clone(),
                        file: shown.to_owned(),
                        source,
                    }
                })?;
                Some(TrustedRoot::parse(path, &text).map_err(|e| trust_error(e.to_string()))?)
            }
            None => None,
        };
        let identities = identities(spec).map_err(trust_error)?;
        Ok(Self {
            require_signed: spec.require == Require::Signed,
            policy: Policy {
                keys,
                identities,
                root,
            },
            operator,
        })
    }
}

/// Pins the `oci://` plugin `source` of a step: the digest written in the
/// reference, else the one `kiln.lock` holds for it; a tag alone is never
/// resolved here.
pub(super) fn pin(
    source: &str,
    shown: &str,
    lock: Option<&Lock>,
    trust: &Arc<Trust>,
) -> Result<OciPlugin, Error> {
    let reference = OciRef::parse(source).map_err(|source| Error::BadReference {
        file: shown.to_owned(),
        source,
    })?;
    let entry = lock.and_then(|l| l.get(source));
    let digest = match (&reference.digest, entry.and_then(|e| e.digest.as_ref())) {
        (Some(written), _) => written.clone(),
        (None, Some(locked)) => locked.clone(),
        (None, None) => {
            return Err(Error::Unlocked {
                file: shown.to_owned(),
                plugin: source.to_owned(),
            });
        }
    };
    Ok(OciPlugin {
        source: source.to_owned(),
        reference: reference.with_digest(&digest),
        digest,
        blake3: entry.map(|e| e.blake3.clone()),
        trust: Arc::clone(trust),
    })
}

/// The wasm of `plugin`: from the OCI cache under `cache_dir` when it was
/// pulled before, else (unless `offline`) from its registry; checked
/// against its digests, `kiln.lock`'s blake3 and the trust policy.
pub fn fetch(plugin: &OciPlugin, cache_dir: &Path, offline: bool) -> Result<Vec<u8>, FetchError> {
    let store = Store::new(cache_dir);
    let registry = Registry::new().offline(offline);
    let pulled = registry.pull(&plugin.reference, &plugin.digest, &store)?;
    if let Some(expected) = &plugin.blake3 {
        let found = blake3::hash(&pulled.wasm).to_hex().to_string();
        if &found != expected {
            return Err(FetchError::Blake3 {
                reference: plugin.reference.to_string(),
                expected: expected.clone(),
                found,
            });
        }
    }
    plugin
        .trust
        .verify(&registry, &store, &plugin.reference, &plugin.digest)?;
    Ok(pulled.wasm)
}
