//! Plugins embedded in the binary, built for `wasm32-wasip2` by `build.rs`.

include!(concat!(env!("OUT_DIR"), "/builtins.rs"));

/// The wasm bytes of built-in plugin `name`.
pub fn get(name: &str) -> Option<&'static [u8]> {
    BUILTINS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, bytes)| *bytes)
}

/// Names of the built-in plugins.
pub fn names() -> Vec<&'static str> {
    BUILTINS.iter().map(|(n, _)| *n).collect()
}
