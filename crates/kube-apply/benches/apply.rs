//! Applying 1,000 objects (`ConfigMap`s, `Deployment`s, `Service`s over four namespaces) to the
//! in-process emulator, then re-applying them unchanged (which must send zero writes).

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use kiln_kube::{Action, Applier, ApplyOptions, Manifests, Report, no_progress};
use kiln_test_apiserver::{Options, Server};
use serde_json::{Value, json};

const OBJECTS: usize = 1000;
const NAMESPACES: usize = 4;

fn render() -> Vec<Value> {
    let mut objs: Vec<Value> = (0..NAMESPACES)
        .map(|n| json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": format!("bench-{n}")}}))
        .collect();
    let mut i = 0;
    while objs.len() < OBJECTS {
        let ns = format!("bench-{}", i % NAMESPACES);
        let name = format!("app-{i}");
        objs.push(match i % 3 {
            0 => json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
                "data": {"index": i.to_string(), "mode": "bench"}}),
            1 => json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
                "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                  "template": {"metadata": {"labels": {"app": name}},
                    "spec": {"containers": [{"name": "main", "image": "nginx:1.27",
                      "ports": [{"containerPort": 8080}], "env": [{"name": "INDEX", "value": i.to_string()}]}]}}}}),
            _ => json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": name, "namespace": ns},
                "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]}}),
        });
        i += 1;
    }
    objs
}

async fn start() -> (Server, Applier) {
    let server = kiln_test_apiserver::start(Options::default())
        .await
        .expect("emulator starts");
    let mut config = kube::Config::new(server.url().parse().expect("server url"));
    "default".clone_into(&mut config.default_namespace);
    let client = kube::Client::try_from(config).expect("client");
    (
        server,
        Applier::new(client, ApplyOptions::new("bench", "default")),
    )
}

async fn apply(applier: &Applier, objs: Vec<Value>) -> Report {
    let report = applier
        .apply(Manifests::new(objs).expect("valid render"), &no_progress)
        .await
        .expect("apply runs");
    assert!(!report.failed(), "bench apply failed: {report:?}");
    report
}

#[expect(clippy::print_stderr, reason = "a benchmark reports its figures")]
fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let objs = render();
    let mut group = c.benchmark_group("apply_1000");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));

    group.bench_function("first apply", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                rt.block_on(async {
                    let (server, applier) = start().await;
                    let started = Instant::now();
                    let report = apply(&applier, objs.clone()).await;
                    let took = started.elapsed();
                    total += took;
                    assert_eq!(report.count(&Action::Created), OBJECTS);
                    eprintln!(
                        "first apply: {OBJECTS} objects in {took:.2?} = {:.0} objects/s, {} write requests",
                        ops(took),
                        server.requests().writes()
                    );
                });
            }
            total
        });
    });

    let (server, applier) = rt.block_on(start());
    rt.block_on(apply(&applier, objs.clone()));
    group.bench_function("re-apply unchanged", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                server.requests().clear();
                let started = Instant::now();
                let report = rt.block_on(apply(&applier, objs.clone()));
                let took = started.elapsed();
                total += took;
                let writes = server.requests().writes();
                assert_eq!(report.count(&Action::Unchanged), OBJECTS);
                assert_eq!(writes, 0, "an unchanged re-apply sends no writes");
                eprintln!(
                    "re-apply: {OBJECTS} objects in {took:.2?} = {:.0} objects/s, {writes} write requests, {} requests in all",
                    ops(took),
                    server.requests().entries().len()
                );
            }
            total
        });
    });
    group.finish();
}

#[expect(clippy::cast_precision_loss, reason = "a rate for display")]
fn ops(took: Duration) -> f64 {
    OBJECTS as f64 / took.as_secs_f64()
}

criterion_group!(benches, bench);
criterion_main!(benches);
