//! `kiln decrypt`.

use std::path::PathBuf;

use super::{ExitStatus, GlobalArgs};
use crate::service::keys::sops_secrets;
use crate::service::{CacheChoice, RenderService, ServiceConfig};

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
    pub fn execute(self, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        let mut config = ServiceConfig::new(crate::env::cache_dir());
        config.cache = CacheChoice::Off;
        config.offline = global.offline;
        let service = RenderService::new(config)?;
        let bytes = service.decrypt_file(
            &self.file,
            self.format.as_deref(),
            sops_secrets(&self.key_file)?,
        )?;
        let mut out = std::io::stdout().lock();
        match std::io::Write::write_all(&mut out, &bytes)
            .and_then(|()| std::io::Write::flush(&mut out))
        {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
            _ => Ok(ExitStatus::Success),
        }
    }
}
