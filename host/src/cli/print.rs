//! Messages for people on stderr: notes, failed apps, `--explain`.

use std::path::{Path, PathBuf};

use crate::cache::CacheStatus;
use crate::model::StepReport;

/// Prints a message for people on stderr.
#[expect(clippy::print_stderr, reason = "messages for people go to stderr")]
pub(crate) fn say(text: &str) {
    eprintln!("{text}");
}

/// Says that `headline` failed, with the causes of `error` one per line and
/// its hint, if any (how a failed app of a run is reported; the run goes on).
pub(crate) fn say_failed(headline: &str, error: &anyhow::Error) {
    let mut text = format!("error: {headline}:");
    for cause in error.chain() {
        text.push_str("\n  ");
        text.push_str(&cause.to_string());
    }
    if let Some(hint) = super::hint(error) {
        text.push_str("\nhint: ");
        text.push_str(&hint);
    }
    say(&text);
}

/// Prints the `--explain` lines of one app's steps on stderr.
pub(crate) fn explain(app: &str, steps: &[StepReport]) {
    for s in steps {
        let what = match s.cache {
            CacheStatus::Hit => "hit".to_owned(),
            CacheStatus::Unchanged => {
                "hit (no file the app reads changed since its last render)".to_owned()
            }
            CacheStatus::Miss => match &s.changed {
                None => "miss (no earlier render of this step)".to_owned(),
                Some(c) if c.is_empty() => {
                    "miss (same inputs as last time; the entry was evicted or damaged)".to_owned()
                }
                Some(c) => format!("miss (changed: {})", c.join(", ")),
            },
            CacheStatus::Secret => {
                "not cached (the step or one before it holds a secret)".to_owned()
            }
            CacheStatus::Off => "not cached (cache off)".to_owned(),
        };
        say(&format!(
            "explain: {app}: step `{}` ({}): {what}, key {}",
            s.step,
            s.plugin,
            &s.key[..16]
        ));
    }
}

/// The directory of an app's output under `--output-dir`.
pub(crate) fn output_dir_of(base: &Path, label: &str) -> PathBuf {
    if label == "." {
        base.join("_root")
    } else {
        base.join(label)
    }
}
