//! `helm template` for the conformance runner: `helmtemplate CHART_DIR
//! [--release-name R] [-n NS] [-f FILE] [-s K=V] [--set-string K=V]
//! [--set-file K=PATH] [--set-json K=JSON] [--show-only P] [-a V]
//! [--kube-version V] [--include-crds] [--skip-tests]`.
//!
//! The root is the current directory; the chart is the target argument.
//! The exact text goes to stdout; errors go to stderr with exit code 2.

#![expect(clippy::print_stderr, reason = "a command-line tool")]

use std::io::Write as _;
use std::path::Path;

use kiln_plugin_helm::{Options, render_text};

fn parse(args: Vec<String>) -> Result<(String, Options), String> {
    let mut opts = Options::default();
    let mut target = None;
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("flag needs an argument: {name}"))
        };
        match flag.as_str() {
            "--release-name" | "--name" => opts.release_name = Some(value(&flag)?),
            "-n" | "--namespace" => opts.namespace = Some(value(&flag)?),
            "-f" | "--values" => opts.values.push(value(&flag)?),
            "-s" | "--set" => opts.set.push(value(&flag)?),
            "--set-string" => opts.set_string.push(value(&flag)?),
            "--set-file" => opts.set_file.push(value(&flag)?),
            "--set-json" => opts.set_json.push(value(&flag)?),
            "--show-only" => opts.show_only.push(value(&flag)?),
            "-a" | "--api-versions" => opts.api_versions.push(value(&flag)?),
            "--kube-version" => opts.kube_version = Some(value(&flag)?),
            "--include-crds" => opts.include_crds = true,
            "--skip-tests" => opts.skip_tests = true,
            "--debug" => opts.debug = true,
            f if f.starts_with('-') => return Err(format!("unknown flag: {f}")),
            _ => target = Some(arg),
        }
    }
    Ok((
        target.ok_or("\"helmtemplate\" requires a chart directory argument")?,
        opts,
    ))
}

fn main() {
    let (target, opts) = match parse(std::env::args().skip(1).collect()) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("Error: {e}");
            std::process::exit(2);
        }
    };
    let root = std::env::current_dir().unwrap_or_else(|_| ".".into());
    // Like helm, the command line names files relative to the current
    // directory; the library reads them relative to the chart's app dir.
    let absolute = |p: &str| root.join(p).to_string_lossy().into_owned();
    let mut opts = opts;
    opts.values = opts.values.iter().map(|v| absolute(v)).collect();
    opts.set_file = opts
        .set_file
        .iter()
        .map(|line| {
            line.split(',')
                .map(|kv| match kv.split_once('=') {
                    Some((k, v)) => format!("{k}={}", absolute(v)),
                    None => kv.to_owned(),
                })
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    match render_text(&root, Path::new(&target), &opts) {
        Ok(text) => {
            let mut out = std::io::stdout().lock();
            if out
                .write_all(text.as_bytes())
                .and_then(|()| out.flush())
                .is_err()
            {
                std::process::exit(2);
            }
        }
        Err(e) => {
            if let Some(partial) = e.partial_output() {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(partial.as_bytes()).and_then(|()| out.flush());
            }
            eprintln!("Error: {e}");
            std::process::exit(2);
        }
    }
}
