//! Fetch and push over smart HTTP with Basic auth: a small HTTP/1.1 server on
//! loopback that hands each request to `git http-backend` (CGI).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use kiln_git_publish::{Error, Outcome, Target, publish};

use crate::util::{COMMIT, Fixture, files, git_in, ls_tree};

/// `alice:s3cr3t`, base64-encoded as Basic auth sends it. gix refuses to
/// send credentials over plain http, so no test here logs in successfully;
/// they show the refusals.
const ALICE: &str = "Basic YWxpY2U6czNjcjN0";

/// Which requests need [`ALICE`].
#[derive(Clone, Copy)]
enum Auth {
    /// No request.
    None,
    /// Every request.
    All,
    /// Only pushes (`git-receive-pack`).
    Push,
}

/// Serves the repositories below `root` until the test process ends; the
/// listener thread is detached, each connection answers one request.
fn serve(root: &Path, auth: Auth) -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind loopback");
    let port = listener.local_addr().expect("bound").port();
    let root = root.to_owned();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let root = root.clone();
            std::thread::spawn(move || {
                // A broken connection only fails the client side of the test.
                let _ = handle(stream, &root, auth);
            });
        }
    });
    port
}

fn handle(stream: TcpStream, root: &PathBuf, auth: Auth) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let uri = parts.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header)?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let body = if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        read_chunked(&mut reader)?
    } else {
        let len = header("content-length").map_or(0, |v| v.parse().unwrap_or(0));
        let mut body = vec![0; len];
        reader.read_exact(&mut body)?;
        body
    };
    let (path, query) = uri.split_once('?').unwrap_or((&uri, ""));
    let push = query.contains("git-receive-pack") || path.ends_with("/git-receive-pack");
    let needs_auth = match auth {
        Auth::None => false,
        Auth::All => true,
        Auth::Push => push,
    };
    let mut out = stream;
    if needs_auth && header("authorization") != Some(ALICE) {
        let response = "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"kiln\"\r\n\
                        Content-Length: 0\r\nConnection: close\r\n\r\n";
        return out.write_all(response.as_bytes());
    }
    let mut cgi = Command::new("git");
    cgi.arg("http-backend")
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", &method)
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("REMOTE_USER", "alice")
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(t) = header("content-type") {
        cgi.env("CONTENT_TYPE", t);
    }
    if let Some(e) = header("content-encoding") {
        cgi.env("HTTP_CONTENT_ENCODING", e);
    }
    if let Some(p) = header("git-protocol") {
        cgi.env("GIT_PROTOCOL", p);
    }
    let mut child = cgi.spawn()?;
    let mut stdin = child.stdin.take().expect("piped");
    let writer = std::thread::spawn(move || stdin.write_all(&body));
    let output = child.wait_with_output()?;
    writer.join().expect("writer thread")?;
    let split = output
        .stdout
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| {
            output
                .stdout
                .windows(2)
                .position(|w| w == b"\n\n")
                .map(|i| (i, 2))
        });
    let Some((end, gap)) = split else {
        return out.write_all(b"HTTP/1.1 500 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
    };
    let cgi_headers = String::from_utf8_lossy(&output.stdout[..end]).into_owned();
    let cgi_body = &output.stdout[end + gap..];
    let mut status = "200 OK".to_owned();
    let mut response = String::new();
    for h in cgi_headers.lines() {
        match h.split_once(':') {
            Some((n, v)) if n.eq_ignore_ascii_case("status") => v.trim().clone_into(&mut status),
            Some(_) => {
                response.push_str(h.trim_end());
                response.push_str("\r\n");
            }
            None => {}
        }
    }
    let head = format!(
        "HTTP/1.1 {status}\r\n{response}Content-Length: {}\r\nConnection: close\r\n\r\n",
        cgi_body.len()
    );
    out.write_all(head.as_bytes())?;
    out.write_all(cgi_body)
}

fn read_chunked(reader: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        reader.read_line(&mut size)?;
        let size = size.trim().split(';').next().unwrap_or_default();
        let size = usize::from_str_radix(size, 16).unwrap_or(0);
        let mut chunk = vec![0; size + 2];
        if size == 0 {
            // The final chunk: skip trailers up to the empty line.
            let mut rest = String::new();
            while reader.read_line(&mut rest)? > 2 {
                rest.clear();
            }
            return Ok(body);
        }
        reader.read_exact(&mut chunk)?;
        body.extend_from_slice(&chunk[..size]);
    }
}

fn target(port: u16, userinfo: &str, spec: &str) -> Target {
    format!("http://{userinfo}127.0.0.1:{port}/remote.git#{spec}")
        .parse()
        .expect("parses")
}

#[test]
fn publish_over_http() {
    let fx = Fixture::new();
    let seeded = fx.seed("env", &[("README.md", "r\n")]);
    let port = serve(fx.dir.path(), Auth::None);
    let t = target(port, "", "env:apps/web");
    let rendered = files(&[("web.yaml", "web\n")]);
    let Outcome::Committed { id, parent, .. } =
        publish(&t, &rendered, &COMMIT, &fx.work("a")).expect("publishes over http")
    else {
        panic!("commits");
    };
    assert_eq!(parent, Some(seeded), "fetched over http");
    assert_eq!(git_in(&fx.remote(), &["rev-parse", "env"]), id);
    assert_eq!(
        ls_tree(&fx.remote(), "env"),
        ["README.md", "apps/web/web.yaml"]
    );
    assert_eq!(
        publish(&t, &rendered, &COMMIT, &fx.work("b")).expect("publishes"),
        Outcome::Unchanged { id }
    );
}

#[test]
fn credentials_over_plain_http_are_refused_without_showing_them() {
    let fx = Fixture::new();
    fx.seed("env", &[("README.md", "r\n")]);
    let port = serve(fx.dir.path(), Auth::All);
    let t = target(port, "alice:s3cr3t@", "env");
    let err = publish(&t, &files(&[("a", "a")]), &COMMIT, &fx.work("a")).expect_err("refused");
    assert!(matches!(err, Error::Fetch { .. }), "{err:?}");
    let text = format!("{err}: {:?}", std::error::Error::source(&err));
    assert!(text.contains("clear text"), "gix says why: {text}");
    assert!(!text.contains("s3cr3t"), "{text}");
    assert!(
        text.contains(&format!("http://127.0.0.1:{port}/remote.git")),
        "{text}"
    );
}

#[test]
fn a_push_without_credentials_fails_instead_of_prompting() {
    let fx = Fixture::new();
    let seeded = fx.seed("env", &[("README.md", "r\n")]);
    let port = serve(fx.dir.path(), Auth::Push);
    let t = target(port, "", "env");
    let err = publish(&t, &files(&[("a", "a")]), &COMMIT, &fx.work("a"))
        .expect_err("anonymous pushes are refused");
    let Error::Push { ref detail, .. } = err else {
        panic!("the anonymous fetch works, the push fails: {err:?}");
    };
    assert!(detail.contains("could not read Username"), "{detail}");
    assert_eq!(git_in(&fx.remote(), &["rev-parse", "env"]), seeded);
}
