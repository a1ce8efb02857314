//! Sprig's certificate functions: `genCA`, `genSelfSignedCert`, `genSignedCert` (and
//! their `WithKey` forms) and `buildCustomCert`, with the fields Go's x509 writes for
//! Sprig's template (version 3, a random 128-bit serial, the subject's CN, validity
//! from the engine's clock, key usages, basic constraints, key identifiers, SANs).

use std::net::IpAddr;
use std::sync::Arc;

use base64::Engine as _;
use sha2::Digest as _;
use x509_cert::der::{Decode as _, Encode as _};

use crate::funcs::crypto::der::{bits, octets, oid, seq, set, tlv, uint};
use crate::funcs::crypto::keys::{Key, Seeded, pem, pem_decode};
use crate::funcs::{Ctx, FResult, FuncError};
use crate::value::{Object, Value};

/// Sprig's `certificate` struct: `.Cert` and `.Key`, PEM text.
#[derive(Debug)]
pub(crate) struct Certificate {
    pub(crate) cert: String,
    pub(crate) key: String,
}

impl Object for Certificate {
    fn type_name(&self) -> &'static str {
        "sprig.certificate"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Cert" => Some(Value::String(self.cert.clone())),
            "Key" => Some(Value::String(self.key.clone())),
            _ => None,
        }
    }
    fn call(&self, _method: &str, _args: &[Value]) -> Option<Result<Value, String>> {
        None
    }
    fn display(&self) -> String {
        format!("{{{} {}}}", self.cert, self.key)
    }
    fn to_value(&self) -> Option<Value> {
        Some(Value::Map(
            [
                ("Cert".to_string(), Value::String(self.cert.clone())),
                ("Key".to_string(), Value::String(self.key.clone())),
            ]
            .into_iter()
            .collect(),
        ))
    }
}

fn cert_value(cert: String, key: String) -> Value {
    Value::Object(Arc::new(Certificate { cert, key }))
}

/// What a new certificate says beyond its key.
struct Template {
    cn: String,
    ips: Vec<IpAddr>,
    dns: Vec<String>,
    days: i64,
    is_ca: bool,
}

/// A parsed signing certificate: its subject, public key and key identifier.
struct Parent {
    subject: Vec<u8>,
    spki: Vec<u8>,
    key_id: Option<Vec<u8>>,
}

const OID_CN: &str = "2.5.4.3";
const OID_KEY_USAGE: &str = "2.5.29.15";
const OID_EXT_KEY_USAGE: &str = "2.5.29.37";
const OID_BASIC_CONSTRAINTS: &str = "2.5.29.19";
const OID_SKI: &str = "2.5.29.14";
const OID_AKI: &str = "2.5.29.35";
const OID_SAN: &str = "2.5.29.17";
const OID_SERVER_AUTH: &str = "1.3.6.1.5.5.7.3.1";
const OID_CLIENT_AUTH: &str = "1.3.6.1.5.5.7.3.2";

/// Go's `asn1` writes a string as `PrintableString` when it can, else `UTF8String`.
fn directory_string(s: &str) -> Vec<u8> {
    let printable = s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b" '()+,-./:=?*".contains(&b));
    tlv(if printable { 0x13 } else { 0x0c }, s.as_bytes())
}

fn name(cn: &str) -> Vec<u8> {
    if cn.is_empty() {
        return seq(&[]);
    }
    seq(&[set(&[seq(&[oid(OID_CN), directory_string(cn)])])])
}

/// Go's `asn1` time: `UTCTime` from 1950 to 2049, `GeneralizedTime` otherwise.
fn time(secs: i64) -> Vec<u8> {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let hms = format!(
        "{m:02}{d:02}{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    if (1950..2050).contains(&y) {
        tlv(0x17, format!("{:02}{hms}", y % 100).as_bytes())
    } else {
        tlv(0x18, format!("{y:04}{hms}").as_bytes())
    }
}

fn extension(id: &str, critical: bool, value: &[u8]) -> Vec<u8> {
    let mut parts = vec![oid(id)];
    if critical {
        parts.push(tlv(0x01, &[0xff]));
    }
    parts.push(octets(value));
    seq(&parts)
}

/// Go's truncated SHA-256 of the public key bits, its subject key identifier.
fn key_id(spki: &[u8]) -> Result<Vec<u8>, String> {
    let info = x509_cert::spki::SubjectPublicKeyInfoOwned::from_der(spki)
        .map_err(|e| format!("error creating certificate: {e}"))?;
    let digest = sha2::Sha256::digest(info.subject_public_key.raw_bytes());
    Ok(digest[..20].to_vec())
}

/// Builds, signs and PEM-encodes a certificate for `subject_key`, signed by
/// `signer` on behalf of `parent` (`None`: self-signed).
fn create(
    rng: &mut crate::rng::Rng,
    now: i64,
    t: &Template,
    subject_key: &Key,
    signer: &Key,
    parent: Option<&Parent>,
) -> Result<(String, String), String> {
    let sig_alg = signer.signature_algorithm()?;
    let spki = subject_key.spki()?;
    if let Some(p) = parent
        && p.spki != signer.spki()?
    {
        return Err(
            "error creating certificate: x509: provided PrivateKey doesn't match parent's PublicKey"
                .into(),
        );
    }
    let mut serial = [0u8; 16];
    rng.fill(&mut serial);
    let subject = name(&t.cn);
    let issuer = parent.map_or_else(|| subject.clone(), |p| p.subject.clone());

    let usage: &[u8] = if t.is_ca { &[2, 0xa4] } else { &[5, 0xa0] };
    let mut exts = vec![
        extension(OID_KEY_USAGE, true, &tlv(0x03, usage)),
        extension(
            OID_EXT_KEY_USAGE,
            false,
            &seq(&[oid(OID_SERVER_AUTH), oid(OID_CLIENT_AUTH)]),
        ),
        extension(
            OID_BASIC_CONSTRAINTS,
            true,
            &if t.is_ca {
                seq(&[tlv(0x01, &[0xff])])
            } else {
                seq(&[])
            },
        ),
    ];
    if t.is_ca {
        exts.push(extension(OID_SKI, false, &octets(&key_id(&spki)?)));
    }
    if let Some(p) = parent
        && p.subject != subject
        && let Some(id) = &p.key_id
    {
        exts.push(extension(OID_AKI, false, &seq(&[tlv(0x80, id)])));
    }
    if !t.dns.is_empty() || !t.ips.is_empty() {
        let mut names: Vec<Vec<u8>> = Vec::new();
        for d in &t.dns {
            if !d.is_ascii() {
                return Err(format!(
                    "error creating certificate: x509: {d:?} cannot be encoded as an IA5String"
                ));
            }
            names.push(tlv(0x82, d.as_bytes()));
        }
        for ip in &t.ips {
            let raw = match ip {
                IpAddr::V4(v4) => v4.octets().to_vec(),
                IpAddr::V6(v6) => v6
                    .to_ipv4_mapped()
                    .map_or_else(|| v6.octets().to_vec(), |v4| v4.octets().to_vec()),
            };
            names.push(tlv(0x87, &raw));
        }
        exts.push(extension(OID_SAN, t.cn.is_empty(), &seq(&names)));
    }

    let not_after = now.saturating_add(t.days.saturating_mul(86_400));
    let tbs = seq(&[
        tlv(0xa0, &uint(&[2])),
        uint(&serial),
        sig_alg.clone(),
        issuer,
        seq(&[time(now), time(not_after)]),
        subject,
        spki,
        tlv(0xa3, &seq(&exts)),
    ]);
    let signature = signer.sign(&tbs)?;
    let cert = seq(&[tbs, sig_alg, bits(&signature)]);
    Ok((pem("CERTIFICATE", &cert), subject_key.to_pem()?))
}

fn parse_parent(cert_pem: &str) -> Result<Parent, String> {
    let (_, data) = pem_decode(cert_pem).ok_or("unable to decode certificate")?;
    let cert = x509_cert::Certificate::from_der(&data).map_err(|e| {
        format!(
            "error parsing certificate: decodedSignerCert.Bytes: x509: malformed certificate: {e}"
        )
    })?;
    let tbs = &cert.tbs_certificate;
    let der_err = |e: x509_cert::der::Error| format!("error parsing certificate: {e}");
    let key_id = tbs.extensions.as_ref().and_then(|exts| {
        exts.iter()
            .find(|e| e.extn_id.to_string() == OID_SKI)
            .and_then(|e| x509_cert::der::asn1::OctetString::from_der(e.extn_value.as_bytes()).ok())
            .map(|o| o.as_bytes().to_vec())
    });
    Ok(Parent {
        subject: tbs.subject.to_der().map_err(der_err)?,
        spki: tbs.subject_public_key_info.to_der().map_err(der_err)?,
        key_id,
    })
}

/// Go's check of a `[]interface{}` parameter (nil is empty).
fn want_list(a: &[Value], i: usize) -> Result<Vec<Value>, FuncError> {
    match a.get(i) {
        Some(Value::List(l)) => Ok(l.clone()),
        Some(Value::Nil) | None => Ok(Vec::new()),
        Some(v) => Err(FuncError::Arg(
            i,
            format!(
                "wrong type for value; expected []interface {{}}; got {}",
                v.type_name()
            ),
        )),
    }
}

fn ips(a: &[Value], i: usize) -> Result<Vec<IpAddr>, FuncError> {
    want_list(a, i)?
        .iter()
        .map(|v| match v {
            Value::String(s) => s
                .parse::<IpAddr>()
                .map_err(|_| FuncError::Call(format!("error parsing ip: {s}"))),
            other => Err(FuncError::Call(format!(
                "error parsing ip: {} is not a string",
                crate::fmt::format_value(other)
            ))),
        })
        .collect()
}

fn dns_names(a: &[Value], i: usize) -> Result<Vec<String>, FuncError> {
    want_list(a, i)?
        .iter()
        .map(|v| match v {
            Value::String(s) => Ok(s.clone()),
            other => Err(FuncError::Call(format!(
                "error processing alternate dns name: {} is not a string",
                crate::fmt::format_value(other)
            ))),
        })
        .collect()
}

/// Go's check of a `sprig.certificate` parameter.
fn want_cert(a: &[Value], i: usize) -> Result<(String, String), FuncError> {
    if let Some(Value::Object(o)) = a.get(i)
        && o.type_name() == "sprig.certificate"
        && let (Some(Value::String(c)), Some(Value::String(k))) = (o.field("Cert"), o.field("Key"))
    {
        return Ok((c, k));
    }
    let got = a.get(i).map_or("nil".to_string(), Value::type_name);
    Err(FuncError::Arg(
        i,
        format!("wrong type for value; expected sprig.certificate; got {got}"),
    ))
}

fn key_arg(a: &[Value], i: usize) -> Result<Key, FuncError> {
    let text = crate::funcs::conv::want_str(a, i)?;
    Key::from_pem(&text).map_err(|e| FuncError::Call(format!("parsing private key: {e}")))
}

/// Which of the six certificate functions is called.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    Ca,
    SelfSigned,
    Signed,
}

/// `genCA`, `genSelfSignedCert`, `genSignedCert` and (`with_key`) their `WithKey` forms.
pub(crate) fn generate(c: &Ctx<'_>, a: &[Value], kind: Kind, with_key: bool) -> FResult {
    let cn = crate::funcs::conv::want_str(a, 0)?;
    let (t, ca_at) = match kind {
        Kind::Ca => (
            Template {
                cn,
                ips: Vec::new(),
                dns: Vec::new(),
                days: crate::funcs::conv::want_int(a, 1)?,
                is_ca: true,
            },
            2,
        ),
        Kind::SelfSigned | Kind::Signed => (
            Template {
                cn,
                ips: ips(a, 1)?,
                dns: dns_names(a, 2)?,
                days: crate::funcs::conv::want_int(a, 3)?,
                is_ca: false,
            },
            4,
        ),
    };
    let ca = match kind {
        Kind::Signed => Some(want_cert(a, ca_at)?),
        _ => None,
    };
    let key_at = if ca.is_some() { ca_at + 1 } else { ca_at };
    let mut rng = c.shared.rng.borrow_mut();
    let key = if with_key {
        key_arg(a, key_at)?
    } else {
        Key::rsa(&mut Seeded(&mut rng), 2048)?
    };
    let (cert, key_pem) = match ca {
        Some((ca_cert, ca_key)) => {
            let parent = parse_parent(&ca_cert)?;
            let signer = Key::from_pem(&ca_key)
                .map_err(|e| FuncError::Call(format!("error parsing private key: {e}")))?;
            create(&mut rng, c.now(), &t, &key, &signer, Some(&parent))?
        }
        None => create(&mut rng, c.now(), &t, &key, &key, None)?,
    };
    Ok(cert_value(cert, key_pem))
}

/// `buildCustomCert`: a certificate and key given in base64, checked.
pub(crate) fn build_custom(a: &[Value]) -> FResult {
    let b64 = base64::engine::general_purpose::STANDARD;
    let cert = b64
        .decode(crate::funcs::conv::want_str(a, 0)?)
        .map_err(|_| FuncError::Call("unable to decode base64 certificate".into()))?;
    let key = b64
        .decode(crate::funcs::conv::want_str(a, 1)?)
        .map_err(|_| FuncError::Call("unable to decode base64 private key".into()))?;
    let cert = String::from_utf8_lossy(&cert).into_owned();
    let key = String::from_utf8_lossy(&key).into_owned();
    let (_, der) = pem_decode(&cert).ok_or("unable to decode certificate".to_string())?;
    x509_cert::Certificate::from_der(&der).map_err(|e| {
        format!("error parsing certificate: decodedCert.Bytes: x509: malformed certificate: {e}")
    })?;
    Key::from_pem(&key).map_err(|e| format!("error parsing private key: {e}"))?;
    Ok(cert_value(cert, key))
}
