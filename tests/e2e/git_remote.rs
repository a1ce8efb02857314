//! Git sources over ssh (a real `sshd` and `ssh-agent` started by the test)
//! and https (a TLS server in the test running `git http-backend` behind
//! Basic auth), with credentials from the agent, `KILN_GIT_TOKEN` and git
//! credential helpers. Needs `git`, `openssl`, `openssh-client` and
//! `openssh-server` (`/usr/sbin/sshd`).

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine as _;

use crate::git::{Repo, free_port};
use crate::util::Run;

/// A child process, killed on drop.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for(port: u16) {
    for _ in 0..400 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    panic!("nothing listens on port {port}");
}

fn color(run: &Run) -> String {
    let docs = run.docs();
    let cm = docs
        .iter()
        .find(|d| d["kind"] == "ConfigMap")
        .expect("a ConfigMap");
    cm["data"]["color"].as_str().expect("a color").to_owned()
}

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
        let config = format!(
            "ListenAddress 127.0.0.1\nPort {port}\nHostKey {}\nAuthorizedKeysFile {}\n\
             StrictModes no\nPidFile none\nUsePAM no\nPasswordAuthentication no\n\
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
        let out = Command::new("ssh-add")
            .args(args)
            .env("SSH_AUTH_SOCK", self.path("agent.sock"))
            .output()
            .expect("ssh-add runs");
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

/// A TLS server on a loopback port serving the repositories under `root`
/// with `git http-backend`, for requests with Basic auth as one of `accept`
/// (user, password). Stops on drop.
struct Https {
    port: u16,
    certs: tempfile::TempDir,
    /// The user names of every request's credentials, right or wrong.
    users: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl Https {
    fn start(root: &Path, accept: &[(&str, &str)]) -> Self {
        use rustls::pki_types::pem::PemObject as _;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs = tempfile::tempdir().expect("temp dir");
        fixture("make_tls_certs.sh", certs.path());
        let read = |name: &str| std::fs::read(certs.path().join(name)).expect("read pem");
        let chain = CertificateDer::pem_slice_iter(&read("server.pem"))
            .collect::<Result<Vec<_>, _>>()
            .expect("server certificate");
        let key = PrivateKeyDer::from_pem_slice(&read("server.key")).expect("server key");
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("server config");
        let config = Arc::new(config);
        let accept: Vec<String> = accept
            .iter()
            .map(|(u, p)| {
                let basic = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
                format!("Basic {basic}")
            })
            .collect();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let (users, stop) = (Arc::default(), Arc::new(AtomicBool::new(false)));
        let server = Server {
            root: root.to_owned(),
            accept: Arc::new(accept),
            users: Arc::clone(&users),
        };
        let stopped = Arc::clone(&stop);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                let (Ok(stream), server, config) = (stream, server.clone(), Arc::clone(&config))
                else {
                    continue;
                };
                std::thread::spawn(move || {
                    let conn = rustls::ServerConnection::new(config).expect("tls connection");
                    // A failed request shows as a failed fetch in kiln.
                    let _ = server.serve(&mut rustls::StreamOwned::new(conn, stream));
                });
            }
        });
        Self {
            port,
            certs,
            users,
            stop,
        }
    }

    fn url(&self, userinfo: &str) -> String {
        format!("https://{userinfo}127.0.0.1:{}/repo", self.port)
    }

    fn ca(&self) -> String {
        self.certs.path().join("ca.pem").display().to_string()
    }

    fn users(&self) -> Vec<String> {
        self.users.lock().expect("not poisoned").clone()
    }
}

impl Drop for Https {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

#[derive(Clone)]
struct Server {
    root: PathBuf,
    accept: Arc<Vec<String>>,
    users: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Answers one request, then closes the connection.
    fn serve(
        &self,
        tls: &mut rustls::StreamOwned<rustls::ServerConnection, TcpStream>,
    ) -> std::io::Result<()> {
        let mut reader = BufReader::new(&mut *tls);
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_owned();
        let target = parts.next().unwrap_or_default().to_owned();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line)?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let body = read_body(&mut reader, &header)?;
        drop(reader);
        let auth = header("authorization").unwrap_or_default();
        if let Some(basic) = auth.strip_prefix("Basic ")
            && let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(basic)
        {
            let decoded = String::from_utf8_lossy(&decoded).into_owned();
            let user = decoded.split(':').next().unwrap_or_default().to_owned();
            self.users.lock().expect("not poisoned").push(user);
        }
        let response = if self.accept.contains(&auth) {
            self.cgi(&method, &target, &header, &body)?
        } else {
            b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"kiln\"\r\n\
              Content-Length: 0\r\nConnection: close\r\n\r\n"
                .to_vec()
        };
        tls.write_all(&response)?;
        tls.conn.send_close_notify();
        tls.flush()
    }

    /// Runs `git http-backend` for the request; its CGI answer as HTTP.
    fn cgi(
        &self,
        method: &str,
        target: &str,
        header: &dyn Fn(&str) -> Option<String>,
        body: &[u8],
    ) -> std::io::Result<Vec<u8>> {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let mut cmd = Command::new("git");
        cmd.arg("http-backend")
            .env("GIT_PROJECT_ROOT", &self.root)
            .env("GIT_HTTP_EXPORT_ALL", "1")
            .env("PATH_INFO", path)
            .env("REQUEST_METHOD", method)
            .env("QUERY_STRING", query)
            .env("CONTENT_TYPE", header("content-type").unwrap_or_default())
            .env("CONTENT_LENGTH", body.len().to_string())
            .env("REMOTE_USER", "kiln")
            .env("REMOTE_ADDR", "127.0.0.1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(protocol) = header("git-protocol") {
            cmd.env("GIT_PROTOCOL", protocol);
        }
        if let Some(encoding) = header("content-encoding") {
            cmd.env("HTTP_CONTENT_ENCODING", encoding);
        }
        let mut child = cmd.spawn()?;
        let mut stdin = child.stdin.take().expect("piped");
        let body = body.to_vec();
        let writer = std::thread::spawn(move || stdin.write_all(&body));
        let out = child.wait_with_output()?;
        let _ = writer.join();
        let text = out.stdout;
        let split = text
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|i| (i, i + 4))
            .or_else(|| {
                text.windows(2)
                    .position(|w| w == b"\n\n")
                    .map(|i| (i, i + 2))
            })
            .unwrap_or((text.len(), text.len()));
        let head = String::from_utf8_lossy(&text[..split.0]).into_owned();
        let mut status = "200 OK".to_owned();
        let mut response = Vec::new();
        for line in head.lines() {
            match line.split_once(':') {
                Some((name, value)) if name.eq_ignore_ascii_case("status") => {
                    value.trim().clone_into(&mut status);
                }
                Some(_) => response.extend_from_slice(format!("{line}\r\n").as_bytes()),
                None => {}
            }
        }
        let content = &text[split.1..];
        let mut all = format!("HTTP/1.1 {status}\r\n").into_bytes();
        all.append(&mut response);
        all.extend_from_slice(
            format!(
                "Content-Length: {}\r\nConnection: close\r\n\r\n",
                content.len()
            )
            .as_bytes(),
        );
        all.extend_from_slice(content);
        Ok(all)
    }
}

/// The request body, sized by `Content-Length` or chunked.
fn read_body(
    reader: &mut impl BufRead,
    header: &dyn Fn(&str) -> Option<String>,
) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    if header("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let hex = size.trim().split(';').next().unwrap_or_default();
            let size = usize::from_str_radix(hex, 16).map_err(std::io::Error::other)?;
            if size == 0 {
                let mut trailer = String::new();
                while reader.read_line(&mut trailer)? > 2 {
                    trailer.clear();
                }
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..])?;
            let mut crlf = [0; 2];
            reader.read_exact(&mut crlf)?;
        }
    } else if let Some(length) = header("content-length") {
        let length = length.parse().map_err(std::io::Error::other)?;
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
    }
    Ok(body)
}

const TOKEN: &str = "t0ken-0f-the-test";

#[test]
fn renders_over_https_with_kiln_git_token() {
    let repo = Repo::make("history");
    let https = Https::start(
        repo.tmp.path(),
        &[("x-access-token", TOKEN), ("alice", TOKEN)],
    );
    let ca = https.ca();
    let env = [("SSL_CERT_FILE", ca.as_str()), ("KILN_GIT_TOKEN", TOKEN)];
    let url = https.url("");
    let run = kiln(
        &repo,
        "c1",
        &env,
        &[
            "render", "--repo", &url, "--rev", "v1", "--path", "apps/web",
        ],
    );
    assert_eq!(color(&run), "blue");
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
}

#[test]
fn renders_over_https_with_a_git_credential_helper() {
    let repo = Repo::make("history");
    let https = Https::start(repo.tmp.path(), &[("helper-user", "helper-s3cret")]);
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
    let https = Https::start(repo.tmp.path(), &[("x-access-token", TOKEN)]);
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
