//! Command-line interface: argument parsing and printing only.

mod agent;
mod apply;
mod cache;
mod cmp;
mod decrypt;
mod diff;
mod plugin;
mod plugin_dev;
mod plugin_oci;
mod print;
mod progress;
mod render;
mod status;

use std::io::Write as _;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use crate::devkit::Lang;
pub use crate::service::{Hint, hint};
pub use agent::AgentCommand;
pub use apply::{ApplyCommand, ClusterArgs};
pub use cache::{CacheArgs, CacheCommand};
pub use cmp::CmpServerCommand;
pub use decrypt::DecryptCommand;
pub use diff::DiffCommand;
pub use plugin::PluginCommand;
pub use render::RenderCommand;
pub use status::StatusCommand;

/// Render `GitOps` config repositories into Kubernetes manifests through
/// sandboxed WebAssembly plugins.
#[derive(Debug, Parser)]
#[command(name = "kiln", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options of every subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct GlobalArgs {
    /// More log output (-v: debug, -vv: trace); `KILN_LOG` overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Less log output (-q: errors only, -qq: nothing).
    #[arg(short, long, action = clap::ArgAction::Count, global = true, conflicts_with = "verbose")]
    pub quiet: u8,
    /// When to use colour in messages.
    #[arg(long, value_enum, default_value_t = Color::Auto, global = true, env = "KILN_COLOR")]
    pub color: Color,
    /// Never show progress bars.
    #[arg(long, global = true, env = "KILN_NO_PROGRESS", value_parser = clap::builder::BoolishValueParser::new())]
    pub no_progress: bool,
    /// Never touch the network; use what is cached.
    #[arg(long, global = true, env = "KILN_OFFLINE", value_parser = clap::builder::BoolishValueParser::new())]
    pub offline: bool,
}

impl GlobalArgs {
    /// Whether runs of many apps may show a progress bar (on a terminal,
    /// and never with `--no-progress`, `-v` or `-q`).
    pub fn progress(&self) -> bool {
        !self.no_progress && self.verbose == 0 && self.quiet == 0
    }
}

/// When to colour messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Color {
    /// On a terminal, unless `NO_COLOR` is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render an app directory into manifests.
    Render(Box<RenderCommand>),
    /// Work with plugins.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Render apps and apply them: to the cluster, a directory or a git branch.
    Apply(Box<ApplyCommand>),
    /// Print what changed, per resource: between two revisions, or against the cluster.
    Diff(Box<DiffCommand>),
    /// Inspect or clean the render cache.
    #[command(subcommand)]
    Cache(CacheCommand),
    /// Decrypt a SOPS file and print it in its own format, like `sops --decrypt`.
    Decrypt(DecryptCommand),
    /// Reconcile a config repository's apps into the cluster (pull mode).
    Agent(Box<AgentCommand>),
    /// Print the apps the agent reconciles, from the cluster.
    Status(StatusCommand),
    /// Serve Argo CD's Config Management Plugin protocol on the plugins socket.
    CmpServer(Box<CmpServerCommand>),
}

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Done, and the answer is "yes" (or there was no question).
    Success,
    /// Done, and the answer is "no" (e.g. `diff` found changes).
    Failure,
    /// Something went wrong.
    Error,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        match status {
            ExitStatus::Success => Self::SUCCESS,
            ExitStatus::Failure => Self::from(1),
            ExitStatus::Error => Self::from(2),
        }
    }
}

impl Cli {
    /// Runs the command.
    pub fn execute(self) -> anyhow::Result<ExitStatus> {
        match self.command {
            Command::Render(cmd) => cmd.execute(&self.global),
            Command::Plugin(cmd) => cmd.execute(&self.global),
            Command::Apply(cmd) => cmd.execute(&self.global),
            Command::Diff(cmd) => cmd.execute(&self.global),
            Command::Cache(cmd) => cmd.execute(&self.global),
            Command::Decrypt(cmd) => cmd.execute(&self.global),
            Command::Agent(cmd) => cmd.execute(&self.global),
            Command::Status(cmd) => cmd.execute(&self.global),
            Command::CmpServer(cmd) => cmd.execute(&self.global),
        }
    }
}

/// Writes data to stdout; a closed pipe is not an error.
pub(crate) fn write_stdout(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_subcommand_has_consistent_arguments() {
        use clap::CommandFactory as _;
        super::Cli::command().debug_assert();
    }
}
