//! Two publishers racing for one branch: the loser's push is rejected, it
//! fetches again, rebuilds on the winner's commit and pushes again.

use kiln_git_publish::{Commit, Outcome, prepare, publish};

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
