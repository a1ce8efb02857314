//! The YAML codec of `kiln-resource`: any text either fails to parse with an
//! error, or parses to documents that print and parse back to the same values.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let Ok(docs) = kiln_resource::yaml::parse_stream(text, "fuzz.yaml") else {
        return;
    };
    let printed = kiln_resource::yaml::to_stream(&docs);
    let again = kiln_resource::yaml::parse_stream(&printed, "printed.yaml")
        .unwrap_or_else(|e| panic!("printed stream does not parse: {e}\n{printed}"));
    let kept: Vec<_> = docs.into_iter().filter(|d| !d.is_null()).collect();
    let again: Vec<_> = again.into_iter().filter(|d| !d.is_null()).collect();
    assert_eq!(kept, again, "round trip changed the documents:\n{printed}");
});
