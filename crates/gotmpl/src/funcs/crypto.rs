//! Sprig's crypto functions: AES-CBC, Master Password derivation, bcrypt, private keys
//! and certificates, with the engine's seeded randomness where Sprig uses crypto/rand.

use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit, generic_array::GenericArray};
use base64::Engine as _;
use hmac::Mac as _;

use crate::funcs::conv::{to_i64, want_str};
use crate::funcs::{Ctx, FResult, FuncError, Registry, ex};
use crate::value::Value;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

mod certs;
mod der;
mod keys;
#[cfg(test)]
mod tests;

use certs::Kind;

pub(crate) fn register(r: &mut Registry) {
    r.add("genPrivateKey", ex(1), |c, a| {
        let kind = want_str(&a, 0)?;
        let mut rng = c.shared.rng.borrow_mut();
        Ok(Value::String(match keys::Key::generate(&kind, &mut rng) {
            Ok(Some(key)) => key.to_pem().unwrap_or_else(|e| e),
            Ok(None) => format!("Unknown type {kind}"),
            Err(e) => format!("failed to generate private key: {e}"),
        }))
    });
    r.add("genCA", ex(2), |c, a| {
        certs::generate(c, &a, Kind::Ca, false)
    });
    r.add("genCAWithKey", ex(3), |c, a| {
        certs::generate(c, &a, Kind::Ca, true)
    });
    r.add("genSelfSignedCert", ex(4), |c, a| {
        certs::generate(c, &a, Kind::SelfSigned, false)
    });
    r.add("genSelfSignedCertWithKey", ex(5), |c, a| {
        certs::generate(c, &a, Kind::SelfSigned, true)
    });
    r.add("genSignedCert", ex(5), |c, a| {
        certs::generate(c, &a, Kind::Signed, false)
    });
    r.add("genSignedCertWithKey", ex(6), |c, a| {
        certs::generate(c, &a, Kind::Signed, true)
    });
    r.add("buildCustomCert", ex(2), |_, a| certs::build_custom(&a));
    r.add("htpasswd", ex(2), |c, a| {
        let (user, pass) = (want_str(&a, 0)?, want_str(&a, 1)?);
        Ok(Value::String(if user.contains(':') {
            format!("invalid username: {user}")
        } else {
            format!("{user}:{}", bcrypt_hash(c, &pass))
        }))
    });
    r.add("bcrypt", ex(1), |c, a| {
        Ok(Value::String(bcrypt_hash(c, &want_str(&a, 0)?)))
    });
    r.add("encryptAES", ex(2), encrypt_aes);
    r.add("decryptAES", ex(2), |_, a| {
        decrypt_aes(&want_str(&a, 0)?, &want_str(&a, 1)?)
            .map(Value::String)
            .map_err(FuncError::Call)
    });
    r.add("derivePassword", ex(5), |_, a| {
        let counter = u32::try_from(to_i64(&a[0])).unwrap_or(0);
        Ok(Value::String(derive_password(
            counter,
            &want_str(&a, 1)?,
            &want_str(&a, 2)?,
            &want_str(&a, 3)?,
            &want_str(&a, 4)?,
        )))
    });
    r.add("randBytes", ex(1), |c, a| {
        let n = crate::funcs::conv::want_int(&a, 0)?;
        crate::funcs::conv::check_built("randBytes", u128::from(n.unsigned_abs()))?;
        let mut b = vec![0u8; crate::funcs::conv::idx(n)];
        c.shared.rng.borrow_mut().fill(&mut b);
        Ok(Value::String(
            base64::engine::general_purpose::STANDARD.encode(b),
        ))
    });
}

/// Go's bcrypt with its default cost (10) and a salt from the seeded generator.
fn bcrypt_hash(c: &Ctx<'_>, password: &str) -> String {
    if password.len() > 72 {
        return "failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 bytes"
            .into();
    }
    let mut salt = [0u8; 16];
    c.shared.rng.borrow_mut().fill(&mut salt);
    match bcrypt::hash_with_salt(password, 10, salt) {
        Ok(parts) => parts.format_for_version(bcrypt::Version::TwoA),
        Err(e) => format!("failed to encrypt string with bcrypt: {e}"),
    }
}

fn aes_key(password: &str) -> aes::Aes256 {
    let mut key = [0u8; 32];
    let p = password.as_bytes();
    let n = p.len().min(32);
    key[..n].copy_from_slice(&p[..n]);
    aes::Aes256::new(GenericArray::from_slice(&key))
}

#[expect(
    clippy::needless_pass_by_value,
    reason = "the function table passes arguments by value"
)]
fn encrypt_aes(c: &Ctx<'_>, a: Vec<Value>) -> FResult {
    let (password, plain) = (want_str(&a, 0)?, want_str(&a, 1)?);
    if plain.is_empty() {
        return Ok(Value::String(String::new()));
    }
    let cipher = aes_key(&password);
    let mut content = plain.into_bytes();
    let pad = 16 - content.len() % 16;
    content.extend(std::iter::repeat_n(u8::try_from(pad).unwrap_or(16), pad));
    let mut out = vec![0u8; 16];
    c.shared.rng.borrow_mut().fill(&mut out);
    let mut prev: [u8; 16] = out[..16].try_into().expect("16 bytes of IV");
    for chunk in content.chunks(16) {
        let mut block = [0u8; 16];
        for (i, b) in chunk.iter().enumerate() {
            block[i] = b ^ prev[i];
        }
        let mut ga = GenericArray::from(block);
        cipher.encrypt_block(&mut ga);
        prev.copy_from_slice(&ga);
        out.extend_from_slice(&ga);
    }
    Ok(Value::String(B64.encode(out)))
}

fn decrypt_aes(password: &str, crypt: &str) -> Result<String, String> {
    let data = B64
        .decode(crypt.as_bytes())
        .map_err(|_| "illegal base64 data".to_string())?;
    if data.len() < 16 {
        return Err("ciphertext too short".into());
    }
    let (iv, body) = data.split_at(16);
    if body.len() % 16 != 0 {
        return Err("blocksize must be multipe of decoded message length".into());
    }
    let cipher = aes_key(password);
    let mut prev: Vec<u8> = iv.to_vec();
    let mut plain = Vec::with_capacity(body.len());
    for chunk in body.chunks(16) {
        let mut ga = GenericArray::clone_from_slice(chunk);
        cipher.decrypt_block(&mut ga);
        plain.extend(ga.iter().zip(&prev).map(|(x, p)| x ^ p));
        prev = chunk.to_vec();
    }
    let pad = usize::from(plain.last().copied().unwrap_or(0));
    plain.truncate(plain.len().saturating_sub(pad));
    Ok(String::from_utf8_lossy(&plain).into_owned())
}

const MPW_SEED: &str = "com.lyndir.masterpassword";

fn templates(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "maximum" => &["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
        "long" => &[
            "CvcvnoCvcvCvcv",
            "CvcvCvcvnoCvcv",
            "CvcvCvcvCvcvno",
            "CvccnoCvcvCvcv",
            "CvccCvcvnoCvcv",
            "CvccCvcvCvcvno",
            "CvcvnoCvccCvcv",
            "CvcvCvccnoCvcv",
            "CvcvCvccCvcvno",
            "CvcvnoCvcvCvcc",
            "CvcvCvcvnoCvcc",
            "CvcvCvcvCvccno",
            "CvccnoCvccCvcv",
            "CvccCvccnoCvcv",
            "CvccCvccCvcvno",
            "CvcvnoCvccCvcc",
            "CvcvCvccnoCvcc",
            "CvcvCvccCvccno",
            "CvccnoCvcvCvcc",
            "CvccCvcvnoCvcc",
            "CvccCvcvCvccno",
        ],
        "medium" => &["CvcnoCvc", "CvcCvcno"],
        "short" => &["Cvcn"],
        "basic" => &["aaanaaan", "aannaaan", "aaannaaa"],
        "pin" => &["nnnn"],
        _ => return None,
    })
}

fn template_chars(c: u8) -> &'static str {
    match c {
        b'V' => "AEIOU",
        b'C' => "BCDFGHJKLMNPQRSTVWXYZ",
        b'v' => "aeiou",
        b'c' => "bcdfghjklmnpqrstvwxyz",
        b'A' => "AEIOUBCDFGHJKLMNPQRSTVWXYZ",
        b'a' => "AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
        b'n' => "0123456789",
        b'o' => "@&%?,=[]_:-+*$#!'^~;()/.",
        _ => "AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
    }
}

/// The Master Password algorithm (scrypt + HMAC-SHA256) as Sprig implements it.
fn derive_password(counter: u32, kind: &str, password: &str, user: &str, site: &str) -> String {
    let Some(temps) = templates(kind) else {
        return format!("cannot find password template {kind}");
    };
    let len32 = |s: &str| u32::try_from(s.len()).unwrap_or(u32::MAX).to_be_bytes();
    let mut salt = MPW_SEED.as_bytes().to_vec();
    salt.extend_from_slice(&len32(user));
    salt.extend_from_slice(user.as_bytes());
    let mut key = [0u8; 64];
    let params = scrypt::Params::new(15, 8, 2, 64).expect("fixed valid scrypt parameters");
    if let Err(e) = scrypt::scrypt(password.as_bytes(), &salt, &params, &mut key) {
        return format!("failed to derive password: {e}");
    }
    let mut msg = MPW_SEED.as_bytes().to_vec();
    msg.extend_from_slice(&len32(site));
    msg.extend_from_slice(site.as_bytes());
    msg.extend_from_slice(&counter.to_be_bytes());
    let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(&key)
        .expect("HMAC takes any key length");
    mac.update(&msg);
    let seed = mac.finalize().into_bytes();
    let temp = temps[usize::from(seed[0]) % temps.len()];
    temp.bytes()
        .enumerate()
        .map(|(i, t)| {
            let chars = template_chars(t).as_bytes();
            char::from(chars[usize::from(seed[i + 1]) % chars.len()])
        })
        .collect()
}
