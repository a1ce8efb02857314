//! The kustomization loader and build: a kustomization and up to three
//! files beside it, written to a temp dir; the build either succeeds or
//! fails with an error. The input is files separated by `\0`: the first is
//! `kustomization.yaml`, the others `a.yaml`, `b.yaml`, `c.yaml`.
#![no_main]

use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 4] = ["kustomization.yaml", "a.yaml", "b.yaml", "c.yaml"];

fuzz_target!(|input: &[u8]| {
    let dir = tempfile::tempdir().expect("a temp dir");
    let app = dir.path().join("app");
    std::fs::create_dir(&app).expect("app dir");
    for (name, body) in NAMES.iter().zip(input.split(|b| *b == 0)) {
        std::fs::write(app.join(name), body).expect("a file");
    }
    let _ = kiln_plugin_overlay::build(dir.path(), &app);
});
