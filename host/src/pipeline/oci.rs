//! `oci://` plugins in a pipeline: a reference pinned to a digest (written
//! in `kiln.yaml` or taken from `kiln.lock`, never by resolving a tag), the
//! pipeline's trust policy, and fetching the wasm for a step.

use std::path::Path;
use std::sync::Arc;

use super::App;
use super::file::{Require, TrustSpec};
use super::lock::Lock;
use super::run::Error;
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

/// A pipeline's trust policy, its keys read.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    /// Whether a signature the policy accepts is required.
    pub require_signed: bool,
    /// Who may sign.
    pub policy: Policy,
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
        let Some(spec) = spec else {
            return Ok(Self::default());
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
        let pattern = |exact: &Option<String>, re: &Option<String>| -> Result<Pattern, Error> {
            match (exact, re) {
                (Some(s), _) => Ok(Pattern::Exact(s.clone())),
                (None, Some(r)) => regex::Regex::new(r)
                    .map(Pattern::Regex)
                    .map_err(|e| trust_error(format!("bad regular expression {r:?}: {e}"))),
                (None, None) => Err(trust_error(
                    "an identity lacks its issuer or subject".into(),
                )),
            }
        };
        let identities = spec
            .identities
            .iter()
            .map(|id| {
                Ok(Identity {
                    issuer: pattern(&id.issuer, &id.issuer_reg_exp)?,
                    subject: pattern(&id.subject, &id.subject_reg_exp)?,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(Self {
            require_signed: spec.require == Require::Signed,
            policy: Policy {
                keys,
                identities,
                root,
            },
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
/// pulled before, else from its registry; checked against its digests,
/// `kiln.lock`'s blake3 and the trust policy.
pub fn fetch(plugin: &OciPlugin, cache_dir: &Path) -> Result<Vec<u8>, FetchError> {
    let store = Store::new(cache_dir);
    let registry = Registry::new();
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
    if plugin.trust.require_signed {
        signature::verify(
            &registry,
            &store,
            &plugin.reference,
            &plugin.digest,
            &plugin.trust.policy,
        )?;
    }
    Ok(pulled.wasm)
}
