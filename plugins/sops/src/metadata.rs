//! The `sops` metadata section: key groups, encryption rules, MAC and version.

use regex::Regex;

use crate::Error;
use crate::keys::Keys;
use crate::shamir;
use crate::tree::{Item, Value};

/// One wrapped copy of the data key.
#[derive(Debug, Clone)]
pub(crate) enum MasterKey {
    Age {
        recipient: String,
        enc: String,
    },
    Pgp {
        fingerprint: String,
        enc: String,
    },
    /// A cloud or Vault key this sandbox cannot use; kept to name it in errors.
    Other {
        kind: &'static str,
        id: String,
    },
}

impl MasterKey {
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Age { recipient, .. } => format!("age {recipient}"),
            Self::Pgp { fingerprint, .. } => format!("pgp {fingerprint}"),
            Self::Other { kind, id } => format!("{kind} {id} (not usable here)"),
        }
    }
}

/// Parsed sops metadata.
#[derive(Debug)]
pub(crate) struct Metadata {
    pub(crate) groups: Vec<Vec<MasterKey>>,
    pub(crate) shamir_threshold: usize,
    pub(crate) mac: String,
    /// `lastmodified` re-formatted as Go's RFC 3339 (the MAC's additional data).
    pub(crate) lastmodified_aad: String,
    pub(crate) unencrypted_suffix: Option<String>,
    pub(crate) encrypted_suffix: Option<String>,
    pub(crate) unencrypted_regex: Option<Regex>,
    pub(crate) encrypted_regex: Option<Regex>,
    pub(crate) unencrypted_comment_regex: Option<Regex>,
    pub(crate) encrypted_comment_regex: Option<Regex>,
    pub(crate) mac_only_encrypted: bool,
}

fn get<'a>(items: &'a [Item], key: &str) -> Option<&'a Value> {
    items
        .iter()
        .find(|i| i.key_str() == Some(key))
        .map(|i| &i.value)
}

fn text(items: &[Item], key: &str) -> Option<String> {
    match get(items, key)? {
        Value::Str(s) | Value::Time(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(crate::tree::format_float_f(*f)),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
    .filter(|s| !s.is_empty())
}

fn list<'a>(items: &'a [Item], key: &str) -> Vec<&'a [Item]> {
    match get(items, key) {
        Some(Value::Seq(values)) => values
            .iter()
            .filter_map(|v| match v {
                Value::Map(m) => Some(m.as_slice()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn regex(items: &[Item], key: &str) -> Result<Option<Regex>, Error> {
    text(items, key)
        .map(|r| {
            Regex::new(&r)
                .map_err(|_| Error::Metadata(format!("`{key}` is not a valid regular expression")))
        })
        .transpose()
}

fn group_from(items: &[Item]) -> Vec<MasterKey> {
    let mut keys = Vec::new();
    for (kind, id_field) in [
        ("kms", "arn"),
        ("gcp_kms", "resource_id"),
        ("hckms", "key_id"),
        ("azure_kv", "vault_url"),
        ("hc_vault", "key_name"),
    ] {
        for k in list(items, kind) {
            keys.push(MasterKey::Other {
                kind,
                id: text(k, id_field).unwrap_or_default(),
            });
        }
    }
    for k in list(items, "pgp") {
        keys.push(MasterKey::Pgp {
            fingerprint: text(k, "fp").unwrap_or_default(),
            enc: text(k, "enc").unwrap_or_default(),
        });
    }
    for k in list(items, "age") {
        keys.push(MasterKey::Age {
            recipient: text(k, "recipient").unwrap_or_default(),
            enc: text(k, "enc").unwrap_or_default(),
        });
    }
    keys
}

impl Metadata {
    pub(crate) fn parse(items: &[Item]) -> Result<Self, Error> {
        let version = text(items, "version").ok_or(Error::Metadata("no `version`".into()))?;
        let major = version.split('.').next().unwrap_or_default();
        if major != "3" && major != "2" {
            return Err(Error::UnsupportedVersion(
                version.chars().take(40).collect(),
            ));
        }
        let lastmodified =
            text(items, "lastmodified").ok_or(Error::Metadata("no `lastmodified`".into()))?;
        let lastmodified_aad = rfc3339(&lastmodified).ok_or(Error::Metadata(
            "`lastmodified` is not an RFC 3339 timestamp".into(),
        ))?;
        let key_groups = list(items, "key_groups");
        let groups = if key_groups.is_empty() {
            vec![group_from(items)]
        } else {
            key_groups.into_iter().map(group_from).collect()
        };
        let shamir_threshold = text(items, "shamir_threshold")
            .map(|t| t.parse::<usize>())
            .transpose()
            .map_err(|_| Error::Metadata("`shamir_threshold` is not a number".into()))?
            .unwrap_or(0);
        let mac_only_encrypted = text(items, "mac_only_encrypted")
            .is_some_and(|v| matches!(v.as_str(), "true" | "True" | "TRUE" | "1" | "t" | "T"));
        let mut meta = Self {
            groups,
            shamir_threshold,
            mac: text(items, "mac").unwrap_or_default(),
            lastmodified_aad,
            unencrypted_suffix: text(items, "unencrypted_suffix"),
            encrypted_suffix: text(items, "encrypted_suffix"),
            unencrypted_regex: regex(items, "unencrypted_regex")?,
            encrypted_regex: regex(items, "encrypted_regex")?,
            unencrypted_comment_regex: regex(items, "unencrypted_comment_regex")?,
            encrypted_comment_regex: regex(items, "encrypted_comment_regex")?,
            mac_only_encrypted,
        };
        let rules = usize::from(meta.unencrypted_suffix.is_some())
            + usize::from(meta.encrypted_suffix.is_some())
            + usize::from(meta.unencrypted_regex.is_some())
            + usize::from(meta.encrypted_regex.is_some())
            + usize::from(meta.unencrypted_comment_regex.is_some())
            + usize::from(meta.encrypted_comment_regex.is_some());
        if rules > 1 {
            return Err(Error::Metadata(
                "more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, \
                 unencrypted_regex, encrypted_comment_regex, unencrypted_comment_regex is set"
                    .into(),
            ));
        }
        if rules == 0 {
            meta.unencrypted_suffix = Some("_unencrypted".to_owned());
        }
        Ok(meta)
    }

    /// sops' `shouldBeEncrypted`.
    pub(crate) fn should_be_encrypted(
        &self,
        path: &[String],
        stack: &[Vec<String>],
        is_comment: bool,
    ) -> bool {
        let mut encrypted = true;
        if let Some(s) = &self.unencrypted_suffix
            && path.iter().any(|p| p.ends_with(s.as_str()))
        {
            encrypted = false;
        }
        if let Some(s) = &self.encrypted_suffix {
            encrypted = path.iter().any(|p| p.ends_with(s.as_str()));
        }
        if let Some(r) = &self.unencrypted_regex
            && path.iter().any(|p| r.is_match(p))
        {
            encrypted = false;
        }
        if let Some(r) = &self.encrypted_regex {
            encrypted = path.iter().any(|p| r.is_match(p));
        }
        if let Some(r) = &self.unencrypted_comment_regex
            && stack.iter().flatten().any(|c| r.is_match(c))
        {
            encrypted = false;
        }
        if let Some(r) = &self.encrypted_comment_regex {
            encrypted = false;
            let last = stack.len().saturating_sub(1);
            'outer: for (i, cs) in stack.iter().enumerate() {
                for (j, c) in cs.iter().enumerate() {
                    if is_comment && i == last && j + 1 == cs.len() {
                        continue;
                    }
                    if r.is_match(c) {
                        encrypted = true;
                        break 'outer;
                    }
                }
            }
        }
        encrypted
    }

    /// Every recipient, for error messages.
    pub(crate) fn recipients(&self) -> Vec<String> {
        self.groups
            .iter()
            .flatten()
            .map(MasterKey::describe)
            .collect()
    }

    /// Recovers the 32-byte data key with the keys given.
    pub(crate) fn data_key(&self, keys: &Keys) -> Result<[u8; 32], Error> {
        let usable = self.groups.iter().flatten().any(|k| {
            matches!(k, MasterKey::Age { .. } if keys.has_age())
                || matches!(k, MasterKey::Pgp { .. } if keys.has_pgp())
        });
        if keys.is_empty() || !usable {
            return Err(Error::NoKeys {
                recipients: self.recipients(),
            });
        }
        let mut parts = Vec::new();
        for group in &self.groups {
            let part = group.iter().find_map(|k| match k {
                MasterKey::Age { enc, .. } => keys.unwrap_age(enc),
                MasterKey::Pgp { enc, .. } => keys.unwrap_pgp(enc),
                MasterKey::Other { .. } => None,
            });
            if let Some(part) = part {
                parts.push(part);
            }
        }
        let key = if self.groups.len() > 1 {
            // sops needs the threshold, and Shamir at least two parts
            let needed = self.shamir_threshold.max(2);
            if parts.len() < needed {
                return Err(Error::WrongKeys {
                    recipients: self.recipients(),
                });
            }
            shamir::combine(&parts).ok_or(Error::Metadata("invalid shamir key parts".into()))?
        } else {
            parts.into_iter().next().ok_or_else(|| Error::WrongKeys {
                recipients: self.recipients(),
            })?
        };
        key.try_into()
            .map_err(|_| Error::Metadata("the data key is not 32 bytes long".into()))
    }
}

/// Parses an RFC 3339 timestamp and prints it as Go's `time.RFC3339` layout does (no fraction,
/// `Z` for a zero offset).
fn rfc3339(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if !(digits(0..4)
        && digits(5..7)
        && digits(8..10)
        && digits(11..13)
        && digits(14..16)
        && digits(17..19))
    {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        rest = &frac[n..];
    }
    let zone = match rest {
        "Z" | "z" | "+00:00" | "-00:00" => "Z".to_owned(),
        z if z.len() == 6
            && matches!(z.as_bytes()[0], b'+' | b'-')
            && z.as_bytes()[3] == b':'
            && z[1..3]
                .bytes()
                .chain(z[4..6].bytes())
                .all(|c| c.is_ascii_digit()) =>
        {
            z.to_owned()
        }
        _ => return None,
    };
    Some(format!("{}T{}{zone}", &s[..10], &s[11..19]))
}
