//! Why a build failed: one variant per kind of failure, each naming where in the profile (or
//! which section) asked for the failing edit and keeping the format layer's error as its
//! cause, so that the command line prints the whole chain.

use std::fmt;
use std::path::PathBuf;

use crate::boot::{efiboot, menu};
use crate::profile::Origin;
use crate::rpm::sign::KeyFileError;
use crate::{answerfile, clock, depsolve, driver, initrd, iso, patch, repo, rpm, sample};

/// Where in the profile a failing edit was asked for: the value's position when one value
/// asked for it, else the section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum At {
    /// A value, at its `file:line:column`.
    Value(Origin),
    /// A section as a whole (e.g. `[boot]`).
    Section(&'static str),
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            At::Value(origin) => origin.fmt(f),
            At::Section(name) => f.write_str(name),
        }
    }
}

impl From<&Origin> for At {
    fn from(origin: &Origin) -> Self {
        At::Value(origin.clone())
    }
}

/// Why a build failed. Nothing is written at the output path when it does.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The ISO layer failed (reading the source or writing the image).
    #[error(transparent)]
    Iso(#[from] iso::Error),
    /// `SOURCE_DATE_EPOCH` is malformed.
    #[error(transparent)]
    Clock(#[from] clock::BadEpoch),
    /// The build time cannot be written as an image timestamp.
    #[error("SOURCE_DATE_EPOCH: the build time {time} cannot be an image timestamp")]
    BuildTime {
        /// Seconds since 1970.
        time: i64,
        /// Why not.
        source: hadris_fs::DateTimeError,
    },
    /// The built-in sample source could not be made.
    #[error(transparent)]
    Sample(#[from] sample::Error),
    /// The `[signing]` key cannot be read, unlocked or used with rpm 4.11.
    #[error("{at}: cannot sign with this key")]
    SigningKey {
        /// Where the profile names the key.
        at: Origin,
        /// Why.
        source: KeyFileError,
    },
    /// A file of the image the profile asks to remove or replace, or a step must read or
    /// write, cannot be.
    #[error("{at}: cannot {action} {path}")]
    IsoEdit {
        /// What asked for the edit.
        at: At,
        /// `remove`, `add`, `read` or `write`.
        action: &'static str,
        /// The path in the image.
        path: String,
        /// The ISO layer's error.
        source: Box<iso::Error>,
    },
    /// The image has neither an isolinux.cfg nor a grub.cfg for `[boot]` to edit.
    #[error("[boot]: the image has no boot menu (isolinux.cfg or grub.cfg) to edit")]
    NoBootMenu,
    /// `[boot] efi_fallback` on an image without a UEFI boot image.
    #[error("{at}: efi_fallback: the image has no UEFI El Torito boot image")]
    NoUefiImage {
        /// Where the profile asks for it.
        at: At,
    },
    /// The UEFI El Torito image (FAT) cannot be read or rebuilt.
    #[error("[boot]: {path} (the UEFI El Torito image) cannot be {action}")]
    Efiboot {
        /// Its path in the image.
        path: String,
        /// `read` or `rebuilt`.
        action: &'static str,
        /// The FAT layer's error.
        source: efiboot::Error,
    },
    /// The boot menus cannot be edited as the profile asks.
    #[error("{at}: cannot edit the boot menus")]
    BootMenu {
        /// The profile value naming the entry at fault, else `[boot]`.
        at: At,
        /// The boot layer's error.
        source: Box<menu::Error>,
    },
    /// `[treeinfo]` edits on a source without `.treeinfo`.
    #[error("[treeinfo]: the source has no .treeinfo to edit")]
    NoTreeinfo,
    /// The source's `.treeinfo` is not text.
    #[error("[treeinfo]: the source's .treeinfo is not UTF-8 text")]
    TreeinfoNotText(#[source] std::string::FromUtf8Error),
    /// `.treeinfo` cannot be rewritten as the profile asks.
    #[error("{at}: cannot rewrite .treeinfo")]
    Treeinfo {
        /// The profile value written into it, else `[treeinfo]`.
        at: At,
        /// The `.treeinfo` layer's error.
        source: crate::treeinfo::Error,
    },
    /// A package file of the host (`[packages] add`, a pool's, a driver's) cannot be used.
    #[error("{at}: {}: {source}", path.display())]
    PackageRead {
        /// What brought it in: the `add` value, the pool folder, `[[drivers]]`.
        at: At,
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: PackageFileError,
    },
    /// `[packages]` asks for an edit the repository does not allow.
    #[error("{at}: {why}")]
    PackageEdit {
        /// The profile value asking for it, else its section.
        at: At,
        /// Why not.
        why: Box<PackageRefusal>,
    },
    /// The repository's metadata (`repomd.xml`, primary, comps) cannot be read or written.
    #[error("[packages]: cannot {action}")]
    Repository {
        /// What was being done, e.g. `read the source's comps file`.
        action: String,
        /// The repository layer's error.
        source: repo::Error,
    },
    /// The updates taken from the pool leave the installer's targets without an answer.
    #[error("{at}: the updates taken from the pool cannot be installed")]
    Solve {
        /// The first pool folder, else `[packages]`.
        at: At,
        /// Every unmet requirement.
        source: depsolve::Unsolvable,
    },
    /// The meta-package's new release cannot be written.
    #[error("[packages] meta {meta}: cannot write its new release")]
    MetaRelease {
        /// The meta-package's name.
        meta: String,
        /// Why.
        source: Box<PackageWriteError>,
    },
    /// A `[[packages.build]]` package cannot be built or written.
    #[error("{at}: cannot build package {name}")]
    PackageBuild {
        /// Where its `[[packages.build]]` table starts.
        at: At,
        /// The package's name.
        name: String,
        /// Why.
        source: Box<PackageWriteError>,
    },
    /// A package, `repomd.xml` or the public key file cannot be signed or written with the
    /// `[signing]` key.
    #[error("[signing] {what}: cannot {action}")]
    Sign {
        /// The repository file (e.g. `Packages/a-1-1.x86_64.rpm`).
        what: String,
        /// `sign it`, `write the key file`.
        action: &'static str,
        /// Why.
        source: Box<PackageWriteError>,
    },
    /// A file the profile names (a patch, the answer file, a kernel module), or one the build
    /// makes from it, cannot be read or written.
    #[error("{at}: cannot {action} {}", path.display())]
    HostFile {
        /// The profile value naming it.
        at: At,
        /// `read` or `write`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// An `[installer] patches` file is not a patch that can be applied.
    #[error("{at}: {source}")]
    Patch {
        /// The `patches` value.
        at: At,
        /// The patch layer's error.
        source: Box<patch::Error>,
    },
    /// The `[installer] answerfile` is not one the installer accepts, or cannot take the
    /// attributes the build sets.
    #[error("{at}: {source}")]
    AnswerFile {
        /// The `answerfile` value.
        at: At,
        /// The answer-file layer's error.
        source: Box<answerfile::Error>,
    },
    /// install.img cannot be rewritten with the `[installer]` edits.
    #[error("[installer] {}: {source}", crate::xcpng::INSTALL_IMG)]
    InstallImg {
        /// The initrd layer's error.
        source: Box<initrd::Error>,
    },
    /// A `[[drivers]]` entry cannot be used.
    #[error("{at}: {source}")]
    Driver {
        /// The driver's value at fault (its `rpm`, `kernel`, `package`), else the entry.
        at: At,
        /// The driver layer's error.
        source: Box<driver::Error>,
    },
    /// The profile asks for edits that cannot all be done (found once its inputs are read).
    #[error(transparent)]
    Profile(#[from] crate::profile::Error),
    /// The image, as built, would not install in some boot entry.
    #[error(transparent)]
    WouldNotInstall(#[from] crate::verify::WouldNotInstall),
    /// The output would overwrite the source.
    #[error("the output {0} is the source image: choose another output path")]
    OutputIsSource(PathBuf),
    /// A temporary work folder could not be made.
    #[error("cannot create a temporary folder: {0}")]
    Workdir(std::io::Error),
    /// The cached index of install.img the build used does not match the image (it was
    /// removed from the cache; a build that meets this builds again without it).
    #[error("the cached index of install.img does not match the image and could not be set aside")]
    StaleIndex,
}

/// What is wrong with a package file of the host.
#[derive(Debug, thiserror::Error)]
pub enum PackageFileError {
    /// It (or its folder) cannot be read.
    #[error("cannot be read")]
    Io(#[source] std::io::Error),
    /// It is named `.rpm` but is a folder's special file (a FIFO, a device...).
    #[error("is {0}, not a regular file")]
    NotRegular(&'static str),
    /// Its lead or headers cannot be read.
    #[error("not a readable RPM")]
    NotRpm(#[source] Box<rpm::header::Error>),
    /// A digest does not match.
    #[error("damaged or tampered package")]
    Damaged(#[source] Box<rpm::Error>),
    /// A header value cannot be part of the package's file name in the repository.
    #[error("its {field} {value:?} cannot be part of a file name")]
    BadName {
        /// `name`, `version`, `release` or `arch`.
        field: &'static str,
        /// The value.
        value: String,
    },
    /// It is a source package.
    #[error("a source package cannot be installed")]
    SourcePackage,
}

/// Why a `[packages]` edit cannot be done (the profile and the repository disagree).
#[derive(Debug, thiserror::Error)]
pub enum PackageRefusal {
    /// The source has neither repodata nor `/Packages`.
    #[error("the source has no repository to edit (neither repodata/repomd.xml nor Packages/)")]
    NoRepository,
    /// `remove` names a package the source does not have.
    #[error("cannot remove {0}: the source has no such package")]
    NotInSource(String),
    /// Two added packages (files, or packages built by `[[packages.build]]`) are the same
    /// package.
    #[error("{added} and {first} are both package {name}: add only one")]
    AddedTwice {
        /// The second: its file, or the `[[packages.build]]` that built it.
        added: String,
        /// The first, named the same way.
        first: String,
        /// The package name.
        name: String,
    },
    /// An added package is older than the one it replaces.
    #[error(
        "{added} would replace {name} {old} by the lower {new}: yum would keep the old one; \
         set [packages] allow_downgrade = true to replace it anyway"
    )]
    Downgrade {
        /// The added package: its file, or the `[[packages.build]]` that built it.
        added: String,
        /// The package name.
        name: String,
        /// The replaced `[E:]V-R`.
        old: String,
        /// The added `[E:]V-R`.
        new: String,
    },
    /// A package's file name in the repository is another package's.
    #[error("{added}: its file name {location} is taken by package {by}")]
    LocationTaken {
        /// The package coming in: its file, or the `[[packages.build]]` that built it.
        added: String,
        /// Its location in the repository.
        location: String,
        /// The package already there.
        by: String,
    },
    /// No package provides a name to install.
    #[error("cannot install {0}: no package of the repository provides it")]
    NotProvided(String),
    /// Names to install, and no way to make the installer install them.
    #[error(
        "cannot make the installer install {}: the source has neither the meta-package {meta} \
         nor a comps group {group}; set [packages] meta = \"<meta-package>\" or group = \"<group>\"",
        names.join(", ")
    )]
    NoInstallStyle {
        /// The names.
        names: Vec<String>,
        /// The meta-package looked for.
        meta: &'static str,
        /// The comps group looked for.
        group: &'static str,
    },
    /// `meta` names a package the repository does not have.
    #[error("the repository has no meta-package {0}")]
    NoMeta(String),
    /// `group` names a group the comps file does not have.
    #[error("the source's comps has no group {name} (groups: {})", groups.join(", "))]
    NoGroup {
        /// The group asked for.
        name: String,
        /// The groups there are.
        groups: Vec<String>,
    },
}

/// Why a package the build writes (a signed copy, a new release) cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum PackageWriteError {
    /// The package cannot be read from the image.
    #[error(transparent)]
    Image(#[from] iso::Error),
    /// A file cannot be read or written.
    #[error("{}: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The RPM layer refused it.
    #[error(transparent)]
    Rpm(#[from] rpm::Error),
    /// The package written cannot be read back.
    #[error("{}: {source}", path.display())]
    ReadBack {
        /// The file written.
        path: PathBuf,
        /// Why.
        source: PackageFileError,
    },
}
