//! What an apply did, object by object, and the progress events on the way.

use std::fmt;
use std::time::Duration;

use kiln_resource::ResourceId;

/// What happened to one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// It did not exist and was created.
    Created,
    /// It existed and the apply changed it.
    Configured,
    /// It already matched the render; nothing was sent.
    Unchanged,
    /// Dropped from the render and deleted (or, in a dry run, would be).
    Pruned,
    /// Dropped from the render but not deleted; the text says why (`kiln.dev/prune: disabled`,
    /// owned by another app, not marked as this app's).
    Kept(String),
    /// The apply or delete failed; the server's message, or why kiln refused.
    Failed(String),
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Created => f.write_str("created"),
            Action::Configured => f.write_str("configured"),
            Action::Unchanged => f.write_str("unchanged"),
            Action::Pruned => f.write_str("pruned"),
            Action::Kept(why) => write!(f, "kept ({why})"),
            Action::Failed(why) => write!(f, "failed: {why}"),
        }
    }
}

/// One object and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectResult {
    pub id: ResourceId,
    pub action: Action,
}

impl fmt::Display for ObjectResult {
    /// `apps/v1/Deployment/shop/web configured`, as a line of a terminal log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.id, self.action)
    }
}

/// The outcome of waiting for one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitResult {
    pub id: ResourceId,
    /// `None` when it became ready; otherwise the condition that blocked it.
    pub blocked: Option<String>,
}

/// Everything an apply did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Applied objects in apply order, then pruned (or kept) ones.
    pub objects: Vec<ObjectResult>,
    /// Readiness of the waited-for objects (empty without `wait`).
    pub waits: Vec<WaitResult>,
    /// Why pruning did not run, when it did not (some object failed to apply, dry run...).
    pub prune_skipped: Option<String>,
    /// Failures that belong to no single object (the final inventory write).
    pub errors: Vec<String>,
    /// The inventory `ConfigMap`'s `resourceVersion` after the apply, when known (with a fence:
    /// the next fence).
    pub inventory_version: Option<String>,
    /// The fence moved during the apply: another writer took the app, so nothing was pruned
    /// and the inventory was left to it.
    pub fenced: bool,
}

impl Report {
    /// Whether anything failed: an object, a wait, or the inventory update.
    pub fn failed(&self) -> bool {
        !self.errors.is_empty()
            || self
                .objects
                .iter()
                .any(|o| matches!(o.action, Action::Failed(_)))
            || self.waits.iter().any(|w| w.blocked.is_some())
    }

    /// The results with this action kind, for counting (`Kept`/`Failed` texts are ignored).
    pub fn count(&self, action: &Action) -> usize {
        self.objects
            .iter()
            .filter(|o| std::mem::discriminant(&o.action) == std::mem::discriminant(action))
            .count()
    }
}

/// Progress, reported while an apply runs (for a terminal display or a log).
#[derive(Debug, Clone)]
pub enum Event {
    /// An object was applied, found unchanged, pruned, kept or failed.
    Object(ObjectResult),
    /// A request failed transiently and will be retried after `delay`.
    Retrying {
        what: String,
        attempt: u32,
        delay: Duration,
        error: String,
    },
    /// An object is not ready yet; `message` is the condition being waited for.
    Waiting { id: ResourceId, message: String },
    /// An object became ready.
    Ready { id: ResourceId },
}

impl fmt::Display for Event {
    /// One line for a terminal or a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Object(r) => r.fmt(f),
            Event::Retrying {
                what,
                attempt,
                delay,
                error,
            } => write!(
                f,
                "retrying {what} in {delay:?} (attempt {attempt} failed: {error})"
            ),
            Event::Waiting { id, message } => write!(f, "waiting for {id}: {message}"),
            Event::Ready { id } => write!(f, "{id} ready"),
        }
    }
}

/// The progress callback: called from the task that runs the apply, never concurrently.
pub type Progress<'a> = &'a (dyn Fn(Event) + Send + Sync);

/// A progress callback that ignores everything.
pub fn no_progress(_: Event) {}
