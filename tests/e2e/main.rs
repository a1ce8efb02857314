//! End-to-end tests over the built `kiln` binary and plugins.

mod util;

mod apply;
mod cache;
mod git;
mod git_remote;
mod hostile;
mod memo;
mod plugins;
mod python;
mod render;
mod sandbox;
mod service;
mod sops;
