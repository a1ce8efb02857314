//! The built-in `helm` plugin: renders a Helm chart exactly as
//! `helm template` does.
//!
//! [`render_text`] gives the byte-exact `helm template` stream; the plugin
//! returns the same documents as resources (and, with `emit-text: true`, a
//! leading `kiln.dev/v1alpha1` `RenderedText` resource holding the text).
//!
//! Config (`with:`), named as `helm template`'s flags: `chart` (chart
//! directory or `.tgz` relative to the app directory; default the app
//! directory), `release-name` (default `release-name`), `namespace`,
//! `values` (files relative to the app directory), `set`, `set-string`,
//! `set-file`, `set-json` (lists of `K=V`), `show-only`, `api-versions`,
//! `kube-version`, `include-crds`, `skip-tests`, `emit-text`, plus `debug`
//! (keep the rendered files of a YAML error) and `now` (Unix seconds for the
//! engine's clock). The render context's namespace, Kubernetes version and
//! API versions are the defaults; without them the release namespace is
//! `default` and the Kubernetes version `v1.20.0` (Helm's test default).
//!
//! Paths: `render_text(root, app, opts)` joins `app` to `root` (an absolute
//! `app` is used as is); the chart, values files and `--set-file` files are
//! read relative to the app directory.
//!
//! Determinism: the template engine's random functions are seeded from a
//! blake3 hash of the chart's files and the user values, keyed by 32 bytes
//! of the call's `wasi:random` (which kiln's host draws from its operator's
//! render seed and the step's inputs), and `now` is the Unix epoch
//! (1970-01-01T00:00:00Z): a render is reproducible by whoever holds the
//! render seed, and by nobody else.

#[cfg(target_family = "wasm")]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

mod archive;
mod capabilities;
mod chart;
mod chartyaml;
mod deps;
mod files;
mod glob;
mod ignore;
mod order;
mod output;
mod render;
mod schema;
mod semver;
mod strvals;
mod values;

mod api;
mod plugin;

pub use plugin::render_resources;

pub use api::{Error, Options, render_text};
pub use archive::load_archive;
pub use capabilities::{DEFAULT_API_VERSIONS, KubeVersion, KubeVersionError};
pub use chart::{
    Chart, ChartFile, Dependency, LoadError, Maintainer, Metadata, load_dir, load_files,
};
pub use deps::DepsError;
pub use order::YamlError;
pub use output::ShowOnlyError;
pub use render::RenderError;
pub use schema::SchemaError;

#[cfg(test)]
mod errors_tests;
#[cfg(test)]
mod oracle_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod webapp_tests;
