//! Pushing with the `git` command: gix fetches but cannot push.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

use gix::ObjectId;

use crate::publish::Error;
use crate::target::{Target, redact, secrets_in};
use crate::text::Scrubbed;

/// How a push ended, short of an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// The branch now points at the commit.
    Done,
    /// The branch already pointed at the commit (another publisher made the
    /// very same commit, in the same second).
    AlreadyThere,
    /// Refused in a way that says the branch moved since it was fetched:
    /// fetch, and if it did move, rebuild and retry.
    Moved {
        /// What git said, without credentials.
        detail: String,
    },
}

/// The name of the remote a URL with credentials is pushed to.
const REMOTE: &str = "kiln-publish";

/// `git push --porcelain URL <commit>:refs/heads/<branch>` from the bare
/// repository `git_dir`; never forced, so the remote accepts only a
/// fast-forward (or the creation of a missing branch).
pub(crate) fn push(git_dir: &Path, target: &Target, commit: ObjectId) -> Result<Pushed, Error> {
    push_with(OsStr::new("git"), git_dir, target, commit)
}

/// [`push`] with the `git` program named.
fn push_with(
    program: &OsStr,
    git_dir: &Path,
    target: &Target,
    commit: ObjectId,
) -> Result<Pushed, Error> {
    let refspec = format!("{commit}:refs/heads/{}", target.branch);
    let mut command = git(program, git_dir);
    command.args(["push", "--porcelain", "--no-verify", "--"]);
    if secrets_in(&target.url).is_empty() {
        command.arg(&target.url);
    } else {
        // Credentials stay off the command line, which every local user can
        // read: the URL goes in through the environment as a named remote.
        let count = std::env::var("GIT_CONFIG_COUNT")
            .ok()
            .and_then(|c| c.parse::<usize>().ok())
            .unwrap_or(0);
        command
            .env(
                format!("GIT_CONFIG_KEY_{count}"),
                format!("remote.{REMOTE}.url"),
            )
            .env(format!("GIT_CONFIG_VALUE_{count}"), &target.url)
            .env("GIT_CONFIG_COUNT", (count + 1).to_string())
            .arg(REMOTE);
    }
    let output = command
        .arg(&refspec)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GCM_INTERACTIVE", "never")
        .env("LC_ALL", "C")
        .env("LANGUAGE", "C")
        .output()
        .map_err(|source| Error::GitMissing {
            url: redact(&target.url),
            source,
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    tracing::debug!(status = %output.status, stdout = %Scrubbed::text(&stdout, &target.url), stderr = %Scrubbed::text(&stderr, &target.url), "git push");
    let line = stdout.lines().find(|l| {
        l.split('\t')
            .nth(1)
            .is_some_and(|r| r.ends_with(&format!(":refs/heads/{}", target.branch)))
    });
    let detail = || {
        let detail = line
            .map(|l| l.split('\t').skip(2).collect::<Vec<_>>().join(" "))
            .into_iter()
            .chain(stderr.lines().map(str::trim).map(str::to_owned))
            .filter(|l| !l.is_empty() && !l.starts_with("hint:"))
            .collect::<Vec<_>>()
            .join("; ");
        let detail = if detail.is_empty() {
            format!("git exited with {}", output.status)
        } else {
            detail
        };
        Scrubbed::text(&detail, &target.url).to_string()
    };
    match line.and_then(|l| l.chars().next()) {
        Some(' ' | '*') if output.status.success() => Ok(Pushed::Done),
        Some('=') if output.status.success() => Ok(Pushed::AlreadyThere),
        Some('!') if moved(line.unwrap_or_default()) => Ok(Pushed::Moved { detail: detail() }),
        _ => Err(Error::Push {
            url: redact(&target.url),
            branch: target.branch.clone(),
            detail: detail(),
        }),
    }
}

/// `git gc --auto` in the work repository, in the foreground: packs the
/// loose objects of past publishes once there are many, and prunes the
/// unreachable ones after git's grace period. Failures are only logged.
pub(crate) fn maintain(git_dir: &Path) {
    let result = git(OsStr::new("git"), git_dir)
        .args(["-c", "gc.autoDetach=false", "gc", "--auto", "--quiet"])
        .output();
    match result {
        Ok(out) if out.status.success() => {}
        Ok(out) => tracing::debug!(
            status = %out.status,
            stderr = %String::from_utf8_lossy(&out.stderr),
            "git gc --auto failed in the work repository"
        ),
        Err(e) => tracing::debug!(error = %e, "git gc --auto could not run"),
    }
}

/// Environment variables that point git at another repository's parts;
/// set when kiln runs inside a git hook, say (`git rev-parse --local-env-vars`
/// less the configuration ones, plus the push quarantine).
const REPOSITORY_ENV: [&str; 13] = [
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_OBJECT_DIRECTORY",
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_IMPLICIT_WORK_TREE",
    "GIT_GRAFT_FILE",
    "GIT_INDEX_FILE",
    "GIT_NO_REPLACE_OBJECTS",
    "GIT_REPLACE_REF_BASE",
    "GIT_PREFIX",
    "GIT_SHALLOW_FILE",
    "GIT_COMMON_DIR",
    "GIT_QUARANTINE_PATH",
];

/// `program --git-dir <git_dir>`, with no input and nothing inherited that
/// would point it at another repository.
fn git(program: &OsStr, git_dir: &Path) -> Command {
    let mut command = Command::new(program);
    command
        .arg("--git-dir")
        .arg(git_dir)
        .stdin(std::process::Stdio::null());
    for var in REPOSITORY_ENV {
        command.env_remove(var);
    }
    command
}

/// Whether a rejected porcelain line says the branch moved under us (as
/// opposed to a refusal by a hook or a permission).
fn moved(line: &str) -> bool {
    let summary = line.split('\t').nth(2).unwrap_or_default();
    if summary.starts_with("[rejected]") {
        return ["fetch first", "non-fast-forward", "stale info"]
            .iter()
            .any(|r| summary.contains(r));
    }
    summary.starts_with("[remote rejected]")
        && [
            "cannot lock ref",
            "failed to update ref",
            "incorrect old value",
        ]
        .iter()
        .any(|r| summary.contains(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_git_is_named() {
        let target: Target = "https://u:pw@example.com/d.git#env"
            .parse()
            .expect("parses");
        let err = push_with(
            OsStr::new("kiln-test-no-such-git"),
            Path::new("."),
            &target,
            ObjectId::null(gix::hash::Kind::Sha1),
        )
        .expect_err("the program does not exist");
        assert!(matches!(err, Error::GitMissing { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("`git`") && text.contains("PATH"), "{text}");
        assert!(
            text.contains("https://example.com/d.git") && !text.contains("pw"),
            "{text}"
        );
    }

    /// A stand-in for `git` that records its arguments and environment.
    #[cfg(unix)]
    fn recording_git(dir: &Path) -> std::ffi::OsString {
        use std::os::unix::fs::PermissionsExt;
        let script = dir.join("git");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{0}/args'\nenv > '{0}/env'\nexit 1\n",
                dir.display()
            ),
        )
        .expect("write script");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        script.into_os_string()
    }

    #[cfg(unix)]
    #[test]
    fn credentials_stay_off_the_command_line() {
        let dir = tempfile::tempdir().expect("temp dir");
        let git = recording_git(dir.path());
        let commit = ObjectId::null(gix::hash::Kind::Sha1);
        let target: Target = "https://bob:t0ken@example.com/d.git#env"
            .parse()
            .expect("parses");
        let err = push_with(&git, Path::new("work.git"), &target, commit).expect_err("exit 1");
        assert!(!err.to_string().contains("t0ken"), "{err}");
        let args = std::fs::read_to_string(dir.path().join("args")).expect("args");
        let env = std::fs::read_to_string(dir.path().join("env")).expect("env");
        assert!(!args.contains("t0ken"), "{args}");
        assert!(
            args.contains(&format!("\n--\n{REMOTE}\n{commit}:refs/heads/env\n")),
            "{args}"
        );
        let n = std::env::var("GIT_CONFIG_COUNT")
            .ok()
            .and_then(|c| c.parse::<usize>().ok())
            .unwrap_or(0);
        assert!(
            env.contains(&format!("GIT_CONFIG_KEY_{n}=remote.{REMOTE}.url\n")),
            "{env}"
        );
        assert!(
            env.contains(&format!(
                "GIT_CONFIG_VALUE_{n}=https://bob:t0ken@example.com/d.git\n"
            )),
            "{env}"
        );
        assert!(
            env.contains(&format!("GIT_CONFIG_COUNT={}\n", n + 1)),
            "{env}"
        );

        let target: Target = "https://example.com/d.git#env".parse().expect("parses");
        push_with(&git, Path::new("work.git"), &target, commit).expect_err("exit 1");
        let args = std::fs::read_to_string(dir.path().join("args")).expect("args");
        assert!(
            args.contains("\n--\nhttps://example.com/d.git\n"),
            "plain URLs stay: {args}"
        );
    }

    #[test]
    fn races_are_told_from_refusals() {
        assert!(moved("!\tabc:refs/heads/x\t[rejected] (fetch first)"));
        assert!(moved("!\tabc:refs/heads/x\t[rejected] (non-fast-forward)"));
        assert!(moved(
            "!\tabc:refs/heads/x\t[remote rejected] (cannot lock ref 'refs/heads/x': is at 1 but expected 2)"
        ));
        assert!(!moved(
            "!\tabc:refs/heads/x\t[remote rejected] (pre-receive hook declined)"
        ));
        assert!(!moved(
            "!\tabc:refs/heads/x\t[remote rejected] (deny updating a hidden ref)"
        ));
    }
}
