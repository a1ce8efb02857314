//! `kiln plugin new`, `kiln plugin build` and `kiln plugin test`: what
//! [`crate::devkit`] does for a plugin's author, printed.

use std::path::{Path, PathBuf};

use super::{ExitStatus, write_stdout};
use crate::devkit::{self, Lang, Outcome};

/// A line for the author on stderr (a closed stderr is not an error).
fn note(text: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// `kiln plugin new LANG NAME [--dir DIR]`.
pub(super) fn new(lang: Lang, name: &str, dir: Option<PathBuf>) -> anyhow::Result<ExitStatus> {
    let dir = devkit::new(lang, name, dir)?;
    note(&format!(
        "wrote {}: `kiln plugin build {0}` builds it, `kiln plugin test {0}` runs its tests",
        dir.display()
    ));
    Ok(ExitStatus::Success)
}

/// `kiln plugin build [DIR]`.
pub(super) fn build(dir: &Path) -> anyhow::Result<ExitStatus> {
    let built = devkit::build(dir)?;
    note(&format!(
        "built {} {} → {} ({} bytes, blake3:{})",
        built.name,
        built.version,
        built.path.display(),
        built.size,
        built.digest.to_hex()
    ));
    Ok(ExitStatus::Success)
}

/// `kiln plugin test [DIR] [--plugin FILE] [--update]`: a line per case,
/// then the counts; exit 1 unless every case passed (and there is one).
pub(super) fn test(
    dir: &Path,
    plugin: Option<PathBuf>,
    update: bool,
) -> anyhow::Result<ExitStatus> {
    let (mut passed, mut failed) = (0, 0);
    for (name, outcome) in devkit::test(dir, plugin, update)? {
        match outcome {
            Outcome::Passed => {
                passed += 1;
                write_stdout(&format!("ok      {name}\n"))?;
            }
            Outcome::Updated(file) => {
                passed += 1;
                note(&format!("updated {}", file.display()));
                write_stdout(&format!("ok      {name}\n"))?;
            }
            Outcome::Failed(why) => {
                failed += 1;
                write_stdout(&format!("FAILED  {name}\n{}", indent(&why)))?;
            }
            Outcome::Error(e) => {
                failed += 1;
                write_stdout(&format!("FAILED  {name}\n{}", indent(&format!("{e:#}"))))?;
            }
        }
    }
    write_stdout(&format!("{passed} passed, {failed} failed\n"))?;
    Ok(if failed == 0 && passed > 0 {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

fn indent(text: &str) -> String {
    text.lines().flat_map(|l| ["    ", l, "\n"]).collect()
}
