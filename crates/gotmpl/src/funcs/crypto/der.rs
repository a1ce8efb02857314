//! The few DER encodings certificates need, written as Go's `encoding/asn1` writes them.

use x509_cert::der::Decode as _;
use x509_cert::der::asn1::ObjectIdentifier;

pub(crate) const NULL: [u8; 2] = [0x05, 0x00];

/// A tag-length-value with DER's definite length.
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(u8::try_from(n).unwrap_or(0));
    } else {
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | u8::try_from(bytes.len()).unwrap_or(0));
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

pub(crate) fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

pub(crate) fn set(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x31, &parts.concat())
}

/// An object identifier from its dotted form (the callers' constants are valid).
pub(crate) fn oid(dotted: &str) -> Vec<u8> {
    ObjectIdentifier::new(dotted)
        .map(|o| tlv(0x06, o.as_bytes()))
        .unwrap_or_default()
}

/// A non-negative INTEGER from big-endian bytes, minimally encoded.
pub(crate) fn uint(be: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = be.iter().copied().skip_while(|b| *b == 0).collect();
    let mut content = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_none_or(|b| *b >= 0x80) {
        content.push(0);
    }
    content.extend(trimmed);
    tlv(0x02, &content)
}

pub(crate) fn octets(b: &[u8]) -> Vec<u8> {
    tlv(0x04, b)
}

pub(crate) fn bits(b: &[u8]) -> Vec<u8> {
    let mut content = vec![0u8];
    content.extend_from_slice(b);
    tlv(0x03, &content)
}

/// The INTEGERs of a SEQUENCE of INTEGERs, or `None` when `data` is not one.
pub(crate) fn integers(data: &[u8]) -> Option<Vec<Vec<u8>>> {
    let ints = Vec::<x509_cert::der::asn1::Int>::from_der(data).ok()?;
    Some(ints.iter().map(|i| i.as_bytes().to_vec()).collect())
}
