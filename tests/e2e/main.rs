//! End-to-end tests over the built `kiln` binary and plugins.

mod util;

mod apply;
mod attacks;
mod cache;
mod git;
mod git_remote;
mod hostile;
mod krm;
mod memo;
mod oci;
mod plugin_dev;
mod plugins;
mod python;
mod render;
mod sandbox;
mod sandbox_krm;
mod service;
mod sops;
