//! `labelSelector` and `fieldSelector` query parameters.

use serde_json::Value;

/// Why a selector could not be parsed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum Error {
    #[error("unable to parse requirement: {0:?}")]
    Requirement(String),
    #[error(
        "\"{0}\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
    )]
    UnknownField(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    In(Vec<String>),
    NotIn(Vec<String>),
    Exists,
    DoesNotExist,
}

/// A parsed selector: every requirement must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Selector(Vec<(String, Op)>);

/// Splits on commas outside parentheses.
fn split_requirements(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0_i32, 0);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

fn parse_set(s: &str) -> Option<Vec<String>> {
    let inner = s.trim().strip_prefix('(')?.strip_suffix(')')?;
    Some(inner.split(',').map(|v| v.trim().to_owned()).collect())
}

impl Selector {
    /// Parses a label selector: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`.
    pub(crate) fn labels(s: &str) -> Result<Selector, Error> {
        let mut reqs = Vec::new();
        for part in split_requirements(s) {
            let bad = || Error::Requirement(part.to_owned());
            let req = if let Some((k, v)) = part.split_once("!=") {
                (k.trim().to_owned(), Op::NotIn(vec![v.trim().to_owned()]))
            } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                (k.trim().to_owned(), Op::In(vec![v.trim().to_owned()]))
            } else if let Some((k, set)) = part.split_once(" notin ") {
                (
                    k.trim().to_owned(),
                    Op::NotIn(parse_set(set).ok_or_else(bad)?),
                )
            } else if let Some((k, set)) = part.split_once(" in ") {
                (k.trim().to_owned(), Op::In(parse_set(set).ok_or_else(bad)?))
            } else if let Some(k) = part.strip_prefix('!') {
                (k.trim().to_owned(), Op::DoesNotExist)
            } else {
                (part.to_owned(), Op::Exists)
            };
            if req.0.is_empty() || req.0.contains(char::is_whitespace) {
                return Err(bad());
            }
            reqs.push(req);
        }
        Ok(Selector(reqs))
    }

    /// Parses a field selector over `metadata.name` and `metadata.namespace` (`=`, `==`, `!=`).
    pub(crate) fn fields(s: &str) -> Result<Selector, Error> {
        let mut reqs = Vec::new();
        for part in split_requirements(s) {
            let (key, op) = if let Some((k, v)) = part.split_once("!=") {
                (k, Op::NotIn(vec![v.to_owned()]))
            } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                (k, Op::In(vec![v.to_owned()]))
            } else {
                return Err(Error::Requirement(part.to_owned()));
            };
            if !matches!(key, "metadata.name" | "metadata.namespace") {
                return Err(Error::UnknownField(key.to_owned()));
            }
            reqs.push((key.to_owned(), op));
        }
        Ok(Selector(reqs))
    }

    /// Whether a map of labels (or of field values) satisfies every requirement.
    pub(crate) fn matches(&self, lookup: impl Fn(&str) -> Option<String>) -> bool {
        self.0.iter().all(|(key, op)| {
            let value = lookup(key);
            match op {
                Op::In(vs) => value.is_some_and(|v| vs.contains(&v)),
                Op::NotIn(vs) => value.is_none_or(|v| !vs.contains(&v)),
                Op::Exists => value.is_some(),
                Op::DoesNotExist => value.is_none(),
            }
        })
    }

    /// Label selector match on an object.
    pub(crate) fn matches_labels(&self, obj: &Value) -> bool {
        self.matches(|k| obj["metadata"]["labels"][k].as_str().map(str::to_owned))
    }

    /// Field selector match on an object.
    pub(crate) fn matches_fields(&self, obj: &Value) -> bool {
        self.matches(|k| match k {
            "metadata.name" => obj["metadata"]["name"].as_str().map(str::to_owned),
            "metadata.namespace" => Some(
                obj["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            ),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn label_selector_operators() {
        let obj = json!({"metadata": {"labels": {"app": "web", "tier": "front"}}});
        let yes = [
            "app=web",
            "app==web",
            "app!=db",
            "tier in (front, back)",
            "app notin (db)",
            "app",
            "!missing",
            "app=web,tier",
        ];
        for s in yes {
            assert!(Selector::labels(s).expect(s).matches_labels(&obj), "{s}");
        }
        let no = [
            "app=db",
            "app!=web",
            "tier in (back)",
            "tier notin (front)",
            "missing",
            "!app",
            "app=web,x=y",
        ];
        for s in no {
            assert!(!Selector::labels(s).expect(s).matches_labels(&obj), "{s}");
        }
        assert!(Selector::labels("a in (b").is_err());
    }

    #[test]
    fn field_selector_name_and_namespace() {
        let obj = json!({"metadata": {"name": "a", "namespace": "ns"}});
        assert!(
            Selector::fields("metadata.name=a,metadata.namespace==ns")
                .expect("valid")
                .matches_fields(&obj)
        );
        assert!(
            !Selector::fields("metadata.name!=a")
                .expect("valid")
                .matches_fields(&obj)
        );
        assert_eq!(
            Selector::fields("spec.x=1"),
            Err(Error::UnknownField("spec.x".into()))
        );
    }
}
