//! Builds the built-in plugins (and the plugins the tests use) for
//! `wasm32-wasip2` with a nested cargo, then generates the table that embeds
//! the built-in ones in the binary.
//!
//! The nested build uses its own target directory (`<target>/wasm-plugins`)
//! so it never waits on the outer build's lock, and it is incremental.

use std::env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `(name in kiln.yaml, cargo package)` of the built-in plugins.
const BUILTINS: &[(&str, &str)] = &[
    ("directory", "kiln-plugin-directory"),
    ("overlay", "kiln-plugin-overlay"),
    ("helm", "kiln-plugin-helm"),
    ("sops", "kiln-plugin-sops"),
];

/// Packages built only for the tests: `(env var, cargo package)`.
const TEST_PLUGINS: &[(&str, &str)] = &[
    ("KILN_TEST_PLUGIN_HOSTILE", "kiln-test-plugin-hostile"),
    ("KILN_TEST_PLUGIN_HELLO", "hello-plugin"),
];

const TARGET: &str = "wasm32-wasip2";
const PROFILE: &str = "plugin";

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let workspace = manifest_dir
        .parent()
        .expect("host/ lives in the workspace")
        .to_path_buf();
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo"));
    let target_dir = out_dir
        .ancestors()
        .nth(4)
        .expect("OUT_DIR is <target>/<profile>/build/<pkg>/out")
        .join("wasm-plugins");

    for dir in [
        "wit",
        "sdk",
        "crates/resource",
        "crates/gotmpl",
        "plugins",
        "tests/plugins",
        "examples/hello-plugin",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", workspace.join(dir).display());
    }

    let mut cmd = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(&workspace)
        .args(["build", "--target", TARGET, "--profile", PROFILE])
        .arg("--target-dir")
        .arg(&target_dir);
    for (_, pkg) in BUILTINS.iter().chain(TEST_PLUGINS) {
        cmd.args(["-p", pkg]);
    }
    for var in [
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd.status().expect("cargo can be run from a build script");
    assert!(
        status.success(),
        "building the plugins for {TARGET} failed; is the target installed? (`rustup target add {TARGET}`)"
    );

    let artifacts = target_dir.join(TARGET).join(PROFILE);
    let wasm = |pkg: &str| artifacts.join(format!("{}.wasm", pkg.replace('-', "_")));
    let mut table = String::from(
        "/// `(name, wasm bytes)` of every built-in plugin.\npub static BUILTINS: &[(&str, &[u8])] = &[\n",
    );
    for (name, pkg) in BUILTINS {
        let path = wasm(pkg);
        assert!(path.exists(), "{} was not built", path.display());
        writeln!(
            table,
            "    ({name:?}, include_bytes!({:?})),",
            path.display().to_string()
        )
        .expect("writing to a String");
    }
    table.push_str("];\n");
    // Hashed here, so that a render never hashes megabytes of wasm to find
    // a cache entry.
    let mut all = blake3::Hasher::new();
    table.push_str(
        "/// `(name, blake3 digest of the wasm)` of every built-in plugin.\npub static DIGESTS: &[(&str, [u8; 32])] = &[\n",
    );
    for (name, pkg) in BUILTINS {
        let bytes = std::fs::read(wasm(pkg)).expect("built above");
        let digest = blake3::hash(&bytes);
        all.update(name.as_bytes());
        all.update(digest.as_bytes());
        writeln!(table, "    ({name:?}, {:?}),", digest.as_bytes()).expect("writing to a String");
    }
    table.push_str("];\n");
    writeln!(
        table,
        "/// A digest of every built-in plugin together.\npub const SET_DIGEST: &str = {:?};",
        all.finalize().to_hex().as_str()
    )
    .expect("writing to a String");
    write_if_changed(&out_dir.join("builtins.rs"), &table);
    for (var, pkg) in TEST_PLUGINS {
        println!("cargo:rustc-env={var}={}", wasm(pkg).display());
    }
}

fn write_if_changed(path: &Path, text: &str) {
    if std::fs::read_to_string(path).ok().as_deref() != Some(text) {
        std::fs::write(path, text).expect("OUT_DIR is writable");
    }
}
