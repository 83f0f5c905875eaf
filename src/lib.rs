//! isoremix: remaster XCP-ng installer ISOs without root.
//!
//! The library does all the work; the `isoremix` binary only parses the
//! command line and prints. Format modules (`iso`, `initrd`, `boot`, `rpm`,
//! `repo`, `kmod`, `treeinfo`, ...) know nothing of profiles; `remaster` is
//! the pipeline that reads a [`profile::Profile`] and drives them.
//!
//! The public face: the pipeline and its commands ([`profile`], [`remaster`],
//! [`inspect`], [`verify`], [`extract`], [`driver_disk`], [`sample`],
//! [`progress`]) and the formats they are built from, each usable alone
//! ([`iso`], [`initrd`], [`boot`], [`rpm`], [`repo`], [`kmod`], [`depsolve`],
//! [`driver`], [`treeinfo`], [`patch`], [`answerfile`]), [`sha256_pair`], SHA-256 of
//! several streams at once, as `verify` hashes, and [`parallelism`], the thread count all of
//! them use. What the platform is
//! (`xcpng`), how the installer reads its command line (`installer_args`) and
//! an image's boot entries (`entries`), the build clock and the input-file
//! checks stay inside the crate.

pub mod answerfile;
pub mod boot;
pub mod cache_file;
mod clock;
pub mod depsolve;
pub mod driver;
pub mod driver_disk;
mod entries;
pub mod extract;
#[doc(hidden)]
pub mod fuzzing;
pub mod initrd;
mod input;
pub mod inspect;
mod installer_args;
pub mod iso;
pub mod kmod;
pub mod parallelism;
mod partial;
pub mod patch;
pub mod profile;
pub mod progress;
mod read_fully;
pub mod remaster;
pub mod repo;
pub mod rpm;
mod safe_path;
pub mod sample;
pub mod sha256_pair;
#[cfg(test)]
mod test_support;
pub mod treeinfo;
pub mod verify;
mod xcpng;
mod xml;
