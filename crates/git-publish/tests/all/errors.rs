//! Refusals and failures, with messages a person can act on.

use std::error::Error as _;

use kiln_git_publish::{Commit, Error, Target, publish};

use crate::util::{COMMIT, Fixture, files, git_in};

/// The error and all its causes, as one text.
fn full_text(err: &Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(c) = cause {
        text = format!("{text}: {c}");
        cause = c.source();
    }
    text
}

fn no_branches(fx: &Fixture) -> bool {
    git_in(&fx.remote(), &["for-each-ref"]).is_empty()
}

#[test]
fn a_missing_local_repository() {
    let fx = Fixture::new();
    let missing = fx.dir.path().join("nope.git");
    let target: Target = format!("{}#env", missing.display())
        .parse()
        .expect("parses");
    let err = publish(&target, &files(&[("a", "a")]), &COMMIT, &fx.work("a")).expect_err("fails");
    assert!(matches!(err, Error::Fetch { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&missing.display().to_string()), "{text}");
    assert!(text.contains("branch `env`"), "{text}");
}

#[test]
fn credentials_never_appear_in_errors() {
    let fx = Fixture::new();
    for url in [
        "https://alice:s3cr3t-t0ken@127.0.0.1:1/deploy.git",
        "http://s3cr3t-t0ken@127.0.0.1:1/deploy.git",
    ] {
        let target: Target = format!("{url}#env").parse().expect("parses");
        let err = publish(&target, &files(&[("a", "a")]), &COMMIT, &fx.work("a"))
            .expect_err("nothing listens on port 1");
        let text = full_text(&err);
        assert!(!text.contains("s3cr3t"), "{text}");
        assert!(text.contains("127.0.0.1:1/deploy.git"), "{text}");
        assert!(!format!("{err:?}").contains("s3cr3t"), "{err:?}");
    }
}

#[test]
fn bad_file_paths_are_refused_before_anything_is_pushed() {
    let fx = Fixture::new();
    let target = fx.target("env", "apps");
    for bad in [
        "../escape.yaml",
        "/abs.yaml",
        "a//b.yaml",
        "a\\b.yaml",
        "./a.yaml",
        "a/",
        ".git/config",
    ] {
        let err = publish(
            &target,
            &files(&[("ok.yaml", "x"), (bad, "x")]),
            &COMMIT,
            &fx.work("a"),
        )
        .expect_err(bad);
        assert!(
            matches!(err, Error::BadPath { ref file, .. } if file == bad),
            "{bad}: {err:?}"
        );
        assert!(err.to_string().contains(bad), "{err}");
    }
    let err = publish(
        &target,
        &files(&[("a", "x"), ("a-b", "x"), ("a/b", "x")]),
        &COMMIT,
        &fx.work("a"),
    )
    .expect_err("`a` is a file and a directory");
    assert!(
        matches!(err, Error::FileAndDirectory { ref file, ref below, .. } if file == "a" && below == "a/b"),
        "{err:?}"
    );
    assert!(no_branches(&fx), "nothing was pushed");
}

#[test]
fn a_bad_identity_is_refused() {
    let fx = Fixture::new();
    let commit = Commit {
        author_email: "x>\nforged",
        ..COMMIT
    };
    let err = publish(
        &fx.target("env", ""),
        &files(&[("a", "a")]),
        &commit,
        &fx.work("a"),
    )
    .expect_err("refused");
    assert!(matches!(err, Error::BadIdentity { .. }), "{err:?}");
    assert!(no_branches(&fx));
}

#[test]
fn a_push_refused_by_a_hook_is_an_error_not_a_retry() {
    let fx = Fixture::new();
    crate::util::install_hook(
        &fx.remote(),
        "pre-receive",
        "#!/bin/sh\necho 'environment frozen' >&2\nexit 1\n",
    );
    let err = publish(
        &fx.target("env", ""),
        &files(&[("a", "a")]),
        &COMMIT,
        &fx.work("a"),
    )
    .expect_err("the hook refuses");
    let Error::Push { ref detail, .. } = err else {
        panic!("expected a push error, got {err:?}");
    };
    assert!(detail.contains("environment frozen"), "{detail}");
    assert!(detail.contains("pre-receive hook declined"), "{detail}");
    assert!(no_branches(&fx));
}

#[test]
fn bad_targets_say_how_to_write_one() {
    let err = "https://example.com/deploy.git"
        .parse::<Target>()
        .expect_err("no branch");
    assert!(err.to_string().contains("URL#BRANCH"), "{err}");
}

#[test]
fn a_refusal_that_looks_like_a_race_but_is_not() {
    let fx = Fixture::new();
    let seeded = fx.seed("env", &[("README.md", "r\n")]);
    // A lock left behind by a crashed process: the remote cannot update the
    // ref and says so the way it does when the ref moved, but it did not.
    std::fs::write(fx.remote().join("refs/heads/env.lock"), "").expect("write lock");
    let err = publish(
        &fx.target("env", "apps"),
        &files(&[("a", "a")]),
        &COMMIT,
        &fx.work("a"),
    )
    .expect_err("the ref is locked");
    let Error::Push { ref detail, .. } = err else {
        panic!("expected a push error after one retry check, got {err:?}");
    };
    assert!(detail.contains("failed to update ref"), "{detail}");
    assert!(
        detail.contains("env.lock"),
        "git names the lock file: {detail}"
    );
    assert_eq!(git_in(&fx.remote(), &["rev-parse", "env"]), seeded);
}

#[test]
fn a_branch_that_is_not_a_commit() {
    let fx = Fixture::new();
    let blob = crate::util::git_with_stdin(
        &[
            "--git-dir",
            fx.remote().to_str().expect("utf-8"),
            "hash-object",
            "-w",
            "--stdin",
        ],
        "not a commit\n",
    );
    // git refuses to point a branch at a blob; write the ref file directly.
    std::fs::write(fx.remote().join("refs/heads/env"), format!("{blob}\n")).expect("write ref");
    let err = publish(
        &fx.target("env", ""),
        &files(&[("a", "a")]),
        &COMMIT,
        &fx.work("a"),
    )
    .expect_err("the tip is a blob");
    assert!(
        matches!(err, Error::BadTip { ref tip, .. } if *tip == blob),
        "{err:?}"
    );
    assert!(err.to_string().contains("git fsck"), "{err}");
}
