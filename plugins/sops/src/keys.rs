//! Private keys that can unwrap a sops data key: age X25519 identities and PGP secret keys.

use std::io::Read as _;
use std::str::FromStr as _;

use pgp::composed::{DecryptionOptions, Deserializable as _, Message, SignedSecretKey, TheRing};
use pgp::types::{KeyDetails as _, Password};

const PGP_BEGIN: &str = "-----BEGIN PGP PRIVATE KEY BLOCK-----";
const PGP_END: &str = "-----END PGP PRIVATE KEY BLOCK-----";

/// Decryption keys, built from the contents of key files.
///
/// Each text is told apart by its content: age identity files (lines `AGE-SECRET-KEY-1…`, `#`
/// comments and blank lines) and ASCII-armored PGP secret keys (`-----BEGIN PGP PRIVATE KEY
/// BLOCK-----`). A text may hold several identities or several concatenated armored keys.
/// Password-protected PGP keys are not supported (the sandbox cannot ask for a passphrase).
#[derive(Default)]
pub struct Keys {
    age: Vec<age::x25519::Identity>,
    pgp: Vec<SignedSecretKey>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("age_identities", &self.age.len())
            .field("pgp_keys", &self.pgp.len())
            .finish()
    }
}

/// Why key material could not be read.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    #[error(
        "key text {index}: line {line} is not a valid age identity (expected `AGE-SECRET-KEY-1…`)"
    )]
    BadAgeIdentity { index: usize, line: usize },
    #[error(
        "key text {index}: the armored OpenPGP secret key number {key} cannot be read: {reason}"
    )]
    BadPgpKey {
        index: usize,
        key: usize,
        reason: String,
    },
    #[error(
        "key text {index}: the OpenPGP secret key {fingerprint} is protected by a passphrase, \
         which cannot be entered here; export a copy without one"
    )]
    PassphraseProtected { index: usize, fingerprint: String },
    #[error("key text {index}: the OpenPGP secret key block is not terminated by `{PGP_END}`")]
    UnterminatedPgp { index: usize },
    #[error(
        "key text {index} is neither an age identity file nor an armored OpenPGP secret key \
         (public keys cannot decrypt)"
    )]
    Unrecognized { index: usize },
}

impl Keys {
    /// No keys at all.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads the contents of key files (age identity files or armored PGP secret keys).
    pub fn from_texts(texts: &[&[u8]]) -> Result<Self, KeysError> {
        let mut keys = Self::default();
        for (index, text) in texts.iter().enumerate() {
            keys.add_text(index + 1, text)?;
        }
        Ok(keys)
    }

    /// Adds the keys of one more key file.
    pub fn add_text(&mut self, index: usize, text: &[u8]) -> Result<(), KeysError> {
        let text = String::from_utf8_lossy(text);
        let blank = text.trim().is_empty();
        let mut found = false;
        let mut rest = text.to_string();
        if text.contains(PGP_BEGIN) {
            rest = self.add_pgp(index, &text)?;
            found = true;
        }
        let text = strip_public_blocks(&rest);
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let identity = age::x25519::Identity::from_str(line)
                .map_err(|_| KeysError::BadAgeIdentity { index, line: n + 1 })?;
            self.age.push(identity);
            found = true;
        }
        if found || blank {
            Ok(())
        } else {
            Err(KeysError::Unrecognized { index })
        }
    }

    /// Reads every armored secret key block; returns the text outside the blocks.
    fn add_pgp(&mut self, index: usize, text: &str) -> Result<String, KeysError> {
        let mut outside = String::new();
        let mut rest = text;
        let mut key = 0;
        while let Some(start) = rest.find(PGP_BEGIN) {
            key += 1;
            outside.push_str(&rest[..start]);
            let after = &rest[start..];
            let end = after
                .find(PGP_END)
                .ok_or(KeysError::UnterminatedPgp { index })?
                + PGP_END.len();
            let block = &after[..end];
            let bad = |e: pgp::errors::Error| KeysError::BadPgpKey {
                index,
                key,
                reason: e.to_string(),
            };
            // One block may hold several keys (`gpg --export-secret-keys` of more than one).
            let (parsed, _) = SignedSecretKey::from_string_many(block).map_err(bad)?;
            for parsed in parsed {
                let parsed = parsed.map_err(bad)?;
                let locked = parsed.primary_key.secret_params().is_encrypted()
                    && parsed
                        .secret_subkeys
                        .iter()
                        .all(|k| k.key.secret_params().is_encrypted());
                if locked {
                    return Err(KeysError::PassphraseProtected {
                        index,
                        fingerprint: format!("{:X}", parsed.fingerprint()),
                    });
                }
                self.pgp.push(parsed);
            }
            rest = &after[end..];
        }
        outside.push_str(rest);
        Ok(outside)
    }

    /// Whether no key was given.
    pub fn is_empty(&self) -> bool {
        self.age.is_empty() && self.pgp.is_empty()
    }

    /// The age recipients (public keys) of the identities held.
    pub fn age_recipients(&self) -> Vec<String> {
        self.age.iter().map(|i| i.to_public().to_string()).collect()
    }

    /// The fingerprints (upper-case hex) of the PGP primary keys held.
    pub fn pgp_fingerprints(&self) -> Vec<String> {
        self.pgp
            .iter()
            .map(|k| format!("{:X}", k.fingerprint()))
            .collect()
    }

    pub(crate) fn has_age(&self) -> bool {
        !self.age.is_empty()
    }

    pub(crate) fn has_pgp(&self) -> bool {
        !self.pgp.is_empty()
    }

    /// Unwraps an armored age file holding a data key with any identity held.
    pub(crate) fn unwrap_age(&self, enc: &str) -> Option<Vec<u8>> {
        if self.age.is_empty() {
            return None;
        }
        let reader = age::armor::ArmoredReader::new(enc.trim().as_bytes());
        let decryptor = age::Decryptor::new(reader).ok()?;
        let mut stream = decryptor
            .decrypt(self.age.iter().map(|i| i as &dyn age::Identity))
            .ok()?;
        let mut out = Vec::new();
        stream.read_to_end(&mut out).ok()?;
        Some(out)
    }

    /// Unwraps an armored PGP message holding a data key with any secret key held.
    pub(crate) fn unwrap_pgp(&self, enc: &str) -> Option<Vec<u8>> {
        if self.pgp.is_empty() {
            return None;
        }
        let password = Password::empty();
        for key in &self.pgp {
            let Ok((message, _)) = Message::from_string(enc.trim()) else {
                return None;
            };
            let ring = TheRing {
                secret_keys: vec![key],
                key_passwords: vec![&password],
                decrypt_options: DecryptionOptions::new().enable_legacy(),
                ..TheRing::default()
            };
            let Ok((mut message, _)) = message.decrypt_the_ring(ring, true) else {
                continue;
            };
            if message.is_compressed() {
                let Ok(m) = message.decompress() else {
                    continue;
                };
                message = m;
            }
            if let Ok(data) = message.as_data_vec() {
                return Some(data);
            }
        }
        None
    }
}

/// Drops armored public key blocks (exports often hold them beside the secret keys).
fn strip_public_blocks(text: &str) -> String {
    const BEGIN: &str = "-----BEGIN PGP PUBLIC KEY BLOCK-----";
    const END: &str = "-----END PGP PUBLIC KEY BLOCK-----";
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        out.push_str(&rest[..start]);
        match rest[start..].find(END) {
            Some(end) => rest = &rest[start + end + END.len()..],
            None => return out,
        }
    }
    out.push_str(rest);
    out
}
