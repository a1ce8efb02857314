//! Talking to a registry: resolving a tag, pulling an artifact by digest
//! into the [`Store`], pushing one, and finding its cosign signatures.
//! `oci-client` is async; each call here runs it to completion on a
//! current-thread runtime of its own thread, so callers (inside or outside
//! a tokio runtime) stay synchronous.

use std::future::Future;
use std::time::Duration;

use oci_client::Client;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::manifest::OciDescriptor;
use oci_client::secrets::RegistryAuth;

use super::artifact::{self, LayoutError};
use super::reference::OciRef;
use super::store::{Store, sha256_digest};

pub use crate::env::{KILN_ALLOWED_REGISTRIES, KILN_INSECURE_REGISTRIES, KILN_REGISTRY_TIMEOUT};

/// The largest config or wasm layer kiln pulls (the largest plugins
/// measured, `componentize-py` ones, are under 20 MiB).
pub const MAX_BLOB: i64 = 256 << 20;
/// The largest signature payload kiln pulls.
const MAX_PAYLOAD: usize = 1 << 20;

/// A registry operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The registry could not be reached, or refused the request.
    #[error("cannot {action} {reference} at the registry {registry}")]
    Registry {
        /// What kiln was doing.
        action: &'static str,
        /// The reference.
        reference: String,
        /// The registry.
        registry: String,
        /// Why.
        #[source]
        source: OciDistributionError,
    },
    /// What the registry (or the cache) sent does not match its digest.
    #[error("{reference}: the {what} does not match its digest {digest} (tampered or corrupt)")]
    Digest {
        /// The reference.
        reference: String,
        /// Manifest, config or layer.
        what: &'static str,
        /// The digest it should have.
        digest: String,
    },
    /// Not a Wasm artifact kiln runs.
    #[error("{reference} is not a Wasm OCI artifact kiln can run")]
    Layout {
        /// The reference.
        reference: String,
        /// What is wrong.
        #[source]
        source: LayoutError,
    },
    /// Docker's config or a credential helper failed.
    #[error("cannot get the credentials for {registry} from Docker's config.json")]
    Credentials {
        /// The registry.
        registry: String,
        /// Why.
        #[source]
        source: docker_credential::CredentialRetrievalError,
    },
    /// The cache could not be written.
    #[error("cannot write {reference} into the OCI cache")]
    Store {
        /// The reference.
        reference: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The operator does not allow the registry.
    #[error(
        "{reference}: the registry {registry} is not one the operator allows ({KILN_ALLOWED_REGISTRIES})"
    )]
    NotAllowed {
        /// The reference.
        reference: String,
        /// The registry.
        registry: String,
    },
    /// Offline, and the cache does not hold what is needed.
    #[error("{reference} is not in the OCI cache, and kiln is offline (--offline, KILN_OFFLINE)")]
    Offline {
        /// The reference.
        reference: String,
    },
    /// A blob is larger than kiln pulls.
    #[error("{reference}: the {what} is {size} bytes, more than the {MAX_BLOB} kiln pulls")]
    TooLarge {
        /// The reference.
        reference: String,
        /// Config or layer.
        what: &'static str,
        /// Its size as the manifest gives it.
        size: i64,
    },
    /// No thread or async runtime could be started.
    #[error("cannot start the registry client")]
    Runtime(#[source] std::io::Error),
    /// The registry did not finish an operation in time.
    #[error("the registry did not finish within {0:?} ({KILN_REGISTRY_TIMEOUT})")]
    TimedOut(Duration),
    /// `KILN_REGISTRY_TIMEOUT` is not a duration.
    #[error("{KILN_REGISTRY_TIMEOUT}: {0}")]
    BadTimeout(String),
}

/// How long one registry operation may take: [`KILN_REGISTRY_TIMEOUT`],
/// else 5 minutes.
fn operation_timeout() -> Result<Duration, Error> {
    match std::env::var(KILN_REGISTRY_TIMEOUT) {
        Ok(text) if !text.trim().is_empty() => {
            crate::runtime::limits::parse_duration(text.trim()).map_err(Error::BadTimeout)
        }
        _ => Ok(Duration::from_mins(5)),
    }
}

/// An artifact pulled (or read from the cache) by digest and checked.
#[derive(Debug, Clone)]
pub struct Pulled {
    /// The manifest digest.
    pub digest: String,
    /// The wasm layer's digest.
    pub layer_digest: String,
    /// The wasm bytes.
    pub wasm: Vec<u8>,
}

/// A client for OCI registries, with credentials from Docker's config.
pub struct Registry {
    client: Client,
    /// `None`: any registry.
    allowed: Option<Vec<String>>,
    /// Never contact a registry (`--offline`): only the cache serves.
    offline: bool,
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl Registry {
    /// A client that speaks HTTPS, except to the registries named in
    /// [`KILN_INSECURE_REGISTRIES`].
    pub fn new() -> Self {
        let list = |var: &str| -> Vec<String> {
            std::env::var(var)
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let insecure = list(KILN_INSECURE_REGISTRIES);
        let allowed = Some(list(KILN_ALLOWED_REGISTRIES)).filter(|l| !l.is_empty());
        let config = ClientConfig {
            protocol: ClientProtocol::HttpsExcept(insecure),
            connect_timeout: Some(Duration::from_secs(10)),
            read_timeout: Some(Duration::from_mins(1)),
            ..ClientConfig::default()
        };
        Self {
            client: Client::new(config),
            allowed,
            offline: false,
        }
    }

    /// The same client, which with `offline` never contacts a registry:
    /// what the cache does not hold fails, naming the reference.
    #[must_use]
    pub fn offline(mut self, offline: bool) -> Self {
        self.offline = offline;
        self
    }

    /// Refuses to contact a registry when offline, or one the operator
    /// does not allow.
    fn reach(&self, reference: &OciRef) -> Result<(), Error> {
        if self.offline {
            return Err(Error::Offline {
                reference: reference.to_string(),
            });
        }
        self.check_allowed(reference)
    }

    /// Refuses a registry the operator does not allow.
    fn check_allowed(&self, reference: &OciRef) -> Result<(), Error> {
        match &self.allowed {
            Some(list) if !list.contains(&reference.registry) => Err(Error::NotAllowed {
                reference: reference.to_string(),
                registry: reference.registry.clone(),
            }),
            _ => Ok(()),
        }
    }

    /// The digest the tag of `reference` points at now.
    pub fn resolve(&self, reference: &OciRef) -> Result<String, Error> {
        self.reach(reference)?;
        let tag = reference.tag.as_deref().unwrap_or_default();
        let auth = auth_for(&reference.registry)?;
        let found = run(async {
            self.client
                .fetch_manifest_digest(&reference.client_tag_ref(tag), &auth)
                .await
        })?
        .map_err(|source| registry_error("resolve", reference, source))?;
        if !super::reference::is_sha256_digest(&found) {
            return Err(Error::Digest {
                reference: reference.to_string(),
                what: "manifest",
                digest: found,
            });
        }
        Ok(found)
    }

    /// The artifact of `reference` at `digest`: from `store` when it is
    /// there, else pulled from the registry, checked and stored.
    pub fn pull(&self, reference: &OciRef, digest: &str, store: &Store) -> Result<Pulled, Error> {
        self.check_allowed(reference)?;
        let pinned = reference.with_digest(digest);
        let shown = pinned.to_string();
        let manifest = if let Some(bytes) = store.get(digest) {
            bytes
        } else {
            self.reach(&pinned)?;
            let auth = auth_for(&reference.registry)?;
            let (bytes, _) = run(async {
                self.client
                    .pull_manifest_raw(
                        &pinned.client_ref(),
                        &auth,
                        &[artifact::MANIFEST_MEDIA_TYPE],
                    )
                    .await
            })?
            .map_err(|source| registry_error("pull", &pinned, source))?;
            self.verified_store(&shown, "manifest", digest, &bytes, store)?;
            bytes.to_vec()
        };
        let checked = artifact::check_manifest(&manifest).map_err(|source| Error::Layout {
            reference: shown.clone(),
            source,
        })?;
        let config = self.blob(
            &pinned,
            "config",
            &checked.config_digest,
            checked.config_size,
            artifact::CONFIG_MEDIA_TYPE,
            store,
        )?;
        let wasm = self.blob(
            &pinned,
            "wasm layer",
            &checked.layer_digest,
            checked.layer_size,
            artifact::WASM_MEDIA_TYPE,
            store,
        )?;
        artifact::check_config(&config, &checked.layer_digest, &wasm).map_err(|source| {
            Error::Layout {
                reference: shown,
                source,
            }
        })?;
        Ok(Pulled {
            digest: digest.to_owned(),
            layer_digest: checked.layer_digest,
            wasm,
        })
    }

    /// The blob `digest` of `pinned`, from the store or the registry.
    fn blob(
        &self,
        pinned: &OciRef,
        what: &'static str,
        digest: &str,
        size: i64,
        media_type: &str,
        store: &Store,
    ) -> Result<Vec<u8>, Error> {
        if let Some(bytes) = store.get(digest) {
            return Ok(bytes);
        }
        self.reach(pinned)?;
        if size > MAX_BLOB {
            return Err(Error::TooLarge {
                reference: pinned.to_string(),
                what,
                size,
            });
        }
        let auth = auth_for(&pinned.registry)?;
        let descriptor = OciDescriptor {
            media_type: media_type.to_owned(),
            digest: digest.to_owned(),
            size,
            ..OciDescriptor::default()
        };
        // What the manifest declares, or (for a payload found through a
        // signature manifest) a small bound.
        let max = usize::try_from(size)
            .ok()
            .filter(|s| *s > 0)
            .unwrap_or(MAX_PAYLOAD);
        let mut out = Bounded {
            bytes: Vec::new(),
            max,
        };
        run(async {
            let image = pinned.client_ref();
            self.client
                .store_auth_if_needed(image.resolve_registry(), &auth)
                .await;
            self.client.pull_blob(&image, &descriptor, &mut out).await
        })?
        .map_err(|source| match source {
            OciDistributionError::DigestError(_) => Error::Digest {
                reference: pinned.to_string(),
                what,
                digest: digest.to_owned(),
            },
            source => registry_error("pull", pinned, source),
        })?;
        let bytes = out.bytes;
        self.verified_store(&pinned.to_string(), what, digest, &bytes, store)?;
        Ok(bytes)
    }

    #[expect(
        clippy::unused_self,
        reason = "kept a method to read as one of the pull steps"
    )]
    fn verified_store(
        &self,
        shown: &str,
        what: &'static str,
        digest: &str,
        bytes: &[u8],
        store: &Store,
    ) -> Result<(), Error> {
        if sha256_digest(bytes) != digest {
            return Err(Error::Digest {
                reference: shown.to_owned(),
                what,
                digest: digest.to_owned(),
            });
        }
        store.put(digest, bytes).map_err(|source| Error::Store {
            reference: shown.to_owned(),
            source,
        })
    }

    /// Uploads `blobs` (digest, bytes) and then `manifest` under the tag or
    /// digest of `reference`; returns the manifest's digest.
    pub fn push(
        &self,
        reference: &OciRef,
        blobs: &[(&str, &[u8])],
        manifest: &[u8],
    ) -> Result<String, Error> {
        self.reach(reference)?;
        let auth = auth_for(&reference.registry)?;
        let image = reference.client_ref();
        run(async {
            self.client
                .store_auth_if_needed(image.resolve_registry(), &auth)
                .await;
            for (digest, bytes) in blobs {
                if !self.client.blob_exists(&image, digest).await? {
                    self.client
                        .push_blob(&image, bytes.to_vec(), digest)
                        .await?;
                }
            }
            let content_type = http::HeaderValue::from_static(artifact::MANIFEST_MEDIA_TYPE);
            self.client
                .push_manifest_raw(&image, manifest.to_vec(), content_type)
                .await
        })?
        .map_err(|source| registry_error("push", reference, source))?;
        Ok(sha256_digest(manifest))
    }

    /// The raw manifest tagged `tag` in the repository of `reference`, if
    /// there is one (`None` when the registry has no such tag).
    pub fn manifest_by_tag(&self, reference: &OciRef, tag: &str) -> Result<Option<Vec<u8>>, Error> {
        self.reach(reference)?;
        let auth = auth_for(&reference.registry)?;
        let image = reference.client_tag_ref(tag);
        let pulled = run(async {
            self.client
                .pull_manifest_raw(
                    &image,
                    &auth,
                    &[
                        artifact::MANIFEST_MEDIA_TYPE,
                        oci_client::manifest::IMAGE_MANIFEST_MEDIA_TYPE,
                    ],
                )
                .await
        })?;
        match pulled {
            Ok((bytes, _)) => Ok(Some(bytes.to_vec())),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(source) => Err(registry_error("pull signatures of", reference, source)),
        }
    }

    /// The manifests that refer to `digest` (OCI referrers API, or its tag
    /// schema): their digests. A registry without either gives none.
    pub fn referrers(&self, reference: &OciRef, digest: &str) -> Result<Vec<String>, Error> {
        self.reach(reference)?;
        let auth = auth_for(&reference.registry)?;
        let image = reference.with_digest(digest).client_ref();
        let index = run(async {
            self.client
                .store_auth_if_needed(image.resolve_registry(), &auth)
                .await;
            self.client.pull_referrers(&image, None).await
        })?;
        match index {
            Ok(index) => Ok(index.manifests.into_iter().map(|m| m.digest).collect()),
            Err(e) if is_not_found(&e) => Ok(Vec::new()),
            Err(source) => Err(registry_error("list the referrers of", reference, source)),
        }
    }

    /// The raw manifest `digest` of the repository of `reference`, checked
    /// against its digest (any manifest media type).
    pub fn manifest_by_digest(&self, reference: &OciRef, digest: &str) -> Result<Vec<u8>, Error> {
        self.reach(reference)?;
        let auth = auth_for(&reference.registry)?;
        let pinned = reference.with_digest(digest);
        let (bytes, _) = run(async {
            self.client
                .pull_manifest_raw(
                    &pinned.client_ref(),
                    &auth,
                    &[
                        artifact::MANIFEST_MEDIA_TYPE,
                        oci_client::manifest::IMAGE_MANIFEST_MEDIA_TYPE,
                    ],
                )
                .await
        })?
        .map_err(|source| registry_error("pull", &pinned, source))?;
        if sha256_digest(&bytes) != digest {
            return Err(Error::Digest {
                reference: pinned.to_string(),
                what: "manifest",
                digest: digest.to_owned(),
            });
        }
        Ok(bytes.to_vec())
    }

    /// The blob `digest` of the repository of `reference`, from `store` or
    /// the registry, checked and stored.
    pub fn any_blob(
        &self,
        reference: &OciRef,
        digest: &str,
        store: &Store,
    ) -> Result<Vec<u8>, Error> {
        self.blob(
            reference,
            "blob",
            digest,
            0,
            "application/octet-stream",
            store,
        )
    }
}

fn is_not_found(e: &OciDistributionError) -> bool {
    match e {
        OciDistributionError::ImageManifestNotFoundError(_) => true,
        OciDistributionError::ServerError { code, .. } => *code == 404,
        OciDistributionError::RegistryError { envelope, .. } => envelope
            .errors
            .iter()
            .any(|e| format!("{:?}", e.code).contains("Unknown")),
        _ => false,
    }
}

fn registry_error(action: &'static str, reference: &OciRef, source: OciDistributionError) -> Error {
    Error::Registry {
        action,
        reference: reference.to_string(),
        registry: reference.registry.clone(),
        source,
    }
}

/// Credentials for `registry` from Docker's `config.json` (`$DOCKER_CONFIG`
/// or `~/.docker`): `auths`, `credHelpers` or `credsStore`; anonymous when
/// there is no config or no entry for it.
fn auth_for(registry: &str) -> Result<RegistryAuth, Error> {
    use docker_credential::{CredentialRetrievalError as E, DockerCredential};
    let server = if registry == "docker.io" {
        "https://index.docker.io/v1/"
    } else {
        registry
    };
    match docker_credential::get_credential(server) {
        Ok(DockerCredential::UsernamePassword(user, password)) => {
            Ok(RegistryAuth::Basic(user, password))
        }
        Ok(DockerCredential::IdentityToken(token)) => Ok(RegistryAuth::Bearer(token)),
        Err(E::ConfigNotFound | E::ConfigReadError | E::NoCredentialConfigured) => {
            Ok(RegistryAuth::Anonymous)
        }
        Err(source) => Err(Error::Credentials {
            registry: registry.to_owned(),
            source,
        }),
    }
}

/// Runs `future` to completion on a thread of its own with a
/// current-thread tokio runtime.
fn run<T: Send>(future: impl Future<Output = T> + Send) -> Result<T, Error> {
    let limit = operation_timeout()?;
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new()
            .name("kiln-oci".into())
            .spawn_scoped(scope, || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                Ok(rt.block_on(async { tokio::time::timeout(limit, future).await }))
            })
            .map_err(Error::Runtime)?;
        match thread.join() {
            Ok(Ok(Ok(value))) => Ok(value),
            Ok(Ok(Err(_elapsed))) => Err(Error::TimedOut(limit)),
            Ok(Err(e)) => Err(Error::Runtime(e)),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// A buffer that refuses to grow past `max` bytes: a registry cannot make
/// kiln hold more than a blob's declared size.
struct Bounded {
    bytes: Vec<u8>,
    max: usize,
}

impl tokio::io::AsyncWrite for Bounded {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        data: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        if this.bytes.len() + data.len() > this.max {
            return std::task::Poll::Ready(Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("the blob is larger than the {} bytes it declares", this.max),
            )));
        }
        this.bytes.extend_from_slice(data);
        std::task::Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}
