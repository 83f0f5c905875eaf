//! Files and folders written under a temporary name beside their final one, work folders,
//! and what becomes of them when the writing process is interrupted.
//!
//! A partial's name is `.isoremix-<pid>-<random>.partial`: the PID of the process writing it.
//! The next isoremix process that writes into the same folder removes the partials whose
//! writer no longer runs (killed with SIGKILL, crashed, the machine lost power), see
//! [`remove_stale`]. While a process holds [registered](register) partials, SIGINT and SIGTERM
//! remove them before the process dies of the signal, as it would have without a handler.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, Once, PoisonError};

use rustix::io::Errno;
use rustix::process::{Pid, test_kill_process};
use signal_hook::consts::{SIGINT, SIGTERM};

/// What every partial's name starts with.
const PREFIX: &str = ".isoremix-";
/// What every partial's name ends with.
const SUFFIX: &str = ".partial";

/// A name-maker for this process's partials: `.isoremix-<pid>-<random>.partial`.
fn with_builder<R>(make: impl FnOnce(&mut tempfile::Builder<'_, '_>) -> R) -> R {
    let prefix = format!("{PREFIX}{}-", std::process::id());
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(SUFFIX);
    make(&mut builder)
}

/// Creates a new partial name in `dir` with `create` (which must fail with
/// [`io::ErrorKind::AlreadyExists`] when the name is taken, to try another). The name is
/// removed when the returned value is dropped.
pub(crate) fn make_in<R>(
    dir: &Path,
    create: impl FnMut(&Path) -> io::Result<R>,
) -> io::Result<tempfile::NamedTempFile<R>> {
    with_builder(|b| b.make_in(dir, create))
}

/// Creates an empty partial file in `dir` (mode 0600), removed when dropped.
pub(crate) fn file_in(dir: &Path) -> io::Result<tempfile::NamedTempFile> {
    with_builder(|b| b.tempfile_in(dir))
}

/// Creates an empty partial folder in `dir` (mode 0777 less the umask, as `mkdir` makes
/// folders), removed with its content when dropped.
pub(crate) fn dir_in(dir: &Path) -> io::Result<tempfile::TempDir> {
    use std::os::unix::fs::PermissionsExt;
    with_builder(|b| {
        b.permissions(std::fs::Permissions::from_mode(0o777))
            .tempdir_in(dir)
    })
}

/// A private work folder of a build, in the system's temporary folder (`$TMPDIR`). It is
/// removed when dropped, on SIGINT and SIGTERM, and, if its process is killed outright, by
/// the next isoremix run that makes one.
pub(crate) struct WorkDir {
    dir: tempfile::TempDir,
    _registration: Registration,
}

impl WorkDir {
    /// Makes a work folder (mode 0700).
    pub(crate) fn new() -> io::Result<Self> {
        let tmp = std::env::temp_dir();
        remove_stale(&tmp);
        let dir = with_builder(|b| b.tempdir_in(&tmp))?;
        let registration = register(dir.path());
        Ok(Self {
            dir,
            _registration: registration,
        })
    }

    /// The folder.
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// The PID in a partial's name, if `name` is one.
fn writer_of(name: &str) -> Option<i32> {
    let rest = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    let (pid, _) = rest.split_once('-')?;
    pid.parse().ok()
}

/// Whether the process `pid` is gone: only a definite "no such process" counts, so a
/// partial is never taken from a live writer (one owned by another user answers EPERM).
fn is_gone(pid: i32) -> bool {
    Pid::from_raw(pid).is_some_and(|pid| test_kill_process(pid) == Err(Errno::SRCH))
}

/// Removes the partials in `dir` whose writing process no longer runs.
///
/// Best effort: a partial that cannot be removed (another user's, a folder being read) is
/// left as it is, and the caller's own work goes on.
pub(crate) fn remove_stale(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(writer_of) else {
            continue;
        };
        if pid.unsigned_abs() == std::process::id() || !is_gone(pid) {
            continue;
        }
        let path = entry.path();
        let _ = match entry.file_type() {
            Ok(kind) if kind.is_dir() => std::fs::remove_dir_all(&path),
            _ => std::fs::remove_file(&path),
        };
    }
}

/// The partials SIGINT or SIGTERM must remove.
static REGISTERED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn registered() -> MutexGuard<'static, Vec<PathBuf>> {
    REGISTERED.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A partial that SIGINT and SIGTERM remove; dropping it (or [`Registration::finish`])
/// forgets it again.
#[must_use]
pub(crate) struct Registration {
    path: PathBuf,
}

/// Has SIGINT and SIGTERM remove `path` (a file or a folder) before the process dies.
pub(crate) fn register(path: &Path) -> Registration {
    install_handler();
    registered().push(path.to_path_buf());
    Registration {
        path: path.to_path_buf(),
    }
}

impl Registration {
    /// Runs `rename` (which gives the partial its final name) where no signal can remove
    /// the partial halfway, then forgets the partial.
    pub(crate) fn finish<R>(self, rename: impl FnOnce() -> R) -> R {
        let mut held = registered();
        let result = rename();
        held.retain(|p| *p != self.path);
        result
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        registered().retain(|p| *p != self.path);
    }
}

/// Starts, once, a thread that on SIGINT or SIGTERM removes the registered partials and then
/// lets the signal end the process as it would have without a handler (exit status 130 or
/// 143 in a shell). If the handler cannot be set up, the partials stay until the next run
/// writing into their folder finds their writer gone.
fn install_handler() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
            return;
        };
        let _ = std::thread::Builder::new()
            .name("partial-cleanup".into())
            .spawn(move || {
                if let Some(signal) = signals.forever().next() {
                    // The lock is kept: a rename in `finish` cannot start after this point.
                    let held = registered();
                    for path in held.iter() {
                        let _ = match std::fs::symlink_metadata(path) {
                            Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path),
                            _ => std::fs::remove_file(path),
                        };
                    }
                    let _ = signal_hook::low_level::emulate_default_handler(signal);
                    std::process::exit(128 + signal);
                }
            });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PID no process has: the kernel hands out PIDs below `pid_max` only.
    fn dead_pid() -> u32 {
        std::fs::read_to_string("/proc/sys/kernel/pid_max")
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }

    #[test]
    fn names_carry_the_writer_pid() {
        let dir = tempfile::tempdir().unwrap();
        let file = file_in(dir.path()).unwrap();
        let name = file.path().file_name().unwrap().to_str().unwrap();
        assert_eq!(
            writer_of(name).map(i32::unsigned_abs),
            Some(std::process::id())
        );
        assert_eq!(writer_of(".isoremix-abc.partial"), None);
        assert_eq!(writer_of("isoremix-12-x.partial"), None);
    }

    #[test]
    fn stale_partials_of_dead_writers_are_removed_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let dead = dead_pid();
        let stale_file = dir.path().join(format!(".isoremix-{dead}-abc.partial"));
        let stale_dir = dir.path().join(format!(".isoremix-{dead}-def.partial"));
        std::fs::write(&stale_file, b"half an image").unwrap();
        std::fs::create_dir(&stale_dir).unwrap();
        std::fs::write(stale_dir.join("f"), b"x").unwrap();
        let own = file_in(dir.path()).unwrap();
        // PID 1 always runs.
        let live = dir.path().join(".isoremix-1-ghi.partial");
        std::fs::write(&live, b"being written").unwrap();
        let unrelated = dir.path().join(format!(".isoremix-{dead}-abc.iso"));
        std::fs::write(&unrelated, b"not ours").unwrap();

        remove_stale(dir.path());

        assert!(!stale_file.exists());
        assert!(!stale_dir.exists());
        assert!(own.path().exists());
        assert!(live.exists());
        assert!(unrelated.exists());
    }

    #[test]
    fn finish_forgets_the_partial() {
        let path = PathBuf::from("/nonexistent/.isoremix-1-x.partial");
        let reg = register(&path);
        assert!(registered().contains(&path));
        assert_eq!(reg.finish(|| 7), 7);
        assert!(!registered().contains(&path));
        drop(register(&path));
        assert!(!registered().contains(&path));
    }
}
