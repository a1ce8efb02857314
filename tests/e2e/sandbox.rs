//! Hostile plugins: each misbehaviour ends in a clear error naming the step
//! and the plugin, exit code 2, within the configured bounds.

use std::time::{Duration, Instant};

use crate::util::{Dir, MANIFESTS, Run};

const HOSTILE: &str = env!("KILN_TEST_PLUGIN_HOSTILE");

/// An app whose pipeline reads manifests, then runs the hostile plugin.
fn hostile_app(mode: &str, arg: &str, extra: &str) -> Dir {
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
