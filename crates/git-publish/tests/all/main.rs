//! Integration tests: real repositories in temp dirs, pushed to with the
//! `git` command, checked with the `git` command as an independent oracle.

mod daemon;
mod errors;
mod http;
mod preview;
mod publish;
mod race;
mod util;
