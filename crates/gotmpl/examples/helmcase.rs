//! Renders a one-file (or small) Helm chart directory the way `helm template` does,
//! for the conformance runner: `helmcase CHART_DIR [helm template flags...]`.
//!
//! Supports `--release-name`, `--namespace`, `--values`, `--kube-version`; other flags
//! are accepted and ignored. Output is `---\n# Source: PATH\nCONTENT\n` per file.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use kiln_gotmpl::{Templates, Value};

fn read_yaml(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let docs = kiln_resource::yaml::parse_stream(&text, &path.display().to_string())
        .map_err(|e| e.to_string())?;
    Ok(docs
        .into_iter()
        .next()
        .map_or(Value::Nil, Value::from_json_floats))
}

fn merge(dst: &mut Value, src: Value) {
    match (dst, src) {
        (Value::Map(d), Value::Map(s)) => {
            for (k, v) in s.entries() {
                match d.get(&k) {
                    Some(mut existing @ Value::Map(_)) if matches!(v, Value::Map(_)) => {
                        merge(&mut existing, v);
                    }
                    _ => {
                        d.insert(k, v);
                    }
                }
            }
        }
        (d, s) => *d = s,
    }
}

fn map(pairs: &[(&str, Value)]) -> Value {
    Value::Map(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), v.clone()))
            .collect(),
    )
}

fn title_key(k: &str) -> String {
    let mut c = k.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

struct Args {
    chart: PathBuf,
    release: String,
    namespace: String,
    values: Vec<PathBuf>,
    kube_version: String,
}

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let chart = PathBuf::from(it.next().ok_or("usage: helmcase CHART_DIR [flags]")?);
    let mut a = Args {
        chart,
        release: "release-name".into(),
        namespace: "default".into(),
        values: Vec::new(),
        kube_version: "1.20.0".into(),
    };
    while let Some(flag) = it.next() {
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (flag.clone(), None),
        };
        let takes_value = !matches!(name.as_str(), "--include-crds" | "--skip-tests" | "--debug");
        let val = if takes_value {
            inline.or_else(|| it.next()).unwrap_or_default()
        } else {
            String::new()
        };
        match name.as_str() {
            "--release-name" => a.release = val,
            "--namespace" => a.namespace = val,
            "--values" | "-f" => a.values.push(PathBuf::from(val)),
            "--kube-version" => a.kube_version = val.trim_start_matches('v').to_string(),
            _ => {}
        }
    }
    Ok(a)
}

fn run() -> Result<String, String> {
    let a = parse_args()?;
    let meta = read_yaml(&a.chart.join("Chart.yaml"))?;
    let Value::Map(meta) = meta else {
        return Err("Chart.yaml is not a mapping".into());
    };
    let name = meta
        .get("name")
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "chart".to_string());
    let chart: BTreeMap<String, Value> = meta
        .entries()
        .into_iter()
        .map(|(k, v)| (title_key(&k), v))
        .collect();
    let mut values = Value::empty_map();
    let vpath = a.chart.join("values.yaml");
    if vpath.exists() {
        merge(&mut values, read_yaml(&vpath)?);
    }
    for f in &a.values {
        merge(&mut values, read_yaml(f)?);
    }
    let kv = a.kube_version.clone();
    let mut parts = kv.split('.');
    let (major, minor) = (parts.next().unwrap_or("1"), parts.next().unwrap_or("20"));
    let caps = map(&[
        (
            "KubeVersion",
            map(&[
                ("Version", Value::from(format!("v{kv}"))),
                ("GitVersion", Value::from(format!("v{kv}"))),
                ("Major", Value::from(major)),
                ("Minor", Value::from(minor)),
            ]),
        ),
        ("APIVersions", Value::List(vec![Value::from("v1")])),
    ]);
    let release = map(&[
        ("Name", Value::from(a.release.clone())),
        ("Namespace", Value::from(a.namespace.clone())),
        ("Service", Value::from("Helm")),
        ("IsInstall", Value::Bool(true)),
        ("IsUpgrade", Value::Bool(false)),
        ("Revision", Value::Int(1)),
    ]);
    let tdir = a.chart.join("templates");
    let mut files: Vec<String> = std::fs::read_dir(&tdir)
        .map_err(|e| format!("{}: {e}", tdir.display()))?
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut set = Templates::new();
    for f in &files {
        let text = std::fs::read_to_string(tdir.join(f)).map_err(|e| format!("{f}: {e}"))?;
        set.add(&format!("{name}/templates/{f}"), &text)
            .map_err(|e| e.to_string())?;
    }
    let mut out = String::new();
    for f in &files {
        if f.starts_with('_') || f == "NOTES.txt" {
            continue;
        }
        let tname = format!("{name}/templates/{f}");
        let data = map(&[
            ("Values", values.clone()),
            ("Release", release.clone()),
            ("Chart", Value::from(chart.clone())),
            ("Capabilities", caps.clone()),
            (
                "Template",
                map(&[
                    ("Name", Value::from(tname.clone())),
                    ("BasePath", Value::from(format!("{name}/templates"))),
                ]),
            ),
        ]);
        let rendered = set.render(&tname, &data).map_err(|e| e.helm_message())?;
        for doc in rendered.split("\n---") {
            let doc = doc.trim_start();
            if doc.trim().is_empty() {
                continue;
            }
            let _ = write!(out, "---\n# Source: {tname}\n{doc}\n");
        }
    }
    Ok(out)
}

#[expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line example"
)]
fn main() -> ExitCode {
    match run() {
        Ok(s) => {
            print!("{s}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::from(2)
        }
    }
}
