//! The text `helm template` prints: CRDs, sorted manifests, hooks, and the
//! `--show-only` filter.

use std::fmt::Write as _;

use crate::glob::path_match;
use crate::order::{Manifest, split_documents};

/// `--show-only` named a template that rendered nothing.
#[derive(Debug, thiserror::Error)]
#[error("could not find template {0} in chart")]
pub struct ShowOnlyError(pub String);

/// What to print.
pub(crate) struct Stream<'a> {
    /// `(path, content)` of CRD files, printed first when non-empty.
    pub crds: &'a [(String, String)],
    /// Non-hook manifests, in order.
    pub manifests: &'a [Manifest],
    /// Hooks, in order.
    pub hooks: &'a [Manifest],
    /// Leave out test hooks.
    pub skip_tests: bool,
    /// `--show-only` patterns.
    pub show_only: &'a [String],
}

/// Builds the exact `helm template` output.
pub(crate) fn write(s: &Stream<'_>) -> Result<String, ShowOnlyError> {
    let mut manifest = String::new();
    for (path, content) in s.crds {
        let _ = write!(manifest, "---\n# Source: {path}\n{content}\n");
    }
    for m in s.manifests {
        let _ = write!(manifest, "---\n# Source: {}\n{}\n", m.path, m.content);
    }
    let mut out = format!("{}\n", manifest.trim());
    for h in s.hooks {
        if s.skip_tests && h.is_test {
            continue;
        }
        let _ = write!(out, "---\n# Source: {}\n{}\n", h.path, h.content);
    }
    if s.show_only.is_empty() {
        return Ok(out);
    }
    let docs = split_documents(&out);
    let mut shown = String::new();
    for pattern in s.show_only {
        let pattern = pattern.replace('\\', "/");
        let mut missing = true;
        for doc in &docs {
            let Some(name) = source_after_chart(doc) else {
                continue;
            };
            if path_match(&pattern, name) {
                let _ = write!(shown, "---\n{doc}\n");
                missing = false;
            }
        }
        if missing {
            return Err(ShowOnlyError(pattern));
        }
    }
    Ok(shown)
}

/// The part after the top chart name of the first `# Source: chart/…` line.
fn source_after_chart(doc: &str) -> Option<&str> {
    let mut rest = doc;
    while let Some(i) = rest.find("# Source: ") {
        let after = &rest[i + "# Source: ".len()..];
        let line = after.split('\n').next().unwrap_or_default();
        if let Some(slash) = line.find('/')
            && slash > 0
            && slash + 1 < line.len()
        {
            return Some(&line[slash + 1..]);
        }
        rest = after;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(path: &str, content: &str, is_test: bool) -> Manifest {
        Manifest {
            value: serde_json::Value::Null,
            path: path.into(),
            content: content.into(),
            kind: String::new(),
            is_test,
        }
    }

    #[test]
    fn layout_matches_helm() {
        let manifests = [
            m("c/templates/a.yaml", "kind: A\n", false),
            m("c/templates/b.yaml", "kind: B", false),
        ];
        let hooks = [m("c/templates/t.yaml", "kind: T\n", true)];
        let crds = [("c/crds/x.yaml".to_owned(), "kind: CRD\n".to_owned())];
        let s = Stream {
            crds: &crds,
            manifests: &manifests,
            hooks: &hooks,
            skip_tests: false,
            show_only: &[],
        };
        assert_eq!(
            write(&s).unwrap(),
            "---\n# Source: c/crds/x.yaml\nkind: CRD\n\n---\n# Source: c/templates/a.yaml\nkind: A\n\n---\n# Source: c/templates/b.yaml\nkind: B\n---\n# Source: c/templates/t.yaml\nkind: T\n\n"
        );
        let s = Stream {
            crds: &[],
            manifests: &manifests,
            hooks: &hooks,
            skip_tests: true,
            show_only: &[],
        };
        assert!(!write(&s).unwrap().contains("kind: T"));
    }

    #[test]
    fn show_only_filters_and_fails_when_missing() {
        let manifests = [
            m("c/templates/a.yaml", "kind: A\n", false),
            m("c/templates/sub/b.yaml", "kind: B\n", false),
        ];
        let show = vec!["templates/sub/*".to_owned()];
        let s = Stream {
            crds: &[],
            manifests: &manifests,
            hooks: &[],
            skip_tests: false,
            show_only: &show,
        };
        assert_eq!(
            write(&s).unwrap(),
            "---\n# Source: c/templates/sub/b.yaml\nkind: B\n"
        );
        let show = vec!["templates/none.yaml".to_owned()];
        let s = Stream {
            crds: &[],
            manifests: &manifests,
            hooks: &[],
            skip_tests: false,
            show_only: &show,
        };
        assert_eq!(
            write(&s).unwrap_err().to_string(),
            "could not find template templates/none.yaml in chart"
        );
    }
}
