//! The CNCF Wasm OCI artifact layout (TAG-Runtime's "Wasm OCI Artifact"):
//! an OCI image manifest whose config has media type
//! `application/vnd.wasm.config.v0+json` and whose only layer is the
//! `application/wasm` module or component. `wkg oci` and `oras` read and
//! write the same layout.

use serde::Deserialize;

/// Media type of an OCI image manifest.
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// Media type of the artifact's config.
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.wasm.config.v0+json";
/// Media type of the artifact's one layer.
pub const WASM_MEDIA_TYPE: &str = "application/wasm";

/// What the bytes of a plugin are, for the config's `os`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WasmKind {
    /// A WASI 0.2 component (`os: wasip2`).
    Component,
    /// A WASI preview 1 core module (`os: wasip1`), a KRM function.
    CoreModule,
}

impl WasmKind {
    /// The kind of `wasm` by its header.
    pub fn of(wasm: &[u8]) -> Option<Self> {
        match wasm.get(..8)? {
            b"\0asm\x01\0\0\0" => Some(Self::CoreModule),
            [0, b'a', b's', b'm', _, _, 1, 0] => Some(Self::Component),
            _ => None,
        }
    }

    fn os(self) -> &'static str {
        match self {
            Self::Component => "wasip2",
            Self::CoreModule => "wasip1",
        }
    }
}

/// The manifest and config to push for `wasm`; `target` is the world a
/// component implements (`kiln:plugin/plugin@X.Y.Z`), if any.
pub fn config_json(wasm: &[u8], kind: WasmKind, target: Option<&str>, created: &str) -> Vec<u8> {
    let mut config = serde_json::json!({
        "created": created,
        "architecture": "wasm",
        "os": kind.os(),
        "layerDigests": [super::store::sha256_digest(wasm)],
    });
    if kind == WasmKind::Component {
        config["component"] = serde_json::json!({
            "exports": [],
            "imports": [],
            "target": target,
        });
    }
    serde_json::to_vec(&config).expect("JSON values always serialize")
}

/// What an artifact's manifest says, checked against the layout.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The config's digest.
    pub config_digest: String,
    /// The config's size in bytes.
    pub config_size: i64,
    /// The wasm layer's digest.
    pub layer_digest: String,
    /// The wasm layer's size in bytes.
    pub layer_size: i64,
}

/// A manifest or config that is not a Wasm artifact kiln can run.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    /// Not JSON of an OCI image manifest.
    #[error("the manifest is not an OCI image manifest: {0}")]
    NotAManifest(String),
    /// Another media type than the layout's.
    #[error("the {what} has media type `{found}`, not `{expected}` (not a Wasm OCI artifact)")]
    MediaType {
        /// Manifest, config or layer.
        what: &'static str,
        /// What it has.
        found: String,
        /// What the layout asks for.
        expected: &'static str,
    },
    /// Not exactly one layer.
    #[error("the artifact has {0} layers; a Wasm OCI artifact has exactly one")]
    Layers(usize),
    /// The config is not the layout's JSON, or names another platform.
    #[error("the artifact's config {0}")]
    Config(String),
}

/// Checks the manifest `bytes` against the Wasm artifact layout.
pub fn check_manifest(bytes: &[u8]) -> Result<Checked, LayoutError> {
    let manifest: oci_client::manifest::OciImageManifest =
        serde_json::from_slice(bytes).map_err(|e| LayoutError::NotAManifest(e.to_string()))?;
    if let Some(found) = manifest
        .media_type
        .as_deref()
        .filter(|m| *m != MANIFEST_MEDIA_TYPE)
    {
        return Err(LayoutError::MediaType {
            what: "manifest",
            found: found.to_owned(),
            expected: MANIFEST_MEDIA_TYPE,
        });
    }
    if manifest.config.media_type != CONFIG_MEDIA_TYPE {
        return Err(LayoutError::MediaType {
            what: "config",
            found: manifest.config.media_type,
            expected: CONFIG_MEDIA_TYPE,
        });
    }
    let [layer] = manifest.layers.as_slice() else {
        return Err(LayoutError::Layers(manifest.layers.len()));
    };
    if layer.media_type != WASM_MEDIA_TYPE {
        return Err(LayoutError::MediaType {
            what: "layer",
            found: layer.media_type.clone(),
            expected: WASM_MEDIA_TYPE,
        });
    }
    for digest in [&manifest.config.digest, &layer.digest] {
        if !super::reference::is_sha256_digest(digest) {
            return Err(LayoutError::NotAManifest(format!(
                "the digest `{digest}` is not sha256"
            )));
        }
    }
    Ok(Checked {
        config_digest: manifest.config.digest.clone(),
        config_size: manifest.config.size,
        layer_digest: layer.digest.clone(),
        layer_size: layer.size,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Config {
    architecture: Option<String>,
    os: Option<String>,
    #[serde(default)]
    layer_digests: Option<Vec<String>>,
}

/// Checks the config `bytes` and the `wasm` of `layer_digest` against each
/// other: `architecture: wasm`, `os: wasip2` for a component or `wasip1`
/// for a core module.
pub fn check_config(bytes: &[u8], layer_digest: &str, wasm: &[u8]) -> Result<(), LayoutError> {
    let config: Config = serde_json::from_slice(bytes)
        .map_err(|e| LayoutError::Config(format!("is not JSON of the layout ({e})")))?;
    if config.architecture.as_deref() != Some("wasm") {
        return Err(LayoutError::Config(format!(
            "says architecture `{}`, not `wasm`",
            config.architecture.unwrap_or_default()
        )));
    }
    let Some(kind) = WasmKind::of(wasm) else {
        return Err(LayoutError::Config(
            "names a layer that is not WebAssembly".into(),
        ));
    };
    let os = config.os.unwrap_or_default();
    if os != kind.os() {
        return Err(LayoutError::Config(format!(
            "says os `{os}`, but the layer is a {} (os `{}`)",
            match kind {
                WasmKind::Component => "component",
                WasmKind::CoreModule => "core module",
            },
            kind.os()
        )));
    }
    if let Some(listed) = config.layer_digests
        && !listed.iter().any(|d| d == layer_digest)
    {
        return Err(LayoutError::Config(format!(
            "lists layerDigests that do not include the layer {layer_digest}"
        )));
    }
    Ok(())
}
