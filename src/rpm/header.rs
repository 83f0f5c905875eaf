//! Reading the metadata of an RPM package: lead, signature header and main header.
//!
//! Only the headers are parsed; the payload is never decompressed. While the headers are read,
//! and then while the rest of the file streams past, the whole file is hashed (SHA-256) and
//! counted, so one pass over a package gives everything repodata needs.
//!
//! The lead and both headers are read and checked by the same code that reads them for
//! rewriting and signing ([`super::container::PackageStart`]: every length and offset bounded)
//! before the `rpm` crate sees the bytes, so hostile input gives an [`Error`], never a panic or
//! a huge allocation.

mod changelog;
mod deps;
mod file_list;
mod hashing;
mod package;
mod tags;

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use rpm::PackageMetadata;

use super::container::PackageStart;
use hashing::HashingReader;
use tags::extract;

pub use package::{
    ChangelogEntry, Dependency, FILE_GHOST, FileInfo, FileKind, PackageFile, PackageHeader,
    SENSE_EQUAL, SENSE_GREATER, SENSE_LESS, SENSE_MISSINGOK, SENSE_PREREQ, SENSE_SCRIPT_POST,
    SENSE_SCRIPT_PRE, SENSE_STRONG,
};

/// Errors reading an RPM package's headers.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The package file could not be opened.
    #[error("cannot open RPM {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// Reading failed.
    #[error("reading RPM failed: {0}")]
    Io(#[from] io::Error),
    /// The lead or a header is not one rpm reads: not an RPM, truncated, or a length or offset
    /// out of bounds.
    #[error(transparent)]
    Format(Box<super::Error>),
    /// The header bytes passed the checks here but the `rpm` crate rejected them.
    #[error("cannot parse RPM header: {0}")]
    Parse(String),
    /// A tag that every binary package has is missing or has the wrong type.
    #[error("RPM header has no usable {tag} tag")]
    MissingTag {
        /// The tag's name.
        tag: &'static str,
    },
    /// Parallel arrays of the header (file names, modes, flags...) have different lengths.
    #[error("RPM header arrays {what} have different lengths")]
    ArrayMismatch {
        /// Which arrays.
        what: &'static str,
    },
}

impl From<super::Error> for Error {
    fn from(e: super::Error) -> Self {
        Error::Format(Box::new(e))
    }
}
/// Reads an RPM's headers from `reader`, then streams the rest of it to compute the file's size
/// and SHA-256. Memory use is bounded by the header size.
pub fn read_package(reader: impl Read) -> Result<PackageFile, Error> {
    let mut hashing = HashingReader::new(reader);
    let header = read_header(&mut hashing)?;
    io::copy(&mut hashing, &mut io::sink())?;
    let (size, sha256) = hashing.finish();
    Ok(PackageFile {
        header,
        size,
        sha256,
    })
}

/// Opens `path` and reads it with [`read_package`].
pub fn read_package_file(path: &Path) -> Result<PackageFile, Error> {
    let file = crate::input::open(path).map_err(|source| Error::Open {
        path: path.to_path_buf(),
        source,
    })?;
    read_package(file)
}

/// Reads only the lead, signature header and main header from `reader` (which is left just past
/// the main header, at the start of the payload).
pub fn read_header(reader: impl Read) -> Result<PackageHeader, Error> {
    let mut recording = Recording {
        inner: reader,
        bytes: Vec::with_capacity(8192),
    };
    let start = PackageStart::read(&mut recording)?;
    let raw = recording.bytes;
    let parsed = std::panic::catch_unwind(|| PackageMetadata::parse(&mut raw.as_slice()))
        .map_err(|_| Error::Parse("the rpm crate failed on this header".into()))?
        .map_err(|e| Error::Parse(e.to_string()))?;
    extract(&parsed, start.main_offset, raw.len() as u64)
}

/// A reader that keeps a copy of every byte read through it: the headers, checked as they are
/// read, are then handed whole to the `rpm` crate.
struct Recording<R> {
    inner: R,
    bytes: Vec<u8>,
}

impl<R: Read> Read for Recording<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}
#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::*;

    fn built() -> Vec<u8> {
        let pkg = rpm::PackageBuilder::new("unit", "1.0", "MIT", "noarch", "unit test")
            .release("7")
            .epoch(3)
            .with_file_contents("x", rpm::FileOptions::new("/usr/bin/unit"))
            .unwrap()
            .requires(rpm::Dependency::greater_eq("dep", "2"))
            .build()
            .unwrap();
        let mut bytes = Vec::new();
        pkg.write(&mut bytes).unwrap();
        bytes
    }

    #[test]
    fn reads_nevra_dependencies_files_and_whole_file_digest() {
        let bytes = built();
        let p = read_package(&bytes[..]).unwrap();
        assert_eq!(p.header.nevra(), "unit-3:1.0-7.noarch");
        assert_eq!(p.size, bytes.len() as u64);
        assert_eq!(p.sha256, hex::encode(Sha256::digest(&bytes)));
        let dep = p.header.requires.iter().find(|d| d.name == "dep").unwrap();
        assert_eq!(dep.flags & 0xf, SENSE_GREATER | SENSE_EQUAL);
        assert_eq!(dep.version, "2");
        assert_eq!(p.header.files[0].path, "/usr/bin/unit");
        let meta = PackageMetadata::parse(&mut &bytes[..]).unwrap();
        let offsets = meta.get_package_segment_offsets();
        assert_eq!(p.header.header_start, offsets.header);
        assert_eq!(p.header.header_end, offsets.payload);
    }

    #[test]
    fn header_only_read_stops_at_the_payload() {
        let bytes = built();
        let mut rest = &bytes[..];
        let h = read_header(&mut rest).unwrap();
        assert_eq!(rest.len() as u64, bytes.len() as u64 - h.header_end);
    }
}
