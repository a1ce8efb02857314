//! How an apply behaves.

use std::time::Duration;

use kube::api::PropagationPolicy;

use crate::retry::RetryOptions;

/// How pruned objects' dependents are deleted (the API's `propagationPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Propagation {
    /// Dependents are deleted in the background (the default, as kubectl does).
    #[default]
    Background,
    /// The object waits for its dependents to go first.
    Foreground,
    /// Dependents are left behind, their owner reference removed.
    Orphan,
}

impl From<Propagation> for PropagationPolicy {
    fn from(p: Propagation) -> PropagationPolicy {
        match p {
            Propagation::Background => PropagationPolicy::Background,
            Propagation::Foreground => PropagationPolicy::Foreground,
            Propagation::Orphan => PropagationPolicy::Orphan,
        }
    }
}

/// What an apply (and a diff) does. [`ApplyOptions::new`] lists the defaults.
#[derive(Debug, Clone)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent switches, each a CLI flag"
)]
pub struct ApplyOptions {
    /// The app: names the inventory (`kiln-inventory-<app>`); a DNS label of at most 48 characters.
    pub app: String,
    /// Namespace of the inventory `ConfigMap`; it must exist or be a Namespace of the render.
    pub inventory_namespace: String,
    /// Server-side apply field manager.
    pub field_manager: String,
    /// Take fields owned by other managers instead of failing with a conflict.
    pub force_conflicts: bool,
    /// Apply objects that another app's inventory owns (they move to this app); otherwise such
    /// an object fails with a conflict and is left alone.
    pub adopt: bool,
    /// How pruned objects' dependents are deleted.
    pub propagation: Propagation,
    /// Delete what the previous inventory lists and the render dropped; when off, such objects
    /// stay in the cluster and in the inventory.
    pub prune: bool,
    /// Fencing: the `resourceVersion` the inventory `ConfigMap` had when the caller took the
    /// app. The apply refuses to start ([`crate::Error::Fenced`]) when it moved, every
    /// inventory write is conditional on the version the previous one left, and pruning
    /// re-checks it first: a move means another writer took the app, and nothing more is
    /// written or pruned.
    pub fence: Option<String>,
    /// Accept an empty render (which prunes everything the app had); refused otherwise.
    pub allow_empty: bool,
    /// Send everything as a server dry run: nothing is stored, the inventory is not written,
    /// prunes are only reported.
    pub dry_run: bool,
    /// Wait this long (in all) for workloads, Jobs and CRDs to become ready after the apply.
    pub wait: Option<Duration>,
    /// How long to wait for a CRD of the render to be `Established` before its custom
    /// resources are applied (whether or not `wait` is set).
    pub crd_timeout: Duration,
    /// Retries of transient API failures.
    pub retry: RetryOptions,
    /// Requests in flight at once within one apply group.
    pub concurrency: usize,
}

impl ApplyOptions {
    /// Defaults: field manager `kiln`, no forced conflicts, no adoption, background propagation,
    /// pruning on, empty renders refused, no dry run, no wait, 60s for CRDs, [`RetryOptions::default`],
    /// 16 requests at once.
    pub fn new(app: impl Into<String>, inventory_namespace: impl Into<String>) -> Self {
        ApplyOptions {
            app: app.into(),
            inventory_namespace: inventory_namespace.into(),
            field_manager: "kiln".to_owned(),
            force_conflicts: false,
            adopt: false,
            propagation: Propagation::Background,
            prune: true,
            fence: None,
            allow_empty: false,
            dry_run: false,
            wait: None,
            crd_timeout: Duration::from_mins(1),
            retry: RetryOptions::default(),
            concurrency: 16,
        }
    }

    /// The value of the `kiln.dev/inventory-id` annotation on this app's objects.
    pub fn inventory_id(&self) -> String {
        format!("{}/{}", self.inventory_namespace, self.app)
    }
}
