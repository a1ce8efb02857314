//! `kiln cmp-server` driven exactly as Argo CD's repo-server drives a
//! Config Management Plugin: a client from the same proto builds the
//! tarball the way the repo-server does, sends Argo CD's environment and
//! replays its call sequences. No Argo CD needed.

mod harness;
mod hostile;
mod load;
mod protocol;
mod stock;
