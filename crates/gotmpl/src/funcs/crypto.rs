//! Sprig's crypto functions: seeded randomness where Sprig uses crypto/rand, and
//! "not supported" for key and certificate generation.

use crate::funcs::{FResult, FuncError, Registry, at, ex};
use crate::value::Value;

fn unsupported(name: &str) -> FResult {
    Err(FuncError::Call(format!(
        "{name} is not supported by this renderer (key and certificate generation)"
    )))
}

pub(crate) fn register(r: &mut Registry) {
    r.add("genPrivateKey", ex(1), |_, _| unsupported("genPrivateKey"));
    r.add("genCA", ex(2), |_, _| unsupported("genCA"));
    r.add("genCAWithKey", ex(3), |_, _| unsupported("genCAWithKey"));
    r.add("genSelfSignedCert", ex(4), |_, _| {
        unsupported("genSelfSignedCert")
    });
    r.add("genSelfSignedCertWithKey", ex(5), |_, _| {
        unsupported("genSelfSignedCertWithKey")
    });
    r.add("genSignedCert", ex(5), |_, _| unsupported("genSignedCert"));
    r.add("genSignedCertWithKey", ex(6), |_, _| {
        unsupported("genSignedCertWithKey")
    });
    r.add("buildCustomCert", ex(2), |_, _| {
        unsupported("buildCustomCert")
    });
    r.add("htpasswd", at(2), |_, _| unsupported("htpasswd"));
    r.add("bcrypt", ex(1), |_, _| unsupported("bcrypt"));
    r.add("randBytes", ex(1), |c, a| {
        use base64::Engine as _;
        let n = crate::funcs::conv::want_int(&a, 0)?;
        let mut b = vec![0u8; crate::funcs::conv::idx(n)];
        c.shared.rng.borrow_mut().fill(&mut b);
        Ok(Value::String(
            base64::engine::general_purpose::STANDARD.encode(b),
        ))
    });
}
