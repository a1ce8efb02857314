//! Git sources: `--repo`, `--rev`, mirrors, `git daemon`, `--offline`,
//! damaged mirrors, `--all` over a repository and `kiln diff`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use crate::util::{Run, TestCommand};

/// A fixture repository built by `tests/fixtures/make_<case>.sh`, with its
/// own kiln cache directory.
pub(crate) struct Repo {
    pub tmp: tempfile::TempDir,
}

impl Repo {
    pub(crate) fn make(case: &str) -> Self {
        let tmp = tempfile::tempdir().expect("temp dir");
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../tests/fixtures/make_{case}.sh"));
        let status = Command::new("bash")
            .arg(&script)
            .arg(tmp.path().join("repo"))
            .status()
            .expect("bash runs");
        assert!(status.success(), "{} failed", script.display());
        Self { tmp }
    }

    pub(crate) fn path(&self) -> PathBuf {
        self.tmp.path().join("repo")
    }

    pub(crate) fn url(&self) -> String {
        format!("file://{}", self.path().display())
    }

    pub(crate) fn cache(&self) -> PathBuf {
        self.tmp.path().join("cache")
    }

    /// `kiln` with this repo's cache.
    pub(crate) fn kiln(&self, args: &[&str]) -> Run {
        TestCommand::new()
            .env("KILN_CACHE_DIR", self.cache())
            .args(args)
            .run()
    }

    /// A path inside the work tree, as an argument.
    pub(crate) fn at(&self, rel: &str) -> String {
        self.path().join(rel).display().to_string()
    }

    pub(crate) fn rev_parse(&self, rev: &str) -> String {
        let out = Command::new("git")
            .arg("-C")
            .arg(self.path())
            .args(["rev-parse", rev])
            .output()
            .expect("git runs");
        String::from_utf8(out.stdout)
            .expect("utf-8")
            .trim()
            .to_owned()
    }
}

pub(crate) fn color(run: &Run) -> String {
    let docs = run.docs();
    let cm = docs
        .iter()
        .find(|d| d["kind"] == "ConfigMap")
        .expect("a ConfigMap");
    cm["data"]["color"].as_str().expect("a color").to_owned()
}

#[test]
fn renders_branches_tags_and_commits_over_file_urls() {
    let repo = Repo::make("history");
    let url = repo.url();
    assert_eq!(
        color(&repo.kiln(&[
            "render", "--repo", &url, "--rev", "v1", "--path", "apps/web"
        ])),
        "blue"
    );
    assert_eq!(
        color(&repo.kiln(&[
            "render", "--repo", &url, "--rev", "main", "--path", "apps/web"
        ])),
        "green"
    );
    assert_eq!(
        color(&repo.kiln(&["render", "--repo", &url, "--path", "apps/web"])),
        "green",
        "default: the remote HEAD"
    );
    let v1 = repo.rev_parse("v1^{commit}");
    assert_eq!(
        color(&repo.kiln(&["render", "--repo", &url, "--rev", &v1, "--path", "apps/web"])),
        "blue"
    );
    let extra = repo.kiln(&[
        "render",
        "--repo",
        &url,
        "--rev",
        "feature",
        "--path",
        "apps/extra",
    ]);
    assert_eq!(color(&extra), "red");
    let err = repo
        .kiln(&[
            "render",
            "--repo",
            &url,
            "--rev",
            "no-such-branch",
            "--path",
            "apps/web",
        ])
        .error()
        .to_owned();
    assert!(err.contains("revision `no-such-branch` not found"), "{err}");
}

#[test]
fn an_app_moved_between_commits_is_found_at_each_path() {
    let repo = Repo::make("history");
    let url = repo.url();
    let old = repo.kiln(&[
        "render", "--repo", &url, "--rev", "v1", "--path", "apps/api",
    ]);
    assert_eq!(old.docs()[0]["kind"], "Service");
    let err = repo
        .kiln(&[
            "render", "--repo", &url, "--rev", "v2", "--path", "apps/api",
        ])
        .error()
        .to_owned();
    assert!(err.contains("`apps/api` is not a directory"), "{err}");
    let moved = repo.kiln(&[
        "render",
        "--repo",
        &url,
        "--rev",
        "v2",
        "--path",
        "services/api",
    ]);
    assert_eq!(moved.docs()[0]["metadata"]["name"], "api");
}

#[test]
fn rev_reads_a_local_work_tree_at_another_commit() {
    let repo = Repo::make("history");
    std::fs::write(
        repo.path().join("apps/web/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  color: dirty\n",
    )
    .expect("write");
    let web = repo.at("apps/web");
    assert_eq!(color(&repo.kiln(&["render", &web])), "dirty");
    assert_eq!(color(&repo.kiln(&["render", &web, "--rev", "v1"])), "blue");
    assert_eq!(
        color(&repo.kiln(&["render", &web, "--rev", "HEAD"])),
        "green"
    );
}

#[test]
fn offline_uses_the_mirror_and_says_which_commit() {
    let repo = Repo::make("history");
    let url = repo.url();
    let err = repo
        .kiln(&["--offline", "render", "--repo", &url, "--path", "apps/web"])
        .error()
        .to_owned();
    assert!(err.contains("--offline"), "{err}");
    repo.kiln(&["render", "--repo", &url, "--path", "apps/web"])
        .success();
    // The remote goes away; the mirror still serves.
    std::fs::rename(repo.path(), repo.tmp.path().join("gone")).expect("rename");
    let run = repo.kiln(&[
        "--offline",
        "render",
        "--repo",
        &url,
        "--rev",
        "v1",
        "--path",
        "apps/web",
    ]);
    assert_eq!(color(&run), "blue");
    let v1 = Repo::commit_in(&repo.tmp.path().join("gone"), "v1^{commit}");
    assert!(
        run.stderr.contains(&format!("commit {v1}")),
        "{}",
        run.stderr
    );
    // Online, a failing fetch falls back to the mirror with a warning.
    let run = repo.kiln(&[
        "render", "--repo", &url, "--rev", "main", "--path", "apps/web",
    ]);
    assert_eq!(color(&run), "green");
    assert!(
        run.stderr.contains("fetch failed; using the mirror"),
        "{}",
        run.stderr
    );
}

impl Repo {
    fn commit_in(dir: &Path, rev: &str) -> String {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["rev-parse", rev])
            .output()
            .expect("git runs");
        String::from_utf8(out.stdout)
            .expect("utf-8")
            .trim()
            .to_owned()
    }
}

#[test]
fn a_damaged_mirror_is_fetched_again() {
    let repo = Repo::make("history");
    let url = repo.url();
    repo.kiln(&["render", "--repo", &url, "--path", "apps/web"])
        .success();
    let mirrors = repo.cache().join("git-v0/mirrors");
    let mirror = std::fs::read_dir(&mirrors)
        .expect("mirrors")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.is_dir())
        .expect("one mirror");
    let mut removed = 0;
    for dir in [mirror.join("objects/pack"), mirror.join("objects")] {
        for entry in std::fs::read_dir(&dir).expect("objects").flatten() {
            let p = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if p.is_file() || (name.len() == 2 && p.is_dir()) {
                if p.is_dir() {
                    std::fs::remove_dir_all(&p)
                } else {
                    std::fs::remove_file(&p)
                }
                .expect("remove");
                removed += 1;
            }
        }
    }
    assert!(removed > 0, "the mirror had objects");
    let run = repo.kiln(&[
        "render", "--repo", &url, "--rev", "v1", "--path", "apps/web",
    ]);
    assert_eq!(color(&run), "blue");
    assert!(run.stderr.contains("damaged"), "{}", run.stderr);
}

/// A child process, killed on drop.
pub(crate) struct Daemon(pub(crate) Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

pub(crate) fn wait_for(port: u16) {
    for _ in 0..400 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    panic!("nothing listens on port {port}");
}

#[test]
fn fetches_over_git_daemon_and_survives_it_going_away() {
    let repo = Repo::make("history");
    let port = free_port();
    // Run git-daemon itself: `git daemon` would be a parent process that
    // does not pass a kill on.
    let exec_path = Command::new("git")
        .arg("--exec-path")
        .output()
        .expect("git runs");
    let exec_path = String::from_utf8(exec_path.stdout).expect("utf-8");
    let daemon = Command::new(Path::new(exec_path.trim()).join("git-daemon"))
        .arg("--export-all")
        .arg("--reuseaddr")
        .arg(format!("--base-path={}", repo.tmp.path().display()))
        .arg(format!("--port={port}"))
        .arg("--listen=127.0.0.1")
        .spawn()
        .expect("git daemon starts");
    let daemon = Daemon(daemon);
    wait_for(port);
    let url = format!("git://127.0.0.1:{port}/repo");
    assert_eq!(
        color(&repo.kiln(&[
            "render", "--repo", &url, "--rev", "v1", "--path", "apps/web"
        ])),
        "blue"
    );
    drop(daemon);
    let run = repo.kiln(&[
        "render", "--repo", &url, "--rev", "main", "--path", "apps/web",
    ]);
    assert_eq!(color(&run), "green", "served from the mirror");
    assert!(run.stderr.contains("fetch failed"), "{}", run.stderr);
    let err = repo
        .kiln(&[
            "render",
            "--repo",
            &url,
            "--rev",
            "feature-x",
            "--path",
            "apps/web",
        ])
        .error()
        .to_owned();
    assert!(err.contains("failed to fetch git://127.0.0.1"), "{err}");
}

#[test]
fn renders_all_apps_of_a_revision_and_diffs_two_revisions() {
    let repo = Repo::make("history");
    let out = repo.tmp.path().join("out");
    let root = repo.at(".");
    let web = repo.at("apps/web");
    let run = repo.kiln(&[
        "render",
        "--all",
        &root,
        "--rev",
        "v1",
        "--output-dir",
        out.to_str().expect("utf-8"),
    ]);
    run.success();
    assert!(out.join("apps/web/_cluster/configmap-web.yaml").is_file());
    assert!(out.join("apps/api/_cluster/service-api.yaml").is_file());

    let diff = repo.kiln(&["diff", "--base", "v1", "--head", "v2", "--all", &root]);
    assert_eq!(diff.code, Some(1), "{}\n{}", diff.stdout, diff.stderr);
    assert!(
        diff.stdout.contains("--- base/apps/web/ConfigMap/_/web"),
        "{}",
        diff.stdout
    );
    assert!(
        diff.stdout.contains("-  color: blue\n+  color: green"),
        "{}",
        diff.stdout
    );
    assert!(
        diff.stdout.contains("+++ head/services/api/Service/_/api"),
        "{}",
        diff.stdout
    );
    assert!(
        !diff.stdout.contains("aHVudGVyMg"),
        "secret values are masked: {}",
        diff.stdout
    );
    assert!(diff.stdout.contains("'***"), "{}", diff.stdout);

    let same = repo.kiln(&["diff", "--base", "v2", "--head", "main", "--all", &root]);
    assert_eq!(same.code, Some(0), "{}\n{}", same.stdout, same.stderr);
    assert!(same.stdout.is_empty());

    let md = repo.kiln(&[
        "diff", "--base", "v1", "--head", "v2", &web, "-o", "markdown",
    ]);
    assert_eq!(md.code, Some(1));
    assert!(
        md.stdout.contains("| `apps/web` | 1 | 0 | 1 |"),
        "{}",
        md.stdout
    );
    assert!(md.stdout.contains("<details>"), "{}", md.stdout);
    let json = repo.kiln(&["diff", "--base", "v1", "--head", "v2", &web, "-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    assert_eq!(v["equal"], false);
    assert_eq!(v["apps"][0]["resources"].as_array().expect("list").len(), 2);

    let bad = repo.kiln(&["diff", "--base", "v1", "--head", "nope", &web]);
    assert_eq!(bad.code, Some(2));
}

#[test]
fn several_processes_share_one_mirror() {
    let repo = Repo::make("history");
    let url = repo.url();
    let children: Vec<_> = ["v1", "main", "v2", "feature"]
        .iter()
        .map(|rev| {
            Command::new(env!("CARGO_BIN_EXE_kiln"))
                .env("KILN_CACHE_DIR", repo.cache())
                .env("NO_COLOR", "1")
                .args(["render", "--repo", &url, "--rev", rev, "--path", "apps/web"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("kiln starts")
        })
        .collect();
    for (out, want) in children.into_iter().zip(["blue", "green", "green", "blue"]) {
        let out = out.wait_with_output().expect("kiln runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).expect("utf-8");
        assert!(text.contains(&format!("color: {want}")), "{text}");
    }
    let mirrors = std::fs::read_dir(repo.cache().join("git-v0/mirrors")).expect("mirrors");
    assert_eq!(
        mirrors.flatten().filter(|e| e.path().is_dir()).count(),
        1,
        "one mirror for the url"
    );
}

#[test]
fn credentials_in_urls_stay_out_of_messages() {
    let repo = Repo::make("history");
    let port = free_port();
    let url = format!("https://kiln:tok3n-s3cret@127.0.0.1:{port}/x.git");
    let run = TestCommand::new()
        .env("KILN_CACHE_DIR", repo.cache())
        .env("KILN_GIT_TOKEN", "other-t0ken")
        .args(["-vv", "render", "--repo", &url])
        .run();
    let err = run.error();
    assert!(
        err.contains(&format!("failed to fetch https://127.0.0.1:{port}/x.git")),
        "{err}"
    );
    assert!(
        !err.contains("tok3n-s3cret") && !err.contains("other-t0ken"),
        "{err}"
    );
}

#[test]
fn a_mirror_that_never_fetched_reports_the_fetch_error_again() {
    let cache = tempfile::tempdir().expect("temp dir");
    let url = format!("git://127.0.0.1:{}/nothing", free_port());
    for _ in 0..2 {
        let run = TestCommand::new()
            .env("KILN_CACHE_DIR", cache.path())
            .args(["render", "--repo", &url, "--path", "."])
            .run();
        let err = run.error();
        assert!(err.contains("failed to fetch git://127.0.0.1"), "{err}");
    }
}

/// The mirror directory of the only remote a cache holds.
fn only_mirror(cache: &Path) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(cache.join("git-v0/mirrors"))
        .expect("mirrors")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs.remove(0)
}

fn is_shallow(mirror: &Path) -> bool {
    std::fs::metadata(mirror.join("shallow")).is_ok_and(|m| m.len() > 0)
}

#[test]
fn a_first_fetch_is_shallow_and_history_is_fetched_when_a_revision_needs_it() {
    let repo = Repo::make("history");
    let url = repo.url();
    let render = |rev: &str| {
        color(&repo.kiln(&["render", "--repo", &url, "--rev", rev, "--path", "apps/web"]))
    };
    assert_eq!(render("main"), "green");
    let mirror = only_mirror(&repo.cache());
    assert!(is_shallow(&mirror), "a branch needs only its tip");
    // Other tips came with the first fetch.
    assert_eq!(render("v1"), "blue");
    assert!(is_shallow(&mirror));
    // main~1 lies below the tips: the history is fetched, once.
    assert_eq!(render("main~1"), "green");
    assert!(!is_shallow(&mirror), "deepened");
    assert_eq!(render("main~2"), "blue");
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(&mirror)
        .args(["rev-list", "--count", "refs/heads/main"])
        .output()
        .expect("git runs");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "3");
}

#[test]
fn a_commit_rendered_before_is_served_from_memos_without_reading_its_snapshot() {
    let repo = Repo::make("history");
    let url = repo.url();
    let all = |rev: &str| repo.kiln(&["render", "--repo", &url, "--rev", rev, "--all", "apps"]);
    let v1 = all("v1").success().to_owned();
    assert!(v1.contains("color: blue"), "{v1}");
    // A snapshot never changes once written: its memos hold at once, with no stamp to
    // settle (a work tree's files must be two seconds old first).
    let one = || {
        repo.kiln(&[
            "render",
            "--repo",
            &url,
            "--rev",
            "v1",
            "apps/web",
            "--explain",
        ])
    };
    one().success();
    let web = one();
    web.success();
    assert!(
        web.stderr.contains("hit (no file the app reads changed"),
        "{}",
        web.stderr
    );
    // The run's output comes from its memo: no file of the snapshot is read again (emptied
    // here to show it; nothing but kiln writes to the cache).
    let trees = repo.cache().join("git-v0").join("trees");
    for snapshot in std::fs::read_dir(&trees).expect("snapshots") {
        let cm = snapshot.expect("entry").path().join("apps/web/cm.yaml");
        if cm.is_file() {
            std::fs::write(&cm, "").expect("empty the file");
        }
    }
    assert_eq!(all("v1").success(), v1);
    // Another commit is another snapshot: the changed app shows its change.
    let main = all("main~1").success().to_owned();
    assert!(main.contains("color: green"), "{main}");
    assert!(!main.contains("color: blue"), "{main}");
}
