//! Hostile plugins: each misbehaviour ends in a clear error naming the step
//! and the plugin, exit code 2, within the configured bounds.

use std::time::{Duration, Instant};

use crate::util::{Dir, MANIFESTS, Run};

pub(crate) const HOSTILE: &str = env!("KILN_TEST_PLUGIN_HOSTILE");

/// An app whose pipeline reads manifests, then runs the hostile plugin.
pub(crate) fn hostile_app(mode: &str, arg: &str, extra: &str) -> Dir {
    let dir = Dir::new();
    dir.copy(HOSTILE, "plugins/hostile.wasm").write("app/all.yaml", MANIFESTS).write(
        "app/kiln.yaml",
        format!(
            "apiVersion: kiln.dev/v1alpha1\nkind: Pipeline\nsteps:\n- plugin: directory\n- name: evil\n  plugin: ../plugins/hostile.wasm\n  with: {{mode: {mode}, arg: {arg:?}}}\n{extra}"
        ),
    );
    dir
}

fn render(dir: &Dir, flags: &[&str]) -> Run {
    dir.kiln().args(["render", "app"]).args(flags).run()
}

#[track_caller]
fn assert_step_error(run: &Run, expected: &str) -> String {
    let err = run.error().to_owned();
    assert!(
        err.contains("step `evil` (plugin `plugins/hostile.wasm`)"),
        "names step and plugin:\n{err}"
    );
    assert!(err.contains(expected), "expected {expected:?} in:\n{err}");
    err
}

#[test]
fn a_trap_is_a_crash_report() {
    let run = render(&hostile_app("trap", "", ""), &[]);
    let err = assert_step_error(&run, "the plugin crashed");
    assert!(err.contains("unreachable"), "{err}");
    assert!(err.contains("hint: this is a bug in the plugin"), "{err}");
}

#[test]
fn a_panic_shows_the_panic_message() {
    let run = render(&hostile_app("panic", "", ""), &[]);
    assert_step_error(&run, "hostile plugin panics on purpose");
}

#[test]
fn an_endless_loop_is_stopped_at_the_time_bound() {
    let dir = hostile_app("loop", "", "");
    let start = Instant::now();
    let run = render(&dir, &["--timeout", "1s"]);
    assert_step_error(&run, "ran longer than 1s");
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "took {:?}",
        start.elapsed()
    );
}

#[test]
fn the_time_bound_can_be_set_per_step() {
    let dir = hostile_app("loop", "", "  limits: {timeout: 1s}\n");
    assert_step_error(&render(&dir, &[]), "ran longer than 1s");
}

#[test]
fn memory_past_the_cap_is_refused() {
    let run = render(&hostile_app("alloc", "", ""), &["--memory-limit", "64MiB"]);
    let err = assert_step_error(&run, "more than 67108864 bytes of memory");
    assert!(err.contains("limits.memory"), "{err}");
}

#[test]
fn output_past_the_cap_is_refused() {
    let run = render(
        &hostile_app("big-output", "4", ""),
        &["--output-limit", "1MiB"],
    );
    assert_step_error(&run, "more than the limit of 1048576 bytes");
}

#[test]
fn invalid_json_and_non_objects_are_refused() {
    assert_step_error(
        &render(&hostile_app("invalid-json", "", ""), &[]),
        "resource #0 that is not a JSON object: invalid JSON",
    );
    assert_step_error(
        &render(&hostile_app("non-object", "", ""), &[]),
        "resource #0 that is not a JSON object: found a JSON array",
    );
}

#[test]
fn dot_dot_past_the_root_is_refused() {
    for path in [
        "/src/../..",
        "/src/../../etc/passwd",
        "/src/../hostile-escape",
    ] {
        let run = render(&hostile_app("read", path, ""), &[]);
        let err = assert_step_error(&run, "cannot read");
        assert!(!err.contains("root:x:0:0"), "{err}");
    }
}

#[test]
fn absolute_host_paths_are_not_visible() {
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("host-secret.txt");
    std::fs::write(&secret, "TOP-SECRET-HOST-FILE").unwrap();
    let run = render(&hostile_app("read", secret.to_str().unwrap(), ""), &[]);
    let err = assert_step_error(&run, "cannot read");
    assert!(!err.contains("TOP-SECRET-HOST-FILE"));
}

#[test]
fn symlinks_out_of_the_root_are_refused() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("target.txt"), "OUTSIDE-THE-ROOT").unwrap();
    let dir = hostile_app("read", "/src/app/link.txt", "");
    std::os::unix::fs::symlink(
        outside.path().join("target.txt"),
        dir.path().join("app/link.txt"),
    )
    .unwrap();
    let run = render(&dir, &[]);
    let err = assert_step_error(&run, "cannot read /src/app/link.txt");
    assert!(!err.contains("OUTSIDE-THE-ROOT"));
    // A symlink that stays inside the root is fine.
    std::fs::remove_file(dir.path().join("app/link.txt")).unwrap();
    std::os::unix::fs::symlink("all.yaml", dir.path().join("app/link.txt")).unwrap();
    let docs = render(&dir, &[]).docs();
    assert!(
        docs[0]["data"]["content"]
            .as_str()
            .unwrap()
            .contains("kind: ConfigMap")
    );
}

#[test]
fn the_environment_and_arguments_are_empty() {
    let dir = hostile_app("env", "", "");
    let run = dir
        .kiln()
        .env("KILN_E2E_SECRET_ENV", "LEAKED-VALUE")
        .args(["render", "app"])
        .run();
    let err = assert_step_error(&run, "no environment variables or arguments are visible");
    assert!(!err.contains("LEAKED-VALUE"));
}

#[test]
fn sockets_cannot_connect() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let run = render(&hostile_app("socket", &addr, ""), &[]);
    assert_step_error(&run, &format!("cannot connect to {addr}"));
    assert!(
        listener.accept().is_err(),
        "the plugin reached the host's listener"
    );
}

#[test]
fn a_secret_that_is_not_granted_ends_the_call() {
    let dir = hostile_app("secret", "db-password", "  secrets: [api-token]\n");
    dir.write("token.txt", "s3cr3t-token");
    let run = render(
        &dir,
        &[
            "--secret",
            "api-token=token.txt",
            "--secret",
            "db-password=token.txt",
        ],
    );
    let err = assert_step_error(
        &run,
        "asked for secret `db-password`, which the pipeline does not grant to this step",
    );
    assert!(err.contains("hint: grant it in kiln.yaml"), "{err}");
    assert!(!err.contains("s3cr3t-token"));
}

#[test]
fn a_granted_secret_is_readable() {
    let dir = hostile_app("secret", "api-token", "  secrets: [api-token]\n");
    dir.write("token.txt", "s3cr3t-token");
    let docs = render(
        &dir,
        &[
            "--secret",
            "api-token=token.txt",
            "--grant-secret",
            "plugins/hostile.wasm=api-token",
        ],
    )
    .docs();
    assert_eq!(docs[0]["data"]["granted"], "api-token");
    assert_eq!(docs[0]["data"]["len"], "12");
}

#[test]
fn clock_and_randomness_are_deterministic() {
    let dir = hostile_app("entropy", "", "");
    let first = render(&dir, &[]).docs();
    let second = render(&dir, &[]).docs();
    assert_eq!(first, second, "same inputs, same bytes");
    assert_eq!(
        first[0]["data"]["now"], "0",
        "the wall clock is fixed at the Unix epoch"
    );
    dir.write(
        "app/more.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: more\n",
    );
    let third = render(&dir, &[]).docs();
    assert_ne!(
        first[0]["data"]["random"], third[0]["data"]["random"],
        "the seed follows the step's inputs"
    );
}

#[test]
fn plugin_logs_reach_stderr_not_stdout() {
    // A fresh word each run, so the step's output is never a cache hit.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let word = format!("hello-from-wasm-{nanos}");
    let run = render(&hostile_app("log", &word, ""), &[]);
    assert!(
        run.stderr.contains(&format!("hostile says {word}")),
        "{}",
        run.stderr
    );
    assert!(!run.success().contains(&word));
}

#[test]
fn a_failed_step_leaves_no_output_and_the_next_render_works() {
    let dir = hostile_app("panic", "", "");
    dir.kiln()
        .args(["render", "app", "--output-dir", "out"])
        .run()
        .error();
    assert!(!dir.path().join("out").exists(), "no partial output");
    dir.write(
        "app/kiln.yaml",
        "apiVersion: kiln.dev/v1alpha1\nkind: Pipeline\nsteps:\n- plugin: directory\n",
    );
    dir.kiln()
        .args(["render", "app", "--output-dir", "out"])
        .run()
        .success();
    assert!(dir.path().join("out/_cluster/configmap-one.yaml").is_file());
}

// Issue #12: a hostile repository or plugin, class by class.

/// Runs `kiln ARGS` in `dir` and kills it if it runs past `limit`: a bound
/// that does not hold fails the test instead of hanging it.
#[track_caller]
pub(crate) fn run_within(dir: &Dir, args: &[&str], limit: Duration) -> Run {
    use std::io::Read;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kiln"))
        .current_dir(dir.path())
        .env("KILN_CACHE_DIR", crate::util::shared_cache())
        .env_remove("KILN_LOG")
        .env("NO_COLOR", "1")
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("kiln runs");
    let reader = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = pipe.read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let stdout = reader(Box::new(child.stdout.take().unwrap()));
    let stderr = reader(Box::new(child.stderr.take().unwrap()));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("kiln {args:?} ran past {limit:?}: a time bound did not hold");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        code: status.code(),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// Well above the 1 s bound the tests set, well below "forever".
pub(crate) const WATCHDOG: Duration = Duration::from_secs(30);

fn mkfifo(path: &std::path::Path) {
    rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o644),
        0,
    )
    .unwrap();
}

#[test]
fn a_plugin_sleeping_in_the_host_is_stopped_at_the_time_bound() {
    // `subscribe-duration(u64::MAX)`, `subscribe-instant` far ahead, and an
    // hour's sleep: all wait in the host, where the epoch never fires.
    for arg in ["max", "instant", "3600000"] {
        let dir = hostile_app("sleep", arg, "");
        let run = run_within(&dir, &["render", "app", "--timeout", "1s"], WATCHDOG);
        assert_step_error(&run, "ran longer than 1s");
    }
}

#[test]
fn a_fifo_in_the_app_is_refused_without_blocking() {
    let dir = Dir::new();
    dir.write("app/all.yaml", MANIFESTS);
    mkfifo(&dir.path().join("app/trap.yaml"));
    let run = run_within(&dir, &["render", "app", "--timeout", "1s"], WATCHDOG);
    let err = run.error();
    assert!(err.contains("trap.yaml is not a regular file"), "{err}");
}

#[test]
fn a_plugin_cannot_open_a_fifo_or_a_device() {
    // A FIFO in the app is refused before any plugin runs (the source walk);
    // under `.git`, which the walk leaves out, the sandbox's open refuses it.
    let dir = hostile_app("read", "/src/.git/pipe", "");
    mkfifo(&dir.path().join(".git/pipe"));
    let run = run_within(&dir, &["render", "app", "--timeout", "1s"], WATCHDOG);
    assert_step_error(&run, "cannot read /src/.git/pipe");
    // Through an in-tree symlink too.
    let dir = hostile_app("read", "/src/.git/link", "");
    mkfifo(&dir.path().join(".git/pipe"));
    std::os::unix::fs::symlink("pipe", dir.path().join(".git/link")).unwrap();
    let run = run_within(&dir, &["render", "app", "--timeout", "1s"], WATCHDOG);
    assert_step_error(&run, "cannot read /src/.git/link");
}

#[test]
fn a_plugin_path_that_is_a_fifo_is_refused() {
    let dir = Dir::new();
    dir.write("app/all.yaml", MANIFESTS).write(
        "app/kiln.yaml",
        "apiVersion: kiln.dev/v1alpha1\nkind: Pipeline\nsteps:\n- plugin: ../plugins/pipe.wasm\n",
    );
    std::fs::create_dir(dir.path().join("plugins")).unwrap();
    mkfifo(&dir.path().join("plugins/pipe.wasm"));
    let run = run_within(&dir, &["render", "app", "--timeout", "1s"], WATCHDOG);
    let err = run.error();
    assert!(err.contains("plugins/pipe.wasm"), "{err}");
    assert!(err.contains("not a regular file"), "{err}");
    let run = run_within(&dir, &["plugin", "inspect", "plugins/pipe.wasm"], WATCHDOG);
    assert!(run.error().contains("not a regular file"), "{}", run.stderr);
}

#[test]
fn inspect_stops_an_info_call_at_the_time_bound() {
    let dir = Dir::new();
    dir.copy(HOSTILE, "hostile.wasm");
    let run = run_within(
        &dir,
        &["plugin", "inspect", "hostile.wasm", "--timeout", "1s"],
        WATCHDOG,
    );
    let err = run.error();
    assert!(err.contains("failed in info()"), "{err}");
    assert!(err.contains("ran longer than 1s"), "{err}");
}

#[test]
fn too_many_resources_are_refused() {
    let run = render(&hostile_app("many-resources", "200000", ""), &[]);
    let err = assert_step_error(
        &run,
        "returned 200000 resources, more than the limit of 100000",
    );
    assert!(err.contains("hint:"), "{err}");
}

// These render with `--no-cache`, so the plugin itself runs each time
// (that a cache hit shows the same lines again is tested in `cache.rs`).
#[test]
fn diagnostics_are_capped_in_count_and_bytes() {
    let run = render(&hostile_app("warnings", "300000", ""), &["--no-cache"]);
    run.success();
    assert!(
        run.stderr.len() < 2 << 20,
        "{} bytes on stderr",
        run.stderr.len()
    );
    assert!(
        run.stderr
            .contains("299000 more diagnostics (0 of them errors) were dropped"),
        "{}",
        &run.stderr[run.stderr.len().saturating_sub(2000)..]
    );
}

#[test]
fn plugin_logs_are_capped_in_bytes() {
    let run = render(&hostile_app("log-flood", "10000", ""), &["--no-cache"]);
    run.success();
    assert!(
        run.stderr.len() < 2 << 20,
        "{} bytes on stderr",
        run.stderr.len()
    );
    assert!(
        run.stderr.contains("the rest of its log is dropped"),
        "{}",
        &run.stderr[run.stderr.len().saturating_sub(2000)..]
    );
}

/// An app whose hostile step gets `arg` written as a YAML double-quoted
/// scalar (so it can hold `\n`, `\r` and `\e`).
fn hostile_app_yaml(mode: &str, quoted_arg: &str) -> Dir {
    let dir = hostile_app(mode, "", "");
    dir.write(
        "app/kiln.yaml",
        format!(
            "apiVersion: kiln.dev/v1alpha1\nkind: Pipeline\nsteps:\n- plugin: directory\n- name: evil\n  plugin: ../plugins/hostile.wasm\n  with: {{mode: {mode}, arg: \"{quoted_arg}\"}}\n"
        ),
    );
    dir
}

#[test]
fn plugin_text_cannot_forge_kiln_lines() {
    let forged = r"x\nerror: forged by the plugin\r\e[2Kerror: forged again\n";
    for mode in ["forge-log", "forge-warning", "forge-error"] {
        let run = render(&hostile_app_yaml(mode, forged), &["--no-cache"]);
        let stderr = &run.stderr;
        assert!(stderr.contains("forged by the plugin"), "{mode}: {stderr}");
        assert!(
            !stderr.lines().any(|l| l.starts_with("error: forged")),
            "{mode}: a forged line:\n{stderr}"
        );
        assert!(
            !stderr.contains(['\r', '\x1b']),
            "{mode}: raw control characters:\n{stderr:?}"
        );
        if mode == "forge-error" {
            assert_step_error(&run, "forged by the plugin");
            assert!(stderr.starts_with("error: step `evil`"), "{stderr}");
        } else {
            run.success();
        }
    }
}

/// Regression test for issue #12: a plugin's `RenderedText` replaced the
/// YAML stream on stdout while `-o json` and `--output-dir` used the
/// resources.
#[test]
fn a_plugins_rendered_text_never_replaces_the_stream() {
    let decoy = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: harmless\n";
    let dir = hostile_app("rendered-text", decoy, "");
    let yaml = render(&dir, &[]).docs();
    let json: Vec<serde_json::Value> =
        serde_json::from_str(render(&dir, &["-o", "json"]).success()).unwrap();
    assert_eq!(yaml, json, "stdout shows what the other outputs use");
    let names: Vec<&str> = yaml
        .iter()
        .map(|d| d["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["one", "two"]);
    // Even a text that is exactly the resources, from a plugin that is not
    // the built-in helm.
    let exact = render(&hostile_app("echo", "", ""), &[])
        .success()
        .to_owned();
    let dir = hostile_app("rendered-text", &format!("# a comment\n{exact}"), "");
    assert!(!render(&dir, &[]).success().contains("# a comment"));
}

/// Regression test for issue #12: `307445734561825861m` wrapped to 44 s.
#[test]
fn a_huge_timeout_fails_instead_of_wrapping() {
    let dir = hostile_app("echo", "", "  limits: {timeout: 307445734561825861m}\n");
    let err = render(&dir, &[]).error().to_owned();
    assert!(err.contains("longer than the maximum"), "{err}");
    let err = render(
        &hostile_app("echo", "", ""),
        &["--timeout", "18446744073709551615m"],
    )
    .stderr
    .clone();
    assert!(err.contains("longer than the maximum"), "{err}");
}
