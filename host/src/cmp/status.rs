//! kiln's errors as gRPC statuses. Argo CD shows the message in the
//! Application's conditions and caches it, so it is kiln's whole message:
//! what failed (step, plugin, file) and what to do.

use tonic::{Code, Status};

use super::receive;
use super::request::AppRequest;
use crate::pipeline;

/// A status whose message is `kiln: {message}` and, when given, the hint.
pub fn with_hint(code: Code, message: &str, hint: &str) -> Status {
    if hint.is_empty() {
        Status::new(code, format!("kiln: {message}"))
    } else {
        Status::new(code, format!("kiln: {message}; hint: {hint}"))
    }
}

/// The status of a refused stream.
pub fn of_receive(e: &receive::Error) -> Status {
    use receive::Error as E;
    let text = crate::error_chain(e);
    match e {
        E::Announced { .. } | E::Oversized { .. } => with_hint(
            Code::ResourceExhausted,
            &text,
            "exclude what the render does not need (--plugin-tar-exclude on the repo-server, e.g. `.git/*`) or raise kiln's --max-stream",
        ),
        E::Unpack(u) if u.is_cap() => with_hint(
            Code::ResourceExhausted,
            &text,
            "raise kiln's --max-unpacked, --max-files or --max-ratio if the repository is really this large",
        ),
        E::Unpack(_) => with_hint(
            Code::InvalidArgument,
            &text,
            "the repository holds an entry kiln refuses to unpack; remove it or exclude it with --plugin-tar-exclude",
        ),
        E::Checksum { .. }
        | E::Truncated { .. }
        | E::Overrun { .. }
        | E::NoMetadata
        | E::NotAChunk(_) => with_hint(Code::InvalidArgument, &text, ""),
        E::Stalled(_) => with_hint(
            Code::DeadlineExceeded,
            &text,
            "the repo-server stopped sending its stream; kiln's --stall-timeout sets how long it waits",
        ),
        E::Transport(status) => Status::new(status.code(), format!("kiln: {text}")),
        E::Io(_) => with_hint(
            Code::Internal,
            &text,
            "the sidecar needs a writable work directory (an emptyDir at /tmp)",
        ),
    }
}

/// The status of a failed render of `request`.
pub fn of_render(error: &anyhow::Error, request: &AppRequest, sops_allowed: bool) -> Status {
    let mut text = format!("app `{}`: ", request.app_dir);
    for (i, cause) in error.chain().enumerate() {
        if i > 0 {
            text.push_str(": ");
        }
        text.push_str(&cause.to_string());
    }
    let failed = error
        .chain()
        .find_map(|c| c.downcast_ref::<pipeline::Error>());
    if !sops_allowed
        && let Some(pipeline::Error::Step { plugin, .. }) = failed
        && plugin == "sops"
    {
        return sops_off(&text);
    }
    let hint = failed.and_then(pipeline::Error::hint).unwrap_or_default();
    let code = match failed {
        Some(pipeline::Error::MissingApp(_)) => Code::NotFound,
        Some(pipeline::Error::Step { source, .. })
            if matches!(source.as_ref(), crate::runtime::CallError::Timeout(_)) =>
        {
            Code::DeadlineExceeded
        }
        Some(_) => Code::InvalidArgument,
        None => Code::Unknown,
    };
    with_hint(code, &text, &hint)
}

/// The status of a render that needed SOPS decryption in a server that
/// was not allowed to decrypt; `text` says what needed it.
pub fn sops_off(text: &str) -> Status {
    with_hint(
        Code::FailedPrecondition,
        &format!("SOPS decryption is off in this cmp-server ({text})"),
        "Argo CD caches generated manifests in Redis, so decrypted secrets would be stored there in plain text; if you accept that, start `kiln cmp-server` with --allow-sops and --key-file, else decrypt in the cluster (kiln agent, or a secrets operator)",
    )
}
