//! Server-side apply, inventory pruning, diff and wait against a Kubernetes cluster.
//!
//! The host renders an app, wraps the objects in [`Manifests`] and calls [`Applier::apply`] or
//! [`Applier::diff`]. See the crate README for the inventory, the order of operations and how
//! unchanged objects are detected without writes.

mod api;
mod apply;
mod client;
mod compare;
mod diff;
pub mod inventory;
mod manifests;
mod options;
mod plan;
mod prune;
mod report;
mod resolve;
mod retry;
mod wait;

pub use apply::{Applier, Error as ApplyError};
pub use client::{Error as ClientError, client};
pub use diff::{Change, DiffReport, Error as DiffError, ObjectDiff};
pub use kiln_resource::ResourceId;
pub use manifests::{Error as ManifestsError, Manifests};
pub use options::{ApplyOptions, Propagation};
pub use plan::{INVENTORY_ANNOTATION, PRUNE_ANNOTATION};
pub use report::{Action, Event, ObjectResult, Progress, Report, WaitResult, no_progress};
pub use retry::RetryOptions;
