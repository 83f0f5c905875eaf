//! Assembling a driver disk from plain data: the driver RPM, the control package, repodata with
//! the `update` and `drivers` groups, `update.xml`, the signatures, and the ISO image.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use hadris_fs::{Content, DateTime};
use hadris_iso::{IsoId, IsoLevel, IsoOptions};
use sha2::{Digest, Sha256};

use super::Error;
use super::control::{self, ControlPackage};
use super::update_xml::UpdateInfo;
use super::uuid::derived_uuid;
use crate::iso;
use crate::repo::{self, GroupsFile, Record};
use crate::rpm::build::build_package;
use crate::rpm::header::{self, PackageFile};
use crate::rpm::sign::{SigningKey, sign_package};

/// What `update.xml` tells xapi to do after installing a driver.
pub const AFTER_APPLY_GUIDANCE: &str = "restartHost";

/// Everything a driver disk is made of.
#[derive(Debug, Clone)]
pub struct DiskSpec<'a> {
    /// The disk's name: `update.xml`'s `name-label`; the control package is `update-<name>`.
    pub name: &'a str,
    /// The disk's version; `None`: the driver's `version-release`.
    pub version: Option<&'a str>,
    /// `update.xml`'s `name-description`; `None`: `Driver disk for NAME VERSION`.
    pub description: Option<&'a str>,
    /// `update.xml`'s uuid; `None`: derived from name and version.
    pub uuid: Option<&'a str>,
    /// The driver RPM (must install kernel modules).
    pub driver_rpm: &'a Path,
    /// The key to sign packages, `repomd.xml` and `update.xml` with; `None`: unsigned.
    pub key: Option<&'a SigningKey>,
    /// The build time (seconds since 1970): every date of the disk.
    pub time: i64,
    /// A folder for the signed driver RPM while the image is written.
    pub workdir: &'a Path,
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskReport {
    /// The image.
    pub output: PathBuf,
    /// Its length in bytes.
    pub size: u64,
    /// What `update.xml` says.
    pub update: UpdateInfo,
    /// Package files on the disk (`Packages/...`), sorted.
    pub packages: Vec<String>,
    /// Whether the disk is signed.
    pub signed: bool,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The driver RPM as it goes on the disk: checked, maybe signed, with its file name.
struct Driver {
    package: PackageFile,
    file_name: String,
    content: Content,
}

fn read_driver(spec: &DiskSpec<'_>, time: u32) -> Result<Driver, Error> {
    let path = spec.driver_rpm;
    let read = |p: &Path| {
        header::read_package_file(p).map_err(|source| Error::Driver {
            path: path.to_path_buf(),
            source,
        })
    };
    let package = read(path)?;
    let file = crate::input::open(path).map_err(io_err(path))?;
    crate::rpm::check_digests(&mut BufReader::new(file)).map_err(|source| Error::Damaged {
        path: path.to_path_buf(),
        source: Box::new(source),
    })?;
    let h = &package.header;
    if control::module_paths(h).is_empty() {
        return Err(Error::NoModules {
            path: path.to_path_buf(),
            package: h.nevra(),
        });
    }
    let control = control::control_name(spec.name);
    if h.name == control {
        return Err(Error::NameClash {
            path: path.to_path_buf(),
            name: control,
        });
    }
    let file_name = format!("{}-{}-{}.{}.rpm", h.name, h.version, h.release, h.arch);
    if file_name.contains('/') || file_name.starts_with('.') {
        return Err(Error::NameClash {
            path: path.to_path_buf(),
            name: file_name,
        });
    }
    let Some(key) = spec.key else {
        let content = hadris_fs::host::file(path).map_err(|e| Error::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        })?;
        return Ok(Driver {
            package,
            file_name,
            content,
        });
    };
    // Sign as a stream into the work folder: the driver is never held in memory whole.
    let signed = spec.workdir.join(&file_name);
    {
        let mut input = BufReader::new(crate::input::open(path).map_err(io_err(path))?);
        let mut output = BufWriter::new(File::create(&signed).map_err(io_err(&signed))?);
        sign_package(&mut input, &mut output, key, time).map_err(|source| Error::Sign {
            what: file_name.clone(),
            source: Box::new(source),
        })?;
        output.flush().map_err(io_err(&signed))?;
    }
    let package = read(&signed)?;
    let content = hadris_fs::host::file(&signed).map_err(|e| Error::Io {
        path: signed.clone(),
        source: std::io::Error::other(e.to_string()),
    })?;
    Ok(Driver {
        package,
        file_name,
        content,
    })
}

/// Builds the driver disk `spec` describes and writes it to `out` (which appears only when
/// complete; an existing `out` is replaced only as `existing` says). The same spec gives the
/// same bytes.
pub fn write_disk(
    spec: &DiskSpec<'_>,
    out: &Path,
    existing: iso::Existing,
) -> Result<DiskReport, Error> {
    existing.check(out)?;
    let time32 = u32::try_from(spec.time).map_err(|_| Error::Time { time: spec.time })?;
    let datetime =
        DateTime::from_unix_seconds(spec.time).map_err(|_| Error::Time { time: spec.time })?;
    let driver = read_driver(spec, time32)?;
    let dh = &driver.package.header;
    let version = match spec.version {
        Some(v) => v.to_string(),
        None => format!("{}-{}", dh.version, dh.release),
    };
    let description = spec
        .description
        .map(str::to_string)
        .unwrap_or_else(|| format!("Driver disk for {} {}", spec.name, version));

    // The control package, signed like the driver.
    let control_spec = control::control_spec(&ControlPackage {
        name: spec.name,
        version: &version,
        description: &description,
        drivers: &[dh],
        time: time32,
    });
    let mut control_rpm = Vec::new();
    build_package(&control_spec, &mut control_rpm).map_err(|source| Error::Control {
        name: control_spec.name.clone(),
        source: Box::new(source),
    })?;
    if let Some(key) = spec.key {
        let mut signed = Vec::new();
        sign_package(
            &mut std::io::Cursor::new(&control_rpm),
            &mut signed,
            key,
            time32,
        )
        .map_err(|source| Error::Sign {
            what: control_spec.file_name(),
            source: Box::new(source),
        })?;
        control_rpm = signed;
    }
    let control_pkg =
        header::read_package(control_rpm.as_slice()).map_err(|source| Error::Driver {
            path: PathBuf::from(control_spec.file_name()),
            source,
        })?;

    // Repodata over both packages, with the groups the installer asks for.
    let driver_href = format!("Packages/{}", driver.file_name);
    let control_href = format!("Packages/{}", control_spec.file_name());
    let time64 = u64::from(time32);
    let mut records = vec![
        Record::from_package(
            &driver.package,
            &driver_href,
            time64,
            Some(repo::DEFAULT_CHANGELOG_LIMIT),
        ),
        Record::from_package(
            &control_pkg,
            &control_href,
            time64,
            Some(repo::DEFAULT_CHANGELOG_LIMIT),
        ),
    ];
    repo::sort_records(&mut records);
    let comps = repo::comps::driver_disk_comps(&control_spec.name, &[dh.name.as_str()])?;
    let repodata = repo::write_repodata(
        &records,
        Some(GroupsFile {
            name: "comps.xml",
            xml: &comps,
        }),
        time64,
    )?;

    let uuid = spec
        .uuid
        .map(str::to_string)
        .unwrap_or_else(|| derived_uuid(spec.name, &version));
    let update = UpdateInfo {
        uuid,
        name_label: spec.name.to_string(),
        version: version.clone(),
        key: spec.key.map(key_id).unwrap_or_default(),
        installation_size: dh
            .installed_size
            .saturating_add(control_pkg.header.installed_size),
        after_apply_guidance: AFTER_APPLY_GUIDANCE.into(),
        enforce_homogeneity: false,
        control: control_spec.name.clone(),
        description,
    };
    let update_xml = update.to_xml().into_bytes();

    let mut files: Vec<(String, Content)> = Vec::new();
    let mut packages = vec![driver_href.clone(), control_href.clone()];
    packages.sort();
    if let Some(key) = spec.key {
        let sign = |what: &str, data: &[u8]| {
            key.detached_signature(data, time32)
                .map(String::into_bytes)
                .map_err(|source| Error::Sign {
                    what: what.to_string(),
                    source: Box::new(source),
                })
        };
        files.push((
            "update.xml.asc".into(),
            Content::bytes(sign("update.xml", &update_xml)?),
        ));
        if let Some(repomd) = repodata
            .files
            .iter()
            .find(|f| f.path == "repodata/repomd.xml")
        {
            files.push((
                "repodata/repomd.xml.asc".into(),
                Content::bytes(sign("repodata/repomd.xml", &repomd.bytes)?),
            ));
        }
    }
    files.push(("update.xml".into(), Content::bytes(update_xml)));
    files.push((driver_href, driver.content));
    files.push((control_href, Content::bytes(control_rpm)));
    for f in repodata.files {
        files.push((f.path, Content::bytes(f.bytes)));
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));

    let options = IsoOptions::default()
        .with_id(IsoId::Volume, &volume_id(spec.name))
        .with_id(IsoId::Application, "isoremix driver disk")
        .with_joliet_long()
        .with_rock_ridge()
        .with_level(IsoLevel::L3)
        .with_time(datetime)
        .with_seed(seed(&update));
    if let Some(dir) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    }
    let written = iso::write_fresh(
        files,
        datetime,
        &options,
        out,
        existing,
        &|_, _| {},
        |_, _| Ok(()),
    )?;
    Ok(DiskReport {
        output: out.to_path_buf(),
        size: written.size(),
        update,
        packages,
        signed: spec.key.is_some(),
    })
}

/// The long key id (the last 16 hex digits of the fingerprint, upper case), as gpg shows it.
fn key_id(key: &SigningKey) -> String {
    let fpr = key.fingerprint().to_ascii_uppercase();
    fpr.get(fpr.len().saturating_sub(16)..)
        .unwrap_or(&fpr)
        .to_string()
}

/// The volume id: the disk's name in ISO 9660 d-characters, at most 32.
fn volume_id(name: &str) -> String {
    name.chars()
        .map(|c| match c.to_ascii_uppercase() {
            c @ ('A'..='Z' | '0'..='9' | '_') => c,
            _ => '_',
        })
        .take(32)
        .collect()
}

/// The seed of the image's ids: what the disk is, never the time or the host.
fn seed(update: &UpdateInfo) -> u64 {
    let d = Sha256::digest(update.to_xml().as_bytes());
    let mut b = [0u8; 8];
    for (dst, src) in b.iter_mut().zip(d.iter()) {
        *dst = *src;
    }
    u64::from_le_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_ids_are_d_characters() {
        assert_eq!(volume_id("intel-igc"), "INTEL_IGC");
        assert_eq!(volume_id(&"x".repeat(40)).len(), 32);
    }
}
