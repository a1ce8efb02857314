//! Semantic version constraints as charts use them (`semverCompare`,
//! `semver`): any constraint and version either compare or fail cleanly.
#![no_main]

use libfuzzer_sys::fuzz_target;

const TEMPLATE: &str = r#"{{ semverCompare .c .v }}|{{ (semver .v).Major }}"#;

fuzz_target!(|input: &str| {
    let (constraint, version) = input.split_once('\n').unwrap_or((input, "1.2.3"));
    let mut templates = kiln_gotmpl::Templates::new();
    templates
        .add("t", TEMPLATE)
        .expect("the fixed template parses");
    let data = serde_json::json!({ "c": constraint, "v": version });
    let _ = templates.execute("t", &kiln_gotmpl::Value::from(data));
});
