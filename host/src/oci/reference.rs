//! `oci://REGISTRY/REPOSITORY[:TAG][@sha256:HEX]`: how `kiln.yaml` and the
//! `kiln plugin` commands name a plugin in an OCI registry.

/// The scheme that marks a plugin reference as an OCI artifact.
pub const SCHEME: &str = "oci://";

/// A parsed `oci://` reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OciRef {
    /// `host[:port]`.
    pub registry: String,
    /// `path/of/repository`.
    pub repository: String,
    /// The tag, when one was written.
    pub tag: Option<String>,
    /// `sha256:HEX`, when one was written.
    pub digest: Option<String>,
}

/// A reference that cannot be parsed.
#[derive(Debug, thiserror::Error)]
#[error("`{reference}` is not an OCI plugin reference: {problem}")]
pub struct ParseError {
    /// The text as written.
    pub reference: String,
    /// What is wrong.
    pub problem: &'static str,
}

impl OciRef {
    /// Whether `text` is meant as an OCI reference (starts with `oci://`).
    pub fn is_oci(text: &str) -> bool {
        text.starts_with(SCHEME)
    }

    /// Parses `oci://REGISTRY/REPOSITORY:TAG`, `…@sha256:HEX` or both.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let fail = |problem| ParseError {
            reference: text.to_owned(),
            problem,
        };
        let rest = text
            .strip_prefix(SCHEME)
            .ok_or_else(|| fail("it does not start with oci://"))?;
        let (rest, digest) = match rest.split_once('@') {
            Some((name, digest)) => (name, Some(digest.to_owned())),
            None => (rest, None),
        };
        if let Some(d) = &digest
            && !is_sha256_digest(d)
        {
            return Err(fail(
                "the digest after @ must be sha256: and 64 lowercase hex digits",
            ));
        }
        let (registry, path) = rest
            .split_once('/')
            .ok_or_else(|| fail("it names no repository (oci://REGISTRY/REPOSITORY:TAG)"))?;
        if registry.is_empty()
            || !registry
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        {
            return Err(fail(
                "the registry must be a host name, with an optional :port",
            ));
        }
        // The tag follows the last `:` that comes after the last `/`.
        let last_slash = path.rfind('/').map_or(0, |i| i + 1);
        let (repository, tag) = match path[last_slash..].rfind(':') {
            Some(i) => (
                &path[..last_slash + i],
                Some(path[last_slash + i + 1..].to_owned()),
            ),
            None => (path, None),
        };
        if !valid_repository(repository) {
            return Err(fail(
                "the repository must be lowercase letters, digits and . _ - separated by /",
            ));
        }
        if let Some(t) = &tag
            && !valid_tag(t)
        {
            return Err(fail(
                "a tag is 1 to 128 letters, digits, _ . or -, not starting with . or -",
            ));
        }
        if tag.is_none() && digest.is_none() {
            return Err(fail("it needs a :TAG or an @sha256: digest"));
        }
        Ok(Self {
            registry: registry.to_owned(),
            repository: repository.to_owned(),
            tag,
            digest,
        })
    }

    /// The reference without tag or digest: `oci://REGISTRY/REPOSITORY`.
    pub fn repository_url(&self) -> String {
        format!("{SCHEME}{}/{}", self.registry, self.repository)
    }

    /// This reference pinned to `digest` (the tag kept for people to read).
    #[must_use]
    pub fn with_digest(&self, digest: &str) -> Self {
        Self {
            digest: Some(digest.to_owned()),
            ..self.clone()
        }
    }

    /// The `oci-client` reference: by digest when there is one, else by tag.
    pub(crate) fn client_ref(&self) -> oci_client::Reference {
        match (&self.digest, &self.tag) {
            (Some(d), _) => oci_client::Reference::with_digest(
                self.registry.clone(),
                self.repository.clone(),
                d.clone(),
            ),
            (None, Some(t)) => oci_client::Reference::with_tag(
                self.registry.clone(),
                self.repository.clone(),
                t.clone(),
            ),
            (None, None) => unreachable!("parse refuses a reference with neither tag nor digest"),
        }
    }

    /// The `oci-client` reference of `tag` in the same repository.
    pub(crate) fn client_tag_ref(&self, tag: &str) -> oci_client::Reference {
        oci_client::Reference::with_tag(
            self.registry.clone(),
            self.repository.clone(),
            tag.to_owned(),
        )
    }
}

impl std::fmt::Display for OciRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{SCHEME}{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// Whether `d` is `sha256:` and 64 lowercase hex digits.
pub fn is_sha256_digest(d: &str) -> bool {
    d.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

fn valid_repository(r: &str) -> bool {
    !r.is_empty()
        && r.split('/').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
                && part.as_bytes()[0].is_ascii_alphanumeric()
        })
}

fn valid_tag(t: &str) -> bool {
    (1..=128).contains(&t.len())
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        && !t.starts_with(['.', '-'])
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn parses_tags_digests_and_ports() {
        let r = OciRef::parse("oci://127.0.0.1:5000/kiln/team-label:1.2.3").unwrap();
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "kiln/team-label");
        assert_eq!(r.tag.as_deref(), Some("1.2.3"));
        assert_eq!(r.digest, None);
        let text = format!("oci://ghcr.io/a/b:v1@{D}");
        let r = OciRef::parse(&text).unwrap();
        assert_eq!(r.digest.as_deref(), Some(D));
        assert_eq!(r.to_string(), text);
        let r = OciRef::parse(&format!("oci://ghcr.io/a/b@{D}")).unwrap();
        assert_eq!((r.tag, r.repository.as_str()), (None, "a/b"));
    }

    #[test]
    fn refuses_what_is_not_a_pinned_reference() {
        for bad in [
            "ghcr.io/a/b:1",
            "oci://ghcr.io:1",
            "oci://ghcr.io/a/b",
            "oci://ghcr.io/A/b:1",
            "oci://ghcr.io/a/b@sha256:abc",
            "oci://ghcr.io/a/b:-x",
            "oci:///a:1",
        ] {
            assert!(OciRef::parse(bad).is_err(), "{bad}");
        }
    }
}
