//! The messages and service of Argo CD's Config Management Plugin v2
//! protocol (`plugin.ConfigManagementPluginService`), generated from this
//! crate's `proto/plugin.proto` by tonic and prost.
//!
//! The server side is kiln's `cmp-server`; the client side is what Argo CD's
//! repo-server does, used by kiln's end-to-end check and tests.
//!
//! ```no_run
//! use kiln_cmp_proto::{AppStreamRequest, ManifestRequestMetadata, app_stream_request::Request};
//!
//! let first = AppStreamRequest {
//!     request: Some(Request::Metadata(ManifestRequestMetadata {
//!         app_name: "guestbook".into(),
//!         app_rel_path: "apps/guestbook".into(),
//!         ..Default::default()
//!     })),
//! };
//! # let _ = first;
//! ```

#![allow(
    clippy::pedantic,
    reason = "generated code: prost and tonic write it their way"
)]

tonic::include_proto!("plugin");

/// The full gRPC name of the service.
pub const SERVICE: &str = "plugin.ConfigManagementPluginService";
