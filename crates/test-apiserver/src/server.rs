//! HTTP: the accept loop, routing of paths to discovery and the resource API, faults, logging.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Response, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::api::{Request, State};
use crate::discovery;
use crate::faults::{Action, Faults};
use crate::log::{Entry, RequestLog};
use crate::status::ApiError;

pub(crate) type Body = BoxBody<Bytes, Infallible>;

/// What every connection shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) state: Mutex<State>,
    pub(crate) faults: Faults,
    pub(crate) log: RequestLog,
    pub(crate) url: String,
    /// Flips to `true` (or closes) when the server stops; watches end then.
    pub(crate) shutdown: watch::Receiver<bool>,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The error that makes hyper close a connection without answering (the `drop` fault).
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by fault injection")]
pub(crate) struct Dropped;

pub(crate) fn json_response(code: u16, body: &Value) -> Response<Body> {
    let mut resp = Response::new(Full::new(Bytes::from(body.to_string())).boxed());
    *resp.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    resp
}

pub(crate) fn error_response(err: &ApiError) -> Response<Body> {
    let mut resp = json_response(err.code, &err.to_json());
    if let Some(secs) = err.retry_after {
        resp.headers_mut()
            .insert("retry-after", hyper::header::HeaderValue::from(secs));
    }
    resp
}

/// Accepts connections until `shutdown` fires; connections end with the loop.
pub(crate) async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.clone();
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let shared = Arc::clone(&shared);
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |req| handle(Arc::clone(&shared), req));
                    let io = hyper_util::rt::TokioIo::new(stream);
                    // Errors here are clients going away or dropped-connection faults.
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
                });
            }
            _ = shutdown.changed() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

pub(crate) fn parse_query(query: &str) -> BTreeMap<String, String> {
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.split_once('=')
                .map_or((decode(p), String::new()), |(k, v)| (decode(k), decode(v)))
        })
        .collect()
}

/// Splits `/api/v1/...` or `/apis/g/v/...` into a resource request (without the body).
fn resource_request(segs: &[&str]) -> Option<Request> {
    let (group, version, rest) = match segs {
        ["api", version, rest @ ..] if !rest.is_empty() => ("", *version, rest),
        ["apis", group, version, rest @ ..] if !rest.is_empty() => (*group, *version, rest),
        _ => return None,
    };
    let (namespace, rest) = match rest {
        ["namespaces", ns, plural, tail @ ..] if !matches!(*plural, "status" | "finalize") => {
            (Some((*ns).to_owned()), [&[*plural][..], tail].concat())
        }
        _ => (None, rest.to_vec()),
    };
    if rest.len() > 3 {
        return None;
    }
    Some(Request {
        group: group.to_owned(),
        version: version.to_owned(),
        namespace,
        plural: rest[0].to_owned(),
        name: rest.get(1).map(|s| (*s).to_owned()),
        subresource: rest.get(2).map(|s| (*s).to_owned()),
        ..Request::default()
    })
}

fn discovery_get(shared: &Shared, segs: &[&str]) -> Option<Value> {
    let state = shared.lock();
    let types = state.types();
    match segs {
        ["version"] => Some(discovery::version()),
        ["api"] => Some(discovery::core_versions(
            shared.url.trim_start_matches("http://"),
        )),
        ["apis"] => Some(discovery::group_list(&types)),
        ["api", version] => discovery::resource_list(&types, "", version),
        ["apis", group] => {
            let list = discovery::group_list(&types);
            list["groups"]
                .as_array()?
                .iter()
                .find(|g| g["name"] == *group)
                .map(|g| {
                    let mut g = g.clone();
                    g["kind"] = json!("APIGroup");
                    g["apiVersion"] = json!("v1");
                    g
                })
        }
        ["apis", group, version] => discovery::resource_list(&types, group, version),
        ["healthz" | "readyz" | "livez"] => Some(json!("ok")),
        _ => None,
    }
}

async fn handle(
    shared: Arc<Shared>,
    req: hyper::Request<Incoming>,
) -> Result<Response<Body>, Dropped> {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let query_text = req.uri().query().unwrap_or_default().to_owned();
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (content_type, accept, user_agent) = (
        header("content-type"),
        header("accept"),
        header("user-agent"),
    );
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let mut api_req = resource_request(&segs);
    let verb = match &mut api_req {
        Some(r) => {
            r.method.clone_from(&method);
            r.query = parse_query(&query_text);
            r.content_type.clone_from(&content_type);
            r.verb()
        }
        None => "discovery",
    };
    let mut entry = Entry {
        method: method.clone(),
        verb: verb.to_owned(),
        path: path.clone(),
        query: query_text.clone(),
        content_type: content_type.clone(),
        dry_run: api_req.as_ref().is_some_and(Request::dry_run),
        status: 0,
    };

    let decision = shared.faults.decide(&method, verb, &path);
    if !decision.delay.is_zero() {
        tokio::time::sleep(decision.delay).await;
    }
    match decision.outcome {
        Some(Action::Drop) => {
            shared.log.push(entry);
            return Err(Dropped);
        }
        Some(Action::Status(code)) => {
            let reason = match code {
                429 => "TooManyRequests",
                503 => "ServiceUnavailable",
                504 => "Timeout",
                _ => "InternalError",
            };
            let mut err = ApiError::new(code, reason, format!("injected fault: {reason}"));
            if code == 429 {
                err.retry_after = Some(decision.retry_after);
            }
            entry.status = code;
            shared.log.push(entry);
            return Ok(error_response(&err));
        }
        _ => {}
    }

    let response = match api_req {
        Some(mut r) => {
            let body = match req.into_body().collect().await {
                Ok(b) => b.to_bytes().to_vec(),
                Err(_) => return Err(Dropped),
            };
            r.body = body;
            if r.content_type.contains("protobuf") || r.content_type.contains("cbor") {
                let err = ApiError::new(
                    415,
                    "UnsupportedMediaType",
                    format!(
                        "the emulator cannot decode {}: send JSON or YAML bodies",
                        r.content_type
                    ),
                );
                entry.status = 415;
                shared.log.push(entry);
                return Ok(error_response(&err));
            }
            r.accept = accept;
            r.user_agent = user_agent;
            if verb == "watch" {
                crate::watch::start(&shared, &r)
            } else {
                let result = shared.lock().handle(&r);
                let pending = std::mem::take(&mut shared.lock().pending_crds);
                for key in pending {
                    spawn_establish(&shared, key);
                }
                match result {
                    Ok((code, body)) => json_response(code, &body),
                    Err(e) => error_response(&e),
                }
            }
        }
        // An empty OpenAPI v2 document (zero protobuf bytes): kubectl then finds no schema for any
        // kind, skips client-side validation and falls back to its built-in patch metadata.
        None if method == "GET" && segs == ["openapi", "v2"] => {
            let mut resp = Response::new(Full::new(Bytes::new()).boxed());
            resp.headers_mut().insert(
                "content-type",
                hyper::header::HeaderValue::from_static(
                    "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
                ),
            );
            resp
        }
        None if method == "GET"
            && matches!(segs.as_slice(), ["api" | "apis"])
            && discovery::wants_aggregated(&accept) =>
        {
            let body = discovery::aggregated(&shared.lock().types(), segs == ["api"]);
            let mut resp = json_response(200, &body);
            resp.headers_mut().insert(
                "content-type",
                hyper::header::HeaderValue::from_static(discovery::AGGREGATED),
            );
            resp
        }
        None if method == "GET" => match discovery_get(&shared, &segs) {
            Some(body) => json_response(200, &body),
            None => error_response(&ApiError::new(
                404,
                "NotFound",
                "the server could not find the requested resource",
            )),
        },
        None => error_response(&ApiError::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )),
    };
    entry.status = response.status().as_u16();
    shared.log.push(entry);
    Ok(response)
}

/// Marks a CRD established after the configured delay.
fn spawn_establish(shared: &Arc<Shared>, key: crate::store::Key) {
    let shared = Arc::clone(shared);
    let delay = shared.lock().crd_delay;
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        shared.lock().establish(&key);
    });
}
