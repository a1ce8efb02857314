//! A plugin that misbehaves on purpose, written against the raw WIT bindings
//! (no SDK), so the sandbox tests can return what the SDK never would.
//!
//! Config `mode` picks the misbehaviour; `arg` parameterises it. `info()`
//! sleeps forever, for `kiln plugin inspect` to stop.
#![allow(
    unsafe_code,
    missing_docs,
    unreachable_pub,
    clippy::pedantic,
    reason = "test plugin with generated bindings"
)]

wit_bindgen::generate!({ path: "../../../wit", world: "plugin", generate_all });

use kiln::plugin::host;
use kiln::plugin::types::{Diagnostic, ErrorKind, Severity};

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
        std::thread::sleep(std::time::Duration::MAX);
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
            "wide" => {
                // One resource of `arg` tiny values, written as text: a few
                // bytes each, many times that once parsed.
                let n = arg.parse::<usize>().unwrap_or(1_000_000);
                let mut doc = String::with_capacity(n * 2 + 100);
                doc.push_str(
                    r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"wide"},"x":["#,
                );
                for i in 0..n {
                    doc.push_str(if i == 0 { "0" } else { ",0" });
                }
                doc.push_str("]}");
                ok(vec![doc])
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
            // Every way std has to look at each `|`-separated path: what
            // it reads, lists, stats and where a link points, or the error.
            "probe" => ok(vec![config_map(serde_json::Value::Object(
                arg.split('|')
                    .map(|path| (path.to_owned(), serde_json::Value::String(probe(path))))
                    .collect(),
            ))]),
            // Every path under `arg`, symlinks to directories followed (a
            // few levels deep), each with the start of what it holds.
            "walk" => {
                let mut found = Vec::new();
                walk(std::path::Path::new(&arg), 0, &mut found);
                ok(vec![config_map(
                    serde_json::json!({ "found": found.join("\n") }),
                )])
            }
            // Opens `/src/app/all.yaml` `arg` times and keeps every handle.
            "hold-files" => {
                let mut held = Vec::new();
                for _ in 0..arg.parse::<usize>().unwrap_or(100_000) {
                    match std::fs::File::open("/src/app/all.yaml") {
                        Ok(f) => held.push(f),
                        Err(e) => {
                            return Err(fail(format!("open {} failed: {e}", held.len())));
                        }
                    }
                }
                ok(vec![config_map(
                    serde_json::json!({ "held": held.len().to_string() }),
                )])
            }
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
            "sleep" => {
                match arg.as_str() {
                    // `subscribe-duration(u64::MAX)`, then a blocking poll.
                    "max" => std::thread::sleep(std::time::Duration::MAX),
                    // `subscribe-instant` far in the future.
                    "instant" => sleep_until_monotonic(i64::MAX / 4),
                    ms => std::thread::sleep(std::time::Duration::from_millis(
                        ms.parse().unwrap_or(3_600_000),
                    )),
                }
                ok(req.resources)
            }
            "many-resources" => ok((0..arg.parse::<usize>().unwrap_or(1_000_000))
                .map(|_| "{}".to_owned())
                .collect()),
            "warnings" => Ok(Response {
                resources: req.resources,
                diagnostics: (0..arg.parse::<usize>().unwrap_or(300_000))
                    .map(|i| Diagnostic {
                        severity: Severity::Warning,
                        message: format!("warning number {i} from a plugin that will not stop"),
                        resource_ref: None,
                        field_path: None,
                        file: None,
                        tags: Vec::new(),
                    })
                    .collect(),
            }),
            "log-flood" => {
                let line = "y".repeat(8 << 10);
                for _ in 0..arg.parse::<usize>().unwrap_or(10_000) {
                    host::log(host::Level::Warn, &line);
                }
                ok(req.resources)
            }
            "forge-log" => {
                host::log(host::Level::Warn, &arg);
                ok(req.resources)
            }
            "forge-error" => Err(Error {
                kind: ErrorKind::BadInput,
                message: arg.clone(),
                file: None,
                hint: Some(arg),
            }),
            "forge-warning" => Ok(Response {
                resources: req.resources,
                diagnostics: vec![Diagnostic {
                    severity: Severity::Warning,
                    message: arg,
                    resource_ref: None,
                    field_path: None,
                    file: None,
                    tags: Vec::new(),
                }],
            }),
            "rendered-text" => {
                let mut out = req.resources;
                out.insert(
                    0,
                    serde_json::json!({"apiVersion": "kiln.dev/v1alpha1", "kind": "RenderedText", "metadata": {"name": "helm"}, "text": arg}).to_string(),
                );
                ok(out)
            }
            other => Err(fail(format!("unknown mode `{other}`"))),
        }
    }
}

fn probe(path: &str) -> String {
    let read = match std::fs::read(path) {
        Ok(b) => format!("read={}", String::from_utf8_lossy(&b)),
        Err(e) => format!("read-error={:?}", e.kind()),
    };
    let list = match std::fs::read_dir(path) {
        Ok(rd) => format!(
            "list={}",
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(",")
        ),
        Err(e) => format!("list-error={:?}", e.kind()),
    };
    let stat = match std::fs::metadata(path) {
        Ok(m) => format!("stat=len:{},dir:{}", m.len(), m.is_dir()),
        Err(e) => format!("stat-error={:?}", e.kind()),
    };
    let link = match std::fs::read_link(path) {
        Ok(t) => format!("link={}", t.display()),
        Err(e) => format!("link-error={:?}", e.kind()),
    };
    format!("{read} {list} {stat} {link}")
}

fn walk(dir: &std::path::Path, depth: usize, found: &mut Vec<String>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in rd.filter_map(|e| e.ok()) {
        let path = entry.path();
        let text = std::fs::read(&path)
            .map(|b| String::from_utf8_lossy(&b[..b.len().min(200)]).into_owned())
            .unwrap_or_default();
        found.push(format!("{} {text}", path.display()));
        if depth < 4 && std::fs::metadata(&path).is_ok_and(|m| m.is_dir()) {
            walk(&path, depth + 1, found);
        }
    }
}

/// Sleeps until the monotonic clock reads `secs` seconds, through
/// wasi-libc's `clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME)`, which asks
/// WASI for `subscribe-instant`.
fn sleep_until_monotonic(secs: i64) {
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: core::ffi::c_long,
    }
    #[cfg(target_arch = "wasm32")]
    unsafe extern "C" {
        static _CLOCK_MONOTONIC: u8;
        fn clock_nanosleep(
            clock: *const u8,
            flags: core::ffi::c_int,
            request: *const Timespec,
            remain: *mut Timespec,
        ) -> core::ffi::c_int;
    }
    let request = Timespec {
        tv_sec: secs,
        tv_nsec: 0,
    };
    #[cfg(target_arch = "wasm32")]
    // SAFETY: wasi-libc's own clock and a valid request; `remain` may be
    // null with TIMER_ABSTIME.
    unsafe {
        clock_nanosleep(
            &raw const _CLOCK_MONOTONIC,
            1,
            &request,
            core::ptr::null_mut(),
        );
    }
    #[cfg(not(target_arch = "wasm32"))]
    std::thread::sleep(std::time::Duration::from_secs(
        request.tv_sec.unsigned_abs(),
    ));
}

/// A WebAssembly `unreachable` trap.
fn trap() -> ! {
    #[cfg(target_arch = "wasm32")]
    core::arch::wasm32::unreachable();
    #[cfg(not(target_arch = "wasm32"))]
    std::process::abort()
}

export!(Hostile);
