//! The demo profile's one package, site-tools 1.0-1: the spec `[[packages.build]]` in
//! profiles/demo.toml describes, and the package built from it, for tests that need an RPM to add.

use std::path::{Path, PathBuf};

use isoremix::rpm::{BUILD_HOST, FileSpec, PackageSpec};

/// The file name of the demo package.
pub const DEMO_RPM_NAME: &str = "site-tools-1.0-1.noarch.rpm";

/// The package the demo profile's `[[packages.build]]` describes, built at `time` (every file's
/// time too) as isoremix builds it.
pub fn site_tools_spec(time: u32) -> PackageSpec {
    let mut s = PackageSpec::new("site-tools", "1.0", "1", "noarch", time, BUILD_HOST);
    s.summary = "Site tools for the isoremix demo".into();
    s.description = "A tiny package the demo profile adds to the installer's repository.".into();
    s.license = "MIT".into();
    s.group = "System Environment/Base".into();
    s.vendor = Some("isoremix demo".into());
    s.files.push(FileSpec::new(
        "/usr/bin/site-tool",
        0o755,
        time,
        b"#!/bin/sh\necho site tool from the isoremix demo profile\n".to_vec(),
    ));
    s.files.push(FileSpec::new(
        "/etc/site-tools.conf",
        0o644,
        time,
        b"# site tools configuration\nenabled=1\n".to_vec(),
    ));
    s
}

/// Builds the demo package (at [`super::package::TIME`]) into `dir` (made if missing) as
/// [`DEMO_RPM_NAME`]; returns its path.
pub fn demo_rpm(dir: &Path) -> PathBuf {
    let path = super::package::write(dir, &site_tools_spec(super::package::TIME));
    assert!(path.ends_with(DEMO_RPM_NAME), "{}", path.display());
    path
}
