//! More hostile repositories and plugins: variations on each class of
//! attack in `hostile.rs` and `sandbox.rs` that those do not try. Each
//! test is an attack a repository or a plugin can make, and what kiln
//! does instead.

use std::os::unix::fs::symlink;

use crate::sandbox::hostile_app;
use crate::util::{Dir, Run};

fn render(dir: &Dir, flags: &[&str]) -> Run {
    dir.kiln().args(["render", "app"]).args(flags).run()
}

fn config_data(run: &Run, key: &str) -> String {
    let docs = run.docs();
    docs.iter()
        .find_map(|d| d["data"][key].as_str())
        .unwrap_or_else(|| panic!("no data.{key} in {docs:?}"))
        .to_owned()
}

// ---------------------------------------------------------------------------
// `.git` is invisible to plugins.

/// A tree whose `.git` directories and files hold tokens, and links that
/// lead into them every way a repository can write one.
fn tree_with_tokens(dir: &Dir) {
    dir.write(".git/config", "[http] extraheader = TOKEN-ROOT")
        .write(".git/modules/sub/config", "TOKEN-MODULE")
        .write("app/vendor/.git/config", "TOKEN-NESTED")
        .write("app/sub/.git", "gitdir: ../../.git/modules/sub TOKEN-FILE")
        .write(".GIT/config", "TOKEN-CASE");
    let app = dir.path().join("app");
    symlink("../.git", app.join("to-git")).unwrap();
    symlink("../.git/config", app.join("to-config")).unwrap();
    symlink("vendor/.git", app.join("to-nested")).unwrap();
    symlink("..", app.join("up")).unwrap();
    symlink("vendor/../../.git/modules", app.join("winding")).unwrap();
    // A link to a link to `.git`.
    symlink("to-git", app.join("again")).unwrap();
}

/// Regression test for issue #12: `/src` exposed `.git/` to plugins (CI
/// checkouts keep job tokens in `.git/config`): by name, through `..`,
/// through symlinks, in nested repositories and in any letter case.
#[test]
fn dot_git_is_invisible_to_plugins() {
    let paths = [
        "/src/.git",
        "/src/.git/config",
        "/src/./.git/config",
        "/src/app/../.git/config",
        "/src/app/vendor/.git/config",
        "/src/app/sub/.git",
        "/src/.GIT/config",
        "/src/app/to-git",
        "/src/app/to-git/config",
        "/src/app/to-config",
        "/src/app/to-nested/config",
        "/src/app/up/.git/config",
        "/src/app/up/app/to-git/config",
        "/src/app/winding/sub/config",
        "/src/app/again/config",
        "/src/app/again",
    ];
    let dir = hostile_app("probe", &paths.join("|"), "");
    tree_with_tokens(&dir);
    let run = render(&dir, &["--no-cache"]);
    let out = run.success();
    assert!(!out.contains("TOKEN-"), "a token leaked:\n{out}");
    let docs = run.docs();
    let data = docs
        .iter()
        .find_map(|d| d["data"].as_object())
        .expect("the probe's ConfigMap");
    for path in paths {
        let seen = data[path].as_str().unwrap();
        for (what, refused) in [
            ("read", "read-error=NotFound"),
            ("list", "list-error=NotFound"),
            ("stat", "stat-error=NotFound"),
        ] {
            assert!(
                seen.contains(refused),
                "{path}: {what} was not refused as missing: {seen}"
            );
        }
    }

    // Listings leave `.git` out; everything else stays visible.
    let dir = hostile_app("probe", "/src|/src/app|/src/app/vendor|/src/app/up", "");
    tree_with_tokens(&dir);
    let run = render(&dir, &["--no-cache"]);
    let docs = run.docs();
    let data = docs.iter().find_map(|d| d["data"].as_object()).unwrap();
    for (path, expected) in [
        ("/src", "list=app,plugins"),
        ("/src/app/up", "list=app,plugins"),
        ("/src/app/vendor", "list= "),
    ] {
        let seen = data[path].as_str().unwrap();
        let listed = seen.split(' ').nth(1).unwrap();
        let mut names: Vec<&str> = listed
            .trim_start_matches("list=")
            .split(',')
            .filter(|n| !n.is_empty())
            .collect();
        names.sort_unstable();
        let mut want: Vec<&str> = expected
            .trim_start_matches("list=")
            .trim()
            .split(',')
            .filter(|n| !n.is_empty())
            .collect();
        want.sort_unstable();
        assert_eq!(names, want, "{path}: {seen}");
    }
    let app = data["/src/app"].as_str().unwrap();
    for name in ["all.yaml", "kiln.yaml", "to-git", "up", "vendor", "sub"] {
        assert!(app.contains(name), "{name} is listed: {app}");
    }

    // A walk of the whole tree, following every link, finds no token and
    // no `.git`.
    let dir = hostile_app("walk", "/src", "");
    tree_with_tokens(&dir);
    let found = config_data(&render(&dir, &["--no-cache"]), "found");
    assert!(found.contains("/src/app/all.yaml"), "{found}");
    assert!(!found.contains("TOKEN-"), "{found}");
    assert!(
        !found.to_ascii_lowercase().contains("/.git"),
        "a .git entry was listed:\n{found}"
    );
}

// ---------------------------------------------------------------------------
// Host resources outside the memory cap.

/// A plugin that keeps opening files (each an operating-system descriptor
/// the whole process draws from, and host memory outside the memory cap)
/// is stopped at a fixed number of handles; a plugin holding a few is fine.
#[test]
fn a_plugin_holding_thousands_of_handles_is_stopped() {
    let run = render(&hostile_app("hold-files", "30000", ""), &["--no-cache"]);
    let err = run.error();
    assert!(
        err.contains("went past a limit of the sandbox") && err.contains("more than 1024 handles"),
        "{err}"
    );
    let run = render(&hostile_app("hold-files", "200", ""), &["--no-cache"]);
    assert_eq!(config_data(&run, "held"), "200");
}

// ---------------------------------------------------------------------------
// Numbers and limits.

/// An integer below `i64::MIN` is read as the float -2^63; it was written
/// out as the integer `i64::MIN`, a different number than the manifest's.
/// kustomize (kubectl v1.35.2) prints the float, as kiln now does.
#[test]
fn an_integer_below_the_64_bit_range_never_becomes_another_integer() {
    let dir = Dir::new();
    dir.write(
        "app/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\nspec:\n  e: -9223372036854775809\n  f: -9223372036854775808.0\n  g: -9223372036854775808\n  h: -9223372036854775807.0\n",
    )
    .write("app/kustomization.yaml", "resources:\n- cm.yaml\n");
    let out = render(&dir, &["--no-cache"]).success().to_owned();
    let expected = "spec:\n  e: -9.223372036854776e+18\n  f: -9.223372036854776e+18\n  g: -9223372036854775808\n  h: -9.223372036854776e+18\n";
    assert!(out.ends_with(expected), "{out}");
}

/// A time bound of zero bounds nothing: it is refused, not run to a
/// confusing "ran longer than 0s"; so are signs, fractions and exponents.
#[test]
fn a_zero_or_malformed_timeout_is_refused() {
    for (timeout, expected) in [
        ("0s", "above zero"),
        ("0ms", "above zero"),
        ("'0'", "above zero"),
        ("-1s", "not a duration"),
        ("1e309", "unknown unit"),
        ("1.5s", "unknown unit"),
    ] {
        let dir = hostile_app("echo", "", &format!("  limits: {{timeout: {timeout}}}\n"));
        let run = render(&dir, &["--no-cache"]);
        let err = run.error();
        assert!(err.contains(expected), "{timeout}: {err}");
    }
    let run = render(
        &hostile_app("echo", "", ""),
        &["--no-cache", "--timeout", "0"],
    );
    assert!(run.stderr.contains("above zero"), "{}", run.stderr);
}

// ---------------------------------------------------------------------------
// Output directory names.

/// A valid object whose kind and name together are longer than a file
/// name may be (a CRD of 253 characters) gets a file (its name cut, with a
/// hash), where the write failed before.
#[test]
fn a_long_valid_name_still_gets_its_file() {
    let dir = Dir::new();
    let name = format!("{}.example.com", "a".repeat(240));
    dir.write(
        "app/crd.yaml",
        format!("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: {name}\n"),
    );
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("out");
    render(
        &dir,
        &["--no-cache", "--output-dir", target.to_str().unwrap()],
    )
    .success();
    let files: Vec<_> = std::fs::read_dir(target.join("_cluster"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(
        files[0].len() <= 255
            && std::path::Path::new(&files[0]).extension() == Some("yaml".as_ref()),
        "{files:?}"
    );
    let text = std::fs::read_to_string(target.join("_cluster").join(&files[0])).unwrap();
    assert!(text.contains(&name), "{text}");
}

/// Fourteen million empty resources fit in the plugin's memory cap but
/// take far more host memory once copied out: wasmtime stops the copy, and
/// kiln says which bound was hit (it called it a crash, "a bug in the
/// plugin", before).
#[test]
fn a_result_too_large_to_copy_out_is_a_limit_not_a_crash() {
    let run = render(
        &hostile_app("many-resources", "14000000", ""),
        &["--no-cache"],
    );
    let err = run.error();
    assert!(
        err.contains("went past a limit of the sandbox: it handed the host more than"),
        "{err}"
    );
    assert!(!err.contains("crashed"), "{err}");
}

// ---------------------------------------------------------------------------
// Large and deeply nested configuration.

/// A `kiln.yaml` of hundreds of megabytes (comments, which no YAML budget
/// counts) is refused by size, not read whole into memory.
#[test]
fn a_huge_kiln_yaml_is_refused_without_being_read_whole() {
    let dir = Dir::new();
    dir.write("app/cm.yaml", crate::util::MANIFESTS);
    let mut text = String::from(
        "apiVersion: kiln.dev/v1alpha1\nkind: Pipeline\nsteps:\n- plugin: directory\n",
    );
    let line = format!("# {}\n", "x".repeat(1000));
    while text.len() < 64 << 20 {
        text.push_str(&line);
    }
    dir.write("app/kiln.yaml", text);
    let run = render(&dir, &["--no-cache"]);
    let err = run.error();
    assert!(err.contains("larger than 16 MiB"), "{err}");
}

/// Nesting and alias bombs in `kiln.yaml` and in manifests end in an error
/// naming the file, never in a stack overflow or an exhausted memory.
#[test]
fn nesting_and_alias_bombs_are_refused_with_the_file_named() {
    let deep_flow = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_map = format!("{}1{}", "{a: ".repeat(100_000), "}".repeat(100_000));
    let mut bomb = String::from("  x0: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..12 {
        let prev = char::from(b'a' + i - 1);
        let this = char::from(b'a' + i);
        let refs = vec![format!("*{prev}"); 9].join(", ");
        bomb += &[
            "  x",
            &i.to_string(),
            ": &",
            &this.to_string(),
            " [",
            &refs,
            "]\n",
        ]
        .concat();
    }
    let pipeline = "apiVersion: kiln.dev/v1alpha1\nkind: Pipeline\nsteps:\n- plugin: directory\n";
    for (what, kiln_yaml, manifest) in [
        (
            "a deep list in with:",
            format!("{pipeline}  with: {deep_flow}\n"),
            None,
        ),
        (
            "a deep map in with:",
            format!("{pipeline}  with: {deep_map}\n"),
            None,
        ),
        (
            "an alias bomb in with:",
            format!("{pipeline}  with:\n{}", bomb.replace("  x", "    x")),
            None,
        ),
        (
            "a deep manifest",
            pipeline.to_owned(),
            Some(format!("a: {deep_flow}\n")),
        ),
        (
            "an alias bomb in a manifest",
            pipeline.to_owned(),
            Some(format!("spec:\n{bomb}")),
        ),
    ] {
        let dir = Dir::new();
        dir.write("app/kiln.yaml", kiln_yaml);
        if let Some(m) = manifest {
            dir.write("app/bad.yaml", m);
        }
        let run = render(&dir, &["--no-cache"]);
        let err = run.error();
        assert!(
            err.contains("app/kiln.yaml") || err.contains("app/bad.yaml"),
            "{what}: {err}"
        );
        assert!(
            err.contains("recursion limit") || err.contains("budget") || err.contains("Depth"),
            "{what}: {err}"
        );
    }
}

/// Links that loop, a link to `/` and a link to the root itself in the
/// tree of a render: nothing hangs, nothing outside is read.
#[test]
fn link_loops_and_links_to_the_host_root_are_harmless() {
    let dir = Dir::new();
    dir.write("app/cm.yaml", crate::util::MANIFESTS).write(
        "app/kiln.yaml",
        "apiVersion: kiln.dev/v1alpha1\nkind: Pipeline\nsteps:\n- plugin: directory\n",
    );
    let app = dir.path().join("app");
    symlink("loop", app.join("loop")).unwrap();
    symlink("b", app.join("a")).unwrap();
    symlink("a", app.join("b")).unwrap();
    symlink("/", app.join("host-root")).unwrap();
    symlink("..", app.join("up")).unwrap();
    let run = render(&dir, &["--no-cache"]);
    let docs = run.docs();
    assert_eq!(docs.len(), 2, "{docs:?}");
    // A manifest that is a link out of the root is an error naming it.
    symlink("/etc/passwd", app.join("passwd.yaml")).unwrap();
    let run = render(&dir, &["--no-cache"]);
    let err = run.error();
    assert!(
        err.contains("app/passwd.yaml") && !err.contains("root:x:"),
        "{err}"
    );
    // And a kustomization that reaches outside through them.
    std::fs::remove_file(app.join("kiln.yaml")).unwrap();
    for target in ["host-root/etc", "passwd.yaml", "loop", "up/app"] {
        dir.write(
            "app/kustomization.yaml",
            format!("resources:\n- {target}\n"),
        );
        let run = render(&dir, &["--no-cache"]);
        let err = run.error();
        assert!(!err.contains("root:x:"), "{target}: {err}");
        assert!(
            err.len() < 64 << 10,
            "{target}: {} bytes of error",
            err.len()
        );
    }
}

// ---------------------------------------------------------------------------
// Credentials in repository URLs.

/// User info was kept for any scheme but lowercase `http(s)`: a token
/// showed in errors for `HTTPS://token@…` and `git+https://token@…`.
#[test]
fn credentials_in_a_url_never_show_whatever_the_scheme_is_spelt() {
    for url in [
        "HTTPS://ghp_SECRET1@127.0.0.1:1/x.git",
        "Http://user:SECRET2@127.0.0.1:1/x.git",
        "git+https://SECRET3@127.0.0.1:1/x.git",
        "https://127.0.0.1:1/x.git?Access_Token=SECRET4",
        "https://127.0.0.1:1/x.git?a=1&&access_token=SECRET5",
        "https://SECRET6:@127.0.0.1:1/x.git",
        "ssh://git:SECRET7@127.0.0.1:1/x.git",
    ] {
        let dir = Dir::new();
        let run = dir
            .kiln()
            .args(["render", "--repo", url, "--rev", "main", "app", "--offline"])
            .run();
        let err = run.error();
        assert!(!err.contains("SECRET"), "{url}: {err}");
        let run = dir
            .kiln()
            .args(["render", "--repo", url, "--rev", "main", "app"])
            .run();
        let err = run.error();
        assert!(!err.contains("SECRET"), "{url}: {err}");
    }
}

// ---------------------------------------------------------------------------
// The source root.

/// The source root was the nearest work tree, or the current directory
/// unless it was the home itself: a dotfiles repository in `~`, or a
/// render run from `/home`, made the whole home the root of an app in
/// `~/Downloads`, its keys readable by the app's own plugins.
#[test]
fn the_home_directory_is_never_a_default_source_root() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home/alice");
    let app = home.join("Downloads/app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(home.join("id_ed25519"), "PRIVATE KEY").unwrap();
    std::fs::copy(crate::sandbox::HOSTILE, app.join("hostile.wasm")).unwrap();
    std::fs::write(
        app.join("kiln.yaml"),
        "apiVersion: kiln.dev/v1alpha1\nkind: Pipeline\nsteps:\n- plugin: ./hostile.wasm\n  with: {mode: walk, arg: /src}\n",
    )
    .unwrap();
    let render_from = |cwd: &std::path::Path, app: &str| -> String {
        let run = crate::util::TestCommand::new()
            .current_dir(cwd)
            .env("HOME", &home)
            .args(["render", "--no-cache", app])
            .run();
        config_data(&run, "found")
    };
    // Run from above the home.
    let found = render_from(&tmp.path().join("home"), "alice/Downloads/app");
    assert!(!found.contains("PRIVATE KEY"), "{found}");
    assert!(
        found.contains("/src/kiln.yaml"),
        "the app is the root: {found}"
    );
    // A dotfiles repository in the home.
    std::fs::create_dir(home.join(".git")).unwrap();
    let found = render_from(&home, "Downloads/app");
    assert!(!found.contains("PRIVATE KEY"), "{found}");
    assert!(found.contains("/src/kiln.yaml"), "{found}");
    // A repository inside the home is the root as before.
    std::fs::create_dir(home.join("Downloads/.git")).unwrap();
    let found = render_from(&home, "Downloads/app");
    assert!(found.contains("/src/app/kiln.yaml"), "{found}");
}

// ---------------------------------------------------------------------------
// Generated passwords and keys are not known to whoever reads the repository.

/// A chart that generates a password, a UUID and a private key.
fn chart_with_generated_secrets(dir: &Dir) {
    dir.write(
        "app/Chart.yaml",
        "apiVersion: v2\nname: app\nversion: 1.0.0\n",
    )
    .write(
        "app/templates/secret.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: generated\ndata:\n  password: {{ randAlphaNum 24 | quote }}\n  id: {{ uuidv4 | quote }}\n  key: {{ genPrivateKey \"ecdsa\" | quote }}\n",
    );
}

fn generated(run: &Run) -> String {
    ["password", "id", "key"]
        .iter()
        .map(|k| config_data(run, k))
        .collect::<Vec<_>>()
        .join("|")
}

/// Random values were drawn from the inputs alone, so anyone who could read
/// a repository rendered the same passwords and private keys as the
/// operator. They now follow from the operator's render seed too: the same
/// seed gives the same output (with and without the cache), another seed
/// other values.
#[test]
fn generated_passwords_and_keys_follow_the_operators_seed_not_the_repository() {
    let dir = Dir::new();
    chart_with_generated_secrets(&dir);
    let with_seed = |seed: &str, flags: &[&str]| {
        let run = dir
            .kiln()
            .env("KILN_RENDER_SEED", seed)
            .args(["render", "app"])
            .args(flags)
            .run();
        generated(&run)
    };
    let first = with_seed("operator one", &["--no-cache"]);
    assert!(first.contains("PRIVATE KEY"), "{first}");
    assert_eq!(with_seed("operator one", &["--no-cache"]), first);
    assert_eq!(with_seed("operator one", &[]), first, "cached");
    assert_eq!(with_seed("operator one", &[]), first, "served by the cache");
    let other = with_seed("operator two", &[]);
    let (a, b): (Vec<&str>, Vec<&str>) = (first.split('|').collect(), other.split('|').collect());
    for (x, y) in a.iter().zip(&b) {
        assert_ne!(x, y, "another seed, another value");
    }
}

/// Without `KILN_RENDER_SEED`, a machine makes its own seed once, readable
/// by its owner only, and keeps rendering the same values with it; an empty
/// seed file is refused, naming it.
#[test]
fn a_machine_makes_its_own_render_seed_once_and_keeps_it() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = Dir::new();
    chart_with_generated_secrets(&dir);
    let home = tempfile::tempdir().unwrap();
    let render = || {
        dir.kiln()
            .env_remove("KILN_RENDER_SEED")
            .env_remove("XDG_CONFIG_HOME")
            .env("HOME", home.path())
            .args(["render", "app"])
            .run()
    };
    let made = render();
    assert!(
        made.stderr.contains("made a new render seed"),
        "{}",
        made.stderr
    );
    let first = generated(&made);
    let file = home.path().join(".config/kiln/render-seed");
    let meta = std::fs::metadata(&file).expect("the seed file is made");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(meta.len(), 65, "32 random bytes in hex and a newline");
    let again = render();
    assert!(!again.stderr.contains("render seed"), "{}", again.stderr);
    assert_eq!(generated(&again), first);
    std::fs::remove_file(&file).unwrap();
    assert_ne!(generated(&render()), first, "a new seed, new values");

    // A configuration directory that cannot be written: the cache directory keeps it.
    let cache = tempfile::tempdir().unwrap();
    let blocked = home.path().join("not-a-directory");
    std::fs::write(&blocked, "").unwrap();
    let render_blocked = || {
        dir.kiln()
            .env_remove("KILN_RENDER_SEED")
            .env("XDG_CONFIG_HOME", &blocked)
            .env("KILN_CACHE_DIR", cache.path())
            .args(["render", "app"])
            .run()
    };
    let kept = generated(&render_blocked());
    assert!(cache.path().join("render-seed").is_file());
    assert_eq!(generated(&render_blocked()), kept);

    let empty = home.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let run = dir
        .kiln()
        .env_remove("KILN_RENDER_SEED")
        .env("KILN_RENDER_SEED_FILE", &empty)
        .args(["render", "app"])
        .run();
    let err = run.error();
    assert!(
        err.contains("render seed file") && err.contains("is empty"),
        "{err}"
    );
}
