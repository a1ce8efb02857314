//! A plugin that misbehaves on purpose, written against the raw WIT bindings
//! (no SDK), so the sandbox tests can return what the SDK never would.
//!
//! Config `mode` picks the misbehaviour; `arg` parameterises it.
#![allow(
    unsafe_code,
    missing_docs,
    unreachable_pub,
    clippy::pedantic,
    reason = "test plugin with generated bindings"
)]

wit_bindgen::generate!({ path: "../../../wit", world: "plugin", generate_all });

use kiln::plugin::host;
use kiln::plugin::types::ErrorKind;

struct Hostile;

fn fail(message: String) -> Error {
    Error {
        kind: ErrorKind::PluginFailure,
        message,
        file: None,
        hint: None,
    }
}

fn config_map(data: serde_json::Value) -> String {
    serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "out"}, "data": data}).to_string()
}

impl Guest for Hostile {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "hostile".into(),
            version: "0.0.0".into(),
            description: "misbehaves".into(),
            config_schema: None,
        }
    }

    fn render(req: Request) -> Result<Response, Error> {
        let config: serde_json::Value =
            serde_json::from_str(&req.config).map_err(|e| fail(e.to_string()))?;
        let mode = config["mode"].as_str().unwrap_or_default().to_owned();
        let arg = config["arg"].as_str().unwrap_or_default().to_owned();
        let ok = |resources: Vec<String>| {
            Ok(Response {
                resources,
                diagnostics: Vec::new(),
            })
        };
        match mode.as_str() {
            "trap" => trap(),
            "panic" => panic!("hostile plugin panics on purpose"),
            "loop" => {
                let mut n = 0u64;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "alloc" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 16 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "big-output" => {
                let chunk = "x".repeat(1 << 20);
                ok((0..arg.parse::<usize>().unwrap_or(8))
                    .map(|_| config_map(serde_json::json!({ "x": chunk })))
                    .collect())
            }
            "invalid-json" => ok(vec!["{not json".into()]),
            "non-object" => ok(vec!["[1, 2, 3]".into()]),
            "read" => match std::fs::read_to_string(&arg) {
                Ok(text) => ok(vec![config_map(serde_json::json!({ "content": text }))]),
                Err(e) => Err(fail(format!("cannot read {arg}: {e}"))),
            },
            "list" => match std::fs::read_dir(&arg) {
                Ok(rd) => ok(vec![config_map(serde_json::json!({
                    "entries": rd.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect::<Vec<_>>().join(",")
                }))]),
                Err(e) => Err(fail(format!("cannot list {arg}: {e}"))),
            },
            "env" => {
                let vars: Vec<String> = std::env::vars().map(|(k, v)| format!("{k}={v}")).collect();
                let args: Vec<String> = std::env::args().collect();
                if vars.is_empty() && args.is_empty() {
                    Err(fail(
                        "no environment variables or arguments are visible".into(),
                    ))
                } else {
                    ok(vec![config_map(
                        serde_json::json!({ "vars": vars.join(";"), "args": args.join(";") }),
                    )])
                }
            }
            "socket" => match std::net::TcpStream::connect(arg.as_str()) {
                Ok(_) => ok(vec![config_map(serde_json::json!({ "connected": arg }))]),
                Err(e) => Err(fail(format!("cannot connect to {arg}: {e}"))),
            },
            "secret" => {
                let value = host::secret(&arg);
                ok(vec![config_map(
                    serde_json::json!({ "granted": host::granted_secrets().join(","), "len": value.map_or(0, |v| v.len()).to_string() }),
                )])
            }
            "entropy" => {
                let mut buf = [0u8; 16];
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(u64::MAX);
                let random = std::collections::hash_map::RandomState::new();
                let hashed = std::hash::BuildHasher::hash_one(&random, 1u8);
                for (i, b) in buf.iter_mut().enumerate() {
                    *b = (hashed >> (i % 8 * 8)) as u8;
                }
                ok(vec![config_map(
                    serde_json::json!({ "now": now.to_string(), "random": format!("{buf:02x?}") }),
                )])
            }
            "log" => {
                host::log(host::Level::Warn, &format!("hostile says {arg}"));
                ok(req.resources)
            }
            "echo" => ok(req.resources),
            other => Err(fail(format!("unknown mode `{other}`"))),
        }
    }
}

/// A WebAssembly `unreachable` trap.
fn trap() -> ! {
    #[cfg(target_arch = "wasm32")]
    core::arch::wasm32::unreachable();
    #[cfg(not(target_arch = "wasm32"))]
    std::process::abort()
}

export!(Hostile);
