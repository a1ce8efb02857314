//! A bounded pool of threads for runs of many apps, and what it tells an
//! [`Observer`] as it goes.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What the service tells the person or system driving it while it works:
/// notes for people and the progress of runs of many apps. Every method
/// does nothing by default but [`Observer::note`], which logs.
pub trait Observer: Send + Sync {
    /// A message for people (e.g. that an offline mirror is used).
    fn note(&self, text: &str) {
        tracing::info!("{text}");
    }
    /// A run of `apps` apps starts.
    fn run_started(&self, apps: usize) {
        let _ = apps;
    }
    /// One more app of the run is done.
    fn app_done(&self) {}
    /// The run is over.
    fn run_finished(&self) {}
}

/// The observer that only logs notes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Logged;

impl Observer for Logged {}

/// Runs `task(state, i)` for each `i` in `0..tasks` on up to `jobs`
/// threads, each thread with its own `state`; results in the order of `i`.
/// `observer` hears of the run and of each task done.
pub(crate) fn pool<S: Default, T: Send>(
    tasks: usize,
    jobs: usize,
    observer: &dyn Observer,
    task: &(dyn Fn(&mut S, usize) -> T + Sync),
) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<T>>> = Mutex::new((0..tasks).map(|_| None).collect());
    observer.run_started(tasks);
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, tasks.max(1)) {
            scope.spawn(|| {
                let mut state = S::default();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= tasks {
                        break;
                    }
                    let result = task(&mut state, i);
                    results.lock().expect("lock poisoned by a panic")[i] = Some(result);
                    observer.app_done();
                }
            });
        }
    });
    observer.run_finished();
    results
        .into_inner()
        .expect("lock poisoned by a panic")
        .into_iter()
        .map(|r| r.expect("every task is run by some worker"))
        .collect()
}

/// The default number of render threads: the number of CPUs.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZero::get)
}
