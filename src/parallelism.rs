//! How many threads the work runs on: the one home of the core count.
//!
//! The count is the cores this process may use (its CPU affinity and cgroup quota, as
//! [`std::thread::available_parallelism`] reads them), or [`THREADS_VAR`] when it is set to a
//! positive number: fewer threads on a shared machine, or more than the cores to see how the
//! caps below hold. The output bytes never depend on it.
//!
//! Work whose memory grows with its threads caps them where it is done, so that a build's peak
//! memory stays under its ceiling whatever the core count: the bzip2 block decoder and the
//! splice's block work ([`crate::initrd::MAX_BLOCK_THREADS`]), a re-pack's compression
//! ([`crate::initrd::MAX_REPACK_THREADS`]), and the readers of input files: package files,
//! kernel modules, and `verify`'s hashers ([`MAX_FILE_READERS`]).
//!
//! [`map_in_order`] runs independent jobs over a list on a given number of threads; the work
//! that has its own shape (streams decoded block by block, the re-pack's segment queue,
//! `verify`'s readers) keeps its own threads.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The environment variable that sets the thread count.
pub const THREADS_VAR: &str = "ISOREMIX_THREADS";

/// The most threads reading input files side by side: a build's package readers, the kernel
/// module parser, `verify`'s hashers. Each holds buffers or a file's data, and eight read
/// faster than storage delivers, so more would only add memory.
pub const MAX_FILE_READERS: usize = 8;

/// The threads that read input files: one per core ([`cores`]), at most [`MAX_FILE_READERS`].
pub fn file_readers() -> usize {
    cores().min(MAX_FILE_READERS)
}

/// The threads work may run on: [`THREADS_VAR`] when it holds a positive number, else the
/// cores this process may use (1 when that cannot be told).
pub fn cores() -> usize {
    from_setting(std::env::var(THREADS_VAR).ok().as_deref())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// The thread count a setting of [`THREADS_VAR`] asks for, if it is a positive number.
fn from_setting(value: Option<&str>) -> Option<usize> {
    value?.trim().parse().ok().filter(|&n| n > 0)
}

/// Runs `f` on every item of `items` on `threads` threads (at least one, at most one per item;
/// none is started for one), each taking the next item not yet taken, and gives the results in
/// the items' order. An item whose `f` panicked gives `None`, for the caller to report as the
/// error it is; the other items still run.
pub fn map_in_order<T: Sync, U: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> U + Sync,
) -> Vec<Option<U>> {
    let run = |item: &T| catch_unwind(AssertUnwindSafe(|| f(item))).ok();
    let workers = threads.clamp(1, items.len().max(1));
    if workers == 1 {
        return items.iter().map(run).collect();
    }
    let next = AtomicUsize::new(0);
    let done: Vec<Vec<(usize, Option<U>)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else {
                            return done;
                        };
                        done.push((i, run(item)));
                    }
                })
            })
            .collect();
        // `run` catches the jobs' panics, so a worker itself does not panic.
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    let mut results: Vec<Option<U>> = items.iter().map(|_| None).collect();
    for (i, result) in done.into_iter().flatten() {
        if let Some(slot) = results.get_mut(i) {
            *slot = result;
        }
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_run_on_the_threads_asked_with_results_in_order_and_panics_kept_apart() {
        let items: Vec<u32> = (0..40).collect();
        for threads in [0, 1, 3, 64] {
            let gauge = crate::test_support::Gauge::default();
            let out = map_in_order(&items, threads, |&i| {
                gauge.job();
                assert!(i != 7, "a job that fails");
                i * 2
            });
            let want: Vec<Option<u32>> = items.iter().map(|&i| (i != 7).then_some(i * 2)).collect();
            assert_eq!(out, want, "{threads} threads");
            let most = gauge.most();
            assert!(
                (1..=threads.clamp(1, items.len())).contains(&most),
                "{most} at once"
            );
        }
        assert!(map_in_order(&[] as &[u32], 4, |&i| i).is_empty());
    }

    #[test]
    fn only_a_positive_number_sets_the_count() {
        assert_eq!(from_setting(Some("16")), Some(16));
        assert_eq!(from_setting(Some(" 3\n")), Some(3));
        assert_eq!(from_setting(Some("0")), None);
        assert_eq!(from_setting(Some("-2")), None);
        assert_eq!(from_setting(Some("many")), None);
        assert_eq!(from_setting(Some("")), None);
        assert_eq!(from_setting(None), None);
    }
}
