//! `kiln plugin`.

use std::path::PathBuf;

use anyhow::Context as _;

use super::{ExitStatus, GlobalArgs, Hint, write_stdout};
use crate::runtime::{CompiledCache, Limits, Runtime, limits};

/// Work with plugins.
#[derive(Debug, clap::Subcommand)]
pub enum PluginCommand {
    /// Print a plugin's name, version, description, config schema and contract version.
    Inspect {
        /// A built-in plugin name or a path to a `.wasm` component.
        plugin: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Time bound of the plugin's `info()` call.
        #[arg(long, value_name = "DURATION", env = crate::env::KILN_TIMEOUT, value_parser = limits::parse_duration)]
        timeout: Option<std::time::Duration>,
        /// Memory bound of the plugin's `info()` call.
        #[arg(long, value_name = "SIZE", env = crate::env::KILN_MEMORY_LIMIT, value_parser = limits::parse_size)]
        memory_limit: Option<usize>,
    },
    /// List the built-in plugins.
    List,
    /// Write a new plugin project: source, the contract, tests, a README.
    New {
        /// The language of the project.
        lang: crate::devkit::Lang,
        /// The plugin's name (lowercase letters, digits and `-`).
        name: String,
        /// Where to write it (default: ./NAME).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Compile a plugin project into DIR/plugin.wasm and check it.
    Build {
        /// The project's directory.
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Push a plugin to an OCI registry as a Wasm OCI artifact; prints its digest.
    Push {
        /// The plugin: a component of the kiln:plugin world or a KRM function module.
        file: PathBuf,
        /// Where to push it: `oci://REGISTRY/REPOSITORY:TAG`.
        reference: String,
        /// Sign it (cosign's format) with this ECDSA P-256 private key (unencrypted PKCS#8 PEM).
        #[arg(long, value_name = "KEY")]
        sign_key: Option<PathBuf>,
    },
    /// Pin a plugin in the app's kiln.lock: resolve an oci:// tag, pull, check, verify.
    Add {
        /// An `oci://REGISTRY/REPOSITORY:TAG` (or `@sha256:…`) reference, or a .wasm path.
        plugin: String,
        /// The app directory (where kiln.yaml and kiln.lock are).
        #[arg(long, value_name = "DIR", default_value = ".")]
        app: PathBuf,
    },
    /// Pin the app's plugins again: re-resolve tags, re-hash files, rewrite kiln.lock.
    Update {
        /// Only this plugin (its reference in kiln.yaml, or its step's name).
        name: Option<String>,
        /// The app directory (where kiln.yaml and kiln.lock are).
        #[arg(long, value_name = "DIR", default_value = ".")]
        app: PathBuf,
    },
    /// Check kiln.lock: every plugin locked, bytes and digests as pinned, signatures as the trust policy asks.
    Verify {
        /// The app directory (where kiln.yaml and kiln.lock are).
        #[arg(long, value_name = "DIR", default_value = ".")]
        app: PathBuf,
    },
    /// Run a plugin on the cases under DIR/tests and compare with their golden files.
    Test {
        /// The project's directory.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// The component to test (default: DIR/plugin.wasm).
        #[arg(long)]
        plugin: Option<PathBuf>,
        /// Rewrite expected.yaml / expected-error.txt from what the plugin gives.
        #[arg(long)]
        update: bool,
    },
}

impl PluginCommand {
    /// Runs the command.
    pub fn execute(self, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
        match self {
            Self::Push {
                file,
                reference,
                sign_key,
            } => super::plugin_oci::push(&file, &reference, sign_key.as_ref()),
            Self::Add { plugin, app } => super::plugin_oci::add(&plugin, &app, global),
            Self::Update { name, app } => super::plugin_oci::update(name.as_deref(), &app, global),
            Self::Verify { app } => super::plugin_oci::verify(&app, global),
            Self::New { lang, name, dir } => super::plugin_dev::new(lang, &name, dir),
            Self::Build { dir } => super::plugin_dev::build(&dir),
            Self::Test {
                dir,
                plugin,
                update,
            } => super::plugin_dev::test(&dir, plugin, update),
            Self::List => {
                write_stdout(
                    &crate::builtin::names()
                        .iter()
                        .fold(String::new(), |out, n| out + n + "\n"),
                )?;
                Ok(ExitStatus::Success)
            }
            Self::Inspect {
                plugin,
                json,
                timeout,
                memory_limit,
            } => {
                let bytes = match crate::builtin::get(&plugin) {
                    Some(b) => b.to_vec(),
                    None if PathBuf::from(&plugin).exists() => {
                        crate::runtime::read_plugin_file(plugin.as_ref())
                            .with_context(|| format!("cannot read plugin {plugin}"))?
                    }
                    None => {
                        return Err(Hint::error(
                            format!("no built-in plugin or file named `{plugin}`"),
                            format!("built-in plugins: {}", crate::builtin::names().join(", ")),
                        ));
                    }
                };
                let runtime = Runtime::new(Some(CompiledCache::new(&crate::env::cache_dir())))?;
                let loaded = runtime.load(&plugin, &bytes)?;
                let empty = tempfile::tempdir().context("cannot create an empty source root")?;
                let limits = Limits {
                    time: timeout.unwrap_or(Limits::DEFAULT_TIME),
                    memory: memory_limit.unwrap_or(Limits::DEFAULT_MEMORY),
                    ..Limits::default()
                };
                let info = loaded
                    .info(empty.path(), limits)
                    .with_context(|| format!("plugin `{plugin}` failed in info()"))?;
                let digest = loaded.digest().to_hex().to_string();
                let kind = loaded.kind();
                let contract = match kind {
                    crate::runtime::Kind::Krm => {
                        "none (config.kubernetes.io/v1 ResourceList)".to_owned()
                    }
                    crate::runtime::Kind::Component => {
                        let v = loaded.contract_version().unwrap_or("unknown");
                        format!("kiln:plugin@{v}")
                    }
                };
                let out = if json {
                    let mut text = serde_json::to_string_pretty(&serde_json::json!({
                        "name": info.name, "version": info.version, "description": info.description,
                        "kind": kind.to_string(), "contract": loaded.contract_version(), "digest": format!("blake3:{digest}"),
                        "configSchema": info.config_schema.as_deref().and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok()),
                    }))?;
                    text.push('\n');
                    text
                } else {
                    format!(
                        "name:        {}\nversion:     {}\ndescription: {}\nkind:        {kind}\ncontract:    {contract}\ndigest:      blake3:{digest}\nconfig:      {}\n",
                        info.name,
                        info.version,
                        info.description,
                        if info.config_schema.is_some() {
                            "JSON Schema published (see --json)"
                        } else {
                            "no schema published"
                        },
                    )
                };
                write_stdout(&out)?;
                Ok(ExitStatus::Success)
            }
        }
    }
}
