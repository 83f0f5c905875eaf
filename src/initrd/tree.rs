//! The merged tree of an install.img: what the kernel's initramfs unpacker leaves in the root
//! filesystem after unpacking every archive of the sequence in order (init/initramfs.c).
//!
//! Metadata only: file data stay in the image and are located by (segment, offset), so that a
//! second pass can fetch the few contents needed ([`Tree::read_contents`]) or stream everything
//! out (repack, extract).
//!
//! The kernel's rules, reproduced here (`clean_path`, `maybe_link`, `do_name`, `do_symlink`):
//! - names are resolved like any path: `.` and empty components are ignored, `..` goes up (never
//!   above the root), symlinks in the directory part are followed (at most 40), the parent must exist;
//!   an entry whose parent cannot be resolved is skipped (the kernel's create call fails silently);
//! - an existing entry of another file type is removed first (a directory only when empty);
//!   a symlink always replaces what is there (unless a non-empty directory);
//! - a regular file over a regular file truncates and rewrites the existing inode (so a hard-linked
//!   existing file changes under all its names) and takes the new mode, owner and time;
//! - a directory over a directory only updates mode, owner and time;
//! - a device, FIFO or socket over the same type only updates mode, owner and time;
//! - entries with `nlink >= 2` and the same (dev, ino, type) inside one archive are hard links to the
//!   first such name: an existing entry at the new name is removed, the link is made, and data of
//!   the new entry (when its size is not 0) replace the content.
//!
//! - directory times are set after everything is unpacked, the first entry of a directory
//!   last: a later entry for an existing directory changes its mode and owner, not its time.

mod contents;
mod listing;
mod resolve;
mod unpack;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;

use super::newc::{self, S_IFMT};
use super::reader::{Reader, Segment};
use super::{Compression, Result};

pub use listing::mode_string;

/// The type of a tree entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Directory.
    Dir,
    /// Regular file.
    File,
    /// Symbolic link.
    Symlink,
    /// Character device.
    CharDev,
    /// Block device.
    BlockDev,
    /// FIFO.
    Fifo,
    /// Socket.
    Socket,
}

impl Kind {
    /// The kind of a cpio `mode`, `None` for an unknown file type.
    pub fn from_mode(mode: u32) -> Option<Kind> {
        Some(match mode & S_IFMT {
            newc::S_IFDIR => Kind::Dir,
            newc::S_IFREG => Kind::File,
            newc::S_IFLNK => Kind::Symlink,
            newc::S_IFCHR => Kind::CharDev,
            newc::S_IFBLK => Kind::BlockDev,
            newc::S_IFIFO => Kind::Fifo,
            newc::S_IFSOCK => Kind::Socket,
            _ => return None,
        })
    }

    /// The file type bits of this kind.
    pub fn type_bits(self) -> u32 {
        match self {
            Kind::Dir => newc::S_IFDIR,
            Kind::File => newc::S_IFREG,
            Kind::Symlink => newc::S_IFLNK,
            Kind::CharDev => newc::S_IFCHR,
            Kind::BlockDev => newc::S_IFBLK,
            Kind::Fifo => newc::S_IFIFO,
            Kind::Socket => newc::S_IFSOCK,
        }
    }
}

/// Where the content of a regular file comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DataSource {
    /// No content (size 0).
    Empty,
    /// The data of the entry at `offset` of the decompressed stream of segment `segment`.
    Base {
        /// Index of the segment.
        segment: usize,
        /// Offset of the data inside the segment's decompressed stream.
        offset: u64,
    },
    /// The content of the edit with this index (see [`super::Changes`]).
    Edit(usize),
}

/// A file object; several paths share one inode when hard-linked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inode {
    /// The type.
    pub kind: Kind,
    /// Mode: type and permission bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Modification time.
    pub mtime: u32,
    /// Device major number (device nodes).
    pub rdev_major: u32,
    /// Device minor number (device nodes).
    pub rdev_minor: u32,
    /// Content length (regular files).
    pub size: u64,
    /// Where the content is (regular files).
    pub data: DataSource,
    /// Target (symlinks).
    pub target: Vec<u8>,
}

/// A path of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Index of the inode (see [`Tree::inode`]).
    pub inode: usize,
    /// The name as it was stored in the archive that created the entry.
    pub name: Vec<u8>,
    /// Why the stored name is unusual (absolute, `..`, resolved through a symlink), if it is.
    pub unusual: Option<String>,
}

/// An entry the kernel would not create, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The stored name.
    pub name: Vec<u8>,
    /// Why.
    pub reason: String,
}

/// The fields of an incoming entry that the merge rules look at.
#[derive(Debug, Clone)]
pub(crate) struct Incoming<'a> {
    pub name: &'a [u8],
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: u32,
    pub nlink: u32,
    pub ino: u32,
    pub dev: (u32, u32),
    pub rdev: (u32, u32),
    pub size: u64,
    pub target: &'a [u8],
    pub data: DataSource,
    pub archive: u64,
}

/// The merged tree. Paths are canonical: relative to the root, no leading `/`, no `.`/`..`,
/// no symlink in the directory part; the root itself is the empty path.
#[derive(Debug, Clone)]
pub struct Tree {
    nodes: BTreeMap<Vec<u8>, Node>,
    inodes: Vec<Inode>,
    links: HashMap<(u32, u32, u32, u32), Vec<u8>>,
    link_archive: u64,
    skipped: Vec<Skipped>,
    segments: Vec<Segment>,
    image_len: u64,
}

/// File contents kept by [`Tree::read_keeping`], by where their data are in the image.
#[derive(Debug, Clone, Default)]
pub struct Kept {
    data: HashMap<(usize, u64), Vec<u8>>,
}

impl Kept {
    /// Number of contents kept.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True when nothing was kept.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Keeps `data`, the content of the entry whose data start at `offset` of `segment`.
    pub(crate) fn insert(&mut self, segment: usize, offset: u64, data: Vec<u8>) {
        self.data.insert((segment, offset), data);
    }
}

/// A stored name without `/`, `.` and empty components; `None` when it has a `..`.
pub(crate) fn clean_name(name: &[u8]) -> Option<Vec<u8>> {
    let mut parts: Vec<&[u8]> = Vec::new();
    for c in name.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => return None,
            _ => parts.push(c),
        }
    }
    Some(parts.join(&b'/'))
}

/// Why a stored name is unusual on its own (absolute, `..`), if it is.
fn unusual_name(name: &[u8]) -> Option<String> {
    if name.first() == Some(&b'/') {
        Some("absolute name".to_string())
    } else if name.split(|&b| b == b'/').any(|c| c == b"..") {
        Some("name with a '..' component".to_string())
    } else {
        None
    }
}

impl Default for Tree {
    fn default() -> Self {
        Tree::new()
    }
}

impl Tree {
    /// An empty tree: just the root directory (mode 0755, owner 0, time 0; the first `.`
    /// entry sets its time).
    pub fn new() -> Tree {
        let mut nodes = BTreeMap::new();
        nodes.insert(
            Vec::new(),
            Node {
                inode: 0,
                name: Vec::new(),
                unusual: None,
            },
        );
        Tree {
            nodes,
            inodes: vec![Inode {
                kind: Kind::Dir,
                mode: newc::S_IFDIR | 0o755,
                uid: 0,
                gid: 0,
                mtime: 0,
                rdev_major: 0,
                rdev_minor: 0,
                size: 0,
                data: DataSource::Empty,
                target: Vec::new(),
            }],
            links: HashMap::new(),
            link_archive: u64::MAX,
            skipped: Vec::new(),
            segments: Vec::new(),
            image_len: 0,
        }
    }

    /// Reads a whole image once (streaming, data skipped) and builds its merged tree.
    pub fn read<R: Read>(image: R) -> Result<Tree> {
        let mut reader = Reader::new(image);
        let mut tree = Tree::new();
        while let Some(entry) = reader.next_entry()? {
            tree.apply_entry(&entry);
        }
        tree.segments = reader.segments().to_vec();
        tree.image_len = reader.image_position();
        Ok(tree)
    }

    /// Reads a whole image once, as [`Tree::read`], and keeps on the way the data of the
    /// regular-file entries whose stored name, cleaned of `/`, `.` and empty components, is one
    /// of `names` (canonical paths), when not longer than `max_len` bytes each. A later
    /// [`Tree::read_contents_kept`] then needs no second pass over the image for them.
    pub fn read_keeping<R: Read>(image: R, names: &[&[u8]], max_len: u64) -> Result<(Tree, Kept)> {
        Tree::read_from(Reader::new(image), names, max_len)
    }

    /// As [`Tree::read_keeping`], also writing the decompressed data of the image's compressed
    /// segments to `spool` (see [`Reader::with_spool`]), for [`super::repack_spooled`] to
    /// repack without decompressing the image again.
    pub fn read_spooling<R: Read>(
        image: R,
        names: &[&[u8]],
        max_len: u64,
        spool: Box<dyn std::io::Write>,
    ) -> Result<(Tree, Kept)> {
        Tree::read_from(Reader::with_spool(image, spool), names, max_len)
    }

    fn read_from<R: Read>(
        mut reader: Reader<R>,
        names: &[&[u8]],
        max_len: u64,
    ) -> Result<(Tree, Kept)> {
        let wanted: HashSet<&[u8]> = names.iter().copied().collect();
        let mut kept = Kept::default();
        let mut tree = Tree::new();
        while let Some(entry) = reader.next_entry()? {
            tree.apply_entry(&entry);
            let is_file = entry.header.file_type() == newc::S_IFREG;
            if !is_file || u64::from(entry.header.filesize) > max_len || wanted.is_empty() {
                continue;
            }
            let Some(clean) = clean_name(&entry.name) else {
                continue;
            };
            if !wanted.contains(clean.as_slice()) {
                continue;
            }
            let data = reader.data_to_vec(&entry)?;
            kept.data.insert((entry.segment, entry.data_offset), data);
        }
        tree.segments = reader.segments().to_vec();
        tree.image_len = reader.image_position();
        Ok((tree, kept))
    }

    /// Records the segments and length of the image the tree was read from.
    pub(crate) fn set_layout(&mut self, segments: Vec<Segment>, image_len: u64) {
        self.segments = segments;
        self.image_len = image_len;
    }

    /// The segments of the image the tree was read from.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Length in bytes of the image the tree was read from.
    pub fn image_len(&self) -> u64 {
        self.image_len
    }

    /// Compression of the image's last segment (what an overlay should use); `None` for an
    /// empty image.
    pub fn last_compression(&self) -> Option<Compression> {
        self.segments.last().map(|s| s.compression)
    }

    /// Entries the kernel would have skipped, with the reason.
    pub fn skipped(&self) -> &[Skipped] {
        &self.skipped
    }

    /// All paths, sorted by bytes (a directory comes before its content); the root is `""`.
    pub fn nodes(&self) -> impl Iterator<Item = (&[u8], &Node)> {
        self.nodes.iter().map(|(k, v)| (k.as_slice(), v))
    }

    /// Number of paths, the root included.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when only the root exists.
    pub fn is_empty(&self) -> bool {
        self.nodes.len() <= 1
    }

    /// The inode with index `index`.
    pub fn inode(&self, index: usize) -> Option<&Inode> {
        self.inodes.get(index)
    }

    /// The node at a canonical path.
    pub fn get(&self, path: &[u8]) -> Option<&Node> {
        self.nodes.get(path)
    }
}
