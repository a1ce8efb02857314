//! Making a client from a kubeconfig or the in-cluster service account.

use std::path::{Path, PathBuf};

use kube::config::{Config, KubeConfigOptions, Kubeconfig};

/// Why no client could be made.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read the kubeconfig {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error("cannot use the kubeconfig {path} (context {context})")]
    Load {
        path: String,
        context: String,
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error("no cluster configuration: set KUBECONFIG, create ~/.kube/config, or run in a pod")]
    Infer(#[source] kube::config::InferConfigError),
    #[error("cannot build a client for {url}")]
    Client {
        url: String,
        #[source]
        source: kube::Error,
    },
}

/// A client for the cluster of `kubeconfig` (or `KUBECONFIG`, or `~/.kube/config`, or the
/// in-cluster service account when none is given), using `context` or the current context.
pub async fn client(
    kubeconfig: Option<&Path>,
    context: Option<&str>,
) -> Result<kube::Client, Error> {
    let options = KubeConfigOptions {
        context: context.map(str::to_owned),
        ..KubeConfigOptions::default()
    };
    let config = match (kubeconfig, context) {
        (Some(path), _) => {
            let file = Kubeconfig::read_from(path).map_err(|source| Error::Read {
                path: path.to_owned(),
                source,
            })?;
            Config::from_custom_kubeconfig(file, &options)
                .await
                .map_err(|source| Error::Load {
                    path: path.display().to_string(),
                    context: context.unwrap_or("current").to_owned(),
                    source,
                })?
        }
        (None, Some(ctx)) => {
            Config::from_kubeconfig(&options)
                .await
                .map_err(|source| Error::Load {
                    path: "from KUBECONFIG or ~/.kube/config".to_owned(),
                    context: ctx.to_owned(),
                    source,
                })?
        }
        (None, None) => Config::infer().await.map_err(Error::Infer)?,
    };
    let url = config.cluster_url.to_string();
    kube::Client::try_from(config).map_err(|source| Error::Client { url, source })
}
