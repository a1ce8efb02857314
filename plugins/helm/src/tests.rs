//! End-to-end tests of `render_text` on the charts under `testdata/` and
//! on charts written to temporary directories.

use std::path::{Path, PathBuf};

use super::*;

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

pub(crate) fn opts() -> Options {
    Options::default()
}

/// Writes `files` (path, text) as a chart under a temp dir; gives the dir.
pub(crate) fn chart(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().expect("has parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    dir
}

pub(crate) const CHART: (&str, &str) = ("Chart.yaml", "apiVersion: v2\nname: c\nversion: 0.1.0\n");

pub(crate) fn render(dir: &Path, o: &Options) -> Result<String, Error> {
    render_text(dir, Path::new("."), o)
}

#[test]
fn dependencies_aliases_conditions_imports_crds_and_hooks() {
    let o = Options {
        include_crds: true,
        namespace: Some("prod".into()),
        ..opts()
    };
    let out = render_text(&testdata(), Path::new("deps"), &o).unwrap();
    assert_eq!(out, EXPECTED_DEPS);
}

#[test]
fn tags_and_set_enable_a_dependency_and_skip_tests_drops_tests() {
    let o = Options {
        set: vec!["tags.extra=true".into()],
        skip_tests: true,
        ..opts()
    };
    let out = render_text(&testdata(), Path::new("deps"), &o).unwrap();
    assert!(
        out.contains("# Source: deps/charts/second/templates/cm.yaml\n"),
        "{out}"
    );
    assert!(out.contains("greeting: hello\n"), "{out}");
    assert!(!out.contains("release-name-test"), "{out}");
    assert!(out.contains("release-name-migrate"), "{out}");
    assert!(!out.contains("CustomResourceDefinition"), "{out}");
}

#[test]
fn show_only_filters_by_template_path() {
    let o = Options {
        show_only: vec!["charts/first/templates/*".into()],
        ..opts()
    };
    let out = render_text(&testdata(), Path::new("deps"), &o).unwrap();
    assert!(
        out.starts_with("---\n# Source: deps/charts/first/templates/cm.yaml\n"),
        "{out}"
    );
    assert_eq!(out.matches("# Source:").count(), 1);
    let o = Options {
        show_only: vec!["templates/nothing.yaml".into()],
        ..opts()
    };
    let e = render_text(&testdata(), Path::new("deps"), &o).unwrap_err();
    assert_eq!(
        e.to_string(),
        "could not find template templates/nothing.yaml in chart"
    );
}

#[test]
fn set_values_keep_integers_and_values_files_apply_in_order() {
    let dir = chart(&[
        CHART,
        ("values.yaml", "n: 1\nlist: [a]\n"),
        ("a.yaml", "m: 2\nname: a\n"),
        ("b.yaml", "name: b\n"),
        (
            "templates/x.yaml",
            "n: {{ kindIs \"float64\" .Values.n }}\nm: {{ kindOf .Values.m }}\nname: {{ .Values.name }}\nl: {{ .Values.list }}\ns: {{ kindOf .Values.s }}\n",
        ),
    ]);
    let o = Options {
        values: vec!["a.yaml".into(), "b.yaml".into()],
        set: vec!["n=5,list={x,y}".into()],
        set_string: vec!["s=7".into()],
        ..opts()
    };
    let out = render(dir.path(), &o).unwrap();
    assert_eq!(
        out,
        "---\n# Source: c/templates/x.yaml\nn: false\nm: float64\nname: b\nl: [x y]\ns: string\n"
    );
}

#[test]
fn null_deletes_a_chart_value() {
    let dir = chart(&[
        CHART,
        ("values.yaml", "keep: 1\ndrop:\n  a: 1\n"),
        ("templates/x.yaml", "v: {{ toJson .Values }}\n"),
    ]);
    let o = Options {
        set: vec!["drop=null".into()],
        ..opts()
    };
    assert_eq!(
        render(dir.path(), &o).unwrap(),
        "---\n# Source: c/templates/x.yaml\nv: {\"keep\":1}\n"
    );
}

#[test]
fn subchart_in_a_tgz_archive_renders() {
    let dir = chart(&[
        CHART,
        ("templates/x.yaml", "a: {{ .Values.packed.word }}\n"),
    ]);
    let mut tar = tar::Builder::new(Vec::new());
    for (name, text) in [
        (
            "packed/Chart.yaml",
            "apiVersion: v2\nname: packed\nversion: 0.2.0\n",
        ),
        ("packed/values.yaml", "word: zipped\n"),
        (
            "packed/templates/cm.yaml",
            "kind: ConfigMap\nname: {{ .Chart.Name }}-{{ .Chart.Version }}\n",
        ),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, name, text.as_bytes()).unwrap();
    }
    let data = tar.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &data).unwrap();
    std::fs::create_dir_all(dir.path().join("charts")).unwrap();
    std::fs::write(
        dir.path().join("charts/packed-0.2.0.tgz"),
        gz.finish().unwrap(),
    )
    .unwrap();
    let out = render(dir.path(), &opts()).unwrap();
    assert_eq!(
        out,
        "---\n# Source: c/charts/packed/templates/cm.yaml\nkind: ConfigMap\nname: packed-0.2.0\n---\n# Source: c/templates/x.yaml\na: zipped\n"
    );
}

#[test]
fn api_and_kube_versions_reach_capabilities() {
    let dir = chart(&[
        CHART,
        (
            "templates/x.yaml",
            "has: {{ .Capabilities.APIVersions.Has \"x.dev/v1\" }}\nv: {{ .Capabilities.KubeVersion.Version }}\nminor: {{ .Capabilities.KubeVersion.Minor }}\n",
        ),
    ]);
    let o = Options {
        api_versions: vec!["x.dev/v1,y.dev/v1".into()],
        kube_version: Some("1.29.3".into()),
        ..opts()
    };
    assert_eq!(
        render(dir.path(), &o).unwrap(),
        "---\n# Source: c/templates/x.yaml\nhas: true\nv: v1.29.3\nminor: 29\n"
    );
}

#[test]
fn values_files_merge_their_documents() {
    let dir = chart(&[
        CHART,
        (
            "values.yaml",
            "foo:\n  image: foo:v1\nbar:\n  version: v2\n---\nfoo:\n  image: foo:v2\n",
        ),
        ("templates/x.yaml", "v: {{ toJson .Values }}\n"),
    ]);
    assert_eq!(
        render(dir.path(), &opts()).unwrap(),
        "---\n# Source: c/templates/x.yaml\nv: {\"bar\":{\"version\":\"v2\"},\"foo\":{\"image\":\"foo:v2\"}}\n"
    );
}

#[test]
fn chart_yaml_numbers_keep_their_text() {
    let dir = chart(&[
        (
            "Chart.yaml",
            "apiVersion: v2\nname: c\nversion: 1.0.0\nappVersion: 1.10\n",
        ),
        ("templates/x.yaml", "v: {{ .Chart.AppVersion | quote }}\n"),
    ]);
    assert_eq!(
        render(dir.path(), &opts()).unwrap(),
        "---\n# Source: c/templates/x.yaml\nv: \"1.10\"\n"
    );
}

const EXPECTED_DEPS: &str = "---\n# Source: deps/crds/widget.yaml\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\n\n---\n# Source: deps/charts/first/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: first-release-name\n  namespace: prod\ndata:\n  greeting: hi-from-parent\n  env: prod\n  template: deps/charts/first/templates/cm.yaml\n---\n# Source: deps/templates/all.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deps-release-name-files\ndata:\n  a.conf: |\n    a=1\n  b.conf: |\n    b=2\n---\n# Source: deps/templates/all.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: imported\ndata:\n  shared: \"from-sub\"\n  colour: \"parent-wins\"\n  size: \"large\"\n  subchartNames: \"first,lib\"\n  kube: \"v1.20.0\"\n  appVersion: \"2.1\"\n---\n# Source: deps/templates/all.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: deps-release-name\n  labels:\n    app.kubernetes.io/name: deps\n    app.kubernetes.io/instance: release-name\nspec:\n  replicas: 2\n---\n# Source: deps/templates/all.yaml\n# a comment-only document is kept\n---\n# Source: deps/templates/hook.yaml\napiVersion: v1\nkind: Pod\nmetadata:\n  name: release-name-test\n  annotations:\n    helm.sh/hook: test\n---\n# Source: deps/templates/hook.yaml\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: release-name-migrate\n  annotations:\n    helm.sh/hook: pre-install\n";

#[test]
fn resources_follow_the_text_and_emit_text_leads_them() {
    let o = Options {
        emit_text: true,
        ..opts()
    };
    let res = render_resources(&testdata(), Path::new("deps"), &o).unwrap();
    assert_eq!(res[0]["kind"], "RenderedText");
    let text = res[0]["text"].as_str().unwrap();
    assert_eq!(
        text,
        render_text(&testdata(), Path::new("deps"), &o).unwrap()
    );
    let kinds: Vec<&str> = res[1..]
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        vec![
            "ConfigMap",
            "ConfigMap",
            "ConfigMap",
            "Deployment",
            "Pod",
            "Job"
        ]
    );
    let plain = render_resources(&testdata(), Path::new("deps"), &opts()).unwrap();
    assert_eq!(plain.len(), res.len() - 1);
    let e = render_resources(&testdata(), Path::new("missing"), &opts()).unwrap_err();
    assert_eq!(e.kind, kiln_sdk::ErrorKind::BadInput);
}

#[test]
fn set_json_and_set_file_follow_helm() {
    let dir = chart(&[
        CHART,
        ("f.txt", "hello\n"),
        ("templates/x.yaml", "v: {{ toJson .Values }}\n"),
    ]);
    let o = Options {
        set_json: vec![r#"a={"b":1}"#.into(), r#"{"x":[1,2]}"#.into()],
        set_file: vec!["f=f.txt".into()],
        ..opts()
    };
    assert_eq!(
        render(dir.path(), &o).unwrap(),
        "---\n# Source: c/templates/x.yaml\nv: {\"a\":{\"b\":1},\"f\":\"hello\\n\",\"x\":[1,2]}\n"
    );
    let o = Options {
        set_json: vec!["{bad".into()],
        ..opts()
    };
    assert_eq!(
        render(dir.path(), &o).unwrap_err().to_string(),
        "failed parsing --set-json data JSON: {bad"
    );
    let o = Options {
        set_json: vec!["a={bad".into()],
        ..opts()
    };
    assert_eq!(
        render(dir.path(), &o).unwrap_err().to_string(),
        "failed parsing --set-json data a={bad"
    );
}

#[test]
fn range_over_files_glob_gives_paths_in_order() {
    let dir = chart(&[
        CHART,
        ("files/crds/a.yaml", "a: 1\n"),
        ("files/crds/b.yaml", "b: 2\n"),
        (
            "templates/cm.yaml",
            "{{- range $path, $_ := .Files.Glob \"files/crds/*.yaml\" }}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ base $path | trimSuffix \".yaml\" }}\ndata:\n  path: {{ $path }}\n  text: {{ $.Files.Get $path | quote }}\n{{- end }}\n",
        ),
    ]);
    // As `helm template` v4.1.4 renders it.
    let want = "---\n# Source: c/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  path: files/crds/a.yaml\n  text: \"a: 1\\n\"\n---\n# Source: c/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\ndata:\n  path: files/crds/b.yaml\n  text: \"b: 2\\n\"\n";
    assert_eq!(render(dir.path(), &opts()).expect("renders"), want);
}
