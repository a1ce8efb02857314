//! The commit message of a render: a summary line and git trailers that
//! record what the manifests were rendered from.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::target::redact;

const SOURCE: &str = "Kiln-Source";
const REVISION: &str = "Kiln-Source-Revision";
const PLUGIN: &str = "Kiln-Plugin";
const RENDER_KEY: &str = "Kiln-Render-Key";

/// What a published render was made from.
///
/// [`Provenance::message`] writes it as a commit message whose last
/// paragraph holds git trailers (`git interpret-trailers --parse` reads
/// them); [`Provenance::parse`] reads them back.
///
/// ```text
/// render web for prod
///
/// Kiln-Source: https://example.com/config.git
/// Kiln-Source-Revision: 4f1c…
/// Kiln-Plugin: overlay blake3:9a…
/// Kiln-Render-Key: blake3:77…
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    /// The first line of the message; `kiln: rendered manifests` when empty.
    pub summary: String,
    /// The source repository URL or path; written without credentials.
    pub source: Option<String>,
    /// The source revision (commit id) that was rendered.
    pub revision: Option<String>,
    /// Plugin name → digest of each plugin that ran.
    pub plugins: BTreeMap<String, String>,
    /// The render's cache key.
    pub render_key: Option<String>,
}

impl Provenance {
    /// The commit message: summary, a blank line, then one trailer per field.
    pub fn message(&self) -> String {
        let summary = one_line(self.summary.lines().next().unwrap_or_default());
        let mut out = if summary.is_empty() {
            "kiln: rendered manifests".to_owned()
        } else {
            summary
        };
        out.push_str("\n\n");
        let mut trailer = |key: &str, value: &str| {
            let _ = writeln!(out, "{key}: {}", one_line(value));
        };
        if let Some(source) = &self.source {
            trailer(SOURCE, &redact(source));
        }
        if let Some(revision) = &self.revision {
            trailer(REVISION, revision);
        }
        for (name, digest) in &self.plugins {
            trailer(
                PLUGIN,
                &format!("{} {digest}", name.replace(char::is_whitespace, "-")),
            );
        }
        if let Some(key) = &self.render_key {
            trailer(RENDER_KEY, key);
        }
        if out.ends_with("\n\n") {
            out.pop();
        }
        out
    }

    /// Reads the provenance back from a commit message written by
    /// [`Provenance::message`]; unknown lines are ignored.
    pub fn parse(message: &str) -> Self {
        let mut lines = message.lines();
        let mut out = Self {
            summary: lines.next().unwrap_or_default().to_owned(),
            ..Self::default()
        };
        let last = message.trim_end().rsplit("\n\n").next().unwrap_or_default();
        for line in last.lines() {
            let Some((key, value)) = line.split_once(": ") else {
                continue;
            };
            let value = value.trim().to_owned();
            match key {
                SOURCE => out.source = Some(value),
                REVISION => out.revision = Some(value),
                RENDER_KEY => out.render_key = Some(value),
                PLUGIN => {
                    if let Some((name, digest)) = value.split_once(' ') {
                        out.plugins.insert(name.to_owned(), digest.to_owned());
                    }
                }
                _ => {}
            }
        }
        out
    }
}

/// `s` on one line: line breaks become spaces, outer space is trimmed.
fn one_line(s: &str) -> String {
    s.split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Provenance {
        Provenance {
            summary: "render web for prod".to_owned(),
            source: Some("https://u:tok@example.com/config.git".to_owned()),
            revision: Some("0123456789abcdef0123456789abcdef01234567".to_owned()),
            plugins: [
                ("overlay".to_owned(), "blake3:aa".to_owned()),
                ("helm".to_owned(), "blake3:bb".to_owned()),
            ]
            .into(),
            render_key: Some("blake3:cc".to_owned()),
        }
    }

    #[test]
    fn message_layout() {
        assert_eq!(
            sample().message(),
            "render web for prod\n\n\
             Kiln-Source: https://example.com/config.git\n\
             Kiln-Source-Revision: 0123456789abcdef0123456789abcdef01234567\n\
             Kiln-Plugin: helm blake3:bb\n\
             Kiln-Plugin: overlay blake3:aa\n\
             Kiln-Render-Key: blake3:cc\n"
        );
        assert_eq!(
            Provenance::default().message(),
            "kiln: rendered manifests\n"
        );
    }

    #[test]
    fn parse_reads_back_what_message_wrote() {
        let mut expected = sample();
        expected.source = Some("https://example.com/config.git".to_owned());
        assert_eq!(Provenance::parse(&sample().message()), expected);
    }

    #[test]
    fn values_stay_on_one_line() {
        let p = Provenance {
            summary: "two\nlines".to_owned(),
            render_key: Some("a\nKiln-Source: forged".to_owned()),
            ..Provenance::default()
        };
        let parsed = Provenance::parse(&p.message());
        assert_eq!(parsed.summary, "two");
        assert_eq!(parsed.source, None);
        assert_eq!(parsed.render_key.as_deref(), Some("a Kiln-Source: forged"));
    }
}
