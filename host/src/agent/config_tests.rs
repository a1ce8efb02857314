use std::time::Duration;

use super::*;

const FULL: &str = "\
apiVersion: kiln.dev/v1alpha1
kind: Agent
metadata: {name: prod}
source:
  ref: {branch: main}
  interval: 30s
  credentialsFile: /etc/kiln/git/token
apps:
  root: clusters/prod/apps/
  exclude: ['**/testdata/**']
inventoryNamespace: kiln-system
defaults: {interval: 5m, retryInterval: 30s, timeout: 2m, prune: true, drift: correct}
overrides:
- match: 'payments/*'
  dependsOn: [platform/certs]
  drift: detect
- match: 'payments/legacy'
  suspend: true
  prune: false
limits: {memory: 256MiB, timeout: 20s}
secrets:
- name: sops-age
  fromSecret: {name: kiln-sops, key: age.txt}
  plugins: [sops]
  apps: ['payments/*']
webhook: {type: gitlab}
";

#[test]
fn reads_every_field() {
    let c = parse(FULL, "clusters/prod/agent.yaml").unwrap();
    assert_eq!(c.name, "prod");
    assert_eq!(c.source.reference.as_deref(), Some("main"));
    assert_eq!(c.source.interval, Duration::from_secs(30));
    assert_eq!(
        c.source.credentials_file.as_deref(),
        Some("/etc/kiln/git/token")
    );
    assert_eq!(c.apps_root, "clusters/prod/apps");
    assert!(c.excluded("a/testdata/x"));
    assert!(!c.excluded("a/x"));
    assert_eq!(c.webhook, WebhookType::Gitlab);
    let ceiling = c.ceiling.unwrap();
    assert_eq!(ceiling.memory, 256 << 20);
    assert_eq!(ceiling.time, Duration::from_secs(20));
    assert_eq!(ceiling.output, usize::MAX);
    assert_eq!(c.grants.len(), 1);
    assert!(c.grants[0].applies_to("payments/api"));
    assert!(!c.grants[0].applies_to("web"));
}

#[test]
fn overrides_apply_in_order_over_the_defaults() {
    let c = parse(FULL, "agent.yaml").unwrap();
    let web = c.policy("web");
    assert_eq!(web.interval, Duration::from_mins(5));
    assert_eq!(web.retry_interval, Duration::from_secs(30));
    assert_eq!(web.drift, Drift::Correct);
    assert!(web.depends_on.is_empty());
    let api = c.policy("payments/api");
    assert_eq!(api.drift, Drift::Detect);
    assert_eq!(api.depends_on, ["platform/certs"]);
    assert!(!api.suspend);
    let legacy = c.policy("payments/legacy");
    assert!(legacy.suspend);
    assert!(!legacy.prune);
    assert_eq!(legacy.drift, Drift::Detect);
}

#[test]
fn defaults_without_any_setting() {
    let c = parse("apiVersion: kiln.dev/v1alpha1\nkind: Agent\n", "a.yaml").unwrap();
    assert_eq!(c.name, "kiln");
    assert_eq!(c.apps_root, ".");
    assert_eq!(c.inventory_namespace, "kiln-system");
    assert_eq!(c.source.interval, Duration::from_mins(1));
    assert_eq!(c.policy("x"), Policy::default());
    assert!(c.ceiling.is_none());
}

#[test]
fn unknown_fields_name_the_file_line_and_field() {
    let e = parse(
        "apiVersion: kiln.dev/v1alpha1\nkind: Agent\ndefaults:\n  intervall: 1m\n",
        "clusters/agent.yaml",
    )
    .unwrap_err();
    let text = e.to_string();
    assert!(text.starts_with("clusters/agent.yaml:4:"), "{text}");
    assert!(text.contains("intervall"), "{text}");
    assert!(!e.hint.is_empty());
}

#[test]
fn bad_values_name_the_field() {
    let cases = [
        ("defaults: {interval: 10 minutes}", "defaults.interval"),
        (
            "overrides: [{match: a, timeout: x}]",
            "overrides[0].timeout",
        ),
        (
            "overrides: [{match: 'a[', drift: off}]",
            "overrides[0].match",
        ),
        ("defaults: {drift: fix}", "drift"),
        ("source: {ref: {branch: a, tag: b}}", "source.ref"),
        ("limits: {memory: lots}", "limits.memory"),
        ("inventoryNamespace: Kiln_System", "inventoryNamespace"),
        ("apps: {root: ../elsewhere}", "apps.root"),
        (
            "secrets: [{name: k, file: /k, fromSecret: {name: s, key: k}, plugins: [sops]}]",
            "secrets[0]",
        ),
        ("secrets: [{name: k, file: /k}]", "secrets[0].plugins"),
        (
            "secrets: [{name: k, fromSecret: {name: s}, plugins: [sops]}]",
            "secrets[0].fromSecret",
        ),
    ];
    for (body, field) in cases {
        let text = format!("apiVersion: kiln.dev/v1alpha1\nkind: Agent\n{body}\n");
        let e = parse(&text, "agent.yaml").expect_err(body);
        assert!(e.to_string().contains(field), "{body}: {e}");
        assert!(e.to_string().starts_with("agent.yaml"), "{body}: {e}");
    }
}

#[test]
fn a_bare_off_is_drift_off_in_defaults_and_overrides() {
    let c = parse(
        "apiVersion: kiln.dev/v1alpha1\nkind: Agent\ndefaults: {drift: off}\noverrides:\n- match: a\n  drift: detect\n- match: b\n  drift: 'off'\n",
        "agent.yaml",
    )
    .unwrap();
    assert_eq!(c.policy("x").drift, Drift::Off);
    assert_eq!(c.policy("a").drift, Drift::Detect);
    assert_eq!(c.policy("b").drift, Drift::Off);
}

#[test]
fn wrong_kind_is_refused() {
    let e = parse("apiVersion: v1\nkind: ConfigMap\n", "a.yaml").unwrap_err();
    assert!(e.to_string().contains("kind Agent"), "{e}");
}

#[test]
fn durations() {
    assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
    assert_eq!(parse_duration("2h").unwrap(), Duration::from_hours(2));
    assert!(parse_duration("2").is_err());
    assert!(parse_duration("m").is_err());
}

#[test]
fn sharding_and_cache_come_from_the_file_and_flags_override_them() {
    use crate::agent::shard::ShardFlags;
    let c = parse(
        "apiVersion: kiln.dev/v1alpha1\nkind: Agent\nmetadata: {name: prod}\n\
         cache: redis://kiln-cache:6379/2\n\
         sharding: {group: blue, leaseNamespace: leases, leaseDuration: 30s, renewDeadline: 20s, retryPeriod: 5s}\n",
        "agent.yaml",
    )
    .unwrap();
    assert_eq!(c.cache.as_deref(), Some("redis://kiln-cache:6379/2"));
    let flags = ShardFlags {
        member: "pod-0".to_owned(),
        ..ShardFlags::default()
    };
    let s = flags.resolve(&c.sharding, &c.name, "kiln-system").unwrap();
    assert_eq!(
        (s.member.as_str(), s.group.as_str(), s.namespace.as_str()),
        ("pod-0", "blue", "leases")
    );
    assert_eq!(
        (s.lease_duration, s.renew_deadline, s.retry_period),
        (
            Duration::from_secs(30),
            Duration::from_secs(20),
            Duration::from_secs(5)
        )
    );
    // Each flag given wins over its field; the rest stays the file's.
    let flags = ShardFlags {
        member: "pod-0".to_owned(),
        group: Some("green".to_owned()),
        retry_period: Some(Duration::from_secs(1)),
        ..ShardFlags::default()
    };
    let s = flags.resolve(&c.sharding, &c.name, "kiln-system").unwrap();
    assert_eq!(
        (s.group.as_str(), s.namespace.as_str()),
        ("green", "leases")
    );
    assert_eq!(s.retry_period, Duration::from_secs(1));
    assert_eq!(s.lease_duration, Duration::from_secs(30));
    // Without the block: the agent's name and namespace, controller-runtime's timings.
    let bare = parse("apiVersion: kiln.dev/v1alpha1\nkind: Agent\n", "agent.yaml").unwrap();
    assert_eq!(bare.cache, None);
    let s = flags
        .resolve(&bare.sharding, &bare.name, "kiln-system")
        .unwrap();
    assert_eq!(
        (s.group.as_str(), s.namespace.as_str()),
        ("green", "kiln-system")
    );
    assert_eq!(s.lease_duration, Duration::from_secs(15));
    // A flag that breaks the order with the file's other values is refused.
    let late = ShardFlags {
        member: "pod-0".to_owned(),
        renew_deadline: Some(Duration::from_secs(40)),
        ..ShardFlags::default()
    };
    let e = late.resolve(&c.sharding, &c.name, "ns").unwrap_err();
    assert!(e.contains("renew deadline (40s)"), "{e}");
}

#[test]
fn bad_sharding_and_cache_name_their_field() {
    let cases = [
        ("cache: memcached://x", "cache:"),
        ("sharding: {leaseDuration: 0s}", "sharding.leaseDuration"),
        ("sharding: {retryPeriod: soon}", "sharding.retryPeriod"),
        ("sharding: {group: Blue_1}", "sharding.group"),
        ("sharding: {leaseNamespace: a/b}", "sharding.leaseNamespace"),
        ("sharding: {leaseTime: 5s}", "leaseTime"),
    ];
    for (body, field) in cases {
        let text = format!("apiVersion: kiln.dev/v1alpha1\nkind: Agent\n{body}\n");
        let e = parse(&text, "agent.yaml").expect_err(body);
        assert!(e.to_string().contains(field), "{body}: {e}");
    }
}
