//! The `[packages]`, `[treeinfo]` and `[signing]` steps of `isoremix build`, end to end, against
//! referees: createrepo_c (run on the same extracted tree, every package record of primary,
//! filelists and other compared field by field), dnf (queries the new repository and installs
//! the meta-package or the comps group into a temporary root, with gpgcheck on when signed),
//! rpm -K (package signatures) and gpg (repomd.xml.asc). Also: the demo RPM is rebuilt from its
//! spec byte for byte.

use std::fs;
use std::path::{Path, PathBuf};

use isoremix::rpm::build::{FileSpec, PackageSpec, build_package};

/// The committed demo package.
const DEMO_RPM: &str = "profiles/demo/rpms/site-tools-1.0-1.noarch.rpm";
/// The demo package's build time (2024-10-01 00:00 UTC, the sample's).
const DEMO_TIME: u32 = 1_727_740_800;

/// The spec the committed demo RPM was built from.
fn site_tools_spec() -> PackageSpec {
    let mut s = PackageSpec::new(
        "site-tools",
        "1.0",
        "1",
        "noarch",
        DEMO_TIME,
        "demo.isoremix.invalid",
    );
    s.summary = "Site tools for the isoremix demo".into();
    s.description = "A tiny package the demo profile adds to the installer's repository.".into();
    s.license = "MIT".into();
    s.group = "System Environment/Base".into();
    s.vendor = Some("isoremix demo".into());
    s.files.push(FileSpec::new(
        "/usr/bin/site-tool",
        0o755,
        DEMO_TIME,
        b"#!/bin/sh\necho site tool from the isoremix demo profile\n".to_vec(),
    ));
    s.files.push(FileSpec::new(
        "/etc/site-tools.conf",
        0o644,
        DEMO_TIME,
        b"# site tools configuration\nenabled=1\n".to_vec(),
    ));
    s
}

fn manifest(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Rebuilds the demo RPM from its spec; the committed bytes must be identical. With
/// `ISOREMIX_WRITE_DEMO_RPM=1` the file is (re)written instead.
#[test]
fn demo_rpm_is_rebuilt_byte_for_byte_from_its_spec() {
    let mut bytes = Vec::new();
    build_package(&site_tools_spec(), &mut bytes).unwrap();
    let path = manifest(DEMO_RPM);
    if std::env::var_os("ISOREMIX_WRITE_DEMO_RPM").is_some() {
        fs::write(&path, &bytes).unwrap();
    }
    let committed = fs::read(&path).unwrap();
    assert!(
        committed == bytes,
        "{DEMO_RPM} differs from a rebuild of site_tools_spec()"
    );
}
