//! `.helmignore` rules, as Helm applies them while loading a chart directory.

use crate::glob::path_match;

/// One parsed rule.
#[derive(Debug, Clone)]
struct Rule {
    pattern: String,
    negate: bool,
    must_dir: bool,
    kind: Kind,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    /// Leading `/`: matched against the whole path.
    Rooted,
    /// Contains `/`: matched against the whole path.
    Structural,
    /// No `/`: matched against the last path element only.
    Base,
}

/// The rules of a `.helmignore` file plus Helm's default
/// (`templates/.?*`: hidden files under `templates/`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Rules {
    rules: Vec<Rule>,
}

impl Rules {
    /// Parses the text of a `.helmignore` file and adds the default rule.
    /// A `**` pattern is refused, as Helm refuses it.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let mut rules = Self::without_defaults(text)?;
        rules.add("templates/.?*")?;
        Ok(rules)
    }

    fn without_defaults(text: &str) -> Result<Self, String> {
        let mut rules = Self::default();
        for line in text.lines() {
            rules.add(line)?;
        }
        Ok(rules)
    }

    fn add(&mut self, line: &str) -> Result<(), String> {
        let mut rule = line.trim();
        if rule.is_empty() || rule.starts_with('#') || rule == "!" {
            return Ok(());
        }
        let negate = rule.starts_with('!');
        if negate {
            rule = &rule[1..];
        }
        let must_dir = rule.ends_with('/');
        let rule = rule.trim_end_matches('/');
        if rule.contains("**") {
            return Err("double-star (**) syntax is not supported".to_owned());
        }
        let (pattern, kind) = if let Some(rest) = rule.strip_prefix('/') {
            (rest.to_owned(), Kind::Rooted)
        } else if rule.contains('/') {
            (rule.to_owned(), Kind::Structural)
        } else {
            (rule.to_owned(), Kind::Base)
        };
        self.rules.push(Rule {
            pattern,
            negate,
            must_dir,
            kind,
        });
        Ok(())
    }

    /// Whether the chart-relative `path` (with `/` separators) is ignored.
    pub(crate) fn ignore(&self, path: &str, is_dir: bool) -> bool {
        if path.is_empty() || path == "." || path == "./" {
            return false;
        }
        for rule in &self.rules {
            let hit = match rule.kind {
                Kind::Rooted | Kind::Structural => path_match(&rule.pattern, path),
                Kind::Base => {
                    let trimmed = path.trim_end_matches('/');
                    let base = trimmed.rsplit('/').next().unwrap_or(trimmed);
                    path_match(&rule.pattern, base)
                }
            };
            if rule.negate {
                if rule.must_dir && !is_dir {
                    return true;
                }
                if !hit {
                    return true;
                }
                continue;
            }
            if rule.must_dir && !is_dir {
                continue;
            }
            if hit {
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_match_like_helm() {
        let r = Rules::parse("# comment\n*.bak\n/secret.txt\ndocs/\nsub/*.md\n").unwrap();
        assert!(Rules::parse("a/**/b\n").is_err());
        assert!(r.ignore("a.bak", false));
        assert!(r.ignore("templates/x.bak", false));
        assert!(r.ignore("secret.txt", false));
        assert!(r.ignore("docs", true));
        assert!(!r.ignore("docs", false));
        assert!(r.ignore("sub/readme.md", false));
        assert!(!r.ignore("readme.md", false));
        assert!(r.ignore("templates/.hidden", false));
        assert!(!r.ignore("templates/x.yaml", false));
    }
}
