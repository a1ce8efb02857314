//! Git sources over ssh (a real `sshd` and `ssh-agent` started by the test)
//! and https (a TLS server in the test running `git http-backend` behind
//! Basic auth), with credentials from the agent, `KILN_GIT_TOKEN` and git
//! credential helpers. Needs `git`, `openssl`, `openssh-client` and
//! `openssh-server` (`/usr/sbin/sshd`).

use std::path::Path;
use std::process::{Command, Stdio};

use crate::git::{Daemon, Repo, color, free_port, wait_for};
use crate::util::Run;

/// Runs `tests/fixtures/remote/<script> <dir>`.
fn fixture(script: &str, dir: &Path) {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../tests/fixtures/remote/{script}"));
    let status = Command::new("bash")
        .arg(&script)
        .arg(dir)
        .status()
        .expect("bash runs");
    assert!(status.success(), "{} failed", script.display());
}

/// `kiln` with a cache of its own under the repo's temp dir, a home without
/// git or ssh configuration, no inherited credentials or ssh settings, no
/// terminal prompts, and `env` on top.
fn kiln(repo: &Repo, cache: &str, env: &[(&str, &str)], args: &[&str]) -> Run {
    let home = repo.tmp.path().join("home");
    std::fs::create_dir_all(&home).expect("mkdir home");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kiln"));
    for key in [
        "KILN_LOG",
        "KUBE_VERSION",
        "KUBE_API_VERSIONS",
        "KILN_GIT_TOKEN",
        "SSH_AUTH_SOCK",
        "GIT_SSH",
        "GIT_SSH_COMMAND",
        "GIT_CONFIG_COUNT",
        "GIT_ASKPASS",
        "SSH_ASKPASS",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "GIT_SSL_CAINFO",
    ] {
        cmd.env_remove(key);
    }
    cmd.env("KILN_CACHE_DIR", repo.tmp.path().join(cache))
        .env("NO_COLOR", "1")
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", &home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("NO_PROXY", "127.0.0.1")
        .env("no_proxy", "127.0.0.1")
        .envs(env.iter().copied())
        .args(args);
    let out = cmd.output().expect("kiln runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

// ----------------------------------------------------------------- ssh

/// A `sshd` on a loopback port that accepts one client key, and an
/// `ssh-agent` holding that key.
struct Ssh {
    dir: tempfile::TempDir,
    port: u16,
    _sshd: Daemon,
    _agent: Daemon,
}

impl Ssh {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        fixture("make_ssh_keys.sh", dir.path());
        let port = free_port();
        let p = |name: &str| dir.path().join(name).display().to_string();
        // `UsePAM yes`: without PAM, sshd refuses users whose password is
        // locked (`!` in /etc/shadow), as CI users often are; with it, a
        // non-root sshd still accepts its own user by key.
        let config = format!(
            "ListenAddress 127.0.0.1\nPort {port}\nHostKey {}\nAuthorizedKeysFile {}\n\
             StrictModes no\nPidFile none\nUsePAM yes\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n\
             AcceptEnv GIT_PROTOCOL\n",
            p("host_key"),
            p("authorized_keys"),
        );
        std::fs::write(dir.path().join("sshd_config"), config).expect("write sshd_config");
        // sshd started as root needs its privilege separation directory.
        let _ = std::fs::create_dir_all("/run/sshd");
        let log = std::fs::File::create(dir.path().join("sshd.log")).expect("sshd log");
        let sshd = Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f", &p("sshd_config")])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("/usr/sbin/sshd starts (package openssh-server)");
        let sshd = Daemon(sshd);
        wait_for(port);
        let agent = Command::new("ssh-agent")
            .args(["-D", "-a", &p("agent.sock")])
            .stdout(Stdio::null())
            .spawn()
            .expect("ssh-agent starts");
        let agent = Daemon(agent);
        for _ in 0..400 {
            if dir.path().join("agent.sock").exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        let ssh = Self {
            dir,
            port,
            _sshd: sshd,
            _agent: agent,
        };
        ssh.ssh_add(&[&ssh.path("client_key")]);
        ssh
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    fn ssh_add(&self, args: &[&str]) {
        let run = || {
            Command::new("ssh-add")
                .args(args)
                .env("SSH_AUTH_SOCK", self.path("agent.sock"))
                .output()
                .expect("ssh-add runs")
        };
        // The agent's socket appears when it binds, a moment before it listens.
        let mut out = run();
        for _ in 0..200 {
            if out.status.success()
                || !String::from_utf8_lossy(&out.stderr).contains("Error connecting to agent")
            {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
            out = run();
        }
        assert!(
            out.status.success(),
            "ssh-add {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// An `ssh` command line that accepts any host key and reads no user
    /// configuration.
    fn command(extra: &str) -> String {
        format!(
            "ssh -F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
             -o BatchMode=yes -o LogLevel=ERROR{extra}"
        )
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.path("sshd.log")).unwrap_or_default()
    }
}

fn user() -> String {
    let out = Command::new("id").arg("-un").output().expect("id runs");
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

#[test]
fn renders_over_ssh_with_the_key_in_the_agent() {
    let repo = Repo::make("history");
    let ssh = Ssh::start();
    let sock = ssh.path("agent.sock");
    let url = format!(
        "ssh://{}@127.0.0.1:{}{}",
        user(),
        ssh.port,
        repo.path().display()
    );
    // The port comes from the URL; host key options from GIT_SSH_COMMAND.
    let command = Ssh::command("");
    let env = [
        ("SSH_AUTH_SOCK", sock.as_str()),
        ("GIT_SSH_COMMAND", command.as_str()),
    ];
    let v1 = kiln(
        &repo,
        "c1",
        &env,
        &[
            "render", "--repo", &url, "--rev", "v1", "--path", "apps/web",
        ],
    );
    assert_eq!(color(&v1), "blue", "sshd log:\n{}", ssh.log());
    let main = kiln(
        &repo,
        "c1",
        &env,
        &["render", "--repo", &url, "--path", "apps/web"],
    );
    assert_eq!(color(&main), "green");

    // The scp-like form carries no port: GIT_SSH_COMMAND gives it.
    let scp = format!("{}@127.0.0.1:{}", user(), repo.path().display());
    let command = Ssh::command(&format!(" -p {}", ssh.port));
    let env = [
        ("SSH_AUTH_SOCK", sock.as_str()),
        ("GIT_SSH_COMMAND", command.as_str()),
    ];
    let extra = kiln(
        &repo,
        "c2",
        &env,
        &[
            "render",
            "--repo",
            &scp,
            "--rev",
            "feature",
            "--path",
            "apps/extra",
        ],
    );
    assert_eq!(color(&extra), "red");

    // core.sshCommand from git's environment configuration works the same.
    let env = [
        ("SSH_AUTH_SOCK", sock.as_str()),
        ("GIT_CONFIG_COUNT", "1"),
        ("GIT_CONFIG_KEY_0", "core.sshCommand"),
        ("GIT_CONFIG_VALUE_0", command.as_str()),
    ];
    let v2 = kiln(
        &repo,
        "c3",
        &env,
        &[
            "render", "--repo", &scp, "--rev", "v2", "--path", "apps/web",
        ],
    );
    assert_eq!(color(&v2), "green");
}

#[test]
fn an_emptied_agent_is_a_clear_error_that_shows_no_key() {
    let repo = Repo::make("history");
    let ssh = Ssh::start();
    let sock = ssh.path("agent.sock");
    let url = format!(
        "ssh://{}@127.0.0.1:{}{}",
        user(),
        ssh.port,
        repo.path().display()
    );
    let command = Ssh::command("");
    let env = [
        ("SSH_AUTH_SOCK", sock.as_str()),
        ("GIT_SSH_COMMAND", command.as_str()),
    ];
    let args = [
        "-vv", "render", "--repo", &url, "--rev", "v1", "--path", "apps/web",
    ];
    assert_eq!(color(&kiln(&repo, "ok", &env, &args)), "blue");

    ssh.ssh_add(&["-D"]);
    let run = kiln(&repo, "emptied", &env, &args);
    let err = run.error();
    assert!(
        err.contains(&format!("failed to fetch ssh://{}@127.0.0.1", user())),
        "{err}"
    );
    assert!(err.contains("Permission denied (publickey)"), "{err}");
    let public = std::fs::read_to_string(ssh.path("client_key.pub")).expect("public key");
    let blob = public.split_whitespace().nth(1).expect("a key blob");
    let private = std::fs::read_to_string(ssh.path("client_key")).expect("private key");
    for secret in private.lines().filter(|l| !l.starts_with("-----")).chain([
        blob,
        "kiln-test-client-key",
        ssh.path("client_key").as_str(),
    ]) {
        assert!(!err.contains(secret), "{secret} in:\n{err}");
    }
}

// --------------------------------------------------------------- https

#[path = "../fixtures/remote/https_server.rs"]
mod https_server;

use https_server::Https;

/// A server for the repositories under `repo`'s temp dir, with a test CA
/// (`ca.pem`) and a certificate for 127.0.0.1.
fn serve_https(repo: &Repo, accept: &[(&str, &str)]) -> Https {
    let certs = tempfile::tempdir().expect("temp dir");
    fixture("make_tls_certs.sh", certs.path());
    Https::start(repo.tmp.path(), accept, certs)
}

const TOKEN: &str = "t0ken-0f-the-test";

#[test]
fn renders_over_https_with_kiln_git_token() {
    let repo = Repo::make("history");
    let https = serve_https(&repo, &[("x-access-token", TOKEN), ("alice", TOKEN)]);
    let ca = https.ca();
    let env = [("SSL_CERT_FILE", ca.as_str()), ("KILN_GIT_TOKEN", TOKEN)];
    let url = https.url("");
    let run = kiln(
        &repo,
        "c1",
        &env,
        &[
            "-vv", "render", "--repo", &url, "--rev", "v1", "--path", "apps/web",
        ],
    );
    assert_eq!(color(&run), "blue");
    assert!(!run.stderr.contains(TOKEN), "{}", run.stderr);
    assert!(
        https.users().iter().any(|u| u == "x-access-token"),
        "{:?}",
        https.users()
    );
    // A user named in the URL is kept, with the token as its password.
    let url = https.url("alice@");
    let run = kiln(
        &repo,
        "c2",
        &env,
        &[
            "render",
            "--repo",
            &url,
            "--rev",
            "feature",
            "--path",
            "apps/extra",
        ],
    );
    assert_eq!(color(&run), "red");
    assert!(
        https.users().iter().any(|u| u == "alice"),
        "{:?}",
        https.users()
    );
    // Credentials in the URL itself, without KILN_GIT_TOKEN.
    let url = https.url(&format!("alice:{TOKEN}@"));
    let run = kiln(
        &repo,
        "c3",
        &env[..1],
        &[
            "-vv", "render", "--repo", &url, "--rev", "v2", "--path", "apps/web",
        ],
    );
    assert_eq!(color(&run), "green");
    assert!(!run.stderr.contains(TOKEN), "{}", run.stderr);
}

#[test]
fn renders_over_https_with_a_git_credential_helper() {
    let repo = Repo::make("history");
    let https = serve_https(&repo, &[("helper-user", "helper-s3cret")]);
    let ca = https.ca();
    let url = https.url("");
    let env = [
        ("SSL_CERT_FILE", ca.as_str()),
        ("GIT_CONFIG_COUNT", "1"),
        ("GIT_CONFIG_KEY_0", "credential.helper"),
        (
            "GIT_CONFIG_VALUE_0",
            "!f() { echo username=helper-user; echo password=helper-s3cret; }; f",
        ),
    ];
    let args = [
        "-vv", "render", "--repo", &url, "--rev", "v2", "--path", "apps/web",
    ];
    let run = kiln(&repo, "c1", &env, &args);
    assert_eq!(color(&run), "green");
    assert!(!run.stderr.contains("helper-s3cret"), "{}", run.stderr);
    // Without the helper the server refuses: the helper did authenticate.
    let err = kiln(&repo, "c2", &env[..1], &args).error().to_owned();
    assert!(err.contains("credentials"), "{err}");
    assert!(err.contains(&format!("failed to fetch {url}")), "{err}");
}

#[test]
fn a_wrong_token_is_a_clear_error_that_shows_no_token() {
    let repo = Repo::make("history");
    let https = serve_https(&repo, &[("x-access-token", TOKEN)]);
    let ca = https.ca();
    let url = https.url("");
    let wrong = "wr0ng-t0ken-value";
    let env = [("SSL_CERT_FILE", ca.as_str()), ("KILN_GIT_TOKEN", wrong)];
    let run = kiln(&repo, "c1", &env, &["-vv", "render", "--repo", &url]);
    let err = run.error();
    assert!(err.contains(&format!("failed to fetch {url}")), "{err}");
    assert!(!err.contains(wrong) && !run.stdout.contains(wrong), "{err}");
    assert!(
        err.contains("were not accepted by the remote") && err.contains("401"),
        "{err}"
    );
    assert!(https.users().iter().any(|u| u == "x-access-token"));
    // The server's certificate is trusted only through SSL_CERT_FILE.
    let env = [("KILN_GIT_TOKEN", TOKEN)];
    let err = kiln(&repo, "c2", &env, &["render", "--repo", &url])
        .error()
        .to_owned();
    assert!(err.contains(&format!("failed to fetch {url}")), "{err}");
    assert!(err.contains("UnknownIssuer"), "{err}");
}
