//! kiln's resource model, shared by the host and by plugins.
//!
//! A resource is a Kubernetes object held as a [`serde_json::Value`] (a JSON
//! object, keys in document order). This crate parses YAML streams into
//! resources ([`yaml::parse_stream`]), writes them back in the style
//! `kubectl` and `kustomize` print ([`yaml::to_string`]), identifies them
//! ([`ResourceId`]) and flattens `List` kinds ([`flatten_lists`]).
//!
//! It has no I/O and builds for `wasm32-wasip2`, so plugins use it too.
//!
//! ```
//! let docs = kiln_resource::yaml::parse_stream(
//!     "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n",
//!     "app.yaml",
//! )?;
//! let id = kiln_resource::ResourceId::of(&docs[0]).expect("a manifest");
//! assert_eq!(id.to_string(), "v1/ConfigMap/app");
//! assert_eq!(kiln_resource::yaml::to_string(&docs[0]), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n");
//! # Ok::<(), kiln_resource::yaml::Error>(())
//! ```

mod id;
mod list;
pub mod yaml;

pub use id::ResourceId;
pub use list::{flatten_lists, is_manifest};
pub use serde_json::{Map, Value};
