//! Helpers shared by the unit tests of several modules.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The names in folder `dir`, sorted.
pub(crate) fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Counts the jobs running at once, and the most seen at once.
#[derive(Default)]
pub(crate) struct Gauge {
    running: AtomicUsize,
    most: AtomicUsize,
}

impl Gauge {
    /// One job, running for a moment (long enough for others to start beside it).
    pub(crate) fn job(&self) {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        std::thread::sleep(std::time::Duration::from_millis(2));
        self.running.fetch_sub(1, Ordering::SeqCst);
    }

    /// The most jobs seen running at once.
    pub(crate) fn most(&self) -> usize {
        self.most.load(Ordering::SeqCst)
    }
}
