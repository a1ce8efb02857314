//! Bad and hostile streams: each is refused with a clear status, nothing
//! is written outside the request's directory, and the directory goes.

use kiln::cmp::client::{self, Tarball};
use kiln::cmp::unpack::Caps;
use kiln_cmp_proto::{AppStreamRequest, app_stream_request::Request};
use sha2::{Digest as _, Sha256};
use tonic::Code;

use crate::harness::{Server, application, stream};

/// A tarball of raw entries: `(name, type, data, link)`, names written
/// as given (the tar crate's own checks would refuse the hostile ones).
pub(crate) fn raw_tarball(entries: &[Entry<'_>]) -> Tarball {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut b = tar::Builder::new(gz);
    for (path, kind, data, link) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(*kind);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
        if let Some(l) = link {
            h.as_old_mut().linkname[..l.len()].copy_from_slice(l.as_bytes());
        }
        h.set_cksum();
        b.append(&h, *data).unwrap();
    }
    let bytes = b.into_inner().unwrap().finish().unwrap();
    Tarball {
        checksum: format!("{:x}", Sha256::digest(&bytes)),
        bytes,
        files: entries.len(),
    }
}

/// Bytes that do not compress.
pub(crate) fn noise(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n);
    let mut x: u32 = 7;
    for _ in 0..n {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out.push(x.to_le_bytes()[0]);
    }
    out
}

/// An entry: name, type, contents, link target.
pub(crate) type Entry<'a> = (&'a str, tar::EntryType, &'a [u8], Option<&'a str>);

pub(crate) const REG: tar::EntryType = tar::EntryType::Regular;
pub(crate) const DIR: tar::EntryType = tar::EntryType::Directory;

/// A valid app, then `extra`.
pub(crate) fn app_with(extra: &[Entry<'_>]) -> Tarball {
    let mut entries: Vec<Entry<'_>> = vec![
        (".", DIR, b"", None),
        ("app", DIR, b"", None),
        (
            "app/cm.yaml",
            REG,
            b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
            None,
        ),
    ];
    entries.extend_from_slice(extra);
    raw_tarball(&entries)
}

/// Sends `messages` to `GenerateManifest` and returns the status.
fn refused(server: &Server, messages: Vec<AppStreamRequest>) -> tonic::Status {
    let mut client = server.client();
    let status = server
        .block_on(client.generate_manifest(client::streaming(messages, None)))
        .expect_err("refused");
    assert!(status.message().starts_with("kiln: "), "{status:?}");
    assert!(
        server.leftovers().is_empty(),
        "left {:?}",
        server.leftovers()
    );
    status
}

pub(crate) fn generate_messages(tarball: &Tarball) -> Vec<AppStreamRequest> {
    let app = application("app");
    stream("app", &app.generate_env(), tarball)
}

#[test]
fn a_valid_stream_of_the_same_shape_renders() {
    // The control for the cases below: the same builder, nothing hostile.
    let server = Server::default_server();
    let mut client = server.client();
    let ok = server
        .block_on(
            client.generate_manifest(client::streaming(generate_messages(&app_with(&[])), None)),
        )
        .unwrap()
        .into_inner();
    assert_eq!(ok.manifests.len(), 1);
}

#[test]
fn checksum_mismatch_is_refused() {
    let server = Server::default_server();
    let mut tarball = app_with(&[]);
    tarball.checksum = format!("{:x}", Sha256::digest(b"something else"));
    let status = refused(&server, generate_messages(&tarball));
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("file checksum validation error"),
        "{}",
        status.message()
    );
}

#[test]
fn a_kept_answer_needs_the_stream_to_match_its_checksum() {
    let server = Server::default_server();
    let tarball = app_with(&[]);
    let mut client = server.client();
    server
        .block_on(client.generate_manifest(client::streaming(generate_messages(&tarball), None)))
        .unwrap();
    // The same metadata (so the same key), other bytes.
    let other = app_with(&[("app/extra.yaml", REG, b"kind: X\n", None)]);
    let mut messages = generate_messages(&other);
    messages[0] = generate_messages(&tarball).remove(0);
    // Announcing the real size, so that only the checksum tells.
    if let Some(Request::Metadata(m)) = &mut messages[0].request {
        m.size = i64::try_from(other.bytes.len()).unwrap();
    }
    let status = refused(&server, messages);
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("file checksum validation error"),
        "{}",
        status.message()
    );
}

#[test]
fn a_truncated_stream_is_refused() {
    let server = Server::default_server();
    let tarball = raw_tarball(&[
        (".", DIR, b"", None),
        ("app/big.bin", REG, &noise(8000), None),
    ]);
    let mut messages = generate_messages(&tarball);
    assert!(messages.len() > 2);
    messages.pop();
    let status = refused(&server, messages);
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("the stream ended after"),
        "{}",
        status.message()
    );
}

#[test]
fn a_stream_without_metadata_first_is_refused() {
    let server = Server::default_server();
    let mut messages = generate_messages(&app_with(&[]));
    messages.remove(0);
    let status = refused(&server, messages);
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status
            .message()
            .contains("did not start with the request metadata"),
        "{}",
        status.message()
    );
}

#[test]
fn an_oversized_stream_is_refused() {
    let server = Server::start(
        |s| {
            s.caps = Caps {
                stream_bytes: 4096,
                ..Caps::default()
            }
        },
        None,
    );
    // Announced too large: refused before a chunk is read.
    let big = raw_tarball(&[
        (".", DIR, b"", None),
        ("app/noise.bin", REG, &noise(20_000), None),
    ]);
    let status = refused(&server, generate_messages(&big));
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert!(
        status.message().contains("at most 4096"),
        "{}",
        status.message()
    );
    // Announced small, sent large: refused once the announced size is
    // passed (the request reserved only that much of the in-flight budget).
    let mut lying = generate_messages(&big);
    if let Some(Request::Metadata(m)) = &mut lying[0].request {
        m.size = 100;
    }
    let status = refused(&server, lying);
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status
            .message()
            .contains("more than the 100 bytes its metadata announced"),
        "{}",
        status.message()
    );
    // Announcing no size: the cap applies.
    let mut unsized_ = generate_messages(&big);
    if let Some(Request::Metadata(m)) = &mut unsized_[0].request {
        m.size = 0;
    }
    let status = refused(&server, unsized_);
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert!(
        status.message().contains("more than 4096 bytes"),
        "{}",
        status.message()
    );
}

#[test]
fn entries_leaving_the_tree_are_refused() {
    let server = Server::default_server();
    let outside = tempfile::tempdir().unwrap();
    let abs_target = outside.path().join("x").to_string_lossy().into_owned();
    let abs_name = outside
        .path()
        .join("planted.yaml")
        .to_string_lossy()
        .into_owned();
    let cases: Vec<(&str, Vec<Entry<'_>>, &str)> = vec![
        (
            "dot-dot",
            vec![("app/../../evil.yaml", REG, b"x", None)],
            "outside the app's source tree",
        ),
        (
            "absolute",
            vec![(abs_name.as_str(), REG, b"x", None)],
            "outside the app's source tree",
        ),
        (
            "symlink out",
            vec![(
                "app/link",
                tar::EntryType::Symlink,
                b"",
                Some("../../../etc"),
            )],
            "leads outside the source tree",
        ),
        (
            "absolute symlink",
            vec![(
                "app/link",
                tar::EntryType::Symlink,
                b"",
                Some(abs_target.as_str()),
            )],
            "leads outside the source tree",
        ),
        (
            "hard link out",
            vec![(
                "app/hard",
                tar::EntryType::Link,
                b"",
                Some("../../etc/passwd"),
            )],
            "hard link",
        ),
        (
            "fifo",
            vec![("app/fifo", tar::EntryType::Fifo, b"", None)],
            "FIFO",
        ),
        (
            "device",
            vec![("app/dev", tar::EntryType::Block, b"", None)],
            "block device",
        ),
    ];
    for (name, extra, expect) in cases {
        let status = refused(&server, generate_messages(&app_with(&extra)));
        assert_eq!(status.code(), Code::InvalidArgument, "{name}: {status:?}");
        assert!(
            status.message().contains(expect),
            "{name}: {}",
            status.message()
        );
        assert!(
            status.message().contains("hint:"),
            "{name}: {}",
            status.message()
        );
    }
    assert_eq!(
        std::fs::read_dir(outside.path()).unwrap().count(),
        0,
        "nothing planted outside"
    );
}

#[test]
fn a_tar_bomb_stops_at_the_ratio_cap() {
    let server = Server::default_server();
    let zeros = vec![0u8; 48 << 20];
    let bomb = raw_tarball(&[(".", DIR, b"", None), ("app/zeros", REG, &zeros, None)]);
    assert!(bomb.bytes.len() < 200 << 10, "a small stream");
    let status = refused(&server, generate_messages(&bomb));
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert!(
        status.message().contains("tar bomb"),
        "{}",
        status.message()
    );
}

#[test]
fn a_stream_the_caller_abandons_leaves_nothing_behind() {
    let server = Server::default_server();
    let tarball = raw_tarball(&[
        (".", DIR, b"", None),
        ("app/big.bin", REG, &noise(64 << 10), None),
    ]);
    let mut messages = generate_messages(&tarball);
    messages.truncate(messages.len() / 2);
    let mut client = server.client();
    let work = server.work.clone();
    let abandoned = server.block_on(async {
        // Half the tarball, then nothing: the caller goes away mid-stream.
        let stalled =
            tokio_stream::StreamExt::chain(tokio_stream::iter(messages), tokio_stream::pending());
        let call = client.generate_manifest(tonic::Request::new(stalled));
        tokio::pin!(call);
        let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            tokio::select! {
                r = &mut call => return Err(r.err()),
                () = tokio::time::sleep(std::time::Duration::from_millis(20)) => {}
            }
            let started = std::fs::read_dir(&work).is_ok_and(|mut d| d.next().is_some());
            if started || std::time::Instant::now() > until {
                return Ok(started);
            }
        }
    });
    assert!(
        matches!(abandoned, Ok(true)),
        "the server was receiving the stream: {abandoned:?}"
    );
    // The call is dropped here: the server sees the stream reset.
    assert!(
        server
            .wait_clean(std::time::Duration::from_secs(10))
            .is_empty(),
        "the request's directory is removed"
    );
    // The request is over (the stream ends early or is reset, depending
    // on the transport), and nothing was rendered.
    let rpc = kiln::cmp::metrics::RpcLabels {
        rpc: "GenerateManifest".into(),
    };
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while server.metrics.in_flight.get_or_create(&rpc).get() != 0 {
        assert!(std::time::Instant::now() < until, "the request ended");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let ok = kiln::cmp::metrics::RequestLabels {
        rpc: "GenerateManifest".into(),
        code: "Ok".into(),
    };
    assert_eq!(server.metrics.requests.get_or_create(&ok).get(), 0);
}

#[test]
fn an_expired_deadline_is_refused_at_once() {
    let server = Server::default_server();
    let messages = generate_messages(&app_with(&[]));
    let mut client = server.client();
    // Less than the server's margin: the deadline has passed on arrival.
    let status = server
        .block_on(client.generate_manifest(client::streaming(
            messages,
            Some(std::time::Duration::from_millis(50)),
        )))
        .expect_err("refused");
    // The caller's own timer may answer first; the server counts it either way.
    assert!(
        matches!(status.code(), Code::DeadlineExceeded | Code::Cancelled),
        "{status:?}"
    );
    let exceeded = kiln::cmp::metrics::RequestLabels {
        rpc: "GenerateManifest".into(),
        code: "DeadlineExceeded".into(),
    };
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while server.metrics.requests.get_or_create(&exceeded).get() == 0 {
        assert!(
            std::time::Instant::now() < until,
            "the server answered DEADLINE_EXCEEDED"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(
        server
            .wait_clean(std::time::Duration::from_secs(5))
            .is_empty()
    );
}
