//! `kiln-test-apiserver`: serve the emulator until killed.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use kiln_test_apiserver::{Fault, Options};

/// A small Kubernetes API-server emulator for tests (plain http, loopback only, no auth).
#[derive(Debug, Parser)]
#[command(name = "kiln-test-apiserver", version)]
struct Cli {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Write a kubeconfig pointing at the server to this file.
    #[arg(long)]
    kubeconfig_out: Option<PathBuf>,
    /// Milliseconds before a new CRD is Established.
    #[arg(long, default_value_t = 0)]
    crd_established_delay_ms: u64,
    /// A fault to inject: `latency=200ms`, `429:every=3`, `503:count=2:verb=PATCH`,
    /// `drop:count=1`, with `path=SUBSTRING` and `retry-after=SECONDS` too. Repeatable.
    #[arg(long = "fault", value_parser = Fault::parse)]
    faults: Vec<Fault>,
    /// Mark workloads (deployments, statefulsets, daemonsets, replicasets) ready and jobs
    /// complete this many milliseconds after each spec change (off when not given).
    #[arg(long)]
    ready_after_ms: Option<u64>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let opts = Options {
        listen: cli.listen,
        crd_established_delay: Duration::from_millis(cli.crd_established_delay_ms),
        faults: cli.faults,
        workloads_ready_after: cli.ready_after_ms.map(Duration::from_millis),
    };
    let server = match kiln_test_apiserver::start(opts).await {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(path) = &cli.kubeconfig_out
        && let Err(e) = server.write_kubeconfig(path)
    {
        let _ = writeln!(std::io::stderr(), "error: {e}");
        return ExitCode::from(2);
    }
    let mut out = std::io::stdout();
    let _ = writeln!(out, "listening on {}", server.url());
    let _ = out.flush();
    let _ = tokio::signal::ctrl_c().await;
    ExitCode::SUCCESS
}
