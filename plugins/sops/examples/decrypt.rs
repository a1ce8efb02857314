//! `decrypt FILE [--key-file PATH]...`: prints the decrypted file like `sops --decrypt`.

use std::io::Write as _;
use std::process::ExitCode;

fn run() -> Result<Vec<u8>, String> {
    let mut args = std::env::args().skip(1);
    let mut file = None;
    let mut key_files = Vec::new();
    let mut format = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--key-file" => key_files.push(args.next().ok_or("--key-file needs a path")?),
            "--format" => format = Some(args.next().ok_or("--format needs a name")?),
            _ if file.is_none() => file = Some(arg),
            _ => return Err(format!("unexpected argument `{arg}`")),
        }
    }
    let file = file.ok_or("usage: decrypt FILE [--key-file PATH]... [--format NAME]")?;
    let mut texts = Vec::new();
    for k in &key_files {
        texts.push(std::fs::read(k).map_err(|e| format!("cannot read key file {k}: {e}"))?);
    }
    if let Ok(k) = std::env::var("SOPS_AGE_KEY_FILE") {
        texts.push(std::fs::read(&k).map_err(|e| format!("cannot read key file {k}: {e}"))?);
    }
    let refs: Vec<&[u8]> = texts.iter().map(Vec::as_slice).collect();
    let keys = kiln_plugin_sops::Keys::from_texts(&refs).map_err(|e| e.to_string())?;
    let format = match format {
        Some(f) => {
            Some(kiln_plugin_sops::Format::from_name(&f).ok_or(format!("unknown format `{f}`"))?)
        }
        None => None,
    };
    let bytes = std::fs::read(&file).map_err(|e| format!("cannot read {file}: {e}"))?;
    kiln_plugin_sops::decrypt_file(&file, &bytes, format, &keys).map_err(|e| format!("{file}: {e}"))
}

fn main() -> ExitCode {
    match run() {
        Ok(out) => {
            if std::io::stdout().write_all(&out).is_err() {
                return ExitCode::from(2);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e}");
            ExitCode::from(2)
        }
    }
}
