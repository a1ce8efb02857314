//! The render service: the render engine as one long-lived, thread-safe
//! object below the command line, the Argo CD plugin server and the agent.
//!
//! A [`RenderService`] owns the plugin runtime (the wasmtime engine and the
//! compiled components), the render cache (disk or Redis) and its memos. It
//! resolves where apps come from, finds the apps under a root, and renders
//! one app ([`RenderService::render_app`]) or many on a bounded pool of
//! threads ([`RenderService::render_apps`], [`RenderService::render_tree`]),
//! returning the resources with a [`Report`] of each render: the steps, their
//! plugin digests and cache keys, the cache hits, and the source. What a
//! render is asked for is plain data ([`RenderSettings`]), so a command line,
//! a request's environment or an agent's configuration can fill it.
//!
//! ```no_run
//! use kiln::service::{AppRequest, Origin, RenderService, RenderSettings, ServiceConfig};
//!
//! let service = RenderService::new(ServiceConfig::new("/var/cache/kiln"))?;
//! let request = AppRequest {
//!     origin: Origin::local("repo/apps/web", Some("repo".into())),
//!     settings: RenderSettings { namespace: Some("prod".into()), ..Default::default() },
//! };
//! let rendered = service.render_app(&request)?;
//! print!("{}", kiln_resource::yaml::to_stream(&rendered.resources));
//! // The same unchanged app again: served from the cache.
//! assert!(service.render_app(&request)?.report.all_cached());
//! # Ok::<(), anyhow::Error>(())
//! ```

mod decrypt;
mod error;
pub mod keys;
mod origin;
mod pool;
mod render;
mod settings;
mod tree;

pub use error::{Blame, Hint, blame, hint};
pub use origin::{Origin, Resolved};
pub use pool::{Logged, Observer, default_jobs};
pub use render::{
    AppRender, AppRequest, AppResult, CacheChoice, RenderService, Report, ServiceConfig,
};
pub use settings::{HelmSettings, RenderSettings};
pub use tree::{TreeApp, TreeOutcome, TreeRender, TreeRequest};
