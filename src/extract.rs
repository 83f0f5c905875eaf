//! Unpacking an image's tree to a folder, safely: every path is checked to
//! stay inside the folder, nothing is written through a symlink, and
//! existing files are never overwritten.
//!
//! An extraction that fails leaves nothing of itself: a new folder is filled
//! under a partial name and renamed only when complete (see
//! `crate::partial`); in a folder that existed, what the extraction made is
//! removed and what was there before is left untouched.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use hadris_fs::FileType;

use crate::iso::{self, SourceIso};
use crate::partial;
use crate::safe_path;

/// Why an extraction stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The image could not be read.
    #[error(transparent)]
    Iso(#[from] iso::Error),
    /// An entry's name would land outside the folder.
    #[error("{entry}: refusing to extract: {reason}")]
    Unsafe {
        /// The entry in the image.
        entry: String,
        /// Why.
        reason: String,
    },
    /// The path asked for is not in the image.
    #[error("{path}: not in the image")]
    NotInImage {
        /// The path asked for.
        path: String,
    },
    /// Writing to the folder failed.
    #[error("{path}: {source}")]
    Io {
        /// The file being written.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

/// Counts of what was extracted.
#[derive(Debug, Default, Clone, Copy)]
pub struct Extracted {
    /// Regular files written.
    pub files: u64,
    /// Directories made.
    pub dirs: u64,
    /// Symlinks made.
    pub symlinks: u64,
    /// Bytes of file data written.
    pub bytes: u64,
}

/// The host path for `entry` below `root`, refusing anything that is not a
/// plain name or would be written through a symlink (see `crate::safe_path`'s rules).
pub fn safe_join(root: &Path, entry: &str) -> Result<PathBuf, Error> {
    safe_path::join(root, entry.trim_start_matches('/').as_bytes(), |_| false).map_err(|e| {
        Error::Unsafe {
            entry: entry.to_string(),
            reason: e.to_string(),
        }
    })
}

/// Extracts the whole tree of `source` into `dir` (created if missing).
///
/// On error nothing the extraction made is left: a `dir` that did not exist
/// does not appear, and one that did holds what it held before.
pub fn extract(source: &SourceIso, dir: &Path) -> Result<Extracted, Error> {
    extract_selected(source, dir, None)
}

/// Extracts the file, symlink or folder (with everything below it) at `path` of `source` into
/// `dir`, at the same place as [`extract`] puts it (`/boot/x.cfg` becomes `DIR/boot/x.cfg`),
/// with the folders above it. An error for a path that is not in the image.
///
/// # Security
/// `path` must be a plain absolute name inside the image: `..` and `.` components are refused
/// before anything is written, as every entry's host path is checked by [`safe_join`].
pub fn extract_path(source: &SourceIso, dir: &Path, path: &str) -> Result<Extracted, Error> {
    let rel = path.trim_start_matches('/').trim_end_matches('/');
    if rel.is_empty() {
        return extract(source, dir);
    }
    if !safe_path::is_plain(rel.as_bytes()) {
        return Err(Error::Unsafe {
            entry: path.to_string(),
            reason: "the path has `..`, `.` or empty parts: it must name an entry inside the image"
                .into(),
        });
    }
    if source.tree().get(rel).is_none() {
        return Err(Error::NotInImage {
            path: path.to_string(),
        });
    }
    extract_selected(source, dir, Some(&format!("/{rel}")))
}

/// [`extract`] of the whole tree, or of `only` (a clean `/`-prefixed path) and its parents.
fn extract_selected(
    source: &SourceIso,
    dir: &Path,
    only: Option<&str>,
) -> Result<Extracted, Error> {
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    if fs::symlink_metadata(dir).is_ok() {
        let mut made = Vec::new();
        let result = extract_tree(source, dir, only, &mut made);
        if result.is_err() {
            // Children were made after their folders: remove them first.
            for path in made.iter().rev() {
                let _ = match fs::symlink_metadata(path) {
                    Ok(meta) if meta.is_dir() => fs::remove_dir(path),
                    _ => fs::remove_file(path),
                };
            }
        }
        return result;
    }
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    fs::create_dir_all(parent).map_err(io_err(parent))?;
    partial::remove_stale(parent);
    let tmp = partial::dir_in(parent).map_err(io_err(parent))?;
    let registration = partial::register(tmp.path());
    let done = extract_tree(source, tmp.path(), only, &mut Vec::new()).map_err(|e| match e {
        // Name the file where the user asked for it, not in the partial folder.
        Error::Io { path, source } => Error::Io {
            path: path
                .strip_prefix(tmp.path())
                .map_or_else(|_| path.clone(), |rel| dir.join(rel)),
            source,
        },
        other => other,
    })?;
    registration
        .finish(|| rename_noreplace(tmp.path(), dir))
        .map_err(io_err(dir))?;
    // Renamed: there is nothing left to remove.
    let _ = tmp.keep();
    Ok(done)
}

/// Renames the folder `from` to `to`, failing if `to` exists (even as an
/// empty folder, which a plain rename would replace).
fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    match renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
        // Filesystems without RENAME_NOREPLACE: check, then rename.
        Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => {
            if fs::symlink_metadata(to).is_ok() {
                return Err(io::ErrorKind::AlreadyExists.into());
            }
            fs::rename(from, to)
        }
        result => result.map_err(io::Error::from),
    }
}

/// Whether `entry` is `only`, below it, or a folder above it.
fn selected(entry: &str, only: &str) -> bool {
    let below =
        |a: &str, b: &str| a.len() > b.len() && a.starts_with(b) && a.as_bytes()[b.len()] == b'/';
    entry == only || below(entry, only) || below(only, entry)
}

/// Extracts every entry of `source` (those [`selected`] by `only`, when given) into the
/// existing folder `dir`, adding each file, folder or symlink it makes to `made`, in order.
fn extract_tree(
    source: &SourceIso,
    dir: &Path,
    only: Option<&str>,
    made: &mut Vec<PathBuf>,
) -> Result<Extracted, Error> {
    let mut done = Extracted::default();
    let mut failure = None;
    iso::walk(source.tree(), &mut |entry, node| {
        if failure.is_some() || only.is_some_and(|o| !selected(entry, o)) {
            return;
        }
        if let Err(e) = extract_one(source, dir, entry, node.node(), &mut done, made) {
            failure = Some(e);
        }
    });
    match failure {
        Some(e) => Err(e),
        None => Ok(done),
    }
}

fn extract_one(
    source: &SourceIso,
    dir: &Path,
    entry: &str,
    node: &hadris_fs::Node,
    done: &mut Extracted,
    made: &mut Vec<PathBuf>,
) -> Result<(), Error> {
    let target = safe_join(dir, entry)?;
    let io_err = |e| Error::Io {
        path: target.clone(),
        source: e,
    };
    match node.file_type() {
        FileType::Dir => {
            match fs::symlink_metadata(&target) {
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => {
                    return Err(Error::Unsafe {
                        entry: entry.to_string(),
                        reason: "a non-directory is already in the way".into(),
                    });
                }
                Err(_) => {
                    fs::create_dir(&target).map_err(io_err)?;
                    made.push(target.clone());
                }
            }
            done.dirs += 1;
        }
        FileType::File => {
            let mut out: File = OpenOptions::new()
                .write(true)
                .create_new(true)
                .custom_flags(libc_nofollow())
                .open(&target)
                .map_err(io_err)?;
            made.push(target.clone());
            let mut reader = source.open_file(entry)?;
            done.bytes += io::copy(&mut reader, &mut out).map_err(io_err)?;
            done.files += 1;
        }
        FileType::Symlink => {
            let link = node.target().unwrap_or_default();
            std::os::unix::fs::symlink(String::from_utf8_lossy(link).as_ref(), &target)
                .map_err(io_err)?;
            made.push(target.clone());
            done.symlinks += 1;
        }
        _ => {}
    }
    Ok(())
}

/// `O_NOFOLLOW` on Linux: never open the final component through a symlink.
const fn libc_nofollow() -> i32 {
    0o400000
}
