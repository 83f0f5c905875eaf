//! Bad install.img inputs, bad edits, bad patches and bad answer files: each must be a clear
//! error naming what it is about, never a panic or a huge allocation.

mod common;

use common::initrd::newc_archive;
use isoremix::answerfile;
use isoremix::initrd::compress;
use isoremix::initrd::{self, Compression, Edits, Tree};
use isoremix::initrd::{NewcHeader as Header, S_IFDIR, S_IFLNK, S_IFREG};
use isoremix::patch::Patch;

fn file(name: &[u8], data: &[u8]) -> (Header, Vec<u8>, Vec<u8>) {
    let h = Header {
        mode: S_IFREG | 0o644,
        nlink: 1,
        ..Header::default()
    };
    (h, name.to_vec(), data.to_vec())
}

fn dir(name: &[u8]) -> (Header, Vec<u8>, Vec<u8>) {
    let h = Header {
        mode: S_IFDIR | 0o755,
        nlink: 2,
        ..Header::default()
    };
    (h, name.to_vec(), Vec::new())
}

fn err_of(image: &[u8]) -> String {
    match Tree::read(image) {
        Ok(_) => panic!("image accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn truncated_bzip2_stream() {
    let a = newc_archive(&[dir(b"etc"), file(b"etc/x", &[7u8; 5000])]);
    let image = compress(Compression::Bzip2, &a).unwrap();
    let cut = &image[..image.len() / 2];
    let msg = err_of(cut);
    assert!(msg.contains("bzip2 segment at image offset 0"), "{msg}");
}

#[test]
fn garbage_after_the_last_archive() {
    let mut image = compress(Compression::Gzip, &newc_archive(&[file(b"a", b"1")])).unwrap();
    let at = image.len();
    image.extend_from_slice(b"\0\0GARBAGE");
    let msg = err_of(&image);
    assert!(
        msg.contains(&format!("unknown data at image offset {}", at + 2)),
        "{msg}"
    );
}

#[test]
fn unsupported_compression_is_named() {
    let mut image = compress(Compression::Bzip2, &newc_archive(&[file(b"a", b"1")])).unwrap();
    let at = image.len();
    image.extend_from_slice(&[0x02, 0x21, 0x4c, 0x18, 0, 0]);
    let msg = err_of(&image);
    assert!(
        msg.contains(&format!("lz4-compressed segment at image offset {at}")),
        "{msg}"
    );
}

#[test]
fn junk_inside_a_compressed_stream() {
    let mut a = newc_archive(&[file(b"a", b"1")]);
    a.extend_from_slice(b"JUNK");
    let image = compress(Compression::Xz, &a).unwrap();
    let msg = err_of(&image);
    assert!(msg.contains("junk inside the xz segment"), "{msg}");
}

#[test]
fn stream_ending_inside_an_archive() {
    let a = newc_archive(&[file(b"a", b"1"), file(b"b", b"2")]);
    let without_trailer = &a[..a.windows(10).position(|w| w == b"TRAILER!!!").unwrap() - 110];
    let image = compress(Compression::Bzip2, without_trailer).unwrap();
    let msg = err_of(&image);
    assert!(
        msg.contains("compressed stream ends inside an archive"),
        "{msg}"
    );
}

#[test]
fn uncompressed_archive_at_an_unaligned_offset() {
    let mut image = compress(Compression::Bzip2, &newc_archive(&[file(b"a", b"1")])).unwrap();
    while image.len() % 4 != 1 {
        image.push(0);
    }
    let at = image.len();
    image.extend_from_slice(&newc_archive(&[file(b"b", b"2")]));
    let msg = err_of(&image);
    assert!(
        msg.contains(&format!("unaligned image offset {at}")),
        "{msg}"
    );
}

#[test]
fn size_field_past_the_end() {
    let mut a = newc_archive(&[file(b"etc/shadow", b"0123456789")]);
    // Announce 0x1000 bytes of data instead of 10, then cut the image after the data.
    a[54..62].copy_from_slice(b"00001000");
    a.truncate(110 + 12 + 10);
    let msg = err_of(&a);
    assert!(
        msg.contains("entry etc/shadow") && msg.contains("truncated"),
        "{msg}"
    );
    let image = compress(Compression::Gzip, &a).unwrap();
    let msg = err_of(&image);
    assert!(msg.contains("etc/shadow"), "{msg}");
}

#[test]
fn huge_namesize_is_refused_before_allocating() {
    let mut a = newc_archive(&[file(b"x", b"")]);
    a[94..102].copy_from_slice(b"ffffffff");
    let msg = err_of(&a);
    assert!(msg.contains("namesize 4294967295 out of range"), "{msg}");
}

#[test]
fn odc_and_garbled_headers() {
    let mut a = newc_archive(&[file(b"x", b"")]);
    a[..6].copy_from_slice(b"070707");
    assert!(err_of(&a).contains("odc"));
    let mut a = newc_archive(&[file(b"x", b"")]);
    a[20] = b'z';
    let msg = err_of(&a);
    assert!(
        msg.contains("field mode is not 8 hexadecimal digits") && msg.contains("image offset 0"),
        "{msg}"
    );
}

#[test]
fn huge_symlink_target_is_refused() {
    let h = Header {
        mode: S_IFLNK | 0o777,
        nlink: 1,
        ..Header::default()
    };
    let mut a = newc_archive(&[(h, b"evil-link".to_vec(), b"t".to_vec())]);
    a[54..62].copy_from_slice(b"7fffffff");
    let msg = err_of(&a);
    assert!(
        msg.contains("evil-link") && msg.contains("symlink target"),
        "{msg}"
    );
}

fn extract_err(entries: &[(Header, Vec<u8>, Vec<u8>)], bad: &str) {
    let image = newc_archive(entries);
    let tree = Tree::read(&image[..]).unwrap();
    let dest = tempfile::tempdir().unwrap();
    let out = dest.path().join("out");
    let msg = initrd::extract(&image[..], &tree, &out)
        .unwrap_err()
        .to_string();
    assert!(msg.contains(&format!("entry {bad}")), "{msg}");
    // Nothing was written outside the destination.
    assert!(!dest.path().join("escaped").exists());
}

#[test]
fn extract_refuses_dot_dot_absolute_and_symlinked_names() {
    extract_err(&[file(b"../escaped", b"x")], "../escaped");
    extract_err(
        &[dir(b"a"), file(b"a/../../escaped", b"x")],
        "a/../../escaped",
    );
    extract_err(&[file(b"/escaped", b"x")], "/escaped");
    let link = Header {
        mode: S_IFLNK | 0o777,
        nlink: 1,
        ..Header::default()
    };
    extract_err(
        &[
            (link, b"up".to_vec(), b"..".to_vec()),
            file(b"up/escaped", b"x"),
        ],
        "up/escaped",
    );
}

#[test]
fn extract_never_writes_through_a_symlink_in_the_destination() {
    let image = newc_archive(&[dir(b"etc"), file(b"etc/passwd", b"x")]);
    let tree = Tree::read(&image[..]).unwrap();
    let dest = tempfile::tempdir().unwrap();
    let outside = dest.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let out = dest.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::os::unix::fs::symlink(&outside, out.join("etc")).unwrap();
    let msg = initrd::extract(&image[..], &tree, &out)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("etc"), "{msg}");
    assert!(!outside.join("passwd").exists());
}

/// The error message of applying the one patch `text`, named `name`, to `image`.
fn patch_error(name: &str, text: &[u8], tree: &Tree, image: &[u8]) -> String {
    let edits = Edits {
        patches: vec![Patch::parse(name, text).unwrap()],
        ..Edits::default()
    };
    initrd::prepare(&edits, tree, image)
        .unwrap_err()
        .to_string()
}

#[test]
fn patch_that_does_not_apply_names_patch_file_and_hunk() {
    let image = newc_archive(&[dir(b"etc"), file(b"etc/x.conf", b"one\ntwo\nthree\n")]);
    let tree = Tree::read(&image[..]).unwrap();
    let msg = patch_error(
        "fix-x.patch",
        b"--- a/etc/x.conf\n+++ b/etc/x.conf\n@@ -1,3 +1,3 @@\n one\n-TWO\n+2\n three\n",
        &tree,
        &image,
    );
    assert!(
        msg.contains("fix-x.patch")
            && msg.contains("etc/x.conf")
            && msg.contains("hunk #1")
            && msg.contains("patch line 3"),
        "{msg}"
    );
    // A patch creating a file that is already there.
    let msg = patch_error(
        "create.patch",
        b"--- /dev/null\n+++ b/etc/x.conf\n@@ -0,0 +1 @@\n+new\n",
        &tree,
        &image,
    );
    assert!(
        msg.contains("create.patch")
            && msg.contains("etc/x.conf")
            && msg.contains("already exists"),
        "{msg}"
    );
    // A patch for a file that is not there.
    let msg = patch_error(
        "missing.patch",
        b"--- a/etc/nope\n+++ b/etc/nope\n@@ -1 +1 @@\n-a\n+b\n",
        &tree,
        &image,
    );
    assert!(
        msg.contains("missing.patch") && msg.contains("etc/nope") && msg.contains("does not exist"),
        "{msg}"
    );
}

#[test]
fn edits_with_unsafe_or_impossible_paths() {
    let image = newc_archive(&[dir(b"etc"), file(b"etc/x", b"1")]);
    let tree = Tree::read(&image[..]).unwrap();
    let put = |path: &[u8]| initrd::PutEntry {
        path: path.to_vec(),
        kind: initrd::PutKind::File(initrd::Content::Bytes(b"x".to_vec())),
        mode: 0o644,
        uid: 0,
        gid: 0,
        mtime: 0,
    };
    for (path, why) in [
        (&b"../x"[..], "'..'"),
        (b"etc/x/y", "not a directory"),
        (b"/", "empty path"),
    ] {
        let edits = Edits {
            put: vec![put(path)],
            ..Edits::default()
        };
        let msg = initrd::prepare(&edits, &tree, &image[..])
            .unwrap_err()
            .to_string();
        assert!(msg.contains(why), "{msg}");
    }
    let edits = Edits {
        remove: vec![b"etc/missing".to_vec()],
        ..Edits::default()
    };
    let msg = initrd::prepare(&edits, &tree, &image[..])
        .unwrap_err()
        .to_string();
    assert!(msg.contains("etc/missing"), "{msg}");
    // A forced overlay cannot remove.
    let edits = Edits {
        remove: vec![b"etc/x".to_vec()],
        ..Edits::default()
    };
    let changes = initrd::prepare(&edits, &tree, &image[..]).unwrap();
    let msg = initrd::plan(&changes, Some(initrd::Strategy::Overlay))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("etc/x") && msg.contains("repack"), "{msg}");
}

#[test]
fn answer_file_that_is_not_xml() {
    let msg = answerfile::validate("answers.xml", b"primary-disk=sda\n")
        .unwrap_err()
        .to_string();
    assert!(msg.contains("answers.xml"), "{msg}");
    let msg = answerfile::validate(
        "answers.xml",
        b"<installation>\n  <primary-disk>sda</primary-disc>\n</installation>\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        msg.contains("answers.xml") && msg.contains("line 2"),
        "{msg}"
    );
    let msg = answerfile::validate("answers.xml", b"<html></html>")
        .unwrap_err()
        .to_string();
    assert!(msg.contains("<html>"), "{msg}");
}
