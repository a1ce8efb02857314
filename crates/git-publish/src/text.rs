//! Error text with credentials removed.

use std::fmt;

use crate::target::{redact, secrets_in};

/// The text of an error (with its causes) or of a command's output, with
/// the URL's credentials replaced by `***`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scrubbed(String);

impl Scrubbed {
    /// The text of `e` and its causes, scrubbed of the credentials in `url`.
    pub(crate) fn new(e: &dyn std::error::Error, url: &str) -> Self {
        let mut text = e.to_string();
        let mut cause = e.source();
        while let Some(c) = cause {
            let more = c.to_string();
            if !text.contains(&more) {
                text.push_str(": ");
                text.push_str(&more);
            }
            cause = c.source();
        }
        Self::text(&text, url)
    }

    /// `text` scrubbed of the credentials in `url`.
    pub(crate) fn text(text: &str, url: &str) -> Self {
        let mut text = text.replace(url, &redact(url));
        for secret in secrets_in(url) {
            text = text.replace(secret, "***");
        }
        Self(text)
    }
}

impl fmt::Display for Scrubbed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Scrubbed {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_scrubbed() {
        let url = "https://bob:hunter2@example.com/x.git";
        let s = Scrubbed::text(
            "fatal: could not read from https://bob:hunter2@example.com/x.git; bob:hunter2",
            url,
        );
        assert_eq!(
            s.to_string(),
            "fatal: could not read from https://example.com/x.git; ***"
        );
    }
}
