//! Helpers: temp app trees and a `kiln` command runner.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The cache directory shared by all tests of this binary, so each plugin
/// is compiled once per run.
pub(crate) fn shared_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("kiln-e2e-cache")
}

/// A temporary directory tree.
pub(crate) struct Dir {
    tmp: tempfile::TempDir,
}

impl Dir {
    /// An empty tree with a `.git` marker, so it is its own source root.
    pub(crate) fn new() -> Self {
        let tmp = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(tmp.path().join(".git")).expect("mkdir .git");
        Self { tmp }
    }

    /// The root.
    pub(crate) fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// Writes `rel` with `text`, creating parent directories.
    pub(crate) fn write(&self, rel: &str, text: impl AsRef<[u8]>) -> &Self {
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
        self
    }

    /// Copies a file from the host into the tree.
    pub(crate) fn copy(&self, from: &str, rel: &str) -> &Self {
        let bytes = std::fs::read(from).unwrap_or_else(|e| panic!("read {from}: {e}"));
        self.write(rel, bytes)
    }

    /// A `kiln` command running in this tree.
    pub(crate) fn kiln(&self) -> TestCommand {
        let mut cmd = TestCommand::new();
        cmd.cmd.current_dir(self.path());
        cmd
    }
}

/// A `kiln` invocation.
pub(crate) struct TestCommand {
    cmd: Command,
}

impl TestCommand {
    /// `kiln` with the shared cache and no inherited log settings.
    pub(crate) fn new() -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kiln"));
        // A fixed render seed: no test makes a seed file in the home directory.
        cmd.env("KILN_CACHE_DIR", shared_cache())
            .env("KILN_RENDER_SEED", "kiln end-to-end tests")
            .env_remove("KILN_RENDER_SEED_FILE")
            .env_remove("KILN_LOG")
            .env_remove("KUBE_VERSION")
            .env_remove("KUBE_API_VERSIONS")
            .env("NO_COLOR", "1");
        Self { cmd }
    }

    /// Adds arguments.
    pub(crate) fn args<I: IntoIterator<Item = S>, S: AsRef<std::ffi::OsStr>>(
        &mut self,
        args: I,
    ) -> &mut Self {
        self.cmd.args(args);
        self
    }

    /// Sets the working directory.
    pub(crate) fn current_dir(&mut self, dir: &Path) -> &mut Self {
        self.cmd.current_dir(dir);
        self
    }

    /// Removes an environment variable.
    pub(crate) fn env_remove(&mut self, key: &str) -> &mut Self {
        self.cmd.env_remove(key);
        self
    }

    /// Sets an environment variable.
    pub(crate) fn env(&mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> &mut Self {
        self.cmd.env(key, value);
        self
    }

    /// Runs and captures.
    pub(crate) fn run(&mut self) -> Run {
        let out: Output = self.cmd.output().expect("kiln runs");
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// The result of a run.
#[derive(Debug)]
pub(crate) struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts exit 0 and returns stdout.
    #[track_caller]
    pub(crate) fn success(&self) -> &str {
        assert_eq!(
            self.code,
            Some(0),
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        &self.stdout
    }

    /// Asserts exit 2 with nothing on stdout, and returns stderr.
    #[track_caller]
    pub(crate) fn error(&self) -> &str {
        assert_eq!(
            self.code,
            Some(2),
            "expected exit 2\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        assert!(
            self.stdout.is_empty(),
            "an error leaves stdout empty, got:\n{}",
            self.stdout
        );
        &self.stderr
    }

    /// Parses stdout as a YAML stream.
    #[track_caller]
    pub(crate) fn docs(&self) -> Vec<serde_json::Value> {
        kiln_resource::yaml::parse_stream(self.success(), "stdout").expect("stdout is YAML")
    }
}

/// A two-document app of plain manifests.
pub(crate) const MANIFESTS: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\ndata:\n  k: v\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: two\nspec:\n  ports:\n  - port: 80\n";
