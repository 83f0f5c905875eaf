//! Damaged source images and conflicting profile edits, as a user meets them through the
//! `isoremix` binary: an El Torito entry whose image lies past the end of the file, damaged
//! directory records, and edits of install.img from two profile sections. `inspect` and
//! `extract` still read what is intact; `build` refuses with an error naming the entry, path or
//! profile lines and the cause, exits 1, leaves nothing at or beside the target and leaves the
//! source as it was.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;
use sha2::{Digest, Sha256};

/// The ISO sector size.
const SECTOR: usize = 2048;

/// The source's hash, to show that a refused run leaves it as it was.
fn sha256(path: &Path) -> Vec<u8> {
    Sha256::digest(std::fs::read(path).unwrap()).to_vec()
}

/// The built-in sample source, written into `dir` by `isoremix sample`.
fn sample(dir: &Path) -> PathBuf {
    let iso = dir.join("sample.iso");
    let out = isoremix()
        .args(["sample", "-q"])
        .arg(&iso)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    iso
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

/// Builds from `source` with `body` after the `[source]`/`[output]` tables into `dir/out/new.iso`
/// and asserts a refusal (exit 1) holding every needle, with nothing in `dir/out` and the source
/// unchanged; returns the message.
fn refused_build(dir: &Path, source: &Path, body: &str, needles: &[&str]) -> String {
    let before = sha256(source);
    let out_dir = dir.join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let profile = dir.join("profile.toml");
    std::fs::write(
        &profile,
        format!("[source]\niso = \"builtin:sample\"\n[output]\niso = \"o.iso\"\n{body}"),
    )
    .unwrap();
    let out = isoremix()
        .arg("build")
        .arg(&profile)
        .arg("--source")
        .arg(source)
        .arg("-o")
        .arg(out_dir.join("new.iso"))
        .output()
        .unwrap();
    let msg = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "not refused: {msg}");
    for n in needles {
        assert!(msg.contains(n), "{msg:?} does not mention {n:?}");
    }
    let left: Vec<_> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    assert_eq!(sha256(source), before, "the source changed");
    msg
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
