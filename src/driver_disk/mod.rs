//! Driver disks for the XCP-ng 8.3 installer (`isoremix driver-disk`): a small ISO that the
//! installer loads before it looks for disks and NICs (F9 / "Load driver", `<driver-source>` in
//! an answer file, `extrarepo=`), installs into its own root with `yum install @drivers`, and
//! installs again on the new host.
//!
//! The image root holds:
//! - `update.xml` (`update_xml`): uuid, `name-label`, version, `control="update-<name>"`...;
//! - `Packages/`: the driver RPM and the control package `update-<name>` (`control`), which
//!   requires the driver at its exact version;
//! - `repodata/` with the comps groups `update` and `drivers`, each with `update-<name>` as
//!   mandatory;
//! - with a signing key: signed packages, `repodata/repomd.xml.asc` and `update.xml.asc`.
//!
//! [`disk::write_disk`] does the work from plain data; [`build`] maps a profile onto it,
//! wrapping bare kernel modules into a driver RPM first (`crate::driver::wrap`).

pub(crate) mod control;
pub(crate) mod disk;
pub(crate) mod recognise;
pub(crate) mod update_xml;
pub(crate) mod uuid;

use std::path::{Path, PathBuf};

pub use disk::{DiskReport, DiskSpec, write_disk};
pub use recognise::{DiskInfo, recognise};
pub use update_xml::UpdateInfo;

use crate::clock;
use crate::driver::kver::vermagic_release;
use crate::driver::wrap::{WrapSpec, wrap_modules};
use crate::iso;
use crate::kmod::{MAX_MODULE_SIZE, ModuleInfo};
use crate::profile::{DiskSource, DriverDisk, DriverDiskProfile, ModuleSet};

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
    /// The driver RPM's digests do not match its content.
    #[error("driver RPM {path}: damaged or tampered package: {source}")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// The digest that does not match.
        source: Box<crate::rpm::Error>,
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
    #[error(transparent)]
    Key(#[from] crate::rpm::sign::KeyFileError),
    /// Bare kernel modules cannot be wrapped into a driver RPM.
    #[error("wrapping kernel modules for driver disk {name}: {source}")]
    Wrap {
        /// The disk's name.
        name: String,
        /// The cause.
        source: Box<crate::driver::Error>,
    },
    /// A kernel module file is too large to be one.
    #[error("kernel module {path} is {size} bytes, more than any module")]
    ModuleTooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
    },
    /// No kernel version is given and the first module names none in its vermagic.
    #[error("kernel module {path} has no vermagic: give `kernel` in [driver_disk]")]
    NoKernel {
        /// The module file.
        path: PathBuf,
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

/// Wraps the bare modules of `set` into the driver RPM `<name>-<version>-<release>.x86_64.rpm`
/// (version and release from the disk's version, else the modules' `modinfo` version and
/// release 1) for the profile's kernel, else the first module's vermagic kernel. Returns the
/// package file, written in `workdir/wrapped` (unsigned: [`write_disk`] signs it).
fn wrap(dd: &DriverDisk, set: &ModuleSet, time: i64, workdir: &Path) -> Result<PathBuf, Error> {
    let wrap_err = |source: crate::driver::Error| Error::Wrap {
        name: dd.name.value.clone(),
        source: Box::new(source),
    };
    let mut modules = Vec::with_capacity(set.ko.len());
    for ko in &set.ko {
        let path = &ko.value;
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        let size = std::fs::metadata(path).map_err(io)?.len();
        if size > MAX_MODULE_SIZE {
            return Err(Error::ModuleTooLarge {
                path: path.clone(),
                size,
            });
        }
        let data = crate::input::read(path).map_err(io)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        modules.push((path, name, data));
    }
    let kver = match (&set.kernel, modules.first()) {
        (Some(k), _) => k.value.clone(),
        (None, Some((path, name, data))) => {
            let info = ModuleInfo::parse(name, data).map_err(|source| {
                wrap_err(crate::driver::Error::Module {
                    file: name.clone(),
                    source: Box::new(source),
                })
            })?;
            match info.vermagic().map(vermagic_release) {
                Some(k) if !k.is_empty() => k.to_string(),
                _ => {
                    return Err(Error::NoKernel {
                        path: (*path).clone(),
                    });
                }
            }
        }
        (None, None) => return Err(wrap_err(crate::driver::Error::NoModules)),
    };
    let (version, release) = match &dd.version {
        Some(v) => {
            let (v, r) = control::split_version(&v.value);
            (Some(v), r)
        }
        None => (None, "1"),
    };
    let files: Vec<(String, Vec<u8>)> = modules
        .into_iter()
        .map(|(_, name, data)| (name, data))
        .collect();
    let wrapped = wrap_modules(&WrapSpec {
        name: &dd.name.value,
        version,
        release,
        kver: &kver,
        dir: set.dir.as_str(),
        modules: &files,
        force: dd.force,
        build_time: u32::try_from(time).map_err(|_| Error::Time { time })?,
        build_host: control::BUILD_HOST,
    })
    .map_err(wrap_err)?;
    // In a folder of its own: the signed copy goes to the work folder under the same name.
    let dir = workdir.join("wrapped");
    let path = dir.join(&wrapped.file_name);
    std::fs::create_dir_all(&dir)
        .and_then(|_| std::fs::write(&path, &wrapped.rpm))
        .map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
    Ok(path)
}

/// Builds the driver disk `profile` describes at its `[output] iso`, replacing an existing
/// file there only as `existing` says. The build time is `SOURCE_DATE_EPOCH`, else 0.
pub fn build(profile: &DriverDiskProfile, existing: iso::Existing) -> Result<DiskReport, Error> {
    existing.check(&profile.output.iso)?;
    let dd = &profile.driver_disk;
    let time = clock::build_time(None)?;
    let key = profile
        .signing
        .as_ref()
        .map(|s| {
            crate::rpm::sign::load_key_file(
                &s.key.value,
                s.passphrase_env.as_ref().map(|v| v.value.as_str()),
            )
        })
        .transpose()?;
    let workdir = crate::partial::WorkDir::new().map_err(|source| Error::Io {
        path: std::env::temp_dir(),
        source,
    })?;
    let wrapped;
    let driver_rpm = match &dd.source {
        DiskSource::Rpm(path) => &path.value,
        DiskSource::Modules(set) => {
            wrapped = wrap(dd, set, time, workdir.path())?;
            &wrapped
        }
    };
    let spec = DiskSpec {
        name: &dd.name.value,
        version: dd.version.as_ref().map(|v| v.value.as_str()),
        description: dd.description.as_ref().map(|v| v.value.as_str()),
        uuid: dd.uuid.as_ref().map(|v| v.value.as_str()),
        driver_rpm,
        key: key.as_ref(),
        time,
        workdir: workdir.path(),
    };
    write_disk(&spec, &profile.output.iso, existing)
}
