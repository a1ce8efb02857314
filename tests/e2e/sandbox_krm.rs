//! Hostile KRM functions: the same bounds as a component's hold for a
//! `wasip1` command module and a `wasi:cli/run` component. Each function is
//! a few lines of WAT built here, so the test shows exactly what it does.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crate::sandbox::{WATCHDOG, run_within};
use crate::util::{Dir, MANIFESTS, Run};

/// A `wasip1` command whose `_start` runs `body`. `data` segments are laid
/// out from offset 1024 and named in `body` as `{0}`, `{1}`, … (offset)
/// and `{0.len}`, … (length). `$write (fd, ptr, len) -> errno` writes once.
fn module(body: &str, data: &[&str]) -> Vec<u8> {
    let mut segments = String::new();
    let mut body = body.to_owned();
    let mut at = 1024usize;
    for (i, text) in data.iter().enumerate() {
        let escaped = text.bytes().fold(String::new(), |mut out, b| {
            let _ = write!(out, "\\{b:02x}");
            out
        });
        let _ = writeln!(segments, "(data (i32.const {at}) \"{escaped}\")");
        body = body
            .replace(&format!("{{{i}.len}}"), &text.len().to_string())
            .replace(&format!("{{{i}}}"), &at.to_string());
        at += text.len().next_multiple_of(8);
    }
    let wat = format!(
        r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $environ_sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $prestat (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (memory (export "memory") 4)
  {segments}
  (func $write (param $fd i32) (param $ptr i32) (param $len i32) (result i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8)))
  (func (export "_start") (local $i i32) (local $e i32)
    {body}))"#
    );
    wat::parse_str(&wat).unwrap_or_else(|e| panic!("{e}\n{wat}"))
}

/// A `wasi:cli/run` component whose `run` executes `body` (core wasm with
/// one memory of one page), then returns `ok`.
fn command(body: &str) -> Vec<u8> {
    let wat = format!(
        r#"(component
  (core module $m
    (memory (export "memory") 1)
    (func (export "run") (result i32) {body} (i32.const 0)))
  (core instance $i (instantiate $m))
  (func $run (result (result)) (canon lift (core func $i "run")))
  (instance $run (export "run" (func $run)))
  (export "wasi:cli/run@0.2.0" (instance $run)))"#
    );
    wat::parse_str(&wat).unwrap_or_else(|e| panic!("{e}\n{wat}"))
}

/// An app whose pipeline reads manifests, then runs `wasm` as step `evil`.
fn app(wasm: &[u8]) -> Dir {
    let dir = Dir::new();
    dir.write("plugins/fn.wasm", wasm)
        .write("app/all.yaml", MANIFESTS)
        .write(
            "app/kiln.yaml",
            "apiVersion: kiln.dev/v1alpha1\nkind: Pipeline\nsteps:\n- plugin: directory\n- name: evil\n  plugin: ../plugins/fn.wasm\n",
        );
    dir
}

fn render(dir: &Dir, flags: &[&str]) -> Run {
    let mut args = vec!["render", "app", "--no-cache"];
    args.extend_from_slice(flags);
    run_within(dir, &args, WATCHDOG)
}

#[track_caller]
fn assert_step_error(run: &Run, expected: &str) -> String {
    let err = run.error().to_owned();
    assert!(
        err.contains("step `evil` (plugin `plugins/fn.wasm`)"),
        "names step and plugin:\n{err}"
    );
    assert!(err.contains(expected), "expected {expected:?} in:\n{err}");
    err
}

const LOOP: &str = "(loop $l (br $l))";
/// Grows memory a page at a time until refused, then traps as an
/// allocator that cannot allocate does.
const GROW: &str = "(block $d (loop $l (br_if $d (i32.eq (memory.grow (i32.const 1)) (i32.const -1))) (br $l))) unreachable";

#[test]
fn a_krm_function_that_never_ends_is_stopped_at_the_time_bound() {
    for (kind, wasm) in [("module", module(LOOP, &[])), ("component", command(LOOP))] {
        let start = Instant::now();
        let run = render(&app(&wasm), &["--timeout", "1s"]);
        assert_step_error(&run, "ran longer than 1s");
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{kind}: took {:?}",
            start.elapsed()
        );
    }
}

#[test]
fn a_krm_function_growing_past_the_memory_cap_is_stopped() {
    for wasm in [module(GROW, &[]), command(GROW)] {
        let run = render(&app(&wasm), &["--memory-limit", "32MiB"]);
        let err = assert_step_error(&run, "more than 33554432 bytes of memory");
        assert!(err.contains("limits.memory"), "{err}");
    }
}

/// Writes page 1 (64 KiB, minus one byte so the writes never end on the
/// cap exactly) to `fd` until a write fails, then exits with `code`.
fn flood(fd: u32, code: u32) -> Vec<u8> {
    module(
        &format!(
            "(loop $l (br_if $l (i32.eqz (call $write (i32.const {fd}) (i32.const 65536) (i32.const 65535)))))
             (call $exit (i32.const {code}))"
        ),
        &[],
    )
}

#[test]
fn unbounded_stdout_from_a_krm_function_fails_at_the_output_cap() {
    let run = render(
        &app(&flood(1, 0)),
        &["--output-limit", "1MiB", "--timeout", "10s"],
    );
    assert_step_error(&run, "more than the limit of 1048576 bytes");
}

#[test]
fn unbounded_stderr_from_a_krm_function_is_capped() {
    let run = render(&app(&flood(2, 1)), &["--timeout", "10s"]);
    let err = assert_step_error(&run, "exited with code 1");
    assert!(
        run.stderr.len() < 64 << 10,
        "{} bytes on kiln's stderr",
        run.stderr.len()
    );
    assert!(err.len() < 16 << 10, "{} bytes of error", err.len());
}

/// A `ResourceList` whose `items` hold `n` thousand copies of `item`.
fn list_of(field: &str, item: &str, thousands: u32) -> Vec<u8> {
    let head = format!(
        "{{\"apiVersion\":\"config.kubernetes.io/v1\",\"kind\":\"ResourceList\",\"{field}\":["
    );
    let block = format!("{item},").repeat(1000);
    let tail = format!("{item}]}}");
    module(
        &format!(
            "(drop (call $write (i32.const 1) (i32.const {{0}}) (i32.const {{0.len}})))
             (block $d (loop $l
               (br_if $d (i32.ge_u (local.get $i) (i32.const {thousands})))
               (drop (call $write (i32.const 1) (i32.const {{1}}) (i32.const {{1.len}})))
               (local.set $i (i32.add (local.get $i) (i32.const 1)))
               (br $l)))
             (drop (call $write (i32.const 1) (i32.const {{2}}) (i32.const {{2.len}})))"
        ),
        &[&head, &block, &tail],
    )
}

#[test]
fn a_krm_function_returning_too_many_resources_is_refused() {
    let run = render(&app(&list_of("items", "{}", 150)), &[]);
    assert_step_error(
        &run,
        "returned 150001 resources, more than the limit of 100000",
    );
    // Far more tiny values than that: refused by the parser's budget, not
    // after building them all.
    let run = render(&app(&list_of("items", "{}", 3000)), &[]);
    let err = assert_step_error(&run, "stdout is not YAML");
    assert!(err.contains("budget"), "{err}");
}

#[test]
fn the_results_of_a_krm_function_are_capped_in_count() {
    let run = render(
        &app(&list_of(
            "results",
            r#"{"severity":"warning","message":"w"}"#,
            20,
        )),
        &[],
    );
    // No items: the function emptied the app, with its warnings.
    run.success();
    assert!(
        run.stderr.len() < 2 << 20,
        "{} bytes on stderr",
        run.stderr.len()
    );
    assert!(
        run.stderr
            .contains("19001 more diagnostics (0 of them errors) were dropped"),
        "{}",
        &run.stderr[run.stderr.len().saturating_sub(2000)..]
    );
}

#[test]
fn a_krm_module_sees_no_files_and_no_environment() {
    // Exit codes say what the function could see; 0 only when it saw
    // nothing: no preopened directory at fd 3 (EBADF = 8), none of the
    // usual paths opened through it, and no environment variables.
    let body = "
        (if (i32.ne (call $prestat (i32.const 3) (i32.const 64)) (i32.const 8))
          (then (call $exit (i32.const 10))))
        (local.set $e (call $path_open (i32.const 3) (i32.const 1) (i32.const {0}) (i32.const {0.len})
          (i32.const 0) (i64.const 2) (i64.const 2) (i32.const 0) (i32.const 72)))
        (if (i32.eqz (local.get $e)) (then (call $exit (i32.const 11))))
        (local.set $e (call $path_open (i32.const 4) (i32.const 1) (i32.const {0}) (i32.const {0.len})
          (i32.const 0) (i64.const 2) (i64.const 2) (i32.const 0) (i32.const 72)))
        (if (i32.eqz (local.get $e)) (then (call $exit (i32.const 12))))
        (drop (call $environ_sizes (i32.const 80) (i32.const 84)))
        (if (i32.ne (i32.load (i32.const 80)) (i32.const 0)) (then (call $exit (i32.const 13))))
        (drop (call $write (i32.const 1) (i32.const {1}) (i32.const {1.len})))";
    let out = r#"{"apiVersion":"config.kubernetes.io/v1","kind":"ResourceList","items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"blind"}}]}"#;
    let dir = app(&module(body, &["etc/passwd", out]));
    let run = dir
        .kiln()
        .env("KILN_E2E_SECRET_ENV", "LEAKED-VALUE")
        .args(["render", "app", "--no-cache"])
        .run();
    assert!(run.success().contains("name: blind"), "{}", run.stdout);
    // The control: the same probe fails when it can see something (here,
    // its own check inverted: fd 3 answering EBADF is reported).
    let inverted = body.replace("(i32.ne (call $prestat", "(i32.eq (call $prestat");
    let run = render(&app(&module(&inverted, &["etc/passwd", out])), &[]);
    assert_step_error(&run, "exited with code 10");
}

#[test]
fn a_krm_module_sleeping_in_the_host_is_stopped_at_the_time_bound() {
    // One clock subscription (at 256) of u64::MAX nanoseconds: the module
    // blocks in `poll_oneoff`, outside wasm, where epochs cannot stop it.
    let body = "
        (i32.store8 (i32.const 264) (i32.const 0))
        (i32.store (i32.const 272) (i32.const 1))
        (i64.store (i32.const 280) (i64.const -1))
        (drop (call $poll (i32.const 256) (i32.const 512) (i32.const 1) (i32.const 600)))";
    let start = Instant::now();
    let run = render(&app(&module(body, &[])), &["--timeout", "1s"]);
    assert_step_error(&run, "ran longer than 1s");
    assert!(start.elapsed() < Duration::from_secs(20));
}

#[test]
fn items_that_are_not_objects_are_refused() {
    let out =
        r#"{"apiVersion":"config.kubernetes.io/v1","kind":"ResourceList","items":[1,"x",null,[]]}"#;
    let body = "(drop (call $write (i32.const 1) (i32.const {0}) (i32.const {0.len})))";
    let run = render(&app(&module(body, &[out])), &[]);
    assert_step_error(&run, "not a JSON object");
}
