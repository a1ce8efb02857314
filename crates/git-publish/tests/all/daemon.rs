//! Fetch and push over `git://` against `git daemon` on a loopback port.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use kiln_git_publish::{Error, Outcome, Target, publish};

use crate::util::{COMMIT, Fixture, files, git_command, git_in, ls_tree};

/// `git daemon` serving `base` on a free loopback port; killed on drop.
struct Daemon {
    child: Child,
    port: u16,
}

impl Daemon {
    fn start(base: &Path) -> Self {
        // The free port may be taken again before the daemon binds it: then
        // the daemon exits, and another port is tried.
        for _ in 0..5 {
            let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
                .expect("bind a free port")
                .local_addr()
                .expect("bound")
                .port();
            let child = git_command(&[
                "daemon",
                "--export-all",
                "--enable=receive-pack",
                "--reuseaddr",
                &format!("--base-path={}", base.display()),
                "--listen=127.0.0.1",
                &format!("--port={port}"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("git daemon starts");
            let mut daemon = Self { child, port };
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                if daemon.child.try_wait().expect("daemon status").is_some() {
                    break;
                }
                if TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok() {
                    return daemon;
                }
                assert!(
                    Instant::now() < deadline,
                    "git daemon did not listen on {port}"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        panic!("git daemon could not listen on a free loopback port");
    }

    fn url(&self, repo: &str) -> String {
        format!("git://127.0.0.1:{}/{repo}", self.port)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn publish_over_git_daemon() {
    let fx = Fixture::new();
    let seeded = fx.seed("env", &[("README.md", "r\n")]);
    let daemon = Daemon::start(fx.dir.path());
    let target: Target = format!("{}#env:apps/web", daemon.url("remote.git"))
        .parse()
        .expect("parses");
    let v1 = files(&[("web.yaml", "v1\n")]);
    let Outcome::Committed {
        id: first, parent, ..
    } = publish(&target, &v1, &COMMIT, &fx.work("a")).expect("publishes over git://")
    else {
        panic!("commits");
    };
    assert_eq!(
        parent,
        Some(seeded),
        "the seeded tip was fetched over git://"
    );
    let remote = fx.remote();
    assert_eq!(git_in(&remote, &["rev-parse", "env"]), first);
    assert_eq!(ls_tree(&remote, "env"), ["README.md", "apps/web/web.yaml"]);

    // A fresh publisher sees the branch only through the daemon.
    assert_eq!(
        publish(&target, &v1, &COMMIT, &fx.work("b")).expect("publishes"),
        Outcome::Unchanged { id: first.clone() }
    );
    let v2 = files(&[("web.yaml", "v2\n")]);
    let Outcome::Committed {
        id: second, parent, ..
    } = publish(&target, &v2, &COMMIT, &fx.work("b")).expect("publishes")
    else {
        panic!("commits");
    };
    assert_eq!(parent, Some(first));
    assert_eq!(
        git_in(&remote, &["show", &format!("{second}:apps/web/web.yaml")]),
        "v2"
    );
}

#[test]
fn a_repository_the_daemon_does_not_serve() {
    let fx = Fixture::new();
    let daemon = Daemon::start(fx.dir.path());
    let target: Target = format!("{}#env", daemon.url("missing.git"))
        .parse()
        .expect("parses");
    let err = publish(&target, &files(&[("a", "a")]), &COMMIT, &fx.work("a"))
        .expect_err("the repository does not exist");
    assert!(matches!(err, Error::Fetch { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&daemon.url("missing.git")), "{text}");
    assert!(text.contains("check that the repository exists"), "{text}");
}
