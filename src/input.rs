//! Opening the files a build or a command reads: the profile, the source ISO, added files,
//! RPMs, driver files, answer files, patches, keys.
//!
//! # Security
//! Every input is opened here, read-only, and refused unless it is a regular file: a FIFO given
//! as an input would block a build forever (opening it waits for a writer), a device could be
//! read without end, and a directory or socket is never what was meant. The file is opened
//! without blocking and checked on the open descriptor (`fstat`), so what is checked is what is
//! read.

use std::fs::{File, FileType, Metadata, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// What kind of file a non-regular file is, for messages.
pub fn kind_name(kind: FileType) -> &'static str {
    if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO (named pipe)"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_symlink() {
        "a symbolic link"
    } else if kind.is_file() {
        "a regular file"
    } else {
        "an unknown kind of file"
    }
}

/// The error for an input that is not a regular file: `InvalidInput`, saying what it is (the
/// caller names the path, as it does for every other I/O error).
fn not_regular(kind: FileType) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("is {}, not a regular file", kind_name(kind)),
    )
}

/// Opens `path` read-only, refusing anything but a regular file (symlinks are followed) with
/// an error saying what the file is. Never blocks on a FIFO.
pub fn open(path: &Path) -> io::Result<File> {
    let nonblock = rustix::fs::OFlags::NONBLOCK.bits() as i32;
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(nonblock)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        return Err(not_regular(meta.file_type()));
    }
    // Reads of a regular file never block; clear the flag all the same.
    rustix::fs::fcntl_setfl(&file, rustix::fs::OFlags::empty())?;
    Ok(file)
}

/// Checks that `path` is a regular file (following symlinks) without opening it, for inputs
/// that another library opens; returns its metadata.
pub fn check(path: &Path) -> io::Result<Metadata> {
    let meta = std::fs::metadata(path)?;
    if !meta.file_type().is_file() {
        return Err(not_regular(meta.file_type()));
    }
    Ok(meta)
}

/// Reads the whole regular file at `path` (see [`open`]).
pub fn read(path: &Path) -> io::Result<Vec<u8>> {
    let mut file = open(path)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Reads the whole regular file at `path` as UTF-8 text (see [`open`]).
pub fn read_to_string(path: &Path) -> io::Result<String> {
    let mut file = open(path)?;
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_open_and_others_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"data").unwrap();
        assert_eq!(read(&file).unwrap(), b"data");
        assert_eq!(read_to_string(&file).unwrap(), "data");
        check(&file).unwrap();
        let err = open(dir.path()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("a directory"), "{err}");
        let null = Path::new("/dev/null");
        assert!(
            open(null)
                .unwrap_err()
                .to_string()
                .contains("character device")
        );
        assert!(check(null).is_err());
    }
}
