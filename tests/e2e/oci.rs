//! Plugins from OCI registries, against a real registry: Debian's
//! `docker-registry` (CNCF distribution) on loopback, started per test in
//! a temporary directory. Push, add, lock, render by digest, the cache
//! offline, tampering, the trust policy, and `render --locked`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use base64::Engine as _;

use crate::util::{Dir, MANIFESTS, Run, TestCommand};

const HELLO: &str = env!("KILN_TEST_PLUGIN_HELLO");
const HOSTILE: &str = env!("KILN_TEST_PLUGIN_HOSTILE");
const WIT: &str = include_str!("../../wit/plugin.wit");

/// A `docker-registry serve` on a free loopback port, storing in a
/// temporary directory; killed on drop.
struct Registry {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
}

impl Registry {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = crate::git::free_port();
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
                dir.path().join("data").display()
            ),
        )
        .expect("write config");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect(
                "docker-registry runs (Debian package docker-registry; tests/run.sh installs it)",
            );
        let registry = Self {
            child: Some(child),
            port,
            dir,
        };
        for _ in 0..400 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return registry;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        panic!("docker-registry did not listen on {port}");
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `oci://127.0.0.1:PORT/REPO_AND_TAG`.
    fn reference(&self, repo_and_tag: &str) -> String {
        format!("oci://{}/{repo_and_tag}", self.host())
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The file in which the registry keeps the blob `digest`.
    fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").expect("sha256 digest");
        self.dir
            .path()
            .join("data/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    /// A raw `GET` of `path`: (status, body).
    fn get(&self, path: &str, accept: &str) -> (u16, Vec<u8>) {
        use std::io::{Read as _, Write as _};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {}\r\nAccept: {accept}\r\nConnection: close\r\n\r\n",
            self.host()
        )
        .expect("send");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).expect("read");
        let split = response
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a header");
        let head = String::from_utf8_lossy(&response[..split]).into_owned();
        let status = head[9..12].parse().expect("a status");
        (status, response[split + 4..].to_vec())
    }

    /// Pushes an artifact as given, with no check: for artifacts kiln must
    /// refuse. Returns the manifest digest.
    fn push_raw(
        &self,
        repo: &str,
        tag: &str,
        config: (&[u8], &str),
        layer: (&[u8], &str),
    ) -> String {
        let client = oci_client::Client::new(oci_client::client::ClientConfig {
            protocol: oci_client::client::ClientProtocol::Http,
            ..Default::default()
        });
        let image = oci_client::Reference::with_tag(self.host(), repo.to_owned(), tag.to_owned());
        let config_digest = sha256(config.0);
        let layer_digest = sha256(layer.0);
        let manifest = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": config.1, "digest": config_digest, "size": config.0.len()},
            "layers": [{"mediaType": layer.1, "digest": layer_digest, "size": layer.0.len()}],
        }))
        .expect("JSON");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            client
                .push_blob(&image, config.0.to_vec(), &config_digest)
                .await
                .expect("push config");
            client
                .push_blob(&image, layer.0.to_vec(), &layer_digest)
                .await
                .expect("push layer");
            client
                .push_manifest_raw(
                    &image,
                    manifest.clone(),
                    http::HeaderValue::from_static("application/vnd.oci.image.manifest.v1+json"),
                )
                .await
                .expect("push manifest");
        });
        sha256(&manifest)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
    }
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{}", hex(&sha2::Sha256::digest(bytes)))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A `kiln` command for the registry: plain HTTP to it, and no Docker
/// config of the machine's user.
fn kiln(dir: &Dir, registry: &Registry) -> TestCommand {
    let mut cmd = dir.kiln();
    cmd.env("KILN_INSECURE_REGISTRIES", registry.host())
        .env("DOCKER_CONFIG", dir.path().join(".docker-none"));
    cmd
}

/// The same, with its own empty cache directory.
fn kiln_cold(dir: &Dir, registry: &Registry, cache: &Path) -> TestCommand {
    let mut cmd = kiln(dir, registry);
    cmd.env("KILN_CACHE_DIR", cache);
    cmd
}

fn pipeline(plugin: &str, trust: &str) -> String {
    format!(
        "apiVersion: kiln.dev/v1alpha1\nkind: Pipeline\n{trust}steps:\n- plugin: directory\n- name: label\n  plugin: {plugin}\n  with: {{team: blue}}\n"
    )
}

/// An app tree whose `label` step runs `plugin`.
fn app(plugin: &str, trust: &str) -> Dir {
    let dir = Dir::new();
    dir.write("app/all.yaml", MANIFESTS)
        .write("app/kiln.yaml", pipeline(plugin, trust));
    dir
}

fn push(dir: &Dir, registry: &Registry, file: &str, reference: &str) -> String {
    let out = kiln(dir, registry)
        .args(["plugin", "push", file, reference])
        .run();
    out.success().trim().to_owned()
}

/// `push` with the artifact's `created` time set, so that pushes of one
/// file give distinct digests.
fn push_at(dir: &Dir, registry: &Registry, file: &str, reference: &str, epoch: u64) -> String {
    let out = kiln(dir, registry)
        .env("SOURCE_DATE_EPOCH", epoch.to_string())
        .args(["plugin", "push", file, reference])
        .run();
    out.success().trim().to_owned()
}

fn add(dir: &Dir, registry: &Registry, reference: &str) -> Run {
    kiln(dir, registry)
        .args(["plugin", "add", reference, "--app", "app"])
        .run()
}

fn lock_text(dir: &Dir) -> String {
    std::fs::read_to_string(dir.path().join("app/kiln.lock")).expect("kiln.lock")
}

/// The hello plugin's output, loaded from a path: what the OCI plugin must
/// give byte for byte.
fn from_path_output() -> String {
    let dir = app("./hello.wasm", "");
    dir.copy(HELLO, "app/hello.wasm");
    dir.kiln()
        .args(["render", "app"])
        .run()
        .success()
        .to_owned()
}

#[test]
fn push_add_and_render_by_digest_give_the_path_plugins_output() {
    let registry = Registry::start();
    let reference = registry.reference("kiln/hello:1.0");
    let dir = app(&reference, "");
    let digest = push(&dir, &registry, HELLO, &reference);
    // The artifact is the CNCF Wasm layout, byte for byte what kiln printed.
    let (status, manifest) = registry.get(
        &format!("/v2/kiln/hello/manifests/{digest}"),
        "application/vnd.oci.image.manifest.v1+json",
    );
    assert_eq!(status, 200);
    assert_eq!(sha256(&manifest), digest);
    let m: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
    assert_eq!(
        m["config"]["mediaType"],
        "application/vnd.wasm.config.v0+json"
    );
    assert_eq!(m["layers"].as_array().unwrap().len(), 1);
    assert_eq!(m["layers"][0]["mediaType"], "application/wasm");
    let hello = std::fs::read(HELLO).unwrap();
    assert_eq!(m["layers"][0]["digest"], sha256(&hello));
    let (_, config) = registry.get(
        &format!(
            "/v2/kiln/hello/blobs/{}",
            m["config"]["digest"].as_str().unwrap()
        ),
        "*/*",
    );
    let c: serde_json::Value = serde_json::from_slice(&config).unwrap();
    assert_eq!(
        (c["os"].as_str(), c["architecture"].as_str()),
        (Some("wasip2"), Some("wasm"))
    );
    assert_eq!(c["component"]["target"], "kiln:plugin/plugin@0.1.0");

    // Before `add`, a tag is never resolved by a render.
    let err = kiln(&dir, &registry)
        .args(["render", "app"])
        .run()
        .error()
        .to_owned();
    assert!(
        err.contains("is not in kiln.lock, and renders never resolve a tag"),
        "{err}"
    );
    assert!(
        err.contains(&format!("kiln plugin add {reference}")),
        "{err}"
    );

    add(&dir, &registry, &reference).success();
    let lock = lock_text(&dir);
    assert!(lock.contains("version: 1\n"), "{lock}");
    assert!(
        lock.contains(&format!(
            "- source: \"{reference}\"\n  digest: \"{digest}\"\n"
        )),
        "{lock}"
    );
    assert!(
        lock.contains(&format!("  wasm: \"{}\"\n", sha256(&hello))),
        "{lock}"
    );
    assert!(
        lock.contains(&format!(
            "  blake3: \"{}\"\n",
            blake3::hash(&hello).to_hex()
        )),
        "{lock}"
    );

    let cache = tempfile::tempdir().unwrap();
    let out = kiln_cold(&dir, &registry, cache.path())
        .args(["render", "app"])
        .run();
    assert_eq!(out.success(), from_path_output());
    // The pulled blobs are in kiln's content-addressed cache.
    let blobs = cache.path().join("oci-v1/blobs/sha256");
    assert!(
        blobs
            .join(digest.strip_prefix("sha256:").unwrap())
            .is_file()
    );

    // The tag moves to another plugin: renders keep the locked digest.
    push(&dir, &registry, HOSTILE, &reference);
    let again = kiln_cold(&dir, &registry, tempfile::tempdir().unwrap().path())
        .args(["render", "app"])
        .run();
    assert_eq!(again.success(), from_path_output());
    // `update` moves the lock to what the tag names now.
    kiln(&dir, &registry)
        .args(["plugin", "update", "--app", "app"])
        .run()
        .success();
    assert!(!lock_text(&dir).contains(&digest), "{}", lock_text(&dir));
    // A render after `update` runs the newly pinned plugin (no stale memo).
    let moved = kiln(&dir, &registry).args(["render", "app"]).run();
    assert_ne!(moved.stdout, from_path_output(), "{moved:?}");

    // The operator can bound the registries a repository may name.
    let err = kiln(&dir, &registry)
        .env("KILN_ALLOWED_REGISTRIES", "registry.example")
        .args(["render", "app", "--no-cache"])
        .run()
        .error()
        .to_owned();
    assert!(
        err.contains(&format!(
            "the registry {} is not one the operator allows",
            registry.host()
        )),
        "{err}"
    );
}

#[test]
fn a_digest_reference_renders_without_a_lock_entry() {
    let registry = Registry::start();
    let dir = app("placeholder", "");
    let digest = push(
        &dir,
        &registry,
        HELLO,
        &registry.reference("kiln/hello:1.0"),
    );
    let pinned = registry.reference(&format!("kiln/hello@{digest}"));
    dir.write("app/kiln.yaml", pipeline(&pinned, ""));
    let out = kiln(&dir, &registry).args(["render", "app"]).run();
    assert_eq!(out.success(), from_path_output());
}

/// An app of the hello plugin pushed to `registry` as `kiln/hello:1.0`,
/// added to its `kiln.lock` with a cache of its own (which holds it then).
fn hello_added(registry: &Registry) -> (Dir, tempfile::TempDir) {
    let reference = registry.reference("kiln/hello:1.0");
    let dir = app(&reference, "");
    push(&dir, registry, HELLO, &reference);
    let cache = tempfile::tempdir().unwrap();
    kiln_cold(&dir, registry, cache.path())
        .args(["plugin", "add", &reference, "--app", "app"])
        .run()
        .success();
    (dir, cache)
}

#[test]
fn a_cached_digest_renders_with_the_registry_down_and_an_uncached_one_names_the_registry() {
    let mut registry = Registry::start();
    let (dir, cache) = hello_added(&registry);
    registry.stop();
    let out = kiln_cold(&dir, &registry, cache.path())
        .args(["render", "app", "--no-cache"])
        .run();
    assert_eq!(out.success(), from_path_output());
    let cold = tempfile::tempdir().unwrap();
    let err = kiln_cold(&dir, &registry, cold.path())
        .args(["render", "app"])
        .run()
        .error()
        .to_owned();
    assert!(
        err.contains(&format!("at the registry {}", registry.host())),
        "{err}"
    );
    assert!(
        err.contains("check that the registry is reachable"),
        "{err}"
    );
}

/// `--offline` never contacts a registry, even a reachable one: a plugin
/// the cache holds renders, one it does not is refused, naming it.
#[test]
fn offline_renders_take_plugins_from_the_cache_only() {
    let registry = Registry::start();
    let (dir, cache) = hello_added(&registry);
    let out = kiln_cold(&dir, &registry, cache.path())
        .args(["render", "app", "--no-cache", "--offline"])
        .run();
    assert_eq!(out.success(), from_path_output());
    let cold = tempfile::tempdir().unwrap();
    let err = kiln_cold(&dir, &registry, cold.path())
        .args(["render", "app", "--offline"])
        .run()
        .error()
        .to_owned();
    assert!(
        err.contains("is not in the OCI cache, and kiln is offline"),
        "{err}"
    );
    assert!(err.contains("kiln/hello:1.0@sha256:"), "{err}");
    assert!(err.contains("render once online"), "{err}");
    // Online, the same cold cache pulls it.
    let out = kiln_cold(&dir, &registry, cold.path())
        .args(["render", "app", "--no-cache"])
        .run();
    assert_eq!(out.success(), from_path_output());
}

/// A registry that answers a byte at a time, too slowly ever to finish but
/// fast enough for no read to time out, cannot hold a render past
/// `KILN_REGISTRY_TIMEOUT`: the render fails, naming the plugin and the bound.
#[test]
fn a_registry_that_trickles_is_cut_off_at_the_operation_timeout() {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host = format!("127.0.0.1:{}", listener.local_addr().unwrap().port());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request);
                let head = "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Length: 100000\r\n\r\n";
                if stream.write_all(head.as_bytes()).is_err() {
                    return;
                }
                while stream.write_all(b" ").is_ok() {
                    std::thread::sleep(std::time::Duration::from_millis(200));
                }
            });
        }
    });
    let digest = format!("sha256:{}", "a".repeat(64));
    let dir = app(&format!("oci://{host}/kiln/slow@{digest}"), "");
    let started = std::time::Instant::now();
    let err = TestCommand::new()
        .current_dir(dir.path())
        .env("KILN_CACHE_DIR", dir.path().join("cache"))
        .env("KILN_INSECURE_REGISTRIES", &host)
        .env("KILN_REGISTRY_TIMEOUT", "2s")
        .args(["render", "app", "--no-cache"])
        .run()
        .error()
        .to_owned();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "{err}"
    );
    assert!(err.contains("did not finish within 2s"), "{err}");
    assert!(err.contains(&format!("oci://{host}/kiln/slow")), "{err}");
    assert!(err.contains("KILN_REGISTRY_TIMEOUT"), "{err}");
}

#[test]
fn tampered_content_is_refused() {
    let registry = Registry::start();
    let reference = registry.reference("kiln/hello:1.0");
    let dir = app(&reference, "");
    push(&dir, &registry, HELLO, &reference);
    add(&dir, &registry, &reference).success();
    // The registry serves other bytes for the locked digest's layer.
    let hello = std::fs::read(HELLO).unwrap();
    let layer = registry.blob_file(&sha256(&hello));
    let mut bad = hello.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    std::fs::write(&layer, &bad).unwrap();
    let err = kiln_cold(&dir, &registry, tempfile::tempdir().unwrap().path())
        .args(["render", "app"])
        .run()
        .error()
        .to_owned();
    assert!(err.contains("does not match its digest"), "{err}");
    assert!(err.contains(&reference), "{err}");
    std::fs::write(&layer, &hello).unwrap();

    // kiln.lock pins other bytes (blake3) than the digest holds.
    let lock = lock_text(&dir);
    let b3 = blake3::hash(&hello).to_hex().to_string();
    dir.write("app/kiln.lock", lock.replace(&b3, &"0".repeat(64)));
    let err = kiln(&dir, &registry)
        .args(["render", "app"])
        .run()
        .error()
        .to_owned();
    assert!(err.contains("kiln.lock pins 0000"), "{err}");
    let verify = kiln(&dir, &registry)
        .args(["plugin", "verify", "--app", "app"])
        .run();
    assert_eq!(verify.code, Some(1), "{verify:?}");
    assert!(verify.stdout.contains("FAILED"), "{verify:?}");
    dir.write("app/kiln.lock", lock);
    let verify = kiln(&dir, &registry)
        .args(["plugin", "verify", "--app", "app"])
        .run();
    assert!(verify.success().starts_with("ok "), "{verify:?}");
}

/// A P-256 key pair: (private PKCS#8 PEM, public PEM).
fn key_pair() -> (String, String) {
    use aws_lc_rs::encoding::{AsDer as _, PublicKeyX509Der};
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _};
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref()).unwrap();
    let public: PublicKeyX509Der<'_> = pair.public_key().as_der().unwrap();
    let pem = |label: &str, der: &[u8]| {
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let body: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            body.join("\n")
        )
    };
    (
        pem("PRIVATE KEY", pkcs8.as_ref()),
        pem("PUBLIC KEY", public.as_ref()),
    )
}

#[test]
fn the_trust_policy_refuses_unsigned_and_foreign_signed_plugins_and_accepts_signed_ones() {
    let registry = Registry::start();
    let trust = "trust:\n  require: signed\n  keys: [keys/cosign.pub]\n";
    let (private, public) = key_pair();
    let (other_private, _) = key_pair();
    let unsigned = registry.reference("kiln/unsigned:1.0");
    let dir = app(&unsigned, trust);
    dir.write("app/keys/cosign.pub", &public)
        .write("signing.key", &private)
        .write("other.key", &other_private);
    push(&dir, &registry, HELLO, &unsigned);
    let err = add(&dir, &registry, &unsigned).error().to_owned();
    assert!(
        err.contains("has no cosign signature made by a trusted key"),
        "{err}"
    );
    assert!(err.contains("kiln/unsigned"), "{err}");
    // Locked without the policy, it is still refused when rendered under it.
    let lock = format!(
        "version: 1\nplugins:\n- source: \"{unsigned}\"\n  digest: \"{}\"\n  blake3: \"{}\"\n",
        push(&dir, &registry, HELLO, &unsigned),
        blake3::hash(&std::fs::read(HELLO).unwrap()).to_hex()
    );
    dir.write("app/kiln.lock", &lock);
    let err = kiln(&dir, &registry)
        .args(["render", "app"])
        .run()
        .error()
        .to_owned();
    assert!(
        err.contains("has no cosign signature made by a trusted key"),
        "{err}"
    );
    assert!(err.contains("hint: sign the artifact"), "{err}");

    // Signed by a key the policy does not trust.
    let foreign = registry.reference("kiln/foreign:1.0");
    kiln(&dir, &registry)
        .args(["plugin", "push", HELLO, &foreign, "--sign-key", "other.key"])
        .run()
        .success();
    dir.write("app/kiln.yaml", pipeline(&foreign, trust));
    let err = add(&dir, &registry, &foreign).error().to_owned();
    assert!(err.contains("1 signature(s) found"), "{err}");

    // Signed by the trusted key: add, render and verify accept it.
    let signed = registry.reference("kiln/signed:1.0");
    kiln(&dir, &registry)
        .args([
            "plugin",
            "push",
            HELLO,
            &signed,
            "--sign-key",
            "signing.key",
        ])
        .run()
        .success();
    dir.write("app/kiln.yaml", pipeline(&signed, trust));
    // The lock still pins the unsigned plugin: `verify` says so.
    let err = kiln(&dir, &registry)
        .args(["plugin", "verify", "--app", "app"])
        .run();
    assert_eq!(err.code, Some(1), "{err:?}");
    let out = add(&dir, &registry, &signed);
    assert!(out.success().is_empty());
    assert!(
        out.stderr.contains("signed by keys/cosign.pub"),
        "{}",
        out.stderr
    );
    let render = kiln_cold(&dir, &registry, tempfile::tempdir().unwrap().path())
        .args(["render", "app"])
        .run();
    assert_eq!(render.success(), from_path_output());
    kiln(&dir, &registry)
        .args(["plugin", "update", "--app", "app"])
        .run()
        .success();
    assert!(
        !lock_text(&dir).contains("kiln/unsigned"),
        "{}",
        lock_text(&dir)
    );
    let verified = kiln(&dir, &registry)
        .args(["plugin", "verify", "--app", "app"])
        .run();
    assert!(
        verified.success().contains("signed by keys/cosign.pub"),
        "{verified:?}"
    );
}

/// A component built for `version` of the contract (wit-component's
/// stand-in module under the contract's world).
/// The operator's policy (`KILN_PLUGIN_POLICY`) holds whatever the
/// repository's `kiln.yaml` says: an unsigned plugin, or one signed by a
/// key only the repository trusts, is refused at render and at add even
/// under `trust: {require: none}`; one signed by the operator's key
/// renders. A policy file that cannot be used fails every render, naming
/// it.
#[test]
fn the_operators_plugin_policy_cannot_be_weakened_by_the_repository() {
    let registry = Registry::start();
    let (operator_private, operator_public) = key_pair();
    let (repo_private, repo_public) = key_pair();
    let operator = tempfile::tempdir().expect("temp dir");
    let policy = operator.path().join("policy.yaml");
    std::fs::write(&policy, "require: signed\nkeys: [keys/operator.pub]\n").expect("policy");
    std::fs::create_dir(operator.path().join("keys")).expect("keys dir");
    std::fs::write(operator.path().join("keys/operator.pub"), &operator_public).expect("key");

    let dir = app("placeholder", "");
    dir.write("operator.key", &operator_private)
        .write("repo.key", &repo_private)
        .write("app/keys/repo.pub", &repo_public);
    let pushed = |repo: &str, key: Option<&str>| {
        let reference = registry.reference(&format!("{repo}:1.0"));
        let mut cmd = kiln(&dir, &registry);
        cmd.args(["plugin", "push", HELLO, &reference]);
        if let Some(key) = key {
            cmd.args(["--sign-key", key]);
        }
        let digest = cmd.run().success().trim().to_owned();
        registry.reference(&format!("{repo}@{digest}"))
    };
    let render = |plugin: &str, trust: &str| {
        dir.write("app/kiln.yaml", pipeline(plugin, trust));
        kiln_cold(&dir, &registry, tempfile::tempdir().expect("cache").path())
            .env("KILN_PLUGIN_POLICY", &policy)
            .args(["render", "app"])
            .run()
    };

    let unsigned = pushed("kiln/op-unsigned", None);
    // Without the operator's policy, the repository's word is enough.
    dir.write(
        "app/kiln.yaml",
        pipeline(&unsigned, "trust:\n  require: none\n"),
    );
    assert_eq!(
        kiln(&dir, &registry)
            .args(["render", "app"])
            .run()
            .success(),
        from_path_output()
    );
    // The same render, memoized and cached without the policy, is not
    // served once the operator sets it.
    let err = kiln(&dir, &registry)
        .env("KILN_PLUGIN_POLICY", &policy)
        .args(["render", "app"])
        .run()
        .error()
        .to_owned();
    assert!(
        err.contains("required by the operator's plugin policy"),
        "{err}"
    );
    let err = render(&unsigned, "trust:\n  require: none\n")
        .error()
        .to_owned();
    assert!(
        err.contains("has no cosign signature made by a trusted key")
            && err.contains("required by the operator's plugin policy")
            && err.contains("policy.yaml"),
        "{err}"
    );
    assert!(err.contains("KILN_PLUGIN_POLICY"), "{err}");

    // Signed by a key the repository trusts, but the operator does not.
    let repo_signed = pushed("kiln/op-repo-signed", Some("repo.key"));
    let repo_trust = "trust:\n  require: signed\n  keys: [keys/repo.pub]\n";
    let err = render(&repo_signed, repo_trust).error().to_owned();
    assert!(
        err.contains("required by the operator's plugin policy"),
        "{err}"
    );
    let tagged = registry.reference("kiln/op-repo-signed:1.0");
    dir.write("app/kiln.yaml", pipeline(&tagged, repo_trust));
    let err = kiln(&dir, &registry)
        .env("KILN_PLUGIN_POLICY", &policy)
        .args(["plugin", "add", &tagged, "--app", "app"])
        .run()
        .error()
        .to_owned();
    assert!(
        err.contains("required by the operator's plugin policy"),
        "{err}"
    );

    // Signed by the operator's key: renders, and the repository's own
    // policy still applies on top.
    let operator_signed = pushed("kiln/op-signed", Some("operator.key"));
    assert_eq!(render(&operator_signed, "").success(), from_path_output());
    let err = render(&operator_signed, repo_trust).error().to_owned();
    assert!(
        err.contains("has no cosign signature made by a trusted key") && !err.contains("operator"),
        "{err}"
    );

    // A policy file that cannot be used stops every render.
    std::fs::write(&policy, "require: signed\n").expect("policy");
    let err = kiln_cold(&dir, &registry, tempfile::tempdir().expect("cache").path())
        .env("KILN_PLUGIN_POLICY", &policy)
        .args(["render", "app"])
        .run()
        .error()
        .to_owned();
    assert!(
        err.contains("policy.yaml (KILN_PLUGIN_POLICY)")
            && err.contains("needs `keys` or `identities`"),
        "{err}"
    );
}

fn plugin_built_for(version: &str) -> Vec<u8> {
    let ours = WIT
        .lines()
        .find_map(|l| l.trim().strip_prefix("package kiln:plugin@"))
        .and_then(|v| v.strip_suffix(';'))
        .expect("the contract's version");
    let wit = WIT.replace(
        &format!("kiln:plugin@{ours}"),
        &format!("kiln:plugin@{version}"),
    );
    let mut resolve = wit_parser::Resolve::default();
    let package = resolve
        .push_str("plugin.wit", &wit)
        .expect("the WIT parses");
    let world = resolve
        .select_world(&[package], Some("plugin"))
        .expect("world");
    let mut module = wit_component::dummy_module(
        &resolve,
        world,
        wit_parser::ManglingAndAbi::Legacy(wit_parser::LiftLowerAbi::Sync),
    );
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )
    .expect("metadata");
    wit_component::ComponentEncoder::default()
        .module(&module)
        .expect("a module")
        .encode()
        .expect("a component")
}

#[test]
fn wrong_contracts_media_types_and_platforms_are_refused_naming_the_reference() {
    let registry = Registry::start();
    let dir = app("placeholder", "");
    let config = |os: &str, wasm: &[u8]| {
        serde_json::to_vec(&serde_json::json!({
            "created": "2026-01-01T00:00:00Z", "architecture": "wasm", "os": os,
            "layerDigests": [sha256(wasm)],
        }))
        .unwrap()
    };
    let v9 = plugin_built_for("9.0.0");
    dir.write("v9.wasm", &v9);
    // `push` refuses what is not a plugin of this contract.
    let err = kiln(&dir, &registry)
        .args([
            "plugin",
            "push",
            "v9.wasm",
            &registry.reference("kiln/v9:1"),
        ])
        .run()
        .error()
        .to_owned();
    assert!(err.contains("kiln:plugin@9.0.0"), "{err}");
    dir.write("not.wasm", "not wasm");
    let err = kiln(&dir, &registry)
        .args([
            "plugin",
            "push",
            "not.wasm",
            &registry.reference("kiln/not:1"),
        ])
        .run()
        .error()
        .to_owned();
    assert!(
        err.contains("is not a kiln plugin component or a KRM function"),
        "{err}"
    );

    // Pushed by other tools, `add` refuses them.
    let cases = [
        (
            "kiln/v9",
            registry.push_raw(
                "kiln/v9",
                "1",
                (
                    &config("wasip2", &v9),
                    "application/vnd.wasm.config.v0+json",
                ),
                (&v9, "application/wasm"),
            ),
            "kiln:plugin@9.0.0",
        ),
        (
            "kiln/mediatype",
            registry.push_raw(
                "kiln/mediatype",
                "1",
                (
                    &config("wasip2", &std::fs::read(HELLO).unwrap()),
                    "application/vnd.wasm.config.v0+json",
                ),
                (
                    &std::fs::read(HELLO).unwrap(),
                    "application/vnd.wasm.content.layer.v1+wasm",
                ),
            ),
            "has media type `application/vnd.wasm.content.layer.v1+wasm`, not `application/wasm`",
        ),
        (
            "kiln/os",
            registry.push_raw(
                "kiln/os",
                "1",
                (
                    &config("wasip1", &std::fs::read(HELLO).unwrap()),
                    "application/vnd.wasm.config.v0+json",
                ),
                (&std::fs::read(HELLO).unwrap(), "application/wasm"),
            ),
            "says os `wasip1`, but the layer is a component",
        ),
        (
            "kiln/image",
            registry.push_raw(
                "kiln/image",
                "1",
                (b"{}", "application/vnd.oci.image.config.v1+json"),
                (&std::fs::read(HELLO).unwrap(), "application/wasm"),
            ),
            "the config has media type `application/vnd.oci.image.config.v1+json`",
        ),
    ];
    for (repo, digest, expected) in cases {
        let reference = registry.reference(&format!("{repo}:1"));
        let err = add(&dir, &registry, &reference).error().to_owned();
        assert!(err.contains(expected), "{repo}: {err}");
        assert!(err.contains(repo), "{repo}: {err}");
        // A render of the digest is refused the same way.
        let pinned = registry.reference(&format!("{repo}@{digest}"));
        dir.write("app/kiln.yaml", pipeline(&pinned, ""));
        let err = kiln(&dir, &registry)
            .args(["render", "app"])
            .run()
            .error()
            .to_owned();
        assert!(err.contains(expected), "{repo}: {err}");
    }
}

#[test]
fn render_locked_fails_on_missing_and_stale_entries() {
    let registry = Registry::start();
    let dir = app("./hello.wasm", "");
    dir.copy(HELLO, "app/hello.wasm");
    let locked = |dir: &Dir| {
        kiln(dir, &registry)
            .args(["render", "app", "--locked"])
            .run()
    };
    // No kiln.lock: the in-repository plugin is missing.
    let err = locked(&dir).error().to_owned();
    assert!(
        err.contains("kiln.lock has no entry for plugin `./hello.wasm`"),
        "{err}"
    );
    assert!(err.contains("hint: run `kiln plugin update`"), "{err}");
    // Without --locked the render goes on.
    dir.kiln().args(["render", "app"]).run().success();
    kiln(&dir, &registry)
        .args(["plugin", "update", "--app", "app"])
        .run()
        .success();
    assert!(
        lock_text(&dir).contains("- source: \"./hello.wasm\"\n  blake3: "),
        "{}",
        lock_text(&dir)
    );
    assert_eq!(locked(&dir).success(), from_path_output());
    // The file changes: its entry is stale.
    dir.copy(HOSTILE, "app/hello.wasm");
    let err = locked(&dir).error().to_owned();
    assert!(
        err.contains("kiln.lock is stale for plugin `./hello.wasm`: its blake3 is now"),
        "{err}"
    );
    dir.copy(HELLO, "app/hello.wasm");
    locked(&dir).success();
    // A new OCI plugin in kiln.yaml, not in the lock.
    let reference = registry.reference("kiln/hello:1.0");
    push(&dir, &registry, HELLO, &reference);
    dir.write(
        "app/kiln.yaml",
        format!(
            "{}- name: again\n  plugin: {reference}\n  with: {{team: blue}}\n",
            pipeline("./hello.wasm", "")
        ),
    );
    let err = locked(&dir).error().to_owned();
    assert!(
        err.contains(&format!("kiln.lock has no entry for plugin `{reference}`")),
        "{err}"
    );
    add(&dir, &registry, &reference).success();
    locked(&dir).success();
}

/// cosign, built by `tests/oci/cosign.sh` (`tests/run.sh` exports its path
/// as `KILN_COSIGN`; without it the test runs the script).
fn cosign() -> &'static Path {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("KILN_COSIGN") {
            return PathBuf::from(bin);
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/oci/cosign.sh");
        let out = Command::new("bash")
            .arg(&script)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        assert!(
            out.status.success(),
            "{} failed (it needs Go and the Go module proxy):\n{}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).expect("a path");
        PathBuf::from(stdout.lines().last().expect("cosign.sh prints the binary"))
    })
}

/// Runs cosign in `dir` with a home of its own, no password on its keys
/// and no Docker config: (success, stdout + stderr).
fn run_cosign(dir: &Path, args: &[&str]) -> (bool, String) {
    let home = dir.join(".cosign-home");
    std::fs::create_dir_all(&home).expect("mkdir");
    let out = Command::new(cosign())
        .args(args)
        .current_dir(dir)
        .env("HOME", &home)
        .env("COSIGN_PASSWORD", "")
        .env("DOCKER_CONFIG", home.join("docker"))
        .env_remove("SIGSTORE_ROOT_FILE")
        .output()
        .expect("cosign runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn signatures_interoperate_with_cosign() {
    let registry = Registry::start();
    let trust = "trust:\n  require: signed\n  keys: [cosign.pub]\n";
    let reference = registry.reference("kiln/cosigned:1.0");
    let dir = app(&reference, trust);
    let app_dir = dir.path().join("app");
    let (ok, text) = run_cosign(&app_dir, &["generate-key-pair"]);
    assert!(ok, "{text}");
    // cosign signs what kiln pushed (key-based, no transparency log); kiln
    // verifies it with cosign's public key.
    let digest = push(&dir, &registry, HELLO, &reference);
    let image = format!("{}/kiln/cosigned@{digest}", registry.host());
    let err = add(&dir, &registry, &reference).error().to_owned();
    assert!(err.contains("has no cosign signature"), "{err}");
    let (ok, text) = run_cosign(
        &app_dir,
        &[
            "sign",
            "--key",
            "cosign.key",
            "--tlog-upload=false",
            "--allow-http-registry",
            "--yes",
            &image,
        ],
    );
    assert!(ok, "{text}");
    let out = add(&dir, &registry, &reference);
    out.success();
    assert!(
        out.stderr.contains("signed by cosign.pub"),
        "{}",
        out.stderr
    );

    // kiln signs; cosign verifies it with kiln's public key, and refuses it
    // with cosign's own (the control).
    let (private, public) = key_pair();
    dir.write("kiln.key", &private).write("kiln.pub", &public);
    let signed = registry.reference("kiln/kiln-signed:1.0");
    let out = kiln(&dir, &registry)
        .args(["plugin", "push", HELLO, &signed, "--sign-key", "kiln.key"])
        .run();
    let digest = out.success().trim().to_owned();
    let image = format!("{}/kiln/kiln-signed@{digest}", registry.host());
    let verify = |key: &str| {
        run_cosign(
            dir.path(),
            &[
                "verify",
                "--key",
                key,
                "--insecure-ignore-tlog=true",
                "--allow-http-registry",
                &image,
            ],
        )
    };
    let (ok, text) = verify("kiln.pub");
    assert!(ok, "{text}");
    let (ok, text) = verify("app/cosign.pub");
    assert!(!ok, "{text}");
}

#[test]
fn a_krm_function_travels_as_a_wasip1_artifact() {
    let registry = Registry::start();
    let function = crate::krm::wasm("set-namespace");
    let function = function.to_str().expect("UTF-8 path");
    let reference = registry.reference("kiln/set-namespace:v1");
    let krm_pipeline = |plugin: &str| {
        format!(
            "apiVersion: kiln.dev/v1alpha1\nkind: Pipeline\nsteps:\n- plugin: directory\n- name: fn\n  plugin: {plugin}\n  with: {{namespace: prod}}\n"
        )
    };
    let local = Dir::new();
    local
        .copy(function, "app/fn.wasm")
        .write("app/all.yaml", MANIFESTS)
        .write("app/kiln.yaml", krm_pipeline("./fn.wasm"));
    let expected = local
        .kiln()
        .args(["render", "app"])
        .run()
        .success()
        .to_owned();
    assert!(expected.contains("namespace: prod"), "{expected}");

    let dir = Dir::new();
    dir.write("app/all.yaml", MANIFESTS)
        .write("app/kiln.yaml", krm_pipeline(&reference));
    let digest = push(&dir, &registry, function, &reference);
    let (_, manifest) = registry.get(
        &format!("/v2/kiln/set-namespace/manifests/{digest}"),
        "application/vnd.oci.image.manifest.v1+json",
    );
    let m: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
    let (_, config) = registry.get(
        &format!(
            "/v2/kiln/set-namespace/blobs/{}",
            m["config"]["digest"].as_str().unwrap()
        ),
        "*/*",
    );
    let c: serde_json::Value = serde_json::from_slice(&config).unwrap();
    assert_eq!(c["os"], "wasip1", "{c}");
    assert!(c.get("component").is_none(), "{c}");
    let out = add(&dir, &registry, &reference);
    assert!(out.stderr.contains("KRM function"), "{out:?}");
    let render = kiln(&dir, &registry)
        .args(["render", "app", "--locked"])
        .run();
    assert_eq!(render.success(), expected);
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs (Debian package openssl)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The DER of the first PEM block of `pem`.
fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .expect("PEM base64")
}

/// A stand-in Fulcio in `dir`: a CA `NAME-ca.pem` and a code-signing
/// certificate `NAME-leaf.pem` (key `NAME-leaf.key`) for `subject`,
/// vouched for by `issuer`, as Fulcio issues them.
fn fulcio(dir: &Path, name: &str, subject: &str, issuer: &str) {
    let ca_key = format!("{name}-ca.key");
    let ca = format!("{name}-ca.pem");
    let leaf_key = format!("{name}-leaf.key");
    let csr = format!("{name}-leaf.csr");
    let ext = format!("{name}-leaf.ext");
    openssl(
        dir,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            &ca_key,
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            &ca_key,
            "-subj",
            &format!("/CN={name}-fulcio"),
            "-days",
            "30",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign",
            "-out",
            &ca,
        ],
    );
    openssl(
        dir,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            &leaf_key,
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-key",
            &leaf_key,
            "-subj",
            "/O=sigstore.dev",
            "-out",
            &csr,
        ],
    );
    std::fs::write(
        dir.join(&ext),
        format!(
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\nsubjectAltName=critical,URI:{subject}\n1.3.6.1.4.1.57264.1.8=ASN1:UTF8String:{issuer}\n"
        ),
    )
    .expect("write ext");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            &ext,
            "-out",
            &format!("{name}-leaf.pem"),
        ],
    );
}

/// A stand-in Rekor: its key pair (PKCS#8, SPKI DER).
fn rekor_key() -> (aws_lc_rs::signature::EcdsaKeyPair, Vec<u8>) {
    use aws_lc_rs::encoding::{AsDer as _, PublicKeyX509Der};
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _};
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref()).unwrap();
    let spki: PublicKeyX509Der<'_> = pair.public_key().as_der().unwrap();
    let spki = spki.as_ref().to_vec();
    (pair, spki)
}

/// Signs `digest` of `repo` keylessly, as `cosign sign` with Fulcio and
/// Rekor does: the certificate `NAME-leaf.pem`, a Rekor bundle signed by
/// `rekor`, pushed to cosign's `.sig` tag.
fn sign_keyless(
    registry: &Registry,
    dir: &Path,
    name: &str,
    repo: &str,
    digest: &str,
    rekor: &(aws_lc_rs::signature::EcdsaKeyPair, Vec<u8>),
    backdate: u64,
) {
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let payload = serde_json::to_vec(&serde_json::json!({
        "critical": {
            "identity": {"docker-reference": format!("{}/{repo}", registry.host())},
            "image": {"docker-manifest-digest": digest},
            "type": "cosign container image signature",
        },
        "optional": null,
    }))
    .unwrap();
    std::fs::write(dir.join("payload.json"), &payload).unwrap();
    openssl(
        dir,
        &[
            "dgst",
            "-sha256",
            "-sign",
            &format!("{name}-leaf.key"),
            "-out",
            "payload.sig",
            "payload.json",
        ],
    );
    let sig = std::fs::read(dir.join("payload.sig")).unwrap();
    let leaf_pem = std::fs::read_to_string(dir.join(format!("{name}-leaf.pem"))).unwrap();
    let body = b64(&serde_json::to_vec(&serde_json::json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": sha256(&payload).strip_prefix("sha256:").unwrap()}},
            "signature": {"content": b64(&sig), "publicKey": {"content": b64(leaf_pem.as_bytes())}},
        },
    }))
    .unwrap());
    let time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let log_id = sha256(&rekor.1).strip_prefix("sha256:").unwrap().to_owned();
    let canonical = format!(
        "{{\"body\":\"{body}\",\"integratedTime\":{time},\"logID\":\"{log_id}\",\"logIndex\":7}}"
    );
    let set = rekor
        .0
        .sign(&aws_lc_rs::rand::SystemRandom::new(), canonical.as_bytes())
        .unwrap();
    // `backdate` alters the logged time after Rekor signed it.
    let bundle = serde_json::json!({
        "SignedEntryTimestamp": b64(set.as_ref()),
        "Payload": {"body": body, "integratedTime": time - backdate, "logIndex": 7, "logID": log_id},
    })
    .to_string();
    let config = b"{}".to_vec();
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(&config), "size": config.len()},
        "layers": [{
            "mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
            "digest": sha256(&payload),
            "size": payload.len(),
            "annotations": {
                "dev.cosignproject.cosign/signature": b64(&sig),
                "dev.sigstore.cosign/certificate": leaf_pem,
                "dev.sigstore.cosign/bundle": bundle,
            },
        }],
    }))
    .unwrap();
    let client = oci_client::Client::new(oci_client::client::ClientConfig {
        protocol: oci_client::client::ClientProtocol::Http,
        ..Default::default()
    });
    let tag = format!("{}.sig", digest.replace(':', "-"));
    let image = oci_client::Reference::with_tag(registry.host(), repo.to_owned(), tag);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        client
            .push_blob(&image, config.clone(), &sha256(&config))
            .await
            .expect("config");
        client
            .push_blob(&image, payload.clone(), &sha256(&payload))
            .await
            .expect("payload");
        client
            .push_manifest_raw(
                &image,
                manifest,
                http::HeaderValue::from_static("application/vnd.oci.image.manifest.v1+json"),
            )
            .await
            .expect("signature manifest");
    });
}

/// A `trusted_root.json` naming the CA `NAME-ca.pem` and the Rekor key.
fn trusted_root(dir: &Path, name: &str, rekor_spki: &[u8]) -> String {
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let ca = pem_der(&std::fs::read_to_string(dir.join(format!("{name}-ca.pem"))).unwrap());
    serde_json::json!({
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [{
            "baseUrl": "https://rekor.invalid",
            "hashAlgorithm": "SHA2_256",
            "publicKey": {"rawBytes": b64(rekor_spki), "keyDetails": "PKIX_ECDSA_P256_SHA_256"},
            "logId": {"keyId": b64(&pem_der_hash(rekor_spki))},
        }],
        "certificateAuthorities": [{"certChain": {"certificates": [{"rawBytes": b64(&ca)}]}}],
    })
    .to_string()
}

fn pem_der_hash(bytes: &[u8]) -> Vec<u8> {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).to_vec()
}

#[test]
fn keyless_signatures_are_checked_against_identities_and_a_pinned_trust_root() {
    let registry = Registry::start();
    let subject = "https://github.com/acme/plugins/.github/workflows/release.yml@refs/tags/v1";
    let issuer = "https://token.actions.githubusercontent.com";
    let reference = registry.reference("kiln/keyless:1.0");
    let trust = |identity: &str| {
        format!(
            "trust:\n  require: signed\n  trustedRoot: sigstore/trusted_root.json\n  identities:\n  - {identity}\n"
        )
    };
    let exact = format!("{{issuer: \"{issuer}\", subject: \"{subject}\"}}");
    let dir = app(&reference, &trust(&exact));
    let work = dir.path().join("sigstore-work");
    std::fs::create_dir_all(&work).unwrap();
    fulcio(&work, "good", subject, issuer);
    fulcio(&work, "rogue", subject, issuer);
    let rekor = rekor_key();
    dir.write(
        "app/sigstore/trusted_root.json",
        trusted_root(&work, "good", &rekor.1),
    );
    let digest = push_at(&dir, &registry, HELLO, &reference, 1_000_001);
    sign_keyless(&registry, &work, "good", "kiln/keyless", &digest, &rekor, 0);

    let out = add(&dir, &registry, &reference);
    out.success();
    assert!(
        out.stderr
            .contains(&format!("signed by {subject} (issuer {issuer})")),
        "{}",
        out.stderr
    );
    let render = kiln_cold(&dir, &registry, tempfile::tempdir().unwrap().path())
        .args(["render", "app"])
        .run();
    assert_eq!(render.success(), from_path_output());

    // A regular expression of cosign's `--certificate-identity-regexp` kind.
    let regexp = format!("{{issuer: \"{issuer}\", subjectRegExp: \"^https://github.com/acme/\"}}");
    dir.write("app/kiln.yaml", pipeline(&reference, &trust(&regexp)));
    add(&dir, &registry, &reference).success();

    // Another identity is refused.
    let other = format!("{{issuer: \"{issuer}\", subject: \"https://github.com/evil/x\"}}");
    dir.write("app/kiln.yaml", pipeline(&reference, &trust(&other)));
    let err = add(&dir, &registry, &reference).error().to_owned();
    assert!(
        err.contains("matches no identity the policy trusts"),
        "{err}"
    );
    let other_issuer = format!("{{issuer: \"https://accounts.example\", subject: \"{subject}\"}}");
    dir.write("app/kiln.yaml", pipeline(&reference, &trust(&other_issuer)));
    let err = add(&dir, &registry, &reference).error().to_owned();
    assert!(
        err.contains("matches no identity the policy trusts"),
        "{err}"
    );

    // A certificate from a CA the trust root does not name is refused.
    let rogue_ref = registry.reference("kiln/rogue:1.0");
    let rogue_digest = push_at(&dir, &registry, HELLO, &rogue_ref, 1_000_002);
    sign_keyless(
        &registry,
        &work,
        "rogue",
        "kiln/rogue",
        &rogue_digest,
        &rekor,
        0,
    );
    dir.write("app/kiln.yaml", pipeline(&rogue_ref, &trust(&exact)));
    let err = add(&dir, &registry, &rogue_ref).error().to_owned();
    assert!(
        err.contains("does not chain to a Fulcio CA of the trust root"),
        "{err}"
    );

    // A Rekor entry signed by a log the trust root does not name is refused.
    let unlogged_ref = registry.reference("kiln/unlogged:1.0");
    let unlogged_digest = push_at(&dir, &registry, HELLO, &unlogged_ref, 1_000_003);
    sign_keyless(
        &registry,
        &work,
        "good",
        "kiln/unlogged",
        &unlogged_digest,
        &rekor_key(),
        0,
    );
    dir.write("app/kiln.yaml", pipeline(&unlogged_ref, &trust(&exact)));
    let err = add(&dir, &registry, &unlogged_ref).error().to_owned();
    assert!(
        err.contains("comes from a log the trust root does not name"),
        "{err}"
    );

    // A logged time changed after Rekor signed it (to fall inside the
    // certificate's validity, say) breaks the signed entry timestamp.
    let backdated_ref = registry.reference("kiln/backdated:1.0");
    let backdated_digest = push_at(&dir, &registry, HELLO, &backdated_ref, 1_000_004);
    sign_keyless(
        &registry,
        &work,
        "good",
        "kiln/backdated",
        &backdated_digest,
        &rekor,
        60,
    );
    dir.write("app/kiln.yaml", pipeline(&backdated_ref, &trust(&exact)));
    let err = add(&dir, &registry, &backdated_ref).error().to_owned();
    assert!(
        err.contains("signed entry timestamp does not verify"),
        "{err}"
    );
}
