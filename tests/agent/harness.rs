//! A git repository to commit to, a namespace of the shared control plane, and an agent
//! running against both.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kiln::agent::http::Shared;
use kiln::agent::status::AppStatus;
use kiln::agent::{Agent, Settings};
use serde_json::Value;

/// The cache shared by this binary's tests (plugins compile once).
pub fn shared_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("kiln-agent-cache")
}

/// A git repository with a work tree, committed to with the git CLI.
pub struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let repo = Repo { dir };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn url(&self) -> String {
        format!("file://{}", self.path().display())
    }

    fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(self.path())
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    pub fn write(&self, rel: &str, text: &str) -> &Self {
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
        self
    }

    pub fn remove(&self, rel: &str) -> &Self {
        std::fs::remove_file(self.path().join(rel)).expect("remove");
        self
    }

    /// Commits everything; returns the commit id.
    pub fn commit(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }
}

/// The Agent file for apps under `apps/`, inventories in `ns`, with `extra` lines.
pub fn agent_file(ns: &str, extra: &str) -> String {
    format!(
        "apiVersion: kiln.dev/v1alpha1\nkind: Agent\napps: {{root: apps}}\ninventoryNamespace: {ns}\n{extra}"
    )
}

/// A kustomize app listing `files`, each a `ConfigMap` `name` with `k: value` in `ns`.
pub fn app(repo: &Repo, app: &str, ns: &str, maps: &[(&str, &str)]) {
    let names: Vec<String> = maps.iter().map(|(n, _)| format!("{n}.yaml")).collect();
    repo.write(
        &format!("apps/{app}/kustomization.yaml"),
        &format!("resources: [{}]\n", names.join(", ")),
    );
    for (name, value) in maps {
        repo.write(
            &format!("apps/{app}/{name}.yaml"),
            &format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {ns}\ndata:\n  k: {value}\n"
            ),
        );
    }
}

/// A namespace of its own on the shared control plane, and a client.
pub struct Cluster {
    pub ns: String,
    pub client: kube::Client,
}

impl Cluster {
    pub async fn new(prefix: &str) -> Self {
        let shared = kiln_test_cluster::shared();
        let client = shared.client().await;
        let ns = shared.unique(prefix);
        kiln_test_cluster::create_namespace(&client, &ns).await;
        Cluster { ns, client }
    }

    pub async fn configmap(&self, name: &str) -> Option<Value> {
        kiln_test_cluster::get(&self.client, "v1", "configmaps", &self.ns, name).await
    }

    /// `data.k` of a `ConfigMap`, if it exists.
    pub async fn value(&self, name: &str) -> Option<String> {
        self.configmap(name).await.and_then(|cm| {
            cm.pointer("/data/k")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
    }

    /// The app's stored status.
    pub async fn status(&self, inventory: &str) -> Option<AppStatus> {
        kiln::agent::store::read(&self.client, &self.ns, inventory)
            .await
            .expect("read the inventory")
            .and_then(|s| s.status)
    }

    /// Sets `data.k` as another field manager would (`kubectl edit`).
    pub async fn edit(&self, name: &str, value: &str) {
        use kube::api::{Patch, PatchParams};
        let api: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
            kube::Api::namespaced(self.client.clone(), &self.ns);
        api.patch(
            name,
            &PatchParams {
                field_manager: Some("kubectl-edit".to_owned()),
                ..PatchParams::default()
            },
            &Patch::Merge(serde_json::json!({"data": {"k": value}})),
        )
        .await
        .expect("edit the object");
    }

    /// Sets an annotation on an app's inventory.
    pub async fn annotate(&self, inventory: &str, key: &str, value: &str) {
        use kube::api::{Patch, PatchParams};
        let api: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
            kube::Api::namespaced(self.client.clone(), &self.ns);
        api.patch(
            &format!("kiln-inventory-{inventory}"),
            &PatchParams {
                field_manager: Some("kubectl-annotate".to_owned()),
                ..PatchParams::default()
            },
            &Patch::Merge(serde_json::json!({"metadata": {"annotations": {key: value}}})),
        )
        .await
        .expect("annotate the inventory");
    }
}

/// An agent running in this process.
pub struct Running {
    pub shared: Arc<Shared>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Kills the agent as a crash would: no release, no cleanup.
    pub fn kill(self) {
        self.task.abort();
    }

    /// Stops the agent and waits for it.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("the agent stops")
            .expect("the agent task ends cleanly");
    }
}

/// Settings for `repo`, polling every `poll`.
pub fn settings(repo: &Repo, poll: Duration) -> Settings {
    Settings {
        repo: repo.url(),
        reference: "main".to_owned(),
        config_path: "agent.yaml".to_owned(),
        cache_dir: shared_cache(),
        kube_version: kiln::pipeline::DEFAULT_KUBE_VERSION.to_owned(),
        limits: kiln::runtime::Limits::default(),
        ceiling: None,
        namespace: "default".to_owned(),
        secrets_dir: None,
        webhook_token: None,
        poll_interval: Some(poll),
        retry: kiln_kube::RetryOptions {
            attempts: 3,
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_millis(500),
            max_retry_after: Duration::from_secs(1),
            request_timeout: Duration::from_secs(20),
        },
        grace: Duration::from_secs(10),
        shard: None,
        cache: None,
        render_seed: Some(kiln::pipeline::RenderSeed::from_secret(b"agent tests")),
    }
}

/// Starts an agent.
pub fn start(settings: Settings, cluster: &Cluster) -> Running {
    start_on(settings, cluster.client.clone(), Shared::default())
}

/// Starts an agent on `client` with `shared` (its requests counted in `kiln_k8s_request_total`).
pub fn start_on(settings: Settings, client: kube::Client, shared: Shared) -> Running {
    let shared = Arc::new(shared);
    let client = kiln::agent::metrics::counted(client, shared.clone());
    let agent = Agent::new(settings, client, shared.clone()).expect("agent");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(agent.run(stopped));
    Running { shared, stop, task }
}

/// Polls `check` until it holds, or panics with `what` after `timeout`.
pub async fn eventually<F, Fut>(timeout: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if check().await {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Whether the app's Ready condition has `status` and `reason`.
pub fn ready_is(status: Option<&AppStatus>, ready: &str, reason: &str) -> bool {
    status
        .and_then(|s| s.condition("Ready"))
        .is_some_and(|c| c.status == ready && c.reason == reason)
}

/// How long the tests wait for a first apply (a cold plugin compile included).
pub const FIRST: Duration = Duration::from_mins(2);
/// How long they wait for a later change.
pub const LATER: Duration = Duration::from_secs(30);
