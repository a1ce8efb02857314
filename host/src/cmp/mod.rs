//! kiln as Argo CD's Config Management Plugin (CMP v2): the gRPC service
//! `plugin.ConfigManagementPluginService` on the plugins socket, rendering
//! each streamed repository with one warm engine and cache.
//!
//! A request streams the metadata, then the gzipped tarball of the
//! repository ([`receive`]); the tarball is checked and unpacked into the
//! request's own directory with nothing escaping it ([`unpack`]); Argo CD's
//! environment and the Application's parameters become render options
//! ([`request`]); the app is rendered ([`render`]) and each resource goes
//! back as one JSON string. Errors are gRPC statuses carrying kiln's
//! message ([`status`]).

pub mod admission;
pub mod client;
pub mod metrics;
pub mod receive;
pub mod render;
pub mod request;
pub mod responses;
pub mod server;
pub mod status;
pub mod unpack;

pub use render::{Job, Operator, Output, Renderer, SopsKey};
pub use server::{Service, Settings, bind, serve};

/// Argo CD's default directory of plugin sockets.
pub const DEFAULT_PLUGINS_DIR: &str = "/home/argocd/cmp-server/plugins";
/// The environment variable Argo CD reads the plugins directory from.
pub const PLUGINS_DIR_ENV: &str = "ARGOCD_PLUGINSOCKFILEPATH";
/// The plugin's default name (the socket's stem).
pub const DEFAULT_NAME: &str = "kiln";

/// The socket path Argo CD looks for: `<dir>/<name>.sock`, or
/// `<dir>/<name>-<version>.sock` with a version.
pub fn socket_path(dir: &std::path::Path, name: &str, version: Option<&str>) -> std::path::PathBuf {
    match version.filter(|v| !v.is_empty()) {
        Some(v) => dir.join(format!("{name}-{v}.sock")),
        None => dir.join(format!("{name}.sock")),
    }
}
