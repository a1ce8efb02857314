//! Drives one scenario of `benches/cmp.sh`: N requests for apps of one
//! repository, each with the tarball Argo CD's repo-server builds and
//! streams, served three ways:
//!
//! - `cmp`: a warm `kiln cmp-server` (the tarball streamed in 1 KiB chunks),
//!   the repository unchanged since the server last answered for the app;
//! - `cmp-rev`: the same, with a new `ARGOCD_APP_REVISION` for every request
//!   (a new commit with the same content: not answered from the response
//!   cache, rendered from the render cache);
//! - `stock`: what the stock argocd-cmp-server does: unpack the tarball,
//!   then a `kiln render` process;
//! - `tool`: the same, with `kubectl kustomize` or `helm template`.
//!
//! Prints one Markdown table row per way: requests per second, p50, p99.
//!
//! ```text
//! cmp_bench --kiln BIN --socket SOCK --root DIR --apps a,b,c --requests N
//!           --tool 'kubectl kustomize {app}' [--kiln-args '...']
//! ```

#![expect(
    clippy::print_stdout,
    clippy::cast_precision_loss,
    reason = "a benchmark driver: it prints its table, and counts fit f64"
)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use kiln::cmp::client;
use kiln::cmp::unpack::{self, Caps};

struct Args {
    name: String,
    socket: PathBuf,
    root: PathBuf,
    apps: Vec<String>,
    requests: usize,
    kiln: PathBuf,
    extra: String,
    tool: String,
    modes: Vec<String>,
}

fn parse() -> Args {
    let mut args = Args {
        name: String::new(),
        socket: PathBuf::new(),
        root: PathBuf::new(),
        apps: Vec::new(),
        requests: 20,
        kiln: PathBuf::from("kiln"),
        extra: String::new(),
        tool: String::new(),
        modes: vec![
            "cmp".into(),
            "cmp-rev".into(),
            "stock".into(),
            "tool".into(),
        ],
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().expect("every flag takes a value");
        match flag.as_str() {
            "--name" => args.name = value,
            "--socket" => args.socket = value.into(),
            "--root" => args.root = value.into(),
            "--apps" => args.apps = value.split(',').map(str::to_owned).collect(),
            "--apps-file" => {
                args.apps = std::fs::read_to_string(value)
                    .expect("apps file")
                    .lines()
                    .map(str::to_owned)
                    .collect();
            }
            "--requests" => args.requests = value.parse().expect("a number"),
            "--kiln" => args.kiln = value.into(),
            "--kiln-args" => args.extra = value,
            "--tool" => args.tool = value,
            "--modes" => args.modes = value.split(',').map(str::to_owned).collect(),
            other => panic!("unknown flag {other}"),
        }
    }
    args
}

/// Unpacks the tarball as argocd-cmp-server does, into a fresh directory.
fn unpacked(tarball: &client::Tarball) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    unpack::unpack(
        &tarball.bytes[..],
        tarball.bytes.len() as u64,
        dir.path(),
        Caps::default(),
    )
    .expect("unpack");
    dir
}

/// Runs a shell command line in `cwd`, failing loudly.
fn run(line: &str, cwd: &Path) {
    let out = Command::new("sh")
        .arg("-c")
        .arg(line)
        .current_dir(cwd)
        .output()
        .expect("spawn");
    assert!(
        out.status.success(),
        "{line}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.stdout.is_empty(), "{line}: no output");
}

/// The nearest-rank percentile `pct` (0 to 100) of `sorted`.
fn percentile(sorted: &[Duration], pct: usize) -> Duration {
    let rank = (sorted.len() - 1) * pct.min(100) / 100;
    sorted[rank]
}

fn report(name: &str, way: &str, times: &mut [Duration], wall: Duration) {
    times.sort();
    println!(
        "| {name} | {way} | {} | {:.1} | {:.1} | {:.1} |",
        times.len(),
        times.len() as f64 / wall.as_secs_f64(),
        percentile(times, 50).as_secs_f64() * 1000.0,
        percentile(times, 99).as_secs_f64() * 1000.0,
    );
}

fn main() {
    let args = parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let apps: Vec<&String> = (0..args.requests)
        .map(|i| &args.apps[i % args.apps.len()])
        .collect();
    let app_env = |path: &str| client::Application {
        name: path
            .rsplit('/')
            .next()
            .filter(|n| *n != ".")
            .unwrap_or("app")
            .to_owned(),
        path: path.to_owned(),
        kube_version: "1.30.0".into(),
        ..client::Application::default()
    };
    for mode in &args.modes {
        let mut times = Vec::with_capacity(apps.len());
        let wall = Instant::now();
        match mode.as_str() {
            "cmp" | "cmp-rev" => {
                let fresh = mode == "cmp-rev";
                let mut c = rt.block_on(client::connect(&args.socket)).expect("connect");
                let mut sent = 0u64;
                let mut one = |app: &str| {
                    let tarball = client::tarball(&args.root, &[".git/*".into()]).expect("tar");
                    let mut application = app_env(app);
                    if fresh {
                        sent += 1;
                        application.revision = format!("{sent:040x}");
                    }
                    let env = application.generate_env();
                    let messages = client::messages(app, &env, &tarball, client::DEFAULT_CHUNK);
                    let r = rt
                        .block_on(c.generate_manifest(client::streaming(messages, None)))
                        .expect("generate");
                    assert!(!r.into_inner().manifests.is_empty());
                };
                // Each app once first: the server has been running a while.
                for app in args.apps.iter().take(args.requests) {
                    one(app);
                }
                let wall = Instant::now();
                for app in &apps {
                    let start = Instant::now();
                    one(app);
                    times.push(start.elapsed());
                }
                let way = if fresh {
                    "kiln cmp-server (warm, new commit)"
                } else {
                    "kiln cmp-server (warm, unchanged)"
                };
                report(&args.name, way, &mut times, wall.elapsed());
            }
            "stock" => {
                for app in &apps {
                    let start = Instant::now();
                    let tarball = client::tarball(&args.root, &[".git/*".into()]).expect("tar");
                    let dir = unpacked(&tarball);
                    let line = format!(
                        "{} render {app} --root {} --no-progress {}",
                        args.kiln.display(),
                        dir.path().display(),
                        args.extra
                    );
                    run(&line, dir.path());
                    times.push(start.elapsed());
                }
                report(
                    &args.name,
                    "kiln render per request",
                    &mut times,
                    wall.elapsed(),
                );
            }
            "tool" => {
                for app in &apps {
                    let start = Instant::now();
                    let tarball = client::tarball(&args.root, &[".git/*".into()]).expect("tar");
                    let dir = unpacked(&tarball);
                    run(&args.tool.replace("{app}", app), dir.path());
                    times.push(start.elapsed());
                }
                let tool = args
                    .tool
                    .split_whitespace()
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" ");
                let tool = tool.rsplit('/').next().unwrap_or(&tool).to_owned();
                report(
                    &args.name,
                    &format!("{tool} per request"),
                    &mut times,
                    wall.elapsed(),
                );
            }
            other => panic!("unknown mode {other}"),
        }
    }
}
