//! The two kinds of package on a driver disk: the driver RPM (checked to hold kernel modules) and
//! the control package `update-<name>` (built here), which requires the driver at its exact
//! version so that installing the `drivers` or `update` group installs the driver.

use crate::rpm::build::{Dep, DepCmp, PackageSpec};
use crate::rpm::header::{FileKind, PackageHeader};

/// The build host the control package records.
pub use crate::rpm::build::BUILD_HOST;

/// The control package's name for a disk named `name`.
pub fn control_name(name: &str) -> String {
    format!("update-{name}")
}

/// Whether `path` is a kernel module installed under a kernel's module tree
/// (`/lib/modules/<kver>/**.ko`, also compressed, or the same under `/usr`).
pub fn is_module_path(path: &str) -> bool {
    let rest = path
        .strip_prefix("/lib/modules/")
        .or_else(|| path.strip_prefix("/usr/lib/modules/"));
    match rest.and_then(|r| r.split_once('/')) {
        Some((kver, inside)) => !kver.is_empty() && crate::kmod::is_module_path(inside),
        None => false,
    }
}

/// The kernel modules a package installs (regular files only), in header order.
pub fn module_paths(header: &PackageHeader) -> Vec<&str> {
    header
        .files
        .iter()
        .filter(|f| f.kind == FileKind::File && is_module_path(&f.path))
        .map(|f| f.path.as_str())
        .collect()
}

/// Splits a disk version `version[-release]` into the control package's version and release
/// (`1` when the disk version has no release).
pub fn split_version(version: &str) -> (&str, &str) {
    match version.split_once('-') {
        Some((v, r)) if !v.is_empty() && !r.is_empty() => (v, r),
        _ => (version, "1"),
    }
}

/// What the control package says and requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlPackage<'a> {
    /// The disk's name (the control package is `update-<name>`).
    pub name: &'a str,
    /// The disk's version, `version[-release]`.
    pub version: &'a str,
    /// The disk's description.
    pub description: &'a str,
    /// The driver packages, required at their exact epoch, version and release.
    pub drivers: &'a [&'a PackageHeader],
    /// Build time (seconds since 1970).
    pub time: u32,
}

/// The spec of the control package: noarch, no files, `Requires: <driver> = [E:]V-R` for each
/// driver.
pub fn control_spec(c: &ControlPackage<'_>) -> PackageSpec {
    let (version, release) = split_version(c.version);
    let mut spec = PackageSpec::new(
        control_name(c.name),
        version,
        release,
        "noarch",
        c.time,
        BUILD_HOST,
    );
    spec.summary = format!("Driver disk {} {}", c.name, c.version);
    spec.description = c.description.to_string();
    spec.license = "GPLv2".into();
    spec.group = "System Environment/Kernel".into();
    for d in c.drivers {
        let evr = if d.epoch > 0 {
            format!("{}:{}-{}", d.epoch, d.version, d.release)
        } else {
            format!("{}-{}", d.version, d.release)
        };
        spec.requires
            .push(Dep::versioned(d.name.clone(), DepCmp::Eq, evr));
    }
    spec
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_paths_are_recognised() {
        for yes in [
            "/lib/modules/4.19.0+1/updates/igc.ko",
            "/lib/modules/4.19.0+1/extra/net/igc.ko.xz",
            "/usr/lib/modules/6.1.0/updates/igc.ko.zst",
        ] {
            assert!(is_module_path(yes), "{yes}");
        }
        for no in [
            "/lib/modules/igc.ko",
            "/lib/modules/4.19.0+1/updates/.ko",
            "/lib/modules/4.19.0+1/modules.dep",
            "/usr/share/doc/igc.ko",
            "/lib/firmware/igc.ko.txt",
        ] {
            assert!(!is_module_path(no), "{no}");
        }
    }

    #[test]
    fn versions_split_at_the_release_separator() {
        assert_eq!(split_version("5.10.214-1"), ("5.10.214", "1"));
        assert_eq!(split_version("2.3"), ("2.3", "1"));
        assert_eq!(split_version("1.0-2.xcpng8.3"), ("1.0", "2.xcpng8.3"));
    }
}
