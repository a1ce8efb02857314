//! Receiving one request's stream: the metadata, then the gzipped tarball
//! in chunks, checked against its sha256 and unpacked into the request's
//! own directory.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use kiln_cmp_proto::{AppStreamRequest, ManifestRequestMetadata, app_stream_request::Request};
use sha2::{Digest as _, Sha256};
use tokio_stream::{Stream, StreamExt as _};

use super::unpack::{self, Caps, Unpacked};

/// Why a stream was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The first message was not the metadata.
    #[error("the stream did not start with the request metadata")]
    NoMetadata,
    /// A second metadata message, or a message with neither field.
    #[error("message {0} of the stream is not a tarball chunk")]
    NotAChunk(u64),
    /// The metadata announces a tarball past the cap.
    #[error("the tarball is {size} bytes; this server takes at most {cap}")]
    Announced {
        /// The announced size.
        size: i64,
        /// The cap.
        cap: u64,
    },
    /// More bytes arrived than the cap allows.
    #[error("the stream carries more than {cap} bytes of tarball")]
    Oversized {
        /// The cap.
        cap: u64,
    },
    /// More bytes arrived than the metadata announced.
    #[error("the stream carries more than the {size} bytes its metadata announced")]
    Overrun {
        /// Bytes announced.
        size: u64,
    },
    /// No message arrived for too long.
    #[error("the stream sent nothing for {0:?}")]
    Stalled(Duration),
    /// Fewer bytes arrived than the metadata announced.
    #[error("the stream ended after {got} of the {size} bytes announced")]
    Truncated {
        /// Bytes received.
        got: u64,
        /// Bytes announced.
        size: i64,
    },
    /// The checksum does not match.
    #[error(
        "file checksum validation error: the tarball's sha256 is {got}, the metadata says {want}"
    )]
    Checksum {
        /// Of the bytes received.
        got: String,
        /// As announced.
        want: String,
    },
    /// The stream broke.
    #[error("the stream broke")]
    Transport(#[source] tonic::Status),
    /// The tarball was refused.
    #[error(transparent)]
    Unpack(#[from] unpack::Error),
    /// The request directory could not be written.
    #[error("cannot write the request's work directory")]
    Io(#[source] std::io::Error),
}

/// A received and unpacked request.
#[derive(Debug)]
pub struct Received {
    /// The metadata, as sent.
    pub metadata: ManifestRequestMetadata,
    /// Where the tarball was unpacked: the source root (`None` when the
    /// caller chose to only check it).
    pub root: Option<PathBuf>,
    /// The gzipped tarball's sha256, hex.
    pub checksum: String,
    /// Bytes of gzipped tarball received.
    pub stream_bytes: u64,
    /// What unpacking wrote.
    pub unpacked: Unpacked,
}

/// Reads the stream's first message, the metadata, waiting at most `stall`.
pub async fn metadata<S>(stream: &mut S, stall: Duration) -> Result<ManifestRequestMetadata, Error>
where
    S: Stream<Item = Result<AppStreamRequest, tonic::Status>> + Unpin,
{
    match next(stream, stall).await? {
        Some(Ok(AppStreamRequest {
            request: Some(Request::Metadata(m)),
        })) => Ok(m),
        Some(Err(status)) => Err(Error::Transport(status)),
        _ => Err(Error::NoMetadata),
    }
}

/// The bytes of tarball a request needs: the size its metadata announces,
/// or the cap when it announces none; past the cap, it is refused.
pub fn needed(metadata: &ManifestRequestMetadata, caps: Caps) -> Result<u64, Error> {
    match u64::try_from(metadata.size) {
        Ok(size) if size > caps.stream_bytes => Err(Error::Announced {
            size: metadata.size,
            cap: caps.stream_bytes,
        }),
        Ok(size) if size > 0 => Ok(size),
        _ => Ok(caps.stream_bytes),
    }
}

/// The next message, or [`Error::Stalled`] after `stall` without one.
async fn next<S>(
    stream: &mut S,
    stall: Duration,
) -> Result<Option<Result<AppStreamRequest, tonic::Status>>, Error>
where
    S: Stream<Item = Result<AppStreamRequest, tonic::Status>> + Unpin,
{
    tokio::time::timeout(stall, stream.next())
        .await
        .map_err(|_| Error::Stalled(stall))
}

/// Receives the rest of the stream (after `metadata`) into `work` (an
/// empty directory the caller removes): the tarball is kept in
/// `work/stream.tgz` until unpacked into `work/src`. At most the bytes
/// [`needed`] says are taken, and at most `stall` between two messages.
/// When `unpack` says no for the metadata, the tarball is only read and
/// checked against its checksum.
pub async fn receive<S>(
    metadata: ManifestRequestMetadata,
    mut stream: S,
    work: &Path,
    caps: Caps,
    stall: Duration,
    unpack: impl FnOnce(&ManifestRequestMetadata) -> bool,
) -> Result<Received, Error>
where
    S: Stream<Item = Result<AppStreamRequest, tonic::Status>> + Unpin,
{
    let limit = needed(&metadata, caps)?;
    let keep = unpack(&metadata);
    let tgz = work.join("stream.tgz");
    let mut file = if keep {
        Some(std::io::BufWriter::with_capacity(
            64 << 10,
            fs_err::File::create(&tgz).map_err(Error::Io)?,
        ))
    } else {
        None
    };
    let mut hasher = Sha256::new();
    let mut got = 0u64;
    let mut index = 1u64;
    while let Some(message) = next(&mut stream, stall).await? {
        let chunk = match message.map_err(Error::Transport)? {
            AppStreamRequest {
                request: Some(Request::File(f)),
            } => f.chunk,
            _ => return Err(Error::NotAChunk(index)),
        };
        index += 1;
        got += chunk.len() as u64;
        if got > caps.stream_bytes {
            return Err(Error::Oversized {
                cap: caps.stream_bytes,
            });
        }
        if got > limit {
            return Err(Error::Overrun { size: limit });
        }
        hasher.update(&chunk);
        if let Some(file) = &mut file {
            file.write_all(&chunk).map_err(Error::Io)?;
        }
    }
    if let Some(mut file) = file {
        file.flush().map_err(Error::Io)?;
    }
    if i64::try_from(got).is_ok_and(|g| g < metadata.size) {
        return Err(Error::Truncated {
            got,
            size: metadata.size,
        });
    }
    let checksum = format!("{:x}", hasher.finalize());
    if !checksum.eq_ignore_ascii_case(metadata.checksum.trim()) {
        return Err(Error::Checksum {
            got: checksum,
            want: metadata.checksum,
        });
    }
    if !keep {
        return Ok(Received {
            metadata,
            root: None,
            checksum,
            stream_bytes: got,
            unpacked: Unpacked::default(),
        });
    }
    let root = work.join("src");
    fs_err::create_dir(&root).map_err(Error::Io)?;
    let unpacked = {
        let root = root.clone();
        tokio::task::spawn_blocking(move || -> Result<Unpacked, Error> {
            let file = fs_err::File::open(&tgz).map_err(Error::Io)?;
            let result = unpack::unpack(std::io::BufReader::new(file), got, &root, caps);
            // The tarball is no longer needed; the directory goes with the request.
            let _ = fs_err::remove_file(&tgz);
            Ok(result?)
        })
        .await
        .map_err(|e| Error::Io(std::io::Error::other(e)))??
    };
    Ok(Received {
        metadata,
        root: Some(root),
        checksum,
        stream_bytes: got,
        unpacked,
    })
}
