//! The remastering profile: a TOML file turned into typed, validated plain data.
//!
//! This is the only module that knows TOML. [`Profile::load`] reads a profile for remastering an
//! ISO, [`DriverDiskProfile::load`] one for building a driver disk. Both refuse unknown keys and
//! check every value before anything runs; every error names the profile file, line and column.
//! Relative input paths are resolved against the profile's folder and must exist; destination paths
//! inside the ISO or the installer image must be absolute and normalized; `[packages] add` globs are
//! expanded (sorted, each must match a file); a `[[packages.build]]` package's every field is
//! checked as the RPM writer would have it, its files read only when the build makes it. Values
//! that later stages may still need to report keep their position as a [`Located`].
//!
//! ```
//! use std::path::Path;
//! use isoremix::profile::{Profile, SourceIso};
//!
//! let text = "[source]\niso = \"builtin:sample\"\n[output]\niso = \"out.iso\"\n";
//! let p = Profile::from_str(text, Path::new("site.toml"), Path::new("/srv/site")).unwrap();
//! assert_eq!(p.source.iso, SourceIso::Sample);
//! assert_eq!(p.output.iso, Path::new("/srv/site/out.iso"));
//!
//! let typo = format!("{text}volumeid = \"X\"\n");
//! let err = Profile::from_str(&typo, Path::new("site.toml"), Path::new("/srv/site")).unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "site.toml:5:1: unknown key `volumeid`, expected `iso` or `volume_id`"
//! );
//! ```

mod error;
mod location;
mod quick;
mod rules;
mod schema;
mod validate;
mod write;

use std::path::{Path, PathBuf};
use std::str::FromStr;

pub use error::{Error, UnknownBuiltin};
pub use location::{Located, Origin};
pub use quick::{QUICK_PROFILE_NAME, QuickProfile};

/// A profile for `isoremix build`: a source ISO, an output and the edits to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// The profile file, as named when loaded (used in messages).
    pub file: PathBuf,
    /// The folder relative paths were resolved against.
    pub base_dir: PathBuf,
    /// The profile's text as validated; the ids of the image built from it derive from it.
    pub text: String,
    /// `[source]`: the ISO to start from. The CLI may overwrite it after loading.
    pub source: Source,
    /// `[output]`: where to write. The CLI may overwrite `output.iso` after loading.
    pub output: Output,
    /// `[iso]`: files removed from or added to the ISO filesystem.
    pub iso: IsoEdits,
    /// `[installer]`: edits of the installer root filesystem (`install.img`).
    pub installer: InstallerEdits,
    /// `[boot]`: boot menu edits (isolinux and both GRUB configs).
    pub boot: BootEdits,
    /// `[packages]`: the RPM repository on the ISO.
    pub packages: PackageEdits,
    /// `[treeinfo]`: `.treeinfo` fields.
    pub treeinfo: TreeinfoEdits,
    /// `[signing]`: the key to sign packages and repodata with; `None`: leave unsigned.
    pub signing: Option<Signing>,
    /// `[[drivers]]`, in profile order.
    pub drivers: Vec<Driver>,
}

/// A profile for `isoremix driver-disk`: `[driver_disk]`, `[output]` and optionally `[signing]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverDiskProfile {
    /// The profile file, as named when loaded (used in messages).
    pub file: PathBuf,
    /// The folder relative paths were resolved against.
    pub base_dir: PathBuf,
    /// `[output]`: where to write the driver disk ISO.
    pub output: Output,
    /// `[signing]`: the key to sign the driver disk with; `None`: leave unsigned.
    pub signing: Option<Signing>,
    /// `[driver_disk]`: what the disk holds.
    pub driver_disk: DriverDisk,
}

/// Values given on the command line that replace the profile's. A replaced value may be absent from
/// the profile and is not checked there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// Replaces `[source] iso`.
    pub source_iso: Option<SourceIso>,
    /// Replaces `[output] iso`.
    pub output_iso: Option<PathBuf>,
}

/// `[source]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The source ISO.
    pub iso: SourceIso,
}

/// The ISO a remaster starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceIso {
    /// `builtin:sample`: the small XCP-ng-shaped sample source built into the program.
    Sample,
    /// An ISO file (resolved against the profile's folder when it comes from the profile).
    File(PathBuf),
}

impl FromStr for SourceIso {
    type Err = UnknownBuiltin;

    /// Parses a command-line value: `builtin:sample` or a path (kept as given, relative to the
    /// current directory).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "builtin:sample" {
            Ok(SourceIso::Sample)
        } else if s.starts_with("builtin:") {
            Err(UnknownBuiltin { name: s.to_owned() })
        } else {
            Ok(SourceIso::File(PathBuf::from(s)))
        }
    }
}

/// `[output]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// The ISO to write (resolved against the profile's folder when it comes from the profile).
    pub iso: PathBuf,
    /// The volume identifier (1 to 32 printable ASCII characters); `None`: keep the source's.
    pub volume_id: Option<Located<String>>,
}

/// `[iso]`
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IsoEdits {
    /// Absolute, normalized ISO paths to remove (files or whole directories).
    pub remove: Vec<Located<String>>,
    /// Files to add or replace.
    pub files: Vec<IsoFile>,
}

/// `[[iso.files]]`: one file copied into the ISO filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsoFile {
    /// The local file (exists, regular).
    pub src: Located<PathBuf>,
    /// Its absolute, normalized path in the ISO.
    pub dest: Located<String>,
}

/// `[installer]`
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstallerEdits {
    /// Absolute, normalized paths inside `install.img` to remove.
    pub remove: Vec<Located<String>>,
    /// Unified diffs applied to the installer root, in profile order (each exists).
    pub patches: Vec<Located<PathBuf>>,
    /// An answer file for unattended installs, placed in the installer root (exists).
    pub answerfile: Option<Located<PathBuf>>,
    /// How `install.img` is rewritten.
    pub mode: InstallerMode,
    /// Files to add or replace in the installer root.
    pub files: Vec<InstallerFile>,
}

/// How `install.img` is rewritten.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum InstallerMode {
    /// An overlay when the edits allow it (no removals), else a re-pack.
    #[default]
    Auto,
    /// Append an overlay archive; fails if an edit needs a re-pack (a removal).
    Overlay,
    /// Unpack and re-pack the whole archive.
    Repack,
}

/// `[[installer.files]]`: one file copied into the installer root, owned by root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallerFile {
    /// The local file (exists, regular).
    pub src: Located<PathBuf>,
    /// Its absolute, normalized path in the installer root.
    pub dest: Located<String>,
    /// Permission bits (at most `0o7777`); default `0o644`.
    pub mode: u32,
}

/// The default permission bits of an [`InstallerFile`] and a [`PackageBuildFile`].
pub(crate) const DEFAULT_FILE_MODE: u32 = 0o644;

/// `[boot]`
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BootEdits {
    /// Labels of the entries the argument edits apply to; `None`: every entry that boots Xen.
    pub entries: Option<Vec<Located<String>>>,
    /// Edits of the Xen command line.
    pub xen_args: ArgEdits,
    /// Edits of the dom0 kernel command line.
    pub dom0_args: ArgEdits,
    /// Label of the default entry; `None`: keep the source's.
    pub default: Option<Located<String>>,
    /// Menu timeout in seconds (0 to 3599, the isolinux limit); `None`: keep the source's.
    pub timeout: Option<Located<u32>>,
    /// Also place the GRUB EFI binary at `/EFI/BOOT/BOOTX64.EFI` in the ISO filesystem.
    pub efi_fallback: bool,
    /// New entries, in profile order.
    pub new_entries: Vec<NewBootEntry>,
}

/// Edits of one command line. Each argument is non-empty, has no whitespace or control
/// characters, and is not the multiboot separator `---`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArgEdits {
    /// `key=value` (or a bare flag): replaces every argument with the same key, or is appended.
    pub set: Vec<Located<String>>,
    /// Appended as written, even if the key is present.
    pub add: Vec<Located<String>>,
    /// `key`: removes every argument with that key; `key=value`: removes exactly that argument.
    pub remove: Vec<Located<String>>,
}

impl ArgEdits {
    /// True when there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.add.is_empty() && self.remove.is_empty()
    }
}

/// `[[boot.entry]]`: a new menu entry copied from an existing one, with its own argument edits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBootEntry {
    /// The new entry's label (letters, digits, `.`, `_`, `-`).
    pub label: Located<String>,
    /// The menu title: no control characters, `"`, `\` or `$`, so it needs no escaping.
    pub title: Located<String>,
    /// The label of the source entry to copy.
    pub from: Located<String>,
    /// Edits of the copy's Xen command line.
    pub xen_args: ArgEdits,
    /// Edits of the copy's dom0 command line.
    pub dom0_args: ArgEdits,
    /// Where the `[[boot.entry]]` table starts.
    pub origin: Origin,
}

/// `[packages]`
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackageEdits {
    /// RPM files to add to `Packages/`: the globs expanded, sorted, without duplicates; each
    /// file's origin is its glob.
    pub add: Vec<Located<PathBuf>>,
    /// Names of packages to remove from the repository.
    pub remove: Vec<Located<String>>,
    /// Names of packages the installer must install (added as requirements of `meta`, or to
    /// `group`).
    pub install: Vec<Located<String>>,
    /// The comps group to add `install` to; `None`: no group edit.
    pub group: Option<Located<String>>,
    /// The meta-package to extend with `install`; `None`: the default (`xcp-ng-deps`).
    pub meta: Option<Located<String>>,
    /// Allow an added package to replace a higher version of the same name.
    pub allow_downgrade: bool,
    /// Folders of RPMs (a pool) that dependencies missing from the ISO are drawn from.
    pub from: Vec<Located<PathBuf>>,
    /// Replace every package of the ISO that the pool has in a newer version (or obsoletes).
    pub update: bool,
    /// Packages whose unmet requirements are tolerated (each reported as a warning).
    pub allow_unresolved: Vec<Located<String>>,
    /// Packages built from plain files and added like `add`'s, in profile order (names unique).
    pub build: Vec<PackageBuild>,
}

/// `[[packages.build]]`: a small package built from plain files at build time, stamped with the
/// build's time, then added to the repository as a file of `[packages] add` would be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageBuild {
    /// The package name (an RPM name).
    pub name: Located<String>,
    /// Its version (letters, digits and `._+~^`).
    pub version: Located<String>,
    /// Its release (same characters); default `1`.
    pub release: String,
    /// Its architecture: `noarch` (the default) or `x86_64`.
    pub arch: BuildArch,
    /// The one-line summary.
    pub summary: String,
    /// The description; `None`: the summary.
    pub description: Option<String>,
    /// The license.
    pub license: String,
    /// The RPM group; `None`: `Unspecified`.
    pub group: Option<String>,
    /// The vendor, if any.
    pub vendor: Option<String>,
    /// Capabilities the package requires (unversioned names, or absolute paths).
    pub requires: Vec<Located<String>>,
    /// The files it holds, in profile order (destinations unique).
    pub files: Vec<PackageBuildFile>,
    /// Where the `[[packages.build]]` table starts.
    pub origin: Origin,
}

/// The architectures a `[[packages.build]]` package may have.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum BuildArch {
    /// Architecture-independent.
    #[default]
    Noarch,
    /// 64-bit x86.
    X86_64,
}

impl BuildArch {
    /// The architecture as RPM writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            BuildArch::Noarch => "noarch",
            BuildArch::X86_64 => "x86_64",
        }
    }
}

/// The default release of a [`PackageBuild`].
pub(crate) const DEFAULT_BUILD_RELEASE: &str = "1";

/// `[[packages.build.files]]`: one file of a built package, owned by root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageBuildFile {
    /// The local file (exists, regular).
    pub src: Located<PathBuf>,
    /// Its absolute, normalized path once installed.
    pub dest: Located<String>,
    /// Permission bits (at most `0o7777`); default `0o644`.
    pub mode: u32,
}

/// `[treeinfo]`; `None` fields keep the source's values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreeinfoEdits {
    /// `[build] number`.
    pub build_number: Option<Located<String>>,
    /// The product name (`[system-v1] product_name`, `[branding] name`).
    pub product_name: Option<Located<String>>,
    /// The product version, dotted numbers only.
    pub product_version: Option<Located<String>>,
}

/// `[signing]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signing {
    /// Armored OpenPGP secret key (exists).
    pub key: Located<PathBuf>,
    /// Name of the environment variable holding the passphrase; `None`: the key is unprotected.
    pub passphrase_env: Option<Located<String>>,
}

/// `[[drivers]]`: a driver added to the installer and/or the installed system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Driver {
    /// Where the driver comes from.
    pub source: DriverSource,
    /// Put the modules into the installer (`install.img`); default true.
    pub installer: bool,
    /// Install the driver on the target system; default true.
    pub system: bool,
    /// Replace modules even if the existing ones are newer; default false.
    pub force: bool,
    /// Where the `[[drivers]]` table starts.
    pub origin: Origin,
}

/// What a `[[drivers]]` entry brings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriverSource {
    /// A driver RPM (exists, ends with `.rpm`).
    Rpm(Located<PathBuf>),
    /// Kernel modules to wrap in a new RPM.
    Modules {
        /// The modules.
        modules: ModuleSet,
        /// The RPM to wrap them in.
        package: Located<String>,
        /// Its version; `None`: the first module's `modinfo` version.
        version: Option<Located<String>>,
    },
}

/// Kernel modules given as files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleSet {
    /// The module files (exist; `.ko`, `.ko.xz` or `.ko.zst`), in profile order.
    pub ko: Vec<Located<PathBuf>>,
    /// The folder under `/lib/modules/<kver>/` they go to.
    pub dir: ModuleDir,
    /// The kernel version they are for; `None`: taken from the modules' vermagic.
    pub kernel: Option<Located<String>>,
}

/// The folder under `/lib/modules/<kver>/` that added modules go to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum ModuleDir {
    /// `updates/`, where driver RPMs put theirs.
    #[default]
    Updates,
    /// `extra/`
    Extra,
    /// `override/`
    Override,
}

impl ModuleDir {
    /// The folder name.
    pub fn as_str(self) -> &'static str {
        match self {
            ModuleDir::Updates => "updates",
            ModuleDir::Extra => "extra",
            ModuleDir::Override => "override",
        }
    }
}

/// `[driver_disk]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverDisk {
    /// The driver's name (an RPM name; the control package is `update-<name>`).
    pub name: Located<String>,
    /// The disk's version; `None`: the driver's.
    pub version: Option<Located<String>>,
    /// `update.xml`'s `name-description`; `None`: a default from name and version.
    pub description: Option<Located<String>>,
    /// The driver.
    pub source: DiskSource,
    /// Replace modules even if the existing ones are newer; default false.
    pub force: bool,
    /// `update.xml`'s uuid (lower-case, 8-4-4-4-12 hex); `None`: derived from name and version.
    pub uuid: Option<Located<String>>,
    /// Where `[driver_disk]` starts.
    pub origin: Origin,
}

/// What a driver disk holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiskSource {
    /// A driver RPM (exists, ends with `.rpm`).
    Rpm(Located<PathBuf>),
    /// Kernel modules wrapped in an RPM named after the disk.
    Modules(ModuleSet),
}

/// The folder a profile's relative paths resolve against: the profile's own folder, made absolute
/// so that later changes of the working directory do not matter.
fn base_dir_of(path: &Path) -> PathBuf {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::path::absolute(&parent).unwrap_or(parent)
}

/// The largest profile accepted: far more than any real one, small enough that naming the ISO
/// instead of the profile by mistake fails at once instead of reading hundreds of megabytes.
pub const MAX_PROFILE_BYTES: u64 = 1 << 20;

fn read_profile(path: &Path) -> Result<String, Error> {
    use std::io::Read;
    let read_error = |source| Error::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = crate::input::open(path).map_err(read_error)?;
    let mut bytes = Vec::new();
    file.take(MAX_PROFILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_PROFILE_BYTES {
        return Err(Error::NotAProfile {
            path: path.to_path_buf(),
            problem: "is larger than 1 MiB",
        });
    }
    String::from_utf8(bytes).map_err(|_| Error::NotAProfile {
        path: path.to_path_buf(),
        problem: "is not UTF-8 text",
    })
}

impl Profile {
    /// Reads and validates the remaster profile at `path`.
    pub fn load(path: &Path) -> Result<Profile, Error> {
        Profile::load_with(path, &Overrides::default())
    }

    /// Reads and validates the remaster profile at `path`, with command-line replacements.
    pub fn load_with(path: &Path, overrides: &Overrides) -> Result<Profile, Error> {
        let text = read_profile(path)?;
        Profile::from_str_with(&text, path, &base_dir_of(path), overrides)
    }

    /// Validates a remaster profile given as text. `file` names it in messages; relative paths
    /// resolve against `base_dir`.
    pub fn from_str(text: &str, file: &Path, base_dir: &Path) -> Result<Profile, Error> {
        Profile::from_str_with(text, file, base_dir, &Overrides::default())
    }

    /// Like [`Profile::from_str`], with command-line replacements.
    pub fn from_str_with(
        text: &str,
        file: &Path,
        base_dir: &Path,
        overrides: &Overrides,
    ) -> Result<Profile, Error> {
        validate::remaster(text, file, base_dir, overrides)
    }

    /// The profile as TOML text, resolved: paths absolute as loaded, `[packages] add` globs
    /// replaced by the files they matched, defaults left out. Loading it gives the same profile
    /// (up to positions).
    pub fn to_toml(&self) -> Result<String, Error> {
        write::remaster(self)
    }
}

impl DriverDiskProfile {
    /// Reads and validates the driver-disk profile at `path`.
    pub fn load(path: &Path) -> Result<DriverDiskProfile, Error> {
        DriverDiskProfile::load_with(path, None)
    }

    /// Reads and validates the driver-disk profile at `path`; `output_iso` (from the command line)
    /// replaces `[output] iso`, which may then be absent.
    pub fn load_with(path: &Path, output_iso: Option<&Path>) -> Result<DriverDiskProfile, Error> {
        let text = read_profile(path)?;
        DriverDiskProfile::from_str(&text, path, &base_dir_of(path), output_iso)
    }

    /// Validates a driver-disk profile given as text. `file` names it in messages; relative paths
    /// resolve against `base_dir`; `output_iso` replaces `[output] iso` (which may then be absent).
    pub fn from_str(
        text: &str,
        file: &Path,
        base_dir: &Path,
        output_iso: Option<&Path>,
    ) -> Result<DriverDiskProfile, Error> {
        validate::driver_disk(text, file, base_dir, output_iso)
    }

    /// The profile as TOML text, resolved (see [`Profile::to_toml`]).
    pub fn to_toml(&self) -> Result<String, Error> {
        write::driver_disk(self)
    }
}
