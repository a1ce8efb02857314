//! `kiln.yaml` parsing: any text either gives a pipeline or an error naming
//! the file. The host's own parser module is compiled in here as it is, so
//! the target does not build the whole host (wasmtime, gix, kube).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../host/src/model/file.rs"]
#[allow(dead_code, unreachable_pub)]
mod file;

fuzz_target!(|text: &str| {
    if let Err(e) = file::parse(text, "kiln.yaml") {
        assert!(
            e.to_string().contains("kiln.yaml"),
            "error without the file: {e}"
        );
    }
});
