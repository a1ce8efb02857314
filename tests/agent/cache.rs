//! A render cache shared over Redis (`cache:` in the `Agent` file, or `--cache`): a replica
//! that takes over apps another one rendered renders them from the shared cache.

use std::process::{Child, Command};
use std::time::Duration;

use kiln::agent::http::Shared;
use kiln::agent::shard::ShardSettings;
use kiln::service::CacheChoice;

use crate::harness::{
    Cluster, FIRST, LATER, Repo, agent_file, app, eventually, settings, start_on,
};

/// A `redis-server` on loopback, killed on drop.
struct Redis {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Redis {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server runs (Debian package redis-server)");
        let redis = Redis {
            child,
            port,
            _dir: dir,
        };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return redis;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("redis-server did not listen on {port}");
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `kiln_render_duration_seconds_count{cache="<cache>"}` of an agent.
fn renders(shared: &Shared, cache: &str) -> u64 {
    let text = shared.metrics.encode();
    let name = format!("kiln_render_duration_seconds_count{{cache=\"{cache}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&name))
        .map_or(0, |n| n.trim().parse().expect("a count"))
}

fn shard(c: &Cluster, member: &str) -> ShardSettings {
    let mut s = ShardSettings::new(member, &c.ns, &c.ns);
    s.lease_duration = Duration::from_secs(2);
    s.renew_deadline = Duration::from_millis(1500);
    s.retry_period = Duration::from_millis(250);
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_renders_from_the_cache_another_filled() {
    const APPS: [&str; 4] = ["a", "b", "c", "d"];
    let redis = Redis::start();
    let c = Cluster::new("agent-redis").await;
    let repo = Repo::new();
    // The first replica takes the cache from the Agent file.
    repo.write(
        "agent.yaml",
        &agent_file(
            &c.ns,
            &format!(
                "defaults: {{interval: 10m, retryInterval: 1s, timeout: 30s}}\ncache: {}\n",
                redis.url()
            ),
        ),
    );
    for a in APPS {
        app(&repo, a, &c.ns, &[(a, "v1")]);
    }
    repo.commit("v1");
    let mut s = settings(&repo, Duration::from_millis(300));
    s.shard = Some(shard(&c, "r0").into());
    let r0 = start_on(s, c.client.clone(), Shared::default());
    eventually(FIRST, "r0 applied every app", || async {
        for a in APPS {
            if c.value(a).await.as_deref() != Some("v1") {
                return false;
            }
        }
        true
    })
    .await;
    assert_eq!(
        renders(&r0.shared, "miss"),
        APPS.len() as u64,
        "r0 rendered each app once, the cache empty:\n{}",
        r0.shared.metrics.encode()
    );
    r0.stop().await;

    // The second replica: a disk cache of its own (another pod), the same Redis from its
    // flags, and an Agent file that names none.
    repo.write(
        "agent.yaml",
        &agent_file(
            &c.ns,
            "defaults: {interval: 10m, retryInterval: 1s, timeout: 30s}\n",
        ),
    );
    repo.commit("the file names no cache");
    let own_disk = tempfile::tempdir().expect("temp dir");
    let mut s = settings(&repo, Duration::from_millis(300));
    s.cache_dir = own_disk.path().to_path_buf();
    s.cache = Some(CacheChoice::Shared(redis.url()));
    s.shard = Some(shard(&c, "r1").into());
    let r1 = start_on(s, c.client.clone(), Shared::default());
    eventually(LATER, "r1 rendered every app", || async {
        renders(&r1.shared, "hit") + renders(&r1.shared, "miss") >= APPS.len() as u64
    })
    .await;
    assert!(
        renders(&r1.shared, "hit") >= APPS.len() as u64 && renders(&r1.shared, "miss") == 0,
        "r1 rendered every app from the shared cache:\n{}",
        r1.shared.metrics.encode()
    );
    eventually(LATER, "r1 holds every app", || async {
        for a in APPS {
            let held = kiln::agent::store::read(&c.client, &c.ns, a)
                .await
                .expect("read")
                .is_some_and(|s| s.owner() == "r1");
            if !held {
                return false;
            }
        }
        true
    })
    .await;
    r1.stop().await;
    // Nothing went to r1's disk store: its step entries are all in Redis.
    let entries = own_disk.path().join("steps-v1").join("entries");
    assert!(
        !entries.exists()
            || std::fs::read_dir(&entries)
                .expect("read the entries")
                .next()
                .is_none(),
        "r1 wrote step entries to its disk"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_shared_cache_leaves_the_disk_cache_in_use() {
    let c = Cluster::new("agent-noredis").await;
    let repo = Repo::new();
    repo.write(
        "agent.yaml",
        &agent_file(
            &c.ns,
            "defaults: {interval: 10m, retryInterval: 1s, timeout: 30s}\n",
        ),
    );
    app(&repo, "web", &c.ns, &[("web", "v1")]);
    repo.commit("v1");
    // Nothing listens there: the agent starts anyway and renders without the shared cache.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut s = settings(&repo, Duration::from_millis(300));
    s.cache = Some(CacheChoice::Shared(format!("redis://127.0.0.1:{closed}")));
    let agent = crate::harness::start(s, &c);
    eventually(FIRST, "v1 applied", || async {
        c.value("web").await.as_deref() == Some("v1")
    })
    .await;
    agent.stop().await;
}
