//! What reading a package gives: its header as plain data, and the flag bits of its
//! dependency and file lists.

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
