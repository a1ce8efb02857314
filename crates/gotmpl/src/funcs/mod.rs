//! The function table: Go's builtins, Sprig v3 and Helm's functions.

mod builtin;
mod conv;
mod crypto;
mod dates;
mod dicts;
mod encoding;
mod helm;
pub(crate) mod json;
mod lists;
mod math;
mod regex;
mod semver;
mod strings;
#[cfg(test)]
mod tests;
mod types;
mod yaml;

use std::collections::HashMap;

use crate::exec::Shared;
use crate::templates::Templates;
use crate::value::Value;

pub(crate) use helm::{include, tpl};
pub(crate) use json::json_float;

/// How many arguments a function takes (Go checks this before calling).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Arity {
    Exact(usize),
    AtLeast(usize),
}

/// A failure inside a function.
#[derive(Debug)]
pub(crate) enum FuncError {
    /// The function returned an error: printed as `error calling NAME: msg`.
    Call(String),
    /// Argument `i` has the wrong type: printed at that argument.
    Arg(usize, String),
    /// `required` or `fail`: printed as `Call`, remembered as the failure Helm reports.
    Fail(String),
    /// A nested template failed (`include`, `tpl`): `error calling NAME: PREFIX{inner}`.
    Nested(String, crate::error::Error),
}

impl From<String> for FuncError {
    fn from(s: String) -> Self {
        FuncError::Call(s)
    }
}

pub(crate) type FResult = Result<Value, FuncError>;
pub(crate) type FuncImpl = fn(&Ctx<'_>, Vec<Value>) -> FResult;

/// One registered function.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FuncDef {
    pub(crate) f: FuncImpl,
    pub(crate) arity: Arity,
}

/// What a function can see of the running template.
pub(crate) struct Ctx<'a> {
    pub(crate) set: &'a Templates,
    pub(crate) shared: &'a Shared,
}

impl Ctx<'_> {
    pub(crate) fn now(&self) -> i64 {
        self.set.now
    }
}

/// The function table.
#[derive(Debug)]
pub(crate) struct Registry {
    map: HashMap<&'static str, FuncDef>,
}

impl Registry {
    /// Builtins, Sprig and Helm functions.
    pub(crate) fn standard() -> Registry {
        let mut r = Registry {
            map: HashMap::new(),
        };
        builtin::register(&mut r);
        strings::register(&mut r);
        lists::register(&mut r);
        dicts::register(&mut r);
        math::register(&mut r);
        encoding::register(&mut r);
        crypto::register(&mut r);
        dates::register(&mut r);
        semver::register(&mut r);
        regex::register(&mut r);
        yaml::register(&mut r);
        types::register(&mut r);
        helm::register(&mut r);
        r
    }

    pub(crate) fn add(&mut self, name: &'static str, arity: Arity, f: FuncImpl) {
        self.map.insert(name, FuncDef { f, arity });
    }

    pub(crate) fn has(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    pub(crate) fn get(&self, name: &str) -> Option<FuncDef> {
        self.map.get(name).copied()
    }
}

/// Shorthands for registering: exact arity and at-least arity.
pub(crate) const fn ex(n: usize) -> Arity {
    Arity::Exact(n)
}

pub(crate) const fn at(n: usize) -> Arity {
    Arity::AtLeast(n)
}
