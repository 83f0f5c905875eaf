//! The output file of a build, which nobody can see half-written.
//!
//! The image is written to an unnamed file in the target's folder (`O_TMPFILE`) and linked in
//! under the target's name only when complete, so neither an error nor a kill (even SIGKILL)
//! leaves anything visible. On filesystems without unnamed files the image is written under a
//! partial name instead (see [`crate::partial`]): removed on error, on SIGINT and SIGTERM,
//! and by the next build writing into the folder if its writer was killed outright.
//!
//! An existing target is replaced only with [`Existing::Replace`]; otherwise it is refused
//! before any work and again, atomically, when the image is linked in.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use hadris_storage::host::FileDevice;
use rustix::fs::{AtFlags, CWD, Mode, OFlags};
use rustix::io::Errno;
use tempfile::{NamedTempFile, TempPath};

use super::error::{Error, Result};
use crate::partial;

/// Set to `1`, images are always written under a partial name, never as an unnamed file
/// (for filesystems whose `O_TMPFILE` support is broken rather than absent).
pub const NO_TMPFILE_VAR: &str = "ISOREMIX_NO_TMPFILE";

/// A "writing `out` failed" error.
pub(crate) fn write_err(out: &Path, detail: impl ToString) -> Error {
    Error::Write {
        path: out.to_path_buf(),
        detail: detail.to_string(),
    }
}

/// The error's text followed by each of its causes the text does not already hold, so that the
/// OS reason of a failed write ("No space left on device", "File too large") is never lost.
pub(crate) fn with_causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

/// What a write does when its output file already exists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Existing {
    /// Fail with [`Error::Exists`], leaving the file as it is.
    #[default]
    Refuse,
    /// Replace the file, in one rename, once the new image is complete.
    Replace,
}

impl Existing {
    /// Fails with [`Error::Exists`] if `out` exists (as anything, even a dangling symlink)
    /// and may not be replaced. Writers call this before any work.
    pub fn check(self, out: &Path) -> Result<()> {
        if self == Existing::Refuse && std::fs::symlink_metadata(out).is_ok() {
            return Err(exists(out));
        }
        Ok(())
    }
}

fn exists(out: &Path) -> Error {
    Error::Exists {
        path: out.to_path_buf(),
    }
}

/// Where the image's bytes are while it is written.
enum Body {
    /// An unnamed file in the target's folder.
    Unnamed(File),
    /// A partial file beside the target, removed on error or interruption.
    Named(NamedTempFile, partial::Registration),
}

/// An image being written beside its target.
pub(crate) struct PartialImage {
    body: Body,
    dir: PathBuf,
    out: PathBuf,
    existing: Existing,
}

impl PartialImage {
    /// Starts an image for `out`, in its folder (made if missing), refusing an existing `out`
    /// unless `existing` says to replace it. Partials left in the folder by killed builds are
    /// removed first.
    pub(crate) fn create(out: &Path, existing: Existing) -> Result<Self> {
        existing.check(out)?;
        let dir = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&dir)
            .map_err(|e| write_err(out, format!("cannot create {}: {e}", dir.display())))?;
        partial::remove_stale(&dir);
        let cannot = |e| {
            write_err(
                out,
                format!("cannot create a temporary file in {}: {e}", dir.display()),
            )
        };
        let body = match unnamed_in(&dir).map_err(cannot)? {
            Some(file) => Body::Unnamed(file),
            None => {
                let tmp = partial::file_in(&dir).map_err(cannot)?;
                let registration = partial::register(tmp.path());
                Body::Named(tmp, registration)
            }
        };
        Ok(Self {
            body,
            dir,
            out: out.to_path_buf(),
            existing,
        })
    }

    /// The file being written.
    pub(crate) fn file(&self) -> &File {
        match &self.body {
            Body::Unnamed(file) => file,
            Body::Named(tmp, _) => tmp.as_file(),
        }
    }

    /// A block device over the file, for the ISO writer.
    pub(crate) fn device(&self) -> Result<FileDevice> {
        let file = self.file().try_clone().map_err(|e| self.err(e))?;
        FileDevice::new(file).map_err(|e| self.err(e))
    }

    /// An error about this output, keeping the text of every cause of `e` (the OS reason).
    pub(crate) fn err(&self, e: impl std::error::Error + 'static) -> Error {
        write_err(&self.out, with_causes(&e))
    }

    /// Gives the file mode 0644 and puts it at the target: linked in directly when an existing
    /// target is refused (the link fails if one appeared meanwhile), else linked under a partial
    /// name and renamed over the target.
    ///
    /// The file is not synced to disk first, as `cp` does not sync its copy: that wait costs
    /// about as much as writing the whole image from the page cache, and protects only against
    /// a power loss in the seconds after a build (a killed build already leaves nothing).
    pub(crate) fn commit(self) -> Result<()> {
        let file = self.file();
        file.set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(|e| self.err(e))?;
        let out = &self.out;
        match self.body {
            Body::Named(tmp, registration) => {
                registration.finish(|| rename(tmp.into_temp_path(), out, self.existing))
            }
            Body::Unnamed(file) => {
                let fd = fd_path(&file);
                let link = |to: &Path| {
                    rustix::fs::linkat(CWD, &fd, CWD, to, AtFlags::SYMLINK_FOLLOW)
                        .map_err(io::Error::from)
                };
                match self.existing {
                    Existing::Refuse => link(out).map_err(|e| placing_err(out, e)),
                    Existing::Replace => {
                        let named = partial::make_in(&self.dir, link).map_err(|e| {
                            write_err(out, format!("cannot link the image in: {e}"))
                        })?;
                        let registration = partial::register(named.path());
                        registration
                            .finish(|| rename(named.into_temp_path(), out, Existing::Replace))
                    }
                }
            }
        }
    }
}

/// Renames the partial `tmp` to `out`, over an existing `out` only if `existing` allows it
/// (atomically: `renameat2(RENAME_NOREPLACE)`, or a hard link where that is missing).
/// `tmp` is removed if the rename fails.
fn rename(tmp: TempPath, out: &Path, existing: Existing) -> Result<()> {
    let renamed = match existing {
        Existing::Replace => tmp.persist(out),
        Existing::Refuse => tmp.persist_noclobber(out),
    };
    renamed.map_err(|e| placing_err(out, e.error))
}

/// Why the complete image could not be put at `out`.
fn placing_err(out: &Path, e: io::Error) -> Error {
    match e.kind() {
        io::ErrorKind::AlreadyExists => exists(out),
        _ => write_err(out, e),
    }
}

/// The path through which the kernel reaches an open file, named or not.
fn fd_path(file: &File) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()))
}

/// An unnamed file in `dir`, or `None` where the filesystem has none (or they are turned
/// off with [`NO_TMPFILE_VAR`], or `/proc` is missing so that one could not be linked in).
fn unnamed_in(dir: &Path) -> io::Result<Option<File>> {
    if std::env::var_os(NO_TMPFILE_VAR).is_some_and(|v| v == "1") {
        return Ok(None);
    }
    let flags = OFlags::TMPFILE | OFlags::RDWR | OFlags::CLOEXEC;
    match rustix::fs::openat(CWD, dir, flags, Mode::from_raw_mode(0o600)) {
        Ok(fd) => {
            let file = File::from(fd);
            Ok(fd_path(&file).exists().then_some(file))
        }
        // No O_TMPFILE here: kernels before 3.11 open the folder itself (EISDIR).
        Err(Errno::OPNOTSUPP | Errno::ISDIR | Errno::INVAL | Errno::NOSYS) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::test_support::names_in as names;

    fn write_image(out: &Path, existing: Existing, bytes: &[u8]) -> Result<()> {
        let image = PartialImage::create(out, existing)?;
        image.file().write_all(bytes).unwrap();
        image.commit()
    }

    #[test]
    fn an_unnamed_image_is_invisible_until_committed() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a.iso");
        let image = PartialImage::create(&out, Existing::Refuse).unwrap();
        assert!(matches!(image.body, Body::Unnamed(_)));
        image.file().write_all(b"image").unwrap();
        assert!(names(dir.path()).is_empty());
        image.commit().unwrap();
        assert_eq!(names(dir.path()), ["a.iso"]);
        assert_eq!(std::fs::read(&out).unwrap(), b"image");
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
    }

    #[test]
    fn an_image_dropped_unfinished_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a.iso");
        drop(PartialImage::create(&out, Existing::Refuse).unwrap());
        assert!(names(dir.path()).is_empty());
    }

    #[test]
    fn a_target_that_appears_while_writing_is_not_clobbered() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a.iso");
        let image = PartialImage::create(&out, Existing::Refuse).unwrap();
        image.file().write_all(b"new").unwrap();
        std::fs::write(&out, b"theirs").unwrap();
        let err = image.commit().unwrap_err();
        assert!(matches!(err, Error::Exists { .. }), "{err}");
        assert_eq!(std::fs::read(&out).unwrap(), b"theirs");
        assert_eq!(names(dir.path()), ["a.iso"]);
    }

    #[test]
    fn replace_puts_the_new_image_over_the_old() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a.iso");
        std::fs::write(&out, b"old").unwrap();
        let err = write_image(&out, Existing::Refuse, b"new").unwrap_err();
        assert!(err.to_string().contains("--force"), "{err}");
        assert_eq!(std::fs::read(&out).unwrap(), b"old");
        write_image(&out, Existing::Replace, b"new").unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"new");
        assert_eq!(names(dir.path()), ["a.iso"]);
    }

    /// The named fallback, as used where the filesystem has no unnamed files.
    fn named(out: &Path, existing: Existing) -> PartialImage {
        let dir = out.parent().unwrap().to_path_buf();
        let tmp = partial::file_in(&dir).unwrap();
        let registration = partial::register(tmp.path());
        PartialImage {
            body: Body::Named(tmp, registration),
            dir,
            out: out.to_path_buf(),
            existing,
        }
    }

    #[test]
    fn the_named_fallback_renames_refuses_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a.iso");

        let image = named(&out, Existing::Refuse);
        assert_eq!(names(dir.path()).len(), 1);
        assert!(names(dir.path())[0].ends_with(".partial"));
        drop(image);
        assert!(names(dir.path()).is_empty());

        let image = named(&out, Existing::Refuse);
        image.file().write_all(b"first").unwrap();
        image.commit().unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"first");

        let image = named(&out, Existing::Refuse);
        image.file().write_all(b"second").unwrap();
        assert!(matches!(image.commit(), Err(Error::Exists { .. })));
        assert_eq!(std::fs::read(&out).unwrap(), b"first");
        assert_eq!(names(dir.path()), ["a.iso"]);

        let image = named(&out, Existing::Replace);
        image.file().write_all(b"third").unwrap();
        image.commit().unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"third");
        assert_eq!(names(dir.path()), ["a.iso"]);
    }
}
