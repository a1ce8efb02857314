//! The built-in `overlay` plugin: builds a kustomization directory the way
//! `kustomize build` (v5) does, in pure Rust inside the sandbox.
//!
//! Supported: resources (files, bases, nested kustomizations), components,
//! `namespace`, name prefixes and suffixes with name references fixed across
//! kinds, `labels`/`commonLabels`/`commonAnnotations`, `images`, `replicas`,
//! `patches`, `patchesStrategicMerge`, `patchesJson6902`, `ConfigMap` and
//! Secret generators with kustomize's content-hash suffix, `replacements`,
//! legacy `vars`, `configurations`, `crds`, `openapi`, `sortOptions`,
//! `buildMetadata: [originAnnotations, transformerAnnotations]` and builtin
//! transformer and generator configs. Remote resources, Helm charts and exec
//! or KRM function plugins are refused: plugins have no network and no
//! processes. Output is in kustomize's legacy kind order unless
//! `sortOptions` says otherwise, with fields in key order as kustomize
//! writes them.
//!
//! Config (`with:`): `path`, the kustomization directory relative to the
//! application directory (default: the application directory). Input
//! resources of the step come first, as if listed first in `resources`,
//! except `kiln.dev/v1alpha1` `DecryptedFile` documents (from a `sops` step
//! with `files:`): each replaces the content of the file at its `path`
//! (relative to the source root) for every read of the build, so generators,
//! patches and resources see the plaintext, as after Flux decrypts sources.
//!
//! ```no_run
//! let docs = kiln_plugin_overlay::build(std::path::Path::new("/src"), std::path::Path::new("/src/app"))?;
//! println!("{}", kiln_sdk::yaml::to_stream(&docs));
//! # Ok::<(), kiln_sdk::Error>(())
//! ```

#![expect(
    clippy::result_large_err,
    reason = "errors carry resource ids and file names; a build returns at most one"
)]

#[cfg(target_family = "wasm")]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

mod alias;
mod builtin_specs;
mod crds;
mod decrypted;
mod defaults;
mod fieldspec;
mod generators;
mod goregex;
mod kustomization;
mod labelsel;
mod loader;
mod nameref;
mod order;
mod patch;
mod plugins;
mod replacements;
mod res;
mod resmap;
mod smp;
mod steps;
mod target;
mod transformers;
mod vars;
mod yaml;

mod build;

pub use build::{build, build_with_inputs};

use kiln_sdk::prelude::*;

/// Step configuration.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The kustomization directory, relative to the application directory.
    pub path: Option<String>,
}

struct Overlay;

impl Plugin for Overlay {
    fn render(req: Request) -> Result<Response, Error> {
        let config: Config = req.config_as()?;
        let root = std::path::Path::new(kiln_sdk::SOURCE_ROOT);
        let mut dir = req.context.app_path();
        if let Some(p) = &config.path {
            dir = dir.join(p);
        }
        let out = build_with_inputs(root, &dir, req.resources)?;
        Ok(Response::new(out))
    }
}

kiln_sdk::export!(Overlay);

#[cfg(test)]
mod decrypted_tests;
#[cfg(test)]
mod json6902_tests;
#[cfg(test)]
mod tests;
