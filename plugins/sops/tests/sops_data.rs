//! Decrypts files from sops' own test data (its functional-test PGP key and examples).

use kiln_plugin_sops::{Error, Keys, decrypt_file};

fn data(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

fn pgp_keys() -> Keys {
    Keys::from_texts(&[&data("sops_functional_tests_key.asc")]).expect("armored secret keys")
}

fn decrypt(name: &str, keys: &Keys) -> Result<String, Error> {
    decrypt_file(name, &data(name), None, keys)
        .map(|out| String::from_utf8(out).expect("utf-8 output"))
}

#[test]
fn pgp_key_file_holds_both_functional_test_keys() {
    assert_eq!(
        pgp_keys().pgp_fingerprints(),
        vec![
            "FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4".to_owned(),
            "D7229043384BCC60326C6FB9D8720D957C3D3074".to_owned()
        ]
    );
}

#[test]
fn every_format_prints_byte_for_byte_like_sops() {
    let keys = pgp_keys();
    assert_eq!(
        decrypt("format.enc.yaml", &keys).expect("yaml"),
        "foo: bar\n"
    );
    assert_eq!(
        decrypt("format.enc.json", &keys).expect("json"),
        "{\n\t\"foo\": \"bar\"\n}\n"
    );
    assert_eq!(
        decrypt("format.enc.env", &keys).expect("dotenv"),
        "foo = bar\n"
    );
    assert_eq!(
        decrypt("format.enc.ini", &keys).expect("ini"),
        "[foo]\nbar = baz\n"
    );
    assert_eq!(
        decrypt("format-2.enc.ini", &keys).expect("ini"),
        "[foo]\nbar = baz\n"
    );
}

#[test]
fn a_file_for_two_pgp_recipients_decrypts() {
    let out = decrypt("multiple_keys.yaml", &pgp_keys()).expect("decrypts");
    assert_eq!(out, "message: hello\n");
}

#[test]
fn a_file_without_mac_is_refused() {
    let err = decrypt("no_mac.yaml", &pgp_keys()).expect_err("no MAC");
    assert!(
        matches!(err, Error::MacMissing | Error::MacMismatch),
        "{err:?}"
    );
    assert!(!err.to_string().contains("t00m4nys3cr3tz"));
}

#[test]
fn binary_files_decrypt_to_their_raw_bytes_with_age() {
    let keys = Keys::from_texts(&[&data("age-keys.txt")]).expect("age identities");
    let out =
        decrypt_file("age-example.txt", &data("age-example.txt"), None, &keys).expect("decrypts");
    assert_eq!(out, data("age-example.expected"));
    let err = decrypt("format.enc.yaml", &keys).expect_err("age keys cannot open a pgp file");
    assert!(
        err.to_string()
            .contains("FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4"),
        "{err}"
    );
}
