//! The driver files of a driver RPM: every kernel module under
//! `/lib/modules/<kver>/`, firmware under `/lib/firmware/`, and
//! `/etc/modprobe.d/*` files, read from the payload (a newc cpio archive
//! compressed with gzip, xz, zstd or bzip2) in one pass.
//!
//! Payload paths are never trusted: each is cleaned (no `..`, no empty or
//! `.` components) before it is classified, and anything else in the
//! payload is ignored.

use std::io::Read;

use super::Error;
use super::kver::is_plain_kver;
use crate::initrd::newc::{S_IFLNK, S_IFREG};
use crate::initrd::{self, Reader};
use crate::kmod::{self, MAX_MODULE_SIZE};
use crate::rpm::header::{PackageHeader, read_header};

/// Largest firmware or configuration file taken from a payload.
pub const MAX_FILE_SIZE: u64 = 256 << 20;
/// Largest total of file data taken from one payload.
pub const MAX_TOTAL_SIZE: u64 = 1 << 30;

/// What a driver file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriverFileKind {
    /// A kernel module for kernel `kver`, at `rel` under `/lib/modules/<kver>/`.
    Module {
        /// The kernel release.
        kver: String,
        /// The path under the kernel's module folder (`updates/igc.ko`).
        rel: String,
    },
    /// A file (or symlink) under `/lib/firmware/`.
    Firmware,
    /// A file of `/etc/modprobe.d/`.
    Modprobe,
}

/// One file taken from a driver RPM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverFile {
    /// The cleaned path, relative to `/` (`lib/modules/4.19.0+1/updates/igc.ko`).
    pub path: String,
    /// What it is.
    pub kind: DriverFileKind,
    /// Permission bits.
    pub mode: u32,
    /// The content; for a symlink, the target.
    pub data: Vec<u8>,
    /// True for a symbolic link (firmware only).
    pub symlink: bool,
}

/// The driver files of one RPM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverPayload {
    /// The package's header.
    pub header: PackageHeader,
    /// Its driver files, in payload order.
    pub files: Vec<DriverFile>,
}

impl DriverPayload {
    /// The kernels the package has modules for, sorted, without duplicates.
    pub fn kernels(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .files
            .iter()
            .filter_map(|f| match &f.kind {
                DriverFileKind::Module { kver, .. } => Some(kver.clone()),
                _ => None,
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

/// Cleans an archive path: drops a leading `./` or `/`, `.` and empty
/// components; `None` for a path with `..` or no component.
pub fn clean_path(name: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(name).ok()?;
    let mut parts = Vec::new();
    for part in text.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            p if p.bytes().any(|c| c.is_ascii_control()) => return None,
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        return None;
    }
    Some(parts.join("/"))
}

/// Classifies a cleaned path; `usr/lib/...` counts as `lib/...`.
fn classify(path: &str) -> Option<(String, DriverFileKind)> {
    let path = path.strip_prefix("usr/").unwrap_or(path);
    if let Some(rest) = path.strip_prefix("lib/modules/") {
        let (kver, rel) = rest.split_once('/')?;
        if !is_plain_kver(kver) || !kmod::is_module_path(rel) {
            return None;
        }
        return Some((
            path.to_string(),
            DriverFileKind::Module {
                kver: kver.to_string(),
                rel: rel.to_string(),
            },
        ));
    }
    if path.starts_with("lib/firmware/") {
        return Some((path.to_string(), DriverFileKind::Firmware));
    }
    if let Some(name) = path.strip_prefix("etc/modprobe.d/")
        && !name.contains('/')
    {
        return Some((path.to_string(), DriverFileKind::Modprobe));
    }
    None
}

/// Reads a driver RPM (`file` names it in messages): its header, then its
/// payload once, keeping only driver files. Errors if there is no module.
pub fn read_driver_rpm(file: &str, mut input: impl Read) -> Result<DriverPayload, Error> {
    let header = read_header(&mut input).map_err(|source| Error::RpmHeader {
        file: file.to_string(),
        source: Box::new(source),
    })?;
    let payload_err = |source: initrd::Error| Error::Payload {
        file: file.to_string(),
        source: Box::new(source),
    };
    let mut reader = Reader::new(input);
    let mut files = Vec::new();
    let mut total = 0u64;
    while let Some(entry) = reader.next_entry().map_err(payload_err)? {
        let Some(path) = clean_path(&entry.name) else {
            continue;
        };
        let Some((path, kind)) = classify(&path) else {
            continue;
        };
        let file_type = entry.header.file_type();
        let size = u64::from(entry.header.filesize);
        if file_type == S_IFLNK {
            if kind == DriverFileKind::Firmware {
                files.push(DriverFile {
                    path,
                    kind,
                    mode: 0o777,
                    data: entry.link_target.clone().unwrap_or_default(),
                    symlink: true,
                });
            }
            continue;
        }
        // Directories, devices, and the empty members of a hard-link group
        // (whose data comes with the group's last member) carry no file.
        if file_type != S_IFREG || (size == 0 && entry.header.nlink > 1) {
            continue;
        }
        let limit = match kind {
            DriverFileKind::Module { .. } => MAX_MODULE_SIZE,
            _ => MAX_FILE_SIZE,
        };
        total = total.saturating_add(size);
        if size > limit || total > MAX_TOTAL_SIZE {
            return Err(Error::TooLarge {
                file: file.to_string(),
                entry: path,
                size,
                limit: limit.min(MAX_TOTAL_SIZE),
            });
        }
        let mut data = Vec::with_capacity(size as usize);
        reader
            .data()
            .read_to_end(&mut data)
            .map_err(|e| payload_err(initrd::Error::io(format!("reading {path}"), e)))?;
        files.push(DriverFile {
            path,
            kind,
            mode: entry.header.mode & 0o7777,
            data,
            symlink: false,
        });
    }
    let payload = DriverPayload { header, files };
    if payload.kernels().is_empty() {
        return Err(Error::NoModulesInRpm {
            file: file.to_string(),
        });
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_cleaned_and_classified() {
        assert_eq!(
            clean_path(b"./lib//modules/./x"),
            Some("lib/modules/x".into())
        );
        assert_eq!(clean_path(b"./lib/../etc/passwd"), None);
        assert_eq!(clean_path(b"."), None);
        let (p, k) = classify("usr/lib/modules/4.19.0+1/updates/igc.ko.xz").unwrap();
        assert_eq!(p, "lib/modules/4.19.0+1/updates/igc.ko.xz");
        assert_eq!(
            k,
            DriverFileKind::Module {
                kver: "4.19.0+1".into(),
                rel: "updates/igc.ko.xz".into()
            }
        );
        assert_eq!(classify("lib/modules/4.19.0+1/modules.dep"), None);
        assert_eq!(
            classify("lib/firmware/intel/x.bin").map(|x| x.1),
            Some(DriverFileKind::Firmware)
        );
        assert_eq!(
            classify("etc/modprobe.d/igc.conf").map(|x| x.1),
            Some(DriverFileKind::Modprobe)
        );
        assert_eq!(classify("etc/modprobe.d/a/b.conf"), None);
        assert_eq!(classify("usr/share/doc/igc/README"), None);
    }
}
