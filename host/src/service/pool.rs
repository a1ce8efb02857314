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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::{Observer, pool};

    #[derive(Default)]
    struct Counts {
        started: AtomicUsize,
        done: AtomicUsize,
        finished: AtomicUsize,
    }

    impl Observer for Counts {
        fn run_started(&self, apps: usize) {
            self.started.fetch_add(apps, Ordering::Relaxed);
        }
        fn app_done(&self) {
            self.done.fetch_add(1, Ordering::Relaxed);
        }
        fn run_finished(&self) {
            self.finished.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn results_keep_the_task_order_and_the_observer_hears_each_task() {
        let counts = Counts::default();
        let out = pool(50, 4, &counts, &|calls: &mut usize, i| {
            *calls += 1;
            i * 2
        });
        assert_eq!(out, (0..50).map(|i| i * 2).collect::<Vec<_>>());
        assert_eq!(counts.started.load(Ordering::Relaxed), 50);
        assert_eq!(counts.done.load(Ordering::Relaxed), 50);
        assert_eq!(counts.finished.load(Ordering::Relaxed), 1);
        let none: Vec<usize> = pool(0, 4, &counts, &|(): &mut (), i| i);
        assert!(none.is_empty());
    }
}
