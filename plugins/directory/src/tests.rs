use super::*;

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn names(docs: &[Value]) -> Vec<String> {
    docs.iter()
        .map(|d| format!("{}/{}", d.kind(), d.name()))
        .collect()
}

#[test]
fn reads_recursively_in_path_order_and_skips_non_manifests() {
    let dir = tempfile_dir();
    let root = dir.as_path();
    write(
        root,
        "b.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n",
    );
    write(
        root,
        "a/z.yml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: z\n---\n---\nfoo: bar\n",
    );
    write(
        root,
        "a.json",
        r#"{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "j"}}"#,
    );
    write(
        root,
        "list.yaml",
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: p\n",
    );
    write(root, "values.yaml", "replicas: 3\n");
    write(
        root,
        "kiln.yaml",
        "apiVersion: kiln.dev/v1alpha1\nkind: Pipeline\n",
    );
    write(
        root,
        ".hidden/x.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: hidden\n",
    );
    write(root, "README.md", "apiVersion: v1\n");
    let docs = read_dir(root, &Config::default()).unwrap();
    assert_eq!(
        names(&docs),
        ["Secret/z", "Service/j", "ConfigMap/b", "Pod/p"]
    );
    let flat = read_dir(
        root,
        &Config {
            recurse: Some(false),
            exclude: vec!["l*.yaml".into()],
        },
    )
    .unwrap();
    assert_eq!(names(&flat), ["Service/j", "ConfigMap/b"]);
}

#[test]
fn malformed_yaml_names_file_and_line() {
    let dir = tempfile_dir();
    write(
        dir.as_path(),
        "bad.yaml",
        "apiVersion: v1\nkind: [ConfigMap\n",
    );
    let err = read_dir(dir.as_path(), &Config::default()).unwrap_err();
    let (file, line, _) = err.file.clone().unwrap();
    assert!(file.ends_with("bad.yaml"), "{err:?}");
    assert!(line.is_some(), "{err:?}");
    assert_eq!(err.kind, ErrorKind::BadInput);
}

#[test]
fn globs() {
    assert!(glob_match("*.yaml", "a.yaml"));
    assert!(!glob_match("*.yaml", "d/a.yaml"));
    assert!(glob_match("**/*.yaml", "d/e/a.yaml"));
    assert!(glob_match("**/a.yaml", "a.yaml"));
    assert!(glob_match("d/?.yaml", "d/a.yaml"));
}

/// A temporary directory removed on drop (no extra dev-dependency).
struct TempDir(PathBuf);
impl TempDir {
    fn as_path(&self) -> &Path {
        &self.0
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
fn tempfile_dir() -> TempDir {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let p = std::env::temp_dir().join(format!(
        "kiln-directory-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&p).unwrap();
    TempDir(p)
}
