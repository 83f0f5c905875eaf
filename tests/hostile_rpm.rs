//! Bad inputs to the RPM layer: files that are not packages, truncated and corrupted headers,
//! absurd sizes, names and paths rpm forbids. Each must give a clear error, never a panic.

use isoremix::rpm::Compression;
use isoremix::rpm::Error;
use isoremix::rpm::SigningKey;
use isoremix::rpm::{Dep, DepCmp, FileSpec, PackageSpec, build_package};
use isoremix::rpm::{NewRelease, RewriteSpec, rewrite_package};

const T: u32 = 1_700_000_000;

fn small_package() -> Vec<u8> {
    let mut spec = PackageSpec::new("meta", "1.0", "1", "noarch", T, "host");
    spec.compression = Compression::Gzip(9);
    spec.requires = vec![Dep::versioned("a", DepCmp::Ge, "1.0")];
    spec.files = vec![FileSpec::new("/etc/meta.conf", 0o644, T, b"x=1\n".to_vec())];
    let mut out = Vec::new();
    build_package(&spec, &mut out).unwrap();
    out
}

fn rewrite(input: &[u8]) -> Result<Vec<u8>, Error> {
    let spec = RewriteSpec {
        release: NewRelease::Set("1.r1".into()),
        add_requires: vec![Dep::any("b")],
        sign: None,
    };
    let mut out = Vec::new();
    rewrite_package(&mut &input[..], &mut out, &spec).map(|_| out)
}

/// Offset of the payload: lead, padded signature header, main header.
fn payload_offset(pkg: &[u8]) -> usize {
    let be = |at: usize| u32::from_be_bytes(pkg[at..at + 4].try_into().unwrap()) as usize;
    let sig_len = 16 + be(96 + 8) * 16 + be(96 + 12);
    let main = 96 + sig_len.next_multiple_of(8);
    main + 16 + be(main + 8) * 16 + be(main + 12)
}

#[test]
fn not_an_rpm_is_named_as_such() {
    for input in [
        &b"\x7fELF"[..],
        &b"<?xml version=\"1.0\"?><repomd/>"[..],
        &[0u8; 200][..],
    ] {
        let err = rewrite(input).unwrap_err();
        assert!(matches!(err, Error::NotAnRpm { .. }), "{err}");
        assert!(err.to_string().contains("not an RPM"), "{err}");
    }
}

#[test]
fn every_truncation_is_an_error() {
    let pkg = small_package();
    let payload = payload_offset(&pkg);
    for cut in 0..pkg.len() {
        let err = match rewrite(&pkg[..cut]) {
            Err(e) => e,
            Ok(_) => panic!("truncated at {cut} of {} accepted", pkg.len()),
        };
        if (4..payload).contains(&cut) {
            assert!(
                matches!(err, Error::Truncated { .. }),
                "cut at {cut}: {err}"
            );
        }
        if cut >= payload {
            assert!(
                err.to_string().contains("payload bytes"),
                "cut at {cut}: {err}"
            );
        }
    }
    assert!(rewrite(&pkg).is_ok());
}

#[test]
fn corrupted_headers_never_panic() {
    let pkg = small_package();
    let end = payload_offset(&pkg);
    for at in 0..end {
        for value in [0x00u8, 0xff, 0x7f, 0x80] {
            let mut bad = pkg.clone();
            if bad[at] == value {
                continue;
            }
            bad[at] = value;
            // Ok or Err, but never a panic or an unbounded allocation.
            let _ = rewrite(&bad);
        }
    }
}

#[test]
fn absurd_header_sizes_are_refused() {
    let pkg = small_package();
    for (field, value) in [(8, u32::MAX), (8, 0), (12, u32::MAX), (12, 0x1000_0001)] {
        let mut bad = pkg.clone();
        bad[96 + field..96 + field + 4].copy_from_slice(&value.to_be_bytes());
        let err = rewrite(&bad).unwrap_err();
        assert!(
            matches!(err, Error::MalformedHeader { .. }),
            "field {field} = {value:#x}: {err}"
        );
    }
    // A data store size that fits the limits but runs past the end of the file.
    let mut bad = pkg.clone();
    bad[96 + 12..96 + 16].copy_from_slice(&0x0fff_0000u32.to_be_bytes());
    assert!(matches!(
        rewrite(&bad).unwrap_err(),
        Error::Truncated { .. }
    ));
}

fn expect_invalid(spec: &PackageSpec, field: &str) {
    let err = build_package(spec, &mut Vec::new()).unwrap_err();
    match &err {
        Error::InvalidField { field: f, .. } => assert_eq!(*f, field, "{err}"),
        other => panic!("expected invalid {field}, got {other}"),
    }
}

#[test]
fn forbidden_names_and_paths_are_refused() {
    let base = PackageSpec::new("ok", "1.0", "1", "noarch", T, "host");
    for name in [
        "bad name",
        "bad/name",
        "-dash",
        "",
        "caf\u{e9}",
        "a\nb",
        "x<y",
    ] {
        let mut s = base.clone();
        s.name = name.into();
        expect_invalid(&s, "package name");
    }
    for version in ["1.0-2", "1 0", "", "1:0"] {
        let mut s = base.clone();
        s.version = version.into();
        expect_invalid(&s, "version");
    }
    let mut s = base.clone();
    s.release = "1-2".into();
    expect_invalid(&s, "release");
    let mut s = base.clone();
    s.requires = vec![Dep::any("two words")];
    expect_invalid(&s, "dependency name");
    let mut s = base.clone();
    s.requires = vec![Dep::versioned("pkg", DepCmp::Ge, "1.0-2-3")];
    expect_invalid(&s, "version");
    for path in ["relative/file", "/a/../etc/passwd", "/a//b", "/", "/a/./b"] {
        let mut s = base.clone();
        s.files = vec![FileSpec::new(path, 0o644, T, Vec::new())];
        expect_invalid(&s, "file path");
    }
    let mut s = base.clone();
    s.summary = "two\nlines".into();
    expect_invalid(&s, "summary");

    let mut s = base.clone();
    s.files = vec![
        FileSpec::new("/etc/x", 0o644, T, Vec::new()),
        FileSpec::new("/etc/x", 0o600, T, Vec::new()),
    ];
    assert!(matches!(
        build_package(&s, &mut Vec::new()).unwrap_err(),
        Error::DuplicatePath { .. }
    ));
}

#[test]
fn forbidden_rewrite_release_is_refused() {
    let pkg = small_package();
    let spec = RewriteSpec {
        release: NewRelease::Set("1-remix".into()),
        add_requires: Vec::new(),
        sign: None,
    };
    let err = rewrite_package(&mut &pkg[..], &mut Vec::new(), &spec).unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidField {
                field: "release",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn garbage_keys_are_refused() {
    for armored in [
        "",
        "not a key",
        "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nAAAA\n-----END PGP PRIVATE KEY BLOCK-----\n",
    ] {
        let err = SigningKey::from_armored(armored, "").unwrap_err();
        assert!(matches!(err, Error::Key { .. }), "{err}");
    }
}

#[test]
fn tampered_header_or_payload_is_detected() {
    let pkg = small_package();
    let payload = payload_offset(&pkg);
    // The summary text sits in the main header's data store; change one letter of it.
    let at = pkg
        .windows(4)
        .rposition(|w| w == b"meta")
        .filter(|&i| i < payload)
        .expect("package name in the main header");
    let mut bad = pkg.clone();
    bad[at] = b'M';
    let err = rewrite(&bad).unwrap_err();
    assert!(
        matches!(
            err,
            Error::DigestMismatch {
                part: "main header",
                ..
            }
        ),
        "{err}"
    );

    // Flip a bit in the compressed payload.
    let mut bad = pkg.clone();
    let last = bad.len() - 10;
    bad[last] ^= 0x01;
    let err = rewrite(&bad).unwrap_err();
    assert!(
        matches!(
            err,
            Error::DigestMismatch {
                part: "payload",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn oversized_or_badly_named_padding_is_refused() {
    use isoremix::rpm::{PaddingSpec, build_padding_package};
    let ok = PaddingSpec {
        name: "pad".into(),
        version: "1".into(),
        release: "1".into(),
        size: 1,
        seed: 0,
    };
    for (spec, field) in [
        (
            PaddingSpec {
                size: 5 << 30,
                ..ok.clone()
            },
            "padding size",
        ),
        (
            PaddingSpec {
                name: "pad/../x".into(),
                ..ok.clone()
            },
            "package name",
        ),
    ] {
        let mut out = Vec::new();
        match build_padding_package(&spec, T, "host", &mut out) {
            Err(Error::InvalidField { field: f, .. }) => assert_eq!(f, field),
            other => panic!("expected invalid {field}, got {other:?}"),
        }
        assert!(out.is_empty(), "output written before the spec was checked");
    }
}
