//! `kiln.yaml`: the pipeline file.
//!
//! ```yaml
//! apiVersion: kiln.dev/v1alpha1
//! kind: Pipeline
//! metadata:
//!   name: web            # optional; default: the directory's name
//!   namespace: prod      # optional; default namespace of the render
//! trust:                 # optional; checked for oci:// plugins
//!   require: signed      # or `none` (the default)
//!   keys: [keys/cosign.pub]
//!   trustedRoot: sigstore/trusted_root.json   # for identities (keyless)
//!   identities: [{issuer: https://token.actions.githubusercontent.com, subjectRegExp: ^https://github.com/acme/}]
//! steps:
//! - name: chart          # optional; default: the plugin's name
//!   plugin: helm         # a built-in name, a path to a .wasm, or oci://REGISTRY/REPO:TAG
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
    /// The signatures OCI plugins must carry.
    #[serde(default)]
    pub trust: Option<TrustSpec>,
    /// The steps, in order.
    pub steps: Vec<StepSpec>,
}

/// `trust:` of a pipeline: what the `oci://` plugins of its steps must
/// carry, in cosign's vocabulary.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustSpec {
    /// `signed`: every OCI plugin needs a cosign signature made by one of
    /// `keys`; `none` (the default): signatures are not checked.
    #[serde(default)]
    pub require: Require,
    /// Public keys (PEM, ECDSA P-256, as `cosign generate-key-pair`
    /// writes `cosign.pub`), paths relative to the app directory.
    #[serde(default)]
    pub keys: Vec<String>,
    /// Identities whose keyless (Fulcio certificate) signatures are
    /// accepted.
    #[serde(default)]
    pub identities: Vec<IdentitySpec>,
    /// Sigstore's `trusted_root.json` (Fulcio CAs, Rekor keys), a path
    /// relative to the app directory: keyless signatures are checked
    /// against it, offline.
    #[serde(default, rename = "trustedRoot")]
    pub trusted_root: Option<String>,
}

/// One identity of `trust.identities`, in cosign's vocabulary: an OIDC
/// issuer and a certificate subject, each exact or a regular expression.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IdentitySpec {
    /// The OIDC issuer, exactly.
    pub issuer: Option<String>,
    /// The OIDC issuer, a regular expression.
    pub issuer_reg_exp: Option<String>,
    /// The certificate's subject (URI or e-mail SAN), exactly.
    pub subject: Option<String>,
    /// The certificate's subject, a regular expression.
    pub subject_reg_exp: Option<String>,
}

/// `trust.require`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Require {
    /// Signatures are not checked.
    #[default]
    None,
    /// A signature by a trusted key is required.
    Signed,
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
    /// A built-in plugin name, a path to a `.wasm` component, or an
    /// `oci://` reference.
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
    /// A name or path holds a control character (it would print as
    /// lines of kiln's own).
    #[error("{file}: the {field} {value:?} holds a control character")]
    ControlCharacter {
        /// The file.
        file: String,
        /// Which field.
        field: &'static str,
        /// Its value, escaped.
        value: String,
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
    if let Some(trust) = &parsed.trust {
        let invalid = |message: &str| Error::Invalid {
            file: file.to_owned(),
            line: 0,
            column: 0,
            message: message.to_owned(),
        };
        if trust.require == Require::Signed && trust.keys.is_empty() && trust.identities.is_empty()
        {
            return Err(invalid(
                "trust.require is `signed` but trust names no key and no identity",
            ));
        }
        if !trust.identities.is_empty() && trust.trusted_root.is_none() {
            return Err(invalid(
                "trust.identities needs trust.trustedRoot (Sigstore's trusted_root.json) to check certificates against",
            ));
        }
        for id in &trust.identities {
            if id.issuer.is_some() == id.issuer_reg_exp.is_some()
                || id.subject.is_some() == id.subject_reg_exp.is_some()
            {
                return Err(invalid(
                    "each of trust.identities needs one of issuer or issuerRegExp and one of subject or subjectRegExp",
                ));
            }
        }
    }
    let texts = [
        ("app name", parsed.metadata.name.as_ref()),
        ("namespace", parsed.metadata.namespace.as_ref()),
    ]
    .into_iter()
    .chain(
        parsed
            .steps
            .iter()
            .flat_map(|s| [("step name", s.name.as_ref()), ("plugin", Some(&s.plugin))]),
    );
    for (field, value) in texts {
        if let Some(value) = value.filter(|v| v.chars().any(char::is_control)) {
            return Err(Error::ControlCharacter {
                file: file.to_owned(),
                field,
                value: value.clone(),
            });
        }
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
    fn a_trust_policy_must_name_who_may_sign() {
        let pipeline = |trust: &str| {
            format!(
                "apiVersion: kiln.dev/v1alpha1\nkind: Pipeline\ntrust:\n{trust}steps:\n- plugin: directory\n"
            )
        };
        let ok = parse(
            &pipeline("  require: signed\n  trustedRoot: r.json\n  identities:\n  - {issuer: i, subjectRegExp: s}\n"),
            "kiln.yaml",
        )
        .unwrap();
        let trust = ok.trust.unwrap();
        assert_eq!(trust.require, Require::Signed);
        assert_eq!(trust.identities[0].subject_reg_exp.as_deref(), Some("s"));
        for (bad, says) in [
            ("  require: signed\n", "names no key and no identity"),
            (
                "  identities:\n  - {issuer: i, subject: s}\n",
                "needs trust.trustedRoot",
            ),
            (
                "  trustedRoot: r.json\n  identities:\n  - {issuer: i}\n",
                "one of subject or subjectRegExp",
            ),
            (
                "  trustedRoot: r.json\n  identities:\n  - {issuer: i, issuerRegExp: j, subject: s}\n",
                "one of issuer or issuerRegExp",
            ),
            ("  require: always\n", "unknown variant"),
        ] {
            let err = parse(&pipeline(bad), "kiln.yaml").unwrap_err().to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
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
