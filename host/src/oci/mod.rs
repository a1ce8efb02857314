//! Plugins in OCI registries: `oci://` references, the CNCF Wasm artifact
//! layout, pulls by digest into a content-addressed cache, pushes, and
//! cosign signatures.
//!
//! Nothing here resolves a tag behind the caller's back: a tag becomes a
//! digest only through [`Registry::resolve`], which `kiln plugin add` and
//! `kiln plugin update` call; renders pull by the digest in `kiln.lock`.

pub mod artifact;
pub mod client;
pub mod keyless;
pub mod reference;
pub mod signature;
pub mod store;

pub use client::{KILN_INSECURE_REGISTRIES, Pulled, Registry};
pub use reference::OciRef;
pub use store::Store;
