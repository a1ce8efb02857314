//! Encodings, digests, JSON and URLs.

use std::collections::BTreeMap;

use base64::Engine as _;
use sha1::Digest as _;

use crate::funcs::conv::{strval, want_map, want_str};
use crate::funcs::json::{JsonStyle, from_json, json_kind, to_json};
use crate::funcs::{FResult, FuncError, Registry, ex};
use crate::value::{Value, go_string_bytes, string_from_go_bytes};

mod b64;

#[expect(
    clippy::unnecessary_wraps,
    reason = "matches the function table's result type"
)]
fn s(v: String) -> FResult {
    Ok(Value::String(v))
}

const MARSHAL: JsonStyle = JsonStyle {
    escape_html: true,
    indent: false,
};
const PRETTY: JsonStyle = JsonStyle {
    escape_html: true,
    indent: true,
};
const RAW: JsonStyle = JsonStyle {
    escape_html: false,
    indent: false,
};

pub(crate) fn register(r: &mut Registry) {
    // Sprig declares these four `func(string) string`: Go refuses nil and
    // non-string arguments before calling them.
    r.add("b64enc", ex(1), |_, a| {
        let v = want_str(&a, 0)?;
        s(base64::engine::general_purpose::STANDARD.encode(go_string_bytes(&v)))
    });
    r.add("b64dec", ex(1), |_, a| {
        match b64::decode(&go_string_bytes(&want_str(&a, 0)?)) {
            Ok(b) => s(string_from_go_bytes(&b)),
            Err(at) => s(format!("illegal base64 data at input byte {at}")),
        }
    });
    r.add("b32enc", ex(1), |_, a| {
        s(b32enc(&go_string_bytes(&want_str(&a, 0)?)))
    });
    r.add("b32dec", ex(1), |_, a| match b32dec(&want_str(&a, 0)?) {
        Ok(b) => s(String::from_utf8_lossy(&b).into_owned()),
        Err(e) => s(e),
    });
    r.add("sha1sum", ex(1), |_, a| {
        s(hex(&sha1::Sha1::digest(go_string_bytes(&want_str(&a, 0)?))))
    });
    r.add("sha256sum", ex(1), |_, a| {
        s(hex(&sha2::Sha256::digest(go_string_bytes(&want_str(
            &a, 0,
        )?))))
    });
    r.add("sha512sum", ex(1), |_, a| {
        s(hex(&sha2::Sha512::digest(go_string_bytes(&want_str(
            &a, 0,
        )?))))
    });
    r.add("adler32sum", ex(1), |_, a| {
        s(adler32(&go_string_bytes(&want_str(&a, 0)?)).to_string())
    });
    r.add("toJson", ex(1), |_, a| {
        s(to_json(&a[0], MARSHAL).unwrap_or_default())
    });
    r.add("mustToJson", ex(1), |_, a| s(to_json(&a[0], MARSHAL)?));
    r.add("toPrettyJson", ex(1), |_, a| {
        s(to_json(&a[0], PRETTY).unwrap_or_default())
    });
    r.add("mustToPrettyJson", ex(1), |_, a| s(to_json(&a[0], PRETTY)?));
    r.add("toRawJson", ex(1), |_, a| {
        s(to_json(&a[0], RAW).unwrap_or_default())
    });
    r.add("mustToRawJson", ex(1), |_, a| s(to_json(&a[0], RAW)?));
    r.add("fromJson", ex(1), |_, a| {
        let text = want_str(&a, 0)?;
        Ok(match from_json(&text) {
            Ok(v @ Value::Map(_)) => v,
            Ok(Value::Nil) => Value::empty_map(),
            Ok(other) => error_map(format!(
                "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                json_kind(&other)
            )),
            Err(e) => error_map(e),
        })
    });
    r.add("mustFromJson", ex(1), |_, a| {
        Ok(from_json(&want_str(&a, 0)?)?)
    });
    r.add("fromJsonArray", ex(1), |_, a| {
        let text = want_str(&a, 0)?;
        Ok(match from_json(&text) {
            Ok(v @ Value::List(_)) => v,
            Ok(Value::Nil) => Value::List(Vec::new()),
            Ok(other) => Value::List(vec![Value::String(format!(
                "json: cannot unmarshal {} into Go value of type []interface {{}}",
                json_kind(&other)
            ))]),
            Err(e) => Value::List(vec![Value::String(e)]),
        })
    });
    r.add("urlParse", ex(1), |_, a| url_parse(&want_str(&a, 0)?));
    r.add("urlJoin", ex(1), |_, a| s(url_join(&want_map(&a, 0)?)));
    r.add("uuidv4", ex(0), |c, _| {
        let mut b = [0u8; 16];
        c.shared.rng.borrow_mut().fill(&mut b);
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h = hex(&b);
        s(format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        ))
    });
}

/// Helm's way of reporting a decoding failure: a map with one key `Error`.
pub(crate) fn error_map(msg: String) -> Value {
    let mut m = BTreeMap::new();
    m.insert("Error".to_string(), Value::String(msg));
    Value::from(m)
}

pub(crate) fn hex(b: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(out, "{x:02x}");
    }
    out
}

fn adler32(b: &[u8]) -> u32 {
    let (mut a, mut s2) = (1u32, 0u32);
    for x in b {
        a = (a + u32::from(*x)) % 65521;
        s2 = (s2 + a) % 65521;
    }
    (s2 << 16) | a
}

const B32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn b32enc(b: &[u8]) -> String {
    let mut out = String::new();
    for chunk in b.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let n = u64::from_be_bytes([0, 0, 0, buf[0], buf[1], buf[2], buf[3], buf[4]]);
        let chars = match chunk.len() {
            1 => 2,
            2 => 4,
            3 => 5,
            4 => 7,
            _ => 8,
        };
        for i in 0..8 {
            if i < chars {
                let idx = usize::try_from((n >> (35 - 5 * i)) & 31).unwrap_or(0);
                out.push(char::from(B32[idx]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn b32dec(v: &str) -> Result<Vec<u8>, String> {
    let bytes = v.as_bytes();
    if !bytes.len().is_multiple_of(8) {
        return Err(format!(
            "illegal base32 data at input byte {}",
            bytes.len() / 8 * 8
        ));
    }
    let mut out = Vec::new();
    for (ci, chunk) in bytes.chunks(8).enumerate() {
        let mut n: u64 = 0;
        let mut valid = 0;
        for (i, c) in chunk.iter().enumerate() {
            let d = if *c == b'=' {
                0
            } else {
                match B32.iter().position(|x| x == c) {
                    Some(p) => {
                        valid = i + 1;
                        p as u64
                    }
                    None => {
                        return Err(format!("illegal base32 data at input byte {}", ci * 8 + i));
                    }
                }
            };
            n = (n << 5) | d;
        }
        let keep = match valid {
            2 => 1,
            4 => 2,
            5 => 3,
            7 => 4,
            _ => 5,
        };
        out.extend_from_slice(&n.to_be_bytes()[3..3 + keep]);
    }
    Ok(out)
}

fn url_parse(v: &str) -> FResult {
    let mut rest = v;
    let mut m = BTreeMap::new();
    let mut put = |k: &str, v: &str| {
        m.insert(k.to_string(), Value::String(v.to_string()));
    };
    let (before, fragment) = rest.split_once('#').unwrap_or((rest, ""));
    rest = before;
    put("fragment", fragment);
    let mut scheme = "";
    if let Some(i) = rest.find(':') {
        let cand = &rest[..i];
        if !cand.is_empty()
            && cand.starts_with(|c: char| c.is_ascii_alphabetic())
            && cand
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            scheme = cand;
            rest = &rest[i + 1..];
        } else if i == 0 {
            return Err(FuncError::Call(format!(
                "unable to parse url: parse {v:?}: missing protocol scheme"
            )));
        }
    }
    put("scheme", &scheme.to_ascii_lowercase());
    let (before, query) = rest.split_once('?').unwrap_or((rest, ""));
    rest = before;
    put("query", query);
    let (mut userinfo, mut host, mut opaque) = ("", "", "");
    if let Some(after) = rest.strip_prefix("//") {
        let end = after.find('/').unwrap_or(after.len());
        let auth = &after[..end];
        rest = &after[end..];
        if let Some((u, h)) = auth.rsplit_once('@') {
            userinfo = u;
            host = h;
        } else {
            host = auth;
        }
    } else if !scheme.is_empty() && !rest.starts_with('/') {
        opaque = rest;
        rest = "";
    }
    put("userinfo", userinfo);
    put("host", host);
    let hostname = if host.starts_with('[') {
        host.split(']').next().unwrap_or("").trim_start_matches('[')
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    put("hostname", hostname);
    put("opaque", opaque);
    put("path", rest);
    Ok(Value::from(m))
}

fn url_join(d: &crate::value::Map) -> String {
    let get = |k: &str| d.get(k).map(|v| strval(&v)).unwrap_or_default();
    let (scheme, host, path, query, opaque, fragment, user) = (
        get("scheme"),
        get("host"),
        get("path"),
        get("query"),
        get("opaque"),
        get("fragment"),
        get("userinfo"),
    );
    let mut out = String::new();
    if !scheme.is_empty() {
        out.push_str(&scheme);
        out.push(':');
    }
    if opaque.is_empty() {
        if !scheme.is_empty() || !host.is_empty() || !user.is_empty() {
            if !host.is_empty() || !path.is_empty() || !user.is_empty() {
                out.push_str("//");
            }
            if !user.is_empty() {
                out.push_str(&user);
                out.push('@');
            }
            out.push_str(&host);
        }
        if !path.is_empty() && !path.starts_with('/') && !host.is_empty() {
            out.push('/');
        }
        out.push_str(&path);
    } else {
        out.push_str(&opaque);
    }
    if !query.is_empty() {
        out.push('?');
        out.push_str(&query);
    }
    if !fragment.is_empty() {
        out.push('#');
        out.push_str(&fragment);
    }
    out
}
