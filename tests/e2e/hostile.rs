//! Hostile repositories: what a repository (its files, links, git objects,
//! `kiln.yaml` and own plugins) tries against the machine that renders it,
//! and what the operator keeps for itself. Each test is an attack that
//! succeeded before its fix.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{Dir, MANIFESTS, Run, TestCommand, shared_cache};

use crate::sandbox::{HOSTILE, hostile_app};

/// `kiln` as [`TestCommand`] runs it, as a plain command (for a working
/// directory of the test's choice, or to watch the process).
fn kiln_command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kiln"));
    cmd.env("KILN_CACHE_DIR", shared_cache())
        .env("KILN_RENDER_SEED", "kiln end-to-end tests")
        .env_remove("KILN_LOG")
        .env_remove("KUBE_VERSION")
        .env_remove("KUBE_API_VERSIONS")
        .env("NO_COLOR", "1");
    cmd
}

fn finish(out: &std::process::Output) -> Run {
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn config_data(run: &Run, key: &str) -> String {
    let docs = run.docs();
    docs.iter()
        .find_map(|d| d["data"][key].as_str())
        .unwrap_or_else(|| panic!("no data.{key} in {docs:?}"))
        .to_owned()
}

// ---------------------------------------------------------------------------
// Git objects: a crafted tree never writes outside the snapshot.

/// Runs git in `dir`; stdout, trimmed.
fn git(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> String {
    let mut child = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "kiln")
        .env("GIT_AUTHOR_EMAIL", "kiln@example.invalid")
        .env("GIT_COMMITTER_NAME", "kiln")
        .env("GIT_COMMITTER_EMAIL", "kiln@example.invalid")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("git runs");
    {
        use std::io::Write as _;
        let mut input = child.stdin.take().expect("stdin");
        if let Some(bytes) = stdin {
            input.write_all(bytes).expect("write to git");
        }
    }
    let out = child.wait_with_output().expect("git ends");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

/// A git work tree at `<tmp>/repo`.
fn work_tree(tmp: &Path) -> PathBuf {
    let repo = tmp.join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"], None);
    repo
}

fn blob(repo: &Path, bytes: &[u8]) -> String {
    git(repo, &["hash-object", "-w", "--stdin"], Some(bytes))
}

/// A tree with exactly `entries` (mode, name, id), in that order, as a
/// hostile repository can write it (git's own tools would refuse it).
fn raw_tree(repo: &Path, entries: &[(&str, &str, &str)]) -> String {
    let mut raw = Vec::new();
    for (mode, name, id) in entries {
        raw.extend_from_slice(format!("{mode} {name}\0").as_bytes());
        for i in (0..id.len()).step_by(2) {
            raw.push(u8::from_str_radix(&id[i..i + 2], 16).unwrap());
        }
    }
    git(
        repo,
        &["hash-object", "-t", "tree", "-w", "--literally", "--stdin"],
        Some(&raw),
    )
}

fn commit(repo: &Path, tree: &str) -> String {
    git(repo, &["commit-tree", tree, "-m", "crafted"], None)
}

/// A tree holding `app/all.yaml`, for the crafted root trees below.
fn app_tree(repo: &Path) -> String {
    let manifests = blob(repo, MANIFESTS.as_bytes());
    raw_tree(repo, &[("100644", "all.yaml", &manifests)])
}

#[test]
fn a_crafted_tree_never_writes_through_its_own_links() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim.txt");
    std::fs::write(&victim, "ORIGINAL").unwrap();
    let victim_dir = outside.path().join("victim-dir");
    std::fs::create_dir(&victim_dir).unwrap();
    let repo = work_tree(tmp.path());
    std::fs::create_dir_all(repo.join("app")).unwrap();
    let app = app_tree(&repo);
    let link = blob(&repo, victim.to_str().unwrap().as_bytes());
    let dir_link = blob(&repo, victim_dir.to_str().unwrap().as_bytes());
    let payload = blob(&repo, b"OVERWRITTEN BY THE REPOSITORY");
    let inner = raw_tree(&repo, &[("100644", "planted.txt", &payload)]);
    let cases = [
        // A link, then a file of the same name.
        vec![
            ("40000", "app", app.as_str()),
            ("120000", "name", link.as_str()),
            ("100644", "name", payload.as_str()),
        ],
        // A link to a directory, then a tree of the same name.
        vec![
            ("40000", "app", app.as_str()),
            ("120000", "d", dir_link.as_str()),
            ("40000", "d", inner.as_str()),
        ],
        // The same file twice.
        vec![
            ("40000", "app", app.as_str()),
            ("100644", "twice", payload.as_str()),
            ("100644", "twice", payload.as_str()),
        ],
    ];
    for entries in cases {
        let rev = commit(&repo, &raw_tree(&repo, &entries));
        let cache = tmp.path().join(format!("cache-{rev}"));
        let app_dir = repo.join("app");
        let run = TestCommand::new()
            .env("KILN_CACHE_DIR", &cache)
            .args(["render", "--rev", &rev])
            .args([&app_dir])
            .run();
        let err = run.error();
        assert!(err.contains("twice"), "says why:\n{err}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "ORIGINAL");
        assert_eq!(
            std::fs::read_dir(&victim_dir).unwrap().count(),
            0,
            "nothing planted in the linked directory"
        );
    }
}

/// A commit of a few kilobytes whose tree, written out, would fill the
/// disk: the same subtree named ten times per level (10^20 files), the
/// same 1 MiB blob named 10^4 times (10 GiB), or 300 nested directories.
/// Each is refused before a single file is written, and fast.
#[test]
fn a_tree_that_would_fill_the_disk_is_refused_before_writing() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = work_tree(tmp.path());
    std::fs::create_dir_all(repo.join("app")).unwrap();
    let app = app_tree(&repo);
    let fan_out = |leaf: &str, levels: usize| {
        let mut id = leaf.to_owned();
        let mut mode = "100644";
        for _ in 0..levels {
            let names: Vec<String> = (0..10).map(|i| format!("n{i}")).collect();
            let entries: Vec<(&str, &str, &str)> = names
                .iter()
                .map(|n| (mode, n.as_str(), id.as_str()))
                .collect();
            id = raw_tree(&repo, &entries);
            mode = "40000";
        }
        id
    };
    let small = blob(&repo, b"x");
    let mib = blob(&repo, &vec![0u8; 1 << 20]);
    let mut deep = raw_tree(&repo, &[("100644", "leaf", &small)]);
    for _ in 0..300 {
        deep = raw_tree(&repo, &[("40000", "d", &deep)]);
    }
    for (bomb, expected) in [
        (
            fan_out(&small, 20),
            "files and directories, more than the limit",
        ),
        (fan_out(&mib, 4), "bytes, more than the limit"),
        (deep, "nest more than 256 deep"),
    ] {
        let rev = commit(
            &repo,
            &raw_tree(&repo, &[("40000", "app", &app), ("40000", "bomb", &bomb)]),
        );
        let cache = tmp.path().join(format!("cache-{rev}"));
        let started = Instant::now();
        let run = TestCommand::new()
            .env("KILN_CACHE_DIR", &cache)
            .args(["render", "--rev", &rev])
            .args([repo.join("app")])
            .run();
        let err = run.error();
        assert!(err.contains("too large to render"), "{err}");
        assert!(err.contains(expected), "{expected}: {err}");
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{:?}",
            started.elapsed()
        );
        let trees = cache.join("git-v0").join("trees");
        let written = std::fs::read_dir(&trees).map_or(0, Iterator::count);
        assert_eq!(written, 0, "nothing written under {}", trees.display());
    }
}

#[test]
fn a_tree_entry_named_dot_dot_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = work_tree(tmp.path());
    std::fs::create_dir_all(repo.join("app")).unwrap();
    let app = app_tree(&repo);
    let payload = blob(&repo, b"x");
    let up = raw_tree(&repo, &[("100644", "escaped.txt", &payload)]);
    let rev = commit(
        &repo,
        &raw_tree(&repo, &[("40000", "..", &up), ("40000", "app", &app)]),
    );
    let run = TestCommand::new()
        .env("KILN_CACHE_DIR", tmp.path().join("cache"))
        .args(["render", "--rev", &rev])
        .args([&repo.join("app")])
        .run();
    let err = run.error();
    assert!(err.contains("malformed"), "{err}");
    assert!(!tmp.path().join("cache/git-v0/escaped.txt").exists());
}

// ---------------------------------------------------------------------------
// Output directories: file names from resources never leave the tree.

#[test]
fn output_file_names_never_leave_the_output_directory() {
    let dir = Dir::new();
    for (ns, name) in [("..", "x"), ("web", ".."), (".", "x")] {
        dir.write(
            "app/cm.yaml",
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name:?}\n  namespace: {ns:?}\n"),
        );
        let run = dir
            .kiln()
            .args(["render", "app", "--output-dir", "out/prod"])
            .run();
        let err = run.error();
        assert!(err.contains("cannot be written to a file"), "{err}");
        let beside: Vec<_> = std::fs::read_dir(dir.path().join("out"))
            .map(|rd| rd.map(|e| e.unwrap().file_name()).collect())
            .unwrap_or_default();
        assert!(beside.is_empty(), "written beside the output: {beside:?}");
    }
}

#[test]
fn an_output_directory_that_is_a_file_is_refused() {
    let dir = Dir::new();
    dir.write("app/cm.yaml", MANIFESTS)
        .write("notes.txt", "keep me");
    let run = dir
        .kiln()
        .args(["render", "app", "--output-dir", "notes.txt"])
        .run();
    let err = run.error();
    assert!(err.contains("is not a directory"), "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("notes.txt")).unwrap(),
        "keep me"
    );
}

// ---------------------------------------------------------------------------
// Secrets: only where the operator grants them.

const AGE_KEY: &str =
    "AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQS";

#[test]
fn decryption_keys_never_reach_a_repository_plugin() {
    let dir = hostile_app("secret", "sops-age-keys", "  secrets: [sops-age-keys]\n");
    let config = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(config.path().join("sops/age")).unwrap();
    std::fs::write(config.path().join("sops/age/keys.txt"), AGE_KEY).unwrap();
    dir.write("key.txt", AGE_KEY);
    for (env, flags) in [
        (Some(("SOPS_AGE_KEY", AGE_KEY.to_owned())), vec![]),
        (None, vec!["--key-file", "key.txt"]),
        (
            Some((
                "XDG_CONFIG_HOME",
                config.path().to_str().unwrap().to_owned(),
            )),
            vec![],
        ),
    ] {
        let mut cmd = dir.kiln();
        cmd.args(["render", "app"]).args(&flags);
        if let Some((k, v)) = &env {
            cmd.env(k, v);
        }
        let run = cmd.run();
        assert_eq!(
            config_data(&run, "len"),
            "0",
            "the repository's plugin got the key ({env:?} {flags:?})"
        );
    }
    // Nor can the operator hand them on by mistake.
    let run = dir
        .kiln()
        .args([
            "render",
            "app",
            "--grant-secret",
            "plugins/hostile.wasm=sops-age-keys",
        ])
        .run();
    assert!(run.error().contains("only the built-in sops plugin"));
}

#[test]
fn a_secret_reaches_only_the_plugin_the_operator_grants_it_to() {
    let dir = hostile_app("secret", "api-token", "  secrets: [api-token]\n");
    dir.write("token.txt", "s3cr3t-token");
    let len = |flags: &[&str]| {
        let run = dir
            .kiln()
            .args(["render", "app", "--secret", "api-token=token.txt"])
            .args(flags)
            .run();
        config_data(&run, "len")
    };
    assert_eq!(len(&[]), "0", "kiln.yaml alone grants nothing");
    assert_eq!(
        len(&["--grant-secret", "directory=api-token"]),
        "0",
        "a grant to another plugin"
    );
    assert_eq!(
        len(&["--grant-secret", "plugins/hostile.wasm=api-token"]),
        "12"
    );
    let digest = blake3::hash(&std::fs::read(HOSTILE).unwrap()).to_hex();
    assert_eq!(
        len(&["--grant-secret", &format!("blake3:{digest}=api-token")]),
        "12"
    );
}

#[test]
fn credentials_in_a_query_string_never_show() {
    let dir = Dir::new();
    let run = dir
        .kiln()
        .args([
            "render",
            "--repo",
            "http://127.0.0.1:9/org/repo.git?access_token=SEKRET-QUERY-TOKEN&private_token=OTHER-SEKRET",
            "--path",
            "app",
        ])
        .run();
    let err = run.error();
    assert!(err.contains("127.0.0.1:9/org/repo.git"), "{err}");
    assert!(
        !err.contains("SEKRET-QUERY-TOKEN") && !err.contains("OTHER-SEKRET"),
        "{err}"
    );
}

#[test]
fn repository_limits_stay_under_the_operator_ceiling() {
    let dir = hostile_app("loop", "", "  limits: {timeout: 10m}\n");
    for env in [None, Some("1s")] {
        let start = Instant::now();
        let mut cmd = dir.kiln();
        cmd.args(["render", "app"]);
        match env {
            Some(v) => cmd.env("KILN_MAX_TIMEOUT", v),
            None => cmd.args(["--max-timeout", "1s"]),
        };
        let run = cmd.run();
        let err = run.error();
        assert!(err.contains("ran longer than 1s"), "{err}");
        assert!(start.elapsed() < Duration::from_mins(1));
    }
}

#[test]
fn limits_that_overflow_are_refused() {
    let dir = hostile_app("echo", "", "  limits: {timeout: 307445734561825861m}\n");
    let err = dir.kiln().args(["render", "app"]).run().error().to_owned();
    assert!(
        err.contains("307445734561825861m") && err.contains("longer than the maximum"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------
// The source root: never the current directory by accident.

#[test]
fn an_app_outside_a_work_tree_is_its_own_root() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("id_ed25519"), "PRIVATE KEY").unwrap();
    let app = home.path().join("Downloads/app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::copy(HOSTILE, app.join("hostile.wasm")).unwrap();
    std::fs::write(
        app.join("kiln.yaml"),
        "apiVersion: kiln.dev/v1alpha1\nkind: Pipeline\nsteps:\n- plugin: ./hostile.wasm\n  with: {mode: list, arg: /src}\n",
    )
    .unwrap();
    let run = finish(
        &kiln_command()
            .current_dir(home.path())
            .env("HOME", home.path())
            .args(["render", "Downloads/app"])
            .output()
            .unwrap(),
    );
    let entries = config_data(&run, "entries");
    assert!(
        !entries.contains("id_ed25519"),
        "/src shows the home: {entries}"
    );
    assert!(entries.contains("kiln.yaml"), "{entries}");
}

#[test]
fn a_reference_out_of_the_root_names_the_root_flag() {
    let other_repo = Dir::new();
    let x = tempfile::tempdir().unwrap();
    let write = |rel: &str, text: &str| {
        let p = x.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write("base/kustomization.yaml", "resources:\n- cm.yaml\n");
    write(
        "base/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: base\n",
    );
    write(
        "overlays/prod/kustomization.yaml",
        "resources:\n- ../../base\nnamePrefix: prod-\n",
    );
    let prod = x.path().join("overlays/prod");
    let run = other_repo.kiln().args(["render"]).args([&prod]).run();
    let err = run.error();
    assert!(err.contains("outside the source root"), "{err}");
    assert!(err.contains("hint:") && err.contains("--root"), "{err}");
    let run = other_repo
        .kiln()
        .args(["render", "--root"])
        .args([x.path()])
        .args([&prod])
        .run();
    assert!(run.success().contains("name: prod-base"), "{}", run.stdout);
}

// ---------------------------------------------------------------------------
// Files that are not files, and files that are large.

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
}

#[test]
fn a_fifo_in_the_source_tree_is_refused_up_front() {
    let dir = Dir::new();
    dir.write("app/cm.yaml", MANIFESTS);
    mkfifo(&dir.path().join("app/pipe.yaml"));
    let start = Instant::now();
    let run = dir.kiln().args(["render", "app", "--timeout", "5s"]).run();
    let err = run.error();
    assert!(
        err.contains("pipe.yaml") && err.contains("not a regular file"),
        "{err}"
    );
    assert!(start.elapsed() < Duration::from_secs(30));

    let dir = Dir::new();
    dir.write(
        "app/kiln.yaml",
        "apiVersion: kiln.dev/v1alpha1\nkind: Pipeline\nsteps:\n- plugin: ./p.wasm\n",
    );
    mkfifo(&dir.path().join("app/p.wasm"));
    let run = dir.kiln().args(["render", "app", "--timeout", "5s"]).run();
    let err = run.error();
    assert!(
        err.contains("p.wasm") && err.contains("not a regular file"),
        "{err}"
    );
}

/// Runs `cmd`, returning the run and the peak resident memory (`VmHWM`)
/// of the process in bytes.
fn peak_memory(cmd: &mut Command) -> (Run, u64) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kiln runs");
    let status = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Ok(text) = std::fs::read_to_string(&status)
            && let Some(kb) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak = peak.max(kb * 1024);
        }
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    (finish(&child.wait_with_output().expect("kiln ends")), peak)
}

const LARGE: u64 = 320 << 20;
const PEAK: u64 = 224 << 20;

#[test]
fn a_large_file_in_the_tree_is_never_read_whole() {
    let dir = Dir::new();
    dir.write("app/cm.yaml", MANIFESTS);
    let big = std::fs::File::create(dir.path().join("app/zeros.bin")).unwrap();
    big.set_len(LARGE).unwrap();
    let (run, peak) =
        peak_memory(
            kiln_command()
                .current_dir(dir.path())
                .args(["render", "app", "--no-cache"]),
        );
    run.success();
    assert!(peak < PEAK, "peak memory {} MiB", peak >> 20);
}

/// 60 MB of output, under the 64 MiB cap, made of 30 million values of two
/// bytes each (`0,`): parsed whole, it took the host 2.4 GB. The count of
/// values is bounded too, checked on the bytes before anything is parsed.
#[test]
fn an_output_of_many_tiny_values_is_refused_before_it_is_parsed() {
    let dir = hostile_app("wide", "30000000", "");
    let (run, peak) = peak_memory(kiln_command().current_dir(dir.path()).args([
        "render",
        "app",
        "--no-cache",
        "-o",
        "json",
    ]));
    let err = run.error();
    assert!(err.contains("step `evil`"), "{err}");
    assert!(err.contains("JSON values, more than the limit"), "{err}");
    assert!(peak < PEAK, "peak memory {} MiB", peak >> 20);
    // Past the default count by a little; a raised output cap raises the
    // count with it (one value per 16 bytes of the cap).
    let dir = hostile_app("wide", "4500000", "");
    let render = |flags: &[&str]| {
        let out = kiln_command()
            .current_dir(dir.path())
            .args(["render", "app", "--no-cache", "-o", "json"])
            .args(flags)
            .output()
            .expect("kiln runs");
        finish(&out)
    };
    let err = render(&[]).error().to_owned();
    assert!(err.contains("4500006 JSON values"), "{err}");
    let raised = render(&["--output-limit", "80MiB"]);
    assert!(raised.success().contains("\"wide\""));
}

#[test]
fn a_large_blob_in_a_commit_is_never_read_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = work_tree(tmp.path());
    std::fs::create_dir_all(repo.join("app")).unwrap();
    std::fs::write(repo.join("app/cm.yaml"), MANIFESTS).unwrap();
    // Written sparse; git stores it compressed to almost nothing.
    let big = std::fs::File::create(repo.join("zeros.bin")).unwrap();
    big.set_len(LARGE).unwrap();
    git(&repo, &["add", "-A"], None);
    git(&repo, &["commit", "-q", "-m", "big"], None);
    std::fs::remove_file(repo.join("zeros.bin")).unwrap();
    let (run, peak) = peak_memory(
        kiln_command()
            .env("KILN_CACHE_DIR", tmp.path().join("cache"))
            .args(["render", "--no-cache", "--rev", "HEAD"])
            .arg(repo.join("app")),
    );
    run.success();
    assert!(peak < PEAK, "peak memory {} MiB", peak >> 20);
}

// ---------------------------------------------------------------------------
// The render cache: an edit to anything an app reads shows in the next render.

/// A small deterministic generator (xorshift), seeded per run and printed,
/// so a failure can be replayed.
struct Rng(u64);

impl Rng {
    #[expect(
        clippy::print_stderr,
        reason = "the seed printed replays a failing run"
    )]
    fn new() -> Self {
        let seed = std::env::var("KILN_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap();
                (now.as_secs() << 30) ^ u64::from(now.subsec_nanos()) | 1
            });
        eprintln!("KILN_TEST_SEED={seed}");
        Self(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).expect("below n, which is a usize")
    }
}

/// The ways an overlay reaches a sibling base, each an app of its own.
const VARIANTS: [(&str, &str); 7] = [
    ("plain", "resources:\n- ../../base\n"),
    ("dot-slash", "resources:\n- ./../../base\n"),
    ("in-sandbox", "resources:\n- /src/base\n"),
    ("climb", "resources:\n- sub/../../../base\n"),
    ("flow", "resources: [\"./../../base/\"]\n"),
    ("link", "resources:\n- base\n"),
    ("linked-dir", "resources:\n- up/base\n"),
];

/// A kustomization whose comment names 200,000 sibling paths: following
/// each one by one cost a `stat` or more apiece, outside any time bound
/// (a 20 MB file took a minute). Past a few thousand, the digest takes the
/// whole root instead, which is as sound: an edit anywhere in the root then
/// shows in the next render.
#[test]
fn naming_very_many_paths_makes_the_whole_root_count() {
    let dir = Dir::new();
    let mut names = String::from("resources:\n- cm.yaml\n#");
    for i in 0..200_000 {
        names.push_str(" ../x");
        names.push_str(&i.to_string());
    }
    names.push('\n');
    dir.write("app/kustomization.yaml", names)
        .write(
            "app/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: many\n",
        )
        .write("elsewhere/data.txt", "a");
    // A cache of its own: the shared one may hold the entries of an earlier
    // run of this test.
    let cache = tempfile::tempdir().unwrap();
    let render = || {
        let run = dir
            .kiln()
            .env("KILN_CACHE_DIR", cache.path())
            .args(["render", "app", "--explain"])
            .run();
        run.success();
        run.stderr
    };
    render();
    let again = render();
    assert!(!again.contains("miss"), "{again}");
    dir.write("elsewhere/data.txt", "b");
    let after = render();
    assert!(after.contains("miss (changed: source tree)"), "{after}");
}

/// The only files of a cache directory under `sub`, with their names.
fn cache_files(cache: &Path, sub: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walk_files(&cache.join(sub));
    out.sort();
    out
}

fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk_files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Whoever can write one cache file (a repository's plugin cannot, but a
/// shared cache directory is one place) copies a compiled component with
/// its `.sum`, or a step entry, over another key's: each file is bound to
/// its key, so the copy is a miss, rebuilt, never run or served as the
/// other plugin's code or the other step's output.
#[test]
fn a_cache_file_copied_over_another_keys_is_never_used() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = Dir::new();
    dir.copy(HOSTILE, "plugins/hostile.wasm")
        .write(
            "plain/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\n",
        )
        .write(
            "other/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n",
        )
        .write("evil/cm.yaml", MANIFESTS)
        .write(
            "evil/kiln.yaml",
            "apiVersion: kiln.dev/v1alpha1\nkind: Pipeline\nsteps:\n- name: evil\n  plugin: ../plugins/hostile.wasm\n  with: {mode: many-resources, arg: \"3\"}\n",
        );
    let render = |cache: &Path, app: &str| {
        kiln_command()
            .env("KILN_CACHE_DIR", cache)
            .current_dir(dir.path())
            .args(["render", app, "-o", "json"])
            .output()
            .map(|o| finish(&o))
            .expect("kiln runs")
    };
    let plain_cache = tmp.path().join("plain");
    let plain = render(&plain_cache, "plain").success().to_owned();
    assert!(plain.contains("\"plain\""), "{plain}");

    // The hostile plugin's compiled code, and its sum, in place of the
    // `directory` plugin's.
    let evil_cache = tmp.path().join("evil");
    render(&evil_cache, "evil").success();
    let ours = cache_files(&plain_cache, "components-v2");
    let theirs = cache_files(&evil_cache, "components-v2");
    assert_eq!((ours.len(), theirs.len()), (2, 2), "{ours:?} {theirs:?}");
    for (from, to) in theirs.iter().zip(&ours) {
        std::fs::copy(from, to).unwrap();
    }
    let _ = std::fs::remove_dir_all(plain_cache.join("steps-v1"));
    let run = render(&plain_cache, "plain");
    assert_eq!(run.success(), plain, "{}", run.stderr);

    // Another step's entry in place of this one's.
    let other_cache = tmp.path().join("other");
    render(&other_cache, "other").success();
    let ours = cache_files(&plain_cache, "steps-v1/entries");
    let theirs = cache_files(&other_cache, "steps-v1/entries");
    assert_eq!((ours.len(), theirs.len()), (1, 1), "{ours:?} {theirs:?}");
    std::fs::copy(&theirs[0], &ours[0]).unwrap();
    let _ = std::fs::remove_dir_all(plain_cache.join("steps-v1/memo"));
    let run = render(&plain_cache, "plain");
    assert_eq!(run.success(), plain, "{}", run.stderr);
}

/// The same on a shared Redis store: an entry renamed over another key's
/// is a miss, never that key's output.
#[test]
fn a_redis_entry_moved_to_another_key_is_never_served() {
    let tmp = tempfile::tempdir().unwrap();
    let (_redis, port) = crate::cache::start_redis(tmp.path());
    let url = format!("redis://127.0.0.1:{port}");
    let dir = Dir::new();
    dir.write(
        "plain/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\n",
    )
    .write(
        "other/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n",
    );
    let redis = |args: &[&str]| {
        let out = Command::new("redis-cli")
            .args(["-p", &port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli runs (Debian package redis-tools)");
        assert!(out.status.success());
        let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .filter(|l| !l.is_empty())
            .collect();
        lines.sort();
        lines
    };
    let cache = tmp.path().join("cache");
    let render = |app: &str| {
        let _ = std::fs::remove_dir_all(cache.join("steps-v1"));
        let out = kiln_command()
            .env("KILN_CACHE_DIR", &cache)
            .current_dir(dir.path())
            .args(["render", app, "--explain", "--cache", &url])
            .output()
            .expect("kiln runs");
        finish(&out)
    };
    let plain = render("plain").success().to_owned();
    let ours = redis(&["--scan"]);
    assert_eq!(ours.len(), 1, "{ours:?}");
    render("other").success();
    let theirs: Vec<String> = redis(&["--scan"])
        .into_iter()
        .filter(|k| !ours.contains(k))
        .collect();
    assert_eq!(theirs.len(), 1, "{theirs:?}");
    let hit = render("plain");
    assert!(hit.stderr.contains(": hit"), "{}", hit.stderr);
    redis(&["rename", &theirs[0], &ours[0]]);
    let run = render("plain");
    assert_eq!(run.success(), plain);
    assert!(run.stderr.contains("miss"), "{}", run.stderr);
}

/// A repository's own text in kiln's messages (a step name, a plugin path,
/// a file name) never starts a line of its own: names in `kiln.yaml` with
/// a control character are refused, and every message is printed with its
/// control characters escaped and its later lines indented.
#[test]
fn repository_text_never_forges_a_line_of_kilns() {
    let forged = |run: &Run| {
        let stderr = &run.stderr;
        assert!(
            !stderr.lines().any(|l| l.starts_with("error: forged")),
            "{stderr}"
        );
        assert!(
            !stderr.contains('\r') && !stderr.contains('\x1b'),
            "{stderr:?}"
        );
    };
    for (field, yaml) in [
        (
            "step name",
            "- name: \"ok\\nerror: forged\\r\\e[2K\"\n  plugin: directory\n",
        ),
        ("plugin", "- plugin: \"./p\\nerror: forged.wasm\"\n"),
    ] {
        let dir = Dir::new();
        dir.write("app/cm.yaml", MANIFESTS).write(
            "app/kiln.yaml",
            format!("apiVersion: kiln.dev/v1alpha1\nkind: Pipeline\nsteps:\n{yaml}"),
        );
        let run = dir.kiln().args(["render", "app", "--no-cache"]).run();
        let err = run.error();
        assert!(err.contains(&format!("the {field}")), "{err}");
        assert!(err.contains("holds a control character"), "{err}");
        forged(&run);
    }
    // A file name, in an error of the host's own.
    let dir = Dir::new();
    dir.write("app/cm.yaml", MANIFESTS);
    let fifo = dir.path().join("app/x\nerror: forged\r");
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let run = dir.kiln().args(["render", "app", "--no-cache"]).run();
    assert!(run.error().contains("not a regular file"), "{}", run.stderr);
    forged(&run);
    // An app directory's name, in the log lines of its steps.
    let dir = Dir::new();
    dir.write("x\nerror: forged/cm.yaml", MANIFESTS);
    let run = dir
        .kiln()
        .args(["-vv", "render", "x\nerror: forged", "--no-cache"])
        .run();
    run.success();
    assert!(
        run.stderr.contains("app=x\\nerror: forged"),
        "{}",
        run.stderr
    );
    forged(&run);
}

#[test]
fn an_edit_to_any_file_an_app_reads_shows_in_the_next_render() {
    let dir = Dir::new();
    dir.write("base/kustomization.yaml", "resources:\n- cm.yaml\n")
        .write(
            "base/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: base\ndata:\n  v: \"0\"\n",
        )
        .write("unrelated/cm.yaml", MANIFESTS);
    for (name, text) in VARIANTS {
        dir.write(&format!("overlays/{name}/kustomization.yaml"), text);
    }
    std::os::unix::fs::symlink("../../base", dir.path().join("overlays/link/base")).unwrap();
    std::os::unix::fs::symlink("../..", dir.path().join("overlays/linked-dir/up")).unwrap();
    let files = [
        "base/cm.yaml",
        "base/kustomization.yaml",
        "overlays/{}/kustomization.yaml",
    ];
    let mut rng = Rng::new();
    let mut originals = std::collections::HashMap::new();
    let render_all = || -> Vec<String> {
        VARIANTS
            .iter()
            .map(|(name, _)| {
                let run = dir
                    .kiln()
                    .args(["render", &format!("overlays/{name}")])
                    .run();
                run.success().to_owned()
            })
            .collect()
    };
    for round in 0..3 {
        // Past the window in which a stamp is too recent to trust, so the
        // memo of each render is kept and consulted.
        std::thread::sleep(Duration::from_millis(2100));
        let before = render_all();
        let file = files[rng.below(files.len())];
        let variant = VARIANTS[rng.below(VARIANTS.len())].0;
        let rel = file.replace("{}", variant);
        let value = 100_000 + rng.next() % 900_000;
        let path = dir.path().join(&rel);
        let text = originals
            .entry(rel.clone())
            .or_insert_with(|| std::fs::read_to_string(&path).unwrap());
        let edited = match rel.as_str() {
            "base/cm.yaml" => format!("{text}  r: \"{value}\"\n"),
            // A key of its own: an overlay's earlier edit must not override
            // the base's later one (the later value would not show).
            _ => format!("{text}commonAnnotations:\n  r{value}: \"{value}\"\n"),
        };
        // Edited in place, as an editor does.
        std::fs::write(&path, edited).unwrap();
        let after = render_all();
        for (i, (name, _)) in VARIANTS.iter().enumerate() {
            let reads = rel.starts_with("base/") || rel.contains(&format!("/{name}/"));
            if reads {
                assert!(
                    after[i].contains(&value.to_string()),
                    "round {round}: overlay {name} did not see the edit of {rel}:\n{}",
                    after[i]
                );
                assert_ne!(
                    before[i], after[i],
                    "round {round}: overlay {name}, edit of {rel}"
                );
            }
        }
        // And the same through the memo of a run over every app.
        let all = dir.kiln().args(["render", "--all", "overlays"]).run();
        let all = all.success();
        assert_eq!(
            all.matches(&format!("\"{value}\"")).count(),
            VARIANTS
                .iter()
                .filter(|(name, _)| rel.starts_with("base/") || rel.contains(&format!("/{name}/")))
                .count(),
            "round {round}: --all after editing {rel}:\n{all}"
        );
    }
}

// ---------------------------------------------------------------------------
// Git revisions of a local path.

#[test]
fn head_of_a_local_repository_is_its_default_branch() {
    let repo = crate::git::Repo::make("history");
    let path = repo.path().display().to_string();
    let head = repo.kiln(&[
        "render", "--repo", &path, "--rev", "HEAD", "--path", "apps/web",
    ]);
    let default = repo.kiln(&["render", "--repo", &path, "--path", "apps/web"]);
    assert_eq!(head.success(), default.success());
    let parent = repo.kiln(&[
        "render", "--repo", &path, "--rev", "HEAD~2", "--path", "apps/web",
    ]);
    assert_eq!(crate::git::color(&parent), "blue");
    let at = repo.kiln(&[
        "render", "--repo", &path, "--rev", "@", "--path", "apps/web",
    ]);
    assert_eq!(crate::git::color(&at), crate::git::color(&default));
    let at_parent = repo.kiln(&[
        "render", "--repo", &path, "--rev", "@~2", "--path", "apps/web",
    ]);
    assert_eq!(crate::git::color(&at_parent), "blue");
}

#[test]
fn a_branch_deleted_on_the_remote_is_not_rendered_from_the_mirror() {
    let repo = crate::git::Repo::make("history");
    let url = repo.url();
    let feature = [
        "render",
        "--repo",
        &url,
        "--rev",
        "feature",
        "--path",
        "apps/extra",
    ];
    assert_eq!(crate::git::color(&repo.kiln(&feature)), "red");
    let status = std::process::Command::new("git")
        .arg("-C")
        .arg(repo.path())
        .args(["branch", "-q", "-D", "feature"])
        .status()
        .expect("git runs");
    assert!(status.success());
    let err = repo.kiln(&feature).error().to_owned();
    assert!(err.contains("revision `feature` not found"), "{err}");
    // Branches the remote still has are kept.
    let main = repo.kiln(&[
        "render", "--repo", &url, "--rev", "main", "--path", "apps/web",
    ]);
    assert_eq!(crate::git::color(&main), "green");
}

/// Regression test for issue #12 (point 1): the host's own walk of the
/// source tree, which hashes it before any step runs, is bounded by
/// `--timeout` like the steps, however large the tree.
#[test]
fn the_walk_of_a_huge_tree_stops_at_the_time_bound() {
    let dir = Dir::new();
    dir.write("app/cm.yaml", MANIFESTS);
    // A TiB of holes: no disk, but hours of hashing.
    let big = std::fs::File::create(dir.path().join("app/zeros.bin")).unwrap();
    big.set_len(1 << 40).unwrap();
    let start = std::time::Instant::now();
    for args in [
        &["render", "app", "--no-cache", "--timeout", "1s"][..],
        // With the cache on, the walk that records what the app read.
        &["render", "app", "--timeout", "1s"][..],
    ] {
        let run = crate::sandbox::run_within(&dir, args, crate::sandbox::WATCHDOG);
        let err = run.error();
        assert!(
            err.contains("reading the source tree under") && err.contains("ran longer than 1s"),
            "{err}"
        );
        assert!(err.contains("before any step runs"), "{err}");
    }
    assert!(start.elapsed() < std::time::Duration::from_secs(30));
}

/// Regression test for issue #12 (point 2): a step's output near the cap
/// costs the host about twice its size, not five times: each resource's
/// text is checked without building it and dropped once parsed, and the
/// printed stream is sized up front. (60 MiB of output took 215 MiB of
/// peak memory before, 155 MiB after.)
#[test]
fn an_output_near_the_cap_is_not_copied_over_and_over() {
    let dir = hostile_app("big-output", "60", "");
    // The plugin compiled and cached first: compiling it is not what is measured.
    dir.kiln()
        .args(["render", "app", "--no-cache", "--output-limit", "1MiB"])
        .run();
    // The stream goes to a file (a pipe nobody reads would block it).
    let out = std::fs::File::create(dir.path().join("out.yaml")).unwrap();
    let mut child = kiln_command()
        .current_dir(dir.path())
        .args(["render", "app", "--no-cache"])
        .stdout(out)
        .stderr(Stdio::null())
        .spawn()
        .expect("kiln runs");
    let status = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    let code = loop {
        if let Ok(text) = std::fs::read_to_string(&status)
            && let Some(kb) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak = peak.max(kb * 1024);
        }
        if let Some(code) = child.try_wait().expect("wait") {
            break code;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    assert!(code.success(), "{code:?}");
    let written = std::fs::metadata(dir.path().join("out.yaml"))
        .unwrap()
        .len();
    assert!(written > 60 << 20, "{written} bytes written");
    assert!(peak < 192 << 20, "peak memory {} MiB", peak >> 20);
}
