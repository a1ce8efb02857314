//! Commit rendered manifests to an environment branch of a git repository:
//! the rendered-manifests pattern behind `kiln render --to git:URL#BRANCH[:PATH]`.
//!
//! [`publish`] fetches the branch with gix into a bare work repository kept
//! under a cache directory, replaces the directory `PATH` of the branch with
//! exactly the given files (every other path of the branch is kept), writes
//! the trees and the commit straight into the object database (no work tree,
//! no checkout) and pushes it with the `git` command:
//!
//! - a branch missing on the remote is created as an orphan (a root commit);
//! - when the new tree equals the tip's, nothing is committed or pushed
//!   ([`Outcome::Unchanged`]);
//! - the push is never forced: when another publisher moved the branch
//!   first, the branch is fetched again, the commit rebuilt on the new tip
//!   and pushed again, up to [`MAX_ATTEMPTS`] times;
//! - pushing needs `git` on `PATH` (gix cannot push); credentials come from
//!   git's own configuration (credential helpers, the SSH agent), and are
//!   never shown: URLs in errors and logs have their user info removed.
//!
//! [`prepare`] does the first half alone (fetch, build the tree) and returns a
//! [`Publication`] that tells whether anything would change and which files
//! ([`Publication::changes`]) before [`Publication::push`] commits and pushes
//! it: a dry run, or `kiln diff` against the branch.
//!
//! [`Provenance`] composes a commit message whose trailers record the source
//! revision, the plugin digests and the render key.
//!
//! ```no_run
//! use std::collections::BTreeMap;
//! use std::path::Path;
//! use kiln_git_publish::{Commit, Outcome, Provenance, Target, publish};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let target: Target = "https://example.com/deploy.git#env/prod:apps/web".parse()?;
//! let files = BTreeMap::from([(
//!     "manifests.yaml".to_owned(),
//!     b"apiVersion: v1\nkind: ConfigMap\n".to_vec(),
//! )]);
//! let message = Provenance {
//!     summary: "render web for prod".to_owned(),
//!     revision: Some("4f1c0ffee".to_owned()),
//!     ..Provenance::default()
//! }
//! .message();
//! let commit = Commit { message: &message, author_name: "kiln", author_email: "kiln@example.com" };
//! match publish(&target, &files, &commit, Path::new("/var/cache/kiln"))? {
//!     Outcome::Committed { id, .. } => eprintln!("published {id}"),
//!     Outcome::Unchanged { id } => eprintln!("{target} already at {id}"),
//! }
//! # Ok(())
//! # }
//! ```

mod changes;
mod message;
mod publish;
mod push;
mod target;
mod text;
mod work;

pub use changes::Change;
pub use message::Provenance;
pub use publish::{Commit, Error, MAX_ATTEMPTS, Outcome, Publication, prepare, publish};
pub use target::{ParseError, Target, redact, secrets_in, user_is_a_name};
pub use text::Scrubbed;
pub use work::lock_beside;
