//! `kiln plugin push|add|update|verify`: plugins in OCI registries and
//! `kiln.lock` (the work is in `pipeline::locking`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::print::say;
use super::{ExitStatus, GlobalArgs, Hint, write_stdout};
use crate::model::App;
use crate::oci::signature::SigningKey;
use crate::pipeline::locking::{self, Pinned};
use crate::runtime::{CompiledCache, Runtime};
use crate::service::{Origin, RenderService, ServiceConfig};

/// The app whose `kiln.lock` a command works on: `dir`, its source root
/// found as `kiln render` finds it.
fn app(dir: &Path, global: &GlobalArgs) -> anyhow::Result<App> {
    let mut config = ServiceConfig::new(crate::env::cache_dir());
    config.offline = global.offline;
    let service = RenderService::new(config)?;
    let origin = Origin {
        repo: None,
        rev: None,
        dir: dir.to_path_buf(),
        root: None,
    };
    Ok(service.resolve(&origin)?.app)
}

fn runtime() -> anyhow::Result<Runtime> {
    Ok(Runtime::new(Some(CompiledCache::new(
        &crate::env::cache_dir(),
    )))?)
}

/// A library error with its hint, for the binary edge.
fn hinted(e: locking::Error) -> anyhow::Error {
    match e.hint() {
        Some(hint) => {
            let message = format!("{:#}", anyhow::Error::new(e));
            Hint::error(message, hint)
        }
        None => e.into(),
    }
}

fn describe(p: &Pinned) -> String {
    let mut text = format!("{} ({}", p.entry.source, p.kind);
    if let Some(c) = &p.contract {
        let _ = write!(text, ", kiln:plugin@{c}");
    }
    text.push(')');
    if let Some(d) = &p.entry.digest {
        let _ = write!(text, " {d}");
    }
    let _ = write!(text, " blake3:{}", p.entry.blake3);
    if let Some(k) = &p.signed_by {
        let _ = write!(text, ", signed by {k}");
    }
    text
}

/// `kiln plugin push FILE REF [--sign-key KEY]`.
pub(super) fn push(
    file: &Path,
    reference: &str,
    sign_key: Option<&PathBuf>,
) -> anyhow::Result<ExitStatus> {
    let key = match sign_key {
        Some(path) => {
            let pem = fs_err::read_to_string(path)
                .with_context(|| format!("cannot read the signing key {}", path.display()))?;
            Some(SigningKey::from_pem(&path.display().to_string(), &pem)?)
        }
        None => None,
    };
    let pushed = locking::push(file, reference, key.as_ref(), &runtime()?).map_err(hinted)?;
    say(&format!(
        "pushed {} ({}) as {}",
        file.display(),
        pushed.kind,
        pushed.reference
    ));
    if let Some(sig) = &pushed.signature {
        say(&format!("signed: signature manifest {sig}"));
    }
    write_stdout(&format!("{}\n", pushed.digest))?;
    Ok(ExitStatus::Success)
}

/// `kiln plugin add PLUGIN [--app DIR]`.
pub(super) fn add(plugin: &str, dir: &Path, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    let app = app(dir, global)?;
    let pinned =
        locking::add(&app, plugin, &runtime()?, &crate::env::cache_dir()).map_err(hinted)?;
    say(&format!("locked {}", describe(&pinned)));
    say(&format!(
        "use it in kiln.yaml as `plugin: {plugin}`; kiln.lock pins it"
    ));
    Ok(ExitStatus::Success)
}

/// `kiln plugin update [NAME] [--app DIR]`.
pub(super) fn update(
    name: Option<&str>,
    dir: &Path,
    global: &GlobalArgs,
) -> anyhow::Result<ExitStatus> {
    let app = app(dir, global)?;
    let updates =
        locking::update(&app, name, &runtime()?, &crate::env::cache_dir()).map_err(hinted)?;
    for u in &updates {
        let same = u.before.as_ref() == Some(&u.after.entry);
        let what = match (&u.before, same) {
            (_, true) => "unchanged",
            (None, false) => "added",
            (Some(_), false) => "updated",
        };
        say(&format!("{what} {}", describe(&u.after)));
    }
    Ok(ExitStatus::Success)
}

/// `kiln plugin verify [--app DIR]`: exit 1 when an entry does not hold.
pub(super) fn verify(dir: &Path, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    let app = app(dir, global)?;
    let checked = locking::verify(&app, &crate::env::cache_dir()).map_err(hinted)?;
    let mut out = String::new();
    let mut failed = 0;
    for c in &checked {
        match &c.result {
            Ok(detail) => {
                let _ = writeln!(out, "ok      {}  {detail}", c.source);
            }
            Err(e) => {
                failed += 1;
                let _ = writeln!(out, "FAILED  {}  {}", c.source, crate::error_chain(e));
                if let Some(h) = e.hint() {
                    say(&format!("hint: {h}"));
                }
            }
        }
    }
    write_stdout(&out)?;
    if failed > 0 {
        say(&format!(
            "{failed} of {} plugins failed verification",
            checked.len()
        ));
        return Ok(ExitStatus::Failure);
    }
    Ok(ExitStatus::Success)
}
