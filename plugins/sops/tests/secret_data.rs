//! Secrets whose `data` values are whole sops files (generated from encrypted files that were not
//! decrypted first) and the `decrypt: disabled` annotation, as Flux handles them after a build.

mod common;

use base64::Engine as _;
use common::files::{data, dotenv_file, fixture, yaml_file};
use kiln_plugin_sops::Keys;
use kiln_plugin_sops::plugin::decrypt_resources;
use serde_json::json;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Base64 split into 70-character lines, as kustomize writes long generated values.
fn wrapped(bytes: &[u8]) -> String {
    let text = b64(bytes);
    let lines: Vec<&str> = text
        .as_bytes()
        .chunks(70)
        .map(|c| std::str::from_utf8(c).expect("base64 is ascii"))
        .collect();
    lines.join("\n")
}

#[test]
fn encrypted_data_values_are_decrypted_in_the_format_of_their_key() {
    let mut f = fixture(41);
    let env = dotenv_file(&mut f, &[("TOKEN", "t0k3n")]);
    let yaml = yaml_file(&mut f);
    let secret = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "creds-5f7t9kc8m2"},
        "data": {
            "app.env": wrapped(env.as_bytes()),
            "config.yaml": b64(yaml.as_bytes()),
            "config.json": b64(yaml.as_bytes()),
            "readme": wrapped(&data("age-example.txt")),
            "plain": b64(b"not encrypted"),
            "odd": "not base64!",
        },
    });
    let keys = Keys::from_texts(&[f.identity.as_bytes(), &data("age-keys.txt")]).expect("keys");
    let out = decrypt_resources(vec![secret], &keys).expect("decrypts");
    let got = &out[0]["data"];
    assert_eq!(got["app.env"], b64(b"TOKEN=t0k3n\n"));
    assert_eq!(
        got["config.yaml"],
        b64(b"db:\n    user: admin\n    port: 5432\n")
    );
    assert_eq!(
        got["config.json"],
        b64(b"{\n\t\"db\": {\n\t\t\"user\": \"admin\",\n\t\t\"port\": 5432\n\t}\n}\n")
    );
    assert_eq!(got["readme"], b64(&data("age-example.expected")));
    assert_eq!(got["plain"], b64(b"not encrypted"));
    assert_eq!(got["odd"], "not base64!");
    assert_eq!(out[0]["metadata"]["name"], "creds-5f7t9kc8m2");
}

#[test]
fn failures_name_the_secret_and_the_key() {
    let mut f = fixture(42);
    let env = dotenv_file(&mut f, &[("TOKEN", "t0k3n")]);
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "creds", "namespace": "prod"},
        "data": {"app.env": b64(env.as_bytes())},
    });
    let none = decrypt_resources(vec![secret.clone()], &Keys::new()).expect_err("no keys");
    assert!(
        none.message.contains("Secret prod/creds"),
        "{}",
        none.message
    );
    assert!(none.hint.is_some());
    let (other, _) = common::age_keygen();
    let wrong = Keys::from_texts(&[other.as_bytes()]).expect("keys");
    let err = decrypt_resources(vec![secret], &wrong).expect_err("wrong key");
    assert!(err.message.contains("Secret prod/creds"), "{}", err.message);
    assert!(err.message.contains("`data.app.env`"), "{}", err.message);
    assert!(err.message.contains(&f.recipient), "{}", err.message);
    assert!(!err.message.contains("t0k3n"));
}

#[test]
fn a_resource_with_decryption_disabled_passes_through() {
    let mut f = fixture(43);
    let env = dotenv_file(&mut f, &[("TOKEN", "t0k3n")]);
    let disabled = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "raw", "annotations": {"kustomize.toolkit.fluxcd.io/decrypt": "Disabled"}},
        "data": {"app.env": b64(env.as_bytes())},
        "sops": {"mac": "ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]", "version": "3.9.0"},
    });
    let out = decrypt_resources(vec![disabled.clone()], &Keys::new()).expect("passes");
    assert_eq!(out, vec![disabled]);
    let config_map = json!({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
        "data": {"app.env": b64(env.as_bytes())},
    });
    let out = decrypt_resources(vec![config_map.clone()], &Keys::new()).expect("passes");
    assert_eq!(
        out,
        vec![config_map],
        "only Secrets' data values are decrypted, as Flux"
    );
}
