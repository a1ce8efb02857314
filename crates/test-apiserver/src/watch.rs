//! Watch: a chunked stream of `{"type": ..., "object": ...}` lines, fed from the store's event
//! history. `sendInitialEvents=true` (the watch-list protocol kubectl 1.35 uses) sends the current
//! objects, then the bookmark that ends them; no other bookmarks, no expiry of old resource versions.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody};
use hyper::Response;
use hyper::body::Frame;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::api::{Request, present};
use crate::discovery::ResourceType;
use crate::selectors::Selector;
use crate::server::{Body, Shared, error_response};
use crate::status::ApiError;
use crate::store::Event;

/// Longest a watch stays open without `timeoutSeconds`.
const MAX_WATCH: Duration = Duration::from_mins(30);

struct Filter {
    rt: ResourceType,
    namespace: Option<String>,
    labels: Option<Selector>,
    fields: Option<Selector>,
}

impl Filter {
    fn line(&self, event: &Event) -> Option<Bytes> {
        let k = &event.key;
        if k.group != self.rt.group || k.plural != self.rt.plural {
            return None;
        }
        if self.namespace.as_ref().is_some_and(|ns| *ns != k.namespace) {
            return None;
        }
        let obj = present(&self.rt, &event.object);
        let now = self.matches(&obj);
        // A change that moves an object into or out of the selection is an ADDED or DELETED.
        let kind = match (event.previous.as_ref().map(|p| self.matches(p)), now) {
            (Some(true), true) => "MODIFIED",
            (Some(false), true) => "ADDED",
            (Some(true), false) => "DELETED",
            (None, true) => event.kind,
            (_, false) => return None,
        };
        Some(Bytes::from(format!(
            "{}\n",
            json!({"type": kind, "object": obj})
        )))
    }

    fn matches(&self, obj: &Value) -> bool {
        self.labels.as_ref().is_none_or(|s| s.matches_labels(obj))
            && self.fields.as_ref().is_none_or(|s| s.matches_fields(obj))
    }
}

fn setup(shared: &Shared, req: &Request) -> Result<(Filter, Vec<Bytes>, u64), ApiError> {
    let state = shared.lock();
    let rt = state
        .find_type(&req.group, &req.version, &req.plural)
        .ok_or_else(|| {
            ApiError::new(
                404,
                "NotFound",
                "the server could not find the requested resource",
            )
        })?;
    let param = |k: &str| req.query.get(k).filter(|v| !v.is_empty());
    let bad = |e: crate::selectors::Error| ApiError::bad_request(e.to_string());
    let filter = Filter {
        namespace: if rt.namespaced {
            req.namespace.clone()
        } else {
            None
        },
        labels: param("labelSelector")
            .map(|s| Selector::labels(s))
            .transpose()
            .map_err(bad)?,
        fields: param("fieldSelector")
            .map(|s| Selector::fields(s))
            .transpose()
            .map_err(bad)?,
        rt,
    };
    let since = param("resourceVersion")
        .map(|v| v.parse::<u64>())
        .transpose();
    let since = since.map_err(|_| ApiError::bad_request("resourceVersion must be a number"))?;
    let now = state.store.resource_version();
    let initial_events = param("sendInitialEvents").is_some_and(|v| v == "true");
    let mut initial: Vec<Bytes> = match since {
        Some(rv) if rv > 0 && !initial_events => state
            .store
            .events_since(rv)
            .iter()
            .filter_map(|e| filter.line(e))
            .collect(),
        _ => state
            .select(&filter.rt, req)?
            .into_iter()
            .map(|o: Value| Bytes::from(format!("{}\n", json!({"type": "ADDED", "object": o}))))
            .collect(),
    };
    if initial_events {
        let rt = &filter.rt;
        let api_version = if rt.group.is_empty() {
            rt.version.clone()
        } else {
            format!("{}/{}", rt.group, rt.version)
        };
        let bookmark = json!({"type": "BOOKMARK", "object": {
            "apiVersion": api_version,
            "kind": rt.kind,
            "metadata": {
                "resourceVersion": now.to_string(),
                "annotations": {"k8s.io/initial-events-end": "true"},
            },
        }});
        initial.push(Bytes::from(format!("{bookmark}\n")));
    }
    Ok((filter, initial, now))
}

/// Starts a watch; the stream ends at `timeoutSeconds`, on client disconnect or server shutdown.
pub(crate) fn start(shared: &Arc<Shared>, req: &Request) -> Response<Body> {
    let (filter, initial, mut seen) = match setup(shared, req) {
        Ok(x) => x,
        Err(e) => return error_response(&e),
    };
    let timeout = req
        .query
        .get("timeoutSeconds")
        .and_then(|t| t.parse().ok())
        .map_or(MAX_WATCH, Duration::from_secs);
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    let shared = Arc::clone(shared);
    tokio::spawn(async move {
        let mut changes = shared.lock().store.subscribe();
        let mut shutdown = shared.shutdown.clone();
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        for line in initial {
            if tx.send(line).await.is_err() {
                return;
            }
        }
        loop {
            tokio::select! {
                result = changes.changed() => if result.is_err() { return },
                _ = shutdown.changed() => return,
                () = &mut deadline => return,
            }
            let events = shared.lock().store.events_since(seen);
            for event in events {
                seen = event.rv;
                if let Some(line) = filter.line(&event)
                    && tx.send(line).await.is_err()
                {
                    return;
                }
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, Infallible>(Frame::data(b)), rx))
    });
    let mut resp = Response::new(StreamBody::new(stream).boxed());
    resp.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    resp
}
