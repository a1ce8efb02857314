//! Where rendered resources go.

pub mod dir;
pub mod stdout;
