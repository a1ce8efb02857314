//! The call sequences of Argo CD, on real apps: the answers, the manifests
//! (against the oracles' expected output), parameters, SOPS, failures,
//! concurrency and deadlines.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kiln::cmp::client;
use kiln::cmp::metrics::CacheLabels;
use kiln::cmp::{Job, Output, Renderer};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use serde_json::json;
use tonic::Code;

use crate::harness::{
    Server, application, copy_tree, generate, parsed, repo, service_renderer, sorted, stream,
    write, yaml_docs,
};

#[path = "../../plugins/sops/tests/common/mod.rs"]
pub(crate) mod sealer;

#[test]
fn argo_2_13_sequence_renders_the_shop_overlay_like_kustomize() {
    let server = Server::default_server();
    let mut client = server.client();
    let root = repo().join("examples/shop");
    let mut app = application("overlays/prod");
    app.namespace = String::new();
    let expected = sorted(yaml_docs(
        &repo().join("tests/cases/shop-prod/expected.yaml"),
    ));
    server.block_on(async {
        // Argo CD >= 2.13, app naming the plugin, no discovery: the
        // pre-flight twice (detection, then generation), then one stream.
        for _ in 0..2 {
            let config = client
                .check_plugin_configuration(())
                .await
                .unwrap()
                .into_inner();
            assert!(!config.is_discovery_configured);
            assert!(!config.provide_git_creds);
        }
        let first = generate(&mut client, &root, &app).await.unwrap();
        assert_eq!(sorted(parsed(&first)), expected);
        assert!(
            first.manifests.iter().all(|m| !m.contains('\n')),
            "one JSON line per object"
        );
        // The same repository, app and environment again: the answer kept
        // in memory, once the stream is checked.
        let again = generate(&mut client, &root, &app).await.unwrap();
        assert_eq!(again.manifests, first.manifests);
        // Another revision of the same content is rendered again, into a
        // new directory, and its steps come from the render cache.
        let mut next = app.clone();
        next.revision = "fedcba9876543210fedcba9876543210fedcba98".into();
        let third = generate(&mut client, &root, &next).await.unwrap();
        assert_eq!(third.manifests, first.manifests);
    });
    let count = |family: &Family<CacheLabels, Counter>, cache: &str| {
        family
            .get_or_create(&CacheLabels {
                cache: cache.into(),
            })
            .get()
    };
    assert_eq!(count(&server.metrics.responses, "hit"), 1);
    assert_eq!(count(&server.metrics.responses, "miss"), 2);
    let step_hits = count(&server.metrics.steps, "hit");
    assert!(
        step_hits >= 1,
        "the third render hit the render cache ({step_hits} hits)"
    );
    assert!(server.leftovers().is_empty(), "{:?}", server.leftovers());
}

#[test]
fn argo_2_12_sequence_matches_then_renders() {
    let server = Server::default_server();
    let mut client = server.client();
    let root = repo().join("examples/shop");
    let mut app = application("overlays/dev");
    app.namespace = String::new();
    let tarball = client::tarball(&root, &[".git/*".to_owned()]).unwrap();
    server.block_on(async {
        // Argo CD <= 2.12 always streams MatchRepository first; a named
        // plugin passes when it is neither supported nor discovering.
        let answer = client
            .match_repository(client::streaming(
                stream(&app.path, &app.generate_env(), &tarball),
                None,
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(!answer.is_supported && !answer.is_discovery_enabled);
        let response = generate(&mut client, &root, &app).await.unwrap();
        let expected = sorted(yaml_docs(
            &repo().join("tests/cases/shop-dev/expected.yaml"),
        ));
        assert_eq!(sorted(parsed(&response)), expected);
    });
}

#[test]
fn discovery_matches_apps_by_the_configured_files() {
    let server = Server::start(|s| s.discovery = Some(vec!["kiln.yaml".into()]), None);
    let mut client = server.client();
    let root = repo().join("examples");
    let tarball = client::tarball(&root, &[".git/*".to_owned(), "*/target/*".to_owned()]).unwrap();
    server.block_on(async {
        let config = client
            .check_plugin_configuration(())
            .await
            .unwrap()
            .into_inner();
        assert!(config.is_discovery_configured);
        for (path, supported) in [("webapp", true), ("shop/overlays/prod", false)] {
            let app = application(path);
            let answer = client
                .match_repository(client::streaming(
                    stream(path, &app.generate_env(), &tarball),
                    None,
                ))
                .await
                .unwrap()
                .into_inner();
            assert_eq!(answer.is_supported, supported, "{path}");
            assert!(answer.is_discovery_enabled);
        }
    });
    assert!(server.leftovers().is_empty(), "{:?}", server.leftovers());
}

/// The webapp chart without its `kiln.yaml`, so that only the request's
/// parameters configure it.
fn bare_chart() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(
        &repo().join("examples/webapp"),
        &dir.path().join("charts/webapp"),
    );
    std::fs::remove_file(dir.path().join("charts/webapp/kiln.yaml")).unwrap();
    dir
}

#[test]
fn helm_app_with_parameters_renders_like_helm_template() {
    let server = Server::default_server();
    let mut client = server.client();
    let tree = bare_chart();
    let mut app = application("charts/webapp");
    app.name = "shop".into();
    app.namespace = "shop-prod".into();
    app.parameters = Some(json!([{"name": "values", "array": ["values-prod.yaml"]}]));
    // `helm template shop examples/webapp --namespace shop-prod -f values-prod.yaml --kube-version 1.30.0`
    let expected = sorted(yaml_docs(&repo().join("tests/cases/webapp/expected.yaml")));
    server.block_on(async {
        let response = generate(&mut client, tree.path(), &app).await.unwrap();
        assert_eq!(sorted(parsed(&response)), expected);
        // Parameters override the Application's name and namespace, and set values.
        app.name = "ignored".into();
        app.parameters = Some(json!([
            {"name": "release-name", "string": "shop"},
            {"name": "namespace", "string": "other"},
            {"name": "values", "array": ["values-prod.yaml"]},
            {"name": "set", "map": {"image.tag": "9.9.9"}},
        ]));
        let response = generate(&mut client, tree.path(), &app).await.unwrap();
        let docs = parsed(&response);
        let deployment = docs.iter().find(|d| d["kind"] == "Deployment").unwrap();
        assert_eq!(deployment["metadata"]["name"], "shop-webapp");
        assert_eq!(deployment["metadata"]["namespace"], "other");
        let image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .unwrap();
        assert!(image.ends_with(":9.9.9"), "{image}");
        // The chart with its kiln.yaml keeps that file's release name
        // (`shop`), not the Application's.
        let mut with_file = application("webapp");
        with_file.namespace = "shop-prod".into();
        let response = generate(&mut client, &repo().join("examples"), &with_file)
            .await
            .unwrap();
        assert_eq!(sorted(parsed(&response)), expected);
        // A parameter kiln does not know is refused by name.
        app.parameters = Some(json!([{"name": "colour", "string": "red"}]));
        let status = generate(&mut client, tree.path(), &app).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(
            status.message().contains("unknown parameter `colour`"),
            "{}",
            status.message()
        );
    });
}

#[test]
fn parameters_tab_announces_kiln_parameters() {
    let server = Server::default_server();
    let mut client = server.client();
    let tree = bare_chart();
    let app = application("charts/webapp");
    let tarball = client::tarball(tree.path(), &[]).unwrap();
    server.block_on(async {
        // The app-details sequence: the pre-flight, then the announcement
        // with the smaller environment.
        client.check_plugin_configuration(()).await.unwrap();
        let answer = client
            .get_parameters_announcement(client::streaming(
                stream(&app.path, &app.details_env(), &tarball),
                None,
            ))
            .await
            .unwrap()
            .into_inner();
        let names: Vec<&str> = answer
            .parameter_announcements
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "namespace",
                "release-name",
                "values",
                "set",
                "set-string",
                "include-crds",
                "skip-tests"
            ]
        );
        let release = &answer.parameter_announcements[1];
        assert_eq!(release.string, "web", "defaults to the Application's name");
        let shop = repo().join("examples/shop");
        let tarball = client::tarball(&shop, &[]).unwrap();
        let answer = client
            .get_parameters_announcement(client::streaming(
                stream("overlays/prod", &app.details_env(), &tarball),
                None,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            answer.parameter_announcements.len(),
            1,
            "a kustomize app takes only the namespace"
        );
    });
    assert!(server.leftovers().is_empty(), "{:?}", server.leftovers());
}

/// Writes `app/secret.yaml`, a Secret whose password is SOPS-encrypted
/// to a fresh age key, under `root`; returns the age identity and the
/// plaintext password.
pub(crate) fn sops_app(root: &Path) -> (String, &'static str) {
    let (identity, recipient) = sealer::age_keygen();
    let mut s = sealer::Sealer::new(7);
    let armored = sealer::age_wrap(&s.data_key, &recipient);
    let plain = "correct-horse-battery-staple";
    let pw = s.enc(plain, "stringData:password:", "str");
    let mac = s.mac(&[plain], true);
    write(
        root,
        "app/secret.yaml",
        &format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n    name: db\ntype: Opaque\nstringData:\n    password: {pw}\nsops:\n    age:\n        - recipient: {recipient}\n          enc: |\n{}    lastmodified: \"{}\"\n    mac: {mac}\n    encrypted_regex: ^(data|stringData)$\n    mac_only_encrypted: true\n    version: 3.9.0\n",
            sealer::indent(&armored, 12),
            sealer::LASTMODIFIED,
        ),
    );
    (identity, plain)
}

#[test]
fn sops_app_is_refused_without_the_opt_in_and_decrypted_with_it() {
    let tree = tempfile::tempdir().unwrap();
    let (identity, plain) = sops_app(tree.path());
    let app = application("app");
    // Without the opt-in: refused, saying why and what to do.
    {
        let server = Server::default_server();
        let mut client = server.client();
        let status = server
            .block_on(generate(&mut client, tree.path(), &app))
            .unwrap_err();
        assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
        assert!(
            status.message().contains("SOPS decryption is off"),
            "{}",
            status.message()
        );
        assert!(
            status.message().contains("--allow-sops"),
            "{}",
            status.message()
        );
        assert!(status.message().contains("Redis"), "{}", status.message());
    }
    // With it and a key mounted in the sidecar: decrypted, never at rest.
    let server = Server::start(
        |s| {
            s.sops = true;
            s.operator.keys = vec![kiln::cmp::SopsKey {
                name: "team-a".into(),
                secret: "sops-age-keys",
                bytes: identity.clone().into_bytes(),
            }];
        },
        None,
    );
    let mut client = server.client();
    let response = server
        .block_on(generate(&mut client, tree.path(), &app))
        .unwrap();
    let docs = parsed(&response);
    let secret = docs.iter().find(|d| d["kind"] == "Secret").unwrap();
    assert_eq!(secret["stringData"]["password"], plain);
    assert!(secret.get("sops").is_none());
    // A key the sidecar does not hold is refused by name.
    let mut other = app.clone();
    other.parameters = Some(json!([{"name": "sops-keys", "array": ["team-b"]}]));
    let status = server
        .block_on(generate(&mut client, tree.path(), &other))
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("`team-b`"),
        "{}",
        status.message()
    );
    assert!(server.leftovers().is_empty());
    let key_line = identity
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .unwrap();
    let mut hits = scan(server.dir.path(), &[plain, key_line]);
    hits.extend(scan(&crate::harness::compiled_cache(), &[plain, key_line]));
    assert!(hits.is_empty(), "found at rest: {hits:?}");
}

pub(crate) fn scan(dir: &Path, needles: &[&str]) -> Vec<String> {
    let mut hits = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            hits.extend(scan(&path, needles));
        } else {
            let bytes = std::fs::read(&path).unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes);
            for n in needles {
                if text.contains(n) {
                    hits.push(format!("{} contains {n:?}", path.display()));
                }
            }
        }
    }
    hits
}

#[test]
fn a_plugin_failure_is_a_status_naming_the_step_plugin_and_file() {
    let server = Server::default_server();
    let mut client = server.client();
    let tree = tempfile::tempdir().unwrap();
    write(
        tree.path(),
        "chart/Chart.yaml",
        "apiVersion: v2\nname: broken\nversion: 0.1.0\n",
    );
    write(
        tree.path(),
        "chart/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: {{ required \"set .Values.needed\" .Values.needed }}\n",
    );
    let status = server
        .block_on(generate(&mut client, tree.path(), &application("chart")))
        .unwrap_err();
    let message = status.message();
    assert_eq!(status.code(), Code::InvalidArgument, "{message}");
    assert!(
        message.starts_with("kiln: app `chart`: step `helm` (plugin `helm`) failed"),
        "{message}"
    );
    assert!(
        message.contains("templates/cm.yaml"),
        "names the file: {message}"
    );
    assert!(
        message.contains("set .Values.needed"),
        "carries the chart's message: {message}"
    );
    assert!(server.leftovers().is_empty());
}

#[test]
fn an_unknown_app_path_is_not_found() {
    let server = Server::default_server();
    let mut client = server.client();
    let status = server
        .block_on(generate(
            &mut client,
            &repo().join("examples/shop"),
            &application("overlays/nope"),
        ))
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert!(
        status.message().contains("`overlays/nope`"),
        "{}",
        status.message()
    );
    assert!(server.leftovers().is_empty());
}

/// Counts how many renders run at once, and renders with `inner` after `delay`.
struct Counting {
    inner: Arc<dyn Renderer>,
    now: AtomicUsize,
    most: AtomicUsize,
    delay: Duration,
}

impl Renderer for Counting {
    fn render(&self, job: &Job) -> anyhow::Result<Output> {
        let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(n, Ordering::SeqCst);
        std::thread::sleep(self.delay);
        let out = self.inner.render(job);
        self.now.fetch_sub(1, Ordering::SeqCst);
        out
    }
}

#[test]
fn many_concurrent_requests_are_bounded_and_all_answered() {
    let counting = Arc::new(Counting {
        inner: service_renderer(),
        now: AtomicUsize::new(0),
        most: AtomicUsize::new(0),
        delay: Duration::from_millis(50),
    });
    let server = Server::start(
        |s| s.concurrency = 3,
        Some(Arc::clone(&counting) as Arc<dyn Renderer>),
    );
    let root = repo().join("examples/shop");
    let client = server.client();
    let results = server.block_on(async {
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let mut client = client.clone();
                let root = root.clone();
                let mut app = application(if i % 2 == 0 {
                    "overlays/prod"
                } else {
                    "overlays/dev"
                });
                app.namespace = String::new();
                tokio::spawn(async move { generate(&mut client, &root, &app).await })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    });
    let prod = sorted(yaml_docs(
        &repo().join("tests/cases/shop-prod/expected.yaml"),
    ));
    for (i, r) in results.iter().enumerate() {
        let response = r.as_ref().unwrap_or_else(|s| panic!("request {i}: {s:?}"));
        if i % 2 == 0 {
            assert_eq!(sorted(parsed(response)), prod);
        }
    }
    let most = counting.most.load(Ordering::SeqCst);
    assert!(
        (1..=3).contains(&most),
        "at most 3 renders at once, saw {most}"
    );
    assert!(server.wait_clean(Duration::from_secs(5)).is_empty());
}

/// A render that takes this long.
struct Slow(Duration);

impl Renderer for Slow {
    fn render(&self, _job: &Job) -> anyhow::Result<Output> {
        std::thread::sleep(self.0);
        Ok(Output {
            resources: Vec::new(),
            steps: Vec::new(),
        })
    }
}

#[test]
fn the_callers_deadline_is_honoured() {
    let server = Server::start(
        |s| s.concurrency = 1,
        Some(Arc::new(Slow(Duration::from_secs(5)))),
    );
    let client = server.client();
    let root = repo().join("examples/shop");
    let app = application("overlays/prod");
    let tarball = client::tarball(&root, &[]).unwrap();
    let messages = stream(&app.path, &app.generate_env(), &tarball);
    let (first, second, elapsed) = server.block_on(async {
        let started = Instant::now();
        let send = |mut c: kiln_cmp_proto::config_management_plugin_service_client::ConfigManagementPluginServiceClient<tonic::transport::Channel>| {
            let messages = messages.clone();
            async move {
                c.generate_manifest(client::streaming(messages, Some(Duration::from_secs(2)))).await
            }
        };
        let (a, b) = tokio::join!(send(client.clone()), send(client.clone()));
        (a, b, started.elapsed())
    });
    // One request renders past its deadline; the other waits for the only slot.
    let mut messages: Vec<String> = Vec::new();
    for r in [first, second] {
        let status = r.unwrap_err();
        assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
        messages.push(status.message().to_owned());
    }
    messages.sort();
    assert!(
        messages[0].contains("while rendering app `overlays/prod`"),
        "{messages:?}"
    );
    assert!(
        messages[1].contains("while waiting for a render slot"),
        "{messages:?}"
    );
    assert!(
        elapsed < Duration::from_secs(4),
        "answered before the render ended: {elapsed:?}"
    );
    // The abandoned render still cleans up after itself.
    assert!(server.wait_clean(Duration::from_secs(15)).is_empty());
}

#[test]
fn graceful_stop_lets_requests_in_flight_finish_and_removes_the_socket() {
    let mut server = Server::start(|_| {}, Some(Arc::new(Slow(Duration::from_millis(1500)))));
    let client = server.client();
    let root = repo().join("examples/shop");
    let app = application("overlays/prod");
    let handle = {
        let mut client = client.clone();
        server
            .rt
            .spawn(async move { generate(&mut client, &root, &app).await })
    };
    // Stop once the request is being rendered.
    let rendering = kiln::cmp::metrics::RpcLabels {
        rpc: "GenerateManifest".into(),
    };
    let until = Instant::now() + Duration::from_secs(30);
    while server.metrics.in_flight.get_or_create(&rendering).get() == 0
        || server.leftovers().is_empty()
    {
        assert!(Instant::now() < until, "the request never arrived");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(100));
    server.stop();
    let result = server.block_on(handle).unwrap();
    assert!(result.is_ok(), "the request in flight finished: {result:?}");
    assert!(!server.socket.exists(), "the socket is removed");
}

#[test]
fn argo_environment_and_parameters_reach_the_render() {
    let server = Server::default_server();
    let mut client = server.client();
    let tree = tempfile::tempdir().unwrap();
    write(
        tree.path(),
        "charts/env/Chart.yaml",
        "apiVersion: v2\nname: env\nversion: 0.1.0\n",
    );
    write(tree.path(), "charts/env/values.yaml", "colour: blue\n");
    write(
        tree.path(),
        "charts/env/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-env\n  namespace: {{ .Release.Namespace }}\ndata:\n  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n  widgets: {{ .Capabilities.APIVersions.Has \"widgets.example.com/v1\" | quote }}\n  colour: {{ .Values.colour | quote }}\n",
    );
    let data = |response: &kiln_cmp_proto::ManifestResponse| {
        let docs = parsed(response);
        assert_eq!(docs.len(), 1, "{docs:?}");
        docs[0].clone()
    };
    let mut app = application("charts/env");
    app.kube_version = "1.31.4".into();
    app.api_versions = vec!["v1".into(), "widgets.example.com/v1".into()];
    app.plugin_env = vec![("SET".into(), "colour=green".into())];
    server.block_on(async {
        // ARGOCD_APP_NAME, ARGOCD_APP_NAMESPACE, KUBE_VERSION,
        // KUBE_API_VERSIONS and an ARGOCD_ENV_ entry.
        let cm = data(&generate(&mut client, tree.path(), &app).await.unwrap());
        assert_eq!(cm["metadata"]["name"], "web-env");
        assert_eq!(cm["metadata"]["namespace"], "prod");
        assert_eq!(cm["data"]["kube"], "v1.31.4");
        assert_eq!(cm["data"]["widgets"], "true");
        assert_eq!(cm["data"]["colour"], "green");
        // Another cluster: another version, without the API.
        app.kube_version = "1.29.0".into();
        app.api_versions = vec!["v1".into()];
        let cm = data(&generate(&mut client, tree.path(), &app).await.unwrap());
        assert_eq!(cm["data"]["kube"], "v1.29.0");
        assert_eq!(cm["data"]["widgets"], "false");
        // ARGOCD_APP_PARAMETERS: a parameter wins over the env entry.
        app.parameters = Some(json!([{"name": "set", "map": {"colour": "red"}}]));
        let cm = data(&generate(&mut client, tree.path(), &app).await.unwrap());
        assert_eq!(cm["data"]["colour"], "red");
        // Without either, the chart's default.
        app.parameters = None;
        app.plugin_env.clear();
        let cm = data(&generate(&mut client, tree.path(), &app).await.unwrap());
        assert_eq!(cm["data"]["colour"], "blue");
    });
    assert!(server.leftovers().is_empty(), "{:?}", server.leftovers());
}

/// A tree with the test plugin `hostile.wasm` and an app running it in
/// `mode` after reading one `ConfigMap`.
fn hostile_app(mode: &str) -> tempfile::TempDir {
    let tree = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tree.path().join("plugins")).unwrap();
    std::fs::copy(
        env!("KILN_TEST_PLUGIN_HOSTILE"),
        tree.path().join("plugins/hostile.wasm"),
    )
    .unwrap();
    write(
        tree.path(),
        "app/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
    );
    write(
        tree.path(),
        "app/kiln.yaml",
        &format!(
            "apiVersion: kiln.dev/v1alpha1\nkind: Pipeline\nsteps:\n- plugin: directory\n- name: evil\n  plugin: ../plugins/hostile.wasm\n  with: {{mode: {mode}}}\n"
        ),
    );
    tree
}

#[test]
fn the_deadline_stops_a_plugin_call_in_flight_and_frees_its_slot() {
    // One slot, and a plugin time bound far past the test: only the
    // caller's deadline can stop the endless loop.
    let server = Server::start(
        |s| {
            s.concurrency = 1;
            s.operator.limits.time = Duration::from_mins(5);
        },
        None,
    );
    let client = server.client();
    let tree = hostile_app("loop");
    let app = application("app");
    let tarball = client::tarball(tree.path(), &[]).unwrap();
    let status = server
        .block_on(client.clone().generate_manifest(client::streaming(
            stream(&app.path, &app.generate_env(), &tarball),
            Some(Duration::from_secs(3)),
        )))
        .unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    // The plugin call was given the time left, so the loop is stopped and
    // the slot and the request's directory are released soon after.
    assert!(
        server.wait_clean(Duration::from_secs(20)).is_empty(),
        "the render goes on past the deadline"
    );
    let mut shop = application("overlays/prod");
    shop.namespace = String::new();
    let response = server
        .block_on(generate(
            &mut client.clone(),
            &repo().join("examples/shop"),
            &shop,
        ))
        .unwrap();
    assert!(!response.manifests.is_empty());
}

#[test]
fn the_operators_memory_cap_bounds_each_plugin_call() {
    let server = Server::start(|s| s.operator.limits.memory = 64 << 20, None);
    let mut client = server.client();
    let tree = hostile_app("alloc");
    let status = server
        .block_on(generate(&mut client, tree.path(), &application("app")))
        .unwrap_err();
    let message = status.message();
    assert_eq!(status.code(), Code::InvalidArgument, "{message}");
    assert!(
        message.contains("step `evil` (plugin `plugins/hostile.wasm`)"),
        "{message}"
    );
    assert!(
        message.contains("more than 67108864 bytes of memory"),
        "{message}"
    );
    assert!(server.leftovers().is_empty());
}
