//! Keyless cosign signatures: the signing key is in a short-lived Fulcio
//! certificate that names an identity (a workflow, an e-mail address) and
//! the OIDC issuer that vouched for it, and a Rekor transparency-log entry
//! proves the signature was made while the certificate was valid.
//!
//! kiln checks, offline, against a pinned Sigstore trust root
//! (`trusted_root.json`: the Fulcio CAs and the Rekor keys):
//!
//! 1. the Rekor bundle's signed entry timestamp (SET) under a Rekor key of
//!    the trust root, and that the logged `hashedrekord` entry is this
//!    signature, this certificate and the payload's hash;
//! 2. the certificate chains to a Fulcio CA of the trust root, for code
//!    signing, at the entry's integrated time;
//! 3. the signature over the payload under the certificate's key;
//! 4. the certificate's identity (its subject alternative name) and issuer
//!    (extension `1.3.6.1.4.1.57264.1.8`, or the older `.1.1`) match one of
//!    the policy's identities.
//!
//! Certificate transparency (SCTs) is not checked.

use aws_lc_rs::signature::{self, UnparsedPublicKey};
use base64::Engine as _;
use serde_json::Value;
use sha2::Digest as _;
use x509_cert::der::{Decode as _, Encode as _};

/// Annotation of a signature layer holding the signing certificate (PEM).
pub const CERTIFICATE_ANNOTATION: &str = "dev.sigstore.cosign/certificate";
/// Annotation holding the certificate's chain (PEM).
pub const CHAIN_ANNOTATION: &str = "dev.sigstore.cosign/chain";
/// Annotation holding the Rekor bundle (JSON).
pub const BUNDLE_ANNOTATION: &str = "dev.sigstore.cosign/bundle";

/// The OID of extended key usage "code signing", as webpki wants it.
const CODE_SIGNING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03];
/// Fulcio's OIDC issuer extension (a DER `UTF8String`).
const ISSUER_V2: &str = "1.3.6.1.4.1.57264.1.8";
/// Fulcio's older OIDC issuer extension (the raw string).
const ISSUER_V1: &str = "1.3.6.1.4.1.57264.1.1";
/// Subject alternative name.
const SAN: &str = "2.5.29.17";

/// Who may sign: an OIDC issuer and a subject, each exact or a regular
/// expression (as cosign's `--certificate-identity[-regexp]` and
/// `--certificate-oidc-issuer[-regexp]`).
#[derive(Debug, Clone)]
pub struct Identity {
    /// The issuer.
    pub issuer: Pattern,
    /// The subject (the certificate's URI or e-mail SAN).
    pub subject: Pattern,
}

/// An exact string or a regular expression (unanchored, as in cosign).
#[derive(Debug, Clone)]
pub enum Pattern {
    /// Equal to this.
    Exact(String),
    /// Matched by this.
    Regex(regex::Regex),
}

impl Pattern {
    fn matches(&self, text: &str) -> bool {
        match self {
            Self::Exact(s) => s == text,
            Self::Regex(r) => r.is_match(text),
        }
    }
}

impl std::fmt::Display for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Exact(s) => f.write_str(s),
            Self::Regex(r) => write!(f, "/{}/", r.as_str()),
        }
    }
}

/// A Sigstore trust root: Fulcio CA chains and Rekor keys.
#[derive(Debug, Clone)]
pub struct TrustedRoot {
    /// Each CA's chain, DER, leaf-most first, its root last.
    cas: Vec<Vec<Vec<u8>>>,
    /// Rekor keys: (log id = sha256 of the key's DER, key DER).
    rekor: Vec<(Vec<u8>, Vec<u8>)>,
}

/// A trust root that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{file} is not a Sigstore trusted_root.json: {problem}")]
pub struct RootError {
    /// The file.
    pub file: String,
    /// What is wrong.
    pub problem: String,
}

impl TrustedRoot {
    /// Parses `trusted_root.json` (Sigstore's `TrustedRoot` in JSON).
    pub fn parse(file: &str, text: &str) -> Result<Self, RootError> {
        let fail = |problem: &str| RootError {
            file: file.to_owned(),
            problem: problem.to_owned(),
        };
        let v: Value = serde_json::from_str(text).map_err(|e| fail(&e.to_string()))?;
        let b64 = |v: &Value| {
            v.as_str()
                .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
        };
        let mut cas = Vec::new();
        for ca in v["certificateAuthorities"].as_array().into_iter().flatten() {
            let chain: Option<Vec<Vec<u8>>> = ca["certChain"]["certificates"]
                .as_array()
                .map(|certs| certs.iter().filter_map(|c| b64(&c["rawBytes"])).collect());
            match chain {
                Some(chain) if !chain.is_empty() => cas.push(chain),
                _ => return Err(fail("a certificate authority has no certChain")),
            }
        }
        let mut rekor = Vec::new();
        for log in v["tlogs"].as_array().into_iter().flatten() {
            let key = b64(&log["publicKey"]["rawBytes"])
                .ok_or_else(|| fail("a tlog has no publicKey.rawBytes"))?;
            let id = sha2::Sha256::digest(&key).to_vec();
            rekor.push((id, key));
        }
        if cas.is_empty() || rekor.is_empty() {
            return Err(fail(
                "it needs certificateAuthorities and tlogs (keyless signatures are checked offline against both)",
            ));
        }
        Ok(Self { cas, rekor })
    }
}

/// What a keyless signature layer carries besides the signature.
#[derive(Debug, Clone)]
pub struct Material<'a> {
    /// The certificate, PEM.
    pub certificate: &'a str,
    /// Its chain, PEM (may be absent).
    pub chain: Option<&'a str>,
    /// The Rekor bundle, JSON.
    pub bundle: Option<&'a str>,
}

/// Checks a keyless signature: `sig` over `payload` with the certificate of
/// `material`; returns the identity it verified as (`subject` from
/// `issuer`), or why not.
pub fn verify(
    material: &Material<'_>,
    payload: &[u8],
    sig: &[u8],
    identities: &[Identity],
    root: &TrustedRoot,
) -> Result<String, String> {
    let leaf = pem_blocks(material.certificate)
        .into_iter()
        .next()
        .ok_or("the certificate annotation holds no PEM certificate")?;
    let bundle = material
        .bundle
        .ok_or("the signature has no Rekor bundle, so the time it was made is unknown")?;
    let time = check_bundle(bundle, &leaf, payload, sig, root)?;
    check_chain(&leaf, material.chain, time, root)?;
    let cert = x509_cert::Certificate::from_der(&leaf)
        .map_err(|e| format!("the certificate cannot be parsed: {e}"))?;
    let spki = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| e.to_string())?;
    let signed = [
        &signature::ECDSA_P256_SHA256_ASN1,
        &signature::ECDSA_P384_SHA384_ASN1,
    ]
    .iter()
    .any(|alg| {
        UnparsedPublicKey::new(*alg, &spki)
            .verify(payload, sig)
            .is_ok()
    });
    if !signed {
        return Err("the signature does not verify under the certificate's key".into());
    }
    let (subjects, issuer) = identity_of(&cert)?;
    let issuer = issuer.ok_or("the certificate names no OIDC issuer")?;
    for id in identities {
        if id.issuer.matches(&issuer)
            && let Some(subject) = subjects.iter().find(|s| id.subject.matches(s))
        {
            return Ok(format!("{subject} (issuer {issuer})"));
        }
    }
    Err(format!(
        "the certificate's identity {} (issuer {issuer}) matches no identity the policy trusts",
        subjects.join(", ")
    ))
}

/// The SANs (URIs, e-mail addresses) and the OIDC issuer of `cert`.
fn identity_of(cert: &x509_cert::Certificate) -> Result<(Vec<String>, Option<String>), String> {
    use x509_cert::ext::pkix::name::GeneralName;
    let mut subjects = Vec::new();
    let mut issuer = None;
    for ext in cert.tbs_certificate.extensions.iter().flatten() {
        let id = ext.extn_id.to_string();
        let value = ext.extn_value.as_bytes();
        if id == SAN {
            let san = x509_cert::ext::pkix::SubjectAltName::from_der(value)
                .map_err(|e| format!("the certificate's SAN cannot be parsed: {e}"))?;
            for name in san.0 {
                match name {
                    GeneralName::UniformResourceIdentifier(s) | GeneralName::Rfc822Name(s) => {
                        subjects.push(s.to_string());
                    }
                    _ => {}
                }
            }
        } else if id == ISSUER_V2 {
            let s = x509_cert::der::asn1::Utf8StringRef::from_der(value)
                .map_err(|e| format!("the certificate's issuer extension cannot be parsed: {e}"))?;
            issuer = Some(s.as_str().to_owned());
        } else if id == ISSUER_V1 && issuer.is_none() {
            issuer = std::str::from_utf8(value).ok().map(str::to_owned);
        }
    }
    Ok((subjects, issuer))
}

/// Verifies the Rekor bundle: its SET under a Rekor key of `root`, and
/// that its entry logs this signature, certificate and payload. Returns
/// the entry's integrated time (seconds since the epoch).
fn check_bundle(
    bundle: &str,
    leaf: &[u8],
    payload: &[u8],
    sig: &[u8],
    root: &TrustedRoot,
) -> Result<u64, String> {
    let v: Value =
        serde_json::from_str(bundle).map_err(|e| format!("the Rekor bundle is not JSON: {e}"))?;
    let p = &v["Payload"];
    let (Some(body), Some(time), Some(index), Some(log_id)) = (
        p["body"].as_str(),
        p["integratedTime"].as_u64(),
        p["logIndex"].as_u64(),
        p["logID"].as_str(),
    ) else {
        return Err("the Rekor bundle lacks body, integratedTime, logIndex or logID".into());
    };
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.decode(s).ok();
    let set = v["SignedEntryTimestamp"]
        .as_str()
        .and_then(b64)
        .ok_or("the Rekor bundle has no SignedEntryTimestamp")?;
    let id = hex::decode(log_id).map_err(|_| "the Rekor bundle's logID is not hex")?;
    let key = root
        .rekor
        .iter()
        .find(|(k, _)| *k == id)
        .map(|(_, key)| key)
        .ok_or("the Rekor bundle comes from a log the trust root does not name")?;
    // The SET signs the canonical JSON of the payload: keys sorted, no spaces.
    let canonical = format!(
        "{{\"body\":{},\"integratedTime\":{time},\"logID\":{},\"logIndex\":{index}}}",
        serde_json::to_string(body).map_err(|e| e.to_string())?,
        serde_json::to_string(log_id).map_err(|e| e.to_string())?,
    );
    UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, key)
        .verify(canonical.as_bytes(), &set)
        .map_err(|_| "the Rekor bundle's signed entry timestamp does not verify")?;
    let entry: Value = b64(body)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or("the Rekor entry is not base64 JSON")?;
    if entry["kind"] != "hashedrekord" {
        return Err(format!(
            "the Rekor entry is a {}, not a hashedrekord",
            entry["kind"]
        ));
    }
    let spec = &entry["spec"];
    let hash_ok = spec["data"]["hash"]["algorithm"] == "sha256"
        && spec["data"]["hash"]["value"] == hex::encode(sha2::Sha256::digest(payload));
    let sig_ok = spec["signature"]["content"]
        .as_str()
        .and_then(b64)
        .as_deref()
        == Some(sig);
    let logged_cert = spec["signature"]["publicKey"]["content"]
        .as_str()
        .and_then(b64)
        .and_then(|pem| String::from_utf8(pem).ok())
        .and_then(|pem| pem_blocks(&pem).into_iter().next());
    if !(hash_ok && sig_ok && logged_cert.as_deref() == Some(leaf)) {
        return Err("the Rekor entry logs another signature, certificate or payload".into());
    }
    Ok(time)
}

/// Verifies that `leaf` chains to a CA of `root` for code signing at `time`.
fn check_chain(
    leaf: &[u8],
    chain: Option<&str>,
    time: u64,
    root: &TrustedRoot,
) -> Result<(), String> {
    use rustls_pki_types::{CertificateDer, UnixTime};
    let leaf_der = CertificateDer::from(leaf);
    let ee = webpki::EndEntityCert::try_from(&leaf_der)
        .map_err(|e| format!("the certificate cannot be parsed: {e}"))?;
    let roots: Vec<CertificateDer<'_>> = root
        .cas
        .iter()
        .filter_map(|c| c.last())
        .map(|d| CertificateDer::from(d.as_slice()))
        .collect();
    let anchors: Vec<_> = roots
        .iter()
        .filter_map(|r| webpki::anchor_from_trusted_cert(r).ok())
        .collect();
    // Intermediates: those of the trust root, and any the signature brings
    // (they must still chain to an anchor).
    let mut intermediates: Vec<CertificateDer<'_>> = root
        .cas
        .iter()
        .flat_map(|c| c[..c.len() - 1].iter())
        .map(|d| CertificateDer::from(d.clone()))
        .collect();
    intermediates.extend(
        chain
            .map(pem_blocks)
            .unwrap_or_default()
            .into_iter()
            .map(CertificateDer::from),
    );
    ee.verify_for_usage(
        &[webpki::aws_lc_rs::ECDSA_P256_SHA256, webpki::aws_lc_rs::ECDSA_P384_SHA384, webpki::aws_lc_rs::ECDSA_P384_SHA256],
        &anchors,
        &intermediates,
        UnixTime::since_unix_epoch(std::time::Duration::from_secs(time)),
        webpki::KeyUsage::required(CODE_SIGNING),
        None,
        None,
    )
    .map_err(|e| format!("the certificate does not chain to a Fulcio CA of the trust root at the time it was logged: {e}"))?;
    Ok(())
}

/// The DER of every `CERTIFICATE` PEM block in `pem`.
fn pem_blocks(pem: &str) -> Vec<Vec<u8>> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut out = Vec::new();
    let mut rest = pem;
    while let Some(start) = rest.find(BEGIN) {
        let after = &rest[start + BEGIN.len()..];
        let Some(stop) = after.find(END) else { break };
        let body: String = after[..stop]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(body) {
            out.push(der);
        }
        rest = &after[stop + END.len()..];
    }
    out
}
