//! Where to publish: `URL#BRANCH[:PATH]`.

use std::fmt;
use std::str::FromStr;

/// A repository, a branch in it and a directory in that branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The repository: a local path, `file://`, `git://`, `http(s)://`, `ssh://` or `user@host:path`.
    pub url: String,
    /// The branch name, without `refs/heads/`.
    pub branch: String,
    /// The directory the rendered files replace, `/`-separated; `""` is the root of the branch.
    pub path: String,
}

/// A `URL#BRANCH[:PATH]` string could not be parsed.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// No `#`.
    #[error(
        "`{input}` names no branch: write the target as URL#BRANCH or URL#BRANCH:PATH, e.g. ../deploy.git#env/prod:apps/web"
    )]
    NoBranch {
        /// The input, without credentials.
        input: String,
    },
    /// Nothing before the `#`.
    #[error("`{input}` names no repository: write the target as URL#BRANCH[:PATH]")]
    NoUrl {
        /// The input, without credentials.
        input: String,
    },
    /// The URL does not parse as a git URL.
    #[error("`{url}` is not a git URL or repository path: {reason}")]
    Url {
        /// The URL, without credentials.
        url: String,
        /// Why, as gix says it.
        reason: String,
    },
    /// The branch is not a valid branch name.
    #[error("`{branch}` is not a valid git branch name (see `git check-ref-format --branch`)")]
    Branch {
        /// The branch.
        branch: String,
    },
    /// The path is absolute, or has `.`, `..` or empty components.
    #[error(
        "the path `{path}` in the target must be relative and /-separated, without `.`, `..` or empty components"
    )]
    Path {
        /// The path.
        path: String,
    },
}

impl FromStr for Target {
    type Err = ParseError;

    /// Parses `URL#BRANCH[:PATH]`. The URL is everything before the last `#`;
    /// the branch ends at the first `:` after it (branch names cannot hold
    /// `:`). A trailing `/` on the path is dropped.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let shown = || redact(input);
        let (url, rest) = input
            .rsplit_once('#')
            .ok_or_else(|| ParseError::NoBranch { input: shown() })?;
        if url.is_empty() {
            return Err(ParseError::NoUrl { input: shown() });
        }
        gix::url::parse(gix::bstr::BStr::new(url)).map_err(|e| ParseError::Url {
            url: redact(url),
            reason: crate::text::Scrubbed::text(&e.to_string(), url).to_string(),
        })?;
        let (branch, path) = rest.split_once(':').unwrap_or((rest, ""));
        let branch = branch.strip_prefix("refs/heads/").unwrap_or(branch);
        if branch.is_empty() {
            return Err(ParseError::NoBranch { input: shown() });
        }
        let full = format!("refs/heads/{branch}");
        if gix::validate::reference::branch_name(full.as_str().into()).is_err() {
            return Err(ParseError::Branch {
                branch: branch.to_owned(),
            });
        }
        let path = path.strip_suffix('/').unwrap_or(path);
        if !path.is_empty() && check_relative(path).is_err() {
            return Err(ParseError::Path {
                path: path.to_owned(),
            });
        }
        Ok(Self {
            url: url.to_owned(),
            branch: branch.to_owned(),
            path: path.to_owned(),
        })
    }
}

impl fmt::Display for Target {
    /// `URL#BRANCH[:PATH]` with credentials removed from the URL.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", redact(&self.url), self.branch)?;
        if !self.path.is_empty() {
            write!(f, ":{}", self.path)?;
        }
        Ok(())
    }
}

/// Why a path inside the branch was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BadPath {
    /// Git refuses the name (`.git` and its look-alikes on HFS+ and NTFS).
    Git(String),
    Empty,
    Absolute,
    Backslash,
    Nul,
    EmptyComponent,
    Dot,
    DotDot,
}

impl fmt::Display for BadPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Git(reason) => return write!(f, "git refuses the name: {reason}"),
            Self::Empty => "the path is empty",
            Self::Absolute => "the path is absolute; give it relative to the target directory",
            Self::Backslash => "the path holds `\\`; separate directories with `/`",
            Self::Nul => "the path holds a NUL byte",
            Self::EmptyComponent => "the path has an empty component (`//` or a trailing `/`)",
            Self::Dot => "the path has a `.` component",
            Self::DotDot => "the path has a `..` component",
        })
    }
}

/// Checks that `path` is relative, `/`-separated and free of `.`, `..` and empty components.
pub(crate) fn check_relative(path: &str) -> Result<(), BadPath> {
    if path.is_empty() {
        return Err(BadPath::Empty);
    }
    if path.starts_with('/') {
        return Err(BadPath::Absolute);
    }
    if path.contains('\\') {
        return Err(BadPath::Backslash);
    }
    if path.contains('\0') {
        return Err(BadPath::Nul);
    }
    for component in path.split('/') {
        match component {
            "" => return Err(BadPath::EmptyComponent),
            "." => return Err(BadPath::Dot),
            ".." => return Err(BadPath::DotDot),
            _ => {}
        }
        let options = gix::validate::path::component::Options {
            protect_windows: false,
            protect_hfs: true,
            protect_ntfs: true,
        };
        gix::validate::path::component(component.into(), None, options)
            .map_err(|e| BadPath::Git(e.to_string()))?;
    }
    Ok(())
}

/// `url` without credentials: user info is reduced to the user name for
/// ssh (where it is a name like `git`) and dropped entirely for any other
/// scheme, in any letter case (`HTTPS://token@`, `git+https://token@`);
/// the value of every
/// query parameter (`?access_token=`, `?private_token=`…) is replaced by
/// `***`, since a query on a repository URL carries nothing else.
pub fn redact(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let mut out = redact_userinfo(base);
    if let Some(query) = query {
        out.push('?');
        let params: Vec<String> = query
            .split('&')
            .map(|p| match p.split_once('=') {
                Some((name, value)) if !value.is_empty() => format!("{name}=***"),
                _ => p.to_owned(),
            })
            .collect();
        out.push_str(&params.join("&"));
    }
    out
}

fn redact_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return url.to_owned();
    };
    if user_is_a_name(scheme) {
        let user = userinfo.split(':').next().unwrap_or_default();
        format!("{scheme}://{user}@{host}{path}")
    } else {
        format!("{scheme}://{host}{path}")
    }
}

/// Whether the user of a URL of `scheme` is a plain name, not a secret:
/// over ssh only (`ssh://git@host`); over http(s) and anything else a bare
/// user can be a token.
pub fn user_is_a_name(scheme: &str) -> bool {
    ["ssh", "git+ssh", "ssh+git"]
        .iter()
        .any(|s| scheme.eq_ignore_ascii_case(s))
}

/// The user info of `url` (`user:password` or a token), if any; scrubbed from any text shown.
pub(crate) fn userinfo(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let (userinfo, _) = authority.rsplit_once('@')?;
    Some(userinfo).filter(|u| !u.is_empty())
}

/// Every credential `url` carries: its user info and the values of its
/// query parameters; each is scrubbed from any text shown.
pub fn secrets_in(url: &str) -> Vec<&str> {
    let mut out: Vec<&str> = userinfo(url).into_iter().collect();
    if let Some((_, query)) = url.split_once('?') {
        out.extend(
            query
                .split('&')
                .filter_map(|p| p.split_once('=').map(|(_, v)| v))
                .filter(|v| !v.is_empty()),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Target {
        s.parse().expect("parses")
    }

    #[test]
    fn url_branch_and_path() {
        let t = parse("https://example.com/deploy.git#env/prod:apps/web/");
        assert_eq!(t.url, "https://example.com/deploy.git");
        assert_eq!(t.branch, "env/prod");
        assert_eq!(t.path, "apps/web");
        let t = parse("git@example.com:org/deploy.git#main");
        assert_eq!(
            (t.url.as_str(), t.branch.as_str(), t.path.as_str()),
            ("git@example.com:org/deploy.git", "main", "")
        );
        let t = parse("../deploy#refs/heads/prod:x");
        assert_eq!((t.url.as_str(), t.branch.as_str()), ("../deploy", "prod"));
        assert_eq!(
            parse("file:///srv/git/d.git#a:b").to_string(),
            "file:///srv/git/d.git#a:b"
        );
    }

    #[test]
    fn bad_targets_are_refused() {
        for bad in [
            "https://example.com/d.git",
            "#main",
            "repo#",
            "repo#a..b",
            "repo#with space",
            "repo#main:../up",
            "repo#main:/abs",
            "repo#main:a//b",
            "repo#main:.git",
        ] {
            assert!(bad.parse::<Target>().is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn credentials_never_show() {
        let err = "https://user:s3cret@example.com/d.git"
            .parse::<Target>()
            .expect_err("no branch");
        assert!(!err.to_string().contains("s3cret"), "{err}");
        let t = parse("https://tok3n@example.com/d.git#main");
        assert!(!t.to_string().contains("tok3n"), "{t}");
        assert_eq!(
            redact("ssh://git:pw@example.com/a.git"),
            "ssh://git@example.com/a.git"
        );
        assert_eq!(
            userinfo("https://u:p@example.com/a@b"),
            Some("u:p"),
            "only the authority's user info"
        );
        assert_eq!(
            redact("https://example.com/d.git?access_token=t0k&private_token=p&x"),
            "https://example.com/d.git?access_token=***&private_token=***&x"
        );
        for url in [
            "HTTPS://tok3n@example.com/d.git",
            "Http://u:tok3n@example.com/d.git",
            "git+https://tok3n@example.com/d.git",
            "ftp://tok3n@example.com/d.git",
        ] {
            assert!(!redact(url).contains("tok3n"), "{url}: {}", redact(url));
        }
        assert_eq!(
            redact("SSH://git:pw@example.com/a.git"),
            "SSH://git@example.com/a.git"
        );
        assert_eq!(
            secrets_in("https://u:p@example.com/d.git?token=t0k"),
            vec!["u:p", "t0k"]
        );
    }

    #[test]
    fn relative_paths() {
        assert_eq!(check_relative("a/b.yaml"), Ok(()));
        assert_eq!(check_relative("a/../b"), Err(BadPath::DotDot));
        assert_eq!(check_relative("./b"), Err(BadPath::Dot));
        assert_eq!(check_relative("a\\b"), Err(BadPath::Backslash));
        assert_eq!(check_relative("/a"), Err(BadPath::Absolute));
        assert_eq!(check_relative("a/"), Err(BadPath::EmptyComponent));
        assert_eq!(check_relative(""), Err(BadPath::Empty));
        for reserved in [".git/config", "a/.GIT/x", "a/.git./x", "git~1/x"] {
            assert!(
                matches!(check_relative(reserved), Err(BadPath::Git(_))),
                "{reserved}"
            );
        }
    }
}
