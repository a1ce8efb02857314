//! Content-addressed keys and stores for render results.

mod key;

pub use key::StepKey;
