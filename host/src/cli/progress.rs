//! What the render service tells people: notes and a progress bar on
//! stderr.

use std::io::IsTerminal as _;
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::service::Observer;

/// Prints the service's notes on stderr and, on a terminal, draws a bar
/// counting the apps of a run.
#[derive(Debug)]
pub(crate) struct Printer {
    progress: bool,
    bar: Mutex<Option<ProgressBar>>,
}

impl Printer {
    /// With `progress`, runs of many apps show a bar when stderr is a
    /// terminal.
    pub(crate) fn new(progress: bool) -> Self {
        Self {
            progress: progress && std::io::stderr().is_terminal(),
            bar: Mutex::new(None),
        }
    }

    fn bar(&self) -> std::sync::MutexGuard<'_, Option<ProgressBar>> {
        self.bar
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Observer for Printer {
    fn note(&self, text: &str) {
        super::print::say(text);
    }

    fn run_started(&self, apps: usize) {
        if !self.progress {
            return;
        }
        let bar = ProgressBar::with_draw_target(Some(apps as u64), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("[{bar:30}] {pos}/{len} apps")
                .expect("the template is valid")
                .progress_chars("# "),
        );
        *self.bar() = Some(bar);
    }

    fn app_done(&self) {
        if let Some(bar) = &*self.bar() {
            bar.inc(1);
        }
    }

    fn run_finished(&self) {
        if let Some(bar) = self.bar().take() {
            bar.finish_and_clear();
        }
    }
}
