//! cosign signatures of an artifact, key-based: a "simple signing" JSON
//! payload naming the manifest digest, signed with ECDSA P-256 / SHA-256,
//! stored as a layer of a signature manifest whose annotation
//! `dev.cosignproject.cosign/signature` holds the base64 signature.
//!
//! Signature manifests are found through the OCI referrers API (or its tag
//! schema) and, for registries without it, cosign's tag
//! `sha256-<hex>.sig` in the same repository. Once found they are kept in
//! the [`Store`], so a render can check them again offline.

use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _, UnparsedPublicKey};
use base64::Engine as _;
use serde_json::Value;

use super::client::{self, Registry};
use super::keyless::{self, Identity, Material, TrustedRoot};
use super::reference::OciRef;
use super::store::{Store, sha256_digest};

/// Media type of a cosign simple signing payload.
pub const PAYLOAD_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// Annotation of a signature layer holding the base64 signature.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// The `critical.type` of a cosign payload.
const PAYLOAD_TYPE: &str = "cosign container image signature";

/// A public key that may sign plugins (a PEM `PUBLIC KEY`, ECDSA P-256).
#[derive(Debug, Clone)]
pub struct PublicKey {
    /// Where it came from, to name it in messages.
    pub name: String,
    der: Vec<u8>,
}

/// A key or signature that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Not PEM of the expected block.
    #[error("{name} is not a PEM `{label}` block")]
    NotPem {
        /// The key's name.
        name: String,
        /// The expected label.
        label: &'static str,
    },
    /// Not an ECDSA P-256 key.
    #[error("{name} is not an unencrypted ECDSA P-256 key (PKCS#8 for a private key)")]
    Unsupported {
        /// The key's name.
        name: String,
    },
}

/// Verifying the signatures of an artifact failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No signature verifies with the trusted keys.
    #[error(
        "{reference} has no cosign signature made by a trusted key or identity ({found} signature(s) found, {keys} key(s) and {identities} identity(ies) trusted){}",
        .why.as_ref().map(|w| format!(": {w}")).unwrap_or_default()
    )]
    Unsigned {
        /// The reference.
        reference: String,
        /// Signatures found.
        found: usize,
        /// Keys trusted.
        keys: usize,
        /// Identities trusted.
        identities: usize,
        /// Why the last keyless signature seen did not verify.
        why: Option<String>,
    },
    /// The registry could not be asked.
    #[error(transparent)]
    Registry(#[from] client::Error),
}

impl PublicKey {
    /// Parses a PEM `PUBLIC KEY` (`SubjectPublicKeyInfo`) of ECDSA P-256.
    pub fn from_pem(name: &str, pem: &str) -> Result<Self, KeyError> {
        let der = pem_block(pem, "PUBLIC KEY").ok_or_else(|| KeyError::NotPem {
            name: name.to_owned(),
            label: "PUBLIC KEY",
        })?;
        // A key that cannot verify anything is refused now, not at render.
        if !is_p256_spki(&der) {
            return Err(KeyError::Unsupported {
                name: name.to_owned(),
            });
        }
        Ok(Self {
            name: name.to_owned(),
            der,
        })
    }

    fn verifies(&self, payload: &[u8], sig: &[u8]) -> bool {
        UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, &self.der)
            .verify(payload, sig)
            .is_ok()
    }
}

/// Whether `der` is a `SubjectPublicKeyInfo` of an EC key on P-256 (the OIDs
/// `id-ecPublicKey` and `prime256v1` in its algorithm).
fn is_p256_spki(der: &[u8]) -> bool {
    const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    const PRIME256V1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    let has = |needle: &[u8]| der.windows(needle.len()).any(|w| w == needle);
    has(EC_PUBLIC_KEY) && has(PRIME256V1)
}

/// The DER bytes of the first PEM block labelled `label` in `pem`.
fn pem_block(pem: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)? + begin.len();
    let stop = start + pem[start..].find(&end)?;
    let body: String = pem[start..stop]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

/// The cosign simple signing payload for `digest` of `reference`.
pub fn payload(reference: &OciRef, digest: &str) -> Vec<u8> {
    let value = serde_json::json!({
        "critical": {
            "identity": {"docker-reference": format!("{}/{}", reference.registry, reference.repository)},
            "image": {"docker-manifest-digest": digest},
            "type": PAYLOAD_TYPE,
        },
        "optional": null,
    });
    serde_json::to_vec(&value).expect("JSON values always serialize")
}

/// A private key that signs plugins (`kiln plugin push --sign-key`).
pub struct SigningKey {
    pair: EcdsaKeyPair,
}

impl SigningKey {
    /// Parses a PEM `PRIVATE KEY` (unencrypted PKCS#8) of ECDSA P-256, as
    /// `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`
    /// writes.
    pub fn from_pem(name: &str, pem: &str) -> Result<Self, KeyError> {
        let der = pem_block(pem, "PRIVATE KEY").ok_or_else(|| KeyError::NotPem {
            name: name.to_owned(),
            label: "PRIVATE KEY",
        })?;
        let pair = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, &der)
            .map_err(|_| KeyError::Unsupported {
                name: name.to_owned(),
            })?;
        Ok(Self { pair })
    }

    /// The public key, PEM.
    pub fn public_pem(&self) -> String {
        let der = aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::PublicKeyX509Der<'_>>::as_der(
            self.pair.public_key(),
        )
        .expect("a P-256 public key encodes as DER");
        let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
        let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
            pem.push('\n');
        }
        pem.push_str("-----END PUBLIC KEY-----\n");
        pem
    }

    /// Signs `digest` of `reference` and pushes the signature manifest to
    /// cosign's tag `sha256-<hex>.sig`; returns that manifest's digest.
    pub fn sign_and_push(
        &self,
        registry: &Registry,
        reference: &OciRef,
        digest: &str,
    ) -> Result<String, client::Error> {
        let payload = payload(reference, digest);
        let sig = self
            .pair
            .sign(&aws_lc_rs::rand::SystemRandom::new(), &payload)
            .map_err(|_| client::Error::Runtime(std::io::Error::other("ECDSA signing failed")))?;
        let sig_b64 = base64::engine::general_purpose::STANDARD.encode(sig.as_ref());
        let config = b"{}".to_vec();
        let config_digest = sha256_digest(&config);
        let payload_digest = sha256_digest(&payload);
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": super::artifact::MANIFEST_MEDIA_TYPE,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config_digest,
                "size": config.len(),
            },
            "layers": [{
                "mediaType": PAYLOAD_MEDIA_TYPE,
                "digest": payload_digest,
                "size": payload.len(),
                "annotations": {SIGNATURE_ANNOTATION: sig_b64},
            }],
        });
        let manifest = serde_json::to_vec(&manifest).expect("JSON values always serialize");
        let tag = signature_tag(digest);
        let target = OciRef {
            tag: Some(tag),
            digest: None,
            ..reference.clone()
        };
        registry.push(
            &target,
            &[(&config_digest, &config), (&payload_digest, &payload)],
            &manifest,
        )
    }
}

/// cosign's tag for the signatures of `digest`: `sha256-<hex>.sig`.
pub fn signature_tag(digest: &str) -> String {
    format!("{}.sig", digest.replace(':', "-"))
}

/// Who may sign: public keys, and (keyless) identities checked against a
/// pinned trust root.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Keys whose signatures are accepted.
    pub keys: Vec<PublicKey>,
    /// Identities whose keyless signatures are accepted.
    pub identities: Vec<Identity>,
    /// The trust root keyless signatures are checked against.
    pub root: Option<TrustedRoot>,
}

/// What a signature check found.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The key (its name) or the identity that verified a signature.
    pub key: String,
}

/// Finds the signatures of `digest` of `reference` and checks them against
/// `keys`: first those found before (kept in `store`, so a render works
/// offline), then, when none of them verifies, those at the registry now.
pub fn verify(
    registry: &Registry,
    store: &Store,
    reference: &OciRef,
    digest: &str,
    policy: &Policy,
) -> Result<Verified, Error> {
    if let Some(cached) = store.signatures(digest)
        && let Checked {
            verified: Some(v), ..
        } = check(store, &cached, digest, policy)
    {
        return Ok(v);
    }
    let fresh = discover(registry, store, reference, digest)?;
    let checked = check(store, &fresh, digest, policy);
    checked.verified.ok_or(Error::Unsigned {
        reference: reference.with_digest(digest).to_string(),
        found: checked.seen,
        keys: policy.keys.len(),
        identities: policy.identities.len(),
        why: checked.why,
    })
}

struct Checked {
    verified: Option<Verified>,
    seen: usize,
    why: Option<String>,
}

/// Checks the signature manifests `manifests` (their blobs in `store`):
/// the first signature a key or a trusted identity verifies, how many
/// signatures were seen, and why the last keyless one failed.
fn check(store: &Store, manifests: &[String], digest: &str, policy: &Policy) -> Checked {
    let mut out = Checked {
        verified: None,
        seen: 0,
        why: None,
    };
    for manifest_digest in manifests {
        let Some(bytes) = store.get(manifest_digest) else {
            continue;
        };
        for layer in signature_layers(&bytes) {
            out.seen += 1;
            let Some(payload) = store.get(&layer.payload_digest) else {
                continue;
            };
            let Ok(sig) = base64::engine::general_purpose::STANDARD.decode(layer.signature.trim())
            else {
                continue;
            };
            if !payload_names(&payload, digest) {
                continue;
            }
            if let Some(key) = policy.keys.iter().find(|k| k.verifies(&payload, &sig)) {
                out.verified = Some(Verified {
                    key: key.name.clone(),
                });
                return out;
            }
            let (Some(certificate), Some(root)) = (&layer.certificate, &policy.root) else {
                continue;
            };
            let material = Material {
                certificate,
                chain: layer.chain.as_deref(),
                bundle: layer.bundle.as_deref(),
            };
            match keyless::verify(&material, &payload, &sig, &policy.identities, root) {
                Ok(identity) => {
                    out.verified = Some(Verified { key: identity });
                    return out;
                }
                Err(why) => out.why = Some(why),
            }
        }
    }
    out
}

/// Looks for signature manifests at the registry: referrers first, then
/// cosign's `.sig` tag; keeps what it finds (and their payloads) in `store`.
fn discover(
    registry: &Registry,
    store: &Store,
    reference: &OciRef,
    digest: &str,
) -> Result<Vec<String>, Error> {
    let mut found = Vec::new();
    for referrer in registry.referrers(reference, digest)? {
        if !super::reference::is_sha256_digest(&referrer) {
            continue;
        }
        let bytes = registry.manifest_by_digest(reference, &referrer)?;
        if signature_layers(&bytes).is_empty() {
            continue;
        }
        keep(store, reference, &referrer, &bytes)?;
        found.push(referrer);
    }
    if let Some(bytes) = registry.manifest_by_tag(reference, &signature_tag(digest))? {
        let manifest_digest = sha256_digest(&bytes);
        keep(store, reference, &manifest_digest, &bytes)?;
        found.push(manifest_digest);
    }
    for manifest_digest in &found {
        if let Some(bytes) = store.get(manifest_digest) {
            for layer in signature_layers(&bytes) {
                registry.any_blob(reference, &layer.payload_digest, store)?;
            }
        }
    }
    if !found.is_empty() {
        store
            .put_signatures(digest, &found)
            .map_err(|source| client::Error::Store {
                reference: reference.to_string(),
                source,
            })?;
    }
    Ok(found)
}

fn keep(store: &Store, reference: &OciRef, digest: &str, bytes: &[u8]) -> Result<(), Error> {
    store.put(digest, bytes).map_err(|source| {
        Error::Registry(client::Error::Store {
            reference: reference.to_string(),
            source,
        })
    })
}

/// A signature layer of a signature manifest.
struct Layer {
    payload_digest: String,
    /// Base64.
    signature: String,
    /// For a keyless signature: the certificate, its chain, the Rekor bundle.
    certificate: Option<String>,
    chain: Option<String>,
    bundle: Option<String>,
}

/// The signature layers of a signature manifest.
fn signature_layers(manifest: &[u8]) -> Vec<Layer> {
    let Ok(value) = serde_json::from_slice::<Value>(manifest) else {
        return Vec::new();
    };
    value["layers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|layer| {
            let digest = layer["digest"].as_str()?;
            let annotations = &layer["annotations"];
            let sig = annotations[SIGNATURE_ANNOTATION].as_str()?;
            let text = |name: &str| annotations[name].as_str().map(str::to_owned);
            (layer["mediaType"] == PAYLOAD_MEDIA_TYPE && super::reference::is_sha256_digest(digest))
                .then(|| Layer {
                    payload_digest: digest.to_owned(),
                    signature: sig.to_owned(),
                    certificate: text(keyless::CERTIFICATE_ANNOTATION),
                    chain: text(keyless::CHAIN_ANNOTATION),
                    bundle: text(keyless::BUNDLE_ANNOTATION),
                })
        })
        .collect()
}

/// Whether a simple signing payload is cosign's and names `digest`.
fn payload_names(payload: &[u8], digest: &str) -> bool {
    serde_json::from_slice::<Value>(payload).is_ok_and(|v| {
        v["critical"]["type"] == PAYLOAD_TYPE
            && v["critical"]["image"]["docker-manifest-digest"] == digest
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(pkcs8.as_ref());
        SigningKey::from_pem(
            "k",
            &format!("-----BEGIN PRIVATE KEY-----\n{b64}\n-----END PRIVATE KEY-----\n"),
        )
        .unwrap()
    }

    #[test]
    fn a_payload_verifies_with_its_key_only() {
        let signer = key();
        let public = PublicKey::from_pem("k.pub", &signer.public_pem()).unwrap();
        let other = PublicKey::from_pem("o.pub", &key().public_pem()).unwrap();
        let r = OciRef::parse("oci://r.example/a/b:1").unwrap();
        let digest = sha256_digest(b"m");
        let payload = payload(&r, &digest);
        let sig = signer
            .pair
            .sign(&aws_lc_rs::rand::SystemRandom::new(), &payload)
            .unwrap();
        assert!(payload_names(&payload, &digest));
        assert!(!payload_names(&payload, &sha256_digest(b"n")));
        assert!(public.verifies(&payload, sig.as_ref()));
        assert!(!other.verifies(&payload, sig.as_ref()));
        assert!(!public.verifies(b"other", sig.as_ref()));
    }

    #[test]
    fn keys_that_are_not_p256_pem_are_refused() {
        assert!(PublicKey::from_pem("x", "not pem").is_err());
        assert!(
            SigningKey::from_pem(
                "x",
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"
            )
            .is_err()
        );
    }
}
