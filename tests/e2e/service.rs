//! The render service as a library: one long-lived object shared by
//! threads, served from its caches when nothing changed.

use std::sync::Arc;

use kiln::cache::CacheStatus;
use kiln::service::{
    AppRequest, Origin, RenderService, RenderSettings, ServiceConfig, TreeOutcome, TreeRequest,
};

use crate::util::{Dir, shared_cache};

/// A service over the tests' shared cache directory (each plugin is
/// compiled once per run; the apps' unique contents keep their renders
/// apart).
fn service() -> RenderService {
    RenderService::new(ServiceConfig::new(shared_cache())).expect("service")
}

/// A kustomize app whose `ConfigMap` carries `tag`, so that no other test
/// rendered the same content.
fn overlay(dir: &Dir, app: &str, tag: &str) {
    dir.write(
        &format!("{app}/kustomization.yaml"),
        "resources:\n- cm.yaml\ncommonLabels:\n  team: web\n",
    )
    .write(
        &format!("{app}/cm.yaml"),
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {tag}\ndata:\n  k: v\n"),
    );
}

fn request(dir: &Dir, app: &str) -> AppRequest {
    AppRequest {
        origin: Origin::local(dir.path().join(app), Some(dir.path().to_path_buf())),
        settings: RenderSettings::default(),
    }
}

fn unique_tag(dir: &Dir) -> String {
    dir.path()
        .file_name()
        .expect("a temp dir has a name")
        .to_string_lossy()
        .to_lowercase()
        .replace(|c: char| !c.is_ascii_alphanumeric(), "-")
}

#[test]
fn the_service_is_send_and_sync() {
    fn shared<T: Send + Sync + 'static>() {}
    shared::<RenderService>();
    shared::<Arc<RenderService>>();
}

#[test]
fn a_second_render_of_unchanged_content_is_a_cache_hit() {
    let dir = Dir::new();
    let tag = unique_tag(&dir);
    overlay(&dir, "app", &tag);
    let service = service();
    let first = service.render_app(&request(&dir, "app")).expect("renders");
    assert_eq!(first.resources.len(), 1);
    assert_eq!(first.resources[0]["metadata"]["name"], tag.as_str());
    assert_eq!(first.resources[0]["metadata"]["labels"]["team"], "web");
    assert_eq!(first.report.cache_hits(), 0, "{:?}", first.report.steps);
    assert!(
        first
            .report
            .steps
            .iter()
            .all(|s| s.cache == CacheStatus::Miss),
        "{:?}",
        first.report.steps
    );
    assert_eq!(first.report.app.name, "app");
    assert!(first.report.revision.is_none());
    let second = service.render_app(&request(&dir, "app")).expect("renders");
    assert!(second.report.all_cached(), "{:?}", second.report.steps);
    assert_eq!(second.resources, first.resources);
    assert_eq!(second.report.render_key(), first.report.render_key());

    // A change is seen: a miss, and the new content.
    dir.write(
        "app/cm.yaml",
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {tag}\ndata:\n  k: changed\n"),
    );
    let third = service.render_app(&request(&dir, "app")).expect("renders");
    assert_eq!(third.resources[0]["data"]["k"], "changed");
    assert!(!third.report.all_cached(), "{:?}", third.report.steps);
    assert_ne!(third.report.render_key(), first.report.render_key());
}

#[test]
fn the_same_content_in_a_fresh_directory_is_a_cache_hit() {
    // What a plugin server sees: every request unpacks the repository anew.
    let tag = unique_tag(&Dir::new());
    let service = service();
    let mut keys = Vec::new();
    for round in 0..2 {
        let dir = Dir::new();
        overlay(&dir, "apps/web", &tag);
        let rendered = service
            .render_app(&request(&dir, "apps/web"))
            .expect("renders");
        assert_eq!(rendered.resources[0]["metadata"]["name"], tag.as_str());
        assert_eq!(
            rendered.report.cache_hits() > 0,
            round == 1,
            "round {round}: {:?}",
            rendered.report.steps
        );
        keys.push(rendered.report.render_key().map(str::to_owned));
    }
    assert_eq!(keys[0], keys[1]);
}

#[test]
fn concurrent_renders_from_threads_share_one_service() {
    let dir = Dir::new();
    let tag = unique_tag(&dir);
    overlay(&dir, "a", &format!("{tag}-a"));
    overlay(&dir, "b", &format!("{tag}-b"));
    dir.write(
        "c/all.yaml",
        format!("apiVersion: v1\nkind: Service\nmetadata:\n  name: {tag}-c\n"),
    );
    let service = Arc::new(service());
    let dir = Arc::new(dir);
    let handles: Vec<_> = (0..9)
        .map(|i| {
            let service = Arc::clone(&service);
            let dir = Arc::clone(&dir);
            std::thread::spawn(move || {
                let app = ["a", "b", "c"][i % 3];
                let rendered = service.render_app(&request(&dir, app)).expect("renders");
                (app, rendered.resources)
            })
        })
        .collect();
    for handle in handles {
        let (app, resources) = handle.join().expect("no panic");
        assert_eq!(resources.len(), 1, "{app}");
        assert_eq!(resources[0]["metadata"]["name"], format!("{tag}-{app}"));
    }
    // Afterwards, each is a hit.
    for app in ["a", "b", "c"] {
        let rendered = service.render_app(&request(&dir, app)).expect("renders");
        assert!(
            rendered.report.all_cached(),
            "{app}: {:?}",
            rendered.report.steps
        );
    }
}

#[test]
fn a_plugin_failure_names_the_step_the_plugin_and_the_file() {
    let dir = Dir::new();
    dir.write(
        "app/ok.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n",
    )
    .write("app/bad.yaml", "kind: [\n");
    let service = service();
    let error = service
        .render_app(&request(&dir, "app"))
        .expect_err("bad YAML");
    let blame = kiln::service::blame(&error);
    assert_eq!(blame.step.as_deref(), Some("directory"), "{error:#}");
    assert_eq!(blame.plugin.as_deref(), Some("directory"), "{error:#}");
    assert!(
        blame
            .file
            .as_deref()
            .is_some_and(|f| f.starts_with("app/bad.yaml")),
        "{blame:?}: {error:#}"
    );

    // A chart's template error: the step and plugin, and the template in the message.
    dir.write(
        "chart/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    )
    .write(
        "chart/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  k: {{ required \"set k\" .Values.k }}\n",
    );
    let error = service
        .render_app(&request(&dir, "chart"))
        .expect_err("a required value is missing");
    let blame = kiln::service::blame(&error);
    assert_eq!(blame.step.as_deref(), Some("helm"), "{error:#}");
    assert_eq!(blame.plugin.as_deref(), Some("helm"), "{error:#}");
    let text = format!("{error:#}");
    assert!(
        text.contains("templates/cm.yaml") && text.contains("set k"),
        "{text}"
    );
}

#[test]
fn a_bad_pipeline_names_its_file_and_a_missing_app_has_a_hint() {
    let dir = Dir::new();
    dir.write(
        "app/kiln.yaml",
        "apiVersion: kiln.dev/v1alpha1\nkind: Pipeline\nsteps:\n- plugin: no-such-plugin\n",
    );
    let service = service();
    let error = service
        .render_app(&request(&dir, "app"))
        .expect_err("unknown plugin");
    let blame = kiln::service::blame(&error);
    assert_eq!(blame.plugin.as_deref(), Some("no-such-plugin"), "{error:#}");
    assert!(kiln::service::hint(&error).is_some_and(|h| h.contains("built-in plugin")));

    let error = service
        .render_app(&request(&dir, "nowhere"))
        .expect_err("no such app");
    assert!(format!("{error:#}").contains("nowhere"), "{error:#}");
    assert!(kiln::service::hint(&error).is_some(), "{error:#}");
}

#[test]
fn helm_settings_reach_the_chart_and_paths_must_stay_inside_the_root() {
    let dir = Dir::new();
    dir.write(
        "chart/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    )
    .write(
        "chart/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n  namespace: {{ .Release.Namespace }}\ndata:\n  a: {{ .Values.a }}\n  b: {{ .Values.b }}\n",
    )
    .write("values/prod.yaml", "a: from-file\n");
    let mut req = request(&dir, "chart");
    req.settings.namespace = Some("prod".into());
    req.settings.helm.release_name = Some("shop".into());
    req.settings.helm.values = vec![dir.path().join("values/prod.yaml")];
    req.settings.helm.set = vec!["b=from-set".into()];
    let rendered = service().render_app(&req).expect("renders");
    let cm = &rendered.resources[0];
    assert_eq!(cm["metadata"]["name"], "shop");
    assert_eq!(cm["metadata"]["namespace"], "prod");
    assert_eq!(cm["data"]["a"], "from-file");
    assert_eq!(cm["data"]["b"], "from-set");

    let outside = tempfile::NamedTempFile::new().expect("temp file");
    req.settings.helm.values = vec![outside.path().to_path_buf()];
    let error = service().render_app(&req).expect_err("outside the root");
    assert!(
        format!("{error:#}").contains("outside the source root"),
        "{error:#}"
    );
}

#[test]
fn a_tree_renders_every_app_and_a_second_run_keeps_them() {
    let dir = Dir::new();
    let tag = unique_tag(&dir);
    overlay(&dir, "apps/a", &format!("{tag}-a"));
    overlay(&dir, "apps/b", &format!("{tag}-b"));
    let request = TreeRequest {
        root: Origin::local(dir.path().join("apps"), Some(dir.path().to_path_buf())),
        settings: RenderSettings::default(),
        jobs: 2,
        stream: Some(kiln::backend::stdout::Format::Yaml),
        memo: true,
        memo_context: String::new(),
    };
    // Stamps younger than two seconds are not trusted (see `kiln::stamp`).
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let service = service();
    let first = service.render_tree(&request).expect("renders");
    let labels: Vec<&str> = first.apps.iter().map(|a| a.label.as_str()).collect();
    assert_eq!(labels, ["a", "b"]);
    assert_eq!(first.failed(), 0);
    assert!(
        first
            .apps
            .iter()
            .all(|a| matches!(a.outcome, TreeOutcome::Rendered(Ok(_))))
    );
    let stream = first.stream.clone().expect("a stream");
    assert!(stream.starts_with("# app: a\n"), "{stream}");
    assert!(stream.contains(&format!("name: {tag}-b")), "{stream}");

    let second = service.render_tree(&request).expect("renders");
    assert!(
        second
            .apps
            .iter()
            .all(|a| matches!(a.outcome, TreeOutcome::Kept)),
        "{:?}",
        second.apps
    );
    assert_eq!(second.stream.as_deref(), Some(stream.as_str()));

    // An app whose render fails is an outcome; the others still render.
    dir.write("apps/b/kustomization.yaml", "resources:\n- missing.yaml\n");
    let third = service.render_tree(&request).expect("renders");
    assert_eq!(third.failed(), 1);
    let stream = third.stream.expect("a stream");
    assert!(stream.contains(&format!("name: {tag}-a")), "{stream}");
    assert!(!stream.contains(&format!("name: {tag}-b")), "{stream}");
}

#[test]
fn without_memos_unchanged_content_is_still_a_cache_hit_and_changes_are_seen() {
    let dir = Dir::new();
    let tag = unique_tag(&dir);
    overlay(&dir, "apps/a", &format!("{tag}-a"));
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let mut config = ServiceConfig::new(shared_cache());
    config.memo = false;
    let service = RenderService::new(config).expect("service");
    let first = service
        .render_app(&request(&dir, "apps/a"))
        .expect("renders");
    assert_eq!(first.report.cache_hits(), 0, "{:?}", first.report.steps);
    let second = service
        .render_app(&request(&dir, "apps/a"))
        .expect("renders");
    assert!(
        second
            .report
            .steps
            .iter()
            .all(|s| s.cache == CacheStatus::Hit),
        "from the step cache, not a memo: {:?}",
        second.report.steps
    );
    // A tree run keeps no app it cannot watch.
    let tree = TreeRequest {
        root: Origin::local(dir.path().join("apps"), Some(dir.path().to_path_buf())),
        settings: RenderSettings::default(),
        jobs: 1,
        stream: Some(kiln::backend::stdout::Format::Yaml),
        memo: true,
        memo_context: String::new(),
    };
    service.render_tree(&tree).expect("renders");
    dir.write(
        "apps/a/cm.yaml",
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {tag}-a\ndata:\n  k: new\n"),
    );
    let again = service.render_tree(&tree).expect("renders");
    assert!(
        again.stream.is_some_and(|s| s.contains("k: new")),
        "the change is seen"
    );
}

/// One server rendering for many tenants: a tenant who copies another's
/// chart and values, file for file, still gets other passwords, since the
/// scope (Argo CD's repository URL, an agent's repository) keys the random
/// values; the same scope renders the same values again, from the cache
/// too.
#[test]
fn another_tenant_with_the_same_files_draws_other_random_values() {
    let dir = Dir::new();
    dir.write("app/Chart.yaml", "apiVersion: v2\nname: app\nversion: 1.0.0\n")
        .write(
            "app/templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: generated\ndata:\n  password: {{ randAlphaNum 32 | quote }}\n",
        );
    let service = service();
    let password = |scope: &str| {
        let mut req = request(&dir, "app");
        req.settings.render_seed = Some(kiln::pipeline::RenderSeed::from_secret(b"one operator"));
        req.settings.seed_scope = Some(scope.to_owned());
        let out = service.render_app(&req).expect("renders");
        (
            out.resources[0]["data"]["password"]
                .as_str()
                .expect("a password")
                .to_owned(),
            out.report.all_cached(),
        )
    };
    let (first, _) = password("https://git.example/team-a");
    let (again, cached) = password("https://git.example/team-a");
    assert_eq!(again, first);
    assert!(cached, "the same scope is served by the cache");
    let (other, _) = password("https://git.example/team-b");
    assert_ne!(other, first);
}
