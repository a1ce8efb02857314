//! Golden cases: `tests/cases/<name>/args` holds the arguments of one `kiln`
//! run (from the repository root) and `expected.yaml` its expected stdout.
//!
//! The comparison is of YAML documents, in order, as data (so an oracle's
//! quoting or key order does not matter). `KILN_BLESS=1` rewrites the
//! expected files from kiln's output.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use libtest_mimic::{Arguments, Failed, Trial};

fn main() {
    let args = Arguments::from_args();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let cases = root.join("tests").join("cases");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&cases)
        .expect("tests/cases exists")
        .map(|e| e.expect("readable").path())
        .filter(|p| p.join("args").is_file())
        .collect();
    dirs.sort();
    let trials = dirs
        .into_iter()
        .map(|dir| {
            let name = dir
                .file_name()
                .expect("a case dir has a name")
                .to_string_lossy()
                .into_owned();
            let root = root.clone();
            Trial::test(name, move || run_case(&root, &dir))
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}

fn run_case(root: &Path, dir: &Path) -> Result<(), Failed> {
    let args = std::fs::read_to_string(dir.join("args"))?;
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(args.split_whitespace())
        .current_dir(root)
        .env(
            "KILN_CACHE_DIR",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("kiln-golden-cache"),
        )
        .output()?;
    let stdout = String::from_utf8(out.stdout)?;
    if !out.status.success() {
        return Err(format!(
            "kiln {args} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    let expected_path = dir.join("expected.yaml");
    if std::env::var_os("KILN_BLESS").is_some() {
        std::fs::write(&expected_path, &stdout)?;
        return Ok(());
    }
    let expected = std::fs::read_to_string(&expected_path)?;
    let got = kiln_resource::yaml::parse_stream(&stdout, "stdout")?;
    let want = kiln_resource::yaml::parse_stream(&expected, "expected.yaml")?;
    if got == want {
        return Ok(());
    }
    let diff: String = kiln_resource::yaml::to_stream(&got)
        .lines()
        .zip(kiln_resource::yaml::to_stream(&want).lines())
        .enumerate()
        .filter(|(_, (g, w))| g != w)
        .take(10)
        .fold(String::new(), |mut out, (i, (g, w))| {
            let _ = writeln!(out, "line {}:\n  kiln:     {g}\n  expected: {w}", i + 1);
            out
        });
    Err(format!(
        "output of `kiln {}` differs from {} ({} documents vs {}):\n{diff}(run with KILN_BLESS=1 to accept kiln's output)",
        args.trim(),
        expected_path.display(),
        got.len(),
        want.len()
    )
    .into())
}
