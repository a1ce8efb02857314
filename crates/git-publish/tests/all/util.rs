//! Repositories and an oracle built on the `git` command.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use kiln_git_publish::{Commit, Target};

pub(crate) const COMMIT: Commit<'static> = Commit {
    message: "render web\n\nKiln-Render-Key: test",
    author_name: "Kiln Test",
    author_email: "kiln@example.com",
};

/// Runs `git args…` and returns its trimmed stdout; panics on failure.
pub(crate) fn git(args: &[&str]) -> String {
    let output = git_command(args).output().expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .trim_end()
        .to_owned()
}

/// `git` with a fixed identity and no system config.
pub(crate) fn git_command(args: &[&str]) -> Command {
    let mut command = Command::new("git");
    command
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .args([
            "-c",
            "user.name=Seeder",
            "-c",
            "user.email=seed@example.com",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args);
    command
}

/// `git --git-dir <repo> args…`.
pub(crate) fn git_in(repo: &Path, args: &[&str]) -> String {
    let dir = repo.to_str().expect("utf-8 temp path");
    let mut all = vec!["--git-dir", dir];
    all.extend_from_slice(args);
    git(&all)
}

/// A temp dir holding an empty bare repository `remote.git` and room for work dirs.
pub(crate) struct Fixture {
    pub(crate) dir: tempfile::TempDir,
}

impl Fixture {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let remote = dir.path().join("remote.git");
        git(&["init", "-q", "--bare", remote.to_str().expect("utf-8")]);
        Self { dir }
    }

    pub(crate) fn remote(&self) -> PathBuf {
        self.dir.path().join("remote.git")
    }

    /// A work (cache) directory of a publisher.
    pub(crate) fn work(&self, name: &str) -> PathBuf {
        self.dir.path().join("work").join(name)
    }

    /// A target on the local bare repository by plain path.
    pub(crate) fn target(&self, branch: &str, path: &str) -> Target {
        let mut s = format!("{}#{branch}", self.remote().display());
        if !path.is_empty() {
            s = format!("{s}:{path}");
        }
        s.parse().expect("target parses")
    }

    /// Commits `files` on `branch` of the remote with the git CLI (on top of
    /// the branch if it exists) and returns the commit id.
    pub(crate) fn seed(&self, branch: &str, files: &[(&str, &str)]) -> String {
        let tree = self
            .dir
            .path()
            .join(format!("seed-{branch}").replace('/', "-"));
        let t = tree.to_str().expect("utf-8");
        let remote = self.remote();
        let r = remote.to_str().expect("utf-8");
        if !tree.exists() {
            git(&["clone", "-q", r, t]);
        }
        let has_branch = !git_in(&remote, &["branch", "--list", branch]).is_empty();
        if has_branch {
            git(&["-C", t, "fetch", "-q", "origin", branch]);
            git(&["-C", t, "checkout", "-q", "-B", branch, "FETCH_HEAD"]);
        } else {
            git(&["-C", t, "checkout", "-q", "--orphan", branch]);
        }
        for (path, content) in files {
            let file = tree.join(path);
            std::fs::create_dir_all(file.parent().expect("has a parent")).expect("mkdir");
            std::fs::write(&file, content).expect("write");
        }
        git(&["-C", t, "add", "-A"]);
        git(&["-C", t, "commit", "-q", "-m", "seed"]);
        git(&[
            "-C",
            t,
            "push",
            "-q",
            "origin",
            &format!("HEAD:refs/heads/{branch}"),
        ]);
        git(&["-C", t, "rev-parse", "HEAD"])
    }
}

/// `files` as the map `publish` takes.
pub(crate) fn files(list: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
    list.iter()
        .map(|(p, c)| ((*p).to_owned(), c.as_bytes().to_vec()))
        .collect()
}

/// Every file path in `rev` of `repo`, per `git ls-tree -r`.
pub(crate) fn ls_tree(repo: &Path, rev: &str) -> Vec<String> {
    git_in(repo, &["ls-tree", "-r", "--name-only", rev])
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The commit ids of `rev`, newest first, as `id parents…` lines.
pub(crate) fn history(repo: &Path, rev: &str) -> Vec<String> {
    git_in(repo, &["log", "--format=%H %P", rev])
        .lines()
        .map(|l| l.trim_end().to_owned())
        .collect()
}

/// Installs an executable hook `name` with `script` in the bare `repo`.
pub(crate) fn install_hook(repo: &Path, name: &str, script: &str) {
    let hook = repo.join("hooks").join(name);
    std::fs::write(&hook, script).expect("write hook");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
}

/// Runs `git args…` with `input` on stdin and returns its trimmed stdout.
pub(crate) fn git_with_stdin(args: &[&str], input: &str) -> String {
    use std::io::Write as _;
    let mut child = git_command(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("git runs");
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(input.as_bytes())
        .expect("write stdin");
    let output = child.wait_with_output().expect("git finishes");
    assert!(output.status.success(), "git {args:?} failed");
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .trim_end()
        .to_owned()
}
