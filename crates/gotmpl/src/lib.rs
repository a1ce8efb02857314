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
//! Output and errors follow Go and Helm byte for byte where practical.
//!
//! # Helm specifics
//!
//! * Maps are references, as in Go: a [`Value`] holding a map shares it, so `set`,
//!   `unset` and `merge` through any path or variable are seen through all of them
//!   (and across the templates rendered with the same data).
//! * Missing map keys evaluate to nil (`missingkey=zero`); [`Templates::set_strict`]
//!   turns that into an error. An action printing nil prints `<no value>`, as Go does;
//!   Helm deletes that text from every rendered file: [`Templates::render`] does the
//!   same (`include` and `tpl` results already have it removed).
//! * `include` runs a named template of the same set; `tpl` parses its text as a template
//!   named `gotpl` (Helm's root name) in a copy of the set. `required` and `fail` report
//!   their message as `error calling required: MSG`; Helm's own reformatting of exec
//!   errors (`execution error at (...)`) is left to the caller, which can use
//!   [`Error::template`], [`Error::line`], [`Error::col`] and [`Error::message`].
//! * `lookup` always returns an empty map (as `helm template` does); `getHostByName`
//!   returns "".
//! * Randomness (`randAlphaNum`, `uuidv4`, `shuffle`, `randInt`, `encryptAES` IVs, ...)
//!   comes from a generator seeded by [`Templates::set_seed`]; `now` and the date
//!   functions use the clock set by [`Templates::set_now`], in UTC (zones other than
//!   UTC are treated as UTC).
//!
//! # Known differences from Go
//!
//! * Keys and certificates (`genPrivateKey`, `genCA`, `genSelfSignedCert`,
//!   `genSignedCert`, their `WithKey` forms), `bcrypt` and `htpasswd` salts come from
//!   the seeded generator and certificates are valid from the set clock: the same
//!   seed gives the same keys. Only P-256 EC keys are read by the `WithKey` forms.
//! * Regular expressions are Go's RE2 syntax rewritten for the `regex` crate; Unicode
//!   classes follow its (newer) tables, and parse errors the rewrite does not catch
//!   itself are mapped to Go's wording for the common cases only.
//! * `shuffle` and the random functions produce different (seeded) sequences than
//!   Go's `math/rand`.
//! * Nesting of `include`/`template`/`tpl` is limited to 200 levels (Go: 100000,
//!   Helm's `include`: 1000) so that a runaway recursion fails cleanly inside a
//!   1 MiB wasm stack.

mod ast;
mod error;
mod exec;
mod fmt;
mod funcs;
pub mod goyaml;
mod lex;
mod parse;
mod rng;
mod templates;
mod value;
mod yamlv2;

pub use error::{Error, ErrorKind};
pub use templates::Templates;
pub use value::{Map, Object, Value, go_string_bytes, string_from_go_bytes};
