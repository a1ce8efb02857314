//! `DecryptedFile` inputs: a layer of decrypted files over the source root.

use std::path::Path;

use base64::Engine as _;
use kiln_sdk::{ErrorKind, Value};
use serde_json::json;

use crate::{build, build_with_inputs};

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("a file has a parent")).expect("create dirs");
    std::fs::write(path, text).expect("write file");
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn decrypted(path: &str, plain: &str) -> Value {
    json!({
        "apiVersion": "kiln.dev/v1alpha1",
        "kind": "DecryptedFile",
        "metadata": {"name": path},
        "path": path,
        "data": b64(plain.as_bytes()),
    })
}

/// What an encrypted file looks like on disk: nothing a build should see.
fn sealed(name: &str) -> String {
    format!(
        "{name}=ENC[AES256_GCM,data:AAAA,iv:BBBB,tag:CCCC,type:str]\nsops_mac=ENC[AES256_GCM,data:DDDD,iv:EEEE,tag:FFFF,type:str]\nsops_version=3.9.0\n"
    )
}

const KUSTOMIZATION: &str = "resources:
- ../../bases/web
namespace: prod
secretGenerator:
- name: creds
  envs:
  - secrets.env
  files:
  - tls.key
  - config.yaml=settings.enc
configMapGenerator:
- name: settings
  files:
  - app.ini
patches:
- path: patch.yaml
";

const PLAIN: [(&str, &str); 6] = [
    ("apps/web/secrets.env", "USER=admin\nPASSWORD=s3cr=t\n"),
    (
        "apps/web/tls.key",
        "-----BEGIN KEY-----\nabc\n-----END KEY-----\n",
    ),
    ("apps/web/settings.enc", "db:\n    port: 5432\n"),
    ("apps/web/app.ini", "[app]\nmode = fast\n"),
    (
        "apps/web/patch.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: base-secret\nstringData:\n  token: from-patch\n",
    ),
    ("bases/web/env.env", "REGION=eu\n"),
];

/// The same tree twice: once with the plaintext files on disk (what
/// kustomize builds after Flux decrypted them), once with encrypted files
/// on disk and the plaintext given as `DecryptedFile` documents.
fn trees() -> (tempfile::TempDir, tempfile::TempDir, Vec<Value>) {
    let plain = tempfile::tempdir().expect("temp dir");
    let sealed_dir = tempfile::tempdir().expect("temp dir");
    let base =
        "resources:\n- secret.yaml\nconfigMapGenerator:\n- name: region\n  envs:\n  - env.env\n";
    let secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: base-secret\nstringData:\n  token: base\n";
    for root in [plain.path(), sealed_dir.path()] {
        write(root, "apps/web/kustomization.yaml", KUSTOMIZATION);
        write(root, "bases/web/kustomization.yaml", base);
        write(root, "bases/web/secret.yaml", secret);
    }
    let mut docs = Vec::new();
    for (path, text) in PLAIN {
        write(plain.path(), path, text);
        write(sealed_dir.path(), path, &sealed(path));
        docs.push(decrypted(path, text));
    }
    (plain, sealed_dir, docs)
}

fn find<'a>(docs: &'a [Value], kind: &str, prefix: &str) -> &'a Value {
    docs.iter()
        .find(|d| {
            d["kind"] == kind
                && d["metadata"]["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with(prefix))
        })
        .unwrap_or_else(|| panic!("no {kind} {prefix}* in {docs:#?}"))
}

#[test]
fn generators_patches_and_bases_read_the_decrypted_files() {
    let (plain, sealed_dir, docs) = trees();
    let expected = build(plain.path(), &plain.path().join("apps/web")).expect("plain builds");
    let got = build_with_inputs(sealed_dir.path(), &sealed_dir.path().join("apps/web"), docs)
        .expect("builds over the layer");
    assert_eq!(
        got, expected,
        "same output as kustomize on the decrypted files"
    );

    let creds = find(&got, "Secret", "creds-");
    let data = &creds["data"];
    assert_eq!(data["USER"], b64(b"admin"));
    assert_eq!(data["PASSWORD"], b64(b"s3cr=t"));
    assert_eq!(data["config.yaml"], b64(b"db:\n    port: 5432\n"));
    assert_eq!(
        find(&got, "ConfigMap", "settings-")["data"]["app.ini"],
        "[app]\nmode = fast\n"
    );
    assert_eq!(find(&got, "ConfigMap", "region-")["data"]["REGION"], "eu");
    assert_eq!(
        find(&got, "Secret", "base-secret")["stringData"]["token"],
        "from-patch"
    );
    assert!(got.iter().all(|d| d["kind"] != "DecryptedFile"));

    // a file left out of the layer is read from disk, ciphertext and all,
    // and the content hash follows it
    let (_, sealed_dir, mut docs) = trees();
    docs.retain(|d| d["path"] != "apps/web/tls.key");
    let partial = build_with_inputs(sealed_dir.path(), &sealed_dir.path().join("apps/web"), docs)
        .expect("builds");
    let partial_creds = find(&partial, "Secret", "creds-");
    let wrapped: String = partial_creds["data"]["tls.key"]
        .as_str()
        .expect("base64 text")
        .split_whitespace()
        .collect();
    assert_eq!(wrapped, b64(sealed("apps/web/tls.key").as_bytes()));
    assert_ne!(partial_creds["metadata"]["name"], creds["metadata"]["name"]);
}

#[test]
fn only_the_listed_paths_are_replaced_and_other_inputs_pass_through() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(
        root,
        "app/kustomization.yaml",
        "secretGenerator:\n- name: s\n  envs:\n  - a.env\n  - b.env\n",
    );
    write(root, "app/a.env", "A=disk\n");
    write(root, "app/b.env", "B=disk\n");
    let input = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "in"}});
    let docs = vec![
        input.clone(),
        decrypted("./app//a.env", "A=plain\n"),
        decrypted("other/b.env", "B=plain\n"),
    ];
    let out = build_with_inputs(root, &root.join("app"), docs).expect("builds");
    assert_eq!(out.len(), 2, "{out:#?}");
    assert_eq!(out[0], input);
    assert_eq!(out[1]["data"]["A"], b64(b"plain"));
    assert_eq!(out[1]["data"]["B"], b64(b"disk"));
}

#[test]
fn a_decrypted_file_may_stand_for_a_file_missing_on_disk() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(
        root,
        "app/kustomization.yaml",
        "resources:\n- secret.yaml\n",
    );
    let secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  k: v\n";
    let out = build_with_inputs(
        root,
        &root.join("app"),
        vec![decrypted("app/secret.yaml", secret)],
    )
    .expect("builds");
    assert_eq!(out[0]["stringData"]["k"], "v");
}

#[test]
fn bad_decrypted_file_documents_are_refused_with_their_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(root, "app/kustomization.yaml", "resources: []\n");
    let run =
        |doc: Value| build_with_inputs(root, &root.join("app"), vec![doc]).expect_err("refused");
    let outside = run(decrypted("../etc/passwd", "x"));
    assert_eq!(outside.kind, ErrorKind::BadInput);
    assert!(
        outside.message.contains("../etc/passwd"),
        "{}",
        outside.message
    );
    let absolute = run(decrypted("/etc/passwd", "x"));
    assert!(
        absolute.message.contains("/etc/passwd"),
        "{}",
        absolute.message
    );
    let mut bad = decrypted("app/a.env", "x");
    bad["data"] = json!("not base64!");
    let err = run(bad);
    assert!(
        err.message.contains("app/a.env") && err.message.contains("base64"),
        "{}",
        err.message
    );
    let mut no_path = decrypted("app/a.env", "x");
    no_path.as_object_mut().expect("an object").remove("path");
    assert!(run(no_path).message.contains("`path`"));
    let twice = build_with_inputs(
        root,
        &root.join("app"),
        vec![decrypted("app/a.env", "x"), decrypted("app/./a.env", "y")],
    )
    .expect_err("duplicate");
    assert!(twice.message.contains("app/./a.env"), "{}", twice.message);
}

/// An encrypted Secret manifest (sops `encrypted_regex: ^(data|stringData)$`)
/// under namespace, namePrefix and labels: the build changes its metadata and
/// leaves `data` and the `sops` block as they were, for the sops step after it
/// to decrypt (without the MAC, which such changes break, as Flux does).
#[test]
fn an_encrypted_secret_manifest_keeps_its_ciphertext_and_sops_block() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(
        root,
        "app/kustomization.yaml",
        "resources:\n- secret.enc.yaml\nnamespace: prod\nnamePrefix: p-\nlabels:\n- pairs:\n    team: a\n",
    );
    let enc = "ENC[AES256_GCM,data:Zm9v,iv:aXY=,tag:dGFn,type:str]";
    let manifest = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\ndata:\n  password: {enc}\nsops:\n  age:\n  - recipient: age1example\n    enc: |\n      -----BEGIN AGE ENCRYPTED FILE-----\n      x\n      -----END AGE ENCRYPTED FILE-----\n  lastmodified: \"2024-01-02T03:04:05Z\"\n  mac: {enc}\n  encrypted_regex: ^(data|stringData)$\n  version: 3.9.0\n"
    );
    write(root, "app/secret.enc.yaml", &manifest);
    let out = build(root, &root.join("app")).expect("builds");
    let original = kiln_sdk::yaml::parse_one(&manifest, "secret.enc.yaml").expect("yaml");
    let secret = &out[0];
    assert_eq!(secret["metadata"]["name"], "p-db");
    assert_eq!(secret["metadata"]["namespace"], "prod");
    assert_eq!(secret["metadata"]["labels"]["team"], "a");
    assert_eq!(secret["data"], original["data"]);
    assert_eq!(secret["sops"], original["sops"]);
}
