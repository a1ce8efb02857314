//! Builds sops files from pieces for the tests: values encrypted with AES-256-GCM here, the MAC
//! computed here, and the data key wrapped by the real `age` command-line tool.

#![allow(
    dead_code,
    reason = "each test file uses a different part of the helper"
)]

pub(crate) mod files;

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::{Command, Stdio};

use aes_gcm::aead::consts::U32;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::aes::Aes256;
use aes_gcm::{AesGcm, Key};
use base64::Engine as _;
use sha2::{Digest, Sha512};

pub(crate) const LASTMODIFIED: &str = "2024-01-02T03:04:05Z";

/// A data key and an IV counter for deterministic test files.
pub(crate) struct Sealer {
    pub(crate) data_key: [u8; 32],
    counter: u8,
}

impl Sealer {
    pub(crate) fn new(seed: u8) -> Self {
        let mut data_key = [0u8; 32];
        for (i, b) in data_key.iter_mut().enumerate() {
            *b = seed
                .wrapping_mul(31)
                .wrapping_add(u8::try_from(i).expect("32 fits"));
        }
        Self {
            data_key,
            counter: 0,
        }
    }

    /// `ENC[AES256_GCM,...]` for `plain` with additional data `aad`.
    pub(crate) fn enc(&mut self, plain: &str, aad: &str, kind: &str) -> String {
        self.counter += 1;
        let iv = [self.counter; 32];
        let cipher = AesGcm::<Aes256, U32>::new(Key::<Aes256>::from_slice(&self.data_key));
        let out = cipher
            .encrypt(
                iv.as_slice().into(),
                Payload {
                    msg: plain.as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .expect("encryption works");
        let (data, tag) = out.split_at(out.len() - 16);
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        format!(
            "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{kind}]",
            b64(data),
            b64(&iv),
            b64(tag)
        )
    }

    /// The encrypted MAC over the given plaintext pieces (in document order).
    pub(crate) fn mac(&mut self, pieces: &[&str], mac_only_encrypted: bool) -> String {
        let mut hash = Sha512::new();
        if mac_only_encrypted {
            hash.update(sha2::Sha256::digest(b"sops"));
        }
        for p in pieces {
            hash.update(p.as_bytes());
        }
        let mut hex = String::new();
        for b in hash.finalize() {
            write!(hex, "{b:02X}").expect("write to a string");
        }
        self.enc(&hex, LASTMODIFIED, "str")
    }
}

/// A fresh age identity made by `age-keygen`: (identity file text, recipient).
pub(crate) fn age_keygen() -> (String, String) {
    let out = Command::new("age-keygen")
        .output()
        .expect("the `age-keygen` tool is installed (Debian package `age`)");
    assert!(out.status.success(), "age-keygen failed");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let recipient = text
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .expect("age-keygen prints the public key")
        .to_owned();
    (text, recipient)
}

/// The data key wrapped for `recipient` by the `age` tool, ASCII-armored.
pub(crate) fn age_wrap(data_key: &[u8], recipient: &str) -> String {
    let mut child = Command::new("age")
        .args(["-a", "-r", recipient])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the `age` tool is installed (Debian package `age`)");
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(data_key)
        .expect("write to age");
    let out = child.wait_with_output().expect("age runs");
    assert!(out.status.success(), "age failed");
    String::from_utf8(out.stdout).expect("armored output is text")
}

/// Indents every line of `text` by `n` spaces (for YAML literal blocks).
pub(crate) fn indent(text: &str, n: usize) -> String {
    let mut out = String::new();
    for line in text.lines() {
        writeln!(out, "{}{line}", " ".repeat(n)).expect("write to a string");
    }
    out
}
