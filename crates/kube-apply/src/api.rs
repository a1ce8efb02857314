//! Requests to the API server with retries: the only module that talks HTTP.

use std::fmt;
use std::time::Duration;

use kube::Client;
use kube::api::{DeleteParams, GetParams, ListParams, Patch, PatchParams, Preconditions};
use kube::client::Body;
use kube::core::Request;
use serde_json::Value;

use crate::options::Propagation;
use crate::report::{Event, Progress};
use crate::resolve::ApiRes;
use crate::retry::{RetryOptions, transient_status};

/// Why a request failed, after retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CallError {
    /// The server answered with an error status (its `Status` message).
    Status {
        code: u16,
        reason: String,
        message: String,
    },
    /// No usable answer: connection trouble, a timeout or a body that is not JSON.
    Transport(String),
}

impl CallError {
    pub(crate) fn code(&self) -> Option<u16> {
        match self {
            CallError::Status { code, .. } => Some(*code),
            CallError::Transport(_) => None,
        }
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Status {
                code,
                reason,
                message,
            } => write!(f, "{message} ({code} {reason})"),
            CallError::Transport(e) => f.write_str(e),
        }
    }
}

/// A client with the retry policy and the progress callback.
pub(crate) struct Kube<'a> {
    pub(crate) client: Client,
    pub(crate) retry: &'a RetryOptions,
    pub(crate) progress: Progress<'a>,
}

/// The collection URL of a resource, in a namespace when it is namespaced.
pub(crate) fn collection_url(res: &ApiRes, ns: Option<&str>) -> String {
    let base = if res.group.is_empty() {
        format!("/api/{}", res.version)
    } else {
        format!("/apis/{}/{}", res.group, res.version)
    };
    match ns {
        Some(ns) if res.namespaced => format!("{base}/namespaces/{ns}/{}", res.plural),
        _ => format!("{base}/{}", res.plural),
    }
}

type Built = Result<http::Request<Vec<u8>>, kube::core::request::Error>;

impl Kube<'_> {
    /// Sends the request `build` makes (again on each attempt) and parses the JSON answer.
    async fn send(&self, what: &str, build: impl Fn() -> Built) -> Result<Value, CallError> {
        let mut attempt = 1;
        loop {
            let req = build().map_err(|e| CallError::Transport(format!("bad request: {e}")))?;
            let (error, retry_after) = match self.once(req).await {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err((error, retry_after))) => (error, retry_after),
                Err(error) => (error, None),
            };
            let retryable = match &error {
                CallError::Status { code, .. } => transient_status(*code),
                CallError::Transport(_) => true,
            };
            if !retryable || attempt >= self.retry.attempts.max(1) {
                return Err(error);
            }
            let delay = self.retry.delay(attempt, retry_after);
            (self.progress)(Event::Retrying {
                what: what.to_owned(),
                attempt,
                delay,
                error: error.to_string(),
            });
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// One attempt: `Err` for transport trouble, `Ok(Err)` for an error status and its
    /// `Retry-After`.
    async fn once(
        &self,
        req: http::Request<Vec<u8>>,
    ) -> Result<Result<Value, (CallError, Option<Duration>)>, CallError> {
        let timeout = self.retry.request_timeout;
        let answer = tokio::time::timeout(timeout, async {
            let resp = self.client.send(req.map(Body::from)).await?;
            let status = resp.status();
            let retry_after = resp
                .headers()
                .get(http::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let body = resp.into_body().collect_bytes().await?;
            Ok::<_, kube::Error>((status, retry_after, body))
        })
        .await
        .map_err(|_| CallError::Transport(format!("no answer within {timeout:?}")))?
        .map_err(|e| CallError::Transport(e.to_string()))?;
        let (status, retry_after, body) = answer;
        let parsed: Result<Value, _> = serde_json::from_slice(&body);
        if status.is_success() {
            return parsed
                .map(Ok)
                .map_err(|e| CallError::Transport(format!("the answer is not JSON: {e}")));
        }
        let doc = parsed.unwrap_or(Value::Null);
        let text = |key: &str| doc.get(key).and_then(Value::as_str).map(str::to_owned);
        let retry_after = retry_after.or_else(|| {
            doc.pointer("/details/retryAfterSeconds")
                .and_then(Value::as_u64)
                .map(Duration::from_secs)
        });
        let error = CallError::Status {
            code: status.as_u16(),
            reason: text("reason")
                .unwrap_or_else(|| status.canonical_reason().unwrap_or("").to_owned()),
            message: text("message").unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned()),
        };
        Ok(Err((error, retry_after)))
    }

    /// A raw GET (discovery); `None` on 404.
    pub(crate) async fn get_path(&self, path: &str) -> Result<Option<Value>, CallError> {
        let build = || {
            http::Request::get(path)
                .header(http::header::ACCEPT, "application/json")
                .body(Vec::new())
                .map_err(kube::core::request::Error::BuildRequest)
        };
        none_if_missing(self.send(path, build).await)
    }

    /// Reads one object; `None` when it does not exist.
    pub(crate) async fn get(
        &self,
        res: &ApiRes,
        ns: Option<&str>,
        name: &str,
    ) -> Result<Option<Value>, CallError> {
        let req = Request::new(collection_url(res, ns));
        let what = format!("get {}/{name}", res.plural);
        none_if_missing(
            self.send(&what, || req.get(name, &GetParams::default()))
                .await,
        )
    }

    /// Lists all objects of a resource (in a namespace), page by page.
    pub(crate) async fn list(
        &self,
        res: &ApiRes,
        ns: Option<&str>,
    ) -> Result<Vec<Value>, CallError> {
        self.list_selected(res, ns, None).await
    }

    /// Lists the objects of a resource (in a namespace) that match a label selector.
    pub(crate) async fn list_selected(
        &self,
        res: &ApiRes,
        ns: Option<&str>,
        selector: Option<&str>,
    ) -> Result<Vec<Value>, CallError> {
        let req = Request::new(collection_url(res, ns));
        let mut items = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut lp = ListParams::default().limit(500);
            if let Some(sel) = selector {
                lp = lp.labels(sel);
            }
            if let Some(t) = &token {
                lp = lp.continue_token(t);
            }
            let page = self
                .send(&format!("list {}", res.plural), || req.list(&lp))
                .await?;
            if let Some(Value::Array(page_items)) = page.get("items") {
                // A real server leaves `apiVersion` and `kind` out of the items of a built-in
                // type's list; they are set here, as a get would return them, so that a listed
                // object compares equal to the same object read or dry-run applied.
                items.extend(page_items.iter().cloned().map(|mut item| {
                    if let Some(obj) = item.as_object_mut() {
                        obj.entry("apiVersion")
                            .or_insert_with(|| Value::String(res.api_version()));
                        obj.entry("kind")
                            .or_insert_with(|| Value::String(res.kind.clone()));
                    }
                    item
                }));
            }
            token = page
                .pointer("/metadata/continue")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(str::to_owned);
            if token.is_none() {
                return Ok(items);
            }
        }
    }

    /// Server-side apply of `body`; returns the object the server stored (or would store).
    pub(crate) async fn apply(
        &self,
        res: &ApiRes,
        ns: Option<&str>,
        name: &str,
        body: &Value,
        params: &PatchParams,
    ) -> Result<Value, CallError> {
        let req = Request::new(collection_url(res, ns));
        let what = format!("apply {}/{name}", res.plural);
        self.send(&what, || req.patch(name, params, &Patch::Apply(body)))
            .await
    }

    /// Deletes one object if it still has `uid`; a missing object counts as deleted.
    pub(crate) async fn delete(
        &self,
        res: &ApiRes,
        ns: Option<&str>,
        name: &str,
        uid: Option<&str>,
        propagation: Propagation,
    ) -> Result<(), CallError> {
        let req = Request::new(collection_url(res, ns));
        let mut dp = DeleteParams {
            propagation_policy: Some(propagation.into()),
            ..DeleteParams::default()
        };
        if let Some(uid) = uid {
            dp.preconditions = Some(Preconditions {
                uid: Some(uid.to_owned()),
                resource_version: None,
            });
        }
        let what = format!("delete {}/{name}", res.plural);
        none_if_missing(self.send(&what, || req.delete(name, &dp)).await).map(|_| ())
    }
}

fn none_if_missing(result: Result<Value, CallError>) -> Result<Option<Value>, CallError> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.code() == Some(404) => Ok(None),
        Err(e) => Err(e),
    }
}
