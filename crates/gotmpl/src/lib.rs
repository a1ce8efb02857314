//! Go's text/template with Sprig v3 and Helm's template functions, in pure Rust.
//!
//! A [`Templates`] set parses named templates (sharing their `define`s, as Go's
//! `*template.Template` does) and executes them against a [`Value`]:
//!
//! ```
//! use kiln_gotmpl::{Templates, Value};
//!
//! let mut t = Templates::new();
//! t.add("greeting", r#"{{ define "name" }}{{ .name | upper }}{{ end }}hello {{ include "name" . }}"#)
//!     .expect("the template parses");
//! let data = Value::from(serde_json::json!({"name": "kiln"}));
//! assert_eq!(t.execute("greeting", &data).expect("it runs"), "hello KILN");
//! ```
//!
//! Output and errors follow Go and Helm byte for byte where practical; see the
//! crate's README section in the rustdoc of each item for the known differences.

mod ast;
mod error;
mod exec;
mod fmt;
mod funcs;
mod lex;
mod parse;
mod rng;
mod templates;
mod value;
mod yamlv2;

pub use error::{Error, ErrorKind};
pub use templates::Templates;
pub use value::{Object, Value};
