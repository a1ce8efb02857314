//! `kiln agent`: reconcile the apps of a config repository into the cluster.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use super::{ExitStatus, GlobalArgs, Hint};
use crate::agent::http::Shared;
use crate::agent::{Agent, Settings};
use crate::runtime::Limits;

/// Reconcile the apps of a config repository into the cluster (pull mode).
///
/// The `Agent` file (`--config`, a path inside the repository) says where
/// the apps are and how each is reconciled; see the README's `kiln agent`
/// section. Stops cleanly on SIGTERM or Ctrl-C.
#[derive(Debug, clap::Args)]
pub struct AgentCommand {
    /// The config repository (https, ssh, file:// or a path).
    #[arg(long, value_name = "URL", env = "KILN_AGENT_REPO")]
    pub repo: String,
    /// The branch (or `refs/tags/TAG`, or HEAD) to follow.
    #[arg(
        long = "ref",
        value_name = "REF",
        default_value = "HEAD",
        env = "KILN_AGENT_REF"
    )]
    pub reference: String,
    /// The `Agent` file's path inside the repository.
    #[arg(long, value_name = "PATH", env = "KILN_AGENT_CONFIG")]
    pub config: String,
    /// Where /healthz, /readyz, /metrics and /hook/ listen.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:9292")]
    pub listen: SocketAddr,
    /// A file holding the webhook token (webhooks are off without one).
    #[arg(long, value_name = "FILE")]
    pub webhook_token_file: Option<PathBuf>,
    /// A file holding the token for an https repository (else `KILN_GIT_TOKEN`).
    #[arg(long, value_name = "FILE")]
    pub git_token_file: Option<PathBuf>,
    /// The agent's namespace: Secrets the `Agent` file names are read here.
    #[arg(
        long,
        value_name = "NS",
        env = "POD_NAMESPACE",
        default_value = "kiln-system"
    )]
    pub namespace: String,
    /// Secret files the `Agent` file names must lie in this directory.
    #[arg(long, value_name = "DIR")]
    pub secrets_dir: Option<PathBuf>,
    /// Check the remote this often, whatever the `Agent` file says (e.g. 5s).
    #[arg(long, value_name = "DURATION", value_parser = crate::agent::config::parse_duration)]
    pub poll_interval: Option<Duration>,
    /// Target Kubernetes version of renders (e.g. 1.32.0).
    #[arg(long, env = crate::env::KUBE_VERSION)]
    pub kube_version: Option<String>,
    #[command(flatten)]
    pub ceiling: super::render::CeilingArgs,
    /// How long a shutdown waits for the current reconcile.
    #[arg(long, value_name = "DURATION", default_value = "20s", value_parser = crate::agent::config::parse_duration)]
    pub grace: Duration,
    /// This replica's name: with it, replicas of the same shard group split the apps over
    /// Leases (the Deployment passes the pod's name). The other sharding settings come from
    /// the `Agent` file's `sharding` block; the flags below override it.
    #[arg(long, value_name = "NAME", env = "KILN_AGENT_MEMBER")]
    pub member: Option<String>,
    /// The replicas that split one set of apps [default: the file's sharding.group, else
    /// metadata.name]
    #[arg(long, value_name = "NAME")]
    pub shard_group: Option<String>,
    /// Where the member Leases are [default: the file's sharding.leaseNamespace, else
    /// --namespace]
    #[arg(long, value_name = "NS")]
    pub lease_namespace: Option<String>,
    /// A replica whose Lease has not been renewed for this long is gone; its apps move
    /// [default: the file's sharding.leaseDuration, else 15s]
    #[arg(long, value_name = "DURATION", value_parser = crate::agent::config::parse_duration)]
    pub lease_duration: Option<Duration>,
    /// A replica that cannot renew its Lease for this long stops applying [default: the
    /// file's sharding.renewDeadline, else 10s]
    #[arg(long, value_name = "DURATION", value_parser = crate::agent::config::parse_duration)]
    pub renew_deadline: Option<Duration>,
    /// How often Leases are renewed and read [default: the file's sharding.retryPeriod, else
    /// 2s]
    #[arg(long, value_name = "DURATION", value_parser = crate::agent::config::parse_duration)]
    pub retry_period: Option<Duration>,
    /// The render cache: a Redis the replicas share (redis://HOST:PORT[/DB]), or `off`
    /// [default: the file's `cache`, else the disk cache]
    #[arg(long, value_name = "URL", env = "KILN_CACHE")]
    pub cache: Option<String>,
    /// The kubeconfig file (default: KUBECONFIG, ~/.kube/config, or the in-cluster service account).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context (default: the current one).
    #[arg(id = "kube_context", long = "context", value_name = "NAME")]
    pub context: Option<String>,
}

fn read_token(path: &PathBuf, what: &str) -> anyhow::Result<String> {
    let text = fs_err::read_to_string(path)
        .with_context(|| format!("cannot read the {what} file {}", path.display()))?;
    let token = text.trim().to_owned();
    if token.is_empty() {
        return Err(Hint::error(
            format!("the {what} file {} is empty", path.display()),
            "mount the Secret's key as the file",
        ));
    }
    Ok(token)
}

impl AgentCommand {
    fn shard(&self) -> anyhow::Result<Option<crate::agent::shard::ShardFlags>> {
        let Some(member) = self.member.as_deref().filter(|m| !m.is_empty()) else {
            return Ok(None);
        };
        let flags = crate::agent::shard::ShardFlags {
            member: member.to_owned(),
            namespace: self.lease_namespace.clone(),
            group: self.shard_group.clone(),
            lease_duration: self.lease_duration,
            renew_deadline: self.renew_deadline,
            retry_period: self.retry_period,
        };
        // Three flags must agree now; fewer are checked with the file's values.
        if self.lease_duration.is_some()
            && self.renew_deadline.is_some()
            && self.retry_period.is_some()
        {
            flags
                .resolve(
                    &crate::agent::config::Sharding::default(),
                    "kiln",
                    &self.namespace,
                )
                .map_err(|e| {
                    Hint::error(
                        format!("--retry-period, --renew-deadline and --lease-duration: {e}"),
                        "a replica must stop applying before the others can see its Lease expire",
                    )
                })?;
        }
        Ok(Some(flags))
    }

    fn cache(&self) -> anyhow::Result<Option<crate::service::CacheChoice>> {
        use crate::service::CacheChoice;
        Ok(match self.cache.as_deref().filter(|c| !c.is_empty()) {
            None => None,
            Some("off") => Some(CacheChoice::Off),
            Some(url) if url.starts_with("redis://") => Some(CacheChoice::Shared(url.to_owned())),
            Some(other) => {
                return Err(Hint::error(
                    format!("--cache `{other}` is neither redis://HOST:PORT[/DB] nor off"),
                    "name a Redis the replicas share, or leave --cache out for the disk cache",
                ));
            }
        })
    }

    /// Runs the agent until SIGTERM or Ctrl-C.
    pub fn execute(self, _global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        // The Deployment mounts the webhook Secret as optional: no file, no webhooks.
        let webhook_file = self.webhook_token_file.as_ref().filter(|p| {
            let there = p.exists();
            if !there {
                tracing::warn!(file = %p.display(), "no webhook token file; webhooks are off");
            }
            there
        });
        let webhook_token = webhook_file
            .map(|p| read_token(p, "webhook token"))
            .transpose()?
            .or_else(|| {
                std::env::var(crate::env::KILN_WEBHOOK_TOKEN)
                    .ok()
                    .filter(|t| !t.is_empty())
            });
        if let Some(p) = &self.git_token_file {
            crate::source::git::set_token(Some(read_token(p, "git token")?));
        }
        let settings = Settings {
            repo: self.repo.clone(),
            reference: self.reference.clone(),
            config_path: self.config.clone(),
            cache_dir: crate::env::cache_dir(),
            kube_version: crate::pipeline::kube_version(self.kube_version.as_deref()),
            limits: Limits::default(),
            ceiling: self.ceiling.ceiling(),
            namespace: self.namespace.clone(),
            secrets_dir: self.secrets_dir.clone(),
            webhook_token,
            poll_interval: self.poll_interval,
            retry: kiln_kube::RetryOptions::default(),
            grace: self.grace,
            shard: self.shard()?,
            cache: self.cache()?,
            render_seed: Some(crate::service::keys::render_seed()?),
        };
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async move {
            let client = kiln_kube::client(self.kubeconfig.as_deref(), self.context.as_deref())
                .await
                .context("cannot reach the cluster")?;
            let shared = Arc::new(Shared::default());
            let client = crate::agent::metrics::counted(client, shared.clone());
            let agent = Agent::new(settings, client, shared.clone())?;
            let listener = tokio::net::TcpListener::bind(self.listen)
                .await
                .with_context(|| format!("cannot listen on {}", self.listen))?;
            tracing::info!(listen = %self.listen, "serving /healthz, /readyz, /metrics and webhooks");
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let mut server_stop = stopped.clone();
            let server = tokio::spawn(async move {
                let app = crate::agent::http::router(shared);
                axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = server_stop.wait_for(|s| *s).await;
                    })
                    .await
            });
            tokio::spawn(async move {
                wait_for_signal().await;
                tracing::info!("stopping");
                let _ = stop.send(true);
            });
            agent.run(stopped).await;
            let _ = server.await;
            Ok::<_, anyhow::Error>(())
        })?;
        Ok(ExitStatus::Success)
    }
}

async fn wait_for_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = term => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
