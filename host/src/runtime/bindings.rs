//! Host bindings generated from `wit/plugin.wit`.
#![allow(
    missing_docs,
    unreachable_pub,
    clippy::pedantic,
    reason = "generated code"
)]

wasmtime::component::bindgen!({
    path: "../wit",
    world: "plugin",
    imports: { default: trappable },
    // Calls run under a deadline that also holds while a plugin waits in
    // the host (see `plugin::bounded`).
    exports: { default: async },
});
