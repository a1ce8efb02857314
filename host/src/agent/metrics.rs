//! The agent's Prometheus metrics (`/metrics`), named so that Flux and Argo
//! CD dashboards carry over with a rename.

use std::collections::HashMap;
use std::sync::Mutex;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets_range};
use prometheus_client::registry::Registry;

/// Label pairs.
pub type Labels = Vec<(String, String)>;

fn reconcile_histogram() -> Histogram {
    // Flux's: ten exponential buckets from 10 ms to 30 min.
    Histogram::new(exponential_buckets_range(0.01, 1800.0, 10))
}

fn render_histogram() -> Histogram {
    Histogram::new(exponential_buckets_range(0.001, 60.0, 12))
}

/// Every metric of the agent.
pub struct Metrics {
    registry: Registry,
    /// `kiln_app_info{name,namespace,source,revision,sync_status,health_status,ready,suspended}` = 1.
    pub app_info: Family<Labels, Gauge>,
    /// `kiln_reconcile_duration_seconds{kind,name,namespace}`.
    pub reconcile_duration: Family<Labels, Histogram, fn() -> Histogram>,
    /// `kiln_app_sync_total{name,namespace,phase}`.
    pub app_sync: Family<Labels, Counter>,
    /// `kiln_apply_objects_total{action}`.
    pub apply_objects: Family<Labels, Counter>,
    /// `kiln_drift_objects{name}`.
    pub drift_objects: Family<Labels, Gauge>,
    /// `kiln_drift_corrections_total{name}`.
    pub drift_corrections: Family<Labels, Counter>,
    /// `kiln_render_duration_seconds{cache}`.
    pub render_duration: Family<Labels, Histogram, fn() -> Histogram>,
    /// `kiln_git_request_total{op,result}`.
    pub git_requests: Family<Labels, Counter>,
    /// `kiln_k8s_request_total{verb,code}`.
    pub k8s_requests: Family<Labels, Counter>,
    /// `kiln_shard_apps{member}`: the apps this replica holds.
    pub shard_apps: Family<Labels, Gauge>,
    info_labels: Mutex<HashMap<String, Labels>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Labels from pairs.
pub fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

impl Metrics {
    /// A fresh registry with every metric registered.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let m = Metrics {
            app_info: Family::default(),
            reconcile_duration: Family::new_with_constructor(reconcile_histogram),
            app_sync: Family::default(),
            apply_objects: Family::default(),
            drift_objects: Family::default(),
            drift_corrections: Family::default(),
            render_duration: Family::new_with_constructor(render_histogram),
            git_requests: Family::default(),
            k8s_requests: Family::default(),
            shard_apps: Family::default(),
            info_labels: Mutex::new(HashMap::new()),
            registry: Registry::default(),
        };
        registry.register(
            "kiln_app_info",
            "One per app: its state as labels",
            m.app_info.clone(),
        );
        registry.register(
            "kiln_reconcile_duration_seconds",
            "How long reconciles take",
            m.reconcile_duration.clone(),
        );
        registry.register("kiln_app_sync", "Reconciles by outcome", m.app_sync.clone());
        registry.register(
            "kiln_apply_objects",
            "Objects applied, by what happened to them",
            m.apply_objects.clone(),
        );
        registry.register(
            "kiln_drift_objects",
            "Objects found drifted by the last check",
            m.drift_objects.clone(),
        );
        registry.register(
            "kiln_drift_corrections",
            "Drifted objects re-applied",
            m.drift_corrections.clone(),
        );
        registry.register(
            "kiln_render_duration_seconds",
            "How long renders take, by whether the cache answered",
            m.render_duration.clone(),
        );
        registry.register(
            "kiln_git_request",
            "Requests to the git remote",
            m.git_requests.clone(),
        );
        registry.register(
            "kiln_k8s_request",
            "Requests to the Kubernetes API",
            m.k8s_requests.clone(),
        );
        registry.register(
            "kiln_shard_apps",
            "Apps this replica holds (sharding)",
            m.shard_apps.clone(),
        );
        Metrics { registry, ..m }
    }

    /// Sets the app's info series, removing its previous one.
    pub fn set_info(&self, app: &str, labels: Labels) {
        let mut known = self
            .info_labels
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(old) = known.get(app) {
            if *old == labels {
                return;
            }
            self.app_info.remove(old);
        }
        self.app_info.get_or_create(&labels).set(1);
        known.insert(app.to_owned(), labels);
    }

    /// Removes an app's info series (it left the repository).
    pub fn forget(&self, app: &str) {
        let mut known = self
            .info_labels
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(old) = known.remove(app) {
            self.app_info.remove(&old);
        }
    }

    /// Counts a request to the Kubernetes API.
    pub fn k8s(&self, verb: &str, code: u16) {
        self.k8s_requests
            .get_or_create(&labels(&[("verb", verb), ("code", &code.to_string())]))
            .inc();
    }

    /// The text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String does not fail");
        out
    }
}

/// `client`, counting each request in `kiln_k8s_request_total{verb,code}`.
pub fn counted(client: kube::Client, shared: std::sync::Arc<super::http::Shared>) -> kube::Client {
    let namespace = client.default_namespace().to_owned();
    let service = tower::service_fn(move |req: http::Request<kube::client::Body>| {
        let client = client.clone();
        let shared = shared.clone();
        async move {
            let verb = verb(&req);
            let res = client.send(req).await;
            let code = res.as_ref().map_or(0, |r| r.status().as_u16());
            shared.metrics.k8s(verb, code);
            res
        }
    });
    kube::Client::new(service, namespace)
}

/// The Kubernetes verb of a request.
fn verb<B>(req: &http::Request<B>) -> &'static str {
    let watch = req
        .uri()
        .query()
        .is_some_and(|q| q.split('&').any(|p| p == "watch=true" || p == "watch=1"));
    match *req.method() {
        http::Method::GET if watch => "watch",
        http::Method::GET => "get",
        http::Method::POST => "create",
        http::Method::PUT => "update",
        http::Method::PATCH => "patch",
        http::Method::DELETE => "delete",
        _ => "other",
    }
}
