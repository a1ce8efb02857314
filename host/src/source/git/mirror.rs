//! The bare mirror of a remote: fetched under an exclusive lock file,
//! checked after use, and fetched afresh when it is damaged.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use gix::remote::Direction;
use gix::remote::fetch::Shallow;

use super::Error;

/// The ref the remote's HEAD is fetched into; the default revision.
pub(super) const DEFAULT_REV: &str = "refs/kiln/HEAD";

const REFSPECS: [&str; 3] = [
    "+refs/heads/*:refs/heads/*",
    "+refs/tags/*:refs/tags/*",
    "+HEAD:refs/kiln/HEAD",
];

pub(super) struct Mirror {
    dir: PathBuf,
    url: String,
}

impl Mirror {
    pub(super) fn new(cache_dir: &Path, url: &str) -> Self {
        let name = blake3::hash(redact(url).as_bytes()).to_hex();
        Self {
            dir: cache_dir.join("git-v0").join("mirrors").join(&name[..32]),
            url: url.to_owned(),
        }
    }

    /// Takes the mirror's lock, shared by every kiln process; released on drop.
    pub(super) fn lock(&self) -> Result<std::fs::File, Error> {
        kiln_git_publish::lock_beside(&self.dir).map_err(|source| Error::Io {
            path: self.dir.with_extension("lock"),
            source,
        })
    }

    /// The mirror, fetched as needed for `rev`.
    pub(super) fn ready(&self, rev: Option<&str>, offline: bool) -> Result<gix::Repository, Error> {
        let shown = redact(&self.url);
        let existing = if self.dir.exists() {
            match gix::open(&self.dir) {
                Ok(repo) if healthy(&repo) => Some(repo),
                _ if offline => return Err(Error::Damaged { url: shown }),
                _ => {
                    tracing::warn!(url = %shown, "the git mirror is damaged; fetching it afresh");
                    self.remove()?;
                    None
                }
            }
        } else {
            None
        };
        if offline {
            return existing.ok_or(Error::NotCached { url: shown });
        }
        if let (Some(repo), Some(rev)) = (&existing, rev)
            && is_commit_id(rev)
            && repo
                .rev_parse_single(rev)
                .is_ok_and(|id| id.object().is_ok())
        {
            tracing::debug!(url = %shown, rev, "commit already mirrored; not fetching");
            return Ok(existing.expect("checked above"));
        }
        let had_mirror = existing.is_some();
        let repo = match existing {
            Some(repo) => repo,
            None => gix::init_bare(&self.dir).map_err(|e| Error::Fetch {
                url: shown.clone(),
                source: self.scrub(&e),
            })?,
        };
        // A first fetch for a branch, a tag or HEAD takes the tips only: one
        // revision is all a render needs, and a large history is most of a
        // fetch. The mirror is deepened when a revision needs more.
        let shallow = if !had_mirror && rev.is_none_or(is_plain_name) {
            Shallow::DepthAtRemote(std::num::NonZeroU32::MIN)
        } else {
            Shallow::NoChange
        };
        match self.fetch(&repo, shallow) {
            Ok(()) if healthy(&repo) => self.deepened_for(repo, rev),
            Ok(()) => {
                tracing::warn!(url = %shown, "the git mirror is damaged after fetching; fetching it afresh");
                self.refetch()
            }
            // A mirror that never fetched holds no revision, not even HEAD.
            Err(source)
                if had_mirror && repo.rev_parse_single(rev.unwrap_or(DEFAULT_REV)).is_ok() =>
            {
                let source_text = self.scrub(&source).0;
                tracing::warn!(url = %shown, error = %source_text, "fetch failed; using the mirror as last fetched");
                Ok(repo)
            }
            Err(e) => Err(Error::Fetch {
                url: shown,
                source: self.scrub(&e),
            }),
        }
    }

    /// `repo`, with its whole history fetched if it is shallow and `rev`
    /// does not resolve in it (a commit below the tips, `main~3`).
    fn deepened_for(
        &self,
        repo: gix::Repository,
        rev: Option<&str>,
    ) -> Result<gix::Repository, Error> {
        let resolves = repo
            .rev_parse_single(rev.unwrap_or(DEFAULT_REV))
            .is_ok_and(|id| id.object().is_ok());
        if resolves || !repo.is_shallow().unwrap_or(false) {
            return Ok(repo);
        }
        tracing::debug!(url = %redact(&self.url), "revision not in the shallow mirror; fetching its history");
        self.fetch(&repo, Shallow::undo())
            .map_err(|e| Error::Fetch {
                url: redact(&self.url),
                source: self.scrub(&e),
            })?;
        Ok(repo)
    }

    fn refetch(&self) -> Result<gix::Repository, Error> {
        let shown = redact(&self.url);
        self.remove()?;
        let repo = gix::init_bare(&self.dir).map_err(|e| Error::Fetch {
            url: shown.clone(),
            source: self.scrub(&e),
        })?;
        self.fetch(&repo, Shallow::NoChange)
            .map_err(|e| Error::Fetch {
                url: shown,
                source: self.scrub(&e),
            })?;
        Ok(repo)
    }

    /// The text of `e` with the URL's user info and the token replaced by `***`.
    fn scrub(&self, e: &gix::Error) -> Scrubbed {
        let mut text = crate::error_chain(e);
        let mut secrets: Vec<String> = super::token()
            .filter(|t| !t.is_empty())
            .into_iter()
            .collect();
        if let Some((scheme, rest)) = self.url.split_once("://")
            && let Some((userinfo, _)) = rest
                .split(['/', '?'])
                .next()
                .unwrap_or_default()
                .rsplit_once('@')
        {
            // Over ssh the user is a name like `git`, and only a password
            // is secret; elsewhere (http(s) in any case, `git+https`) a
            // bare user can be a token.
            if !kiln_git_publish::user_is_a_name(scheme) {
                secrets.push(userinfo.to_owned());
            } else if let Some((_, password)) = userinfo.split_once(':') {
                secrets.push(password.to_owned());
            }
        }
        // A token in the query (`?access_token=`) is as secret.
        if let Some((_, query)) = self.url.split_once('?') {
            secrets.extend(
                query
                    .split('&')
                    .filter_map(|p| p.split_once('=').map(|(_, v)| v.to_owned()))
                    .filter(|v| !v.is_empty()),
            );
        }
        // The URL as a whole first, so that it shows redacted.
        text = text.replace(self.url.as_str(), &redact(&self.url));
        for secret in secrets {
            text = text.replace(&secret, "***");
        }
        Scrubbed(text)
    }

    fn remove(&self) -> Result<(), Error> {
        match fs_err::remove_dir_all(&self.dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::Io {
                path: self.dir.clone(),
                source: e,
            }),
            _ => Ok(()),
        }
    }

    /// The credentials callback for a token ([`super::token`]) over http(s).
    fn credentials(
        &self,
    ) -> Option<
        impl FnMut(
            gix::credentials::helper::Action,
        ) -> gix::Result<Option<gix::credentials::protocol::Outcome>>
        + use<>,
    > {
        let is_http = self.url.starts_with("https://") || self.url.starts_with("http://");
        let token = super::token().filter(|t| !t.is_empty() && is_http)?;
        Some(move |action| match action {
            gix::credentials::helper::Action::Get(ctx) => {
                Ok(Some(gix::credentials::protocol::Outcome {
                    identity: gix::sec::identity::Account {
                        username: ctx
                            .username
                            .clone()
                            .unwrap_or_else(|| "x-access-token".to_owned()),
                        password: token.clone(),
                        oauth_refresh_token: None,
                    },
                    next: ctx.into(),
                }))
            }
            _ => Ok(None),
        })
    }

    /// The commit `reference` (a full ref name, or `HEAD`) points to on the
    /// remote, asking for refs only (no objects are fetched); `None` when
    /// the remote does not have it.
    pub(super) fn remote_tip(&self, reference: &str) -> Result<Option<String>, Error> {
        let shown = redact(&self.url);
        let fail = |e: &gix::Error| Error::Fetch {
            url: shown.clone(),
            source: self.scrub(e),
        };
        let repo = if self.dir.exists() {
            gix::open(&self.dir).map_err(|e| fail(&e))?
        } else {
            gix::init_bare(&self.dir).map_err(|e| fail(&e))?
        };
        let list = || -> Result<Option<String>, gix::Error> {
            let remote = repo
                .remote_at(self.url.as_str())?
                .with_refspecs([reference], Direction::Fetch)?;
            let mut connection = remote.connect(Direction::Fetch)?;
            if let Some(credentials) = self.credentials() {
                connection.set_credentials(credentials);
            }
            let (map, _) = connection.ref_map(
                gix::progress::Discard,
                gix::remote::ref_map::Options::default(),
            )?;
            Ok(map.remote_refs.iter().find_map(|r| {
                let (name, target, peeled) = r.unpack();
                (name == reference.as_bytes())
                    .then(|| peeled.or(target).map(|o| o.to_hex().to_string()))
                    .flatten()
            }))
        };
        list().map_err(|e| fail(&e))
    }

    fn fetch(&self, repo: &gix::Repository, shallow: Shallow) -> Result<(), gix::Error> {
        let span = tracing::info_span!("fetch", url = %redact(&self.url));
        let _entered = span.enter();
        let remote = repo
            .remote_at(self.url.as_str())?
            .with_refspecs(REFSPECS, Direction::Fetch)?;
        let mut connection = remote.connect(Direction::Fetch)?;
        if let Some(credentials) = self.credentials() {
            connection.set_credentials(credentials);
        }
        let interrupt = AtomicBool::new(false);
        let outcome = connection
            .prepare_fetch(
                gix::progress::Discard,
                gix::remote::ref_map::Options::default(),
            )?
            .with_shallow(shallow)
            .receive(gix::progress::Discard, &interrupt)?;
        prune(repo, &outcome.ref_map);
        Ok(())
    }
}

/// Removes the branches and tags the remote no longer has, and the
/// remote's `HEAD` when it names nothing: a deleted branch is never
/// rendered as it was when last fetched.
fn prune(repo: &gix::Repository, map: &gix::remote::fetch::RefMap) {
    let fetched: std::collections::HashSet<&[u8]> = map
        .mappings
        .iter()
        .filter_map(|m| m.local.as_ref().map(|l| l.as_slice()))
        .collect();
    let Ok(platform) = repo.references() else {
        return;
    };
    for prefix in ["refs/heads/", "refs/tags/", "refs/kiln/"] {
        let Ok(refs) = platform.prefixed(prefix) else {
            continue;
        };
        for reference in refs.flatten() {
            let name = reference.name().as_bstr().to_vec();
            if !fetched.contains(name.as_slice())
                && let Err(e) = reference.delete()
            {
                tracing::warn!(reference = %String::from_utf8_lossy(&name), error = %e, "cannot remove a ref the remote no longer has");
            }
        }
    }
}

/// Every ref resolves to an object that can be decoded.
fn healthy(repo: &gix::Repository) -> bool {
    let Ok(platform) = repo.references() else {
        return false;
    };
    let Ok(all) = platform.all() else {
        return false;
    };
    for reference in all {
        let Ok(mut reference) = reference else {
            return false;
        };
        let Ok(id) = reference.peel_to_id() else {
            return false;
        };
        let Ok(object) = id.object() else {
            return false;
        };
        if let Ok(commit) = object.peel_to_commit()
            && commit.tree().is_err()
        {
            return false;
        }
    }
    true
}

/// An error's text with credentials removed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Scrubbed(String);

/// Whether `rev` names a ref (a branch, a tag, `HEAD`) rather than a commit
/// id or an expression that may need history (`main~2`, `v1^`).
fn is_plain_name(rev: &str) -> bool {
    !is_commit_id(rev) && !rev.contains(['~', '^', '@', ':'])
}

fn is_commit_id(rev: &str) -> bool {
    rev.len() == 40 && rev.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `url` without credentials: no user info for http(s), no password
/// otherwise (shared with the git backend, which shows URLs the same way).
pub use kiln_git_publish::redact;
