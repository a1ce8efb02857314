//! A prepared publication shows what it would change before anything is pushed.

use kiln_git_publish::{Change, Outcome, prepare, publish};

use crate::util::{COMMIT, Fixture, files, git_in, ls_tree};

#[test]
fn changes_are_listed_before_pushing() {
    let fx = Fixture::new();
    let seeded = fx.seed(
        "env",
        &[
            ("README.md", "r\n"),
            ("apps/web/same.yaml", "same\n"),
            ("apps/web/edit.yaml", "old\n"),
            ("apps/web/gone/x.yaml", "x\n"),
        ],
    );
    let target = fx.target("env", "apps/web");
    let rendered = files(&[
        ("same.yaml", "same\n"),
        ("edit.yaml", "new\n"),
        ("new/y.yaml", "y\n"),
    ]);
    let publication = prepare(&target, &rendered, &fx.work("a")).expect("prepares");
    assert!(publication.is_change());
    assert_eq!(publication.parent(), Some(seeded.clone()));
    assert_eq!(
        publication.changes().expect("diffs"),
        [
            Change::Modified("edit.yaml".to_owned()),
            Change::Removed("gone/x.yaml".to_owned()),
            Change::Added("new/y.yaml".to_owned()),
        ]
    );
    assert_eq!(
        git_in(&fx.remote(), &["rev-parse", "env"]),
        seeded,
        "nothing pushed yet"
    );

    let tree = publication.tree();
    let Outcome::Committed { id, .. } = publication.push(&COMMIT).expect("pushes") else {
        panic!("commits");
    };
    assert_eq!(
        git_in(&fx.remote(), &["rev-parse", &format!("{id}^{{tree}}")]),
        tree
    );
    assert_eq!(
        git_in(
            &fx.remote(),
            &["diff", "--name-status", &seeded, &id, "--", "apps/web"]
        ),
        "M\tapps/web/edit.yaml\nD\tapps/web/gone/x.yaml\nA\tapps/web/new/y.yaml",
        "git agrees with the listed changes"
    );

    let again = prepare(&target, &rendered, &fx.work("a")).expect("prepares");
    assert!(!again.is_change());
    assert_eq!(again.changes().expect("diffs"), []);
}

#[test]
fn a_new_branch_lists_every_file_as_added() {
    let fx = Fixture::new();
    let target = fx.target("env", "");
    let rendered = files(&[("b.yaml", "b"), ("a/c.yaml", "c")]);
    let publication = prepare(&target, &rendered, &fx.work("a")).expect("prepares");
    assert_eq!(publication.parent(), None);
    assert_eq!(
        publication.changes().expect("diffs"),
        [
            Change::Added("a/c.yaml".to_owned()),
            Change::Added("b.yaml".to_owned())
        ]
    );
}

#[test]
fn a_file_in_the_way_of_the_target_directory_is_replaced() {
    let fx = Fixture::new();
    fx.seed(
        "env",
        &[("apps", "a file, not a directory\n"), ("keep", "k\n")],
    );
    let target = fx.target("env", "apps/web");
    let Outcome::Committed { id, .. } = publish(
        &target,
        &files(&[("w.yaml", "w\n")]),
        &COMMIT,
        &fx.work("a"),
    )
    .expect("publishes") else {
        panic!("commits");
    };
    assert_eq!(ls_tree(&fx.remote(), &id), ["apps/web/w.yaml", "keep"]);
    assert_eq!(
        git_in(&fx.remote(), &["fsck", "--strict", "--no-dangling"]),
        ""
    );
}

#[test]
fn nothing_to_a_new_branch_makes_an_empty_root_commit() {
    let fx = Fixture::new();
    let target = fx.target("env", "apps");
    let nothing = files(&[]);
    let publication = prepare(&target, &nothing, &fx.work("a")).expect("prepares");
    assert!(publication.is_change(), "the branch does not exist yet");
    assert_eq!(publication.changes().expect("diffs"), []);
    let Outcome::Committed {
        id, parent: None, ..
    } = publication.push(&COMMIT).expect("pushes")
    else {
        panic!("creates the branch");
    };
    let remote = fx.remote();
    assert_eq!(
        git_in(&remote, &["rev-parse", &format!("{id}^{{tree}}")]),
        git_in(&remote, &["hash-object", "-t", "tree", "/dev/null"]),
        "the empty tree"
    );
    assert_eq!(git_in(&remote, &["fsck", "--strict", "--no-dangling"]), "");
    assert_eq!(
        publish(&target, &files(&[]), &COMMIT, &fx.work("b")).expect("publishes"),
        Outcome::Unchanged { id }
    );
}
