//! Where an extracted entry may be written on the host: the one check both extractions (the
//! ISO tree, install.img's tree) make before they create anything.
//!
//! # Security
//! A name is written below the destination only when each of its components is a plain name
//! (not empty, `.` or `..`; an absolute name is refused by its empty first component), and
//! every parent that is already on the host is a real directory, never a symlink or a file:
//! so nothing lands outside the destination or is written through a link, whatever the
//! image's names say. Callers create files with `O_EXCL` (or `O_NOFOLLOW`), so the last
//! component is not followed either.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Why a name cannot be written below the destination.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// A component of the name is empty, `.` or `..`.
    #[error("the name has an empty, `.` or `..` component (or is absolute)")]
    Component,
    /// A parent on the host is a symlink or a file.
    #[error("would write through {}, which is not a real directory", .0.display())]
    NotADirectory(PathBuf),
    /// A parent on the host could not be examined.
    #[error("cannot check {}: {source}", path.display())]
    Io {
        /// The parent.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

/// Whether every component of the `/`-separated `name` is a plain name (not empty, `.` or
/// `..`).
pub fn is_plain(name: &[u8]) -> bool {
    name.split(|&b| b == b'/')
        .all(|c| !c.is_empty() && c != b"." && c != b"..")
}

/// The host path of `name` (relative, `/`-separated) below `root`, checked as the module says.
/// `made` tells the parents (names relative to `root`, `""` for the root) this extraction
/// created itself, each in a parent already checked: for those only the parent itself is
/// examined again, one system call per entry instead of one per component, so a deep tree
/// costs linear time. A parent that does not exist is not refused: creating the entry fails.
pub fn join(root: &Path, name: &[u8], made: impl Fn(&[u8]) -> bool) -> Result<PathBuf, Refused> {
    use std::os::unix::ffi::OsStrExt;
    if !is_plain(name) {
        return Err(Refused::Component);
    }
    let host = root.join(std::ffi::OsStr::from_bytes(name));
    let Some(at) = name.iter().rposition(|&b| b == b'/') else {
        return Ok(host);
    };
    let parent = &name[..at];
    if made(parent) {
        check_dir(&root.join(std::ffi::OsStr::from_bytes(parent)))?;
        return Ok(host);
    }
    let mut dir = root.to_path_buf();
    for c in parent.split(|&b| b == b'/') {
        dir.push(std::ffi::OsStr::from_bytes(c));
        check_dir(&dir)?;
    }
    Ok(host)
}

/// Refuses `dir` unless it is a real directory or absent.
fn check_dir(dir: &Path) -> Result<(), Refused> {
    match fs::symlink_metadata(dir) {
        Ok(m) if m.file_type().is_dir() => Ok(()),
        Ok(_) => Err(Refused::NotADirectory(dir.to_path_buf())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(Refused::Io {
            path: dir.to_path_buf(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_be_plain() {
        let root = Path::new("/nonexistent-root");
        assert_eq!(join(root, b"a/b", |_| false).unwrap(), root.join("a/b"));
        for bad in [
            &b""[..],
            b"/etc/passwd",
            b"../x",
            b"a/../../x",
            b"a//b",
            b"./a",
            b"a/.",
            b"a/",
        ] {
            assert!(
                matches!(join(root, bad, |_| false), Err(Refused::Component)),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn never_writes_through_a_symlink_or_a_file() {
        let dir = std::env::temp_dir().join(format!("safe-path-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("real")).unwrap();
        std::os::unix::fs::symlink("/tmp", dir.join("link")).unwrap();
        fs::write(dir.join("file"), "x").unwrap();
        assert!(join(&dir, b"real/x", |_| false).is_ok());
        assert!(join(&dir, b"missing/x", |_| false).is_ok());
        for bad in [&b"link/x"[..], b"link/real/x", b"file/x"] {
            assert!(
                matches!(join(&dir, bad, |_| false), Err(Refused::NotADirectory(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        // A parent the extraction made is examined again.
        assert!(join(&dir, b"link/x", |_| true).is_err());
        assert!(join(&dir, b"file/x", |_| true).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
