//! Why a build failed: one variant per kind of failure, each naming where in the profile (or
//! which section) asked for the failing edit and keeping the format layer's error as its
//! cause, so that the command line prints the whole chain.

use std::fmt;
use std::path::PathBuf;

use crate::boot::{efiboot, menu};
use crate::profile::Origin;
use crate::rpm::sign::KeyFileError;
use crate::{clock, iso, sample};

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
    /// A step failed; the message names the profile entry. (The steps not yet moved to the
    /// typed variants above.)
    #[error("{at}: {message}")]
    Step {
        /// Where in the profile the failing edit is.
        at: String,
        /// What went wrong.
        message: String,
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
}
