//! Combining Shamir secret-sharing parts as sops (`HashiCorp` Vault's scheme) splits them: each
//! part is the y-values followed by one x byte, over GF(2^8) with the AES polynomial.

fn mul(mut a: u8, mut b: u8) -> u8 {
    let mut p = 0u8;
    while b != 0 {
        if b & 1 != 0 {
            p ^= a;
        }
        let carry = a & 0x80 != 0;
        a <<= 1;
        if carry {
            a ^= 0x1b;
        }
        b >>= 1;
    }
    p
}

fn inv(a: u8) -> u8 {
    // a^254 is the inverse of a in GF(2^8)
    let mut result = 1u8;
    let mut base = a;
    let mut e = 254u32;
    while e > 0 {
        if e & 1 == 1 {
            result = mul(result, base);
        }
        base = mul(base, base);
        e >>= 1;
    }
    result
}

/// Recovers the secret from at least `threshold` parts; `None` on malformed parts.
pub(crate) fn combine(parts: &[Vec<u8>]) -> Option<Vec<u8>> {
    let first = parts.first()?;
    if first.len() < 2 || parts.iter().any(|p| p.len() != first.len()) {
        return None;
    }
    let len = first.len() - 1;
    let xs: Vec<u8> = parts.iter().map(|p| p[len]).collect();
    for (i, x) in xs.iter().enumerate() {
        if xs[..i].contains(x) {
            return None;
        }
    }
    let mut secret = vec![0u8; len];
    for (idx, byte) in secret.iter_mut().enumerate() {
        let mut acc = 0u8;
        for (i, part) in parts.iter().enumerate() {
            let mut basis = 1u8;
            for (j, xj) in xs.iter().enumerate() {
                if i != j {
                    basis = mul(basis, mul(*xj, inv(xs[i] ^ xj)));
                }
            }
            acc ^= mul(part[idx], basis);
        }
        *byte = acc;
    }
    Some(secret)
}
