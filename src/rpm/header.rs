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

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use rpm::{IndexSignatureTag, IndexTag, PackageMetadata};
use sha2::{Digest, Sha256};

use super::container::PackageStart;

/// Dependency sense flag: `<`.
pub const SENSE_LESS: u32 = 1 << 1;
/// Dependency sense flag: `>`.
pub const SENSE_GREATER: u32 = 1 << 2;
/// Dependency sense flag: `=`.
pub const SENSE_EQUAL: u32 = 1 << 3;
/// Dependency flag: legacy `PreReq`.
pub const SENSE_PREREQ: u32 = 1 << 6;
/// Dependency flag: needed by the `%pre` scriptlet.
pub const SENSE_SCRIPT_PRE: u32 = 1 << 9;
/// Dependency flag: needed by the `%post` scriptlet.
pub const SENSE_SCRIPT_POST: u32 = 1 << 10;
/// Dependency flag: a weak (missing is OK) requirement, the legacy form of `Recommends`.
pub const SENSE_MISSINGOK: u32 = 1 << 19;
/// Dependency flag of legacy weak dependencies: strong (recommends/supplements).
pub const SENSE_STRONG: u32 = 1 << 27;
/// File flag: `%ghost` (not in the payload).
pub const FILE_GHOST: u32 = 1 << 6;
/// `st_mode` file type mask and directory type.
const MODE_TYPE_MASK: u16 = 0o170_000;
const MODE_DIR: u16 = 0o040_000;

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

/// One dependency as stored in the header: name, raw sense flags, version string (`[E:]V[-R]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dependency {
    /// Capability name (package, virtual capability, file path, `soname()(64bit)`...).
    pub name: String,
    /// Raw `RPMSENSE_*` flags.
    pub flags: u32,
    /// Version string, empty when the dependency has no version.
    pub version: String,
}

/// Kind of an entry of the package's file list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A regular file, symlink or device.
    File,
    /// A directory.
    Dir,
    /// A `%ghost` entry (owned but not in the payload).
    Ghost,
}

/// One entry of the package's file list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileInfo {
    /// Absolute path as the header stores it (directory name + base name).
    pub path: String,
    /// Directory, ghost or plain file.
    pub kind: FileKind,
}

/// One `%changelog` entry as stored in the header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangelogEntry {
    /// Seconds since the epoch.
    pub time: u64,
    /// Author line (name, mail, often the version).
    pub author: String,
    /// Text of the entry.
    pub text: String,
}

/// Everything repodata needs from an RPM's headers, as plain data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageHeader {
    /// Package name.
    pub name: String,
    /// Epoch (0 when absent).
    pub epoch: u32,
    /// Version.
    pub version: String,
    /// Release.
    pub release: String,
    /// Architecture; `src` for a source package.
    pub arch: String,
    /// One-line summary.
    pub summary: String,
    /// Long description.
    pub description: String,
    /// Upstream URL.
    pub url: String,
    /// License.
    pub license: String,
    /// Vendor.
    pub vendor: String,
    /// RPM group.
    pub group: String,
    /// Build host.
    pub buildhost: String,
    /// Source RPM file name.
    pub sourcerpm: String,
    /// Packager.
    pub packager: String,
    /// Build time (seconds since the epoch).
    pub build_time: u64,
    /// Installed size in bytes.
    pub installed_size: u64,
    /// Uncompressed payload archive size in bytes.
    pub archive_size: u64,
    /// Provides, in header order.
    pub provides: Vec<Dependency>,
    /// Requires, in header order (including `rpmlib(...)`).
    pub requires: Vec<Dependency>,
    /// Conflicts.
    pub conflicts: Vec<Dependency>,
    /// Obsoletes.
    pub obsoletes: Vec<Dependency>,
    /// Suggests.
    pub suggests: Vec<Dependency>,
    /// Enhances.
    pub enhances: Vec<Dependency>,
    /// Recommends.
    pub recommends: Vec<Dependency>,
    /// Supplements.
    pub supplements: Vec<Dependency>,
    /// Legacy (pre-4.12) suggests, strong ones meaning recommends.
    pub old_suggests: Vec<Dependency>,
    /// Legacy (pre-4.12) enhances, strong ones meaning supplements.
    pub old_enhances: Vec<Dependency>,
    /// File list in header order.
    pub files: Vec<FileInfo>,
    /// Changelog in header order (newest first).
    pub changelog: Vec<ChangelogEntry>,
    /// Byte offset of the main header in the file.
    pub header_start: u64,
    /// Byte offset just past the main header (where the payload starts).
    pub header_end: u64,
}

impl PackageHeader {
    /// `name-[epoch:]version-release.arch` (the epoch only when not 0), as rpm prints it.
    pub fn nevra(&self) -> String {
        if self.epoch == 0 {
            format!(
                "{}-{}-{}.{}",
                self.name, self.version, self.release, self.arch
            )
        } else {
            format!(
                "{}-{}:{}-{}.{}",
                self.name, self.epoch, self.version, self.release, self.arch
            )
        }
    }
}

/// A package's headers plus the size and SHA-256 of the whole file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageFile {
    /// The parsed header.
    pub header: PackageHeader,
    /// Size of the whole file in bytes.
    pub size: u64,
    /// SHA-256 of the whole file, lowercase hex.
    pub sha256: String,
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

/// Turns the crate's parsed headers into a [`PackageHeader`].
fn extract(
    meta: &PackageMetadata,
    header_start: u64,
    header_end: u64,
) -> Result<PackageHeader, Error> {
    let h = &meta.header;
    let arch = if meta.is_source_package() {
        "src".to_string()
    } else {
        required_string(meta, IndexTag::RPMTAG_ARCH, "ARCH")?
    };
    let epoch = match h.get_entry_data_as_u32(IndexTag::RPMTAG_EPOCH) {
        Ok(e) => e,
        Err(rpm::Error::TagNotFound(_)) => 0,
        Err(_) => return Err(Error::MissingTag { tag: "EPOCH" }),
    };
    let installed_size = optional_u64(meta, IndexTag::RPMTAG_LONGSIZE, IndexTag::RPMTAG_SIZE);
    let archive_size = optional_u64(
        meta,
        IndexTag::RPMTAG_LONGARCHIVESIZE,
        IndexTag::RPMTAG_ARCHIVESIZE,
    )
    .or_else(|| {
        let sig = &meta.signature;
        sig.get_entry_data_as_u64(IndexSignatureTag::RPMSIGTAG_LONGARCHIVESIZE)
            .ok()
            .or_else(|| {
                sig.get_entry_data_as_u32(IndexSignatureTag::RPMSIGTAG_PAYLOADSIZE)
                    .ok()
                    .map(u64::from)
            })
    });
    Ok(PackageHeader {
        name: required_string(meta, IndexTag::RPMTAG_NAME, "NAME")?,
        epoch,
        version: required_string(meta, IndexTag::RPMTAG_VERSION, "VERSION")?,
        release: required_string(meta, IndexTag::RPMTAG_RELEASE, "RELEASE")?,
        arch,
        summary: optional_string(meta, IndexTag::RPMTAG_SUMMARY),
        description: optional_string(meta, IndexTag::RPMTAG_DESCRIPTION),
        url: optional_string(meta, IndexTag::RPMTAG_URL),
        license: optional_string(meta, IndexTag::RPMTAG_LICENSE),
        vendor: optional_string(meta, IndexTag::RPMTAG_VENDOR),
        group: optional_string(meta, IndexTag::RPMTAG_GROUP),
        buildhost: optional_string(meta, IndexTag::RPMTAG_BUILDHOST),
        sourcerpm: optional_string(meta, IndexTag::RPMTAG_SOURCERPM),
        packager: optional_string(meta, IndexTag::RPMTAG_PACKAGER),
        build_time: h
            .get_entry_data_as_u32(IndexTag::RPMTAG_BUILDTIME)
            .map(u64::from)
            .unwrap_or(0),
        installed_size: installed_size.unwrap_or(0),
        archive_size: archive_size.unwrap_or(0),
        provides: dependencies(meta, DEP_PROVIDES)?,
        requires: dependencies(meta, DEP_REQUIRES)?,
        conflicts: dependencies(meta, DEP_CONFLICTS)?,
        obsoletes: dependencies(meta, DEP_OBSOLETES)?,
        suggests: dependencies(meta, DEP_SUGGESTS)?,
        enhances: dependencies(meta, DEP_ENHANCES)?,
        recommends: dependencies(meta, DEP_RECOMMENDS)?,
        supplements: dependencies(meta, DEP_SUPPLEMENTS)?,
        old_suggests: dependencies(meta, DEP_OLDSUGGESTS)?,
        old_enhances: dependencies(meta, DEP_OLDENHANCES)?,
        files: files(meta)?,
        changelog: changelog(meta)?,
        header_start,
        header_end,
    })
}

/// A string tag that must be present.
fn required_string(
    meta: &PackageMetadata,
    tag: IndexTag,
    name: &'static str,
) -> Result<String, Error> {
    string_tag(meta, tag).ok_or(Error::MissingTag { tag: name })
}

/// A string tag, empty when absent.
fn optional_string(meta: &PackageMetadata, tag: IndexTag) -> String {
    string_tag(meta, tag).unwrap_or_default()
}

/// Reads a STRING or I18NSTRING tag (the first translation).
fn string_tag(meta: &PackageMetadata, tag: IndexTag) -> Option<String> {
    let h = &meta.header;
    h.get_entry_data_as_string(tag)
        .or_else(|_| h.get_entry_data_as_i18n_string(tag))
        .ok()
        .map(str::to_owned)
}

/// A 64-bit tag, else its 32-bit variant.
fn optional_u64(meta: &PackageMetadata, long: IndexTag, short: IndexTag) -> Option<u64> {
    let h = &meta.header;
    h.get_entry_data_as_u64(long)
        .ok()
        .or_else(|| h.get_entry_data_as_u32(short).ok().map(u64::from))
}

/// Name, flags and version tags of one dependency kind.
type DepTags = (IndexTag, IndexTag, IndexTag, &'static str);

const DEP_PROVIDES: DepTags = (
    IndexTag::RPMTAG_PROVIDENAME,
    IndexTag::RPMTAG_PROVIDEFLAGS,
    IndexTag::RPMTAG_PROVIDEVERSION,
    "PROVIDENAME/FLAGS/VERSION",
);
const DEP_REQUIRES: DepTags = (
    IndexTag::RPMTAG_REQUIRENAME,
    IndexTag::RPMTAG_REQUIREFLAGS,
    IndexTag::RPMTAG_REQUIREVERSION,
    "REQUIRENAME/FLAGS/VERSION",
);
const DEP_CONFLICTS: DepTags = (
    IndexTag::RPMTAG_CONFLICTNAME,
    IndexTag::RPMTAG_CONFLICTFLAGS,
    IndexTag::RPMTAG_CONFLICTVERSION,
    "CONFLICTNAME/FLAGS/VERSION",
);
const DEP_OBSOLETES: DepTags = (
    IndexTag::RPMTAG_OBSOLETENAME,
    IndexTag::RPMTAG_OBSOLETEFLAGS,
    IndexTag::RPMTAG_OBSOLETEVERSION,
    "OBSOLETENAME/FLAGS/VERSION",
);
const DEP_SUGGESTS: DepTags = (
    IndexTag::RPMTAG_SUGGESTNAME,
    IndexTag::RPMTAG_SUGGESTFLAGS,
    IndexTag::RPMTAG_SUGGESTVERSION,
    "SUGGESTNAME/FLAGS/VERSION",
);
const DEP_ENHANCES: DepTags = (
    IndexTag::RPMTAG_ENHANCENAME,
    IndexTag::RPMTAG_ENHANCEFLAGS,
    IndexTag::RPMTAG_ENHANCEVERSION,
    "ENHANCENAME/FLAGS/VERSION",
);
const DEP_RECOMMENDS: DepTags = (
    IndexTag::RPMTAG_RECOMMENDNAME,
    IndexTag::RPMTAG_RECOMMENDFLAGS,
    IndexTag::RPMTAG_RECOMMENDVERSION,
    "RECOMMENDNAME/FLAGS/VERSION",
);
const DEP_SUPPLEMENTS: DepTags = (
    IndexTag::RPMTAG_SUPPLEMENTNAME,
    IndexTag::RPMTAG_SUPPLEMENTFLAGS,
    IndexTag::RPMTAG_SUPPLEMENTVERSION,
    "SUPPLEMENTNAME/FLAGS/VERSION",
);

const DEP_OLDSUGGESTS: DepTags = (
    IndexTag::RPMTAG_OLDSUGGESTSNAME,
    IndexTag::RPMTAG_OLDSUGGESTSFLAGS,
    IndexTag::RPMTAG_OLDSUGGESTSVERSION,
    "OLDSUGGESTSNAME/FLAGS/VERSION",
);
const DEP_OLDENHANCES: DepTags = (
    IndexTag::RPMTAG_OLDENHANCESNAME,
    IndexTag::RPMTAG_OLDENHANCESFLAGS,
    IndexTag::RPMTAG_OLDENHANCESVERSION,
    "OLDENHANCESNAME/FLAGS/VERSION",
);

/// Reads one dependency kind; absent tags give an empty list.
fn dependencies(meta: &PackageMetadata, tags: DepTags) -> Result<Vec<Dependency>, Error> {
    let h = &meta.header;
    let (name_tag, flags_tag, version_tag, what) = tags;
    let Ok(names) = h.get_entry_data_as_string_array(name_tag) else {
        return Ok(Vec::new());
    };
    let flags = h.get_entry_data_as_u32_array(flags_tag).unwrap_or_default();
    let versions = h
        .get_entry_data_as_string_array(version_tag)
        .unwrap_or_default();
    if flags.len() != names.len() || versions.len() != names.len() {
        return Err(Error::ArrayMismatch { what });
    }
    Ok(names
        .iter()
        .zip(flags)
        .zip(versions)
        .map(|((name, flags), version)| Dependency {
            name: (*name).to_owned(),
            flags,
            version: version.to_owned(),
        })
        .collect())
}

/// Reads the file list (base names, directory names and indexes, modes, flags).
fn files(meta: &PackageMetadata) -> Result<Vec<FileInfo>, Error> {
    let h = &meta.header;
    let Ok(basenames) = h.get_entry_data_as_string_array(IndexTag::RPMTAG_BASENAMES) else {
        return Ok(Vec::new());
    };
    let dirnames = h
        .get_entry_data_as_string_array(IndexTag::RPMTAG_DIRNAMES)
        .unwrap_or_default();
    let dirindexes = h
        .get_entry_data_as_u32_array(IndexTag::RPMTAG_DIRINDEXES)
        .unwrap_or_default();
    let modes = h
        .get_entry_data_as_u16_array(IndexTag::RPMTAG_FILEMODES)
        .unwrap_or_default();
    let flags = h
        .get_entry_data_as_u32_array(IndexTag::RPMTAG_FILEFLAGS)
        .unwrap_or_default();
    let n = basenames.len();
    if dirindexes.len() != n || modes.len() != n || flags.len() != n {
        return Err(Error::ArrayMismatch {
            what: "BASENAMES/DIRINDEXES/FILEMODES/FILEFLAGS",
        });
    }
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let dir = dirnames
            .get(dirindexes[i] as usize)
            .ok_or(Error::ArrayMismatch {
                what: "DIRINDEXES/DIRNAMES",
            })?;
        let kind = if modes[i] & MODE_TYPE_MASK == MODE_DIR {
            FileKind::Dir
        } else if flags[i] & FILE_GHOST != 0 {
            FileKind::Ghost
        } else {
            FileKind::File
        };
        out.push(FileInfo {
            path: format!("{dir}{}", basenames[i]),
            kind,
        });
    }
    Ok(out)
}

/// Reads the changelog (times, names, texts).
fn changelog(meta: &PackageMetadata) -> Result<Vec<ChangelogEntry>, Error> {
    let h = &meta.header;
    let Ok(times) = h.get_entry_data_as_u32_array(IndexTag::RPMTAG_CHANGELOGTIME) else {
        return Ok(Vec::new());
    };
    let names = h
        .get_entry_data_as_string_array(IndexTag::RPMTAG_CHANGELOGNAME)
        .unwrap_or_default();
    let texts = h
        .get_entry_data_as_string_array(IndexTag::RPMTAG_CHANGELOGTEXT)
        .unwrap_or_default();
    if names.len() != times.len() || texts.len() != times.len() {
        return Err(Error::ArrayMismatch {
            what: "CHANGELOGTIME/NAME/TEXT",
        });
    }
    Ok(times
        .iter()
        .zip(names)
        .zip(texts)
        .map(|((time, author), text)| ChangelogEntry {
            time: u64::from(*time),
            author: author.to_owned(),
            text: text.to_owned(),
        })
        .collect())
}

/// A reader that hashes and counts every byte read through it.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: Read> HashingReader<R> {
    fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    /// Size and lowercase-hex SHA-256 of everything read.
    fn finish(self) -> (u64, String) {
        (self.count, hex::encode(self.hasher.finalize()))
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let read = buf.get(..n).unwrap_or_default();
        self.hasher.update(read);
        self.count += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
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
