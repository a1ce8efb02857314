//! A tiny HTTP client over the in-process server.
#![allow(
    dead_code,
    reason = "each test binary uses a different part of the helpers"
)]

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::HeaderMap;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use kiln_test_apiserver::{Options, Server};
use serde_json::Value;

pub(crate) const JSON: &str = "application/json";
pub(crate) const APPLY: &str = "application/apply-patch+yaml";
pub(crate) const MERGE: &str = "application/merge-patch+json";
pub(crate) const STRATEGIC: &str = "application/strategic-merge-patch+json";
pub(crate) const JSON_PATCH: &str = "application/json-patch+json";

pub(crate) struct Api {
    pub(crate) server: Server,
    client: Client<HttpConnector, Full<Bytes>>,
}

/// An answer: status code, JSON body (`Null` when not JSON) and headers.
pub(crate) struct Answer {
    pub(crate) code: u16,
    pub(crate) body: Value,
    pub(crate) headers: HeaderMap,
}

impl Api {
    pub(crate) async fn start(opts: Options) -> Api {
        let server = kiln_test_apiserver::start(opts)
            .await
            .expect("server starts");
        let client = Client::builder(TokioExecutor::new()).build_http();
        Api { server, client }
    }

    pub(crate) async fn new() -> Api {
        Api::start(Options::default()).await
    }

    /// Sends one request; `Err` when the connection failed (a dropped-connection fault).
    pub(crate) async fn try_call(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: &str,
    ) -> Result<Answer, String> {
        self.send(method, path, content_type, JSON, body).await
    }

    /// A bodiless request with this `Accept` header.
    pub(crate) async fn call_accepting(&self, method: &str, path: &str, accept: &str) -> Answer {
        self.send(method, path, JSON, accept, "")
            .await
            .expect("request answered")
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        accept: &str,
        body: &str,
    ) -> Result<Answer, String> {
        let req = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.server.url()))
            .header("content-type", content_type)
            .header("accept", accept)
            .header("user-agent", "http-test/1.0")
            .body(Full::new(Bytes::from(body.to_owned())))
            .expect("valid request");
        let resp = self.client.request(req).await.map_err(|e| e.to_string())?;
        let code = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Answer {
            code,
            body,
            headers,
        })
    }

    pub(crate) async fn call(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: &str,
    ) -> Answer {
        self.try_call(method, path, content_type, body)
            .await
            .expect("request answered")
    }

    pub(crate) async fn get(&self, path: &str) -> Answer {
        self.call("GET", path, JSON, "").await
    }

    /// Server-side apply of `body` (JSON or YAML) as `manager`.
    pub(crate) async fn apply(&self, path: &str, manager: &str, body: &str, force: bool) -> Answer {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = format!("{path}{sep}fieldManager={manager}&force={force}");
        self.call("PATCH", &url, APPLY, body).await
    }
}

/// The managers named in an object's `managedFields`, as `manager/operation`.
pub(crate) fn managers(obj: &Value) -> Vec<String> {
    obj["metadata"]["managedFields"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|e| {
                    format!(
                        "{}/{}",
                        e["manager"].as_str().unwrap_or_default(),
                        e["operation"].as_str().unwrap_or_default()
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn rv(obj: &Value) -> u64 {
    obj["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("resourceVersion is a number")
}
