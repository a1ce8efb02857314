//! Names of the environment variables kiln reads.

/// Log filter, `tracing_subscriber::EnvFilter` syntax (e.g. `kiln=debug`).
pub const KILN_LOG: &str = "KILN_LOG";
/// Cache directory; default `$XDG_CACHE_HOME/kiln` or `~/.cache/kiln`.
pub const KILN_CACHE_DIR: &str = "KILN_CACHE_DIR";
/// Memory cap of a plugin call.
pub const KILN_MEMORY_LIMIT: &str = "KILN_MEMORY_LIMIT";
/// Time bound of a plugin call.
pub const KILN_TIMEOUT: &str = "KILN_TIMEOUT";
/// Output cap of a plugin call.
pub const KILN_OUTPUT_LIMIT: &str = "KILN_OUTPUT_LIMIT";
/// Ceiling on the memory cap any step may have, `kiln.yaml` included.
pub const KILN_MAX_MEMORY: &str = "KILN_MAX_MEMORY";
/// Ceiling on the time bound any step may have, `kiln.yaml` included.
pub const KILN_MAX_TIMEOUT: &str = "KILN_MAX_TIMEOUT";
/// Ceiling on the output cap any step may have, `kiln.yaml` included.
pub const KILN_MAX_OUTPUT: &str = "KILN_MAX_OUTPUT";
/// Disable colour (<https://no-color.org>).
pub const NO_COLOR: &str = "NO_COLOR";
/// Target Kubernetes version (Argo CD passes it to config management plugins).
pub const KUBE_VERSION: &str = "KUBE_VERSION";
/// Target API versions, comma-separated (Argo CD passes it).
pub const KUBE_API_VERSIONS: &str = "KUBE_API_VERSIONS";
/// XDG cache base.
pub const XDG_CACHE_HOME: &str = "XDG_CACHE_HOME";
/// Home directory.
pub const HOME: &str = "HOME";

/// `kiln render --locked`: fail unless `kiln.lock` pins every plugin.
pub const KILN_LOCKED: &str = "KILN_LOCKED";
/// OCI registries (`host[:port]`, comma-separated) reached over plain HTTP
/// instead of HTTPS, e.g. a registry on loopback.
pub const KILN_INSECURE_REGISTRIES: &str = "KILN_INSECURE_REGISTRIES";
/// The longest one OCI registry operation (a pull, a tag lookup, a push)
/// may take, e.g. `90s` (default 5m): a registry that trickles its bytes
/// cannot hold a render longer.
pub const KILN_REGISTRY_TIMEOUT: &str = "KILN_REGISTRY_TIMEOUT";
/// The only OCI registries (`host[:port]`, comma-separated) `oci://`
/// plugins may come from; unset or empty: any. The operator's bound on
/// the hosts a repository's `kiln.yaml` can make kiln contact.
pub const KILN_ALLOWED_REGISTRIES: &str = "KILN_ALLOWED_REGISTRIES";
/// The operator's trust policy for `oci://` plugins: a YAML file in the
/// vocabulary of `trust:` in `kiln.yaml` (`require`, `keys`,
/// `identities`, `trustedRoot`; paths relative to the file). Every OCI
/// plugin must meet it as well as its pipeline's own policy, which cannot
/// weaken it.
pub const KILN_PLUGIN_POLICY: &str = "KILN_PLUGIN_POLICY";

/// Environment: the agent's webhook token (when no `--webhook-token-file`).
pub const KILN_WEBHOOK_TOKEN: &str = "KILN_WEBHOOK_TOKEN";

/// The kiln cache directory.
pub fn cache_dir() -> std::path::PathBuf {
    if let Some(dir) = std::env::var_os(KILN_CACHE_DIR).filter(|d| !d.is_empty()) {
        return dir.into();
    }
    if let Some(dir) = std::env::var_os(XDG_CACHE_HOME).filter(|d| !d.is_empty()) {
        return std::path::PathBuf::from(dir).join("kiln");
    }
    match std::env::var_os(HOME).filter(|d| !d.is_empty()) {
        Some(home) => std::path::PathBuf::from(home).join(".cache").join("kiln"),
        None => std::env::temp_dir().join("kiln-cache"),
    }
}

/// The operator's ceiling on every step's limits from the `KILN_MAX_*`
/// variables (for commands without the flags); `None` when none is set.
pub fn limits_ceiling() -> Result<Option<crate::runtime::Limits>, String> {
    use crate::runtime::limits::{parse_duration, parse_size};
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let memory = var(KILN_MAX_MEMORY)
        .as_deref()
        .map(parse_size)
        .transpose()?;
    let time = var(KILN_MAX_TIMEOUT)
        .as_deref()
        .map(parse_duration)
        .transpose()?;
    let output = var(KILN_MAX_OUTPUT)
        .as_deref()
        .map(parse_size)
        .transpose()?;
    Ok(ceiling(memory, time, output))
}

/// A ceiling from its parts; `None` when no part is set.
pub fn ceiling(
    memory: Option<usize>,
    time: Option<std::time::Duration>,
    output: Option<usize>,
) -> Option<crate::runtime::Limits> {
    (memory.is_some() || time.is_some() || output.is_some()).then(|| crate::runtime::Limits {
        memory: memory.unwrap_or(usize::MAX),
        time: time.unwrap_or(std::time::Duration::MAX),
        output: output.unwrap_or(usize::MAX),
    })
}
