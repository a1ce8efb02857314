//! SOPS: `kiln decrypt`, automatic decryption in renders, and no plaintext at rest.

use std::path::Path;

use crate::util::{Dir, TestCommand};

#[path = "../../plugins/sops/tests/common/mod.rs"]
mod sealer;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../plugins/sops/tests/data");

fn data(name: &str) -> String {
    format!("{DATA}/{name}")
}

#[test]
fn decrypt_prints_the_file_in_its_own_format() {
    let out = TestCommand::new()
        .args([
            "decrypt",
            &data("age-example.txt"),
            "--key-file",
            &data("age-keys.txt"),
        ])
        .run();
    assert_eq!(
        out.success(),
        std::fs::read_to_string(data("age-example.expected")).unwrap()
    );
    let via_env = TestCommand::new()
        .env("SOPS_AGE_KEY_FILE", data("age-keys.txt"))
        .args(["decrypt", &data("age-example.txt")])
        .run();
    assert_eq!(via_env.success(), out.stdout);
    let pgp = TestCommand::new()
        .args([
            "decrypt",
            &data("format.enc.yaml"),
            "--key-file",
            &data("pgp-keys.asc"),
        ])
        .run();
    assert_eq!(
        pgp.success(),
        std::fs::read_to_string(data("format.yaml.expected")).unwrap()
    );
}

#[test]
fn decrypt_errors_are_clear_and_print_no_plaintext() {
    let expected = std::fs::read_to_string(data("age-example.expected")).unwrap();
    let (wrong, _) = sealer::age_keygen();
    let dir = Dir::new();
    dir.write("wrong.txt", &wrong)
        .write("plain.yaml", "a: 1\n")
        .copy(&data("age-example.txt"), "enc.txt");
    let text = std::fs::read_to_string(dir.path().join("enc.txt")).unwrap();
    dir.write("truncated.txt", &text[..text.len() / 2]);
    for (file, key, expect) in [
        ("enc.txt", Some("wrong.txt"), "age1"),
        ("enc.txt", None, "age1"),
        ("plain.yaml", Some("wrong.txt"), "sops"),
        ("truncated.txt", Some("wrong.txt"), ""),
    ] {
        let mut cmd = dir.kiln();
        cmd.env("HOME", dir.path()).args(["decrypt", file]);
        if let Some(key) = key {
            cmd.args(["--key-file", key]);
        }
        let run = cmd.run();
        let err = run.error();
        assert!(err.contains("error:"), "{file}: {err}");
        assert!(
            err.to_lowercase().contains(expect),
            "{file}: expected {expect:?} in {err}"
        );
        assert!(!err.contains(expected.trim()), "{file}: plaintext leaked");
    }
}

/// An app with a SOPS-encrypted Secret (data key wrapped by the real `age`).
pub(crate) fn encrypted_app(dir: &Dir) -> (String, &'static str) {
    let (identity, recipient) = sealer::age_keygen();
    let mut s = sealer::Sealer::new(42);
    let armored = sealer::age_wrap(&s.data_key, &recipient);
    let plain = "correct-horse-battery-staple";
    let pw = s.enc(plain, "stringData:password:", "str");
    let mac = s.mac(&[plain], true);
    dir.write(
        "app/secret.yaml",
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n    name: db\ntype: Opaque\nstringData:\n    password: {pw}\nsops:\n    age:\n        - recipient: {recipient}\n          enc: |\n{}    lastmodified: \"{}\"\n    mac: {mac}\n    encrypted_regex: ^(data|stringData)$\n    mac_only_encrypted: true\n    version: 3.9.0\n",
            sealer::indent(&armored, 12),
            sealer::LASTMODIFIED,
        ),
    )
    .write("app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\ndata:\n  a: b\n")
    .write("key.txt", &identity);
    (identity, plain)
}

fn scan(dir: &Path, needles: &[&str]) -> Vec<String> {
    let mut hits = Vec::new();
    for entry in walk(dir) {
        let bytes = std::fs::read(&entry).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        for n in needles {
            if text.contains(n) {
                hits.push(format!("{} contains {n:?}", entry.display()));
            }
        }
    }
    hits
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn a_render_decrypts_secrets_and_leaves_no_plaintext_at_rest() {
    let dir = Dir::new();
    let (identity, plain) = encrypted_app(&dir);
    let cache = dir.path().join("cache");
    let key_line = identity
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .unwrap()
        .to_owned();
    for _ in 0..2 {
        let run = dir
            .kiln()
            .env("KILN_CACHE_DIR", &cache)
            .env("KILN_LOG", "kiln=trace")
            .args(["render", "app", "--key-file", "key.txt"])
            .run();
        let docs = run.docs();
        let secret = docs
            .iter()
            .find(|d| d["kind"] == "Secret")
            .expect("the secret is rendered");
        assert_eq!(secret["stringData"]["password"], plain);
        assert!(secret.get("sops").is_none());
        assert!(
            !run.stderr.contains(plain),
            "plaintext in the log:\n{}",
            run.stderr
        );
        assert!(!run.stderr.contains(&key_line), "key in the log");
    }
    let hits = scan(&cache, &[plain, &key_line]);
    assert!(hits.is_empty(), "found at rest: {hits:?}");
}

#[test]
fn without_any_key_the_ciphertext_is_kept_as_kustomize_does_and_a_wrong_key_names_the_recipients() {
    let dir = Dir::new();
    let (_, plain) = encrypted_app(&dir);
    let run = dir
        .kiln()
        .env("HOME", dir.path())
        .env("KILN_CACHE_DIR", dir.path().join("cache"))
        .args(["render", "app"])
        .run();
    let out = run.success().to_owned();
    let docs = run.docs();
    let secret = docs
        .iter()
        .find(|d| d["kind"] == "Secret")
        .expect("the secret is rendered");
    assert!(
        secret["stringData"]["password"]
            .as_str()
            .is_some_and(|v| v.starts_with("ENC[")),
        "{out}"
    );
    assert!(secret.get("sops").is_some(), "kept whole: {out}");
    assert!(!out.contains(plain));
    assert!(
        run.stderr.contains("still encrypted") && run.stderr.contains("--key-file"),
        "warns: {}",
        run.stderr
    );

    let (other, _) = sealer::age_keygen();
    dir.write("other.txt", &other);
    let wrong = dir
        .kiln()
        .env("HOME", dir.path())
        .env("KILN_CACHE_DIR", dir.path().join("cache"))
        .args(["render", "app", "--key-file", "other.txt"])
        .run();
    let err = wrong.error();
    assert!(err.contains("step `sops` (plugin `sops`)"), "{err}");
    assert!(err.contains("age1"), "names the age recipient: {err}");
    assert!(err.contains("--key-file"), "{err}");
}

#[test]
fn generator_sources_are_decrypted_before_the_build_and_never_stored() {
    let dir = Dir::new();
    let mut f = sealer::files::fixture(7);
    let pairs = [("USER", "admin"), ("PASSWORD", "tr0ub4dor&3")];
    let kustomization = "secretGenerator:\n- name: db\n  envs:\n  - db.env\n";
    dir.write("enc/db.env", sealer::files::dotenv_file(&mut f, &pairs))
        .write("enc/kustomization.yaml", kustomization)
        .write("plain/db.env", "USER=admin\nPASSWORD=tr0ub4dor&3\n")
        .write("plain/kustomization.yaml", kustomization)
        .write("key.txt", &f.identity);
    let cache = dir.path().join("cache");
    // The plaintext twin renders into a cache of its own.
    let render = |app: &str, key: bool| {
        let mut c = dir.kiln();
        c.env("KILN_CACHE_DIR", cache.join(app))
            .env("HOME", dir.path())
            .args(["render", app]);
        if key {
            c.args(["--key-file", "key.txt"]);
        }
        c.run()
    };
    let expected = render("plain", false).success().to_owned();
    assert!(expected.contains("name: db-"), "{expected}");
    let decrypted = render("enc", true);
    assert_eq!(
        decrypted.success(),
        expected,
        "the same Secret, hash suffix included, as kustomize builds from the plaintext"
    );
    assert!(!decrypted.stdout.contains("DecryptedFile"));

    // Without any key the build reads the encrypted file as it is, as
    // kustomize does (and warns); with a key that does not fit, it fails.
    let missing = render("enc", false);
    assert!(!missing.success().contains("dHIwdWI0ZG9yJjM="));
    assert!(
        missing
            .stderr
            .contains("`enc/db.env` rendered still encrypted"),
        "{}",
        missing.stderr
    );
    dir.write("other.txt", &sealer::age_keygen().0);
    let mut wrong = dir.kiln();
    wrong
        .env("KILN_CACHE_DIR", cache.join("enc"))
        .env("HOME", dir.path())
        .args(["render", "enc", "--key-file", "other.txt"]);
    let wrong = wrong.run();
    let err = wrong.error();
    assert!(err.contains("db.env"), "names the file: {err}");
    assert!(err.contains(&f.recipient), "names the recipient: {err}");

    let hits = scan(&cache.join("enc"), &["tr0ub4dor&3", "dHIwdWI0ZG9yJjM="]);
    assert!(hits.is_empty(), "found at rest: {hits:?}");
}

#[test]
fn a_secret_whose_data_value_is_a_whole_sops_file_is_decrypted_after_the_build() {
    use base64::Engine as _;
    let dir = Dir::new();
    let mut f = sealer::files::fixture(11);
    let env = sealer::files::dotenv_file(&mut f, &[("TOKEN", "s3cr3t-token")]);
    let b64 = base64::engine::general_purpose::STANDARD.encode(env.as_bytes());
    dir.write(
        "app/secret.yaml",
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\ndata:\n  creds.env: {b64}\n"
        ),
    )
    .write("key.txt", &f.identity);
    let run = dir
        .kiln()
        .env("KILN_CACHE_DIR", dir.path().join("cache"))
        .args(["render", "app", "--key-file", "key.txt"])
        .run();
    let docs = run.docs();
    let value = docs[0]["data"]["creds.env"].as_str().expect("a data value");
    let plain = base64::engine::general_purpose::STANDARD
        .decode(value)
        .expect("base64");
    assert_eq!(String::from_utf8_lossy(&plain), "TOKEN=s3cr3t-token\n");
}
