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
//! ([`crate::initrd::MAX_REPACK_THREADS`]), the readers of package files
//! ([`crate::repo::default_threads`]), of kernel modules, and `verify`'s.

/// The environment variable that sets the thread count.
pub const THREADS_VAR: &str = "ISOREMIX_THREADS";

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

#[cfg(test)]
mod tests {
    use super::*;

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
