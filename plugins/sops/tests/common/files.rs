//! Encrypted files of each format for the file-mode tests, in a temporary source tree.

use std::fmt::Write as _;
use std::path::Path;

use base64::Engine as _;

use super::{LASTMODIFIED, Sealer, age_keygen, age_wrap, indent};

pub(crate) struct Fixture {
    pub(crate) sealer: Sealer,
    pub(crate) identity: String,
    pub(crate) recipient: String,
    pub(crate) armored: String,
}

pub(crate) fn fixture(seed: u8) -> Fixture {
    let sealer = Sealer::new(seed);
    let (identity, recipient) = age_keygen();
    let armored = age_wrap(&sealer.data_key, &recipient);
    Fixture {
        sealer,
        identity,
        recipient,
        armored,
    }
}

pub(crate) fn data(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

pub(crate) fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("a file has a parent")).expect("mkdir");
    std::fs::write(path, bytes).expect("write");
}

/// A dotenv file as sops writes it, for the fixture's age recipient.
pub(crate) fn dotenv_file(f: &mut Fixture, pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (k, v) in pairs {
        let enc = f.sealer.enc(v, &format!("{k}:"), "str");
        writeln!(out, "{k}={enc}").expect("write to a string");
    }
    let values: Vec<&str> = pairs.iter().map(|(_, v)| *v).collect();
    let mac = f.sealer.mac(&values, false);
    write!(
        out,
        "sops_age__list_0__map_enc={}\nsops_age__list_0__map_recipient={}\nsops_lastmodified={LASTMODIFIED}\nsops_mac={mac}\nsops_version=3.9.0\n",
        f.armored.replace('\n', "\\n"),
        f.recipient
    )
    .expect("write to a string");
    out
}

/// A YAML file as sops writes it, for the fixture's age recipient.
pub(crate) fn yaml_file(f: &mut Fixture) -> String {
    let user = f.sealer.enc("admin", "db:user:", "str");
    let port = f.sealer.enc("5432", "db:port:", "int");
    let mac = f.sealer.mac(&["admin", "5432"], false);
    format!(
        "db:\n    user: {user}\n    port: {port}\nsops:\n    age:\n        - recipient: {}\n          enc: |\n{}    lastmodified: \"{LASTMODIFIED}\"\n    mac: {mac}\n    version: 3.9.0\n",
        f.recipient,
        indent(&f.armored, 12)
    )
}

pub(crate) fn plaintext(doc: &serde_json::Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(doc["data"].as_str().expect("data is base64 text"))
        .expect("valid base64")
}
