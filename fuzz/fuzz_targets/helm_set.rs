//! Helm's `--set` family (`--set`, `--set-string`, `--set-json`): any
//! argument either sets values or fails with an error, on a small chart.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use kiln_plugin_helm::{Options, render_text};
use libfuzzer_sys::fuzz_target;

fn chart() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temp dir");
        let chart = dir.path().join("c");
        std::fs::create_dir_all(chart.join("templates")).expect("chart dirs");
        std::fs::write(chart.join("Chart.yaml"), "apiVersion: v2\nname: c\nversion: 0.1.0\n")
            .expect("Chart.yaml");
        std::fs::write(chart.join("values.yaml"), "a: {b: [1, 2]}\n").expect("values.yaml");
        std::fs::write(
            chart.join("templates/cm.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  v: {{ toJson .Values | quote }}\n",
        )
        .expect("template");
        dir
    })
    .path()
}

fuzz_target!(|input: &[u8]| {
    let Some((flag, arg)) = input.split_first() else {
        return;
    };
    let Ok(arg) = std::str::from_utf8(arg) else {
        return;
    };
    let mut opts = Options {
        chart: Some("c".to_owned()),
        ..Options::default()
    };
    match flag % 3 {
        0 => opts.set.push(arg.to_owned()),
        1 => opts.set_string.push(arg.to_owned()),
        _ => opts.set_json.push(arg.to_owned()),
    }
    let _ = render_text(chart(), Path::new(""), &opts);
});
