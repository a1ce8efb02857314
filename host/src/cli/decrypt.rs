//! `kiln decrypt`.

use std::path::PathBuf;

use anyhow::Context as _;
use serde_json::json;

use super::{ExitStatus, GlobalArgs, Hint};
use crate::pipeline::{self, Pipeline, PluginRef, RenderOptions, RunWhen, Step};
use crate::runtime::{CompiledCache, Limits, Runtime};
use crate::service::keys::{AGE_SECRET, PGP_SECRET, sops_secrets};

/// Decrypt a SOPS file (YAML, JSON, dotenv, INI or binary) and print it in
/// its own format, through the sandboxed `sops` plugin.
#[derive(Debug, clap::Args)]
pub struct DecryptCommand {
    /// The encrypted file.
    pub file: PathBuf,
    /// An age identity file or an armored `OpenPGP` secret key (repeatable).
    #[arg(long, value_name = "PATH")]
    pub key_file: Vec<PathBuf>,
    /// The file's format (yaml, json, dotenv, ini, binary); default: from its name, as sops.
    #[arg(long)]
    pub format: Option<String>,
}

impl DecryptCommand {
    /// Runs the command.
    pub fn execute(self, _global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        let file = self.file.canonicalize().map_err(|e| {
            Hint::error(
                format!("cannot read {}: {e}", self.file.display()),
                "pass the path of a SOPS-encrypted file",
            )
        })?;
        let dir = file.parent().context("a file has a parent directory")?;
        let app = crate::source::local_app(dir, Some(dir))?;
        let name = file
            .file_name()
            .context("a file has a name")?
            .to_string_lossy()
            .into_owned();
        let mut config = json!({ "file": name });
        if let Some(format) = &self.format {
            config["format"] = format.clone().into();
        }
        let pipeline = Pipeline {
            steps: vec![Step {
                name: "decrypt".into(),
                plugin: PluginRef::Builtin("sops".into()),
                config,
                secrets: vec![AGE_SECRET.into(), PGP_SECRET.into()],
                limits: Limits::default(),
                when: RunWhen::Always,
            }],
            detected: None,
            name: Some(name),
            namespace: None,
        };
        let opts = RenderOptions {
            kube_version: pipeline::DEFAULT_KUBE_VERSION.into(),
            secrets: sops_secrets(&self.key_file)?,
            keep_decrypted_files: true,
            ..RenderOptions::default()
        };
        let runtime = Runtime::new(Some(CompiledCache::new(&crate::env::cache_dir())))?;
        let rendered = pipeline::render(&app, &pipeline, &opts, &runtime)?;
        let content = rendered
            .resources
            .iter()
            .find(|r| r["kind"] == pipeline::DECRYPTED_FILE_KIND)
            .and_then(|r| r["content"].as_str())
            .context("the sops plugin returned no DecryptedFile")?;
        let bytes = base64_decode(content).context("the sops plugin returned invalid base64")?;
        let mut out = std::io::stdout().lock();
        match std::io::Write::write_all(&mut out, &bytes)
            .and_then(|()| std::io::Write::flush(&mut out))
        {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e.into()),
            _ => {}
        }
        Ok(ExitStatus::Success)
    }
}

/// Standard base64 with padding.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        Some(u32::from(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        }))
    }
    let clean: Vec<u8> = text.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    let body = clean
        .strip_suffix(b"==")
        .or_else(|| clean.strip_suffix(b"="))
        .unwrap_or(&clean);
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    for chunk in body.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= value(c)? << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_round_trips_every_padding() {
        assert_eq!(super::base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(super::base64_decode("aGVsbG8h").unwrap(), b"hello!");
        assert_eq!(super::base64_decode("aGk=\n").unwrap(), b"hi");
        assert_eq!(super::base64_decode("YQ==").unwrap(), b"a");
        assert!(super::base64_decode("a*==").is_none());
    }
}
