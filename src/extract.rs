//! Unpacking an image's tree to a folder, safely: every path is checked to
//! stay inside the folder, nothing is written through a symlink, and
//! existing files are never overwritten.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

use hadris_fs::FileType;

use crate::iso::{self, SourceIso};

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
/// plain relative name.
pub fn safe_join(root: &Path, entry: &str) -> Result<PathBuf, Error> {
    let rel = Path::new(entry.trim_start_matches('/'));
    let mut out = root.to_path_buf();
    for c in rel.components() {
        match c {
            Component::Normal(part) => out.push(part),
            _ => {
                return Err(Error::Unsafe {
                    entry: entry.to_string(),
                    reason: "the name has `..`, `.` or an absolute part".into(),
                });
            }
        }
    }
    // Every existing parent must be a real directory, not a symlink.
    let mut at = root.to_path_buf();
    for c in rel.parent().into_iter().flat_map(Path::components) {
        at.push(c);
        if let Ok(meta) = fs::symlink_metadata(&at)
            && !meta.is_dir()
        {
            return Err(Error::Unsafe {
                entry: entry.to_string(),
                reason: format!("{} is not a directory (a symlink?)", at.display()),
            });
        }
    }
    Ok(out)
}

/// Extracts the whole tree of `source` into `dir` (created if missing).
pub fn extract(source: &SourceIso, dir: &Path) -> Result<Extracted, Error> {
    fs::create_dir_all(dir).map_err(|e| Error::Io {
        path: dir.to_path_buf(),
        source: e,
    })?;
    let mut done = Extracted::default();
    let mut failure = None;
    iso::walk(source.tree(), &mut |entry, node| {
        if failure.is_some() {
            return;
        }
        if let Err(e) = extract_one(source, dir, entry, node.node(), &mut done) {
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
                Err(_) => fs::create_dir(&target).map_err(io_err)?,
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
            let mut reader = source.open_file(entry)?;
            done.bytes += io::copy(&mut reader, &mut out).map_err(io_err)?;
            done.files += 1;
        }
        FileType::Symlink => {
            let link = node.target().unwrap_or_default();
            std::os::unix::fs::symlink(String::from_utf8_lossy(link).as_ref(), &target)
                .map_err(io_err)?;
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
