//! The server's Prometheus metrics, served on `/metrics` when an address
//! is given.

use std::sync::Arc;

use axum::response::IntoResponse as _;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of a request: the RPC and how it ended (a gRPC code name).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// `GenerateManifest`, `MatchRepository`, …
    pub rpc: String,
    /// `OK`, `InvalidArgument`, `DeadlineExceeded`, …
    pub code: String,
}

/// Labels naming an RPC.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RpcLabels {
    /// The RPC.
    pub rpc: String,
}

/// Labels of a render step's cache outcome.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CacheLabels {
    /// `hit` or `miss` (`miss` also for steps never cached).
    pub cache: String,
}

/// Every metric of the server.
#[derive(Debug)]
pub struct Metrics {
    /// `kiln_cmp_requests_total{rpc,code}`.
    pub requests: Family<RequestLabels, Counter>,
    /// `kiln_cmp_request_duration_seconds{rpc}`.
    pub duration: Family<RpcLabels, Histogram, fn() -> Histogram>,
    /// `kiln_cmp_in_flight{rpc}`.
    pub in_flight: Family<RpcLabels, Gauge>,
    /// `kiln_cmp_render_steps_total{cache}`.
    pub steps: Family<CacheLabels, Counter>,
    /// `kiln_cmp_stream_bytes_total`: gzipped tarball bytes received.
    pub stream_bytes: Counter,
    /// `kiln_cmp_responses_total{cache}`: answers taken from the response
    /// cache (`hit`) or rendered (`miss`).
    pub responses: Family<CacheLabels, Counter>,
    /// `kiln_cmp_queued`: requests waiting to be admitted (their stream not
    /// read yet).
    pub queued: Gauge,
    /// `kiln_cmp_reserved_bytes`: bytes of tarball the admitted requests
    /// reserved from the in-flight budget.
    pub reserved_bytes: Gauge,
}

fn duration_histogram() -> Histogram {
    // 1 ms to about 65 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 17))
}

impl Metrics {
    /// The metrics, and a registry that exposes them.
    pub fn new() -> (Arc<Self>, Registry) {
        let metrics = Arc::new(Self {
            requests: Family::default(),
            duration: Family::new_with_constructor(duration_histogram),
            in_flight: Family::default(),
            steps: Family::default(),
            stream_bytes: Counter::default(),
            responses: Family::default(),
            queued: Gauge::default(),
            reserved_bytes: Gauge::default(),
        });
        let mut registry = Registry::with_prefix("kiln_cmp");
        registry.register(
            "requests",
            "Requests handled, by RPC and gRPC status code",
            metrics.requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time from the first message to the answer, by RPC",
            metrics.duration.clone(),
        );
        registry.register(
            "in_flight",
            "Requests being handled, by RPC",
            metrics.in_flight.clone(),
        );
        registry.register(
            "render_steps",
            "Render steps run or taken from the cache",
            metrics.steps.clone(),
        );
        registry.register(
            "responses",
            "GenerateManifest answers from the response cache (hit) or rendered (miss)",
            metrics.responses.clone(),
        );
        registry.register(
            "stream_bytes",
            "Bytes of gzipped tarball received",
            metrics.stream_bytes.clone(),
        );
        registry.register(
            "queued",
            "Requests waiting to be admitted, their stream not read yet",
            metrics.queued.clone(),
        );
        registry.register(
            "reserved_bytes",
            "Bytes of tarball the admitted requests reserved from the in-flight budget",
            metrics.reserved_bytes.clone(),
        );
        (metrics, registry)
    }

    /// Counts one request in flight until the guard is dropped.
    pub fn start(self: &Arc<Self>, rpc: &str) -> InFlight {
        let labels = RpcLabels {
            rpc: rpc.to_owned(),
        };
        self.in_flight.get_or_create(&labels).inc();
        InFlight {
            metrics: Arc::clone(self),
            labels,
            started: std::time::Instant::now(),
            finished: false,
        }
    }
}

/// A request in flight. Dropped without [`InFlight::finish`] (the caller
/// went away and the request was abandoned), it counts as `Cancelled`.
#[derive(Debug)]
pub struct InFlight {
    metrics: Arc<Metrics>,
    labels: RpcLabels,
    started: std::time::Instant,
    finished: bool,
}

impl InFlight {
    /// Records how the request ended.
    pub fn finish(mut self, code: tonic::Code) {
        self.record(code);
    }

    fn record(&mut self, code: tonic::Code) {
        self.finished = true;
        let code = format!("{code:?}");
        self.metrics
            .requests
            .get_or_create(&RequestLabels {
                rpc: self.labels.rpc.clone(),
                code,
            })
            .inc();
        self.metrics
            .duration
            .get_or_create(&self.labels)
            .observe(self.started.elapsed().as_secs_f64());
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if !self.finished {
            self.record(tonic::Code::Cancelled);
        }
        self.metrics.in_flight.get_or_create(&self.labels).dec();
    }
}

/// Serves `registry` as Prometheus text on `/metrics` of `listener` until
/// `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    registry: Registry,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let registry = Arc::new(registry);
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let registry = Arc::clone(&registry);
            async move {
                let mut text = String::new();
                match prometheus_client::encoding::text::encode(&mut text, &registry) {
                    Ok(()) => (
                        [(
                            axum::http::header::CONTENT_TYPE,
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        )],
                        text,
                    )
                        .into_response(),
                    Err(_) => (
                        [(axum::http::header::CONTENT_TYPE, "text/plain")],
                        "cannot encode the metrics".to_owned(),
                    )
                        .into_response(),
                }
            }
        }),
    );
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "serving metrics on /metrics");
    }
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(metrics: &Metrics, code: &str) -> u64 {
        metrics
            .requests
            .get_or_create(&RequestLabels {
                rpc: "GenerateManifest".into(),
                code: code.into(),
            })
            .get()
    }

    #[test]
    fn a_request_is_counted_once_by_how_it_ended_and_abandoned_ones_as_cancelled() {
        let (metrics, registry) = Metrics::new();
        let rpc = RpcLabels {
            rpc: "GenerateManifest".into(),
        };
        let first = metrics.start("GenerateManifest");
        let second = metrics.start("GenerateManifest");
        assert_eq!(metrics.in_flight.get_or_create(&rpc).get(), 2);
        first.finish(tonic::Code::Ok);
        // The caller went away: the handler is dropped mid-request.
        drop(second);
        assert_eq!(metrics.in_flight.get_or_create(&rpc).get(), 0);
        assert_eq!(count(&metrics, "Ok"), 1);
        assert_eq!(count(&metrics, "Cancelled"), 1);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(
            text.lines()
                .any(|l| l == "kiln_cmp_request_duration_seconds_count{rpc=\"GenerateManifest\"} 2"),
            "{text}"
        );
    }
}
