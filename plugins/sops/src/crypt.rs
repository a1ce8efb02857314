//! AES-256-GCM values, the tree walk that decrypts them and the MAC, as sops 3 does.

use aes_gcm::aead::consts::{U12, U16, U32};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::aes::Aes256;
use aes_gcm::{AesGcm, Key as AesKey};
use base64::Engine as _;
use sha2::{Digest, Sha256, Sha512};

use crate::Error;
use crate::metadata::Metadata;
use crate::tree::{Comment, Item, Key, Value, mac_bytes};

/// The parts of an `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` string.
struct EncValue {
    data: Vec<u8>,
    iv: Vec<u8>,
    tag: Vec<u8>,
    datatype: String,
}

/// Why a single value could not be decrypted.
#[derive(Debug)]
pub(crate) enum ValueError {
    NotEncrypted,
    UnknownCipher(String),
    Malformed(&'static str),
    Auth,
    Type(String),
}

fn parse_enc(value: &str) -> Result<EncValue, ValueError> {
    let Some(rest) = value.strip_prefix("ENC[") else {
        return Err(ValueError::NotEncrypted);
    };
    let Some(rest) = rest.strip_prefix("AES256_GCM,") else {
        let cipher = rest.split(',').next().unwrap_or_default();
        return Err(ValueError::UnknownCipher(cipher.chars().take(40).collect()));
    };
    let end = rest
        .rfind(']')
        .ok_or(ValueError::Malformed("missing `]`"))?;
    let mut data = None;
    let mut iv = None;
    let mut tag = None;
    let mut datatype = None;
    for part in rest[..end].split(',') {
        let (name, val) = part
            .split_once(':')
            .ok_or(ValueError::Malformed("field without `:`"))?;
        let b64 = || {
            base64::engine::general_purpose::STANDARD
                .decode(val)
                .map_err(|_| ValueError::Malformed("invalid base64"))
        };
        match name {
            "data" => data = Some(b64()?),
            "iv" => iv = Some(b64()?),
            "tag" => tag = Some(b64()?),
            "type" => datatype = Some(val.to_owned()),
            _ => return Err(ValueError::Malformed("unknown field")),
        }
    }
    Ok(EncValue {
        data: data.ok_or(ValueError::Malformed("missing data"))?,
        iv: iv.ok_or(ValueError::Malformed("missing iv"))?,
        tag: tag.ok_or(ValueError::Malformed("missing tag"))?,
        datatype: datatype.ok_or(ValueError::Malformed("missing type"))?,
    })
}

fn open(key: &[u8; 32], enc: &EncValue, aad: &str) -> Result<Vec<u8>, ValueError> {
    let mut msg = enc.data.clone();
    msg.extend_from_slice(&enc.tag);
    let payload = Payload {
        msg: &msg,
        aad: aad.as_bytes(),
    };
    let key = AesKey::<Aes256>::from_slice(key);
    if enc.tag.len() != 16 {
        return Err(ValueError::Malformed("tag is not 16 bytes"));
    }
    let out = match enc.iv.len() {
        32 => AesGcm::<Aes256, U32>::new(key).decrypt(enc.iv.as_slice().into(), payload),
        16 => AesGcm::<Aes256, U16>::new(key).decrypt(enc.iv.as_slice().into(), payload),
        12 => AesGcm::<Aes256, U12>::new(key).decrypt(enc.iv.as_slice().into(), payload),
        _ => return Err(ValueError::Malformed("unsupported iv length")),
    };
    out.map_err(|_| ValueError::Auth)
}

/// Decrypts one sops value; the empty string stands for an empty plaintext.
pub(crate) fn decrypt_value(value: &str, key: &[u8; 32], aad: &str) -> Result<Value, ValueError> {
    if value.is_empty() {
        return Ok(Value::Str(String::new()));
    }
    let enc = parse_enc(value)?;
    let plain = open(key, &enc, aad)?;
    let text = || String::from_utf8(plain.clone()).map_err(|_| ValueError::Type("utf-8".into()));
    Ok(match enc.datatype.as_str() {
        // binary files may hold any bytes in a `str` value
        "str" => match String::from_utf8(plain) {
            Ok(s) => Value::Str(s),
            Err(e) => Value::Bytes(e.into_bytes()),
        },
        "int" => Value::Int(
            text()?
                .parse()
                .map_err(|_| ValueError::Type("int".into()))?,
        ),
        "float" => Value::Float(
            text()?
                .parse()
                .map_err(|_| ValueError::Type("float".into()))?,
        ),
        "bool" => Value::Bool(parse_go_bool(&text()?).ok_or(ValueError::Type("bool".into()))?),
        "bytes" => Value::Bytes(plain),
        "time" => Value::Time(text()?),
        "comment" => Value::Comment(Comment {
            value: text()?,
            inline: false,
        }),
        other => return Err(ValueError::Type(other.chars().take(20).collect())),
    })
}

fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Walks every branch, decrypting in place, and returns the MAC (upper-case hex SHA-512).
pub(crate) fn decrypt_tree(
    branches: &mut [Vec<Item>],
    meta: &Metadata,
    key: &[u8; 32],
) -> Result<String, Error> {
    let mut walker = Walker {
        meta,
        key,
        hash: Sha512::new(),
    };
    if meta.mac_only_encrypted {
        walker.hash.update(Sha256::digest(b"sops"));
    }
    for branch in branches {
        let mut stack = Vec::new();
        walker.branch(branch, &mut Vec::new(), &mut stack)?;
    }
    let digest = walker.hash.finalize();
    let mut hex = String::with_capacity(digest.len() * 2);
    for b in digest {
        hex.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
        hex.push(char::from(b"0123456789ABCDEF"[usize::from(b & 15)]));
    }
    Ok(hex)
}

struct Walker<'a> {
    meta: &'a Metadata,
    key: &'a [u8; 32],
    hash: Sha512,
}

impl Walker<'_> {
    fn branch(
        &mut self,
        items: &mut [Item],
        path: &mut Vec<String>,
        stack: &mut Vec<Vec<String>>,
    ) -> Result<(), Error> {
        stack.push(Vec::new());
        for item in items.iter_mut() {
            if let Key::Comment(c) = &item.key {
                let c = c.clone();
                stack
                    .last_mut()
                    .expect("pushed above")
                    .push(c.value.clone());
                let out = self.leaf(Value::Comment(c.clone()), path, stack)?;
                if let Value::Comment(mut new) = out {
                    new.inline = c.inline;
                    item.key = Key::Comment(new);
                } else if let Value::Str(s) = out {
                    item.key = Key::Comment(Comment {
                        value: s,
                        inline: c.inline,
                    });
                }
                continue;
            }
            let Key::Str(k) = &item.key else {
                unreachable!("comment keys handled above")
            };
            path.push(k.clone());
            let value = std::mem::replace(&mut item.value, Value::Null);
            let result = self.value(value, path, stack);
            path.pop();
            item.value = result?;
            stack.last_mut().expect("pushed above").clear();
        }
        stack.pop();
        Ok(())
    }

    fn value(
        &mut self,
        value: Value,
        path: &mut Vec<String>,
        stack: &mut Vec<Vec<String>>,
    ) -> Result<Value, Error> {
        match value {
            Value::Null => Ok(Value::Null),
            Value::Map(mut items) => {
                self.branch(&mut items, path, stack)?;
                Ok(Value::Map(items))
            }
            Value::Seq(values) => {
                stack.push(Vec::new());
                let mut out = Vec::with_capacity(values.len());
                for v in values {
                    let is_comment = if let Value::Comment(c) = &v {
                        stack
                            .last_mut()
                            .expect("pushed above")
                            .push(c.value.clone());
                        true
                    } else {
                        false
                    };
                    out.push(self.value(v, path, stack)?);
                    if !is_comment {
                        stack.last_mut().expect("pushed above").clear();
                    }
                }
                stack.pop();
                Ok(Value::Seq(out))
            }
            leaf => self.leaf(leaf, path, stack),
        }
    }

    fn leaf(
        &mut self,
        value: Value,
        path: &[String],
        stack: &[Vec<String>],
    ) -> Result<Value, Error> {
        let is_comment = matches!(value, Value::Comment(_));
        let encrypted = self.meta.should_be_encrypted(path, stack, is_comment);
        let aad = format!("{}:", path.join(":"));
        let out = if encrypted {
            match &value {
                Value::Comment(c) => match decrypt_value(&c.value, self.key, &aad) {
                    Ok(Value::Comment(d)) => Value::Comment(d),
                    Ok(Value::Str(s)) => Value::Comment(Comment {
                        value: s,
                        inline: c.inline,
                    }),
                    // sops assumes a comment that does not decrypt was never encrypted
                    _ => value,
                },
                Value::Str(s) => {
                    decrypt_value(s, self.key, &aad).map_err(|e| value_error(e, path))?
                }
                _ => {
                    return Err(Error::Value {
                        path: display_path(path),
                        reason: "expected an encrypted string, found another type".into(),
                    });
                }
            }
        } else {
            value
        };
        if (!self.meta.mac_only_encrypted || encrypted)
            && !is_comment
            && let Some(bytes) = mac_bytes(&out)
        {
            self.hash.update(&bytes);
        }
        Ok(out)
    }
}

pub(crate) fn display_path(path: &[String]) -> String {
    if path.is_empty() {
        "(top level)".to_owned()
    } else {
        path.join(".")
    }
}

fn value_error(e: ValueError, path: &[String]) -> Error {
    let path = display_path(path);
    let reason = match e {
        ValueError::NotEncrypted => {
            "the value is not in sops' `ENC[...]` format although it should be encrypted".to_owned()
        }
        ValueError::UnknownCipher(c) => format!("unknown cipher `{c}` (only AES256_GCM is known)"),
        ValueError::Malformed(what) => format!("malformed encrypted value: {what}"),
        ValueError::Auth => {
            "AES-GCM authentication failed: the value was tampered with, or its key \
             path was renamed or moved"
                .to_owned()
        }
        ValueError::Type(t) => format!("decrypted value does not fit its declared type `{t}`"),
    };
    Error::Value { path, reason }
}

/// Decrypts the stored MAC (its AAD is the `lastmodified` timestamp) and compares it.
pub(crate) fn verify_mac(meta: &Metadata, key: &[u8; 32], computed: &str) -> Result<(), Error> {
    if meta.mac.is_empty() {
        return Err(Error::MacMissing);
    }
    let Ok(Value::Str(stored)) = decrypt_value(&meta.mac, key, &meta.lastmodified_aad) else {
        return Err(Error::MacUndecryptable);
    };
    if stored == computed {
        Ok(())
    } else {
        Err(Error::MacMismatch)
    }
}
