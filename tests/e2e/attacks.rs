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
