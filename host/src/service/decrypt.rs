//! Decrypting one SOPS file through the sandboxed `sops` plugin.

use std::path::Path;

use anyhow::Context as _;
use serde_json::json;

use super::Hint;
use super::keys::{AGE_SECRET, PGP_SECRET};
use super::render::RenderService;
use crate::pipeline::{self, Pipeline, PluginRef, RenderOptions, RunWhen, Step};
use crate::runtime::Limits;

impl RenderService {
    /// The plaintext of the SOPS-encrypted `file` (YAML, JSON, dotenv, INI
    /// or binary; `format` overrides what its name says), decrypted by the
    /// built-in `sops` plugin with the keys in `secrets` (see
    /// [`super::keys::sops_secrets`]). The plaintext never reaches a cache.
    pub fn decrypt_file(
        &self,
        file: &Path,
        format: Option<&str>,
        secrets: Vec<(String, Vec<u8>)>,
    ) -> anyhow::Result<Vec<u8>> {
        let file = file.canonicalize().map_err(|e| {
            Hint::error(
                format!("cannot read {}: {e}", file.display()),
                "pass the path of a SOPS-encrypted file",
            )
        })?;
        let dir = file.parent().context("a file has a parent directory")?;
        let app = crate::source::local_app(dir, Some(dir))?;
        let name = file
            .file_name()
            .context("a file has a name")?
            .to_string_lossy()
            .into_owned();
        let mut config = json!({ "file": name });
        if let Some(format) = format {
            config["format"] = format.into();
        }
        let pipeline = Pipeline {
            steps: vec![Step {
                name: "decrypt".into(),
                plugin: PluginRef::Builtin("sops".into()),
                config,
                secrets: vec![AGE_SECRET.into(), PGP_SECRET.into()],
                limits: Limits::default(),
                when: RunWhen::Always,
            }],
            detected: None,
            name: Some(name),
            namespace: None,
        };
        let opts = RenderOptions {
            kube_version: pipeline::DEFAULT_KUBE_VERSION.into(),
            secrets,
            keep_decrypted_files: true,
            ..RenderOptions::default()
        };
        let rendered = pipeline::render(&app, &pipeline, &opts, self.runtime())?;
        let content = rendered
            .resources
            .iter()
            .find(|r| r["kind"] == pipeline::DECRYPTED_FILE_KIND)
            .and_then(|r| r["content"].as_str())
            .context("the sops plugin returned no DecryptedFile")?;
        let clean: String = content.split_ascii_whitespace().collect();
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, clean)
            .context("the sops plugin returned invalid base64")
    }
}
