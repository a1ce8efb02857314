use super::*;

#[test]
fn splits_documents_like_helm() {
    let docs = split_documents("\n\na: 1\n---\nb: 2\n--- \n\n---\nc: 3\n");
    assert_eq!(docs, vec!["a: 1", "b: 2", "c: 3"]);
    assert_eq!(split_documents("x: \"---\"\n"), vec!["x: \"---\""]);
    // What follows a `---` on its line opens the next document, and is not
    // itself at a line start.
    assert_eq!(split_documents("a\n------\nb"), vec!["a", "---\nb"]);
    assert_eq!(
        split_documents("--- \t# Source: x\nk: v\n---"),
        vec!["# Source: x\nk: v"]
    );
}

#[test]
fn sorts_by_kind_then_path_and_separates_hooks() {
    let mut files = BTreeMap::new();
    files.insert(
        "c/templates/a.yaml".to_owned(),
        "kind: Deployment\n---\nkind: Service\n".to_owned(),
    );
    files.insert(
        "c/templates/b.yaml".to_owned(),
        "kind: Zebra\n---\nkind: Apple\n".to_owned(),
    );
    files.insert(
        "c/templates/_h.tpl".to_owned(),
        "kind: Namespace\n".to_owned(),
    );
    files.insert(
        "c/templates/t.yaml".to_owned(),
        "kind: Pod\nmetadata:\n  annotations:\n    helm.sh/hook: test\n".to_owned(),
    );
    files.insert(
        "c/templates/u.yaml".to_owned(),
        "kind: Pod\nmetadata:\n  annotations:\n    helm.sh/hook: bogus\n".to_owned(),
    );
    let (hooks, manifests) = sort_manifests(&files).unwrap();
    let kinds: Vec<&str> = manifests.iter().map(|m| m.kind.as_str()).collect();
    assert_eq!(kinds, vec!["Service", "Deployment", "Apple", "Zebra"]);
    assert_eq!(hooks.len(), 1);
    assert!(hooks[0].is_test);
}

#[test]
fn invalid_yaml_names_the_template() {
    let mut files = BTreeMap::new();
    files.insert(
        "c/templates/bad.yaml".to_owned(),
        "a: b\n  c: : d\n  - x".to_owned(),
    );
    let e = sort_manifests(&files).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("YAML parse error on c/templates/bad.yaml: "),
        "{e}"
    );
    let mut files = BTreeMap::new();
    files.insert(
        "c/templates/s.yaml".to_owned(),
        "just a string\n".to_owned(),
    );
    assert!(sort_manifests(&files).is_err());
}

#[test]
fn repeated_keys_keep_the_last_value_as_helm() {
    let v = parse_lenient("kind: A\nmetadata:\n  name: a\n  name: b\n", "x.yaml").unwrap();
    assert_eq!(v["metadata"]["name"], "b");
    let mut files = BTreeMap::new();
    files.insert(
        "c/templates/d.yaml".to_owned(),
        "kind: ConfigMap\nkind: Secret\n".to_owned(),
    );
    let (_, manifests) = sort_manifests(&files).unwrap();
    assert_eq!(manifests[0].kind, "Secret");
}
