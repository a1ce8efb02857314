//! Many clients at once: the server holds a bounded number of requests and
//! bytes before reading any stream, queues a bounded number more, and
//! refuses the rest with a clear status, so memory does not grow with the
//! number of clients.

use std::time::{Duration, Instant};

use kiln::cmp::client;
use kiln::cmp::unpack::Caps;
use kiln_cmp_proto::AppStreamRequest;
use tonic::Code;

use crate::harness::Server;
use crate::hostile::{DIR, REG, app_with, generate_messages, noise, raw_tarball};

/// A call that sends `messages`, then nothing more (a slow client).
fn slow(
    messages: Vec<AppStreamRequest>,
    timeout: Duration,
) -> tonic::Request<impl tokio_stream::Stream<Item = AppStreamRequest> + Send + 'static> {
    let stream =
        tokio_stream::StreamExt::chain(tokio_stream::iter(messages), tokio_stream::pending());
    let mut request = tonic::Request::new(stream);
    request.set_timeout(timeout);
    request
}

type Call = tokio::task::JoinHandle<Result<(), tonic::Status>>;

/// Starts `n` slow `GenerateManifest` calls, each on its own connection.
fn start_slow(
    server: &Server,
    n: usize,
    messages: &[AppStreamRequest],
    timeout: Duration,
) -> Vec<Call> {
    (0..n)
        .map(|_| {
            let socket = server.socket.clone();
            let messages = messages.to_vec();
            server.rt.spawn(async move {
                let mut c = client::connect(&socket).await.unwrap();
                c.generate_manifest(slow(messages, timeout))
                    .await
                    .map(|_| ())
            })
        })
        .collect()
}

/// Waits until `ready` holds, up to 20 s.
fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(20);
    while !ready() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The statuses of the calls that ended, and the calls still running.
fn ended(server: &Server, calls: Vec<Call>) -> (Vec<tonic::Status>, Vec<Call>) {
    let mut done = Vec::new();
    let mut running = Vec::new();
    for call in calls {
        if call.is_finished() {
            let r = server.block_on(call).unwrap();
            done.push(r.expect_err("a slow call cannot succeed"));
        } else {
            running.push(call);
        }
    }
    (done, running)
}

/// A tarball of about `kib` KiB that does not compress.
fn heavy(kib: usize) -> Vec<AppStreamRequest> {
    let data = noise(kib << 10);
    generate_messages(&raw_tarball(&[
        (".", DIR, b"", None),
        ("app/noise.bin", REG, &data, None),
    ]))
}

#[test]
fn past_the_held_and_queued_requests_clients_are_refused_before_their_stream_is_read() {
    let server = Server::start(
        |s| {
            s.requests = 2;
            s.queue = 2;
        },
        None,
    );
    let messages = heavy(32);
    let half = &messages[..messages.len() / 2];
    let calls = start_slow(&server, 6, half, Duration::from_mins(1));
    // Two held (receiving), two queued, two refused at once.
    wait_for("two queued and two refused", || {
        server.metrics.queued.get() == 2 && calls.iter().filter(|c| c.is_finished()).count() == 2
    });
    let (refused, running) = ended(&server, calls);
    for status in &refused {
        assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
        assert!(
            status.message().contains("the server is busy: 2 requests")
                && status.message().contains("--max-requests"),
            "{}",
            status.message()
        );
    }
    // Only the two held requests reserved bytes and have a directory.
    wait_for("two request directories", || server.leftovers().len() == 2);
    let reserved = server.metrics.reserved_bytes.get();
    assert!(reserved > 0 && reserved <= 2 * (40 << 10), "{reserved}");
    // The callers go away: the queue empties and everything is given back.
    for call in running {
        call.abort();
    }
    wait_for("the queue to empty", || server.metrics.queued.get() == 0);
    wait_for("the budget to be given back", || {
        server.metrics.reserved_bytes.get() == 0
    });
    assert!(server.wait_clean(Duration::from_secs(10)).is_empty());
    // And the server still answers.
    let mut c = server.client();
    let ok = server
        .block_on(c.generate_manifest(client::streaming(generate_messages(&app_with(&[])), None)))
        .unwrap()
        .into_inner();
    assert_eq!(ok.manifests.len(), 1);
}

#[test]
fn streams_just_under_the_cap_share_one_in_flight_budget() {
    // Each stream may be up to 1 MiB, but all together only 160 KiB: many
    // clients each sending just under the cap cannot add up.
    let server = Server::start(
        |s| {
            s.requests = 16;
            s.queue = 16;
            s.in_flight_bytes = 160 << 10;
            s.caps = Caps {
                stream_bytes: 1 << 20,
                ..Caps::default()
            };
        },
        None,
    );
    let messages = heavy(60);
    let half = &messages[..messages.len() / 2];
    let holders = start_slow(&server, 2, half, Duration::from_mins(1));
    wait_for("two reservations", || {
        server.metrics.reserved_bytes.get() >= 2 * (60 << 10)
    });
    let held = server.metrics.reserved_bytes.get();
    // Five more: admitted, but none can reserve until the first two end.
    let waiters = start_slow(&server, 5, half, Duration::from_secs(2));
    let mut peak = held;
    let until = Instant::now() + Duration::from_secs(20);
    while !waiters.iter().all(tokio::task::JoinHandle::is_finished) {
        assert!(Instant::now() < until, "the waiters' deadline passes");
        peak = peak.max(server.metrics.reserved_bytes.get());
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(peak, held, "nobody reserved past the budget");
    assert!(held <= 160 << 10, "{held}");
    let (statuses, _) = ended(&server, waiters);
    for status in &statuses {
        assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
        assert!(
            status.message().contains("in-flight byte budget"),
            "{}",
            status.message()
        );
    }
    // Only the holders ever had a directory.
    assert_eq!(server.leftovers().len(), 2);
    for call in holders {
        call.abort();
    }
    wait_for("the budget to be given back", || {
        server.metrics.reserved_bytes.get() == 0
    });
    assert!(server.wait_clean(Duration::from_secs(10)).is_empty());
}

#[test]
fn a_message_past_the_decoder_cap_is_refused_unread() {
    let server = Server::start(|s| s.max_message = 16 << 10, None);
    let tarball = raw_tarball(&[
        (".", DIR, b"", None),
        ("app/noise.bin", REG, &noise(40 << 10), None),
    ]);
    let env = crate::harness::application("app").generate_env();
    // The whole tarball in one message, as a client with a huge
    // ARGOCD_CMP_CHUNK_SIZE would send it.
    let messages = client::messages("app", &env, &tarball, 1 << 20);
    assert_eq!(messages.len(), 2);
    let mut c = server.client();
    let status = server
        .block_on(c.generate_manifest(client::streaming(messages, None)))
        .expect_err("refused");
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    assert!(
        status.message().starts_with("kiln: the stream broke")
            && status.message().contains("too large"),
        "{}",
        status.message()
    );
    assert!(server.wait_clean(Duration::from_secs(10)).is_empty());
}

#[test]
fn a_stream_that_stalls_is_dropped() {
    let server = Server::start(|s| s.stall = Duration::from_millis(300), None);
    let messages = heavy(16);
    let call = start_slow(&server, 1, &messages[..3], Duration::from_mins(1));
    let started = Instant::now();
    let status = server
        .block_on(call.into_iter().next().unwrap())
        .unwrap()
        .expect_err("dropped");
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert!(
        status.message().contains("sent nothing for 300ms")
            && status.message().contains("--stall-timeout"),
        "{}",
        status.message()
    );
    assert!(server.wait_clean(Duration::from_secs(10)).is_empty());
}
