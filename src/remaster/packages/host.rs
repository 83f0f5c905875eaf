//! Packages from the host (`[packages] add`, pools, files made by the build): reading them with
//! their digests checked, refusing headers that cannot make a file name, and where they go.

use std::path::Path;

use super::PACKAGES_DIR;
use crate::remaster::error::{PackageFileError, PackageWriteError};
use crate::rpm;
use crate::rpm::header::{PackageFile, PackageHeader, read_package};

/// Where a package goes in the output repository: `Packages/<name>-<version>-<release>.<arch>.rpm`.
pub(super) fn location_of(h: &PackageHeader) -> String {
    format!(
        "{PACKAGES_DIR}/{}-{}-{}.{}.rpm",
        h.name, h.version, h.release, h.arch
    )
}

/// Checks a package from the host: its name, version, release and arch can make a file name,
/// and it is a binary package.
pub(super) fn check_host_header(h: &PackageHeader) -> Result<(), PackageFileError> {
    for (field, value) in [
        ("name", &h.name),
        ("version", &h.version),
        ("release", &h.release),
        ("arch", &h.arch),
    ] {
        if !is_file_name_part(value) {
            return Err(PackageFileError::BadName {
                field,
                value: value.clone(),
            });
        }
    }
    if h.arch == "src" || h.arch == "nosrc" {
        return Err(PackageFileError::SourcePackage);
    }
    Ok(())
}

/// Whether `s` can be part of a package file name: not empty, no path separator, no
/// whitespace or control character, not starting with a dot.
fn is_file_name_part(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('.')
        && !s
            .chars()
            .any(|c| c == '/' || c == '\\' || c.is_whitespace() || c.is_control())
}

/// Reads a package file of the host and checks its digests (header, header and payload,
/// payload): a damaged package is refused, naming the file and the part.
pub(super) fn read_host_package(path: &Path) -> Result<PackageFile, PackageFileError> {
    let open = || {
        crate::input::open(path)
            .map(std::io::BufReader::new)
            .map_err(PackageFileError::Io)
    };
    let package = read_package(open()?).map_err(|e| PackageFileError::NotRpm(Box::new(e)))?;
    rpm::check_digests(&mut open()?).map_err(|e| PackageFileError::Damaged(Box::new(e)))?;
    Ok(package)
}

/// The repodata record of a package this build wrote to `path` (flushed and closed), read back
/// from the file as any host package is, to be listed at `location`.
pub(super) fn record_of_written(
    path: &Path,
    location: &str,
    time: u64,
) -> Result<crate::repo::Record, PackageWriteError> {
    let file = read_host_package(path).map_err(|source| PackageWriteError::ReadBack {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(crate::repo::Record::from_package(
        &file,
        location,
        time,
        Some(crate::repo::DEFAULT_CHANGELOG_LIMIT),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_that_would_make_paths_are_refused() {
        assert!(is_file_name_part("site-tools"));
        assert!(is_file_name_part("1.0"));
        for bad in ["", "..", ".hidden", "a/b", "a\\b", "a b", "a\nb"] {
            assert!(!is_file_name_part(bad), "{bad:?}");
        }
    }
}
