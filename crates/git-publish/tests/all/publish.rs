//! Publishing to a local bare repository, by path and by `file://`.

use kiln_git_publish::{Commit, Outcome, Provenance, Target, publish};

use crate::util::{COMMIT, Fixture, files, git_in, history, ls_tree};

fn committed(outcome: Outcome) -> (String, Option<String>) {
    match outcome {
        Outcome::Committed { id, parent, .. } => (id, parent),
        Outcome::Unchanged { id } => panic!("expected a commit, the branch stayed at {id}"),
    }
}

fn first_publish_creates_the_branch_on(fx: &Fixture, target: &Target) {
    let rendered = files(&[
        ("web.yaml", "kind: Deployment\n"),
        ("svc/web.yaml", "kind: Service\n"),
    ]);
    let (id, parent) = committed(
        kiln_git_publish::publish(target, &rendered, &COMMIT, &fx.work("a")).expect("publishes"),
    );
    assert_eq!(parent, None, "a new branch starts with a root commit");
    let remote = fx.remote();
    assert_eq!(git_in(&remote, &["rev-parse", "refs/heads/env/prod"]), id);
    assert_eq!(
        history(&remote, "env/prod"),
        vec![id.clone()],
        "one root commit"
    );
    assert_eq!(
        ls_tree(&remote, "env/prod"),
        ["apps/web/svc/web.yaml", "apps/web/web.yaml"]
    );
    assert_eq!(
        git_in(&remote, &["show", "env/prod:apps/web/web.yaml"]),
        "kind: Deployment"
    );
    assert_eq!(
        git_in(
            &remote,
            &["log", "-1", "--format=%an <%ae>|%cn <%ce>|%B", "env/prod"]
        ),
        "Kiln Test <kiln@example.com>|Kiln Test <kiln@example.com>|render web\n\nKiln-Render-Key: test"
    );
    assert_eq!(git_in(&remote, &["fsck", "--strict", "--no-dangling"]), "");
}

#[test]
fn first_publish_creates_the_branch_by_path() {
    let fx = Fixture::new();
    first_publish_creates_the_branch_on(&fx, &fx.target("env/prod", "apps/web"));
}

#[test]
fn first_publish_creates_the_branch_by_file_url() {
    let fx = Fixture::new();
    let target: Target = format!("file://{}#env/prod:apps/web", fx.remote().display())
        .parse()
        .expect("parses");
    first_publish_creates_the_branch_on(&fx, &target);
}

#[test]
fn identical_publish_is_unchanged_and_the_ref_stays() {
    let fx = Fixture::new();
    let target = fx.target("env/prod", "apps/web");
    let rendered = files(&[("web.yaml", "kind: Deployment\n")]);
    let (first, _) =
        committed(publish(&target, &rendered, &COMMIT, &fx.work("a")).expect("publishes"));
    let again = Commit {
        message: "another message does not make a change",
        ..COMMIT
    };
    for work in ["a", "b"] {
        let outcome = publish(&target, &rendered, &again, &fx.work(work)).expect("publishes");
        assert_eq!(
            outcome,
            Outcome::Unchanged { id: first.clone() },
            "work dir {work}"
        );
    }
    assert_eq!(git_in(&fx.remote(), &["rev-parse", "env/prod"]), first);
    assert_eq!(history(&fx.remote(), "env/prod").len(), 1);
}

#[test]
fn a_change_keeps_other_paths_and_has_the_tip_as_parent() {
    let fx = Fixture::new();
    let seeded = fx.seed(
        "env/prod",
        &[
            ("README.md", "env\n"),
            ("apps/db/db.yaml", "kind: StatefulSet\n"),
            ("apps/web/old.yaml", "old\n"),
        ],
    );
    let target = fx.target("env/prod", "apps/web");
    let work = fx.work("a");
    let v1 = files(&[("web.yaml", "v1\n"), ("cm.yaml", "cm\n")]);
    let (first, parent) = committed(publish(&target, &v1, &COMMIT, &work).expect("publishes"));
    assert_eq!(parent.as_deref(), Some(seeded.as_str()));
    let remote = fx.remote();
    assert_eq!(
        ls_tree(&remote, "env/prod"),
        [
            "README.md",
            "apps/db/db.yaml",
            "apps/web/cm.yaml",
            "apps/web/web.yaml"
        ],
        "old.yaml was replaced with the rendered files; other paths kept"
    );
    // The seeded blobs are the very same objects, not rewritten copies.
    assert_eq!(
        git_in(&remote, &["rev-parse", "env/prod:apps/db"]),
        git_in(&remote, &["rev-parse", &format!("{seeded}:apps/db")])
    );

    let v2 = files(&[("web.yaml", "v2\n")]);
    let (second, parent) = committed(publish(&target, &v2, &COMMIT, &work).expect("publishes"));
    assert_eq!(parent.as_deref(), Some(first.as_str()));
    assert_eq!(
        history(&remote, "env/prod"),
        [
            format!("{second} {first}"),
            format!("{first} {seeded}"),
            seeded.clone()
        ]
    );
    assert_eq!(
        ls_tree(&remote, "env/prod"),
        ["README.md", "apps/db/db.yaml", "apps/web/web.yaml"],
        "cm.yaml was removed"
    );
    assert_eq!(
        git_in(&remote, &["show", "env/prod:apps/web/web.yaml"]),
        "v2"
    );
    assert_eq!(
        git_in(&remote, &["diff", "--name-status", &first, &second]),
        "D\tapps/web/cm.yaml\nM\tapps/web/web.yaml"
    );
}

#[test]
fn publishing_at_the_root_replaces_the_whole_branch() {
    let fx = Fixture::new();
    let seeded = fx.seed("main", &[("README.md", "x\n"), ("a/b.yaml", "b\n")]);
    let target = fx.target("main", "");
    let (id, parent) = committed(
        publish(
            &target,
            &files(&[("all.yaml", "all\n")]),
            &COMMIT,
            &fx.work("a"),
        )
        .expect("publishes"),
    );
    assert_eq!(parent, Some(seeded));
    assert_eq!(ls_tree(&fx.remote(), &id), ["all.yaml"]);
}

#[test]
fn no_files_removes_the_directory_and_its_empty_parents() {
    let fx = Fixture::new();
    fx.seed("env", &[("keep.txt", "k\n"), ("apps/web/web.yaml", "w\n")]);
    let target = fx.target("env", "apps/web");
    let (id, _) =
        committed(publish(&target, &files(&[]), &COMMIT, &fx.work("a")).expect("publishes"));
    assert_eq!(ls_tree(&fx.remote(), &id), ["keep.txt"]);
    assert_eq!(
        git_in(&fx.remote(), &["ls-tree", "--name-only", &id]),
        "keep.txt",
        "no empty `apps` tree is left behind"
    );
    let outcome = publish(&target, &files(&[]), &COMMIT, &fx.work("a")).expect("publishes");
    assert_eq!(outcome, Outcome::Unchanged { id });
}

#[test]
fn branches_and_remotes_share_a_work_dir() {
    let fx = Fixture::new();
    let other = Fixture::new();
    let work = fx.work("shared");
    let rendered = files(&[("x.yaml", "x\n")]);
    for (fixture, branch) in [(&fx, "env/a"), (&fx, "env/b"), (&other, "env/a")] {
        let target = fixture.target(branch, "");
        let (id, _) = committed(publish(&target, &rendered, &COMMIT, &work).expect("publishes"));
        assert_eq!(git_in(&fixture.remote(), &["rev-parse", branch]), id);
    }
    assert_eq!(ls_tree(&other.remote(), "env/a"), ["x.yaml"]);
}

#[test]
fn provenance_trailers_are_read_by_git() {
    let fx = Fixture::new();
    let message = Provenance {
        summary: "render web for prod".to_owned(),
        source: Some("https://user:secret@example.com/config.git".to_owned()),
        revision: Some("0123456789abcdef0123456789abcdef01234567".to_owned()),
        plugins: [("overlay".to_owned(), "blake3:aa".to_owned())].into(),
        render_key: Some("blake3:key".to_owned()),
    }
    .message();
    let commit = Commit {
        message: &message,
        ..COMMIT
    };
    let target = fx.target("env", "");
    publish(&target, &files(&[("a", "a")]), &commit, &fx.work("a")).expect("publishes");
    let trailers = git_in(
        &fx.remote(),
        &["log", "-1", "--format=%(trailers:only,unfold)", "env"],
    );
    assert_eq!(
        trailers,
        "Kiln-Source: https://example.com/config.git\n\
         Kiln-Source-Revision: 0123456789abcdef0123456789abcdef01234567\n\
         Kiln-Plugin: overlay blake3:aa\n\
         Kiln-Render-Key: blake3:key"
    );
    let body = git_in(&fx.remote(), &["log", "-1", "--format=%B", "env"]);
    assert_eq!(
        Provenance::parse(&body).render_key.as_deref(),
        Some("blake3:key")
    );
}

#[test]
fn the_work_repository_is_kept_packed() {
    let fx = Fixture::new();
    fx.seed("env", &[("README.md", "1\n")]);
    let work = fx.work("a");
    let target = fx.target("env", "apps");
    publish(&target, &files(&[("a", "1")]), &COMMIT, &work).expect("publishes");
    let repos: Vec<_> = std::fs::read_dir(work.join("git-publish-v0"))
        .expect("the work dir has the bucket")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    let [repo] = repos.as_slice() else {
        panic!("one work repository per remote: {repos:?}");
    };
    let count = |key: &str| {
        git_in(repo, &["count-objects", "-v"])
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .expect("count-objects prints it")
            .parse::<u32>()
            .expect("a number")
    };
    assert!(count("count: ") > 0, "publishing writes loose objects");
    assert_eq!(count("packs: "), 1, "the first fetch brought a pack");
    // One more pack than this makes `git gc --auto` repack.
    git_in(repo, &["config", "gc.autoPackLimit", "1"]);
    fx.seed("env", &[("README.md", "2\n")]);
    publish(&target, &files(&[("a", "2")]), &COMMIT, &work).expect("publishes");
    assert_eq!(
        (count("count: "), count("packs: ")),
        (0, 1),
        "gc --auto packed everything after the push"
    );
    assert_eq!(
        publish(&target, &files(&[("a", "2")]), &COMMIT, &work).expect("publishes after gc"),
        Outcome::Unchanged {
            id: git_in(&fx.remote(), &["rev-parse", "env"])
        }
    );
}
