//! The agent's HTTP endpoints: `/healthz`, `/readyz`, `/metrics`, and the
//! webhook `POST /hook/<path>`.
//!
//! The hook path is Flux's: the hex SHA-256 of the token, the agent's name
//! and its inventory namespace, so that knowing the URL already takes the
//! token. A request must then prove itself as the `webhook.type` says:
//! GitHub's `X-Hub-Signature-256` (HMAC-SHA256 of the body with the token),
//! GitLab's `X-Gitlab-Token`, or nothing more (`generic`). A request that
//! fails is answered 401 and triggers nothing; one that passes makes the
//! agent list the remote's refs at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use hmac::{Hmac, Mac as _};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use tokio::sync::Notify;

use super::config::WebhookType;
use super::metrics::Metrics;

/// What the endpoints share with the loop.
#[derive(Debug, Default)]
pub struct Shared {
    /// The metrics.
    pub metrics: Metrics,
    /// Set once the first poll of the remote finished.
    pub ready: AtomicBool,
    /// Woken by a valid webhook (or, sharded, by another replica's).
    pub poke: Notify,
    /// How many valid webhooks this replica received (passed on to the other replicas on its
    /// Lease, so that every replica looks at the remote).
    pub hooks: std::sync::atomic::AtomicU64,
    /// The webhook token and type (`None`: webhooks are off).
    pub webhook: std::sync::RwLock<Option<Webhook>>,
    /// When set, every claim and apply of a sharded agent is recorded here (tests, debugging).
    pub trace: Option<std::sync::Mutex<Vec<super::shard::TraceEvent>>>,
}

/// How webhooks are checked.
#[derive(Debug, Clone)]
pub struct Webhook {
    /// The shared token.
    pub token: String,
    /// How the sender proves it.
    pub kind: WebhookType,
    /// The secret path (after `/hook/`).
    pub path: String,
}

/// The webhook path for `token`, agent `name` and `namespace` (as Flux derives it).
pub fn hook_path(token: &str, name: &str, namespace: &str) -> String {
    let mut h = Sha256::new();
    h.update(token.as_bytes());
    h.update(name.as_bytes());
    h.update(namespace.as_bytes());
    hex::encode(h.finalize())
}

/// Whether the request proves it knows `hook.token`.
pub fn verify(hook: &Webhook, headers: &HeaderMap, body: &[u8]) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match hook.kind {
        WebhookType::Github => {
            let Some(hex_sig) =
                header("x-hub-signature-256").and_then(|s| s.strip_prefix("sha256="))
            else {
                return false;
            };
            let Ok(sig) = hex::decode(hex_sig) else {
                return false;
            };
            let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(hook.token.as_bytes()) else {
                return false;
            };
            mac.update(body);
            mac.verify_slice(&sig).is_ok()
        }
        WebhookType::Gitlab => header("x-gitlab-token")
            .is_some_and(|t| bool::from(t.as_bytes().ct_eq(hook.token.as_bytes()))),
        WebhookType::Generic => true,
    }
}

async fn hook(
    State(shared): State<Arc<Shared>>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let hook = shared
        .webhook
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let Some(hook) = hook else {
        return StatusCode::NOT_FOUND;
    };
    if !bool::from(path.as_bytes().ct_eq(hook.path.as_bytes())) {
        return StatusCode::NOT_FOUND;
    }
    if !verify(&hook, &headers, &body) {
        tracing::warn!("webhook refused: the signature or token does not match");
        return StatusCode::UNAUTHORIZED;
    }
    tracing::info!("webhook accepted; checking the remote");
    shared.hooks.fetch_add(1, Ordering::SeqCst);
    shared.poke.notify_one();
    StatusCode::ACCEPTED
}

async fn metrics(State(shared): State<Arc<Shared>>) -> ([(&'static str, &'static str); 1], String) {
    (
        [(
            "content-type",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        shared.metrics.encode(),
    )
}

async fn readyz(State(shared): State<Arc<Shared>>) -> StatusCode {
    if shared.ready.load(Ordering::Relaxed) {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

/// The router of every endpoint.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/hook/{path}", post(hook))
        .layer(axum::extract::DefaultBodyLimit::max(4 << 20))
        .with_state(shared)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn github(token: &str) -> Webhook {
        Webhook {
            token: token.to_owned(),
            kind: WebhookType::Github,
            path: "p".to_owned(),
        }
    }

    #[test]
    fn github_signatures_are_checked() {
        let body = br#"{"ref":"refs/heads/main"}"#;
        let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret").unwrap();
        mac.update(body);
        let good = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        let mut headers = HeaderMap::new();
        headers.insert("x-hub-signature-256", good.parse().unwrap());
        assert!(verify(&github("s3cret"), &headers, body));
        assert!(!verify(&github("other"), &headers, body));
        assert!(!verify(&github("s3cret"), &headers, b"tampered"));
        assert!(!verify(&github("s3cret"), &HeaderMap::new(), body));
    }

    #[test]
    fn gitlab_tokens_are_compared() {
        let hook = Webhook {
            kind: WebhookType::Gitlab,
            ..github("t0ken")
        };
        let mut headers = HeaderMap::new();
        headers.insert("x-gitlab-token", "t0ken".parse().unwrap());
        assert!(verify(&hook, &headers, b""));
        headers.insert("x-gitlab-token", "t0ke".parse().unwrap());
        assert!(!verify(&hook, &headers, b""));
    }

    #[test]
    fn the_path_depends_on_token_name_and_namespace() {
        let a = hook_path("t", "kiln", "kiln-system");
        assert_eq!(a.len(), 64);
        assert_ne!(a, hook_path("u", "kiln", "kiln-system"));
        assert_ne!(a, hook_path("t", "kiln", "other"));
    }
}
