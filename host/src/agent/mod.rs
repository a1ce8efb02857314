//! `kiln agent`: pull-mode `GitOps` inside the cluster.
//!
//! The agent lists the config repository's refs every `source.interval`
//! (or at once on a webhook), fetches a new commit, reads the [`config`]
//! `Agent` file in it, renders every app below the apps' root, and applies
//! each through `kiln-kube` (server-side apply, inventory, prune; never a
//! prune after a failed or empty render). At each app's `interval` it
//! compares the cluster with the render by server-side dry run and corrects
//! or reports drift. Each app's [`status`] is kept in its inventory
//! `ConfigMap`, in Flux's vocabulary; [`metrics`] and health endpoints are
//! served over HTTP ([`http`]).
//!
//! The agent talks to the cluster itself (statuses, annotations, Secrets,
//! events) besides applying through `kiln-kube`, so it imports `kube`
//! (DESIGN.md lists leases, status and events in this module).

pub mod config;
pub mod http;
pub mod metrics;
mod reconcile;
mod run;
pub mod shard;
pub mod source;
pub mod status;
pub mod store;

pub use run::{Agent, Settings, backoff};
