//! Two publishers racing for one branch: the loser's push is rejected, it
//! fetches again, rebuilds on the winner's commit and pushes again.

use kiln_git_publish::{Commit, Error, MAX_ATTEMPTS, Outcome, prepare, publish};

use crate::util::{COMMIT, Fixture, files, git_in, history, ls_tree};

#[test]
fn racing_publishers_both_land_linearly() {
    let fx = Fixture::new();
    let base = fx.seed("env", &[("README.md", "r\n")]);
    let web = fx.target("env", "apps/web");
    let db = fx.target("env", "apps/db");
    let web_files = files(&[("web.yaml", "web\n")]);
    let db_files = files(&[("db.yaml", "db\n")]);

    // The loser fetches first and is ready to push on `base` ...
    let loser = prepare(&db, &db_files, &fx.work("loser")).expect("prepares");
    assert_eq!(loser.parent().as_deref(), Some(base.as_str()));
    assert!(loser.is_change());
    // ... when the winner publishes.
    let Outcome::Committed {
        id: won,
        parent,
        attempts: 1,
    } = publish(&web, &web_files, &COMMIT, &fx.work("winner")).expect("publishes")
    else {
        panic!("the winner commits in one push");
    };
    assert_eq!(parent.as_deref(), Some(base.as_str()));

    let outcome = loser.push(&COMMIT).expect("the loser retries");
    let Outcome::Committed {
        id: lost,
        parent,
        attempts,
    } = outcome
    else {
        panic!("the loser commits, got {outcome:?}");
    };
    assert_eq!(attempts, 2, "the first push was rejected");
    assert_eq!(
        parent.as_deref(),
        Some(won.as_str()),
        "rebuilt on the winner's commit"
    );
    let remote = fx.remote();
    assert_eq!(
        history(&remote, "env"),
        [
            format!("{lost} {won}"),
            format!("{won} {base}"),
            base.clone()
        ]
    );
    assert_eq!(
        ls_tree(&remote, "env"),
        ["README.md", "apps/db/db.yaml", "apps/web/web.yaml"],
        "both publications landed"
    );
}

#[test]
fn racing_to_create_the_branch() {
    let fx = Fixture::new();
    let a = fx.target("env", "a");
    let b = fx.target("env", "b");
    let a_files = files(&[("a.yaml", "a\n")]);
    let b_files = files(&[("b.yaml", "b\n")]);
    let loser = prepare(&b, &b_files, &fx.work("loser")).expect("prepares");
    assert_eq!(loser.parent(), None, "the branch does not exist yet");
    let Outcome::Committed {
        id: won,
        parent: None,
        ..
    } = publish(&a, &a_files, &COMMIT, &fx.work("winner")).expect("publishes")
    else {
        panic!("the winner creates the branch");
    };
    let outcome = loser.push(&COMMIT).expect("the loser retries");
    let Outcome::Committed {
        id: lost,
        parent,
        attempts: 2,
    } = outcome
    else {
        panic!("the loser commits on its second push, got {outcome:?}");
    };
    assert_eq!(parent, Some(won.clone()), "no second root commit");
    assert_eq!(
        history(&fx.remote(), "env"),
        [format!("{lost} {won}"), won.clone()]
    );
    assert_eq!(ls_tree(&fx.remote(), "env"), ["a/a.yaml", "b/b.yaml"]);
}

#[test]
fn losing_to_the_same_content_is_unchanged() {
    let fx = Fixture::new();
    fx.seed("env", &[("README.md", "r\n")]);
    let target = fx.target("env", "apps");
    let rendered = files(&[("x.yaml", "x\n")]);
    let loser = prepare(&target, &rendered, &fx.work("loser")).expect("prepares");
    let Outcome::Committed { id: won, .. } =
        publish(&target, &rendered, &COMMIT, &fx.work("winner")).expect("publishes")
    else {
        panic!("the winner commits");
    };
    // A different message makes a different commit, so the push is refused.
    let commit = Commit {
        message: "the loser's message",
        ..COMMIT
    };
    assert_eq!(
        loser.push(&commit).expect("the loser retries"),
        Outcome::Unchanged { id: won.clone() }
    );
    assert_eq!(git_in(&fx.remote(), &["rev-parse", "env"]), won);
}

/// A `pre-receive` hook that moves the branch on every push, as a publisher
/// that always wins would; objects and refs are written outside the push's
/// quarantine.
const ALWAYS_MOVED: &str = r#"#!/bin/sh
unset GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES
export GIT_AUTHOR_NAME=rival GIT_AUTHOR_EMAIL=rival@example.com
export GIT_COMMITTER_NAME=rival GIT_COMMITTER_EMAIL=rival@example.com
tip=$(git rev-parse refs/heads/env) || exit 1
new=$(echo "rival $(date +%s%N)" | git commit-tree "$tip^{tree}" -p "$tip") || exit 1
git update-ref refs/heads/env "$new" "$tip"
"#;

#[test]
fn a_branch_that_keeps_moving_gives_up_after_the_last_attempt() {
    let fx = Fixture::new();
    fx.seed("env", &[("README.md", "r\n")]);
    crate::util::install_hook(&fx.remote(), "pre-receive", ALWAYS_MOVED);
    let err = publish(
        &fx.target("env", "apps"),
        &files(&[("x.yaml", "x\n")]),
        &COMMIT,
        &fx.work("a"),
    )
    .expect_err("never lands");
    assert!(
        matches!(err, Error::Contended { attempts, .. } if attempts == MAX_ATTEMPTS),
        "{err:?}"
    );
    assert!(err.to_string().contains("another publisher"), "{err}");
    let history = history(&fx.remote(), "env");
    assert_eq!(
        history.len(),
        1 + MAX_ATTEMPTS as usize,
        "the seed, then one rival commit per push: {history:?}"
    );
    assert_eq!(
        ls_tree(&fx.remote(), "env"),
        ["README.md"],
        "nothing of ours landed"
    );
}
