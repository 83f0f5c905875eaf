//! Driver disks for the XCP-ng 8.3 installer (`isoremix driver-disk`): a small ISO that the
//! installer loads before it looks for disks and NICs (F9 / "Load driver", `<driver-source>` in
//! an answer file, `extrarepo=`), installs into its own root with `yum install @drivers`, and
//! installs again on the new host.
//!
//! The image root holds:
//! - `update.xml` ([`update_xml`]): uuid, `name-label`, version, `control="update-<name>"`...;
//! - `Packages/`: the driver RPM and the control package `update-<name>` ([`control`]), which
//!   requires the driver at its exact version;
//! - `repodata/` with the comps groups `update` and `drivers`, each with `update-<name>` as
//!   mandatory;
//! - with a signing key: signed packages, `repodata/repomd.xml.asc` and `update.xml.asc`.
//!
//! [`disk::write_disk`] does the work from plain data; [`build`] maps a profile onto it.

pub mod control;
pub mod disk;
pub mod recognise;
pub mod update_xml;
pub mod uuid;

use std::path::PathBuf;

pub use disk::{DiskReport, DiskSpec, write_disk};
pub use recognise::{DiskInfo, recognise};
pub use update_xml::UpdateInfo;

use crate::clock;
use crate::profile::{DiskSource, DriverDiskProfile, Signing};
use crate::rpm::sign::SigningKey;

/// Why a driver disk could not be built.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The driver RPM cannot be read.
    #[error("driver RPM {path}: {source}")]
    Driver {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: crate::rpm::header::Error,
    },
    /// The driver RPM installs no kernel module.
    #[error(
        "driver RPM {path} ({package}) installs no kernel module \
         (no /lib/modules/<kernel>/**.ko file): not a driver"
    )]
    NoModules {
        /// The file.
        path: PathBuf,
        /// The package's name-version-release.arch.
        package: String,
    },
    /// The driver RPM has the name the control package needs, or an unusable name.
    #[error("driver RPM {path} is named {name:?}, which the driver disk cannot use")]
    NameClash {
        /// The file.
        path: PathBuf,
        /// The name.
        name: String,
    },
    /// The control package could not be built (e.g. a version rpm refuses).
    #[error("building the control package {name}: {source}")]
    Control {
        /// The control package's name.
        name: String,
        /// The cause.
        source: Box<crate::rpm::Error>,
    },
    /// Signing failed.
    #[error("signing {what}: {source}")]
    Sign {
        /// What was being signed.
        what: String,
        /// The cause.
        source: Box<crate::rpm::Error>,
    },
    /// The signing key cannot be loaded.
    #[error("signing key {path}: {reason}")]
    Key {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Bare kernel modules cannot be wrapped into a driver RPM.
    #[error("wrapping kernel modules for driver disk {name}: {reason}")]
    Modules {
        /// The disk's name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// The build time is not usable.
    #[error("build time {time} is out of range for RPM and ISO dates")]
    Time {
        /// Seconds since 1970.
        time: i64,
    },
    /// `SOURCE_DATE_EPOCH` is malformed.
    #[error(transparent)]
    Clock(#[from] clock::BadEpoch),
    /// Repodata could not be generated.
    #[error("repodata: {0}")]
    Repo(#[from] crate::repo::Error),
    /// The image could not be written.
    #[error(transparent)]
    Iso(#[from] crate::iso::Error),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// Loads the `[signing]` key: the armored secret key file, unlocked with the passphrase from the
/// named environment variable (none: an unprotected key).
pub fn load_key(signing: &Signing) -> Result<SigningKey, Error> {
    let path = &signing.key.value;
    let key_err = |reason: String| Error::Key {
        path: path.clone(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| key_err(e.to_string()))?;
    let passphrase = match &signing.passphrase_env {
        None => String::new(),
        Some(var) => std::env::var(&var.value).map_err(|_| {
            key_err(format!(
                "the passphrase variable {} is not set (or not UTF-8)",
                var.value
            ))
        })?,
    };
    SigningKey::from_armored(&text, &passphrase).map_err(|e| key_err(e.to_string()))
}

/// Builds the driver disk `profile` describes at its `[output] iso`. The build time is
/// `SOURCE_DATE_EPOCH`, else 0.
pub fn build(profile: &DriverDiskProfile) -> Result<DiskReport, Error> {
    let dd = &profile.driver_disk;
    let time = clock::build_time(None)?;
    let key = profile.signing.as_ref().map(load_key).transpose()?;
    let workdir = tempfile::Builder::new()
        .prefix("isoremix-ddisk-")
        .tempdir()
        .map_err(|source| Error::Io {
            path: std::env::temp_dir(),
            source,
        })?;
    let driver_rpm = match &dd.source {
        DiskSource::Rpm(path) => path.value.clone(),
        DiskSource::Modules(_) => {
            return Err(Error::Modules {
                name: dd.name.value.clone(),
                reason: "wrapping bare modules is not available yet; give a driver RPM (`rpm =`)"
                    .into(),
            });
        }
    };
    let spec = DiskSpec {
        name: &dd.name.value,
        version: dd.version.as_ref().map(|v| v.value.as_str()),
        description: dd.description.as_ref().map(|v| v.value.as_str()),
        uuid: dd.uuid.as_ref().map(|v| v.value.as_str()),
        driver_rpm: &driver_rpm,
        key: key.as_ref(),
        time,
        workdir: workdir.path(),
    };
    write_disk(&spec, &profile.output.iso)
}
