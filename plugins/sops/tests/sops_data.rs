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

#[test]
fn the_configured_file_becomes_a_decrypted_file_resource() {
    use base64::Engine as _;
    use kiln_plugin_sops::plugin::{Config, decrypt_configured_file};
    let root = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(root.path().join("secrets")).expect("mkdir");
    std::fs::write(root.path().join("secrets/app.env"), data("format.enc.env")).expect("write");
    let config = Config {
        file: Some("secrets/app.env".into()),
        format: None,
        ..Config::default()
    };
    let resource = decrypt_configured_file(root.path(), &config, &pgp_keys()).expect("decrypts");
    assert_eq!(resource["kind"], "DecryptedFile");
    assert_eq!(resource["metadata"]["name"], "secrets/app.env");
    assert_eq!(resource["format"], "dotenv");
    let content = base64::engine::general_purpose::STANDARD
        .decode(resource["content"].as_str().expect("base64 text"))
        .expect("valid base64");
    assert_eq!(content, b"foo = bar\n");

    let missing = Config {
        file: Some("secrets/none.yaml".into()),
        format: None,
        ..Config::default()
    };
    let err = decrypt_configured_file(root.path(), &missing, &pgp_keys()).expect_err("missing");
    assert!(err.message.contains("secrets/none.yaml"), "{}", err.message);
    let unknown = Config {
        file: Some("secrets/app.env".into()),
        format: Some("toml".into()),
        ..Config::default()
    };
    assert!(decrypt_configured_file(root.path(), &unknown, &pgp_keys()).is_err());
    let no_keys = decrypt_configured_file(root.path(), &config, &Keys::new()).expect_err("no keys");
    assert!(
        no_keys
            .hint
            .as_deref()
            .is_some_and(|h| h.contains("SOPS_AGE_KEY_FILE"))
    );
    assert!(
        no_keys
            .message
            .contains("FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4")
    );
}
