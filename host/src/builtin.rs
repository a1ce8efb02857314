//! Plugins embedded in the binary, built for `wasm32-wasip2` by `build.rs`.

include!(concat!(env!("OUT_DIR"), "/builtins.rs"));

/// The wasm bytes of built-in plugin `name`.
pub fn get(name: &str) -> Option<&'static [u8]> {
    BUILTINS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, bytes)| *bytes)
}

/// The blake3 digest of built-in plugin `name`'s wasm, computed at build time.
pub fn digest(name: &str) -> Option<blake3::Hash> {
    DIGESTS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, d)| blake3::Hash::from_bytes(*d))
}

/// Names of the built-in plugins.
pub fn names() -> Vec<&'static str> {
    BUILTINS.iter().map(|(n, _)| *n).collect()
}
