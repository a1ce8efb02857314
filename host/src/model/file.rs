//! `kiln.yaml`: the pipeline file.
//!
//! ```yaml
//! apiVersion: kiln.dev/v1alpha1
//! kind: Pipeline
//! metadata:
//!   name: web            # optional; default: the directory's name
//!   namespace: prod      # optional; default namespace of the render
//! steps:
//! - name: chart          # optional; default: the plugin's name
//!   plugin: helm         # a built-in name, or a path to a .wasm component
//!   with: {release-name: web}
//!   secrets: [sops-age-keys]
//!   limits: {memory: 256MiB, timeout: 10s, output: 16MiB}
//! ```

use std::collections::BTreeSet;

use serde::Deserialize;

/// The name of the pipeline file in an app directory.
pub const FILE_NAME: &str = "kiln.yaml";
/// The only `apiVersion` this kiln reads.
pub const API_VERSION: &str = "kiln.dev/v1alpha1";

/// A parsed `kiln.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PipelineFile {
    /// Must be [`API_VERSION`].
    pub api_version: String,
    /// Must be `Pipeline`.
    pub kind: String,
    /// Optional metadata.
    #[serde(default)]
    pub metadata: Metadata,
    /// The steps, in order.
    pub steps: Vec<StepSpec>,
}

/// `metadata:` of a pipeline.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    /// App name.
    pub name: Option<String>,
    /// Default namespace.
    pub namespace: Option<String>,
}

/// One step of `steps:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    /// Step name; default: the plugin's name.
    pub name: Option<String>,
    /// A built-in plugin name or a path to a `.wasm` component.
    pub plugin: String,
    /// The step's config, handed to the plugin as JSON.
    #[serde(default)]
    pub with: Option<serde_json::Value>,
    /// Secrets granted to the step.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// Per-call limits.
    #[serde(default)]
    pub limits: LimitsSpec,
}

/// `limits:` of a step; each unset field keeps the render's default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSpec {
    /// Memory cap, e.g. `256MiB`.
    pub memory: Option<String>,
    /// Time bound, e.g. `10s`.
    pub timeout: Option<String>,
    /// Output cap, e.g. `16MiB`.
    pub output: Option<String>,
}

/// `kiln.yaml` could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The text is not valid YAML or does not fit the schema.
    #[error("{file}:{line}:{column}: {message}")]
    Invalid {
        /// The file.
        file: String,
        /// 1-based line (0 when unknown).
        line: u64,
        /// 1-based column (0 when unknown).
        column: u64,
        /// What is wrong.
        message: String,
    },
    /// `apiVersion` or `kind` is not the expected one.
    #[error(
        "{file}: expected apiVersion {API_VERSION} and kind Pipeline, found {api_version} {kind}"
    )]
    WrongKind {
        /// The file.
        file: String,
        /// What it says.
        api_version: String,
        /// What it says.
        kind: String,
    },
    /// Two steps share a name.
    #[error("{file}: two steps are named `{name}`")]
    DuplicateStep {
        /// The file.
        file: String,
        /// The name.
        name: String,
    },
    /// No steps.
    #[error("{file}: the pipeline has no steps")]
    NoSteps {
        /// The file.
        file: String,
    },
}

/// Parses `text`, the contents of `file`.
pub fn parse(text: &str, file: &str) -> Result<PipelineFile, Error> {
    let parsed: PipelineFile =
        kiln_resource::yaml::from_str(text, file).map_err(|e| Error::Invalid {
            file: e.file,
            line: e.line,
            column: e.column,
            message: e.message,
        })?;
    if parsed.api_version != API_VERSION || parsed.kind != "Pipeline" {
        return Err(Error::WrongKind {
            file: file.to_owned(),
            api_version: parsed.api_version,
            kind: parsed.kind,
        });
    }
    if parsed.steps.is_empty() {
        return Err(Error::NoSteps {
            file: file.to_owned(),
        });
    }
    let mut seen = BTreeSet::new();
    for step in &parsed.steps {
        let name = step.name.clone().unwrap_or_else(|| step.plugin.clone());
        if !seen.insert(name.clone()) {
            return Err(Error::DuplicateStep {
                file: file.to_owned(),
                name,
            });
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_pipeline() {
        let p = parse(
            "apiVersion: kiln.dev/v1alpha1\nkind: Pipeline\nsteps:\n- plugin: directory\n- name: label\n  plugin: ./label.wasm\n  with: {team: a}\n  secrets: [k]\n  limits: {memory: 64MiB}\n",
            "kiln.yaml",
        )
        .unwrap();
        assert_eq!(p.steps.len(), 2);
        assert_eq!(p.steps[1].with.as_ref().unwrap()["team"], "a");
        assert_eq!(p.steps[1].limits.memory.as_deref(), Some("64MiB"));
    }

    #[test]
    fn unknown_fields_name_file_and_line() {
        let err = parse(
            "apiVersion: kiln.dev/v1alpha1\nkind: Pipeline\nsteps:\n- plugin: directory\n  wiht: {}\n",
            "apps/web/kiln.yaml",
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("apps/web/kiln.yaml:5:"), "{text}");
        assert!(text.contains("wiht"), "{text}");
    }

    #[test]
    fn wrong_types_name_the_line() {
        let err = parse(
            "apiVersion: kiln.dev/v1alpha1\nkind: Pipeline\nsteps:\n- plugin: [a]\n",
            "k.yaml",
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("k.yaml:4:"), "{err}");
    }

    #[test]
    fn wrong_kind_and_duplicate_steps() {
        assert!(matches!(
            parse("apiVersion: v1\nkind: ConfigMap\nsteps: []\n", "k.yaml"),
            Err(Error::WrongKind { .. })
        ));
        assert!(matches!(
            parse(
                "apiVersion: kiln.dev/v1alpha1\nkind: Pipeline\nsteps:\n- plugin: a\n- plugin: a\n",
                "k.yaml"
            ),
            Err(Error::DuplicateStep { .. })
        ));
    }
}
