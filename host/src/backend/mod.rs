//! Where rendered resources go.
//!
//! `kiln render` prints them ([`stdout`]) or writes a tree ([`dir`]);
//! `kiln apply` hands each rendered app to a [`Backend`]: the cluster
//! ([`cluster`], server-side apply with an inventory and pruning), a
//! directory ([`dir`]) or an environment branch of a git repository
//! ([`git`], the rendered-manifests pattern). The in-cluster agent reuses
//! the same trait.

pub mod cluster;
pub mod dir;
pub mod git;
pub mod stdout;

use std::path::PathBuf;

use serde_json::Value;

use crate::model::StepReport;

/// One rendered app, as a backend receives it.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    /// The app's name (its directory's name, or `kiln.yaml`'s).
    pub app: &'a str,
    /// The app's directory relative to the root of the run (`.` for a single app).
    pub label: &'a str,
    /// The rendered resources, in output order.
    pub resources: &'a [Value],
    /// The source: a repository URL or a directory.
    pub source: &'a str,
    /// The source revision, when the source is git.
    pub revision: Option<&'a str>,
    /// The steps that produced it (plugins, digests, cache keys).
    pub steps: &'a [StepReport],
    /// How many apps this run delivers (a backend may lay out one app and
    /// many apps differently).
    pub apps_in_run: usize,
}

impl Delivery<'_> {
    /// The key of the render: the last step's cache key.
    pub fn render_key(&self) -> Option<&str> {
        self.steps.last().map(|s| s.key.as_str())
    }
}

/// What a backend did with one app.
#[derive(Debug, Clone, Default)]
pub struct Delivered {
    /// Whether the destination changed.
    pub changed: bool,
    /// Lines for people: one per object or a summary.
    pub lines: Vec<String>,
    /// Whether part of the delivery failed (the lines say what).
    pub failed: bool,
}

/// A destination for rendered apps.
pub trait Backend {
    /// Delivers one app. An `Err` is a failure of the whole delivery;
    /// per-object failures are reported in [`Delivered`].
    fn deliver(&mut self, delivery: &Delivery<'_>) -> anyhow::Result<Delivered>;
}

/// A `--to` destination.
#[derive(Debug, Clone)]
pub enum Destination {
    /// The cluster of the kubeconfig (the default).
    Cluster,
    /// `dir:PATH`: one file per resource, the tree replaced atomically.
    Dir(PathBuf),
    /// `git:URL#BRANCH[:PATH]`: a commit on an environment branch.
    Git(kiln_git_publish::Target),
}

impl std::str::FromStr for Destination {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "cluster" {
            Ok(Self::Cluster)
        } else if let Some(path) = s.strip_prefix("dir:") {
            if path.is_empty() {
                return Err("`dir:` needs a path, e.g. dir:out/prod".into());
            }
            Ok(Self::Dir(PathBuf::from(path)))
        } else if let Some(target) = s.strip_prefix("git:") {
            target.parse().map(Self::Git).map_err(|e| format!("{e}"))
        } else {
            Err(format!(
                "unknown destination `{s}`: use cluster, dir:PATH or git:URL#BRANCH[:PATH]"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Destination;

    #[test]
    fn destinations_parse() {
        assert!(matches!("cluster".parse(), Ok(Destination::Cluster)));
        assert!(matches!("dir:out".parse(), Ok(Destination::Dir(p)) if p.ends_with("out")));
        match "git:../deploy.git#env/prod:apps/web".parse::<Destination>() {
            Ok(Destination::Git(t)) => {
                assert_eq!(
                    (t.url.as_str(), t.branch.as_str(), t.path.as_str()),
                    ("../deploy.git", "env/prod", "apps/web")
                );
            }
            other => panic!("{other:?}"),
        }
        assert!("dir:".parse::<Destination>().is_err());
        assert!("s3:bucket".parse::<Destination>().is_err());
        assert!("git:nobranch".parse::<Destination>().is_err());
    }
}
