//! `verify` reads the package files with several readers, up to four files side by side in each,
//! shared out a chunk at a time: whatever the number of readers, on an image with faults of every kind the
//! package pass reports (damaged package files on the disk, a package of an entry with
//! gpgcheck on that is not signed, a damaged install.img), the report is the same, every fault
//! is in it once, and the package findings come in primary.xml's order.

use std::fs;
use std::os::unix::fs::FileExt;
use std::path::Path;

use isoremix::iso::{NewContent, SourceIso};
use isoremix::rpm::{FileSpec, PackageSpec, build_package};
use isoremix::verify::{Options, Report, Severity, media_entries, verify};

/// The reader counts compared: one (every file in one reader, up to four side by side), two
/// (this machine's cores), and more readers than some of the work needs.
const READERS: [usize; 4] = [1, 2, 3, 7];

/// The installed package replaced by an unsigned one.
const UNSIGNED: &str = "Packages/sample-docs-1.0-1.xcpng8.3.noarch.rpm";

/// The sample with padding (a package of several chunks, hashed side by side with smaller
/// files) and generated packages (many small files to share out).
fn sample(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("faults.iso");
    let options = isoremix::sample::Options {
        pad_to: Some(9 << 20),
        packages: 24,
        ..isoremix::sample::Options::default()
    };
    isoremix::sample::write(&path, &options).unwrap();
    path
}

/// Flips the bits of one byte of `entry`'s data in the image file, `at` bytes from its start
/// (from its end when negative).
fn damage(iso: &Path, entry: &str, at: i64) {
    let source = SourceIso::open(iso).unwrap();
    let extents = source.extents(entry).unwrap();
    drop(source);
    let len: u64 = extents.iter().map(|e| e.len()).sum();
    let mut offset = if at < 0 {
        len - at.unsigned_abs()
    } else {
        at as u64
    };
    let extent = extents
        .iter()
        .find(|e| {
            let inside = offset < e.len();
            if !inside {
                offset -= e.len();
            }
            inside
        })
        .unwrap_or_else(|| panic!("{entry} has no byte {at}"));
    let file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(iso)
        .unwrap();
    let mut b = [0u8; 1];
    file.read_exact_at(&mut b, extent.offset() + offset)
        .unwrap();
    file.write_all_at(&[!b[0]], extent.offset() + offset)
        .unwrap();
}

fn unsigned_package() -> Vec<u8> {
    let mut spec = PackageSpec::new("sample-docs", "1.0", "1", "noarch", 1_727_740_800, "t");
    spec.files.push(FileSpec::new(
        "/usr/share/doc/sample-docs/README",
        0o644,
        1_727_740_800,
        b"not the signed one\n".to_vec(),
    ));
    let mut out = Vec::new();
    build_package(&spec, &mut out).unwrap();
    out
}

/// The image's packages in primary.xml's order.
fn media_order(source: &SourceIso) -> Vec<String> {
    let repodata = source.read_file("/repodata/repomd.xml").unwrap();
    let repomd = String::from_utf8(repodata).unwrap();
    let href = repomd
        .split("<location href=\"")
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
        .find(|h| h.ends_with("primary.xml.gz"))
        .unwrap()
        .to_string();
    media_entries(&source.read_file(&format!("/{href}")).unwrap())
        .unwrap()
        .into_iter()
        .map(|m| m.href)
        .collect()
}

fn verify_with(source: &SourceIso, readers: usize) -> Report {
    let mut options = Options::full();
    options.threads = readers;
    verify(source, &options)
}

#[test]
fn findings_are_the_same_and_in_order_whatever_the_number_of_readers() {
    let dir = tempfile::tempdir().unwrap();
    let iso = sample(dir.path());
    let source = SourceIso::open(&iso).unwrap();
    let order = media_order(&source);
    drop(source);
    let padding: Vec<&String> = order
        .iter()
        .filter(|h| h.contains("sample-padding-"))
        .collect();
    let generated: Vec<&String> = order
        .iter()
        .filter(|h| !h.contains("sample-padding-") && h.contains("sample-bulk"))
        .collect();
    assert!(!padding.is_empty(), "{order:?}");
    assert!(generated.len() >= 20, "{order:?}");

    // On the disk, read by the readers: the padding package (several chunks long) damaged past
    // its first chunk, and three of the generated ones (one at its first byte, one at its last).
    let mut damaged = vec![padding[0].clone()];
    damage(&iso, &format!("/{}", padding[0]), 3 << 20);
    for (n, at) in [(2, 0), (9, -1), (17, -100)] {
        damage(&iso, &format!("/{}", generated[n]), at);
        damaged.push(generated[n].clone());
    }
    // install.img damaged in the middle of its compressed data.
    let img_len = SourceIso::open(&iso)
        .unwrap()
        .open_file("/install.img")
        .unwrap()
        .len();
    damage(&iso, "/install.img", (img_len / 2) as i64);

    // In the image as edited in memory: an installed package replaced by an unsigned one (the
    // media check fails it too, its size and hash no longer primary.xml's).
    let mut source = SourceIso::open(&iso).unwrap();
    let time = hadris_fs::DateTime::from_unix_seconds(0).unwrap();
    source
        .put_file(
            &format!("/{UNSIGNED}"),
            NewContent::Bytes(unsigned_package()),
            time,
        )
        .unwrap();
    damaged.push(UNSIGNED.to_string());

    let one = verify_with(&source, 1);
    let expected: Vec<&String> = order.iter().filter(|h| damaged.contains(h)).collect();
    let found: Vec<String> = one
        .findings
        .iter()
        .filter(|f| f.check == "packages")
        .map(|f| {
            assert_eq!(f.severity, Severity::Error);
            f.message.split(':').next().unwrap().to_string()
        })
        .collect();
    assert_eq!(
        found.iter().collect::<Vec<_>>(),
        expected,
        "package findings, in primary.xml's order"
    );
    assert!(
        one.findings
            .iter()
            .any(|f| f.check == "install-img" && f.message.contains("cannot be unpacked")),
        "{}",
        one.to_text()
    );
    let unsigned_reason = format!("Package not signed: {UNSIGNED} (gpgcheck is on)");
    let refused: Vec<&str> = one
        .entries
        .iter()
        .flat_map(|e| &e.variants)
        .filter(|v| v.checks.is_some_and(|c| c.gpgcheck))
        .map(|v| {
            assert_eq!(
                v.reasons.iter().filter(|r| **r == unsigned_reason).count(),
                1,
                "{:?}",
                v.reasons
            );
            v.reasons.last().unwrap().as_str()
        })
        .collect();
    assert!(!refused.is_empty(), "{}", one.to_text());
    assert!(!one.installs);

    let first = serde_json::to_string_pretty(&one).unwrap();
    for readers in READERS {
        let report = verify_with(&source, readers);
        assert_eq!(
            serde_json::to_string_pretty(&report).unwrap(),
            first,
            "{readers} readers"
        );
    }
}
