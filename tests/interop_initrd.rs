//! install.img against independent referees: archives made by GNU cpio and compressed by the
//! bzip2/gzip/xz/zstd command-line tools are read as the kernel would; a repack is checked with
//! `bzip2 -t`, `bzip2 -dc` and GNU cpio; an overlay with Debian's `unmkinitramfs`; patches
//! against GNU patch.

mod common;

use std::fs;
use std::path::Path;

use common::initrd::*;
use common::require;
use isoremix::initrd::{self, Compression, Content, Edits, PutKind, RepackOptions, Strategy, Tree};
use isoremix::patch::Patch;

/// The layers of a five-segment image and the uncompressed archive of each.
struct Sequence {
    image: Vec<u8>,
    archives: Vec<Vec<u8>>,
    /// (offset, stored length, compression) of each segment.
    layout: Vec<(u64, u64, Compression)>,
}

fn build_sequence(work: &Path) -> Sequence {
    let a = work.join("layer-a");
    sample_base(&a);
    let b = work.join("layer-b");
    put(&b, b"etc/hosts", b"10.0.0.1 install\n", 0o644);
    put(&b, b"bin/link", b"was a symlink\n", 0o755);
    put(&b, b"new/file.txt", b"new in gzip layer\n", 0o640);
    set_times(&b, 1_600_000_100);
    let c = work.join("layer-c");
    put(
        &c,
        b"etc/passwd",
        b"root:x:0:0:root:/root:/bin/bash\n",
        0o644,
    );
    set_times(&c, 1_600_000_200);
    let d = work.join("layer-d");
    put(&d, b"usr/share/doc/readme", b"raw layer readme\n", 0o444);
    set_times(&d, 1_600_000_300);
    let e = work.join("layer-e");
    put(&e, b"opt/zstd.txt", b"zstd layer\n", 0o600);
    set_times(&e, 1_600_000_400);
    for dir in [&b, &c, &d, &e] {
        // Directories of later layers keep the base's modes.
        sh("chmod 755 $(find . -type d)", dir, b"");
    }

    let archives: Vec<Vec<u8>> = [&a, &b, &c, &d, &e].iter().map(|d| gnu_cpio(d)).collect();
    let mut image = Vec::new();
    let mut layout = Vec::new();
    let mut push = |image: &mut Vec<u8>, bytes: &[u8], c: Compression| {
        layout.push((image.len() as u64, bytes.len() as u64, c));
        image.extend_from_slice(bytes);
    };
    push(
        &mut image,
        &cli_compress("bzip2", &archives[0]),
        Compression::Bzip2,
    );
    image.extend_from_slice(&[0, 0, 0]);
    push(
        &mut image,
        &cli_compress("gzip", &archives[1]),
        Compression::Gzip,
    );
    push(
        &mut image,
        &cli_compress("xz", &archives[2]),
        Compression::Xz,
    );
    while !image.len().is_multiple_of(4) {
        image.push(0);
    }
    image.extend_from_slice(&[0; 8]);
    push(&mut image, &archives[3], Compression::None);
    image.extend_from_slice(&[0; 16]);
    push(
        &mut image,
        &cli_compress("zstd", &archives[4]),
        Compression::Zstd,
    );
    Sequence {
        image,
        archives,
        layout,
    }
}

/// What the sequence unpacks to, according to GNU cpio run on each archive in order.
fn referee_tree(seq: &Sequence, dest: &Path) {
    for archive in &seq.archives {
        cpio_extract_all(archive, dest);
    }
}

#[test]
fn reads_gnu_cpio_archives_in_every_compression() {
    let work = tempfile::tempdir().unwrap();
    let seq = build_sequence(work.path());
    let tree = Tree::read(&seq.image[..]).unwrap();

    let got: Vec<(u64, u64, Compression)> = tree
        .segments()
        .iter()
        .map(|s| (s.offset, s.stored_len, s.compression))
        .collect();
    // A raw archive ends after its trailer; GNU cpio's zero padding to 512 bytes is padding.
    let (raw_off, raw_len, _) = seq.layout[3];
    let raw_stored = got[3].1;
    assert!(raw_stored < raw_len);
    let raw = &seq.image[raw_off as usize..(raw_off + raw_len) as usize];
    assert!(raw[raw_stored as usize..].iter().all(|&b| b == 0));
    assert!(raw[..raw_stored as usize].ends_with(b"TRAILER!!!\0\0\0\0"));
    let mut want_layout = seq.layout.clone();
    want_layout[3].1 = raw_stored;
    assert_eq!(got, want_layout);
    for (seg, archive) in tree.segments().iter().zip(&seq.archives) {
        let listed = sh("cpio -t --quiet | wc -l", work.path(), archive);
        let listed: u64 = String::from_utf8_lossy(&listed).trim().parse().unwrap();
        assert_eq!(seg.entries, listed, "entries of segment at {}", seg.offset);
        assert_eq!(seg.archives, 1);
        if seg.compression != Compression::None {
            assert_eq!(seg.uncompressed_len, archive.len() as u64);
        }
    }
    assert_eq!(tree.image_len(), seq.image.len() as u64);

    // Shadowing: the last layer's content wins.
    let contents = tree
        .read_contents(
            &seq.image[..],
            &[b"etc/hosts", b"./etc/passwd", b"bin/link", b"lib/b"],
        )
        .unwrap();
    assert_eq!(contents[&b"etc/hosts".to_vec()], b"10.0.0.1 install\n");
    assert_eq!(
        contents[&b"./etc/passwd".to_vec()],
        b"root:x:0:0:root:/root:/bin/bash\n"
    );
    assert_eq!(contents[&b"bin/link".to_vec()], b"was a symlink\n");
    assert_eq!(contents[&b"lib/b".to_vec()], b"shared inode\n");

    // The whole merged tree, as GNU cpio sees the layers, against our extraction.
    let want_dir = work.path().join("referee");
    referee_tree(&seq, &want_dir);
    let ours = work.path().join("ours");
    let report = initrd::extract(&seq.image[..], &tree, &ours).unwrap();
    assert_eq!(report.skipped, vec![b"run/fifo".to_vec()]);
    let mut want = describe(&want_dir);
    assert!(
        want.remove(b"run/fifo".as_slice())
            .unwrap()
            .starts_with("special")
    );
    assert_same(&describe(&ours), &want);
}

const INSTALLER_CONF_PATCH: &[u8] = b"diff --git a/etc/installer.conf b/etc/installer.conf
--- a/etc/installer.conf
+++ b/etc/installer.conf
@@ -1,3 +1,4 @@
 c = 3
-d = 4
+d = 40
+d2 = 41
 e = 5
";

#[test]
fn repack_is_read_by_bzip2_and_gnu_cpio() {
    require("bzip2");
    require("patch");
    let work = tempfile::tempdir().unwrap();
    let seq = build_sequence(work.path());
    let tree = Tree::read(&seq.image[..]).unwrap();
    let host_file = work.path().join("tool.bin");
    fs::write(&host_file, b"\x7fELF pretend tool\n").unwrap();
    let edits = Edits {
        put: vec![
            put_bytes(b"etc/motd", b"remastered\n", 0o644),
            put_entry(
                b"/srv/bin/tool",
                PutKind::File(Content::HostFile(host_file.clone())),
                0o755,
            ),
        ],
        remove: vec![b"usr/share".to_vec()],
        patches: vec![Patch::parse("installer.patch", INSTALLER_CONF_PATCH).unwrap()],
        mtime: 1_700_000_000,
    };
    let changes = initrd::prepare(&edits, &tree, &seq.image[..]).unwrap();
    assert_eq!(initrd::plan(&changes, None).unwrap(), Strategy::Repack);
    let options = RepackOptions {
        compression: Compression::Bzip2,
        segment_size: 1024,
        threads: 2,
    };
    let mut out = Vec::new();
    let summary =
        initrd::repack(&seq.image[..], &tree, Some(&changes), &options, &mut out).unwrap();
    assert!(summary.segments > 2, "{summary:?}");
    assert_eq!(summary.bytes, out.len() as u64);

    let out_path = work.path().join("install.img");
    fs::write(&out_path, &out).unwrap();
    sh("bzip2 -t install.img", work.path(), b"");
    let stream = sh("bzip2 -dc install.img", work.path(), b"");

    // GNU cpio stops at the first trailer: one run sees only the first segment.
    let first = sh("cpio -t --quiet | wc -l", work.path(), &stream);
    let first: u64 = String::from_utf8_lossy(&first).trim().parse().unwrap();
    assert!(
        first < summary.entries,
        "first segment {first} of {} entries",
        summary.entries
    );

    let got_dir = work.path().join("got");
    cpio_extract_all(&stream, &got_dir);

    // The expectation: the referee's tree with the same edits made by hand and GNU patch.
    let want_dir = work.path().join("want");
    referee_tree(&seq, &want_dir);
    put(&want_dir, b"etc/motd", b"remastered\n", 0o644);
    fs::create_dir_all(want_dir.join("srv/bin")).unwrap();
    put(&want_dir, b"srv/bin/tool", b"\x7fELF pretend tool\n", 0o755);
    fs::remove_dir_all(want_dir.join("usr/share")).unwrap();
    sh(
        "patch -p1 -F0 --quiet --no-backup-if-mismatch",
        &want_dir,
        INSTALLER_CONF_PATCH,
    );
    sh(
        "touch -d @1700000000 etc/motd srv/bin/tool etc/installer.conf && chmod 755 srv srv/bin",
        &want_dir,
        b"",
    );
    assert_same(&describe(&got_dir), &describe(&want_dir));

    // And our own reader agrees with the segment count.
    let back = Tree::read(&out[..]).unwrap();
    assert_eq!(back.segments().len() as u64, summary.segments);
    assert!(
        back.segments()
            .iter()
            .all(|s| s.compression == Compression::Bzip2 && s.archives == 1)
    );
}

#[test]
fn overlay_is_read_by_unmkinitramfs() {
    require("unmkinitramfs");
    require("bzip2");
    require("patch");
    let work = tempfile::tempdir().unwrap();
    let base_dir = work.path().join("base");
    sample_base(&base_dir);
    let mut base = cli_compress("bzip2", &gnu_cpio(&base_dir));
    // Make the base length not a multiple of 4, so the padding is exercised.
    if base.len().is_multiple_of(4) {
        base.push(0);
    }
    let tree = Tree::read(&base[..]).unwrap();
    let edits = Edits {
        put: vec![
            put_bytes(b"etc/hosts", b"192.168.0.1 mirror\n", 0o644),
            put_bytes(b"etc/new.d/answer.xml", b"<installation/>\n", 0o600),
        ],
        remove: vec![],
        patches: vec![Patch::parse("installer.patch", INSTALLER_CONF_PATCH).unwrap()],
        mtime: 1_700_000_000,
    };
    let changes = initrd::prepare(&edits, &tree, &base[..]).unwrap();
    assert_eq!(initrd::plan(&changes, None).unwrap(), Strategy::Overlay);
    let mut appended = Vec::new();
    let n = initrd::write_overlay(
        base.len() as u64,
        Compression::Bzip2,
        &changes,
        &mut appended,
    )
    .unwrap();
    assert_eq!(n, appended.len() as u64);
    let pad = (4 - base.len() % 4) % 4;
    assert!(appended[..pad].iter().all(|&b| b == 0));
    assert_eq!(&appended[pad..pad + 3], b"BZh");

    // unmkinitramfs (like bzip2 -dc | cpio -i) stops at the end of the first stream, so each
    // stream is unpacked by it on its own, the overlay's over the base's.
    fs::write(work.path().join("base.img"), &base).unwrap();
    fs::write(work.path().join("overlay.img"), &appended[pad..]).unwrap();
    sh(
        "unmkinitramfs base.img got && unmkinitramfs overlay.img over",
        work.path(),
        b"",
    );
    sh("cp -a over/. got/", work.path(), b"");

    let want_dir = work.path().join("want");
    cpio_extract_all(&gnu_cpio(&base_dir), &want_dir);
    put(&want_dir, b"etc/hosts", b"192.168.0.1 mirror\n", 0o644);
    put(
        &want_dir,
        b"etc/new.d/answer.xml",
        b"<installation/>\n",
        0o600,
    );
    sh(
        "patch -p1 -F0 --quiet --no-backup-if-mismatch",
        &want_dir,
        INSTALLER_CONF_PATCH,
    );
    sh(
        "touch -d @1700000000 etc/hosts etc/new.d/answer.xml etc/installer.conf && chmod 755 etc/new.d",
        &want_dir,
        b"",
    );
    assert_same(&describe(&work.path().join("got")), &describe(&want_dir));

    // The whole image as the kernel reads it: two segments, the overlay aligned and last.
    let mut full = base.clone();
    full.extend_from_slice(&appended);
    let merged = Tree::read(&full[..]).unwrap();
    let segs = merged.segments();
    assert_eq!(segs.len(), 2);
    assert_eq!(segs[1].offset % 4, 0);
    assert_eq!(segs[1].offset, (base.len() + pad) as u64);
    let c = merged
        .read_contents(&full[..], &[b"etc/hosts", b"etc/installer.conf", b"lib/a"])
        .unwrap();
    assert_eq!(c[&b"etc/hosts".to_vec()], b"192.168.0.1 mirror\n");
    assert_eq!(
        c[&b"etc/installer.conf".to_vec()],
        b"a = 1\nb = 2\nc = 3\nd = 40\nd2 = 41\ne = 5\nf = 6\n"
    );
    assert_eq!(c[&b"lib/a".to_vec()], b"shared inode\n");
}

const INIT: &[u8] = br#"#!/bin/busybox sh
B=/bin/busybox
$B echo MARK-BEGIN
$B find / -xdev | $B sort | while read p; do
  case "$p" in /dev|/dev/*|/root|/proc|/sys) continue;; esac
  if [ -L "$p" ]; then $B echo "P|$p|L|$($B readlink "$p")"
  elif [ -d "$p" ]; then $B echo "P|$p|D|$($B stat -c %a "$p")|$($B stat -c %Y "$p")"
  elif [ -f "$p" ]; then $B echo "P|$p|F|$($B stat -c %a "$p")|$($B stat -c %h "$p")|$($B stat -c %Y "$p")|$($B sha256sum < "$p" | $B cut -d' ' -f1)"
  else $B echo "P|$p|O|$($B stat -c %a "$p")"; fi
done
$B echo MARK-END
$B poweroff -f
"#;

/// What the tree says the kernel's root filesystem holds, in the init script's format.
fn expected_listing(tree: &Tree, image: &[u8]) -> Vec<String> {
    use sha2::{Digest, Sha256};
    use std::collections::BTreeMap;
    let files: Vec<&[u8]> = tree
        .nodes()
        .filter(|(_, n)| tree.inode(n.inode).unwrap().kind == initrd::Kind::File)
        .map(|(p, _)| p)
        .collect();
    let contents = tree.read_contents(image, &files).unwrap();
    let mut links: BTreeMap<usize, usize> = BTreeMap::new();
    for (_, n) in tree.nodes() {
        *links.entry(n.inode).or_default() += 1;
    }
    tree.nodes()
        .map(|(p, n)| {
            let i = tree.inode(n.inode).unwrap();
            let path = format!("/{}", String::from_utf8_lossy(p));
            let perm = i.mode & 0o7777;
            match i.kind {
                initrd::Kind::Dir => format!("P|{path}|D|{perm:o}|{}", i.mtime),
                initrd::Kind::Symlink => {
                    format!("P|{path}|L|{}", String::from_utf8_lossy(&i.target))
                }
                initrd::Kind::File => format!(
                    "P|{path}|F|{perm:o}|{}|{}|{}",
                    links[&n.inode],
                    i.mtime,
                    hex::encode(Sha256::digest(&contents[p]))
                ),
                _ => format!("P|{path}|O|{perm:o}"),
            }
        })
        .collect()
}

/// The referee of referees: a real Linux kernel unpacks a sequence of segments made by GNU cpio
/// and bzip2/gzip/zstd, repacked by us into several bzip2 segments, with an overlay of ours
/// appended; what its root filesystem holds must be exactly what our merged tree says,
/// shadowing rules (writes through directory symlinks and hard links, type changes) included.
#[test]
fn linux_kernel_unpacks_repack_and_overlay_as_the_tree_says() {
    require("busybox");
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let a = w.join("layer-a");
    put(&a, b"init", INIT, 0o755);
    fs::create_dir_all(a.join("bin")).unwrap();
    fs::copy(
        sh("command -v busybox", w, b"")
            .trim_ascii()
            .escape_ascii()
            .to_string(),
        a.join("bin/busybox"),
    )
    .unwrap();
    put(&a, b"etc/hosts", b"127.0.0.1 localhost\n", 0o644);
    put(
        &a,
        b"etc/installer.conf",
        b"a = 1\nb = 2\nc = 3\nd = 4\ne = 5\nf = 6\n",
        0o600,
    );
    put(&a, b"usr/lib/libc.so", b"libc v1\n", 0o755);
    put(&a, b"usr/lib/a", b"shared v1\n", 0o644);
    fs::hard_link(a.join("usr/lib/a"), a.join("usr/lib/b")).unwrap();
    std::os::unix::fs::symlink("usr/lib", a.join("lib")).unwrap();
    std::os::unix::fs::symlink("hosts", a.join("etc/link")).unwrap();
    fs::create_dir_all(a.join("var/empty")).unwrap();
    put(&a, b"var/full/keep", b"keep\n", 0o644);
    put(&a, b"opt/remove-me/file", b"bye\n", 0o644);
    fs::create_dir_all(a.join("tmp")).unwrap();
    sh("chmod 755 . $(find . -type d) && chmod 1777 tmp", &a, b"");
    set_times(&a, 1_600_000_000);

    let entry = |mode: u32, name: &[u8], data: &[u8]| {
        let h = isoremix::initrd::NewcHeader {
            mode,
            nlink: 1,
            mtime: 1_600_000_100,
            ..Default::default()
        };
        (h, name.to_vec(), data.to_vec())
    };
    let ours = |entries: &[(isoremix::initrd::NewcHeader, Vec<u8>, Vec<u8>)]| {
        let mut wr = initrd::NewcWriter::new(Vec::new());
        for (h, n, d) in entries {
            wr.append_bytes(h, n, d).unwrap();
        }
        wr.finish().unwrap()
    };
    let layer_b = ours(&[
        // A later directory entry changes the mode, not the time (the first entry's wins).
        entry(0o040750, b"etc", b""),
        entry(0o100755, b"lib/libc.so", b"libc v2 via the symlink\n"),
        entry(0o100644, b"usr/lib/a", b"shared v2 under both names\n"),
        entry(0o100644, b"etc/link", b"a file where a symlink was\n"),
        entry(0o120777, b"var/empty", b"/etc"),
        entry(0o120777, b"var/full", b"/nowhere"),
    ]);
    let layer_c = ours(&[entry(0o100640, b"etc/zstd.txt", b"zstd layer\n")]);
    let layer_d = ours(&[entry(0o100600, b"etc/raw.txt", b"raw layer\n")]);
    let mut image = cli_compress("bzip2", &gnu_cpio(&a));
    image.extend_from_slice(&[0, 0]);
    image.extend_from_slice(&cli_compress("gzip", &layer_b));
    image.extend_from_slice(&cli_compress("zstd", &layer_c));
    while !image.len().is_multiple_of(4) {
        image.push(0);
    }
    image.extend_from_slice(&layer_d);

    // Repack with a removal and a patch, in segments smaller than busybox.
    let tree = Tree::read(&image[..]).unwrap();
    let edits = Edits {
        put: vec![put_bytes(b"etc/new", b"added by repack\n", 0o644)],
        remove: vec![b"opt/remove-me".to_vec()],
        patches: vec![Patch::parse("installer.patch", INSTALLER_CONF_PATCH).unwrap()],
        mtime: 1_700_000_000,
    };
    let changes = initrd::prepare(&edits, &tree, &image[..]).unwrap();
    let options = RepackOptions {
        compression: Compression::Bzip2,
        segment_size: 1 << 20,
        threads: 2,
    };
    let mut repacked = Vec::new();
    initrd::repack(&image[..], &tree, Some(&changes), &options, &mut repacked).unwrap();

    // Then an overlay on top of the repacked image.
    let tree2 = Tree::read(&repacked[..]).unwrap();
    assert!(tree2.segments().len() >= 3, "{:?}", tree2.segments());
    let edits = Edits {
        put: vec![
            put_bytes(b"etc/hosts", b"10.1.1.1 overlay\n", 0o600),
            put_bytes(b"srv/overlay/new.txt", b"new in overlay\n", 0o644),
        ],
        mtime: 1_700_000_000,
        ..Edits::default()
    };
    let changes = initrd::prepare(&edits, &tree2, &repacked[..]).unwrap();
    let mut full = repacked.clone();
    initrd::write_overlay(
        repacked.len() as u64,
        Compression::Bzip2,
        &changes,
        &mut full,
    )
    .unwrap();
    let final_tree = Tree::read(&full[..]).unwrap();
    let want = expected_listing(&final_tree, &full);
    assert!(
        want.iter()
            .any(|l| l.starts_with("P|/usr/lib/b|F|644|2|1600000100|"))
    );
    assert!(want.iter().any(|l| l == "P|/etc|D|750|1600000000"));

    let kernel = debian_kernel();
    assert_eq!(
        kernel_view(&kernel, &w.join("final.img"), &full),
        want.join("\n")
    );

    // The source sequence itself: the kernel's shadowing rules against our tree's.
    let want = expected_listing(&tree, &image);
    assert!(want.iter().any(|l| l == "P|/var/empty|L|/etc"));
    assert!(want.iter().any(|l| l == "P|/var/full|D|755|1600000000"));
    assert_eq!(
        kernel_view(&kernel, &w.join("source.img"), &image),
        want.join("\n")
    );
}

/// Boots `image` (written to `path`) and returns the listing its init printed.
fn kernel_view(kernel: &Path, path: &Path, image: &[u8]) -> String {
    fs::write(path, image).unwrap();
    let log = boot(kernel, path);
    assert!(!log.contains("Initramfs unpacking failed"), "{log}");
    let begin = log
        .find("MARK-BEGIN")
        .unwrap_or_else(|| panic!("init did not run:\n{log}"));
    let end = log
        .find("MARK-END")
        .unwrap_or_else(|| panic!("init did not finish:\n{log}"));
    let got: Vec<&str> = log[begin..end]
        .lines()
        .filter(|l| l.starts_with("P|"))
        .collect();
    got.join("\n")
}

/// GNU cpio's `-H crc` (magic 070702, data checksums) is read and its checksums verified, as
/// the kernel does; a changed byte is an error naming the entry.
#[test]
fn reads_gnu_cpio_crc_archives_and_checks_their_sums() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("tree");
    sample_base(&dir);
    let crc = sh("find . | LC_ALL=C sort | cpio -o -H crc --quiet", &dir, b"");
    assert_eq!(&crc[..6], b"070702");
    let image = cli_compress("gzip", &crc);
    let tree = Tree::read(&image[..]).unwrap();
    let c = tree
        .read_contents(&image[..], &[b"etc/passwd", b"usr/share/big.bin"])
        .unwrap();
    assert_eq!(
        c[b"etc/passwd".as_slice()],
        fs::read(dir.join("etc/passwd")).unwrap()
    );
    assert_eq!(
        c[b"usr/share/big.bin".as_slice()],
        fs::read(dir.join("usr/share/big.bin")).unwrap()
    );

    let mut bad = crc.clone();
    let at = bad.windows(12).position(|w| w == b"root:x:0:0:r").unwrap();
    bad[at] = b'R';
    let err = Tree::read(&bad[..]).unwrap_err().to_string();
    assert!(
        err.contains("entry etc/passwd") && err.contains("checksum"),
        "{err}"
    );
}
