//! The Go template engine: parse any text, execute it on JSON data; an error
//! is fine, a panic or a hang is not. The input is `TEMPLATE\0DATA_JSON`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &str| {
    let (text, data) = input.split_once('\0').unwrap_or((input, "{}"));
    let data: serde_json::Value = serde_json::from_str(data).unwrap_or_default();
    let mut templates = kiln_gotmpl::Templates::new();
    if templates.add("fuzz", text).is_err() {
        return;
    }
    let data = kiln_gotmpl::Value::from(data);
    let _ = templates.execute("fuzz", &data);
});
