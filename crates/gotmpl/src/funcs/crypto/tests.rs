//! Keys and certificates checked with `openssl` (which must be installed), shapes
//! and messages as `helm template` v4.1.4 gives them.

use std::process::Command;

use crate::{Templates, Value};

fn render(t: &mut Templates, text: &str) -> Result<String, String> {
    t.add("t", text).map_err(|e| e.to_string())?;
    t.execute("t", &Value::Nil).map_err(|e| e.to_string())
}

fn render_ok(text: &str) -> String {
    render(&mut Templates::new(), text).expect("renders")
}

/// Runs openssl with `files` written into a scratch directory; returns stdout.
fn openssl(args: &[&str], files: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        fs_write(&dir.path().join(name), text);
    }
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir.path())
        .output()
        .expect("openssl is installed");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn fs_write(p: &std::path::Path, text: &str) {
    std::fs::write(p, text).expect("write scratch file");
}

/// Splits `CERT===KEY...` output of a template into its PEM parts.
fn parts(out: &str) -> Vec<String> {
    out.split("===").map(str::to_string).collect()
}

#[test]
fn ca_and_signed_certificate_verify_and_carry_helms_fields() {
    let out = render_ok(
        r#"{{- $ca := genCA "my-ca" 365 -}}
{{- $c := genSignedCert "svc.ns.svc" (list "10.0.0.1" "::1") (list "svc" "svc.ns") 30 $ca -}}
{{ $ca.Cert }}==={{ $ca.Key }}==={{ $c.Cert }}==={{ $c.Key }}"#,
    );
    let p = parts(&out);
    assert_eq!(p.len(), 4, "{out}");
    assert!(p[0].starts_with("-----BEGIN CERTIFICATE-----\n"));
    assert!(p[1].starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
    assert!(p[3].ends_with("-----END RSA PRIVATE KEY-----\n"));
    let files = [("ca.pem", p[0].as_str()), ("cert.pem", p[2].as_str())];
    let verify = openssl(
        &["verify", "-no_check_time", "-CAfile", "ca.pem", "cert.pem"],
        &files,
    );
    assert_eq!(verify.trim(), "cert.pem: OK");

    let ca = openssl(&["x509", "-in", "ca.pem", "-noout", "-text"], &files);
    for want in [
        "Version: 3 (0x2)",
        "Signature Algorithm: sha256WithRSAEncryption",
        "Issuer: CN=my-ca",
        "Subject: CN=my-ca",
        "Not Before: Jan  1 00:00:00 1970 GMT",
        "Not After : Jan  1 00:00:00 1971 GMT",
        "Public-Key: (2048 bit)",
        "X509v3 Key Usage: critical\n                Digital Signature, Key Encipherment, Certificate Sign",
        "X509v3 Extended Key Usage: \n                TLS Web Server Authentication, TLS Web Client Authentication",
        "X509v3 Basic Constraints: critical\n                CA:TRUE",
        "X509v3 Subject Key Identifier",
    ] {
        assert!(
            ca.replace(" = ", "=").contains(want),
            "CA lacks {want:?}:\n{ca}"
        );
    }
    let leaf = openssl(&["x509", "-in", "cert.pem", "-noout", "-text"], &files);
    for want in [
        "Issuer: CN=my-ca",
        "Subject: CN=svc.ns.svc",
        "Not After : Jan 31 00:00:00 1970 GMT",
        "X509v3 Key Usage: critical\n                Digital Signature, Key Encipherment\n",
        "X509v3 Basic Constraints: critical\n                CA:FALSE",
        "X509v3 Authority Key Identifier",
        "DNS:svc, DNS:svc.ns, IP Address:10.0.0.1, IP Address:0:0:0:0:0:0:0:1",
    ] {
        assert!(
            leaf.replace(" = ", "=").contains(want),
            "leaf lacks {want:?}:\n{leaf}"
        );
    }
    assert!(!leaf.contains("Subject Key Identifier"), "{leaf}");

    // The key belongs to the certificate.
    let key_files = [("cert.pem", p[2].as_str()), ("key.pem", p[3].as_str())];
    let from_cert = openssl(
        &["x509", "-in", "cert.pem", "-noout", "-pubkey"],
        &key_files,
    );
    let from_key = openssl(&["pkey", "-in", "key.pem", "-pubout"], &key_files);
    assert_eq!(from_cert, from_key);
}

#[test]
fn validity_follows_the_engine_clock_and_keys_follow_the_seed() {
    let text = r#"{{ $c := genSelfSignedCert "self" nil nil 10 }}{{ $c.Cert }}==={{ $c.Key }}"#;
    let mut a = Templates::new();
    a.set_now(1_700_000_000);
    a.set_seed([7; 32]);
    let first = render(&mut a, text).expect("renders");
    let mut b = Templates::new();
    b.set_now(1_700_000_000);
    b.set_seed([7; 32]);
    assert_eq!(render(&mut b, text).expect("renders"), first);
    let mut c = Templates::new();
    c.set_now(1_700_000_000);
    c.set_seed([8; 32]);
    assert_ne!(render(&mut c, text).expect("renders"), first);

    let p = parts(&first);
    let text = openssl(
        &["x509", "-in", "c.pem", "-noout", "-text"],
        &[("c.pem", &p[0])],
    );
    assert!(
        text.contains("Not Before: Nov 14 22:13:20 2023 GMT"),
        "{text}"
    );
    assert!(
        text.contains("Not After : Nov 24 22:13:20 2023 GMT"),
        "{text}"
    );
    assert!(text.contains("CA:FALSE"), "{text}");
    assert!(!text.contains("Alternative Name"), "{text}");
    let verify = openssl(
        &["verify", "-no_check_time", "-CAfile", "c.pem", "c.pem"],
        &[("c.pem", &p[0])],
    );
    assert_eq!(verify.trim(), "c.pem: OK");
}

#[test]
fn private_keys_of_each_type_are_valid_pem() {
    for (kind, header, check) in [
        ("ecdsa", "EC PRIVATE KEY", "ec"),
        ("ed25519", "PRIVATE KEY", "pkey"),
        ("", "RSA PRIVATE KEY", "rsa"),
    ] {
        let out = render_ok(&format!("{{{{ genPrivateKey {kind:?} }}}}"));
        assert!(
            out.starts_with(&format!("-----BEGIN {header}-----\n")),
            "{out}"
        );
        assert!(out.ends_with(&format!("-----END {header}-----\n")), "{out}");
        assert!(out.lines().all(|l| l.len() <= 64), "{out}");
        let mut args = vec![check, "-in", "k.pem", "-noout", "-text"];
        if check != "pkey" {
            args.push("-check");
        }
        let text = openssl(&args, &[("k.pem", &out)]);
        match kind {
            "ecdsa" => assert!(text.contains("NIST CURVE: P-256"), "{text}"),
            "ed25519" => assert!(text.contains("ED25519 Private-Key"), "{text}"),
            _ => assert!(text.contains("Private-Key: (4096 bit, 2 primes)"), "{text}"),
        }
    }
    assert_eq!(
        render_ok(r#"{{ genPrivateKey "foo" }}"#),
        "Unknown type foo"
    );
    assert!(
        render_ok(r#"{{ genPrivateKey "dsa" }}"#).starts_with("failed to generate private key: ")
    );
}

#[test]
fn certificates_with_given_ec_and_ed25519_keys() {
    let out = render_ok(
        r#"{{- $k := genPrivateKey "ecdsa" -}}
{{- $ca := genCAWithKey "ec-ca" 1 $k -}}
{{- $e := genPrivateKey "ed25519" -}}
{{- $c := genSignedCertWithKey "leaf" nil (list "a.example") 1 $ca $e -}}
{{- $s := genSelfSignedCertWithKey "" (list "127.0.0.1") nil 1 $e -}}
{{ $ca.Cert }}==={{ $c.Cert }}==={{ $s.Cert }}==={{ eq $ca.Key $k }} {{ eq $c.Key $e }}"#,
    );
    let p = parts(&out);
    assert_eq!(p[3], "true true");
    let files = [
        ("ca.pem", p[0].as_str()),
        ("c.pem", p[1].as_str()),
        ("s.pem", p[2].as_str()),
    ];
    let ca = openssl(&["x509", "-in", "ca.pem", "-noout", "-text"], &files);
    assert!(ca.contains("ecdsa-with-SHA256"), "{ca}");
    let leaf = openssl(&["x509", "-in", "c.pem", "-noout", "-text"], &files);
    assert!(leaf.contains("ED25519"), "{leaf}");
    assert!(leaf.contains("DNS:a.example"), "{leaf}");
    let verify = openssl(
        &["verify", "-no_check_time", "-CAfile", "ca.pem", "c.pem"],
        &files,
    );
    assert_eq!(verify.trim(), "c.pem: OK");
    // An empty subject makes the SAN extension critical, as in Go.
    let s = openssl(&["x509", "-in", "s.pem", "-noout", "-text"], &files);
    assert!(
        s.contains(
            "X509v3 Subject Alternative Name: critical\n                IP Address:127.0.0.1"
        ),
        "{s}"
    );
}

#[test]
fn certificate_values_print_and_encode_as_helms_struct() {
    assert_eq!(
        render_ok(r#"{{ printf "%T" (genCA "x" 3) }}"#),
        "sprig.certificate"
    );
    let out = render_ok(r#"{{ $c := genCA "x" 3 }}{{ keys (fromJson (toJson $c)) | sortAlpha }}"#);
    assert_eq!(out, "[Cert Key]");
    let round = render_ok(
        r#"{{ $c := genCA "x" 3 }}{{ $b := buildCustomCert ($c.Cert | b64enc) ($c.Key | b64enc) }}{{ eq $b.Cert $c.Cert }} {{ eq $b.Key $c.Key }}"#,
    );
    assert_eq!(round, "true true");
}

#[test]
fn certificate_errors_read_as_helms() {
    for (text, want) in [
        (
            r#"{{ genCAWithKey "x" 3 "junk" }}"#,
            "error calling genCAWithKey: parsing private key: no PEM data in input",
        ),
        (
            r#"{{ buildCustomCert "!!" "x" }}"#,
            "error calling buildCustomCert: unable to decode base64 certificate",
        ),
        (
            r#"{{ buildCustomCert (b64enc "x") (b64enc "y") }}"#,
            "error calling buildCustomCert: unable to decode certificate",
        ),
        (
            r#"{{ genSelfSignedCert "x" (list "bad") nil 3 }}"#,
            "error calling genSelfSignedCert: error parsing ip: bad",
        ),
        (
            r#"{{ genSelfSignedCert "x" (list 1) nil 3 }}"#,
            "error calling genSelfSignedCert: error parsing ip: 1 is not a string",
        ),
        (
            r#"{{ genSelfSignedCert "x" nil (list 1) 3 }}"#,
            "error calling genSelfSignedCert: error processing alternate dns name: 1 is not a string",
        ),
        (
            r#"{{ genSignedCert "x" nil nil 3 (dict "Cert" "a") }}"#,
            "wrong type for value; expected sprig.certificate; got map[string]interface {}",
        ),
        (
            // A DSA key (a sequence of six integers) cannot sign, as in Go.
            "{{ genCAWithKey \"x\" 3 \"-----BEGIN DSA PRIVATE KEY-----\\nMBICAQACAQECAQECAQECAQECAQE=\\n-----END DSA PRIVATE KEY-----\\n\" }}",
            "error calling genCAWithKey: error creating certificate: x509: certificate private key does not implement crypto.Signer",
        ),
        (
            r#"{{ htpasswd "u" "p" "sha" }}"#,
            "wrong number of args for htpasswd: want 2 got 3",
        ),
    ] {
        let e = render(&mut Templates::new(), text).expect_err(text);
        assert!(e.contains(want), "{text}: {e}");
    }
}

#[test]
fn bcrypt_and_htpasswd() {
    let out = render_ok(r#"{{ htpasswd "user" "pass" }}|{{ bcrypt "x" }}"#);
    let (h, b) = out.split_once('|').expect("two parts");
    let hash = h.strip_prefix("user:").expect("user: prefix");
    assert!(hash.starts_with("$2a$10$") && hash.len() == 60, "{hash}");
    assert!(bcrypt::verify("pass", hash).expect("a bcrypt hash"));
    assert!(b.starts_with("$2a$10$") && bcrypt::verify("x", b).expect("a bcrypt hash"));
    // A hash made by helm 4.1.4 for the same password checks the same way.
    assert!(
        bcrypt::verify(
            "pass",
            "$2a$10$NvQhGB6e55iUA.BX9Lf4NujEssFm2Bib3gxbmLURsxvOo63iwk2s."
        )
        .expect("helm's hash")
    );
    assert_eq!(
        render_ok(r#"{{ htpasswd "us:er" "pass" }}"#),
        "invalid username: us:er"
    );
    assert_eq!(
        render_ok(r#"{{ bcrypt (repeat 80 "a") }}"#),
        "failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 bytes"
    );
}

#[test]
fn random_primes_have_the_size_and_top_bits_asked_for() {
    use num_traits::One as _;
    let mut rng = crate::rng::Rng::new([7; 32], 0);
    for bits in [32, 33, 47, 64, 100, 521, 1024] {
        for _ in 0..3 {
            let p = super::keys::random_prime(&mut super::keys::Seeded(&mut rng), bits);
            assert_eq!(p.bits(), bits, "{p}");
            // The two top bits are set, so a product of two has twice the bits.
            assert_eq!((&p >> (bits - 2)).to_string(), "3", "{p}");
            assert!(
                num_bigint_dig::prime::probably_prime(&p, 20),
                "{p} is not prime"
            );
            // Fermat with a base the sieve cannot have chosen.
            let n1 = &p - rsa::BigUint::one();
            assert!(
                rsa::BigUint::from(65_539u32).modpow(&n1, &p).is_one(),
                "{p}"
            );
        }
    }
}
