//! Our writers read back by our reader: the merged tree survives a repack and an overlay, the
//! kernel's shadowing rules hold, and the output bytes are reproducible (same inputs, any
//! thread count, same bytes).

mod common;

use std::collections::BTreeMap;

use common::initrd::{newc_archive, put_bytes, put_entry};
use isoremix::initrd::{
    self, Compression, Edits, Kind, NewcWriter, PutKind, RepackOptions, Strategy, Tree,
};
use isoremix::initrd::{NewcHeader as Header, S_IFDIR, S_IFLNK, S_IFREG};

fn entry(mode: u32, name: &[u8], data: &[u8], ino: u32, nlink: u32) -> (Header, Vec<u8>, Vec<u8>) {
    let h = Header {
        ino,
        mode,
        uid: 1,
        gid: 2,
        nlink,
        mtime: 1_600_000_000,
        ..Header::default()
    };
    (h, name.to_vec(), data.to_vec())
}
fn f(name: &[u8], data: &[u8]) -> (Header, Vec<u8>, Vec<u8>) {
    entry(S_IFREG | 0o644, name, data, 0, 1)
}
fn d(name: &[u8]) -> (Header, Vec<u8>, Vec<u8>) {
    entry(S_IFDIR | 0o755, name, b"", 0, 2)
}
fn l(name: &[u8], target: &[u8]) -> (Header, Vec<u8>, Vec<u8>) {
    entry(S_IFLNK | 0o777, name, target, 0, 1)
}

/// Everything observable about a merged tree: per path the type, mode, owner, time, target or
/// content, and the other names of its inode.
fn listing(tree: &Tree, image: &[u8]) -> BTreeMap<Vec<u8>, String> {
    let files: Vec<&[u8]> = tree
        .nodes()
        .filter(|(_, n)| tree.inode(n.inode).unwrap().kind == Kind::File)
        .map(|(p, _)| p)
        .collect();
    let contents = tree.read_contents(image, &files).unwrap();
    let mut by_inode: BTreeMap<usize, Vec<Vec<u8>>> = BTreeMap::new();
    for (p, n) in tree.nodes() {
        by_inode.entry(n.inode).or_default().push(p.to_vec());
    }
    tree.nodes()
        .filter(|(p, _)| !p.is_empty())
        .map(|(p, n)| {
            let i = tree.inode(n.inode).unwrap();
            let links: Vec<String> = by_inode[&n.inode]
                .iter()
                .map(|x| x.escape_ascii().to_string())
                .collect();
            let body = match i.kind {
                Kind::File => contents[p].escape_ascii().to_string(),
                Kind::Symlink => i.target.escape_ascii().to_string(),
                _ => String::new(),
            };
            let desc = format!(
                "{:?} {:o} {}:{} t{} rdev {}:{} [{body}] names {links:?}",
                i.kind, i.mode, i.uid, i.gid, i.mtime, i.rdev_major, i.rdev_minor
            );
            (p.to_vec(), desc)
        })
        .collect()
}

/// A two-archive image exercising the kernel's rules.
fn layered_image() -> Vec<u8> {
    let first = newc_archive(&[
        d(b"."),
        d(b"usr"),
        d(b"usr/lib"),
        l(b"lib", b"usr/lib"),
        f(b"usr/lib/libc.so", b"libc v1"),
        d(b"etc"),
        f(b"etc/hosts", b"old hosts"),
        l(b"etc/link", b"hosts"),
        d(b"var"),
        d(b"var/empty"),
        d(b"var/full"),
        f(b"var/full/keep", b"keep"),
        d(b"bin"),
        entry(S_IFREG | 0o755, b"bin/ls", b"", 7, 2),
        entry(S_IFREG | 0o755, b"bin/dir", b"ls binary", 7, 2),
        // The first name of a hard-link group cannot be created: the others fail with it.
        entry(S_IFREG | 0o755, b"orphan/x", b"", 9, 2),
        d(b"orphan"),
        entry(S_IFREG | 0o755, b"orphan/y", b"data", 9, 2),
        f(b"no/parent", b"skipped"),
        f(b"name\xff\xfe", b"non-utf8 name"),
        entry(0o020000 | 0o600, b"dev-console", b"", 0, 1),
    ]);
    let mut second = newc_archive(&[
        f(b"lib/libc.so", b"libc v2 through the lib symlink"),
        f(b"bin/ls", b"ls v2 writes through the hard link"),
        f(b"etc/link", b"a file replaces the symlink"),
        l(b"var/empty", b"/etc"),
        l(b"var/full", b"/nowhere"),
        entry(S_IFDIR | 0o700, b".", b"", 0, 2),
    ]);
    // Shuffle an archive boundary inside one compressed stream as well.
    second.extend_from_slice(&newc_archive(&[entry(
        S_IFREG | 0o600,
        b"etc/hosts",
        b"new hosts",
        3,
        1,
    )]));
    let mut image = initrd::compress(Compression::Bzip2, &first).unwrap();
    image.extend_from_slice(&initrd::compress(Compression::Gzip, &second).unwrap());
    image
}

#[test]
fn kernel_shadowing_rules() {
    let image = layered_image();
    let tree = Tree::read(&image[..]).unwrap();
    let list = listing(&tree, &image);
    let get = |p: &[u8]| {
        list.get(p)
            .cloned()
            .unwrap_or_else(|| panic!("{} missing", p.escape_ascii()))
    };
    // Written through the directory symlink.
    assert!(get(b"usr/lib/libc.so").contains("[libc v2 through the lib symlink]"));
    assert!(!list.contains_key(b"lib/libc.so".as_slice()));
    // A regular file over a hard-linked one rewrites the shared inode.
    assert!(get(b"bin/dir").contains("[ls v2 writes through the hard link]"));
    assert!(get(b"bin/ls").contains("names [\"bin/dir\", \"bin/ls\"]"));
    // Type changes: file over symlink; symlink over an empty directory; not over a full one.
    assert!(get(b"etc/link").starts_with("File"));
    assert!(get(b"var/empty").starts_with("Symlink"));
    assert!(get(b"var/full").starts_with("Dir"));
    assert!(get(b"var/full/keep").contains("[keep]"));
    // Mode and content of a replaced file; the root's mode from ".".
    assert!(
        get(b"etc/hosts").starts_with("File 100600") && get(b"etc/hosts").contains("[new hosts]")
    );
    assert_eq!(
        tree.inode(tree.get(b"").unwrap().inode).unwrap().mode,
        S_IFDIR | 0o700
    );
    // No parent: skipped, as the kernel does.
    assert!(!list.contains_key(b"no/parent".as_slice()));
    let skipped: Vec<&[u8]> = tree.skipped().iter().map(|s| s.name.as_slice()).collect();
    assert!(
        skipped.contains(&b"no/parent".as_slice()) && skipped.contains(&b"var/full".as_slice())
    );
    assert!(
        skipped.contains(&b"orphan/y".as_slice()) && !list.contains_key(b"orphan/y".as_slice())
    );
    assert!(get(b"name\xff\xfe").contains("non-utf8 name"));
    assert!(get(b"dev-console").starts_with("CharDev"));
    assert_eq!(tree.segments().len(), 2);
    assert_eq!(tree.segments()[1].archives, 2);
}

fn options(threads: usize) -> RepackOptions {
    RepackOptions {
        compression: Compression::Bzip2,
        segment_size: 600,
        threads,
    }
}

#[test]
fn repack_keeps_the_merged_tree_and_is_reproducible() {
    let image = layered_image();
    let tree = Tree::read(&image[..]).unwrap();
    let mut outs = Vec::new();
    for threads in [1, 3, 1, 64] {
        let mut out = Vec::new();
        let summary = initrd::repack(&image[..], &tree, None, &options(threads), &mut out).unwrap();
        // More threads than the cap would make the memory grow with the machine's cores.
        assert_eq!(summary.threads, threads.min(initrd::MAX_REPACK_THREADS));
        outs.push(out);
    }
    assert_eq!(outs[0], outs[1], "thread count changed the bytes");
    assert_eq!(outs[0], outs[2], "two runs differ");
    assert_eq!(outs[0], outs[3], "the thread cap changed the bytes");
    let back = Tree::read(&outs[0][..]).unwrap();
    assert!(back.segments().len() > 1);
    assert!(back.skipped().is_empty(), "{:?}", back.skipped());
    assert_eq!(listing(&back, &outs[0]), listing(&tree, &image));
}

#[test]
fn repack_streams_files_larger_than_a_segment() {
    let big: Vec<u8> = (0..50_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let image = initrd::compress(
        Compression::Gzip,
        &newc_archive(&[
            d(b"data"),
            f(b"data/small", b"s"),
            f(b"data/big", &big),
            f(b"data/z", b"z"),
        ]),
    )
    .unwrap();
    let tree = Tree::read(&image[..]).unwrap();
    let mut a = Vec::new();
    let summary = initrd::repack(&image[..], &tree, None, &options(2), &mut a).unwrap();
    let mut b = Vec::new();
    initrd::repack(&image[..], &tree, None, &options(1), &mut b).unwrap();
    assert_eq!(a, b);
    let back = Tree::read(&a[..]).unwrap();
    assert_eq!(back.segments().len() as u64, summary.segments);
    // The big file sits alone in its own segment.
    assert!(
        back.segments()
            .iter()
            .any(|s| s.entries == 1 && s.uncompressed_len > 50_000)
    );
    assert_eq!(listing(&back, &a), listing(&tree, &image));
}

#[test]
fn overlay_and_repack_give_the_same_tree() {
    let image = layered_image();
    let tree = Tree::read(&image[..]).unwrap();
    let edits = Edits {
        put: vec![
            put_bytes(b"etc/hosts", b"overlay hosts", 0o644),
            put_bytes(b"lib/new/module.ko", b"\x7fELF", 0o644),
            put_entry(b"sbin", PutKind::Symlink(b"usr/sbin".to_vec()), 0o777),
        ],
        mtime: 1_700_000_000,
        ..Edits::default()
    };
    let changes = initrd::prepare(&edits, &tree, &image[..]).unwrap();
    assert_eq!(initrd::plan(&changes, None).unwrap(), Strategy::Overlay);
    // The new module went through the lib symlink; its parent directory was created.
    let paths: Vec<&[u8]> = changes.puts.iter().map(|p| p.path.as_slice()).collect();
    assert_eq!(
        paths,
        vec![
            &b"etc/hosts"[..],
            b"sbin",
            b"usr/lib/new",
            b"usr/lib/new/module.ko"
        ]
    );

    let mut overlay = Vec::new();
    initrd::write_overlay(
        image.len() as u64,
        Compression::Gzip,
        &changes,
        &mut overlay,
    )
    .unwrap();
    let mut again = Vec::new();
    initrd::write_overlay(image.len() as u64, Compression::Gzip, &changes, &mut again).unwrap();
    assert_eq!(overlay, again);
    let mut full = image.clone();
    full.extend_from_slice(&overlay);
    let via_overlay = Tree::read(&full[..]).unwrap();

    let mut repacked = Vec::new();
    initrd::repack(
        &image[..],
        &tree,
        Some(&changes),
        &options(2),
        &mut repacked,
    )
    .unwrap();
    let via_repack = Tree::read(&repacked[..]).unwrap();
    let want = listing(&via_overlay, &full);
    assert_eq!(listing(&via_repack, &repacked), want);
    assert!(want[b"etc/hosts".as_slice()].contains("[overlay hosts]"));
    assert!(want[b"usr/lib/new/module.ko".as_slice()].contains("[\\x7fELF]"));
}

#[test]
fn patch_edits_in_overlay_keep_mode_and_owner() {
    let image = initrd::compress(
        Compression::Xz,
        &newc_archive(&[
            d(b"etc"),
            entry(S_IFREG | 0o640, b"etc/conf", b"x = 1\ny = 2\n", 0, 1),
        ]),
    )
    .unwrap();
    let tree = Tree::read(&image[..]).unwrap();
    let patch = isoremix::patch::Patch::parse(
        "p.patch",
        b"--- a/etc/conf\n+++ b/etc/conf\n@@ -1,2 +1,2 @@\n x = 1\n-y = 2\n+y = 3\n--- /dev/null\n+++ b/etc/added\n@@ -0,0 +1 @@\n+new\n",
    )
    .unwrap();
    let edits = Edits {
        patches: vec![patch],
        mtime: 42,
        ..Edits::default()
    };
    let changes = initrd::prepare(&edits, &tree, &image[..]).unwrap();
    let mut overlay = Vec::new();
    initrd::write_overlay(image.len() as u64, Compression::Xz, &changes, &mut overlay).unwrap();
    let mut full = image.clone();
    full.extend_from_slice(&overlay);
    let merged = Tree::read(&full[..]).unwrap();
    let list = listing(&merged, &full);
    assert_eq!(
        list[b"etc/conf".as_slice()],
        "File 100640 1:2 t42 rdev 0:0 [x = 1\\ny = 3\\n] names [\"etc/conf\"]"
    );
    assert_eq!(
        list[b"etc/added".as_slice()],
        "File 100644 0:0 t42 rdev 0:0 [new\\n] names [\"etc/added\"]"
    );
    assert_eq!(merged.segments()[1].compression, Compression::Xz);
}

/// Counts live heap bytes and their peak, to check that a repack's memory does not grow with
/// the image.
struct PeakAlloc;

static LIVE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static PEAK: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

unsafe impl std::alloc::GlobalAlloc for PeakAlloc {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        use std::sync::atomic::Ordering::Relaxed;
        let live = LIVE.fetch_add(layout.size(), Relaxed) + layout.size();
        PEAK.fetch_max(live, Relaxed);
        unsafe { std::alloc::System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        LIVE.fetch_sub(layout.size(), std::sync::atomic::Ordering::Relaxed);
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: PeakAlloc = PeakAlloc;

/// An uncompressed image generated on the fly: `files` entries of the given sizes.
struct Generated {
    files: Vec<(Vec<u8>, u32)>,
    next: usize,
    buf: Vec<u8>,
    pos: usize,
    data_left: u64,
    pad: usize,
    trailer_done: bool,
}

impl Generated {
    fn new(files: Vec<(Vec<u8>, u32)>) -> Self {
        Generated {
            files,
            next: 0,
            buf: Vec::new(),
            pos: 0,
            data_left: 0,
            pad: 0,
            trailer_done: false,
        }
    }
}

impl std::io::Read for Generated {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos < self.buf.len() {
            let n = out.len().min(self.buf.len() - self.pos);
            out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
            self.pos += n;
            return Ok(n);
        }
        if self.data_left > 0 {
            let n = (out.len() as u64).min(self.data_left) as usize;
            for (i, b) in out[..n].iter_mut().enumerate() {
                *b = ((self.data_left as usize + i) % 253) as u8;
            }
            self.data_left -= n as u64;
            return Ok(n);
        }
        self.buf.clear();
        self.pos = 0;
        self.buf.extend_from_slice(&[0u8; 3][..self.pad]);
        self.pad = 0;
        if let Some((name, size)) = self.files.get(self.next) {
            let mut w = NewcWriter::new(Vec::new());
            let (h, name, _) = if name.ends_with(b"/") {
                d(&name[..name.len() - 1])
            } else {
                f(name, b"")
            };
            w.append_bytes(&h, &name, b"").unwrap();
            let mut head = w.finish().unwrap();
            // Keep only the entry (drop the trailer) and patch the size in.
            let entry_len = 110 + name.len() + 1;
            head.truncate(entry_len + (4 - entry_len % 4) % 4);
            head[54..62].copy_from_slice(format!("{size:08x}").as_bytes());
            self.buf.extend_from_slice(&head);
            self.data_left = u64::from(*size);
            self.pad = (4 - *size as usize % 4) % 4;
            self.next += 1;
        } else if !self.trailer_done {
            self.buf
                .extend_from_slice(&NewcWriter::new(Vec::new()).finish().unwrap());
            self.trailer_done = true;
        }
        if self.buf.is_empty() {
            return Ok(0);
        }
        self.read(out)
    }
}

/// A bench-quality check, not timed: repacking 160 MB keeps well under 40 MB of heap with
/// 4 MiB segments and one thread (plus one 24 MB file that must be streamed, not buffered).
#[test]
fn repack_memory_does_not_grow_with_the_image() {
    let mut files = vec![(b"data/".to_vec(), 0)];
    for i in 0..2100u32 {
        files.push((format!("data/f{i:05}").into_bytes(), 64 * 1024 + i % 1000));
    }
    files.push((b"data/huge".to_vec(), 24 << 20));
    let tree = Tree::read(Generated::new(files.clone())).unwrap();
    assert!(tree.image_len() > 160_000_000);
    let options = RepackOptions {
        compression: Compression::None,
        segment_size: 4 << 20,
        threads: 1,
    };
    let before = LIVE.load(std::sync::atomic::Ordering::Relaxed);
    PEAK.store(before, std::sync::atomic::Ordering::Relaxed);
    let mut out = std::io::sink();
    let summary = initrd::repack(Generated::new(files), &tree, None, &options, &mut out).unwrap();
    let peak = PEAK.load(std::sync::atomic::Ordering::Relaxed) - before;
    assert!(summary.bytes > 160_000_000, "{summary:?}");
    eprintln!("repack of {} bytes: heap peak {peak} bytes", summary.bytes);
    assert!(peak < 40 << 20, "repack held {peak} bytes at its peak");
}
