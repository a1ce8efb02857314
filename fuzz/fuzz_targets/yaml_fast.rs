//! The fast YAML reader of `kiln-resource` against the full parser: wherever
//! the fast reader takes a text, the full parser reads the same documents
//! (and does not refuse it).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let Some(fast) = kiln_resource::yaml::fast_stream(text) else {
        return;
    };
    let full = kiln_resource::yaml::full_stream(text, "fuzz.yaml")
        .unwrap_or_else(|e| panic!("the fast reader took a text the full parser refuses: {e}"));
    assert_eq!(fast, full, "the two readers differ");
});
