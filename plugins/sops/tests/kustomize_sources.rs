//! `kustomization:` finds the encrypted files a kustomization tree reads, as Flux does before
//! `kustomize build`, and decrypts them like `files:`.

mod common;

use common::files::{data, dotenv_file, fixture, plaintext, write, yaml_file};
use kiln_plugin_sops::Keys;
use kiln_plugin_sops::files::FileEntry;
use kiln_plugin_sops::plugin::{Config, decrypt_with_files, file_entries};
use kiln_plugin_sops::sources::{has_sops_marker, kustomize_sources};

const APP: &str = "resources:
- ../../bases/web
- deploy.yaml
- https://example.com/remote
components:
- ../../components/extra
secretGenerator:
- name: creds
  envs:
  - secrets.env
  - plain.env
  - creds.txt
  files:
  - tls.key=tls.enc
  - config.yaml=settings.bin
  - missing.txt
  - /etc/passwd
configMapGenerator:
- name: settings
  files:
  - app.ini
patches:
- path: patch.enc.yaml
- patch: |-
    kind: Secret
";

const BASE: &str = "resources:
- ../web
secretGenerator:
- name: base
  env: base.env
";

const COMPONENT: &str = "apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
secretGenerator:
- name: extra
  files:
  - .dockerconfigjson=docker.enc
";

fn entry(path: &str, format: &str) -> FileEntry {
    FileEntry::WithFormat {
        path: path.into(),
        format: Some(format.into()),
    }
}

#[test]
fn generator_sources_and_patches_with_sops_metadata_are_found_through_the_tree() {
    let root = tempfile::tempdir().expect("temp dir");
    let r = root.path();
    let sealed_env = b"A=ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]\nsops_mac=ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]\n";
    let sealed_yaml = b"a: ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]\nsops:\n    mac: ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]\n";
    let sealed_json = b"{\n\t\"data\": \"ENC[x]\",\n\t\"sops\": {\n\t\t\"mac\": \"ENC[AES256_GCM,data:AA==]\"\n\t}\n}\n";
    let sealed_ini = b"[app]\nx = ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]\n\n[sops]\nmac = ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]\n";
    write(r, "apps/web/kustomization.yaml", APP.as_bytes());
    write(r, "apps/web/secrets.env", sealed_env);
    write(r, "apps/web/plain.env", b"A=b\n");
    write(r, "apps/web/creds.txt", sealed_env);
    write(r, "apps/web/tls.enc", sealed_json);
    write(r, "apps/web/settings.bin", sealed_yaml);
    write(r, "apps/web/app.ini", sealed_ini);
    write(r, "apps/web/patch.enc.yaml", sealed_yaml);
    write(r, "apps/web/deploy.yaml", b"kind: Deployment\n");
    write(r, "bases/web/kustomization.yaml", BASE.as_bytes());
    write(r, "bases/web/base.env", sealed_env);
    write(
        r,
        "components/extra/kustomization.yaml",
        COMPONENT.as_bytes(),
    );
    write(r, "components/extra/docker.enc", sealed_json);
    write(r, "apps/web/unused.env", sealed_env);

    let found = kustomize_sources(r, "apps/web").expect("walks");
    assert_eq!(
        found,
        vec![
            entry("apps/web/tls.enc", "binary"),
            entry("apps/web/settings.bin", "yaml"),
            entry("apps/web/secrets.env", "dotenv"),
            entry("apps/web/creds.txt", "dotenv"),
            entry("apps/web/app.ini", "ini"),
            entry("apps/web/patch.enc.yaml", "yaml"),
            entry("bases/web/base.env", "dotenv"),
            entry("components/extra/docker.enc", "json"),
        ]
    );
    assert!(kustomize_sources(r, "../outside").is_err());
    assert_eq!(
        kustomize_sources(r, "nowhere").expect("no kustomization"),
        []
    );
    write(r, "broken/kustomization.yaml", b"resources: [\n");
    let err = kustomize_sources(r, "broken").expect_err("unparsable");
    assert!(
        err.to_string().contains("broken/kustomization.yaml"),
        "{err}"
    );
}

#[test]
fn markers_follow_each_format() {
    assert!(has_sops_marker(b"x=1\nsops_mac=ENC[AES", None));
    assert!(has_sops_marker(
        b"x=1\nsops_mac=ENC[AES",
        Some(kiln_plugin_sops::Format::Dotenv)
    ));
    assert!(!has_sops_marker(
        b"x=1\nsops_mac=ENC[AES",
        Some(kiln_plugin_sops::Format::Yaml)
    ));
    assert!(!has_sops_marker(b"sops: is a word here\n", None));
}

#[test]
fn the_step_config_decrypts_listed_and_found_files_once() {
    let mut f = fixture(31);
    let root = tempfile::tempdir().expect("temp dir");
    let r = root.path();
    write(
        r,
        "apps/web/kustomization.yaml",
        b"secretGenerator:\n- name: s\n  envs:\n  - secrets.env\n  files:\n  - readme=readme.bin\n  - db.yaml\n",
    );
    let env = dotenv_file(&mut f, &[("TOKEN", "t0k3n")]);
    write(r, "apps/web/secrets.env", env.as_bytes());
    write(r, "apps/web/readme.bin", &data("age-example.txt"));
    write(r, "apps/web/db.yaml", yaml_file(&mut f).as_bytes());
    write(r, "other/extra.env", env.as_bytes());
    let config: Config = serde_json::from_value(serde_json::json!({
        "files": ["apps/web/./secrets.env", "other/extra.env"],
        "kustomization": ".",
    }))
    .expect("config parses");
    let entries = file_entries(r, "apps/web", &config).expect("entries");
    let paths: Vec<&str> = entries.iter().map(FileEntry::path).collect();
    assert_eq!(
        paths,
        [
            "apps/web/./secrets.env",
            "other/extra.env",
            "apps/web/readme.bin",
            "apps/web/db.yaml"
        ]
    );
    let keys = Keys::from_texts(&[f.identity.as_bytes(), &data("age-keys.txt")]).expect("keys");
    let out = decrypt_with_files(r, Vec::new(), &entries, &keys).expect("decrypts");
    assert_eq!(out.len(), 4);
    assert_eq!(out[0]["path"], "apps/web/secrets.env");
    assert_eq!(plaintext(&out[0]), b"TOKEN=t0k3n\n");
    assert_eq!(plaintext(&out[2]), data("age-example.expected"));
    assert_eq!(
        plaintext(&out[3]),
        b"db:\n    user: admin\n    port: 5432\n"
    );
}

#[test]
fn a_kustomization_at_the_source_root_is_walked() {
    let root = tempfile::tempdir().expect("temp dir");
    let r = root.path();
    write(
        r,
        "kustomization.yaml",
        b"resources:\n- base\nsecretGenerator:\n- name: s\n  envs:\n  - a.env\n",
    );
    write(
        r,
        "base/kustomization.yaml",
        b"secretGenerator:\n- name: b\n  envs:\n  - ../b.env\n",
    );
    let sealed = b"A=ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]\nsops_mac=ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]\n";
    write(r, "a.env", sealed);
    write(r, "b.env", sealed);
    let expected = vec![entry("a.env", "dotenv"), entry("b.env", "dotenv")];
    for (app_dir, dir) in [("", "."), (".", "."), ("", ""), ("base", "..")] {
        let config: Config = serde_json::from_value(serde_json::json!({"kustomization": dir}))
            .expect("config parses");
        let entries = file_entries(r, app_dir, &config).expect("entries");
        assert_eq!(
            entries, expected,
            "app_dir {app_dir:?}, kustomization {dir:?}"
        );
    }
}
