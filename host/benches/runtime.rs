//! Plugin call overhead and component loading.
//!
//! `cargo bench -p kiln --bench runtime`
//!
//! `KILN_BENCH_PLUGINS=rust=a.wasm,go=b.wasm,...` adds, per language, the
//! cold compile and a warm call on 100 resources of a plugin that sets a
//! label from `with: {team: payments}` (what `kiln plugin new` writes;
//! `benches/plugins.sh` builds every language's and runs this).

use std::path::Path;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use kiln::runtime::{Call, CompiledCache, Context, Grants, Limits, Runtime};

const NOOP: &str = env!("KILN_TEST_PLUGIN_HOSTILE");

fn context() -> Context {
    Context {
        app_name: "bench".into(),
        app_dir: ".".into(),
        namespace: None,
        source_revision: None,
        kube_version: "v1.32.0".into(),
        api_versions: Vec::new(),
        step: "noop".into(),
    }
}

fn call(c: &mut Criterion) {
    let wasm = std::fs::read(NOOP).expect("the test plugin is built by build.rs");
    let cache = tempfile::tempdir().expect("temp dir");
    let runtime = Runtime::new(Some(CompiledCache::new(cache.path()))).expect("runtime");
    let plugin = runtime.load("noop", &wasm).expect("loads");
    let root = tempfile::tempdir().expect("temp dir");
    let config = r#"{"mode":"echo"}"#;
    let one = vec![r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}"#.to_owned()];
    let mut group = c.benchmark_group("render-call");
    for (name, resources) in [("empty", Vec::new()), ("one-resource", one)] {
        group.bench_function(name, |b| {
            b.iter(|| {
                plugin
                    .render(Call {
                        step: "noop",
                        resources: &resources,
                        config,
                        context: context(),
                        source_root: root.path(),
                        limits: Limits::default(),
                        seed: [7; 32],
                        grants: Arc::new(Grants::default()),
                    })
                    .expect("echo succeeds")
            });
        });
    }
    group.finish();
}

fn load(c: &mut Criterion) {
    let wasm = std::fs::read(NOOP).expect("the test plugin is built by build.rs");
    let mut group = c.benchmark_group("load-component");
    group.sample_size(10);
    group.bench_function("cold-compile", |b| {
        b.iter(|| {
            let cache = tempfile::tempdir().expect("temp dir");
            let runtime = Runtime::new(Some(CompiledCache::new(cache.path()))).expect("runtime");
            runtime.load("noop", &wasm).expect("compiles");
        });
    });
    let warm_dir = tempfile::tempdir().expect("temp dir");
    Runtime::new(Some(CompiledCache::new(warm_dir.path())))
        .expect("runtime")
        .load("noop", &wasm)
        .expect("compiles");
    group.bench_function("warm-cache", |b| {
        b.iter(|| {
            let runtime = Runtime::new(Some(CompiledCache::new(warm_dir.path()))).expect("runtime");
            runtime.load("noop", &wasm).expect("loads");
        });
    });
    group.finish();
    let _ = Path::new(NOOP);
}

/// The plugins of `KILN_BENCH_PLUGINS` (`lang=path,...`), else the Rust
/// example that the templates copy.
fn language_plugins() -> Vec<(String, Vec<u8>)> {
    let list = std::env::var("KILN_BENCH_PLUGINS")
        .unwrap_or_else(|_| format!("hello={}", env!("KILN_TEST_PLUGIN_HELLO")));
    list.split(',')
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let (lang, path) = entry
                .split_once('=')
                .expect("KILN_BENCH_PLUGINS entries are lang=path");
            let wasm = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
            (lang.to_owned(), wasm)
        })
        .collect()
}

fn languages(c: &mut Criterion) {
    let resources: Vec<String> = (0..100)
        .map(|i| {
            format!(
                r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"cm-{i}","labels":{{"app":"web"}}}},"data":{{"key":"value"}}}}"#
            )
        })
        .collect();
    let root = tempfile::tempdir().expect("temp dir");
    for (lang, wasm) in language_plugins() {
        let mut group = c.benchmark_group(format!("language/{lang}"));
        group.sample_size(10);
        group.bench_function("cold-compile", |b| {
            b.iter(|| {
                let cache = tempfile::tempdir().expect("temp dir");
                let runtime =
                    Runtime::new(Some(CompiledCache::new(cache.path()))).expect("runtime");
                runtime.load(&lang, &wasm).expect("compiles");
            });
        });
        let runtime = Runtime::new(None).expect("runtime");
        let plugin = runtime.load(&lang, &wasm).expect("compiles");
        group.bench_function("warm-call-100", |b| {
            b.iter(|| {
                plugin
                    .render(Call {
                        step: "team",
                        resources: &resources,
                        config: r#"{"team":"payments"}"#,
                        context: context(),
                        source_root: root.path(),
                        limits: Limits::default(),
                        seed: [7; 32],
                        grants: Arc::new(Grants::default()),
                    })
                    .expect("the plugin succeeds")
            });
        });
        group.finish();
    }
}

criterion_group!(benches, call, load, languages);
criterion_main!(benches);
