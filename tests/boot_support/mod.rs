//! End-to-end boot harness: builds an XCP-ng-shaped installer ISO with Debian's tools, boots ISOs in
//! qemu in every firmware/medium combination, and reads what the guest printed on its serial console.
//!
//! Layout, one job per file:
//! - `tools`: checks that every referee tool is installed (a missing one is a failure naming its Debian
//!   package) and runs commands with clear errors.
//! - `assets`: a real Linux kernel and Xen hypervisor from Debian's packages, cached between runs.
//! - `initrd`: the installer root filesystem `install.img` (busybox `/init` printing marker lines).
//! - `source_iso`: the source ISO, built the way XCP-ng builds its own (genisoimage + isohybrid).
//! - `qemu`: one boot of an ISO in a [`Mode`] through an [`Entry`], answering the boot menu.
//! - `serial_log`: what the guest printed, and accessors for the marker lines.
//! - `hand_remaster`: a remaster made with the referee tools that leaves efiboot.img's grub.cfg
//!   stale, to check that the harness notices.
//! - `matrix`: the 10 boots of one ISO, checked against an [`Expectation`], with timings.

#![allow(dead_code)]

pub mod assets;
pub mod hand_remaster;
pub mod initrd;
pub mod matrix;
pub mod qemu;
pub mod serial_log;
pub mod source_iso;
pub mod tools;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};

#[allow(unused_imports)]
pub use assets::{Assets, assets};
#[allow(unused_imports)]
pub use matrix::{ArgCheck, BootResult, Expectation, check, run_matrix};
#[allow(unused_imports)]
pub use qemu::{Entry, Mode, boot};
#[allow(unused_imports)]
pub use serial_log::{Ending, SerialLog};
pub use source_iso::build_source_iso;

/// Serializes everything heavy (ISO builds, remastering, qemu boots) across the tests of this binary:
/// the CI machine has two cores and a TCG guest needs one of them for itself.
pub fn exclusive() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    // A test that failed while holding the lock poisons it; the next test can still run safely.
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The scratch folder of this test binary (`<target>/tmp/boot-qemu`), emptied once per process.
///
/// Kept after the run so that serial logs and ISOs of a failed boot can be inspected.
pub fn work_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("boot-qemu");
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .unwrap_or_else(|e| panic!("cannot empty {}: {e}", dir.display()));
        }
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        dir
    })
}

/// The unmodified source ISO, built once per process under [`work_dir`] and shared by the tests.
pub fn source_iso() -> &'static Path {
    static ISO: OnceLock<PathBuf> = OnceLock::new();
    ISO.get_or_init(|| {
        let iso = build_source_iso(&work_dir().join("source"));
        let size = std::fs::metadata(&iso).map(|m| m.len()).unwrap_or(0);
        eprintln!(
            "source ISO: {} ({:.1} MiB)",
            iso.display(),
            size as f64 / 1048576.0
        );
        iso
    })
}

/// The file tree [`source_iso`] was packed from.
pub fn source_tree() -> PathBuf {
    source_iso();
    work_dir().join("source").join("tree")
}
