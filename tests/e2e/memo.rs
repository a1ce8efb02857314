//! Memos: an app (or an `--all` run) whose files did not change since its
//! last render is served from the stamps of what it read, and any change —
//! an edit, a new file, a new app — is seen.

use std::time::Duration;

use crate::cache::Fixture;

/// Stamps younger than this are not trusted (see `kiln::stamp::RACY`).
const SETTLE: Duration = Duration::from_millis(2100);

fn app(name: &str, value: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: {value}\n")
}

#[test]
fn an_unchanged_app_skips_its_plugins_and_every_change_is_seen() {
    let f = Fixture::bare();
    f.dir
        .write("base/cm.yaml", app("base", "one"))
        .write("base/kustomization.yaml", "resources:\n- cm.yaml\n")
        .write(
            "app/kustomization.yaml",
            "resources:\n- ../base\n- extra.yaml\n",
        )
        .write("app/extra.yaml", app("extra", "one"));
    std::thread::sleep(SETTLE);
    let first = f.kiln(&["render", "app", "--explain"]);
    let out = first.success().to_owned();
    assert!(first.stderr.contains("miss"), "{}", first.stderr);

    let second = f.kiln(&["render", "app", "--explain"]);
    assert_eq!(second.success(), out);
    assert!(
        second.stderr.contains("hit (no file the app reads changed"),
        "{}",
        second.stderr
    );

    // An edit of a file the app reads through `../base`.
    f.dir.write("base/cm.yaml", app("base", "two"));
    let edited = f.kiln(&["render", "app", "--explain"]);
    assert!(edited.success().contains("k: two"), "{}", edited.stdout);
    assert!(
        !edited.stderr.contains("no file the app reads changed"),
        "{}",
        edited.stderr
    );

    // A new file in the app directory changes what detection and the
    // digest see, even though no file that was read changed.
    std::thread::sleep(SETTLE);
    let settled = f.kiln(&["render", "app"]).success().to_owned();
    assert_eq!(f.kiln(&["render", "app"]).success(), settled);
    f.dir.write(
        "app/kiln.yaml",
        "apiVersion: kiln.dev/v1alpha1\nkind: Pipeline\nsteps:\n- plugin: directory\n",
    );
    let redetected = f.kiln(&["render", "app"]);
    assert!(
        redetected.success().contains("name: extra") && !redetected.stdout.contains("name: base"),
        "a kiln.yaml now makes it a directory app:\n{}",
        redetected.stdout
    );

    // Other settings are another memo.
    let other = f.kiln(&["render", "app", "-n", "elsewhere", "--explain"]);
    other.success();
    assert!(
        other.stderr.contains("miss (changed: context)"),
        "{}",
        other.stderr
    );
}

#[test]
fn render_all_reuses_unchanged_apps_and_sees_new_ones() {
    let f = Fixture::bare();
    for (name, value) in [("a", "one"), ("b", "one"), ("c", "one")] {
        f.dir
            .write(&format!("apps/{name}/cm.yaml"), app(name, value))
            .write(
                &format!("apps/{name}/kustomization.yaml"),
                "resources:\n- cm.yaml\n",
            );
    }
    std::thread::sleep(SETTLE);
    let first = f.kiln(&["render", "--all", "apps"]).success().to_owned();
    let again = f.kiln(&["render", "--all", "apps", "-v"]);
    assert_eq!(again.success(), first);
    assert!(
        !again.stderr.contains("step{"),
        "no step ran when nothing changed:\n{}",
        again.stderr
    );

    f.dir.write("apps/b/cm.yaml", app("b", "two"));
    let changed = f.kiln(&["render", "--all", "apps", "-v"]);
    let out = changed.success();
    assert_eq!(out.replace("k: two", "k: one"), first, "only b changed");
    assert!(out.contains("k: two"), "{out}");

    // Once b's stamps can be trusted, a run keeps a and c as the last memo
    // held them, renders b, and writes all three into a new memo; the run
    // after it takes everything from that memo.
    std::thread::sleep(SETTLE);
    let settled = f.kiln(&["render", "--all", "apps", "-v"]);
    assert_eq!(settled.success(), out);
    assert!(settled.stderr.contains("step{app=b"), "{}", settled.stderr);
    assert!(!settled.stderr.contains("step{app=a"), "{}", settled.stderr);
    let from_memo = f.kiln(&["render", "--all", "apps", "-v"]);
    assert_eq!(from_memo.success(), out);
    assert!(
        !from_memo.stderr.contains("step{"),
        "the new memo holds all three apps:\n{}",
        from_memo.stderr
    );

    f.dir
        .write("apps/d/cm.yaml", app("d", "one"))
        .write("apps/d/kustomization.yaml", "resources:\n- cm.yaml\n");
    let added = f.kiln(&["render", "--all", "apps"]);
    assert!(added.success().contains("# app: d\n"), "{}", added.stdout);

    std::fs::remove_dir_all(f.dir.path().join("apps/a")).expect("rm");
    let removed = f.kiln(&["render", "--all", "apps"]);
    assert!(
        !removed.success().contains("# app: a\n"),
        "{}",
        removed.stdout
    );
}

#[test]
fn a_values_file_outside_the_chart_named_on_the_command_line_is_an_input() {
    let f = Fixture::bare();
    f.dir
        .write("chart/Chart.yaml", "apiVersion: v2\nname: c\nversion: 0.1.0\n")
        .write(
            "chart/templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  color: {{ .Values.color }}\n",
        )
        .write("chart/values.yaml", "color: grey\n")
        .write("env/prod.yaml", "color: blue\n");
    std::thread::sleep(SETTLE);
    let render = || f.kiln(&["render", "chart", "-f", "env/prod.yaml"]);
    assert!(render().success().contains("color: blue"));
    assert!(render().success().contains("color: blue"));
    f.dir.write("env/prod.yaml", "color: green\n");
    let changed = render();
    assert!(
        changed.success().contains("color: green"),
        "the cache must not serve the old values:\n{}",
        changed.stdout
    );
}
