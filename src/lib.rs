//! isoremix: remaster XCP-ng installer ISOs without root.
//!
//! The library does all the work; the `isoremix` binary only parses the
//! command line and prints. Format modules (`iso`, `initrd`, `boot`, `rpm`,
//! `repo`, `kmod`, `treeinfo`, ...) know nothing of profiles; `remaster` is
//! the pipeline that reads a [`profile::Profile`] and drives them.

pub mod answerfile;
pub mod boot;
pub mod clock;
pub mod depsolve;
pub mod driver;
pub mod driver_disk;
pub mod entries;
pub mod extract;
#[doc(hidden)]
pub mod fuzzing;
pub mod initrd;
pub mod input;
pub mod inspect;
pub mod iso;
pub mod kmod;
mod partial;
pub mod patch;
pub mod profile;
pub mod progress;
pub mod remaster;
pub mod repo;
pub mod rpm;
mod safe_path;
pub mod sample;
pub mod treeinfo;
pub mod verify;
pub mod xcpng;
mod xml;
