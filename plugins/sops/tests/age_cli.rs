//! Decrypts sops files assembled from pieces whose data key was wrapped by the real `age` tool.

mod common;

use std::fmt::Write as _;

use common::{LASTMODIFIED, Sealer, age_keygen, age_wrap, indent};
use kiln_plugin_sops::{Error, Format, Keys, decrypt_file, decrypt_resource, is_encrypted};

struct Fixture {
    sealer: Sealer,
    identity: String,
    recipient: String,
    armored: String,
}

fn fixture(seed: u8) -> Fixture {
    let sealer = Sealer::new(seed);
    let (identity, recipient) = age_keygen();
    let armored = age_wrap(&sealer.data_key, &recipient);
    Fixture {
        sealer,
        identity,
        recipient,
        armored,
    }
}

fn keys(identity: &str) -> Keys {
    Keys::from_texts(&[identity.as_bytes()]).expect("identity parses")
}

/// A YAML file with every value type, a comment, a multi-line string, a list and a clear value.
fn yaml_file(f: &mut Fixture, mac_pieces: Option<&[&str]>) -> String {
    let s = &mut f.sealer;
    let lines = [
        "# top comment".to_owned(),
        format!("name: {}", s.enc("alice", "name:", "str")),
        format!("count: {}", s.enc("42", "count:", "int")),
        format!("ratio: {}", s.enc("0.5", "ratio:", "float")),
        format!("enabled: {}", s.enc("True", "enabled:", "bool")),
        "empty: \"\"".to_owned(),
        "nested:".to_owned(),
        format!("    #{}", s.enc(" inner comment", "nested:", "comment")),
        format!("    key: {}", s.enc("line1\nline2\n", "nested:key:", "str")),
        "list:".to_owned(),
        format!("    - {}", s.enc("a", "list:", "str")),
        format!("    - {}", s.enc("7", "list:", "int")),
        "public_unencrypted: visible".to_owned(),
    ];
    let default = [
        "alice",
        "42",
        "0.5",
        "True",
        "",
        "line1\nline2\n",
        "a",
        "7",
        "visible",
    ];
    let mac = s.mac(mac_pieces.unwrap_or(&default), false);
    let mut out = String::new();
    for line in lines {
        writeln!(out, "{line}").expect("write to a string");
    }
    writeln!(out, "sops:\n    age:").expect("write to a string");
    writeln!(
        out,
        "        - recipient: {}\n          enc: |",
        f.recipient
    )
    .expect("write");
    out.push_str(&indent(&f.armored, 12));
    writeln!(out, "    lastmodified: \"{LASTMODIFIED}\"\n    mac: {mac}").expect("write");
    out.push_str("    unencrypted_suffix: _unencrypted\n    version: 3.9.0\n");
    out
}

const YAML_PLAIN: &str = "# top comment
name: alice
count: 42
ratio: 0.5
enabled: true
empty: \"\"
nested:
    # inner comment
    key: |
        line1
        line2
list:
    - a
    - 7
public_unencrypted: visible
";

#[test]
fn yaml_round_trips_every_type_with_an_age_wrapped_key() {
    let mut f = fixture(1);
    let file = yaml_file(&mut f, None);
    let out =
        decrypt_file("secret.yaml", file.as_bytes(), None, &keys(&f.identity)).expect("decrypts");
    assert_eq!(String::from_utf8(out).expect("utf-8"), YAML_PLAIN);
}

#[test]
fn wrong_age_key_names_the_recipient_and_no_plaintext() {
    let mut f = fixture(2);
    let file = yaml_file(&mut f, None);
    let (other, _) = age_keygen();
    let err = decrypt_file("s.yaml", file.as_bytes(), None, &keys(&other)).expect_err("wrong key");
    assert!(matches!(err, Error::WrongKeys { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(&f.recipient), "{msg}");
    assert!(
        !msg.contains("alice") && !msg.contains("AGE-SECRET-KEY"),
        "{msg}"
    );
}

#[test]
fn missing_key_lists_the_needed_recipients() {
    let mut f = fixture(3);
    let file = yaml_file(&mut f, None);
    let err = decrypt_file("s.yaml", file.as_bytes(), None, &Keys::new()).expect_err("no key");
    assert!(matches!(err, Error::NoKeys { .. }), "{err:?}");
    assert!(err.to_string().contains(&f.recipient));
}

#[test]
fn tampered_value_is_an_authentication_error() {
    let mut f = fixture(4);
    let file = yaml_file(&mut f, None);
    // swap two ciphertexts: each fails its own AAD check
    let tampered = file.replacen(
        "name: ENC[AES256_GCM,data:",
        "name: ENC[AES256_GCM,data:AAAA",
        1,
    );
    let err = decrypt_file("s.yaml", tampered.as_bytes(), None, &keys(&f.identity))
        .expect_err("tampered");
    assert!(
        matches!(&err, Error::Value { path, .. } if path == "name"),
        "{err:?}"
    );
}

#[test]
fn renamed_key_fails_the_additional_data_check() {
    let mut f = fixture(5);
    let file = yaml_file(&mut f, None).replace("\nratio:", "\nrate:");
    let err =
        decrypt_file("s.yaml", file.as_bytes(), None, &keys(&f.identity)).expect_err("renamed");
    assert!(
        matches!(&err, Error::Value { path, .. } if path == "rate"),
        "{err:?}"
    );
}

#[test]
fn edited_clear_value_is_a_mac_mismatch() {
    let mut f = fixture(6);
    let file = yaml_file(&mut f, None).replace("visible", "visible!");
    let err = decrypt_file("s.yaml", file.as_bytes(), None, &keys(&f.identity)).expect_err("mac");
    assert!(matches!(err, Error::MacMismatch), "{err:?}");
}

#[test]
fn a_wrong_mac_and_a_missing_mac_are_refused() {
    let mut f = fixture(7);
    let file = yaml_file(&mut f, Some(&["something", "else"]));
    let err = decrypt_file("s.yaml", file.as_bytes(), None, &keys(&f.identity)).expect_err("mac");
    assert!(matches!(err, Error::MacMismatch), "{err:?}");
    let mut no_mac = String::new();
    for line in file.lines().filter(|l| !l.trim_start().starts_with("mac:")) {
        writeln!(no_mac, "{line}").expect("write to a string");
    }
    let err =
        decrypt_file("s.yaml", no_mac.as_bytes(), None, &keys(&f.identity)).expect_err("no mac");
    assert!(matches!(err, Error::MacMissing), "{err:?}");
}

#[test]
fn unknown_version_truncated_and_plain_files_are_refused() {
    let mut f = fixture(8);
    let file = yaml_file(&mut f, None);
    let k = keys(&f.identity);
    let v9 = file.replace("version: 3.9.0", "version: 9.0.0");
    assert!(matches!(
        decrypt_file("s.yaml", v9.as_bytes(), None, &k),
        Err(Error::UnsupportedVersion(_))
    ));
    let truncated = &file[..file.find("sops:").expect("has metadata")];
    assert!(matches!(
        decrypt_file("s.yaml", truncated.as_bytes(), None, &k),
        Err(Error::NotEncrypted)
    ));
    let cut = &file[..file.len() / 3];
    assert!(decrypt_file("s.yaml", cut.as_bytes(), None, &k).is_err());
    assert!(matches!(
        decrypt_file("s.json", b"{\"a\": 1}", None, &k),
        Err(Error::NotEncrypted)
    ));
    let unknown = file.replacen("ENC[AES256_GCM,", "ENC[CHACHA,", 1);
    let err = decrypt_file("s.yaml", unknown.as_bytes(), None, &k).expect_err("cipher");
    assert!(err.to_string().contains("unknown cipher"), "{err}");
}

#[test]
fn json_dotenv_and_ini_print_like_sops() {
    let mut fx = fixture(9);
    let sealer = &mut fx.sealer;
    let first = sealer.enc("x<y", "a:", "str");
    let number = sealer.enc("1.5", "b:c:", "float");
    let mac = sealer.mac(&["x<y", "1.5", "1"], false);
    let armored = serde_json::to_string(&fx.armored).expect("string");
    let json = format!(
        "{{\"a\": \"{first}\", \"b\": {{\"c\": \"{number}\"}}, \"d_unencrypted\": [1], \"e\": {{}}, \"sops\": {{\"age\": [{{\"recipient\": \"{}\", \"enc\": {armored}}}], \"lastmodified\": \"{LASTMODIFIED}\", \"mac\": \"{mac}\", \"version\": \"3.9.0\"}}}}",
        fx.recipient
    );
    let key_set = keys(&fx.identity);
    let out = decrypt_file("f.json", json.as_bytes(), None, &key_set).expect("json");
    assert_eq!(
        String::from_utf8(out).expect("utf-8"),
        "{\n\t\"a\": \"x\\u003cy\",\n\t\"b\": {\n\t\t\"c\": 1.5\n\t},\n\t\"d_unencrypted\": [\n\t\t1\n\t],\n\t\"e\": {}\n}\n"
    );

    let flat_enc = fx.armored.replace('\n', "\\n");
    let value = fx.sealer.enc("hello world", "GREETING:", "str");
    let comment = fx.sealer.enc(" a comment", ":", "comment");
    let mac = fx.sealer.mac(&["hello world"], false);
    let env = format!(
        "#{comment}\nGREETING={value}\nsops_age__list_0__map_enc={flat_enc}\nsops_age__list_0__map_recipient={}\nsops_lastmodified={LASTMODIFIED}\nsops_mac={mac}\nsops_version=3.9.0\n",
        fx.recipient
    );
    let out = decrypt_file("f.env", env.as_bytes(), None, &key_set).expect("dotenv");
    assert_eq!(out, b"# a comment\nGREETING=hello world\n");

    let v1 = fx.sealer.enc("one", "app:first:", "str");
    let v2 = fx.sealer.enc("two;three", "app:second_key:", "str");
    let mac = fx.sealer.mac(&["one", "two;three"], false);
    let ini = format!(
        "[app]\nfirst = {v1}\nsecond_key = {v2}\n\n[sops]\nage__list_0__map_enc = {flat_enc}\nage__list_0__map_recipient = {}\nlastmodified = {LASTMODIFIED}\nmac = {mac}\nversion = 3.9.0\n",
        fx.recipient
    );
    let out = decrypt_file("f.ini", ini.as_bytes(), Some(Format::Ini), &key_set).expect("ini");
    assert_eq!(
        String::from_utf8(out).expect("utf-8"),
        "[app]\nfirst      = one\nsecond_key = `two;three`\n"
    );
}

#[test]
fn encrypted_regex_and_mac_only_encrypted_are_honoured() {
    let mut f = fixture(10);
    let s = &mut f.sealer;
    let pw = s.enc("hunter2", "data:password:", "str");
    let mac = s.mac(&["hunter2"], true);
    let doc = format!(
        "kind: Secret\nmetadata:\n    name: db\ndata:\n    password: {pw}\ntype: Opaque\nsops:\n    age:\n        - recipient: {}\n          enc: |\n{}    lastmodified: \"{LASTMODIFIED}\"\n    mac: {mac}\n    encrypted_regex: ^(data|stringData)$\n    mac_only_encrypted: true\n    version: 3.9.0\n",
        f.recipient,
        indent(&f.armored, 12)
    );
    let k = keys(&f.identity);
    let out = decrypt_file("secret.yaml", doc.as_bytes(), None, &k).expect("decrypts");
    assert_eq!(
        String::from_utf8(out).expect("utf-8"),
        "kind: Secret\nmetadata:\n    name: db\ndata:\n    password: hunter2\ntype: Opaque\n"
    );
    // the same document as a parsed manifest, as Flux decrypts it
    let manifest: serde_json::Value = serde_json::json!({
        "kind": "Secret",
        "metadata": {"name": "db"},
        "data": {"password": pw},
        "type": "Opaque",
        "sops": {
            "age": [{"recipient": f.recipient, "enc": f.armored}],
            "lastmodified": LASTMODIFIED,
            "mac": mac,
            "encrypted_regex": "^(data|stringData)$",
            "mac_only_encrypted": true,
            "version": "3.9.0",
        },
    });
    assert!(is_encrypted(&manifest));
    let plain = decrypt_resource(&manifest, &k).expect("decrypts");
    assert_eq!(
        plain,
        serde_json::json!({"kind": "Secret", "metadata": {"name": "db"}, "data": {"password": "hunter2"}, "type": "Opaque"})
    );
    assert!(!is_encrypted(&plain));
}

#[test]
fn encrypted_comment_regex_marks_the_next_value() {
    let mut f = fixture(11);
    let secret = f.sealer.enc("hunter2", "secret:", "str");
    let mac = f.sealer.mac(&["hunter2", "visible"], false);
    let doc = format!(
        "# sops:enc\nsecret: {secret}\nplain: visible\nsops:\n    age:\n        - recipient: {}\n          enc: |\n{}    lastmodified: \"{LASTMODIFIED}\"\n    mac: {mac}\n    encrypted_comment_regex: sops:enc\n    version: 3.9.0\n",
        f.recipient,
        indent(&f.armored, 12)
    );
    let out = decrypt_file("c.yaml", doc.as_bytes(), None, &keys(&f.identity)).expect("decrypts");
    assert_eq!(
        String::from_utf8(out).expect("utf-8"),
        "# sops:enc\nsecret: hunter2\nplain: visible\n"
    );
}

/// Multiplication in GF(2^8) with the AES polynomial, for splitting a key in the test.
fn gf_mul(a: u8, b: u8) -> u8 {
    let mut out = 0u8;
    for i in (0..8).rev() {
        out = if out & 0x80 != 0 {
            (out << 1) ^ 0x1b
        } else {
            out << 1
        };
        if (b >> i) & 1 == 1 {
            out ^= a;
        }
    }
    out
}

#[test]
fn shamir_key_groups_need_the_threshold() {
    let mut sealer = Sealer::new(12);
    let value = sealer.enc("split secret", "v:", "str");
    let mac = sealer.mac(&["split secret"], false);
    // a degree-1 polynomial per byte: part(x) = key ^ 0x5a·x, shares at x = 1 and x = 2
    let share = |x: u8| -> Vec<u8> {
        let mut p: Vec<u8> = sealer
            .data_key
            .iter()
            .map(|k| k ^ gf_mul(0x5a, x))
            .collect();
        p.push(x);
        p
    };
    let (id1, r1) = age_keygen();
    let (id2, r2) = age_keygen();
    let w1 = indent(&age_wrap(&share(1), &r1), 20);
    let w2 = indent(&age_wrap(&share(2), &r2), 20);
    let doc = format!(
        "v: {value}\nsops:\n    key_groups:\n        - age:\n            - recipient: {r1}\n              enc: |\n{w1}        - age:\n            - recipient: {r2}\n              enc: |\n{w2}    shamir_threshold: 2\n    lastmodified: \"{LASTMODIFIED}\"\n    mac: {mac}\n    version: 3.9.0\n"
    );
    let both = Keys::from_texts(&[id1.as_bytes(), id2.as_bytes()]).expect("identities");
    let out = decrypt_file("g.yaml", doc.as_bytes(), None, &both).expect("decrypts");
    assert_eq!(out, b"v: split secret\n");
    let err = decrypt_file("g.yaml", doc.as_bytes(), None, &keys(&id1)).expect_err("one part");
    assert!(matches!(err, Error::WrongKeys { .. }), "{err:?}");
}
