//! File mode (`files:`): encrypted generator sources become `DecryptedFile` documents; and
//! encrypted manifests transformed by a build still decrypt, as Flux decrypts them.

mod common;

use common::LASTMODIFIED;
use common::files::{data, dotenv_file, fixture, plaintext, write, yaml_file};
use kiln_plugin_sops::files::{FileEntry, decrypt_files, format_of, normalize};
use kiln_plugin_sops::plugin::{decrypt_resources, decrypt_with_files};
use kiln_plugin_sops::{Format, Keys, decrypt_file};
use serde_json::json;

#[test]
fn dotenv_binary_and_yaml_files_become_decrypted_file_documents() {
    let mut f = fixture(21);
    let root = tempfile::tempdir().expect("temp dir");
    let env = dotenv_file(&mut f, &[("USER", "admin"), ("PASSWORD", "s3cr=t")]);
    write(root.path(), "apps/web/secrets.env", env.as_bytes());
    write(
        root.path(),
        "apps/web/config.yaml",
        yaml_file(&mut f).as_bytes(),
    );
    write(root.path(), "apps/web/readme.txt", &data("age-example.txt"));
    let keys = Keys::from_texts(&[f.identity.as_bytes(), &data("age-keys.txt")]).expect("keys");
    let passthrough = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
    let entries: Vec<FileEntry> = serde_json::from_value(json!([
        "apps/web/secrets.env",
        "./apps/web//config.yaml",
        {"path": "apps/web/readme.txt"},
    ]))
    .expect("entries parse");

    let out = decrypt_with_files(root.path(), vec![passthrough.clone()], &entries, &keys)
        .expect("decrypts");
    assert_eq!(out.len(), 4);
    assert_eq!(out[0], passthrough, "input resources come first, unchanged");
    for (doc, path) in out[1..].iter().zip([
        "apps/web/secrets.env",
        "apps/web/config.yaml",
        "apps/web/readme.txt",
    ]) {
        assert_eq!(doc["apiVersion"], "kiln.dev/v1alpha1");
        assert_eq!(doc["kind"], "DecryptedFile");
        assert_eq!(doc["metadata"]["name"], path);
        assert_eq!(doc["path"], path);
    }
    assert_eq!(plaintext(&out[1]), b"USER=admin\nPASSWORD=s3cr=t\n");
    assert_eq!(
        plaintext(&out[2]),
        b"db:\n    user: admin\n    port: 5432\n"
    );
    assert_eq!(plaintext(&out[3]), data("age-example.expected"));
    // exactly what decrypting the file alone prints
    let alone = decrypt_file("secrets.env", env.as_bytes(), None, &keys).expect("decrypts");
    assert_eq!(plaintext(&out[1]), alone);
}

#[test]
fn errors_name_the_file() {
    let mut f = fixture(22);
    let root = tempfile::tempdir().expect("temp dir");
    write(
        root.path(),
        "app/a.env",
        dotenv_file(&mut f, &[("K", "v")]).as_bytes(),
    );
    write(root.path(), "app/plain.env", b"K=v\n");
    let keys = Keys::from_texts(&[f.identity.as_bytes()]).expect("keys");
    let run = |entries: serde_json::Value, keys: &Keys| {
        let entries: Vec<FileEntry> = serde_json::from_value(entries).expect("entries parse");
        decrypt_with_files(root.path(), Vec::new(), &entries, keys).expect_err("fails")
    };

    let missing = run(json!(["app/a.env", "app/none.env"]), &keys);
    assert!(
        missing.message.contains("app/none.env"),
        "{}",
        missing.message
    );
    let plain = run(json!(["app/plain.env"]), &keys);
    assert!(plain.message.contains("app/plain.env"), "{}", plain.message);
    assert!(
        plain.message.contains("no `sops` metadata"),
        "{}",
        plain.message
    );
    let no_key = run(json!(["app/a.env"]), &Keys::new());
    assert!(no_key.message.contains("app/a.env"), "{}", no_key.message);
    assert!(no_key.message.contains(&f.recipient), "{}", no_key.message);
    assert!(no_key.hint.is_some_and(|h| h.contains("--key-file")));
    let outside = run(json!(["../etc/passwd"]), &keys);
    assert!(
        outside.message.contains("../etc/passwd"),
        "{}",
        outside.message
    );
    let format = run(json!([{"path": "app/a.env", "format": "toml"}]), &keys);
    assert!(format.message.contains("toml"), "{}", format.message);
}

#[test]
fn paths_are_normalised_and_kept_inside_the_root() {
    assert_eq!(normalize("a/./b//c").as_deref(), Some("a/b/c"));
    assert_eq!(normalize("a/../b").as_deref(), Some("b"));
    assert_eq!(normalize("../a"), None);
    assert_eq!(normalize("/etc/passwd"), None);
    assert_eq!(normalize("."), None);
}

#[test]
fn a_binary_name_with_dotenv_or_yaml_content_is_read_in_that_format() {
    let mut f = fixture(23);
    let env = dotenv_file(&mut f, &[("TOKEN", "abc")]);
    assert_eq!(format_of("s.txt", env.as_bytes(), None), Format::Dotenv);
    let yaml = yaml_file(&mut f);
    assert_eq!(format_of("s.enc", yaml.as_bytes(), None), Format::Yaml);
    assert_eq!(
        format_of("s.bin", &data("age-example.txt"), None),
        Format::Binary
    );
    assert_eq!(format_of("s.env", yaml.as_bytes(), None), Format::Dotenv);
    assert_eq!(
        format_of("s.txt", env.as_bytes(), Some(Format::Binary)),
        Format::Binary
    );

    let root = tempfile::tempdir().expect("temp dir");
    write(root.path(), "secret-env.txt", env.as_bytes());
    let keys = Keys::from_texts(&[f.identity.as_bytes()]).expect("keys");
    let out = decrypt_files(
        root.path(),
        &[FileEntry::Path("secret-env.txt".into())],
        &keys,
    )
    .expect("decrypts");
    assert_eq!(plaintext(&out[0]), b"TOKEN=abc\n");
}

/// An encrypted Secret manifest (values under `data` encrypted, metadata in clear, MAC over every
/// value) after a build set its namespace, prefixed its name, added a label and sorted its keys.
#[test]
fn a_transformed_encrypted_secret_decrypts_without_its_mac_as_flux_does() {
    let mut f = fixture(24);
    let pw = f.sealer.enc("hunter2", "data:password:", "str");
    let mac = f
        .sealer
        .mac(&["v1", "Secret", "db", "hunter2", "Opaque"], false);
    let sops = json!({
        "age": [{"recipient": f.recipient, "enc": f.armored}],
        "lastmodified": LASTMODIFIED,
        "mac": mac,
        "encrypted_regex": "^(data|stringData)$",
        "version": "3.9.0",
    });
    let original = json!({
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
        "data": {"password": pw}, "type": "Opaque", "sops": sops,
    });
    let keys = Keys::from_texts(&[f.identity.as_bytes()]).expect("keys");
    // the fixture's MAC is right: the untouched manifest passes sops' own check
    let bytes = serde_json::to_vec(&original).expect("json");
    decrypt_file("s.json", &bytes, Some(Format::Json), &keys).expect("MAC verifies");

    let transformed = json!({
        "apiVersion": "v1",
        "data": {"password": pw},
        "kind": "Secret",
        "metadata": {"labels": {"team": "a"}, "name": "prod-db", "namespace": "prod"},
        "sops": sops,
        "type": "Opaque",
    });
    let bytes = serde_json::to_vec(&transformed).expect("json");
    let err = decrypt_file("s.json", &bytes, Some(Format::Json), &keys).expect_err("MAC differs");
    assert!(err.to_string().contains("MAC mismatch"), "{err}");

    let out = decrypt_resources(vec![transformed], &keys).expect("decrypts as Flux");
    assert_eq!(
        out,
        vec![json!({
            "apiVersion": "v1",
            "data": {"password": "hunter2"},
            "kind": "Secret",
            "metadata": {"labels": {"team": "a"}, "name": "prod-db", "namespace": "prod"},
            "type": "Opaque",
        })]
    );

    // a ciphertext moved to another key still fails: values are bound to their key path
    let moved = json!({
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
        "data": {"other": pw}, "sops": sops,
    });
    let err = decrypt_resources(vec![moved], &keys).expect_err("authenticated path");
    assert!(err.message.contains("Secret db"), "{}", err.message);
    assert!(err.message.contains("`data.other`"), "{}", err.message);
    assert!(
        err.message.contains("authentication failed"),
        "{}",
        err.message
    );
}
