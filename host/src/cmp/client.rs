//! The repo-server's side of the protocol: the tarball and environment
//! Argo CD builds, sent the way it sends them. `kiln cmp-server --check`
//! drives a running server with it; the tests replay Argo CD's call
//! sequences with it.
//!
//! The tarball is what Argo CD's `files.Tgz` writes: a lexical walk of the
//! root with a `.` entry first, relative names, the files' modes and times,
//! regular files, directories and symlinks only (symlinks as links), the
//! exclusion globs matched against each relative path (`*` does not cross
//! `/`; a matching directory is skipped whole), gzip at the default level,
//! and the sha256 of the gzipped bytes as checksum.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kiln_cmp_proto::config_management_plugin_service_client::ConfigManagementPluginServiceClient;
use kiln_cmp_proto::{
    AppStreamRequest, EnvEntry, File, ManifestRequestMetadata, app_stream_request::Request,
};
use sha2::{Digest as _, Sha256};
use tonic::transport::{Channel, Endpoint, Uri};

/// Argo CD's default chunk size (`ARGOCD_CMP_CHUNK_SIZE`).
pub const DEFAULT_CHUNK: usize = 1024;

/// A gzipped tarball ready to send.
#[derive(Debug, Clone)]
pub struct Tarball {
    /// The gzipped bytes.
    pub bytes: Vec<u8>,
    /// Lower-case hex sha256 of `bytes`.
    pub checksum: String,
    /// Regular files in it.
    pub files: usize,
}

/// Why a tarball could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Walking or reading the tree failed.
    #[error("cannot read {}", .path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An exclusion glob is invalid.
    #[error("invalid exclusion glob")]
    Glob(#[from] globset::Error),
    /// Nothing to send: Argo CD refuses an empty tarball too.
    #[error("no files to send under {}", .0.display())]
    Empty(PathBuf),
}

/// Builds the tarball of `root` as Argo CD does, leaving out what
/// `exclusions` match (`--plugin-tar-exclude`).
pub fn tarball(root: &Path, exclusions: &[String]) -> Result<Tarball, Error> {
    let mut set = globset::GlobSetBuilder::new();
    for g in exclusions {
        set.add(
            globset::GlobBuilder::new(g)
                .literal_separator(true)
                .build()?,
        );
    }
    let excluded = set.build()?;
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut builder = tar::Builder::new(gz);
    builder.follow_symlinks(false);
    let mut files = 0;
    walk(root, root, &excluded, &mut builder, &mut files)?;
    let io = |source| Error::Io {
        path: root.to_path_buf(),
        source,
    };
    let bytes = builder.into_inner().map_err(io)?.finish().map_err(io)?;
    if files == 0 {
        return Err(Error::Empty(root.to_path_buf()));
    }
    let checksum = format!("{:x}", Sha256::digest(&bytes));
    Ok(Tarball {
        bytes,
        checksum,
        files,
    })
}

fn walk(
    root: &Path,
    path: &Path,
    excluded: &globset::GlobSet,
    builder: &mut tar::Builder<flate2::write::GzEncoder<Vec<u8>>>,
    files: &mut usize,
) -> Result<(), Error> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = fs_err::symlink_metadata(path).map_err(io)?;
    let rel = path
        .strip_prefix(root)
        .ok()
        .filter(|r| !r.as_os_str().is_empty())
        .map_or_else(
            || ".".to_owned(),
            |r| r.to_string_lossy().replace('\\', "/"),
        );
    if rel != "." && excluded.is_match(&rel) {
        return Ok(());
    }
    let kind = meta.file_type();
    let mut header = tar::Header::new_ustar();
    header.set_mtime(
        meta.modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs()),
    );
    header.set_mode(mode(&meta));
    if kind.is_dir() {
        header.set_entry_type(tar::EntryType::Directory);
        header.set_size(0);
        builder
            .append_data(&mut header, &rel, std::io::empty())
            .map_err(io)?;
        let mut children: Vec<PathBuf> = fs_err::read_dir(path)
            .map_err(io)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .map_err(io)?;
        children.sort();
        for child in children {
            walk(root, &child, excluded, builder, files)?;
        }
    } else if kind.is_symlink() {
        let target = fs_err::read_link(path).map_err(io)?;
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_size(0);
        builder
            .append_link(&mut header, &rel, &target)
            .map_err(io)?;
    } else if kind.is_file() {
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(meta.len());
        let file = fs_err::File::open(path).map_err(io)?;
        builder.append_data(&mut header, &rel, file).map_err(io)?;
        *files += 1;
    }
    Ok(())
}

#[cfg(unix)]
fn mode(meta: &std::fs::Metadata) -> u32 {
    std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o7777
}

#[cfg(not(unix))]
fn mode(meta: &std::fs::Metadata) -> u32 {
    if meta.is_dir() { 0o755 } else { 0o644 }
}

/// The messages Argo CD sends for `tarball`: the metadata (the app's base
/// name, its path relative to the root, the checksum, the size, `env`),
/// then the bytes in `chunk`-sized pieces.
pub fn messages(
    app_rel_path: &str,
    env: &[(String, String)],
    tarball: &Tarball,
    chunk: usize,
) -> Vec<AppStreamRequest> {
    let base = app_rel_path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(".")
        .to_owned();
    let mut out = vec![AppStreamRequest {
        request: Some(Request::Metadata(ManifestRequestMetadata {
            app_name: base,
            app_rel_path: app_rel_path.to_owned(),
            checksum: tarball.checksum.clone(),
            size: i64::try_from(tarball.bytes.len()).unwrap_or(i64::MAX),
            env: env
                .iter()
                .map(|(name, value)| EnvEntry {
                    name: name.clone(),
                    value: value.clone(),
                })
                .collect(),
        })),
    }];
    out.extend(
        tarball
            .bytes
            .chunks(chunk.max(1))
            .map(|c| AppStreamRequest {
                request: Some(Request::File(File { chunk: c.to_vec() })),
            }),
    );
    out
}

/// What Argo CD knows of an Application when it asks a plugin to render.
#[derive(Debug, Clone, Default)]
pub struct Application {
    /// `metadata.name`.
    pub name: String,
    /// `spec.destination.namespace`.
    pub namespace: String,
    /// `spec.project`.
    pub project: String,
    /// The resolved commit.
    pub revision: String,
    /// `spec.source.repoURL`.
    pub repo_url: String,
    /// `spec.source.path`.
    pub path: String,
    /// `spec.source.targetRevision`.
    pub target_revision: String,
    /// The destination's version (`1.32.3`).
    pub kube_version: String,
    /// The destination's API versions.
    pub api_versions: Vec<String>,
    /// `spec.source.plugin.env`.
    pub plugin_env: Vec<(String, String)>,
    /// `spec.source.plugin.parameters`, as Argo CD writes them to JSON.
    pub parameters: Option<serde_json::Value>,
}

impl Application {
    /// The environment of a manifest generation, in Argo CD's order: nine
    /// `ARGOCD_APP_*` entries, `KUBE_VERSION`, `KUBE_API_VERSIONS`, then the
    /// plugin's `ARGOCD_ENV_*` entries and parameters.
    pub fn generate_env(&self) -> Vec<(String, String)> {
        let short = |n: usize| self.revision.chars().take(n).collect::<String>();
        let mut env: Vec<(String, String)> = [
            ("ARGOCD_APP_NAME", self.name.clone()),
            ("ARGOCD_APP_NAMESPACE", self.namespace.clone()),
            ("ARGOCD_APP_PROJECT_NAME", self.project.clone()),
            ("ARGOCD_APP_REVISION", self.revision.clone()),
            ("ARGOCD_APP_REVISION_SHORT", short(7)),
            ("ARGOCD_APP_REVISION_SHORT_8", short(8)),
            ("ARGOCD_APP_SOURCE_REPO_URL", self.repo_url.clone()),
            ("ARGOCD_APP_SOURCE_PATH", self.path.clone()),
            (
                "ARGOCD_APP_SOURCE_TARGET_REVISION",
                self.target_revision.clone(),
            ),
            ("KUBE_VERSION", self.kube_version.clone()),
            ("KUBE_API_VERSIONS", self.api_versions.join(",")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        self.plugin_entries(&mut env);
        env
    }

    /// The smaller environment of the app-details call (the Parameters tab).
    pub fn details_env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = [
            ("ARGOCD_APP_NAME", self.name.clone()),
            ("ARGOCD_APP_SOURCE_REPO_URL", self.repo_url.clone()),
            ("ARGOCD_APP_SOURCE_PATH", self.path.clone()),
            (
                "ARGOCD_APP_SOURCE_TARGET_REVISION",
                self.target_revision.clone(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        self.plugin_entries(&mut env);
        env
    }

    fn plugin_entries(&self, env: &mut Vec<(String, String)>) {
        for (name, value) in &self.plugin_env {
            env.push((format!("ARGOCD_ENV_{name}"), value.clone()));
        }
        let params = self.parameters.clone().unwrap_or(serde_json::Value::Null);
        env.push(("ARGOCD_APP_PARAMETERS".to_owned(), params.to_string()));
        for p in params.as_array().into_iter().flatten() {
            let name = p.get("name").and_then(|n| n.as_str()).unwrap_or_default();
            let base = format!("PARAM_{}", escaped(name));
            if let Some(s) = p.get("string").and_then(|s| s.as_str()) {
                env.push((base.clone(), s.to_owned()));
            }
            for (k, v) in p
                .get("map")
                .and_then(|m| m.as_object())
                .into_iter()
                .flatten()
            {
                env.push((
                    format!("{base}_{}", escaped(k)),
                    v.as_str().unwrap_or_default().to_owned(),
                ));
            }
            for (i, v) in p
                .get("array")
                .and_then(|a| a.as_array())
                .into_iter()
                .flatten()
                .enumerate()
            {
                env.push((
                    format!("{base}_{i}"),
                    v.as_str().unwrap_or_default().to_owned(),
                ));
            }
        }
    }
}

/// A parameter name as Argo CD puts it in `PARAM_*`: upper case, anything
/// but `A-Z0-9_` as `_`.
fn escaped(name: &str) -> String {
    name.to_uppercase()
        .chars()
        .map(|c| {
            if c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A client on the Unix socket at `socket`, with Argo CD's message caps.
pub async fn connect(
    socket: &Path,
) -> Result<ConfigManagementPluginServiceClient<Channel>, tonic::transport::Error> {
    let socket = socket.to_path_buf();
    let channel = Endpoint::try_from("http://[::1]:50051")?
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let socket = socket.clone();
            async move {
                Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(
                    tokio::net::UnixStream::connect(socket).await?,
                ))
            }
        }))
        .await?;
    Ok(ConfigManagementPluginServiceClient::new(channel)
        .max_decoding_message_size(crate::cmp::server::MAX_MESSAGE)
        .max_encoding_message_size(crate::cmp::server::MAX_MESSAGE))
}

/// A streaming request of `messages` with Argo CD's default 60 s deadline
/// (or `timeout`).
pub fn streaming(
    messages: Vec<AppStreamRequest>,
    timeout: Option<Duration>,
) -> tonic::Request<tokio_stream::Iter<std::vec::IntoIter<AppStreamRequest>>> {
    let mut request = tonic::Request::new(tokio_stream::iter(messages));
    request.set_timeout(timeout.unwrap_or(Duration::from_mins(1)));
    request
}
