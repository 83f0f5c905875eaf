//! Bad inputs give clear errors, never panics: files that are not RPMs, truncated and corrupted
//! headers, two packages with the same name and architecture, comps that is not XML, repodata
//! that does not match its repomd.xml or points outside the repository.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::rpmbuild::{Spec, build_rpm};
use isoremix::repo::{self, GroupsFile, PackageJob, Record};
use isoremix::rpm::Error as RpmError;
use isoremix::rpm::HeaderError;
use isoremix::rpm::{read_header, read_package};

fn spec(name: &'static str, version: &str) -> Spec {
    Spec {
        name,
        body: format!(
            "Version: {version}\nRelease: 1\nSummary: s\nLicense: MIT\nBuildArch: noarch\nAutoReqProv: no\n\
%description\nd\n%install\nmkdir -p %{{buildroot}}/usr/share/{name}\necho x > %{{buildroot}}/usr/share/{name}/f\n\
%files\n/usr/share/{name}/f\n"
        ),
    }
}

/// Whether `err` is the RPM layer's error `wanted` says it is.
fn format_error(err: &HeaderError, wanted: impl Fn(&RpmError) -> bool) -> bool {
    matches!(err, HeaderError::Format(e) if wanted(e))
}

/// Whether reading the headers of `bytes` fails with the RPM layer's error `wanted` says.
fn rpm_error(bytes: &[u8], wanted: impl Fn(&RpmError) -> bool) -> bool {
    read_header(bytes).is_err_and(|e| format_error(&e, wanted))
}

fn one_rpm(work: &Path) -> Vec<u8> {
    fs::read(build_rpm(&work.join("b"), &spec("victim", "1.0"))).unwrap()
}

#[test]
fn a_file_that_is_not_an_rpm_is_rejected() {
    let err = read_package(&b"#!/bin/sh\necho this is a script, not a package\n".repeat(10)[..])
        .unwrap_err();
    assert!(
        format_error(&err, |e| matches!(e, RpmError::NotAnRpm { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("not an RPM"));
    let err = read_package(&b""[..]).unwrap_err();
    assert!(
        format_error(&err, |e| matches!(e, RpmError::Truncated { part: "lead" })),
        "{err}"
    );

    // Through the repository layer the error names the package.
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("fake.rpm");
    fs::write(&path, b"PK\x03\x04 a zip file").unwrap();
    let jobs = [PackageJob {
        path: path.clone(),
        location_href: "Packages/fake.rpm".into(),
        time_file: 0,
    }];
    let results = repo::read_records(&jobs, 2, None, |j| fs::File::open(&j.path));
    let err = results.into_iter().next().unwrap().unwrap_err();
    assert!(err.to_string().contains("Packages/fake.rpm"), "{err}");
}

#[test]
fn truncated_headers_are_rejected_at_every_length() {
    let work = tempfile::tempdir().unwrap();
    let rpm = one_rpm(work.path());
    let full = read_package(&rpm[..]).unwrap();
    let end = full.header.header_end as usize;
    for len in (0..end).step_by(7).chain([end - 1, 96, 111, 112]) {
        match read_header(&rpm[..len]) {
            Err(e) if format_error(&e, |e| matches!(e, RpmError::Truncated { .. })) => {}
            other => panic!("length {len}: expected a truncation error, got {other:?}"),
        }
    }
    // Cutting the payload only changes size and checksum, the header is still readable.
    let cut = read_package(&rpm[..end + 10]).unwrap();
    assert_eq!(cut.header, full.header);
    assert_ne!(cut.sha256, full.sha256);
}

#[test]
fn corrupted_header_fields_give_errors_not_panics() {
    let work = tempfile::tempdir().unwrap();
    let rpm = one_rpm(work.path());
    let full = read_package(&rpm[..]).unwrap();
    let start = full.header.header_start as usize;

    // Header magic.
    let mut bad = rpm.clone();
    bad[start] ^= 0xff;
    assert!(rpm_error(&bad, |e| matches!(
        e,
        RpmError::MalformedHeader {
            part: "main header",
            ..
        }
    )));

    // Absurd sizes: no huge allocation, a clear error.
    let mut bad = rpm.clone();
    bad[start + 8..start + 12].copy_from_slice(&0x7fff_ffffu32.to_be_bytes());
    assert!(rpm_error(&bad, |e| matches!(
        e,
        RpmError::MalformedHeader { .. }
    )));
    let mut bad = rpm.clone();
    bad[start + 12..start + 16].copy_from_slice(&0x0fff_0000u32.to_be_bytes());
    assert!(rpm_error(&bad, |e| matches!(e, RpmError::Truncated { .. })));

    // An index entry whose offset points past the data store.
    let mut bad = rpm.clone();
    let first_entry = start + 16 + 16; // second entry (after the region tag)
    bad[first_entry + 8..first_entry + 12].copy_from_slice(&0x00ff_ffffu32.to_be_bytes());
    assert!(rpm_error(&bad, |e| matches!(
        e,
        RpmError::MalformedHeader { .. }
    )));

    // Every single-byte corruption of the index: an error or a header, never a panic.
    let entries = u32::from_be_bytes(rpm[start + 8..start + 12].try_into().unwrap()) as usize;
    for at in start + 16..start + 16 + entries * 16 {
        for value in [0x00u8, 0xff, 0x80] {
            let mut bad = rpm.clone();
            bad[at] = value;
            let _ = read_header(&bad[..]);
        }
    }
}

#[test]
fn two_packages_with_the_same_name_and_arch_are_an_error() {
    let work = tempfile::tempdir().unwrap();
    let a = build_rpm(&work.path().join("a"), &spec("twin", "1.0"));
    let b = build_rpm(&work.path().join("b"), &spec("twin", "2.0"));
    let jobs: Vec<PackageJob> = [a, b]
        .into_iter()
        .map(|path: PathBuf| PackageJob {
            location_href: format!("Packages/{}", path.file_name().unwrap().to_str().unwrap()),
            path,
            time_file: 0,
        })
        .collect();
    let records: Vec<Record> = repo::read_records(&jobs, 2, None, |j| fs::File::open(&j.path))
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap();
    let err = repo::write_repodata(&records, None, 0).unwrap_err();
    assert!(matches!(err, repo::Error::DuplicatePackage { .. }), "{err}");
    assert!(err.to_string().contains("twin.noarch"), "{err}");

    // The same location twice is an error too.
    let twice = vec![records[0].clone(), records[0].clone()];
    assert!(matches!(
        repo::write_repodata(&twice, None, 0),
        Err(repo::Error::DuplicateLocation { .. })
    ));

    // And a location that leaves the repository.
    let mut escape = records[0].clone();
    escape.location_href = "../etc/passwd".into();
    assert!(matches!(
        repo::write_repodata(&[escape], None, 0),
        Err(repo::Error::UnsafeLocation { .. })
    ));
}

#[test]
fn comps_that_is_not_xml_is_an_error() {
    for bad in [
        &b"this is not xml at all"[..],
        b"<comps><group><id>x</id>",
        b"<notcomps/>",
        b"<comps><group></comps>",
        b"\x00\x01\x02",
    ] {
        assert!(
            repo::parse_groups(bad).is_err(),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
        let err = repo::write_repodata(
            &[],
            Some(GroupsFile {
                name: "comps.xml",
                xml: bad,
            }),
            0,
        )
        .unwrap_err();
        assert!(matches!(err, repo::Error::BadXml { .. }), "{err}");
        assert!(repo::add_packages(bad, "x", &["p"], repo::ReqKind::Mandatory).is_err());
    }
    let ok = b"<comps><group><id>x</id></group></comps>";
    assert!(matches!(
        repo::add_packages(ok, "y", &["p"], repo::ReqKind::Mandatory),
        Err(repo::Error::GroupNotFound { .. })
    ));
    assert!(repo::add_packages(ok, "x", &["bad name"], repo::ReqKind::Mandatory).is_err());
}

#[test]
fn repodata_that_does_not_match_repomd_is_an_error() {
    let work = tempfile::tempdir().unwrap();
    let files = repo::write_repodata(&[], None, 1).unwrap();
    let root = work.path();
    files.write_to_dir(root).unwrap();
    assert!(repo::read_repo_dir(root).unwrap().is_empty());

    // Tamper with primary: checksum (and size) mismatch.
    let primary = root.join(&files.repomd.record("primary").unwrap().location_href);
    let mut bytes = fs::read(&primary).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    fs::write(&primary, &bytes).unwrap();
    let err = repo::read_repo_dir(root).unwrap_err();
    assert!(
        matches!(
            err,
            repo::Error::Mismatch {
                what: "checksum",
                ..
            }
        ),
        "{err}"
    );

    // repomd.xml pointing outside the repository.
    let repomd = fs::read_to_string(root.join("repodata/repomd.xml")).unwrap();
    let href = files
        .repomd
        .record("primary")
        .unwrap()
        .location_href
        .clone();
    fs::write(
        root.join("repodata/repomd.xml"),
        repomd.replace(&href, "../../etc/passwd"),
    )
    .unwrap();
    let err = repo::read_repo_dir(root).unwrap_err();
    assert!(matches!(err, repo::Error::UnsafeLocation { .. }), "{err}");

    // repomd.xml that is not XML, or lacks primary.
    fs::write(root.join("repodata/repomd.xml"), "garbage").unwrap();
    assert!(repo::read_repo_dir(root).is_err());
    fs::write(root.join("repodata/repomd.xml"), "<repomd></repomd>").unwrap();
    assert!(matches!(
        repo::read_repo_dir(root),
        Err(repo::Error::MissingData { .. })
    ));
}
