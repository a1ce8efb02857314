//! Publishes the files of a directory: `publish URL#BRANCH[:PATH] DIR [WORK_DIR]`.
//!
//! `--dry-run` as the first argument lists the changes without pushing.
//! Errors go to stderr with their causes, and exit with code 2.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use kiln_git_publish::{Commit, Outcome, Provenance, Target, prepare};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let mut text = format!("error: {e}");
            let mut cause = e.source();
            while let Some(c) = cause {
                let _ = write!(text, "\n  caused by: {c}");
                cause = c.source();
            }
            #[expect(clippy::print_stderr, reason = "the example's error output")]
            {
                eprintln!("{text}");
            }
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let dry_run = args.first().is_some_and(|a| a == "--dry-run");
    if dry_run {
        args.remove(0);
    }
    let [target, dir, rest @ ..] = args.as_slice() else {
        return Err("usage: publish [--dry-run] URL#BRANCH[:PATH] DIR [WORK_DIR]".into());
    };
    let target: Target = target.parse()?;
    let work_dir = rest.first().map_or_else(
        || std::env::temp_dir().join("kiln-git-publish-example"),
        Into::into,
    );
    let mut files = BTreeMap::new();
    read_dir(Path::new(dir), "", &mut files)?;
    let publication = prepare(&target, &files, &work_dir)?;
    let mut out = String::new();
    for change in publication.changes()? {
        let _ = writeln!(out, "{change:?}");
    }
    if !dry_run {
        let message = Provenance {
            summary: format!("publish {dir}"),
            ..Provenance::default()
        }
        .message();
        let commit = Commit {
            message: &message,
            author_name: "kiln example",
            author_email: "kiln@example.invalid",
        };
        match publication.push(&commit)? {
            Outcome::Committed { id, attempts, .. } => {
                let _ = writeln!(out, "committed {id} ({attempts} push(es))");
            }
            Outcome::Unchanged { id } => {
                let _ = writeln!(out, "unchanged at {id}");
            }
        }
    }
    #[expect(clippy::print_stdout, reason = "the example's output")]
    {
        print!("{out}");
    }
    Ok(())
}

fn read_dir(
    dir: &Path,
    prefix: &str,
    files: &mut BTreeMap<String, Vec<u8>>,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
        if entry.file_type()?.is_dir() {
            read_dir(&entry.path(), &format!("{name}/"), files)?;
        } else {
            files.insert(name, std::fs::read(entry.path())?);
        }
    }
    Ok(())
}
