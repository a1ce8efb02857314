//! The fast YAML reader of `kiln-resource` against the full parser: wherever
//! the fast reader takes a text (as a stream or as one document), the full
//! parser reads the same documents (and does not refuse it).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Some(fast) = kiln_resource::yaml::fast_stream(text) {
        let full = kiln_resource::yaml::full_stream(text, "fuzz.yaml")
            .unwrap_or_else(|e| panic!("the fast reader took a stream the full parser refuses: {e}"));
        assert_eq!(fast, full, "the two readers differ on the stream");
    }
    if let Some(fast) = kiln_resource::yaml::fast_one(text) {
        let full = kiln_resource::yaml::full_one(text, "fuzz.yaml")
            .unwrap_or_else(|e| panic!("the fast reader took a document the full parser refuses: {e}"));
        assert_eq!(fast, full, "the two readers differ on the document");
    }
});
