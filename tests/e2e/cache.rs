//! The render cache: hits, misses and `--explain`, damaged entries, LRU
//! eviction, secrets and failures kept out, `kiln cache`, and Redis.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use crate::util::{Dir, MANIFESTS, Run};

const PIPELINE: &str =
    "apiVersion: kiln.dev/v1alpha1\nkind: Pipeline\nsteps:\n- plugin: directory\n";

/// A tree with a cache directory of its own.
pub(crate) struct Fixture {
    pub(crate) dir: Dir,
    cache: tempfile::TempDir,
}

impl Fixture {
    /// An empty tree.
    pub(crate) fn bare() -> Self {
        Self {
            dir: Dir::new(),
            cache: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// A tree with one app.
    fn new() -> Self {
        let f = Self::bare();
        // One step, whatever pipeline detection would add.
        f.dir
            .write("app/all.yaml", MANIFESTS)
            .write("app/kiln.yaml", PIPELINE);
        f
    }

    pub(crate) fn kiln(&self, args: &[&str]) -> Run {
        self.dir
            .kiln()
            .env("KILN_CACHE_DIR", self.cache.path())
            .args(args)
            .run()
    }

    fn entries(&self) -> u64 {
        stat(&self.kiln(&["cache", "stats"]), "entries")
    }

    fn entry_files(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let root = self.cache.path().join("steps-v1/entries");
        for shard in std::fs::read_dir(root).into_iter().flatten().flatten() {
            out.extend(
                std::fs::read_dir(shard.path())
                    .expect("shard")
                    .flatten()
                    .map(|e| e.path()),
            );
        }
        out
    }
}

fn stat(run: &Run, name: &str) -> u64 {
    let out = run.success();
    let line = out
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no {name} in {out}"));
    line.split_whitespace()
        .next()
        .expect("a number")
        .parse()
        .expect("a number")
}

#[test]
fn a_second_render_hits_and_explain_names_what_changed() {
    let f = Fixture::new();
    let first = f.kiln(&["render", "app", "--explain"]);
    assert!(
        first
            .stderr
            .contains("step `directory` (directory): miss (no earlier render"),
        "{}",
        first.stderr
    );
    let second = f.kiln(&["render", "app", "--explain"]);
    assert!(
        second.stderr.contains("step `directory` (directory): hit"),
        "{}",
        second.stderr
    );
    assert_eq!(first.stdout, second.stdout, "a hit gives the same output");
    assert_eq!(f.entries(), 1);

    f.dir
        .write("app/all.yaml", MANIFESTS.replace("k: v", "k: w"));
    let changed = f.kiln(&["render", "app", "--explain"]);
    assert!(
        changed.stderr.contains("miss (changed: source tree)"),
        "{}",
        changed.stderr
    );
    assert!(changed.stdout.contains("k: w"));

    let ns = f.kiln(&["render", "app", "--explain", "-n", "other"]);
    assert!(
        ns.stderr.contains("miss (changed: context)"),
        "{}",
        ns.stderr
    );

    // A file outside the app that the app does not name does not count.
    f.dir.write("elsewhere/x.yaml", MANIFESTS);
    let unrelated = f.kiln(&["render", "app", "--explain", "-n", "other"]);
    assert!(unrelated.stderr.contains(": hit"), "{}", unrelated.stderr);

    let off = f.kiln(&["render", "app", "--explain", "--no-cache"]);
    assert!(
        off.stderr.contains("not cached (cache off)"),
        "{}",
        off.stderr
    );
}

#[test]
fn a_damaged_entry_is_dropped_and_rendered_again() {
    let f = Fixture::new();
    let good = f.kiln(&["render", "app"]);
    let files = f.entry_files();
    assert_eq!(files.len(), 1);
    let mut bytes = std::fs::read(&files[0]).expect("read");
    let n = bytes.len();
    bytes[n - 5] ^= 0x01;
    std::fs::write(&files[0], bytes).expect("write");
    let again = f.kiln(&["render", "app", "--explain"]);
    assert_eq!(again.stdout, good.stdout);
    assert!(again.stderr.contains("damaged"), "{}", again.stderr);
    assert!(
        again.stderr.contains("miss (same inputs as last time"),
        "{}",
        again.stderr
    );
    let third = f.kiln(&["render", "app", "--explain"]);
    assert!(
        third.stderr.contains(": hit"),
        "the entry was written again: {}",
        third.stderr
    );
}

#[test]
fn least_recently_used_entries_are_evicted_beyond_the_bound() {
    let f = Fixture::new();
    f.dir.write("b/all.yaml", MANIFESTS.replace("one", "uno"));
    f.dir.write("b/kiln.yaml", PIPELINE);
    f.kiln(&["render", "app"]).success();
    let one = stat(&f.kiln(&["cache", "stats"]), "bytes");
    let bound = (one + one / 2).to_string();
    f.kiln(&["render", "b", "--cache-max-size", &bound])
        .success();
    assert_eq!(f.entries(), 1, "the older entry went");
    let b = f.kiln(&["render", "b", "--explain"]);
    assert!(b.stderr.contains(": hit"), "{}", b.stderr);
    let a = f.kiln(&["render", "app", "--explain"]);
    assert!(
        a.stderr.contains("miss (same inputs as last time"),
        "{}",
        a.stderr
    );
}

#[test]
fn failures_and_secret_steps_are_not_cached_and_clear_empties() {
    let f = Fixture::new();
    f.dir.write("bad/x.yaml", "kind: [\n");
    f.kiln(&["render", "bad"]).error();
    assert_eq!(f.entries(), 0, "failures are not cached");

    f.dir.write(
        "secret/kiln.yaml",
        format!("{PIPELINE}  secrets: [token]\n- name: again\n  plugin: directory\n"),
    );
    f.dir.write("secret/cm.yaml", MANIFESTS);
    f.dir.write("token.txt", "s3cr3t");
    let run = f.kiln(&[
        "render",
        "secret",
        "--explain",
        "--secret",
        "token=token.txt",
        "--grant-secret",
        "directory=token",
    ]);
    run.success();
    assert!(
        run.stderr.contains(
            "step `directory` (directory): not cached (the step or one before it holds a secret)"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("step `again` (directory): not cached"),
        "{}",
        run.stderr
    );
    assert_eq!(f.entries(), 0);
    // Without the secret's value, the grant passes nothing on: cached.
    let ungiven = f.kiln(&["render", "secret", "--explain"]);
    assert!(
        ungiven.stderr.contains("step `again` (directory): miss"),
        "{}",
        ungiven.stderr
    );
    assert_eq!(f.entries(), 2);
    f.kiln(&["cache", "clear"]).success();

    f.kiln(&["render", "app"]).success();
    assert_eq!(f.entries(), 1);
    let gc = f.kiln(&["cache", "gc"]);
    assert!(gc.success().contains("removed 0 entries"), "{}", gc.stdout);
    f.kiln(&["cache", "clear"]).success();
    assert_eq!(f.entries(), 0);
}

#[test]
fn render_all_reports_failures_and_renders_the_rest() {
    let f = Fixture::new();
    for app in ["a", "b", "c"] {
        f.dir.write(&format!("apps/{app}/kiln.yaml"), PIPELINE);
        f.dir.write(
            &format!("apps/{app}/cm.yaml"),
            MANIFESTS.replace("one", app),
        );
    }
    f.dir.write("apps/b/broken.yaml", "kind: [\n");
    let out = f.dir.path().join("out");
    let run = f.kiln(&[
        "render",
        "--all",
        "apps",
        "--output-dir",
        out.to_str().expect("utf-8"),
        "-j",
        "2",
    ]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("error: app b failed"), "{}", run.stderr);
    assert!(out.join("a/_cluster/configmap-a.yaml").is_file());
    assert!(out.join("c/_cluster/configmap-c.yaml").is_file());
    assert!(!out.join("b").exists());
    std::fs::remove_file(f.dir.path().join("apps/b/broken.yaml")).expect("remove");
    let stream = f.kiln(&["render", "--all", "apps"]);
    let names: Vec<String> = stream
        .docs()
        .iter()
        .filter(|d| d["kind"] == "ConfigMap")
        .map(|d| d["metadata"]["name"].as_str().expect("name").to_owned())
        .collect();
    assert_eq!(names, ["a", "b", "c"], "in path order");
}

pub(crate) struct Redis(Child);

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn start_redis(dir: &Path) -> (Redis, u16) {
    let port = crate::git::free_port();
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .arg("--dir")
        .arg(dir)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("redis-server runs (Debian package redis-server)");
    let redis = Redis(child);
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return (redis, port);
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    panic!("redis-server did not listen on {port}");
}

#[test]
fn redis_is_shared_between_machines() {
    let f = Fixture::new();
    let (redis, port) = start_redis(f.cache.path());
    let url = format!("redis://127.0.0.1:{port}");
    let first = f.kiln(&["render", "app", "--explain", "--cache", &url]);
    assert!(first.stderr.contains("miss"), "{}", first.stderr);
    // Another machine: its own disk cache, the same redis (through KILN_CACHE).
    let other = tempfile::tempdir().expect("temp dir");
    let second = f
        .dir
        .kiln()
        .env("KILN_CACHE_DIR", other.path())
        .env("KILN_CACHE", &url)
        .args(["render", "app", "--explain"])
        .run();
    assert!(second.stderr.contains(": hit"), "{}", second.stderr);
    assert_eq!(first.stdout, second.stdout);
    assert_eq!(f.entries(), 0, "nothing went to the disk store");
    drop(redis);
    let down = f.kiln(&["render", "app", "--cache", &url]);
    let err = down.error();
    assert!(
        err.contains(&format!("cannot reach redis at 127.0.0.1:{port}")),
        "{err}"
    );
}

#[test]
fn a_failed_app_of_a_run_is_reported_with_its_causes_and_hint() {
    let f = Fixture::new();
    f.dir
        .write("apps/ok/kiln.yaml", PIPELINE)
        .write("apps/ok/cm.yaml", MANIFESTS)
        .write(
            "apps/bad/kiln.yaml",
            "apiVersion: kiln.dev/v1alpha1\nkind: Pipeline\nsteps:\n- plugin: nope\n",
        );
    let run = f.kiln(&["render", "--all", "apps"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stdout.contains("# app: ok"), "{}", run.stdout);
    assert!(
        run.stderr
            .contains("error: app bad failed:\n  step `nope` uses unknown plugin `nope`\nhint: use a built-in plugin"),
        "{}",
        run.stderr
    );
}

/// A cached render shows again what the plugins had shown (their log
/// lines and warnings, within the same caps) as cargo replays a cached
/// crate's warnings: from a step hit, from an app whose files did not
/// change, and from Redis on another machine.
#[test]
fn a_cache_hit_shows_the_plugins_warnings_and_log_again() {
    let f = Fixture::bare();
    f.dir
        .copy(crate::sandbox::HOSTILE, "plugins/hostile.wasm")
        .write("app/all.yaml", MANIFESTS)
        .write(
            "app/kiln.yaml",
            "apiVersion: kiln.dev/v1alpha1\nkind: Pipeline\nsteps:\n- plugin: directory\n\
             - name: logs\n  plugin: ../plugins/hostile.wasm\n  with: {mode: log, arg: once}\n\
             - name: warns\n  plugin: ../plugins/hostile.wasm\n  with: {mode: warnings, arg: '3'}\n\
             - name: floods\n  plugin: ../plugins/hostile.wasm\n  with: {mode: log-flood, arg: '200'}\n",
        );
    // Stamps this old are trusted: the memo of the first render holds.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let first = f.kiln(&["render", "app", "--explain"]);
    first.success();
    let explained = |run: &Run| -> String {
        run.stderr
            .lines()
            .filter(|l| l.starts_with("explain:"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let shown = |run: &Run| -> Vec<String> {
        run.stderr
            .lines()
            .filter(|l| l.contains("WARN"))
            .map(str::to_owned)
            .collect()
    };
    let expected = shown(&first);
    assert!(
        expected.iter().any(|l| l.contains("hostile says once")),
        "{}",
        first.stderr
    );
    assert!(expected.iter().any(|l| l.contains("warning number 2")));
    assert!(
        expected
            .last()
            .is_some_and(|l| l.contains("the rest of its log is dropped")),
        "{expected:?}"
    );
    // The app's files are untouched: served through its memo.
    let unchanged = f.kiln(&["render", "app", "--explain"]);
    assert!(
        unchanged.stderr.contains("no file the app reads changed"),
        "{}",
        explained(&unchanged)
    );
    assert_eq!(shown(&unchanged), expected, "from the memo");
    // A file is touched (its content is the same): each step is a hit.
    let all = f.dir.path().join("app/all.yaml");
    std::fs::File::options()
        .append(true)
        .open(&all)
        .unwrap()
        .set_modified(std::time::SystemTime::now())
        .unwrap();
    let hit = f.kiln(&["render", "app", "--explain"]);
    let explain = explained(&hit);
    assert!(explain.contains(": hit, key"), "{explain}");
    assert!(!explain.contains("miss"), "{explain}");
    assert_eq!(shown(&hit), expected, "from step hits");
    assert_eq!(hit.stdout, first.stdout);

    let (_redis, port) = start_redis(f.cache.path());
    let url = format!("redis://127.0.0.1:{port}");
    let miss = f.kiln(&["render", "app", "--cache", &url]);
    assert_eq!(shown(&miss), expected);
    let other = tempfile::tempdir().expect("temp dir");
    let from_redis = f
        .dir
        .kiln()
        .env("KILN_CACHE_DIR", other.path())
        .args(["render", "app", "--explain", "--cache", &url])
        .run();
    assert!(
        explained(&from_redis).contains(": hit, key"),
        "{}",
        explained(&from_redis)
    );
    assert_eq!(shown(&from_redis), expected, "from redis");
}

/// `render --all` shows again what the plugins of the apps it keeps from
/// its memo had shown, the whole run kept or only some of its apps.
#[test]
fn render_all_shows_the_warnings_of_kept_apps_again() {
    let f = Fixture::bare();
    f.dir.copy(crate::sandbox::HOSTILE, "plugins/hostile.wasm");
    for app in ["a", "b"] {
        f.dir.write(&format!("apps/{app}/all.yaml"), MANIFESTS).write(
            &format!("apps/{app}/kiln.yaml"),
            format!(
                "apiVersion: kiln.dev/v1alpha1\nkind: Pipeline\nsteps:\n- plugin: directory\n\
                 - name: warns\n  plugin: ../../plugins/hostile.wasm\n  with: {{mode: forge-warning, arg: 'app {app} warns'}}\n"
            ),
        );
    }
    let shown = |run: &Run| -> Vec<String> {
        run.success();
        let mut lines: Vec<String> = run
            .stderr
            .lines()
            .filter(|l| l.contains("WARN"))
            .map(str::to_owned)
            .collect();
        lines.sort();
        lines
    };
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let first = f.kiln(&["render", "--all", "apps"]);
    let expected = shown(&first);
    assert_eq!(expected.len(), 2, "{expected:?}");
    assert!(expected[0].contains("app a warns") && expected[1].contains("app b warns"));
    let kept = f.kiln(&["render", "--all", "apps"]);
    assert_eq!(shown(&kept), expected, "the whole run kept");
    assert_eq!(kept.stdout, first.stdout);
    // One app changes: the other is kept, this one rendered again.
    f.dir
        .write("apps/a/all.yaml", MANIFESTS.replace("k: v", "k: w"));
    let some = f.kiln(&["render", "--all", "apps"]);
    assert_eq!(shown(&some), expected, "one app kept");
}
