//! Repository metadata (repodata) as createrepo_c writes it: primary, filelists and other
//! (gzip-compressed, for old yum), repomd.xml with checksums, sizes and caller-given timestamps,
//! comps groups kept as `group` and `group_gz`.
//!
//! Package records come from RPM headers ([`Record::from_package`], many packages in parallel
//! with [`read_records`]) or from an existing repository ([`read_repo_dir`], indexed for reuse
//! by [`ReuseIndex`]), so unchanged packages are not read again. Comps groups are read with
//! [`parse_groups`] and edited with [`add_packages`]; [`driver_disk_comps`] makes a driver disk's.
//!
//! ```no_run
//! use isoremix::repo::{self, GroupsFile, PackageInput, PackageJob, ReuseIndex};
//! # fn main() -> Result<(), repo::Error> {
//! let source = std::path::Path::new("source-tree");
//! // Records of the source repository, for reuse.
//! let reuse = ReuseIndex::new(repo::read_repo_dir(source)?);
//! let inputs = vec![PackageInput {
//!     job: PackageJob {
//!         path: source.join("Packages/a-1-1.noarch.rpm"),
//!         location_href: "Packages/a-1-1.noarch.rpm".into(),
//!         time_file: 1_700_000_000,
//!     },
//!     size: 12_345,
//!     sha256: None,
//! }];
//! let (records, _stats) = repo::collect_records(
//!     &inputs,
//!     &reuse,
//!     repo::default_threads(),
//!     Some(repo::DEFAULT_CHANGELOG_LIMIT),
//!     |job| std::fs::File::open(&job.path),
//! )?;
//! let comps = std::fs::read(source.join("repodata/comps.xml")).unwrap_or_default();
//! let groups = (!comps.is_empty()).then_some(GroupsFile { name: "comps.xml", xml: &comps });
//! let files = repo::write_repodata(&records, groups, 1_700_000_000)?;
//! files.write_to_dir(std::path::Path::new("out-tree"))?;
//! # Ok(())
//! # }
//! ```

pub(crate) mod bounded;
pub(crate) mod comps;
pub(crate) mod filelists;
pub(crate) mod other;
pub(crate) mod primary;
pub(crate) mod reader;
pub(crate) mod record;
pub(crate) mod repomd;
mod scan;
mod xml;

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

pub use comps::{Group, PackageReq, ReqKind, add_packages, driver_disk_comps, parse_groups};
pub use reader::{ReuseIndex, read_groups, read_repo, read_repo_dir};
pub use record::{Changelog, DEFAULT_CHANGELOG_LIMIT, Dep, Record, RecordFile};
pub use repomd::{Repomd, RepomdRecord, parse_repomd, write_repomd};
pub use scan::{
    CollectStats, PackageInput, PackageJob, collect_records, default_threads, read_records,
};

/// Errors of repodata reading and writing.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O error while writing or reading repodata.
    #[error("repodata I/O on {what}: {source}")]
    Io {
        /// The file or stream concerned.
        what: String,
        /// The cause.
        source: io::Error,
    },
    /// A package could not be read.
    #[error("package {location}: {source}")]
    Package {
        /// The package's location in the repository.
        location: String,
        /// The cause.
        source: crate::rpm::header::Error,
    },
    /// Two packages have the same name and architecture.
    #[error("two packages named {name}.{arch}: {first} and {second}")]
    DuplicatePackage {
        /// Package name.
        name: String,
        /// Architecture.
        arch: String,
        /// Location of the first.
        first: String,
        /// Location of the second.
        second: String,
    },
    /// Two records have the same location.
    #[error("two packages at the same location {location}")]
    DuplicateLocation {
        /// The location.
        location: String,
    },
    /// A package field holds a control character XML cannot carry.
    #[error("package {package}: field {field} holds a control character")]
    ControlCharacter {
        /// The package (location).
        package: String,
        /// The field name.
        field: &'static str,
    },
    /// A location is not a safe relative path.
    #[error("unsafe package location {location:?}")]
    UnsafeLocation {
        /// The location.
        location: String,
    },
    /// An XML file is malformed or not what it should be.
    #[error("{file}: malformed XML: {reason}")]
    BadXml {
        /// The file.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// The comps file has no group with that id.
    #[error("comps has no group {id:?}")]
    GroupNotFound {
        /// The group id.
        id: String,
    },
    /// repomd.xml lacks a required data type.
    #[error("repomd.xml has no {kind} record")]
    MissingData {
        /// The data type.
        kind: String,
    },
    /// A repodata file does not match its repomd.xml checksum or size.
    #[error("{file}: {what} does not match repomd.xml")]
    Mismatch {
        /// The file.
        file: String,
        /// "checksum" or "size".
        what: &'static str,
    },
    /// A record in filelists or other has no matching package in primary.
    #[error("{file}: package {pkgid} is not in primary.xml")]
    UnknownPkgid {
        /// The file.
        file: String,
        /// The package id.
        pkgid: String,
    },
}

/// A comps file to keep in the repository as `group` and `group_gz`.
#[derive(Clone, Copy, Debug)]
pub struct GroupsFile<'a> {
    /// Base name used in repodata (`comps.xml`, `groups.xml`...); createrepo_c stores the
    /// file as `repodata/<sha256>-<name>`.
    pub name: &'a str,
    /// The comps XML, kept byte for byte.
    pub xml: &'a [u8],
}

/// One generated repodata file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoFile {
    /// Path relative to the repository root (`repodata/<sha256>-primary.xml.gz`, ...,
    /// `repodata/repomd.xml`).
    pub path: String,
    /// The file's bytes.
    pub bytes: Vec<u8>,
}

/// The generated repodata: every file plus the parsed repomd.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoFiles {
    /// The files; `repodata/repomd.xml` is last.
    pub files: Vec<RepoFile>,
    /// What repomd.xml says.
    pub repomd: Repomd,
}

impl RepoFiles {
    /// Writes every file under `root` (creating `root/repodata`). Paths are the generated
    /// ones, never taken from input.
    pub fn write_to_dir(&self, root: &Path) -> Result<(), Error> {
        let dir = root.join("repodata");
        std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
            what: dir.display().to_string(),
            source,
        })?;
        for f in &self.files {
            let path = root.join(&f.path);
            std::fs::write(&path, &f.bytes).map_err(|source| Error::Io {
                what: path.display().to_string(),
                source,
            })?;
        }
        Ok(())
    }
}

/// Sorts records in createrepo_c's order: by package file name, then by location.
pub fn sort_records(records: &mut [Record]) {
    records.sort_by(|a, b| {
        a.file_name()
            .cmp(b.file_name())
            .then_with(|| a.location_href.cmp(&b.location_href))
    });
}

/// Checks records before writing: safe unique locations, unique name.arch, no control
/// characters.
pub fn check_records(records: &[Record]) -> Result<(), Error> {
    let mut by_name: BTreeMap<(&str, &str), &str> = BTreeMap::new();
    let mut locations: BTreeMap<&str, ()> = BTreeMap::new();
    for r in records {
        if !is_safe_location(&r.location_href) {
            return Err(Error::UnsafeLocation {
                location: r.location_href.clone(),
            });
        }
        if locations.insert(&r.location_href, ()).is_some() {
            return Err(Error::DuplicateLocation {
                location: r.location_href.clone(),
            });
        }
        if let Some(first) = by_name.insert((&r.name, &r.arch), &r.location_href) {
            return Err(Error::DuplicatePackage {
                name: r.name.clone(),
                arch: r.arch.clone(),
                first: first.to_string(),
                second: r.location_href.clone(),
            });
        }
        check_control(r)?;
    }
    Ok(())
}

/// A relative path without `..`, empty or absolute components.
fn is_safe_location(loc: &str) -> bool {
    !loc.is_empty()
        && !loc.starts_with('/')
        && loc
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

fn check_control(r: &Record) -> Result<(), Error> {
    let fields: [(&'static str, &str); 16] = [
        ("name", &r.name),
        ("arch", &r.arch),
        ("epoch", &r.epoch),
        ("version", &r.version),
        ("release", &r.release),
        ("summary", &r.summary),
        ("description", &r.description),
        ("packager", &r.packager),
        ("url", &r.url),
        ("license", &r.license),
        ("vendor", &r.vendor),
        ("group", &r.group),
        ("buildhost", &r.buildhost),
        ("sourcerpm", &r.sourcerpm),
        ("location", &r.location_href),
        ("pkgid", &r.pkgid),
    ];
    let bad = |field| Error::ControlCharacter {
        package: r.location_href.clone(),
        field,
    };
    for (field, value) in fields {
        if xml::has_forbidden_control(value) {
            return Err(bad(field));
        }
    }
    let deps = [
        &r.provides,
        &r.requires,
        &r.conflicts,
        &r.obsoletes,
        &r.suggests,
        &r.enhances,
        &r.recommends,
        &r.supplements,
    ];
    for d in deps.into_iter().flatten() {
        let parts = [
            Some(&d.name),
            d.epoch.as_ref(),
            d.ver.as_ref(),
            d.rel.as_ref(),
        ];
        if parts
            .into_iter()
            .flatten()
            .any(|s| xml::has_forbidden_control(s))
        {
            return Err(bad("dependency"));
        }
    }
    if r.files.iter().any(|f| xml::has_forbidden_control(&f.path)) {
        return Err(bad("file"));
    }
    if r.changelogs
        .iter()
        .any(|c| xml::has_forbidden_control(&c.author) || xml::has_forbidden_control(&c.text))
    {
        return Err(bad("changelog"));
    }
    Ok(())
}

/// Generates the whole repodata for `records` (written in the given order; call
/// [`sort_records`] first for createrepo_c's order), with `groups` kept as `group` and
/// `group_gz`, every repomd timestamp and the revision set to `timestamp`. The comps file
/// must parse as comps XML.
///
/// Output is deterministic: the same input gives the same bytes.
pub fn write_repodata(
    records: &[Record],
    groups: Option<GroupsFile<'_>>,
    timestamp: u64,
) -> Result<RepoFiles, Error> {
    check_records(records)?;
    let mut files = Vec::new();
    let mut repomd = Repomd {
        revision: Some(timestamp.to_string()),
        records: Vec::new(),
    };
    type Writer = fn(&mut dyn Write, &[Record]) -> io::Result<()>;
    let parts: [(&str, Writer); 3] = [
        ("primary", |w, r| primary::write_primary(&mut &mut *w, r)),
        ("filelists", |w, r| {
            filelists::write_filelists(&mut &mut *w, r)
        }),
        ("other", |w, r| other::write_other(&mut &mut *w, r)),
    ];
    // The three documents are written and compressed at once, one thread each;
    // the files are then listed in their fixed order.
    let made: Vec<_> = std::thread::scope(|scope| {
        let jobs: Vec<_> = parts
            .iter()
            .map(|(kind, write)| {
                let write = *write;
                (
                    *kind,
                    scope.spawn(move || gzip_with_open_digest(|w| write(w, records))),
                )
            })
            .collect();
        jobs.into_iter()
            .map(|(kind, job)| {
                let result = job
                    .join()
                    .unwrap_or_else(|_| Err(io::Error::other("the writer thread panicked")));
                (kind, result)
            })
            .collect()
    });
    for (kind, result) in made {
        let (bytes, open_sha, open_size) = result.map_err(|source| Error::Io {
            what: format!("{kind}.xml"),
            source,
        })?;
        push_file(
            &mut files,
            &mut repomd,
            kind,
            &format!("{kind}.xml.gz"),
            bytes,
            Some((open_sha, open_size)),
            timestamp,
        );
    }
    if let Some(g) = groups {
        comps::parse_groups(g.xml)?;
        let name = safe_basename(g.name).ok_or_else(|| Error::UnsafeLocation {
            location: g.name.to_string(),
        })?;
        let (gz, open_sha, open_size) =
            gzip_with_open_digest(|w| w.write_all(g.xml)).map_err(|source| Error::Io {
                what: name.to_string(),
                source,
            })?;
        push_file(
            &mut files,
            &mut repomd,
            "group",
            name,
            g.xml.to_vec(),
            None,
            timestamp,
        );
        push_file(
            &mut files,
            &mut repomd,
            "group_gz",
            &format!("{name}.gz"),
            gz,
            Some((open_sha, open_size)),
            timestamp,
        );
    }
    repomd::sort_records(&mut repomd.records);
    let mut xml = Vec::new();
    repomd::write_repomd(&mut xml, &repomd).map_err(|source| Error::Io {
        what: "repomd.xml".into(),
        source,
    })?;
    files.push(RepoFile {
        path: "repodata/repomd.xml".into(),
        bytes: xml,
    });
    Ok(RepoFiles { files, repomd })
}

/// The last path component of `name` if it is a plain file name.
fn safe_basename(name: &str) -> Option<&str> {
    let base = name.rsplit('/').next()?;
    (!base.is_empty() && base != "." && base != ".." && !xml::has_forbidden_control(base))
        .then_some(base)
}

fn push_file(
    files: &mut Vec<RepoFile>,
    repomd: &mut Repomd,
    kind: &str,
    base: &str,
    bytes: Vec<u8>,
    open: Option<(String, u64)>,
    timestamp: u64,
) {
    let checksum = hex::encode(Sha256::digest(&bytes));
    let path = format!("repodata/{checksum}-{base}");
    let (open_checksum, open_size) = match open {
        Some((sum, size)) => (Some(sum), Some(size)),
        None => (None, None),
    };
    repomd.records.push(RepomdRecord {
        kind: kind.to_string(),
        checksum_type: "sha256".into(),
        checksum,
        open_checksum,
        location_href: path.clone(),
        timestamp,
        size: bytes.len() as u64,
        open_size,
    });
    files.push(RepoFile { path, bytes });
}

/// Runs `produce` into a gzip stream, returning the compressed bytes and the SHA-256 and size
/// of the uncompressed stream. Only the compressed bytes are kept in memory.
fn gzip_with_open_digest(
    produce: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<(Vec<u8>, String, u64)> {
    let gz = GzEncoder::new(Vec::new(), Compression::default());
    let mut tee = DigestWriter {
        inner: io::BufWriter::with_capacity(1 << 16, gz),
        hasher: Sha256::new(),
        count: 0,
    };
    produce(&mut tee)?;
    let DigestWriter {
        inner,
        hasher,
        count,
    } = tee;
    let gz = inner.into_inner().map_err(|e| e.into_error())?;
    let bytes = gz.finish()?;
    Ok((bytes, hex::encode(hasher.finalize()), count))
}

/// A writer that hashes and counts what passes through it.
struct DigestWriter<W> {
    inner: W,
    hasher: Sha256,
    count: u64,
}

impl<W: Write> Write for DigestWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        let written = buf.get(..n).unwrap_or_default();
        self.hasher.update(written);
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
