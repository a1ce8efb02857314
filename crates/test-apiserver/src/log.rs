//! The request log: what clients asked, so tests can assert on verbs and write counts.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// One served (or faulted) request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub method: String,
    /// Kubernetes verb (`get`, `list`, `watch`, `create`, `update`, `patch`, `apply`, `delete`,
    /// `deletecollection`), or `discovery` for non-resource paths.
    pub verb: String,
    pub path: String,
    pub query: String,
    pub content_type: String,
    pub dry_run: bool,
    /// The answered status code; 0 when the connection was dropped.
    pub status: u16,
}

impl Entry {
    /// A decoded query parameter, such as `fieldManager` or `labelSelector`.
    pub fn param(&self, name: &str) -> Option<String> {
        crate::server::parse_query(&self.query).remove(name)
    }

    /// Whether the request could change the store (a write that was not a dry run).
    pub fn is_write(&self) -> bool {
        !self.dry_run
            && matches!(
                self.verb.as_str(),
                "create" | "update" | "patch" | "apply" | "delete" | "deletecollection"
            )
    }
}

/// Shared, append-only log of requests; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct RequestLog(Arc<Mutex<Vec<Entry>>>);

impl RequestLog {
    fn lock(&self) -> MutexGuard<'_, Vec<Entry>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn push(&self, entry: Entry) {
        self.lock().push(entry);
    }

    /// A copy of every entry so far.
    pub fn entries(&self) -> Vec<Entry> {
        self.lock().clone()
    }

    /// How many requests had this Kubernetes verb.
    pub fn count(&self, verb: &str) -> usize {
        self.lock().iter().filter(|e| e.verb == verb).count()
    }

    /// How many requests were writes (not dry runs), whatever their answer.
    pub fn writes(&self) -> usize {
        self.lock().iter().filter(|e| e.is_write()).count()
    }

    /// Forgets every entry (to count from a point in a test).
    pub fn clear(&self) {
        self.lock().clear();
    }
}
