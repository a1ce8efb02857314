//! JSON 6902 patches applied with kustomize's leniencies (checked against
//! `kubectl kustomize` v5.5.0).

use std::path::Path;

use kiln_sdk::Value;

use crate::build;

const DEPLOY: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  template:\n    spec:\n      containers: []\n";

fn build_with(ops: &str) -> Result<Value, String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let write = |rel: &str, text: &str| std::fs::write(root.join(rel), text).expect("write");
    write("d.yaml", DEPLOY);
    write(
        "kustomization.yaml",
        &format!(
            "resources:\n- d.yaml\npatches:\n- target:\n    kind: Deployment\n  patch: |-\n{ops}"
        ),
    );
    build(root, Path::new(root))
        .map(|docs| docs[0].clone())
        .map_err(|e| e.to_string())
}

#[test]
fn add_under_annotations_works_without_annotations_and_labels_do_not() {
    let d = build_with(
        "    - op: add\n      path: /metadata/annotations/patched\n      value: 'yes'\n",
    )
    .expect("kustomize accepts this");
    assert_eq!(d["metadata"]["annotations"]["patched"], "yes");
    let err = build_with("    - op: add\n      path: /metadata/labels/a\n      value: 'v'\n")
        .expect_err("no labels to add to");
    assert!(
        err.contains("doc is missing path: /metadata/labels/a"),
        "{err}"
    );
    // A patch that does not touch annotations leaves none behind.
    let d =
        build_with("    - op: add\n      path: /spec/replicas\n      value: 2\n").expect("builds");
    assert!(d["metadata"].get("annotations").is_none(), "{d}");
}

#[test]
fn replace_of_a_missing_key_sets_it_but_not_a_missing_index() {
    let d = build_with("    - op: replace\n      path: /spec/paused\n      value: true\n")
        .expect("kustomize accepts this");
    assert_eq!(d["spec"]["paused"], true);
    let err = build_with(
        "    - op: replace\n      path: /spec/template/spec/containers/3\n      value: {}\n",
    )
    .expect_err("no such index");
    assert!(err.contains("replace operation does not apply"), "{err}");
    let err =
        build_with("    - op: remove\n      path: /spec/missing\n").expect_err("nothing to remove");
    assert!(err.contains("remove"), "{err}");
}
