//! The block-parallel bzip2 reading of install.img against the referees: images made by GNU
//! cpio with `bzip2 -9` and with `lbzip2` (different block framing), decoded to the same bytes as
//! `bzip2 -dc`, segments found at the exact stream ends, and a patch prepared from the single
//! tree-reading pass giving the same result as the two-pass way.

mod common;

use std::fs;
use std::io::{self, Read};
use std::path::Path;
use std::process::{Command, Stdio};

use common::{pseudo_random, require, run};
use isoremix::initrd::{self, Edits, ParallelBzDecoder, Tree};
use isoremix::patch::Patch;

/// A tree of real binaries, text and incompressible data, several bzip2 blocks long.
fn make_tree(root: &Path) {
    fs::create_dir_all(root.join("opt/xensource/installer")).unwrap();
    fs::create_dir_all(root.join("usr/bin")).unwrap();
    let mut total = 0u64;
    let mut bins: Vec<_> = fs::read_dir("/usr/bin")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .collect();
    bins.sort();
    for b in bins {
        let len = fs::metadata(&b).unwrap().len();
        if total + len > 4_000_000 {
            continue;
        }
        total += len;
        fs::copy(&b, root.join("usr/bin").join(b.file_name().unwrap())).unwrap();
    }
    fs::write(root.join("usr/random.bin"), pseudo_random(1_500_000, 7)).unwrap();
    fs::write(root.join("usr/zeros.bin"), vec![0u8; 3_000_000]).unwrap();
    let text: String = (0..2000).map(|i| format!("LINE_{i} = {i}\n")).collect();
    fs::write(root.join("opt/xensource/installer/constants.py"), text).unwrap();
}

/// `find . | cpio -o -H newc` of `root`, through `compressor` (a shell command).
fn archive(root: &Path, compressor: &str) -> Vec<u8> {
    require("cpio");
    let script = format!("find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | {compressor}");
    let out = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .current_dir(root)
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(out.status.success(), "{script} failed");
    out.stdout
}

fn referee_decode(stream: &[u8], dir: &Path) -> Vec<u8> {
    require("bzip2");
    let path = dir.join("stream.bz2");
    fs::write(&path, stream).unwrap();
    let out = Command::new("bzip2")
        .arg("-dc")
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "bzip2 -dc refuses the stream");
    out.stdout
}

#[test]
fn parallel_decoding_matches_bzip2_on_bzip2_and_lbzip2_streams() {
    require("bzip2");
    require("lbzip2");
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    make_tree(&root);
    for compressor in ["bzip2 -9", "bzip2 -1", "lbzip2 -9 -n 2", "lbzip2 -1 -n 2"] {
        let stream = archive(&root, compressor);
        let expect = referee_decode(&stream, dir.path());
        let mut input = io::Cursor::new(&stream[..]);
        let mut dec = ParallelBzDecoder::new(&mut input, 2);
        let mut got = Vec::new();
        dec.read_to_end(&mut got).unwrap();
        drop(dec);
        assert!(
            got == expect,
            "{compressor}: decoded bytes differ from bzip2 -dc"
        );
        assert_eq!(input.position(), stream.len() as u64, "{compressor}");
    }
}

#[test]
fn segments_end_where_each_stream_ends() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    make_tree(&root);
    let first = archive(&root, "bzip2 -9");
    let extra = dir.path().join("extra");
    fs::create_dir_all(extra.join("etc")).unwrap();
    fs::write(extra.join("etc/site.conf"), "site\n").unwrap();
    let second = archive(&extra, "lbzip2 -9");
    let mut image = first.clone();
    image.extend_from_slice(&[0; 3]);
    image.extend_from_slice(&second);
    let tree = Tree::read(io::Cursor::new(&image)).unwrap();
    let segs = tree.segments();
    assert_eq!(segs.len(), 2);
    assert_eq!(segs[0].offset, 0);
    assert_eq!(segs[0].stored_len, first.len() as u64);
    assert_eq!(segs[1].offset, first.len() as u64 + 3);
    assert_eq!(segs[1].stored_len, second.len() as u64);
    assert!(tree.get(b"etc/site.conf").is_some());
    assert!(tree.get(b"usr/zeros.bin").is_some());
    // The referee reads the same concatenation.
    let all = referee_decode(&image[..first.len()], dir.path());
    assert_eq!(segs[0].uncompressed_len, all.len() as u64);

    // Garbage after the last stream is reported, not swallowed.
    let mut bad = image.clone();
    bad.extend_from_slice(b"JUNK");
    let err = Tree::read(io::Cursor::new(&bad)).unwrap_err();
    assert!(err.to_string().contains("unknown data"), "{err}");
}

/// A reader that must not be used.
struct Untouchable;

impl Read for Untouchable {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::Error::other("the image was read a second time"))
    }
}

#[test]
fn a_patch_needs_one_pass_over_the_image() {
    require("patch");
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    make_tree(&root);
    let image = archive(&root, "bzip2 -9");
    let target = "opt/xensource/installer/constants.py";
    let old = fs::read_to_string(root.join(target)).unwrap();
    let new = old.replace("LINE_1000 = 1000\n", "LINE_1000 = 'patched'\n");
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    for (d, text) in [(&a, &old), (&b, &new)] {
        fs::create_dir_all(d.join("opt/xensource/installer")).unwrap();
        fs::write(d.join(target), text).unwrap();
    }
    let diff = Command::new("diff")
        .args(["-u", &format!("a/{target}"), &format!("b/{target}")])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let edits = Edits {
        patches: vec![Patch::parse("site.patch", &diff.stdout).unwrap()],
        mtime: 1_700_000_000,
        ..Edits::default()
    };
    let targets = initrd::patch_targets(&edits).unwrap();
    assert_eq!(targets, vec![target.as_bytes().to_vec()]);
    let names: Vec<&[u8]> = targets.iter().map(|t| t.as_slice()).collect();
    let (tree, kept) = Tree::read_keeping(io::Cursor::new(&image), &names, 1 << 20).unwrap();
    assert_eq!(kept.len(), 1);
    let one_pass = initrd::prepare_kept(&edits, &tree, &kept, Untouchable).unwrap();
    let two_pass = initrd::prepare(&edits, &tree, io::Cursor::new(&image)).unwrap();
    assert_eq!(one_pass.puts, two_pass.puts);
    let initrd::PutKind::File(initrd::Content::Bytes(bytes)) = &one_pass.puts[0].kind else {
        panic!("patched content is not bytes");
    };
    // GNU patch, the referee, gives the same file.
    let work = dir.path().join("work");
    fs::create_dir_all(work.join("opt/xensource/installer")).unwrap();
    fs::write(work.join(target), &old).unwrap();
    fs::write(dir.path().join("site.patch"), &diff.stdout).unwrap();
    run(Command::new("patch")
        .args(["-p1", "-s", "-i"])
        .arg(dir.path().join("site.patch"))
        .current_dir(&work));
    assert_eq!(bytes, &fs::read(work.join(target)).unwrap());
    // Without the kept content, the image is needed: the untouchable reader is refused.
    assert!(initrd::prepare_kept(&edits, &tree, &initrd::Kept::default(), Untouchable).is_err());
}

#[test]
fn a_repack_from_the_spool_equals_a_repack_from_the_image() {
    require("cpio");
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    make_tree(&root);
    let mut image = archive(&root, "bzip2 -9");
    // A second segment replacing a file of the first.
    let extra = dir.path().join("extra");
    fs::create_dir_all(extra.join("usr")).unwrap();
    fs::write(extra.join("usr/zeros.bin"), "replaced\n").unwrap();
    image.extend_from_slice(&archive(&extra, "lbzip2 -9"));
    let spool_path = dir.path().join("spool");
    let spool = io::BufWriter::new(fs::File::create(&spool_path).unwrap());
    let (tree, _) = Tree::read_spooling(io::Cursor::new(&image), &[], 0, Box::new(spool)).unwrap();
    let total: u64 = tree.segments().iter().map(|s| s.uncompressed_len).sum();
    assert_eq!(fs::metadata(&spool_path).unwrap().len(), total);
    let options = initrd::RepackOptions {
        segment_size: 1 << 20,
        ..initrd::RepackOptions::default()
    };
    let mut from_image = Vec::new();
    initrd::repack(
        io::Cursor::new(&image),
        &tree,
        None,
        &options,
        &mut from_image,
    )
    .unwrap();
    let mut from_spool = Vec::new();
    let spool = io::BufReader::new(fs::File::open(&spool_path).unwrap());
    initrd::repack_spooled(spool, &tree, None, &options, &mut from_spool).unwrap();
    assert!(from_image == from_spool, "the two repacks differ");
    // The referee reads the repacked data: bzip2 -dc, then GNU cpio archive after archive.
    let all = referee_decode(&from_spool, dir.path());
    let cpio_path = dir.path().join("all.cpio");
    fs::write(&cpio_path, all).unwrap();
    let out = dir.path().join("out");
    fs::create_dir_all(&out).unwrap();
    let script = format!(
        "(while cpio -idmu --quiet; do :; done) < '{}' 2>/dev/null; true",
        cpio_path.display()
    );
    run(Command::new("sh").arg("-c").arg(&script).current_dir(&out));
    assert_eq!(fs::read(out.join("usr/zeros.bin")).unwrap(), b"replaced\n");
    assert_eq!(
        fs::read(out.join("usr/random.bin")).unwrap(),
        fs::read(root.join("usr/random.bin")).unwrap()
    );
    // A spool cut short is an error, not a short file.
    let len = fs::metadata(&spool_path).unwrap().len();
    let cut = fs::read(&spool_path).unwrap()[..(len / 2) as usize].to_vec();
    let err = initrd::repack_spooled(io::Cursor::new(cut), &tree, None, &options, io::sink());
    assert!(err.is_err());
}
