//! The resource API: requests resolved to a type, reads (get, list, table), and dispatch to the
//! writes in [`crate::write`].

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use crate::discovery::{self, ResourceType};
use crate::selectors::Selector;
use crate::status::ApiError;
use crate::store::{Key, Store};
use crate::{clock, write};

/// A request on a resource path, already taken apart.
#[derive(Debug, Clone, Default)]
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) group: String,
    pub(crate) version: String,
    pub(crate) namespace: Option<String>,
    pub(crate) plural: String,
    pub(crate) name: Option<String>,
    pub(crate) subresource: Option<String>,
    pub(crate) query: BTreeMap<String, String>,
    pub(crate) content_type: String,
    pub(crate) accept: String,
    pub(crate) user_agent: String,
    pub(crate) body: Vec<u8>,
}

impl Request {
    /// The Kubernetes verb: get, list, watch, create, update, patch, apply, delete, deletecollection.
    pub(crate) fn verb(&self) -> &'static str {
        let watch = matches!(
            self.query.get("watch").map(String::as_str),
            Some("true" | "1")
        );
        match (self.method.as_str(), self.name.is_some()) {
            ("GET", _) if watch => "watch",
            ("GET", true) => "get",
            ("GET", false) => "list",
            ("POST", _) => "create",
            ("PUT", _) => "update",
            ("PATCH", _) if self.content_type.starts_with("application/apply-patch") => "apply",
            ("PATCH", _) => "patch",
            ("DELETE", true) => "delete",
            ("DELETE", false) => "deletecollection",
            _ => "unknown",
        }
    }

    pub(crate) fn dry_run(&self) -> bool {
        self.query.get("dryRun").is_some_and(|v| v == "All")
    }

    pub(crate) fn ns(&self) -> &str {
        self.namespace.as_deref().unwrap_or_default()
    }
}

/// The whole server state behind one lock.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) store: Store,
    builtins: Vec<ResourceType>,
    /// How long a new CRD waits before it is `Established`.
    pub(crate) crd_delay: Duration,
    /// CRDs waiting for their `Established` condition (the server starts a timer for each).
    pub(crate) pending_crds: Vec<Key>,
}

/// A successful answer: status code and JSON body.
pub(crate) type Reply = (u16, Value);

impl State {
    pub(crate) fn new(crd_delay: Duration) -> State {
        let mut state = State {
            store: Store::default(),
            builtins: discovery::builtin_types(),
            crd_delay,
            pending_crds: Vec::new(),
        };
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let uid = state.store.new_uid();
            let obj = json!({
                "apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": ns, "uid": uid, "creationTimestamp": clock::now_rfc3339(),
                             "labels": {"kubernetes.io/metadata.name": ns}},
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"}
            });
            state.store.put(&Key::of("", "namespaces", "", ns), obj);
        }
        // Count only the changes clients make.
        state.store.writes = 0;
        state
    }

    /// Built-in types and the types of established CRDs.
    pub(crate) fn types(&self) -> Vec<ResourceType> {
        let mut types = self.builtins.clone();
        for (_, crd) in self
            .store
            .list("apiextensions.k8s.io", "customresourcedefinitions", None)
        {
            let established = crd["status"]["conditions"].as_array().is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"] == "Established" && c["status"] == "True")
            });
            if established {
                types.extend(discovery::crd_types(crd));
            }
        }
        types
    }

    pub(crate) fn find_type(
        &self,
        group: &str,
        version: &str,
        plural: &str,
    ) -> Option<ResourceType> {
        self.types()
            .into_iter()
            .find(|t| t.group == group && t.version == version && t.plural == plural)
    }

    /// Marks a pending CRD established (called by the server's timer).
    pub(crate) fn establish(&mut self, key: &Key) {
        if let Some(mut crd) = self.store.get(key).cloned() {
            crate::crd::set_crd_conditions(&mut crd, true);
            self.store.put_uncounted(key, crd);
        }
    }

    /// Serves one resource request.
    pub(crate) fn handle(&mut self, req: &Request) -> Result<Reply, ApiError> {
        let not_found = || {
            ApiError::new(
                404,
                "NotFound",
                "the server could not find the requested resource",
            )
        };
        let rt = self
            .find_type(&req.group, &req.version, &req.plural)
            .ok_or_else(not_found)?;
        if !rt.namespaced && req.namespace.is_some() {
            return Err(not_found());
        }
        match req.subresource.as_deref() {
            None => {}
            Some("status") if rt.status_subresource && req.name.is_some() => {}
            Some("scale")
                if crate::scale::has_scale(&rt)
                    && req.name.is_some()
                    && req.namespace.is_some() =>
            {
                return crate::scale::handle(self, &rt, req);
            }
            Some(_) => return Err(not_found()),
        }
        if rt.namespaced && req.namespace.is_none() && !matches!(req.verb(), "list" | "watch") {
            return Err(not_found());
        }
        match req.verb() {
            "get" => self.get(&rt, req),
            "list" => self.list(&rt, req),
            "create" => crate::create::create(self, &rt, req),
            "update" => write::update(self, &rt, req),
            "patch" | "apply" => write::patch(self, &rt, req),
            "delete" => crate::delete::delete(self, &rt, req),
            "deletecollection" => crate::delete::delete_collection(self, &rt, req),
            _ => Err(ApiError::new(
                405,
                "MethodNotAllowed",
                format!(
                    "the server does not allow this method on the requested resource: {}",
                    req.method
                ),
            )),
        }
    }

    pub(crate) fn key(rt: &ResourceType, req: &Request, name: &str) -> Key {
        Key::of(
            &rt.group,
            &rt.plural,
            if rt.namespaced { req.ns() } else { "" },
            name,
        )
    }

    fn get(&self, rt: &ResourceType, req: &Request) -> Result<Reply, ApiError> {
        let name = req.name.as_deref().unwrap_or_default();
        let obj = self
            .store
            .get(&State::key(rt, req, name))
            .ok_or_else(|| ApiError::not_found(rt, name))?;
        let obj = present(rt, obj);
        if wants_table(req) {
            return Ok((
                200,
                table(rt, &[obj], &self.store.resource_version().to_string(), req),
            ));
        }
        Ok((200, obj))
    }

    /// The objects a list or watch selects.
    pub(crate) fn select(&self, rt: &ResourceType, req: &Request) -> Result<Vec<Value>, ApiError> {
        let param = |k: &str| req.query.get(k).filter(|v| !v.is_empty());
        let labels = param("labelSelector")
            .map(|s| Selector::labels(s))
            .transpose();
        let fields = param("fieldSelector")
            .map(|s| Selector::fields(s))
            .transpose();
        let labels = labels.map_err(|e| ApiError::bad_request(e.to_string()))?;
        let fields = fields.map_err(|e| ApiError::bad_request(e.to_string()))?;
        let ns = if rt.namespaced {
            req.namespace.as_deref()
        } else {
            None
        };
        Ok(self
            .store
            .list(&rt.group, &rt.plural, ns)
            .into_iter()
            .map(|(_, o)| present(rt, o))
            .filter(|o| labels.as_ref().is_none_or(|s| s.matches_labels(o)))
            .filter(|o| fields.as_ref().is_none_or(|s| s.matches_fields(o)))
            .collect())
    }

    fn list(&self, rt: &ResourceType, req: &Request) -> Result<Reply, ApiError> {
        let mut items = self.select(rt, req)?;
        if rt.builtin {
            // as a real server encodes a built-in type's list: items without `apiVersion` and
            // `kind` (a custom resource list keeps them)
            for item in &mut items {
                if let Some(obj) = item.as_object_mut() {
                    obj.shift_remove("apiVersion");
                    obj.shift_remove("kind");
                }
            }
        }
        let rv = self.store.resource_version().to_string();
        let mut metadata = json!({"resourceVersion": rv});
        page(&mut items, req, &mut metadata)?;
        if wants_table(req) {
            let mut t = table(rt, &items, &rv, req);
            t["metadata"] = metadata;
            return Ok((200, t));
        }
        Ok((
            200,
            json!({
                "apiVersion": rt.api_version(),
                "kind": format!("{}List", rt.kind),
                "metadata": metadata,
                "items": items,
            }),
        ))
    }
}

/// `limit` and `continue`: the token names the last item served (`kiln:<namespace>/<name>`), so
/// the next page starts after it in the (namespace, name) order of the store.
fn page(items: &mut Vec<Value>, req: &Request, metadata: &mut Value) -> Result<(), ApiError> {
    let position = |o: &Value| {
        let meta = &o["metadata"];
        (
            meta["namespace"].as_str().unwrap_or_default().to_owned(),
            meta["name"].as_str().unwrap_or_default().to_owned(),
        )
    };
    if let Some(token) = req.query.get("continue").filter(|t| !t.is_empty()) {
        let after = token
            .strip_prefix("kiln:")
            .and_then(|t| t.split_once('/'))
            .ok_or_else(|| {
                ApiError::bad_request(format!("continue key is not valid: {token:?}"))
            })?;
        let after = (after.0.to_owned(), after.1.to_owned());
        items.retain(|o| position(o) > after);
    }
    let limit = req
        .query
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0);
    if let Some(limit) = limit.filter(|l| items.len() > *l) {
        let remaining = items.len() - limit;
        items.truncate(limit);
        let (ns, name) = items.last().map(position).unwrap_or_default();
        metadata["continue"] = json!(format!("kiln:{ns}/{name}"));
        metadata["remainingItemCount"] = json!(remaining);
    }
    Ok(())
}

/// The stored object as served at `rt`'s version.
pub(crate) fn present(rt: &ResourceType, obj: &Value) -> Value {
    let mut out = obj.clone();
    out["apiVersion"] = json!(rt.api_version());
    out["kind"] = json!(rt.kind);
    out
}

fn wants_table(req: &Request) -> bool {
    req.accept
        .split(',')
        .next()
        .is_some_and(|first| first.contains("as=Table"))
}

/// A `meta.k8s.io/v1` Table with name and age columns, as kubectl's default output asks for.
fn table(rt: &ResourceType, items: &[Value], rv: &str, req: &Request) -> Value {
    let now = clock::parse_rfc3339(&clock::now_rfc3339()).unwrap_or(0);
    let include_object = req
        .query
        .get("includeObject")
        .map_or("Metadata", String::as_str);
    let rows: Vec<Value> = items
        .iter()
        .map(|o| {
            let created = o["metadata"]["creationTimestamp"].as_str().and_then(clock::parse_rfc3339);
            let age = created.map_or_else(|| "<unknown>".to_owned(), |c| human_age(now.saturating_sub(c)));
            let object = match include_object {
                "Object" => o.clone(),
                "None" => Value::Null,
                _ => json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]}),
            };
            json!({"cells": [o["metadata"]["name"], age], "object": object})
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": rv},
        "columnDefinitions": [
            {"name": "Name", "type": "string", "format": "name", "description": "Name must be unique within a namespace.", "priority": 0},
            {"name": "Age", "type": "string", "format": "", "description": format!("Age of the {}", rt.singular), "priority": 0}
        ],
        "rows": rows,
    })
}

fn human_age(secs: u64) -> String {
    match secs {
        0..120 => format!("{secs}s"),
        120..7200 => format!("{}m", secs / 60),
        7200..172_800 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86_400),
    }
}
