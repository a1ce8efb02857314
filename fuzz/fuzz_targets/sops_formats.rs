//! Every SOPS file format parser (YAML, JSON, dotenv, INI, binary): any
//! bytes either parse or fail with an error; with no keys, decryption must
//! then fail cleanly too. The first byte picks the input and output formats.
#![no_main]

use kiln_plugin_sops::{Format, Keys, decrypt_convert};
use libfuzzer_sys::fuzz_target;

const FORMATS: [&str; 5] = ["yaml", "json", "dotenv", "ini", "binary"];

fuzz_target!(|input: &[u8]| {
    let Some((&pick, bytes)) = input.split_first() else {
        return;
    };
    let format = |i: u8| Format::from_name(FORMATS[usize::from(i) % FORMATS.len()]);
    let (Some(input), Some(output)) = (format(pick & 0x0f), format(pick >> 4)) else {
        return;
    };
    let _ = decrypt_convert(bytes, input, output, &Keys::new());
    if let Ok(doc) = serde_json::from_slice::<serde_json::Value>(bytes) {
        let _ = kiln_plugin_sops::is_encrypted(&doc);
        let _ = kiln_plugin_sops::resource_recipients(&doc);
        let _ = kiln_plugin_sops::decrypt_resource(&doc, &Keys::new());
    }
});
