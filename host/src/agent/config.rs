//! The `Agent` file: what `kiln agent` watches and how, kept in the config
//! repository itself (no CRD).
//!
//! ```yaml
//! apiVersion: kiln.dev/v1alpha1
//! kind: Agent
//! metadata: {name: prod}                 # optional; default `kiln`
//! source:
//!   url: https://git.example/org/config.git   # optional; default the agent's --repo
//!   ref: {branch: main}                  # or {tag: v1.2.0}; default the agent's --ref
//!   interval: 1m                         # how often the remote's refs are listed
//!   secretRef: {name: kiln-git}          # a Secret with `token` (or `username`+`password`)
//!   credentialsFile: /etc/kiln/git/token # or a mounted file holding a token
//! apps:
//!   root: clusters/prod/apps             # apps are found below it as `kiln render --all` finds them
//!   exclude: ["**/testdata/**"]
//! inventoryNamespace: kiln-system
//! defaults: {interval: 10m, retryInterval: 2m, timeout: 5m, prune: true, drift: correct, wait: false}
//! overrides:
//! - match: payments/*                    # a glob over the app's path below `apps.root`
//!   dependsOn: [platform/cert-manager]
//!   drift: detect
//!   suspend: true
//! limits: {memory: 1GiB, timeout: 2m, output: 64MiB}   # ceilings for every plugin call
//! secrets:
//! - name: sops-age                       # the name steps ask for
//!   fromSecret: {name: kiln-sops, key: age.txt}        # or `file: /etc/kiln/sops/age.txt`
//!   plugins: [sops]                      # built-in names or blake3:<digest>
//!   apps: ["payments/*"]                 # globs; default every app
//! webhook: {type: github}                # github | gitlab | generic
//! cache: redis://kiln-cache:6379         # a render cache shared by the replicas; or `off`
//! sharding:                              # replicas started with --member split the apps
//!   group: prod                          # replicas of one group share the apps; default metadata.name
//!   leaseNamespace: kiln-system          # where the member Leases are; default the agent's namespace
//!   leaseDuration: 15s                   # a replica silent this long is gone; its apps move
//!   renewDeadline: 10s                   # a replica that cannot renew this long stops applying
//!   retryPeriod: 2s                      # how often Leases are renewed and read
//! ```
//!
//! The agent's flags (`--cache`, `--shard-group`, `--lease-namespace`,
//! `--lease-duration`, `--renew-deadline`, `--retry-period`) override the
//! file, field by field.
//!
//! Durations are `500ms`, `30s`, `10m` or `1h`. Unknown fields are errors
//! that name the file, the line and the field.

use std::time::Duration;

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Deserialize;

/// The only `apiVersion` this kiln reads.
pub const API_VERSION: &str = "kiln.dev/v1alpha1";

/// The `Agent` file could not be used.
#[derive(Debug, thiserror::Error)]
#[error("{file}{}: {message}", location(*.line, *.column))]
pub struct Error {
    /// The file, as a path in the repository.
    pub file: String,
    /// 1-based line, 0 when unknown.
    pub line: u64,
    /// 1-based column, 0 when unknown.
    pub column: u64,
    /// What is wrong, naming the field.
    pub message: String,
    /// What to do about it.
    pub hint: String,
}

fn location(line: u64, column: u64) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(":{line}:{column}")
    }
}

/// How drift (live objects that differ from the render) is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drift {
    /// Re-apply the drifted objects.
    Correct,
    /// Report the drift in the status; write nothing.
    Detect,
    /// No drift check.
    Off,
}

impl<'de> Deserialize<'de> for Drift {
    /// `correct`, `detect` or `off`; YAML 1.1 reads a bare `off` as `false`,
    /// which means `off` too.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Flag(bool),
        }
        match Raw::deserialize(d)? {
            Raw::Text(t) if t == "correct" => Ok(Drift::Correct),
            Raw::Text(t) if t == "detect" => Ok(Drift::Detect),
            Raw::Text(t) if t == "off" => Ok(Drift::Off),
            Raw::Flag(false) => Ok(Drift::Off),
            Raw::Text(t) => Err(serde::de::Error::custom(format!(
                "drift: `{t}` is not one of correct, detect, off"
            ))),
            Raw::Flag(true) => Err(serde::de::Error::custom(
                "drift: expected correct, detect or off",
            )),
        }
    }
}

/// How webhooks prove they come from the git host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookType {
    /// `X-Hub-Signature-256`: HMAC-SHA256 of the body with the token.
    #[default]
    Github,
    /// `X-Gitlab-Token`: the token itself.
    Gitlab,
    /// The secret path alone.
    Generic,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct File {
    api_version: String,
    kind: String,
    #[serde(default)]
    metadata: Metadata,
    #[serde(default)]
    source: SourceSpec,
    #[serde(default)]
    apps: AppsSpec,
    inventory_namespace: Option<String>,
    #[serde(default)]
    defaults: PolicySpec,
    #[serde(default)]
    overrides: Vec<OverrideSpec>,
    #[serde(default)]
    limits: crate::pipeline::file::LimitsSpec,
    #[serde(default)]
    secrets: Vec<SecretSpec>,
    #[serde(default)]
    webhook: WebhookSpec,
    cache: Option<String>,
    #[serde(default)]
    sharding: ShardingSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ShardingSpec {
    group: Option<String>,
    lease_namespace: Option<String>,
    lease_duration: Option<String>,
    renew_deadline: Option<String>,
    retry_period: Option<String>,
}

/// The `sharding` block: how the replicas of a group split the apps. Each
/// field is optional; the agent's flags override it, and unset fields take
/// the defaults of [`super::shard::ShardSettings::new`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sharding {
    /// The replicas that split one set of apps (default: `metadata.name`).
    pub group: Option<String>,
    /// Where the member Leases are (default: the agent's namespace).
    pub lease_namespace: Option<String>,
    /// A replica whose Lease has not moved for this long is gone.
    pub lease_duration: Option<Duration>,
    /// A replica that cannot renew for this long stops applying.
    pub renew_deadline: Option<Duration>,
    /// How often Leases are renewed and read.
    pub retry_period: Option<Duration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Metadata {
    name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SourceSpec {
    url: Option<String>,
    #[serde(rename = "ref")]
    reference: Option<RefSpec>,
    interval: Option<String>,
    secret_ref: Option<SecretRef>,
    credentials_file: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RefSpec {
    branch: Option<String>,
    tag: Option<String>,
}

/// A Secret in the agent's namespace.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretRef {
    /// The Secret's name.
    pub name: String,
    /// The data key (where one is needed).
    #[serde(default)]
    pub key: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AppsSpec {
    root: Option<String>,
    #[serde(default)]
    exclude: Vec<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PolicySpec {
    interval: Option<String>,
    retry_interval: Option<String>,
    timeout: Option<String>,
    prune: Option<bool>,
    drift: Option<Drift>,
    wait: Option<bool>,
    #[serde(default)]
    depends_on: Vec<String>,
    suspend: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct OverrideSpec {
    #[serde(rename = "match")]
    pattern: String,
    #[serde(flatten)]
    policy: PolicySpec,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SecretSpec {
    name: String,
    from_secret: Option<SecretRef>,
    file: Option<String>,
    #[serde(default)]
    plugins: Vec<String>,
    #[serde(default)]
    apps: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct WebhookSpec {
    #[serde(rename = "type", default)]
    kind: WebhookType,
}

/// The policy of one app: the defaults with every matching override on top.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// How often a healthy app is checked for drift (and re-applied).
    pub interval: Duration,
    /// The first wait after a failure; it doubles on each further failure.
    pub retry_interval: Duration,
    /// How long an apply (and its wait) may take.
    pub timeout: Duration,
    /// Delete what a render dropped.
    pub prune: bool,
    /// What to do about drift.
    pub drift: Drift,
    /// Wait for workloads to become ready after an apply.
    pub wait: bool,
    /// Apps (paths below `apps.root`) that must be ready at the same revision first.
    pub depends_on: Vec<String>,
    /// Reconcile nothing.
    pub suspend: bool,
}

impl Default for Policy {
    /// interval 10m, retryInterval 2m, timeout 5m, prune, drift correct, no wait, no
    /// dependencies, not suspended.
    fn default() -> Self {
        Policy {
            interval: Duration::from_mins(10),
            retry_interval: Duration::from_mins(2),
            timeout: Duration::from_mins(5),
            prune: true,
            drift: Drift::Correct,
            wait: false,
            depends_on: Vec::new(),
            suspend: false,
        }
    }
}

/// Where a granted secret's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// A key of a Secret in the agent's namespace.
    Secret(SecretRef),
    /// A file mounted into the agent.
    File(String),
}

/// A secret the operator grants to some plugins of some apps.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The name steps ask for.
    pub name: String,
    /// Where its value is.
    pub source: SecretSource,
    /// Built-in plugin names or `blake3:<digest>`s.
    pub plugins: Vec<String>,
    apps: Option<GlobSet>,
}

impl Grant {
    /// Whether the app at `path` may use this secret.
    pub fn applies_to(&self, path: &str) -> bool {
        self.apps.as_ref().is_none_or(|set| set.is_match(path))
    }
}

/// Where the agent's apps come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The repository (`None`: the agent's `--repo`).
    pub url: Option<String>,
    /// The branch or tag (`None`: the agent's `--ref`).
    pub reference: Option<String>,
    /// How often the remote's refs are listed.
    pub interval: Duration,
    /// A Secret with the git credentials.
    pub secret_ref: Option<SecretRef>,
    /// A file with a git token.
    pub credentials_file: Option<String>,
}

/// A parsed and checked `Agent` file.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// `metadata.name` (default `kiln`).
    pub name: String,
    /// The source.
    pub source: Source,
    /// The apps' root, relative to the repository (`.` for the top).
    pub apps_root: String,
    /// Where the inventories (and statuses) are kept.
    pub inventory_namespace: String,
    /// The operator's ceiling on every plugin call's limits.
    pub ceiling: Option<crate::runtime::Limits>,
    /// Secrets granted to plugins.
    pub grants: Vec<Grant>,
    /// How webhooks authenticate.
    pub webhook: WebhookType,
    /// The render cache: `redis://HOST:PORT[/DB]` or `off` (`None`: the disk cache).
    pub cache: Option<String>,
    /// How replicas split the apps.
    pub sharding: Sharding,
    exclude: GlobSet,
    defaults: PolicySpec,
    overrides: Vec<(GlobSet, String, PolicySpec)>,
}

impl AgentConfig {
    /// Whether the app at `path` (below the apps' root) is left out.
    pub fn excluded(&self, path: &str) -> bool {
        self.exclude.is_match(path)
    }

    /// The policy of the app at `path`: defaults, then each matching override in order.
    pub fn policy(&self, path: &str) -> Policy {
        let mut policy = Policy::default();
        apply_spec(&mut policy, &self.defaults);
        for (set, _, spec) in &self.overrides {
            if set.is_match(path) {
                apply_spec(&mut policy, spec);
            }
        }
        policy
    }
}

fn apply_spec(policy: &mut Policy, spec: &PolicySpec) {
    // Durations were checked by `parse`.
    let d = |t: &Option<String>| t.as_deref().and_then(|t| parse_duration(t).ok());
    if let Some(v) = d(&spec.interval) {
        policy.interval = v;
    }
    if let Some(v) = d(&spec.retry_interval) {
        policy.retry_interval = v;
    }
    if let Some(v) = d(&spec.timeout) {
        policy.timeout = v;
    }
    if let Some(v) = spec.prune {
        policy.prune = v;
    }
    if let Some(v) = spec.drift {
        policy.drift = v;
    }
    if let Some(v) = spec.wait {
        policy.wait = v;
    }
    if let Some(v) = spec.suspend {
        policy.suspend = v;
    }
    for dep in &spec.depends_on {
        if !policy.depends_on.contains(dep) {
            policy.depends_on.push(dep.clone());
        }
    }
}

/// Parses a duration: a whole number with `ms`, `s`, `m` or `h`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (e.g. 30s, 10m, 1h)"))?;
    let secs = |mult: u64| {
        n.checked_mul(mult)
            .map(Duration::from_secs)
            .ok_or_else(|| format!("`{text}` is too long"))
    };
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => secs(1),
        "m" => secs(60),
        "h" => secs(3600),
        _ => Err(format!(
            "`{text}` has no known unit (use ms, s, m or h, e.g. 30s)"
        )),
    }
}

/// Parses the `Agent` file `text`, read from `file` (a path in the repository).
pub fn parse(text: &str, file: &str) -> Result<AgentConfig, Error> {
    let err = |message: String, hint: &str| Error {
        file: file.to_owned(),
        line: 0,
        column: 0,
        message,
        hint: hint.to_owned(),
    };
    let parsed: File = kiln_resource::yaml::from_str(text, file).map_err(|e| Error {
        file: e.file,
        line: e.line,
        column: e.column,
        message: e.message,
        hint: "see the Agent file's fields in the README (section `kiln agent`)".to_owned(),
    })?;
    if parsed.api_version != API_VERSION || parsed.kind != "Agent" {
        return Err(err(
            format!(
                "expected apiVersion {API_VERSION} and kind Agent, found {} {}",
                parsed.api_version, parsed.kind
            ),
            "point --config at the Agent file",
        ));
    }
    let duration = |field: &str, value: &Option<String>| -> Result<Option<Duration>, Error> {
        value
            .as_deref()
            .map(|v| {
                parse_duration(v).map_err(|m| err(format!("{field}: {m}"), "write e.g. 30s or 10m"))
            })
            .transpose()
    };
    let check_policy = |at: &str, spec: &PolicySpec| -> Result<(), Error> {
        duration(&format!("{at}.interval"), &spec.interval)?;
        duration(&format!("{at}.retryInterval"), &spec.retry_interval)?;
        duration(&format!("{at}.timeout"), &spec.timeout)?;
        if let Some(Duration::ZERO) = duration(&format!("{at}.interval"), &spec.interval)? {
            return Err(err(
                format!("{at}.interval: must be longer than 0s"),
                "use drift: off to stop periodic checks",
            ));
        }
        Ok(())
    };
    check_policy("defaults", &parsed.defaults)?;
    let glob = |field: &str, pattern: &str| {
        Glob::new(pattern).map_err(|e| {
            err(
                format!("{field}: `{pattern}` is not a glob: {e}"),
                "use *, ** and ? as in .gitignore",
            )
        })
    };
    let set = |field: &str, patterns: &[String]| -> Result<GlobSet, Error> {
        let mut b = GlobSetBuilder::new();
        for p in patterns {
            b.add(glob(field, p)?);
        }
        b.build().map_err(|e| err(format!("{field}: {e}"), ""))
    };
    let mut overrides = Vec::new();
    for (i, o) in parsed.overrides.into_iter().enumerate() {
        let at = format!("overrides[{i}]");
        check_policy(&at, &o.policy)?;
        let matcher = set(&format!("{at}.match"), std::slice::from_ref(&o.pattern))?;
        overrides.push((matcher, o.pattern, o.policy));
    }
    let source = parsed.source;
    let reference = match source.reference {
        None => None,
        Some(RefSpec {
            branch: Some(b),
            tag: None,
        }) => Some(b),
        Some(RefSpec {
            branch: None,
            tag: Some(t),
        }) => Some(format!("refs/tags/{t}")),
        Some(_) => {
            return Err(err(
                "source.ref: give exactly one of branch or tag".to_owned(),
                "write ref: {branch: main}",
            ));
        }
    };
    if source.secret_ref.is_some() && source.credentials_file.is_some() {
        return Err(err(
            "source: give secretRef or credentialsFile, not both".to_owned(),
            "keep the one the Deployment provides",
        ));
    }
    let interval = duration("source.interval", &source.interval)?.unwrap_or(Duration::from_mins(1));
    if interval.is_zero() {
        return Err(err(
            "source.interval: must be longer than 0s".to_owned(),
            "write e.g. 1m",
        ));
    }
    let limits = &parsed.limits;
    let size = |field: &str, v: &Option<String>| {
        v.as_deref()
            .map(crate::runtime::limits::parse_size)
            .transpose()
            .map_err(|m| err(format!("limits.{field}: {m}"), "write e.g. 512MiB"))
    };
    let ceiling = crate::env::ceiling(
        size("memory", &limits.memory)?,
        duration("limits.timeout", &limits.timeout)?,
        size("output", &limits.output)?,
    );
    let mut grants = Vec::new();
    for (i, s) in parsed.secrets.into_iter().enumerate() {
        let at = format!("secrets[{i}]");
        let source = match (s.from_secret, s.file) {
            (Some(r), None) if r.key.is_some() => SecretSource::Secret(r),
            (Some(_), None) => {
                return Err(err(
                    format!("{at}.fromSecret: needs a key"),
                    "write fromSecret: {name: NAME, key: KEY}",
                ));
            }
            (None, Some(f)) => SecretSource::File(f),
            _ => {
                return Err(err(
                    format!("{at}: give exactly one of fromSecret or file"),
                    "name where the secret's value is",
                ));
            }
        };
        if s.plugins.is_empty() {
            return Err(err(
                format!("{at}.plugins: grant `{}` to at least one plugin", s.name),
                "list built-in plugin names or blake3:<digest> of a plugin",
            ));
        }
        let apps = if s.apps.is_empty() {
            None
        } else {
            Some(set(&format!("{at}.apps"), &s.apps)?)
        };
        grants.push(Grant {
            name: s.name,
            source,
            plugins: s.plugins,
            apps,
        });
    }
    let sharding = sharding(&parsed.sharding, &err)?;
    if let Some(c) = parsed.cache.as_deref()
        && c != "off"
        && !c.starts_with("redis://")
    {
        return Err(err(
            format!("cache: `{c}` is neither redis://HOST:PORT[/DB] nor off"),
            "name a Redis the replicas share, e.g. cache: redis://kiln-cache:6379",
        ));
    }
    let inventory_namespace = parsed
        .inventory_namespace
        .unwrap_or_else(|| "kiln-system".to_owned());
    if !is_dns_label(&inventory_namespace) {
        return Err(err(
            format!("inventoryNamespace: `{inventory_namespace}` is not a namespace name"),
            "use lowercase letters, digits and '-'",
        ));
    }
    let apps_root = parsed
        .apps
        .root
        .as_deref()
        .map_or(".", |r| r.trim_matches('/'))
        .to_owned();
    if apps_root.split('/').any(|c| c == "..") {
        return Err(err(
            format!("apps.root: `{apps_root}` leaves the repository"),
            "give a path inside the repository",
        ));
    }
    Ok(AgentConfig {
        name: parsed.metadata.name.unwrap_or_else(|| "kiln".to_owned()),
        source: Source {
            url: source.url,
            reference,
            interval,
            secret_ref: source.secret_ref,
            credentials_file: source.credentials_file,
        },
        apps_root: if apps_root.is_empty() {
            ".".to_owned()
        } else {
            apps_root
        },
        inventory_namespace,
        ceiling,
        grants,
        webhook: parsed.webhook.kind,
        cache: parsed.cache,
        sharding,
        exclude: set("apps.exclude", &parsed.apps.exclude)?,
        defaults: parsed.defaults,
        overrides,
    })
}

/// Checks the `sharding` block.
fn sharding(spec: &ShardingSpec, err: &dyn Fn(String, &str) -> Error) -> Result<Sharding, Error> {
    let duration = |field: &str, value: &Option<String>| -> Result<Option<Duration>, Error> {
        match value.as_deref().map(parse_duration).transpose() {
            Ok(Some(Duration::ZERO)) => Err(err(
                format!("sharding.{field}: must be longer than 0s"),
                "e.g. leaseDuration: 15s, renewDeadline: 10s, retryPeriod: 2s",
            )),
            Ok(d) => Ok(d),
            Err(m) => Err(err(format!("sharding.{field}: {m}"), "write e.g. 15s")),
        }
    };
    let out = Sharding {
        group: spec.group.clone(),
        lease_namespace: spec.lease_namespace.clone(),
        lease_duration: duration("leaseDuration", &spec.lease_duration)?,
        renew_deadline: duration("renewDeadline", &spec.renew_deadline)?,
        retry_period: duration("retryPeriod", &spec.retry_period)?,
    };
    if let Some(g) = &out.group
        && !is_dns_label(g)
    {
        return Err(err(
            format!(
                "sharding.group: `{g}` is not a label value of lowercase letters, digits and '-'"
            ),
            "e.g. group: prod",
        ));
    }
    if let Some(ns) = &out.lease_namespace
        && !is_dns_label(ns)
    {
        return Err(err(
            format!("sharding.leaseNamespace: `{ns}` is not a namespace name"),
            "use lowercase letters, digits and '-'",
        ));
    }
    Ok(out)
}

pub(crate) fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
