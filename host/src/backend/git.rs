//! The git backend: the rendered output committed to an environment branch
//! (the rendered-manifests pattern), through [`kiln_git_publish`].
//!
//! Files are laid out as the directory backend lays them out. One app goes
//! to the target's path; several apps each go to `<path>/<app dir>`. The
//! commit message records the source, its revision, the digest of every
//! plugin that ran and the render key, as git trailers. Nothing is committed
//! when the rendered files equal the branch's.

use std::collections::BTreeMap;
use std::path::PathBuf;

use kiln_git_publish::{Commit, Outcome, Provenance, Target};

use super::{Backend, Delivered, Delivery};

/// Commits apps to a branch.
pub struct Git {
    target: Target,
    work_dir: PathBuf,
}

impl Git {
    /// A backend for `target`, keeping its work repository under `work_dir`.
    pub fn new(target: Target, work_dir: PathBuf) -> Self {
        Self { target, work_dir }
    }
}

impl Backend for Git {
    fn deliver(&mut self, delivery: &Delivery<'_>) -> anyhow::Result<Delivered> {
        let files: BTreeMap<String, Vec<u8>> = super::dir::files(delivery.resources)?
            .into_iter()
            .map(|(name, text)| (name, text.into_bytes()))
            .collect();
        let mut target = self.target.clone();
        if delivery.apps_in_run > 1 {
            target.path = match (target.path.as_str(), delivery.label) {
                ("", label) => label.to_owned(),
                (path, ".") => path.to_owned(),
                (path, label) => format!("{path}/{label}"),
            };
        }
        let provenance = Provenance {
            summary: format!("kiln: render {}", delivery.app),
            source: Some(delivery.source.to_owned()),
            revision: delivery.revision.map(str::to_owned),
            plugins: delivery
                .steps
                .iter()
                .map(|s| (s.plugin.clone(), format!("blake3:{}", s.plugin_digest)))
                .collect(),
            render_key: delivery.render_key().map(|k| format!("blake3:{k}")),
        };
        let message = provenance.message();
        let name = std::env::var("GIT_AUTHOR_NAME").unwrap_or_else(|_| "kiln".to_owned());
        let email =
            std::env::var("GIT_AUTHOR_EMAIL").unwrap_or_else(|_| "kiln@localhost".to_owned());
        let commit = Commit {
            message: &message,
            author_name: &name,
            author_email: &email,
        };
        let outcome = kiln_git_publish::publish(&target, &files, &commit, &self.work_dir)?;
        Ok(match outcome {
            Outcome::Committed { id, .. } => Delivered {
                changed: true,
                lines: vec![format!("committed {id} to {target}")],
                failed: false,
            },
            Outcome::Unchanged { id } => Delivered {
                changed: false,
                lines: vec![format!("{target} unchanged at {id}")],
                failed: false,
            },
        })
    }
}
