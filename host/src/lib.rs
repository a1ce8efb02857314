//! kiln renders `GitOps` config repositories into the exact Kubernetes
//! manifests that should run, by passing them through sandboxed WebAssembly
//! plugins, and hands the result to a backend.
//!
//! The binary is a thin layer over this library. Front ends (the command
//! line, the Argo CD plugin server, the agent) render through
//! [`service::RenderService`], which owns the runtime and the caches; below
//! it, a pipeline can be run by hand:
//!
//! ```no_run
//! use kiln::pipeline::{self, RenderOptions};
//! use kiln::runtime::{Limits, Runtime};
//!
//! let app = kiln::source::local_app("examples/notes-board".as_ref(), None)?;
//! let pipeline = pipeline::load(&app, Limits::default())?;
//! let runtime = Runtime::new(None)?;
//! let opts = RenderOptions { kube_version: pipeline::DEFAULT_KUBE_VERSION.into(), ..Default::default() };
//! let rendered = pipeline::render(&app, &pipeline, &opts, &runtime)?;
//! print!("{}", kiln_resource::yaml::to_stream(&rendered.resources));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod agent;
pub mod backend;
pub mod builtin;
pub mod cache;
pub mod cli;
pub mod cmp;
pub mod devkit;
pub mod env;
pub mod model;
pub mod oci;
pub mod pipeline;
pub mod runtime;
pub mod service;
pub mod source;
pub mod stamp;

/// The version of the WIT contract (`kiln:plugin`) this host implements.
pub const CONTRACT_VERSION: &str = "0.1.0";

/// An error and its causes on one line, `: `-separated (for logs and for
/// errors that carry another error's text).
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}
