//! Errors with what to do about them.

/// An error with what to do about it (for errors the service or a command
/// raises itself; the pipeline's and the source's carry their own hints).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Hint {
    /// What went wrong.
    pub message: String,
    /// What to do.
    pub hint: String,
}

impl Hint {
    /// An error `message` with `hint`.
    pub fn error(message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
        anyhow::Error::new(Self {
            message: message.into(),
            hint: hint.into(),
        })
    }
}

/// The hint for an error chain, if any error in it has one.
pub fn hint(error: &anyhow::Error) -> Option<String> {
    error.chain().find_map(|cause| {
        if let Some(e) = cause.downcast_ref::<crate::pipeline::Error>() {
            return e.hint();
        }
        if let Some(e) = cause.downcast_ref::<crate::pipeline::locking::Error>() {
            return e.hint();
        }
        if let Some(crate::source::Error::Missing(_)) = cause.downcast_ref::<crate::source::Error>()
        {
            return Some("check the path; `kiln render` takes an app directory".into());
        }
        cause.downcast_ref::<Hint>().map(|h| h.hint.clone())
    })
}

/// Where a render error points: the step, the plugin and the source file,
/// as far as the error knows them (for callers that report errors as data,
/// such as a gRPC status).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Blame {
    /// The step that failed.
    pub step: Option<String>,
    /// The plugin it ran.
    pub plugin: Option<String>,
    /// The source file at fault, relative to the source root.
    pub file: Option<String>,
}

/// Where `error` points (see [`Blame`]).
pub fn blame(error: &anyhow::Error) -> Blame {
    use crate::pipeline::Error as E;
    let Some(e) = error
        .chain()
        .find_map(|c| c.downcast_ref::<crate::pipeline::Error>())
    else {
        return Blame::default();
    };
    let some = |s: &String| Some(s.clone());
    match e {
        E::Step {
            step, plugin, file, ..
        } => Blame {
            step: some(step),
            plugin: some(plugin),
            file: file.clone(),
        },
        E::Load { step, plugin, .. }
        | E::Diagnostics { step, plugin, .. }
        | E::BadOutput { step, plugin, .. }
        | E::UnknownPlugin { step, plugin } => Blame {
            step: some(step),
            plugin: some(plugin),
            file: None,
        },
        E::PluginOutsideRoot { file, path } | E::ReadPlugin { file, path, .. } => Blame {
            step: None,
            plugin: some(path),
            file: some(file),
        },
        E::Pipeline(
            crate::model::file::Error::Invalid { file, .. }
            | crate::model::file::Error::WrongKind { file, .. }
            | crate::model::file::Error::DuplicateStep { file, .. }
            | crate::model::file::Error::NoSteps { file, .. },
        ) => Blame {
            file: some(file),
            ..Blame::default()
        },
        _ => Blame::default(),
    }
}
