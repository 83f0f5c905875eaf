//! Damaged source images and conflicting profile edits, as a user meets them through the
//! `isoremix` binary: an El Torito entry whose image lies past the end of the file, damaged
//! directory records, and edits of install.img from two profile sections. `inspect` and
//! `extract` still read what is intact; `build` refuses with an error naming the entry, path or
//! profile lines and the cause, exits 1, leaves nothing at or beside the target and leaves the
//! source as it was.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::refusal::{profile, refused, sha256};
use common::*;

/// The ISO sector size.
const SECTOR: usize = 2048;

/// The built-in sample source, written into `dir` by `isoremix sample`.
fn sample(dir: &Path) -> PathBuf {
    isoremix_ok(dir, &["sample", "-q", "sample.iso"]);
    dir.join("sample.iso")
}

fn le32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

/// The sample with `patch` applied to its bytes, written as `name` in `dir`.
fn patched(dir: &Path, name: &str, patch: impl FnOnce(&mut Vec<u8>)) -> PathBuf {
    let mut bytes = std::fs::read(sample(dir)).unwrap();
    patch(&mut bytes);
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A sample whose first El Torito entry (BIOS) loads from `block`; returns the image and the
/// file's length.
fn boot_entry_at(dir: &Path, block: u32) -> (PathBuf, usize) {
    let mut len = 0;
    let iso = patched(dir, "bad-boot.iso", |bytes| {
        len = bytes.len();
        let descriptor = 17 * SECTOR;
        assert_eq!(
            &bytes[descriptor + 7..descriptor + 30],
            b"EL TORITO SPECIFICATION"
        );
        let catalog = le32(bytes, descriptor + 71) as usize * SECTOR;
        let entry = catalog + 32;
        assert_eq!(bytes[entry], 0x88, "entry 1 is bootable");
        bytes[entry + 8..entry + 12].copy_from_slice(&block.to_le_bytes());
    });
    (iso, len)
}

/// Runs `isoremix` with `args` (strings or paths).
fn run(args: &[&std::ffi::OsStr]) -> Output {
    isoremix().args(args).output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Builds from `source` with `body` after the `[source]`/`[output]` tables and asserts the
/// refusal (see `common::refusal`); returns the message.
fn refused_build(dir: &Path, source: &Path, body: &str, needles: &[&str]) -> String {
    refused(dir, &profile(body), source, needles)
}

#[test]
fn hostile_boot_entry_past_the_end_is_named_and_only_blocks_build() {
    let dir = tempfile::tempdir().unwrap();
    let block = 1_000_000u32;
    let (iso, len) = boot_entry_at(dir.path(), block);
    let before = sha256(&iso);
    let start = u64::from(block) * SECTOR as u64;
    let cause = format!(
        "El Torito entry 1 (BIOS): its image (block {block}, bytes {start}..{}) lies past the end of the file ({len} bytes)",
        start + 4 * 512
    );

    // inspect shows the rest and flags the entry.
    let out = run(&["inspect".as_ref(), iso.as_os_str()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(text.contains(&format!("damaged: {cause}")), "{text}");
    assert!(
        text.contains("UEFI from CD"),
        "the intact entry is shown: {text}"
    );
    assert!(text.contains("install.img"), "the tree is shown: {text}");

    // extract extracts the tree and warns about the entry.
    let tree = dir.path().join("tree");
    let out = run(&["extract".as_ref(), iso.as_os_str(), tree.as_os_str()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains(&cause), "{}", stderr(&out));
    assert!(tree.join("install.img").is_file());
    assert!(tree.join("boot/isolinux/isolinux.bin").is_file());
    assert_eq!(sha256(&iso), before);

    // build refuses with the same words, before any work.
    let msg = refused_build(dir.path(), &iso, "", &[&cause]);
    assert!(msg.contains("bad-boot.iso"), "{msg}");
    assert!(!msg.contains("failed to fill whole buffer"), "{msg}");
}

/// The directory records of the directory whose extent starts at `block` and is `len` bytes
/// long: each record's byte offset in the image, with its ISO 9660 name.
fn records(bytes: &[u8], block: u32, len: u32) -> Vec<(usize, Vec<u8>)> {
    let mut at = block as usize * SECTOR;
    let end = at + len as usize;
    let mut out = Vec::new();
    while at < end {
        let size = bytes[at] as usize;
        if size == 0 {
            at = (at / SECTOR + 1) * SECTOR;
            continue;
        }
        let name_len = bytes[at + 32] as usize;
        out.push((at, bytes[at + 33..at + 33 + name_len].to_vec()));
        at += size;
    }
    out
}

/// The extent (first block, length) of the sample's /repodata.
fn repodata(bytes: &[u8]) -> (u32, u32) {
    let root = 16 * SECTOR + 156;
    let (block, len) = (le32(bytes, root + 2), le32(bytes, root + 10));
    let (at, _) = records(bytes, block, len)
        .into_iter()
        .find(|(_, name)| name == b"REPODATA")
        .expect("the sample has /REPODATA");
    (le32(bytes, at + 2), le32(bytes, at + 10))
}

/// The byte offset of the `index`th record (after `.` and `..`) of the sample's /repodata.
fn repodata_record(bytes: &[u8], index: usize) -> usize {
    let (block, len) = repodata(bytes);
    records(bytes, block, len)[2 + index].0
}

/// Asserts that `inspect`, `extract` and `build` of `iso` all refuse with the `needles`, and
/// that the refusals leave no folder, no output and the source as it was.
fn unreadable(dir: &Path, iso: &Path, needles: &[&str]) {
    let before = sha256(iso);
    let tree = dir.join("tree");
    for args in [
        vec!["inspect".as_ref(), iso.as_os_str()],
        vec!["extract".as_ref(), iso.as_os_str(), tree.as_os_str()],
    ] {
        let out = run(&args);
        let msg = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "not refused: {msg}");
        for n in needles {
            assert!(msg.contains(n), "{msg:?} does not mention {n:?}");
        }
        assert!(!tree.exists(), "extract left a folder");
    }
    refused_build(dir, iso, "", needles);
    assert_eq!(sha256(iso), before);
}

#[test]
fn hostile_directory_record_damage_names_the_directory() {
    // (which record of /repodata, which of its bytes becomes what, what the error says besides
    // the path): a name longer than the record, a record too short for its header.
    let cases = [
        (0, 32, 250, "invalid directory record at its first entry"),
        (0, 0, 10, "invalid directory record at its first entry"),
        (
            1,
            32,
            250,
            "invalid directory record after the entry \"517f4d4a",
        ),
    ];
    for (index, byte, value, cause) in cases {
        let dir = tempfile::tempdir().unwrap();
        let iso = patched(dir.path(), "bad-dir.iso", |bytes| {
            let at = repodata_record(bytes, index);
            bytes[at + byte] = value;
        });
        let records_at = repodata(&std::fs::read(&iso).unwrap()).0 as usize * SECTOR;
        let start = format!("(its records start at byte {records_at})");
        unreadable(
            dir.path(),
            &iso,
            &["bad-dir.iso", "/repodata: ", cause, &start],
        );
    }
}

#[test]
fn hostile_directory_loop_names_the_entry_and_the_directory_it_repeats() {
    let dir = tempfile::tempdir().unwrap();
    let iso = patched(dir.path(), "loop.iso", |bytes| {
        let root = 16 * SECTOR + 156;
        let root_block = le32(bytes, root + 2);
        // The first file of /repodata becomes a directory whose extent is the root's.
        let at = repodata_record(bytes, 0);
        bytes[at + 25] = 2;
        bytes[at + 2..at + 6].copy_from_slice(&root_block.to_le_bytes());
        bytes[at + 6..at + 10].copy_from_slice(&root_block.to_be_bytes());
        bytes[at + 10..at + 14].copy_from_slice(&(SECTOR as u32).to_le_bytes());
        bytes[at + 14..at + 18].copy_from_slice(&(SECTOR as u32).to_be_bytes());
    });
    unreadable(
        dir.path(),
        &iso,
        &[
            "loop.iso",
            "/repodata/517f4d4a",
            "is the directory / again (the directories loop)",
        ],
    );
}

#[test]
fn hostile_install_img_replaced_by_iso_and_edited_by_installer_names_both_lines() {
    let dir = tempfile::tempdir().unwrap();
    let source = sample(dir.path());
    std::fs::write(dir.path().join("x.txt"), "x\n").unwrap();
    // (the [iso] line, the installer line, the two locations the error names)
    let cases = [
        (
            "[[iso.files]]\nsrc = \"x.txt\"\ndest = \"/install.img\"\n",
            "[installer]\nremove = [\"/etc/x\"]\n",
            "[installer] remove `/etc/x` conflicts with [[iso.files]] dest `/install.img` at ",
        ),
        (
            "[iso]\nremove = [\"/install.img\"]\n",
            "[[installer.files]]\nsrc = \"x.txt\"\ndest = \"/etc/x\"\n",
            "[[installer.files]] dest `/etc/x` conflicts with [iso] remove `/install.img` at ",
        ),
    ];
    for (iso, installer, needle) in cases {
        let msg = refused_build(dir.path(), &source, &format!("{iso}{installer}"), &[needle]);
        assert!(msg.contains("profile.toml:"), "{msg}");
        assert!(
            msg.contains("install.img cannot be both replaced or removed and edited"),
            "{msg}"
        );
    }
}
