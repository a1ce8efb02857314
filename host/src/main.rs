//! The `kiln` binary: parses arguments, sets up logging, runs the command.

use std::process::ExitCode;

use clap::Parser;
use kiln::cli::{Cli, ExitStatus, GlobalArgs};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(&cli.global);
    match cli.execute() {
        Ok(status) => status.into(),
        Err(error) => {
            report(&error);
            ExitStatus::Error.into()
        }
    }
}

fn init_tracing(global: &GlobalArgs) {
    let default = match (global.quiet, global.verbose) {
        (2.., _) => "off",
        (1, _) => "error",
        (_, 0) => "warn",
        (_, 1) => "kiln=debug",
        _ => "kiln=trace",
    };
    let filter =
        EnvFilter::try_from_env(kiln::env::KILN_LOG).unwrap_or_else(|_| EnvFilter::new(default));
    let color = match global.color {
        kiln::cli::Color::Always => true,
        kiln::cli::Color::Never => false,
        kiln::cli::Color::Auto => {
            std::env::var_os(kiln::env::NO_COLOR).is_none()
                && std::io::IsTerminal::is_terminal(&std::io::stderr())
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .without_time()
        .with_target(false)
        .init();
}

/// Prints `error: …`, the causes, and a hint, to stderr.
#[expect(
    clippy::print_stderr,
    reason = "the binary's one place that reports errors"
)]
fn report(error: &anyhow::Error) {
    // A message may hold a repository's text: shown so that it cannot
    // start a line of its own.
    let shown = |text: String| kiln::runtime::printable(&text);
    eprintln!("error: {}", shown(error.to_string()));
    for cause in error.chain().skip(1) {
        eprintln!("  Caused by: {}", shown(cause.to_string()));
    }
    if let Some(hint) = kiln::cli::hint(error) {
        eprintln!("hint: {}", shown(hint));
    }
}
