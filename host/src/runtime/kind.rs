//! The two kinds of plugin, told apart by their bytes, and the check of the
//! contract version a component was built for.
//!
//! - A **component** that imports or exports anything of `kiln:plugin` is a
//!   kiln plugin. The version in those names is checked against the one
//!   this kiln implements (`wit/plugin.wit`) before anything is linked.
//! - A **core module** (a `wasip1` command with `_start`, as `GOOS=wasip1`,
//!   `TinyGo`, Rust's `wasm32-wasip1` or Javy build) or a **component that
//!   exports `wasi:cli/run`** and nothing of `kiln:plugin` is a KRM
//!   function (see `krm`).
//!
//! Nothing in `kiln.yaml` says which kind a plugin is: the bytes do, so the
//! same `plugin:` reference works for both.

use std::path::Path;

use wasmtime::Engine;
use wasmtime::component::Component;

use super::plugin::{self, Call, CallError, Output, PluginInfo};
use super::{CompiledCache, Limits, LoadError, compile, krm};

/// `wit/plugin.wit`, for the version of the contract this kiln implements.
const WIT: &str = include_str!("../../../wit/plugin.wit");

/// The kind of a loaded plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A component of the `kiln:plugin` world.
    Component,
    /// A KRM function: a WASI command reading and writing a `ResourceList`.
    Krm,
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Component => "kiln plugin (component)",
            Self::Krm => "KRM function (WASI command)",
        })
    }
}

/// A plugin compiled and pre-instantiated, ready for calls: a component
/// or a KRM function.
pub struct Loaded {
    inner: Inner,
}

enum Inner {
    Component(plugin::Loaded),
    /// The function, its name and the digest of its wasm bytes.
    Krm(krm::Function, String, blake3::Hash),
}

impl Loaded {
    /// The blake3 digest of the plugin's wasm bytes.
    pub fn digest(&self) -> blake3::Hash {
        match &self.inner {
            Inner::Component(p) => p.digest(),
            Inner::Krm(_, _, digest) => *digest,
        }
    }

    /// The component plugin, when it is one.
    pub fn component(&self) -> Option<&plugin::Loaded> {
        match &self.inner {
            Inner::Component(p) => Some(p),
            Inner::Krm(..) => None,
        }
    }

    /// The plugin's name as the pipeline refers to it.
    pub fn name(&self) -> &str {
        match &self.inner {
            Inner::Component(p) => p.name(),
            Inner::Krm(_, name, _) => name,
        }
    }

    /// Which kind of plugin it is.
    pub fn kind(&self) -> Kind {
        match self.inner {
            Inner::Component(_) => Kind::Component,
            Inner::Krm(..) => Kind::Krm,
        }
    }

    /// The version of the `kiln:plugin` contract a component was built
    /// against; `None` for a KRM function.
    pub fn contract_version(&self) -> Option<&str> {
        match &self.inner {
            Inner::Component(p) => p.contract_version(),
            Inner::Krm(..) => None,
        }
    }

    /// What the plugin says about itself; a KRM function says nothing, so
    /// its name stands for it.
    pub fn info(&self, root: &Path, limits: Limits) -> Result<PluginInfo, CallError> {
        match &self.inner {
            Inner::Component(p) => p.info(root, limits),
            Inner::Krm(_, name, _) => Ok(PluginInfo {
                name: name.clone(),
                version: String::new(),
                description: "a KRM function: reads a ResourceList on stdin, writes one on stdout"
                    .into(),
                config_schema: None,
            }),
        }
    }

    /// Runs the plugin once.
    pub fn render(&self, call: Call<'_>) -> Result<Output, CallError> {
        match &self.inner {
            Inner::Component(p) => p.render(call),
            Inner::Krm(f, ..) => f.render(&call),
        }
    }
}

/// The version of the `kiln:plugin` contract this kiln implements.
pub fn contract_version() -> &'static str {
    WIT.lines()
        .find_map(|l| l.trim().strip_prefix("package kiln:plugin@"))
        .and_then(|rest| rest.strip_suffix(';'))
        .expect("wit/plugin.wit declares `package kiln:plugin@VERSION;`")
}

/// Whether `wasm` is a core module (not a component): the binary format's
/// version 1 after the magic number.
fn is_core_module(wasm: &[u8]) -> bool {
    wasm.get(..8) == Some(b"\0asm\x01\0\0\0")
}

/// What a component's imports and exports say it is.
enum World {
    /// It uses `kiln:plugin` names, the first with this version (if any).
    Plugin(Option<String>),
    /// It exports `wasi:cli/run` and nothing of `kiln:plugin`.
    Command,
    /// Neither; linking it as a plugin says what is missing.
    Other,
}

fn world_of(engine: &Engine, component: &Component) -> World {
    let ty = component.component_type();
    let imports: Vec<String> = ty.imports(engine).map(|(n, _)| n.to_owned()).collect();
    let exports: Vec<String> = ty.exports(engine).map(|(n, _)| n.to_owned()).collect();
    let all = || imports.iter().chain(&exports);
    if let Some(name) = all().find(|n| n.starts_with("kiln:plugin/")) {
        return World::Plugin(name.split_once('@').map(|(_, v)| v.to_owned()));
    }
    if exports.iter().any(|n| n == "render" || n == "info") {
        return World::Plugin(None);
    }
    if exports.iter().any(|n| n.starts_with("wasi:cli/run@")) {
        return World::Command;
    }
    World::Other
}

/// Refuses a component built for a contract this kiln does not implement:
/// another major version, or a newer minor version of ours.
fn check_contract(name: &str, found: &str) -> Result<(), LoadError> {
    let ours = contract_version();
    let parse = |v: &str| -> Option<(u64, u64)> {
        let mut parts = v.split(['.', '-', '+']);
        Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
    };
    let (our_major, our_minor) = parse(ours).expect("the contract version is semver");
    let compatible =
        parse(found).is_some_and(|(major, minor)| major == our_major && minor <= our_minor);
    if compatible {
        return Ok(());
    }
    Err(LoadError::Contract {
        name: name.to_owned(),
        found: found.to_owned(),
        supported: ours.to_owned(),
    })
}

/// The key of a core module's compiled form: its digest, kept apart from
/// the keys of components.
fn module_digest(digest: blake3::Hash) -> blake3::Hash {
    let mut hasher = blake3::Hasher::new_derive_key("kiln KRM function as a wasip1 core module");
    hasher.update(digest.as_bytes());
    hasher.finalize()
}

/// Compiles (or reads from `cache`) and pre-instantiates a plugin of
/// either kind.
pub(super) fn load(
    engine: &Engine,
    cache: Option<&CompiledCache>,
    name: &str,
    wasm: &[u8],
    digest: blake3::Hash,
) -> Result<Loaded, LoadError> {
    let krm = |function| {
        Ok(Loaded {
            inner: Inner::Krm(function, name.to_owned(), digest),
        })
    };
    if is_core_module(wasm) {
        let module = compile::module(engine, cache, name, wasm, module_digest(digest))?;
        return krm(krm::Function::module(engine, name, &module)?);
    }
    let component = compile::component(engine, cache, name, wasm, digest)?;
    match world_of(engine, &component) {
        World::Command => krm(krm::Function::command(engine, name, &component)?),
        World::Plugin(version) => {
            if let Some(version) = version {
                check_contract(name, &version)?;
            }
            Ok(Loaded {
                inner: Inner::Component(plugin::Loaded::new(engine, name, digest, &component)?),
            })
        }
        World::Other => Ok(Loaded {
            inner: Inner::Component(plugin::Loaded::new(engine, name, digest, &component)?),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contract_version_comes_from_the_wit_file() {
        let v = contract_version();
        assert!(WIT.contains(&format!("package kiln:plugin@{v};")), "{v}");
        assert!(v.split('.').count() == 3, "{v}");
    }

    #[test]
    fn another_major_or_a_newer_minor_is_refused() {
        let ours = contract_version();
        let (major, minor) = {
            let mut p = ours.split('.').map(|n| n.parse::<u64>().expect("number"));
            (p.next().expect("major"), p.next().expect("minor"))
        };
        assert!(check_contract("p", ours).is_ok());
        assert!(check_contract("p", &format!("{major}.{minor}.99")).is_ok());
        for other in [
            format!("{}.0.0", major + 1),
            format!("{major}.{}.0", minor + 1),
            "banana".to_owned(),
        ] {
            let err = check_contract("p.wasm", &other).expect_err(&other);
            let text = err.to_string();
            assert!(
                text.contains(&format!("kiln:plugin@{other}"))
                    && text.contains(&format!("kiln:plugin@{ours}")),
                "{text}"
            );
        }
    }

    /// A component built for `version` of the contract: the world of
    /// `wit/plugin.wit` under that version, with wit-component's stand-in
    /// core module (what wit-bindgen's output looks like from outside).
    fn plugin_built_for(version: &str) -> Vec<u8> {
        let wit = WIT.replace(
            &format!("kiln:plugin@{}", contract_version()),
            &format!("kiln:plugin@{version}"),
        );
        let mut resolve = wit_parser::Resolve::default();
        let package = resolve
            .push_str("plugin.wit", &wit)
            .expect("the WIT parses");
        let world = resolve
            .select_world(&[package], Some("plugin"))
            .expect("world `plugin`");
        let mut module = wit_component::dummy_module(
            &resolve,
            world,
            wit_parser::ManglingAndAbi::Legacy(wit_parser::LiftLowerAbi::Sync),
        );
        wit_component::embed_component_metadata(
            &mut module,
            &resolve,
            world,
            wit_component::StringEncoding::UTF8,
        )
        .expect("metadata");
        wit_component::ComponentEncoder::default()
            .module(&module)
            .expect("a module")
            .encode()
            .expect("a component")
    }

    #[test]
    fn a_component_built_for_another_major_contract_is_refused_naming_both() {
        let runtime = super::super::Runtime::new(None).expect("runtime");
        let ours = contract_version();
        // The control: the same build for our version loads as a plugin.
        let same = runtime
            .load("same.wasm", &plugin_built_for(ours))
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(same.kind(), Kind::Component);
        assert_eq!(same.contract_version(), Some(ours));
        for other in ["1.0.0", "2.3.0"] {
            let err = runtime
                .load("other.wasm", &plugin_built_for(other))
                .err()
                .expect("refused");
            assert!(
                matches!(&err, LoadError::Contract { found, supported, .. } if found == other && supported == ours),
                "{err:?}"
            );
            let text = err.to_string();
            assert!(
                text.contains(&format!("kiln:plugin@{other}"))
                    && text.contains(&format!("kiln:plugin@{ours}"))
                    && text.contains("other.wasm"),
                "{text}"
            );
        }
    }

    #[test]
    fn core_modules_are_told_from_components() {
        assert!(is_core_module(b"\0asm\x01\0\0\0rest"));
        assert!(!is_core_module(b"\0asm\x0d\0\x01\0rest"));
        assert!(!is_core_module(b"\0asm"));
    }
}
