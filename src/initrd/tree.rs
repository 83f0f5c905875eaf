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

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::io::Read;

use super::error::{Error, show};
use super::newc::{self, S_IFMT};
use super::reader::{Entry, Reader, Segment};
use super::{Compression, Result};

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

const MAX_SYMLINK_FOLLOWS: usize = 40;

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

/// `ls -l`'s mode column: the type letter `kind` (`-`, `d`, `l`...) and the permission bits of
/// `mode` with setuid, setgid and sticky as `s`/`S` and `t`/`T`.
pub fn mode_string(kind: char, mode: u32) -> String {
    let mut perm = String::with_capacity(10);
    perm.push(kind);
    for (shift, special, set_char) in [(6, 0o4000, 's'), (3, 0o2000, 's'), (0, 0o1000, 't')] {
        let bits = (mode >> shift) & 7;
        perm.push(if bits & 4 != 0 { 'r' } else { '-' });
        perm.push(if bits & 2 != 0 { 'w' } else { '-' });
        perm.push(match (bits & 1 != 0, mode & special != 0) {
            (true, true) => set_char,
            (false, true) => set_char.to_ascii_uppercase(),
            (true, false) => 'x',
            (false, false) => '-',
        });
    }
    perm
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
            let mut data = Vec::with_capacity(entry.header.filesize as usize);
            reader
                .data()
                .read_to_end(&mut data)
                .map_err(|e| Error::io(format!("reading {}", show(&entry.name)), e))?;
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

    /// Resolves `name` as the kernel would (directory symlinks followed, the last component not)
    /// and returns its canonical path, whether or not something exists there.
    pub fn resolve(&self, name: &[u8]) -> std::result::Result<Vec<u8>, String> {
        self.resolve_inner(name).map(|r| r.0)
    }

    /// Returns (canonical path, went through a symlink, names the directory itself).
    ///
    /// Costs O(length of the name) in the usual case (a name whose parent directory exists
    /// and that holds no `..` nor symlink): one lookup of the parent. Otherwise the name is
    /// walked component by component, the path built incrementally; the walk is bounded by the
    /// reader's limits on names (see [`newc::PATH_MAX`], [`newc::MAX_DEPTH`]) and by
    /// [`MAX_SYMLINK_FOLLOWS`], and a resolved path longer than [`newc::PATH_MAX`] fails as the
    /// kernel's would.
    fn resolve_inner(&self, name: &[u8]) -> std::result::Result<(Vec<u8>, bool, bool), String> {
        if let Some(found) = self.resolve_direct(name) {
            return Ok(found);
        }
        let mut parts: Vec<&[u8]> = name.split(|&b| b == b'/').collect();
        let last = parts.pop().unwrap_or(&[]);
        let mut queue: VecDeque<Vec<u8>> = parts.iter().map(|p| p.to_vec()).collect();
        // The canonical path so far, and where each of its components starts.
        let mut here: Vec<u8> = Vec::new();
        let mut starts: Vec<usize> = Vec::new();
        let pop = |here: &mut Vec<u8>, starts: &mut Vec<usize>| {
            if let Some(at) = starts.pop() {
                here.truncate(at.saturating_sub(1));
            }
        };
        let push = |here: &mut Vec<u8>, starts: &mut Vec<usize>, comp: &[u8]| {
            if !here.is_empty() {
                here.push(b'/');
            }
            starts.push(here.len());
            here.extend_from_slice(comp);
        };
        let mut follows = 0;
        let mut through = false;
        while let Some(comp) = queue.pop_front() {
            match comp.as_slice() {
                b"" | b"." => continue,
                b".." => {
                    pop(&mut here, &mut starts);
                    continue;
                }
                _ => {}
            }
            push(&mut here, &mut starts, &comp);
            if here.len() > newc::PATH_MAX as usize {
                return Err(format!(
                    "resolves to a path longer than {} bytes",
                    newc::PATH_MAX
                ));
            }
            let Some(node) = self.nodes.get(&here) else {
                return Err(format!("parent directory /{} does not exist", show(&here)));
            };
            let inode = self
                .inodes
                .get(node.inode)
                .ok_or("internal: dangling inode")?;
            match inode.kind {
                Kind::Dir => {}
                Kind::Symlink => {
                    follows += 1;
                    if follows > MAX_SYMLINK_FOLLOWS {
                        return Err("too many levels of symbolic links".to_string());
                    }
                    through = true;
                    pop(&mut here, &mut starts);
                    if inode.target.first() == Some(&b'/') {
                        here.clear();
                        starts.clear();
                    }
                    for (i, p) in inode.target.split(|&b| b == b'/').enumerate() {
                        queue.insert(i, p.to_vec());
                    }
                }
                _ => return Err(format!("/{} is not a directory", show(&here))),
            }
        }
        match last {
            b"" | b"." => Ok((here, through, true)),
            b".." => {
                pop(&mut here, &mut starts);
                Ok((here, through, true))
            }
            _ => {
                push(&mut here, &mut starts, last);
                Ok((here, through, false))
            }
        }
    }

    /// The usual case of [`Tree::resolve_inner`] in one lookup: a name without `..` whose
    /// directory part, cleaned of `/` and `.`, is an existing directory. Canonical paths hold
    /// no symlink in their directory part, so every component above that directory is one too.
    /// `None` when the name needs the component walk.
    fn resolve_direct(&self, name: &[u8]) -> Option<(Vec<u8>, bool, bool)> {
        let mut parts: Vec<&[u8]> = name.split(|&b| b == b'/').collect();
        let last = parts.pop().unwrap_or(&[]);
        if last == b".." || parts.contains(&&b".."[..]) {
            return None;
        }
        let dir = clean_name(&parts.join(&b'/'))?;
        let is_dir = dir.is_empty()
            || self
                .nodes
                .get(&dir)
                .and_then(|n| self.inodes.get(n.inode))
                .is_some_and(|i| i.kind == Kind::Dir);
        if !is_dir {
            return None;
        }
        match last {
            b"" | b"." => Some((dir, false, true)),
            _ => {
                let mut path = dir;
                if !path.is_empty() {
                    path.push(b'/');
                }
                path.extend_from_slice(last);
                Some((path, false, false))
            }
        }
    }

    /// One line of a listing, `ls -l` style but deterministic (times in seconds since the
    /// epoch): type and permissions, owner/group, size (or device numbers), time, `/path`, and
    /// `-> target` for a symlink. `None` when `path` (canonical) is not in the tree.
    pub fn list_line(&self, path: &[u8]) -> Option<String> {
        let node = self.nodes.get(path)?;
        let i = self.inodes.get(node.inode)?;
        let t = match i.kind {
            Kind::Dir => 'd',
            Kind::File => '-',
            Kind::Symlink => 'l',
            Kind::CharDev => 'c',
            Kind::BlockDev => 'b',
            Kind::Fifo => 'p',
            Kind::Socket => 's',
        };
        let perm = mode_string(t, i.mode);
        let size = match i.kind {
            Kind::CharDev | Kind::BlockDev => format!("{},{}", i.rdev_major, i.rdev_minor),
            Kind::Symlink => i.target.len().to_string(),
            _ => i.size.to_string(),
        };
        let mut line = format!(
            "{perm} {}/{} {size:>10} {} /{}",
            i.uid,
            i.gid,
            i.mtime,
            show(path)
        );
        if i.kind == Kind::Symlink {
            line.push_str(&format!(" -> {}", show(&i.target)));
        }
        Some(line)
    }

    /// The node a name leads to (directory symlinks followed, the last component not).
    pub fn lookup(&self, name: &[u8]) -> Option<(Vec<u8>, &Node)> {
        let path = self.resolve(name).ok()?;
        let node = self.nodes.get(&path)?;
        Some((path, node))
    }

    fn has_children(&self, path: &[u8]) -> bool {
        if path.is_empty() {
            return self.nodes.len() > 1;
        }
        let mut prefix = path.to_vec();
        prefix.push(b'/');
        self.nodes
            .range(prefix.clone()..)
            .next()
            .is_some_and(|(k, _)| k.starts_with(&prefix))
    }

    fn kind_at(&self, path: &[u8]) -> Option<Kind> {
        let node = self.nodes.get(path)?;
        self.inodes.get(node.inode).map(|i| i.kind)
    }

    /// The kernel's `clean_path`: removes what is at `path` when its type differs from `mode`'s
    /// (a directory only when empty).
    fn clean_path(&mut self, path: &[u8], mode: u32) {
        let Some(kind) = self.kind_at(path) else {
            return;
        };
        if kind.type_bits() == mode & S_IFMT || path.is_empty() {
            return;
        }
        if kind == Kind::Dir && self.has_children(path) {
            return;
        }
        self.nodes.remove(path);
    }

    /// Records the first name of a hard-link group; returns the recorded name when the group
    /// was already known (this entry is then a further link).
    fn register_link(&mut self, e: &Incoming) -> Option<Vec<u8>> {
        if e.nlink < 2 {
            return None;
        }
        if e.archive != self.link_archive {
            self.links.clear();
            self.link_archive = e.archive;
        }
        let key = (e.dev.0, e.dev.1, e.ino, e.mode & S_IFMT);
        match self.links.get(&key) {
            Some(old) => Some(old.clone()),
            None => {
                self.links.insert(key, e.name.to_vec());
                None
            }
        }
    }

    /// The kernel's `maybe_link`: 0 not a link (or the first of its group), 1 linked, -1 failed.
    fn maybe_link(&mut self, e: &Incoming, path: &[u8]) -> i32 {
        let Some(old) = self.register_link(e) else {
            return 0;
        };
        self.clean_path(path, 0);
        let Some((_, old_node)) = self.lookup(&old) else {
            return -1;
        };
        let inode = old_node.inode;
        if self.inodes.get(inode).is_none_or(|i| i.kind == Kind::Dir)
            || self.nodes.contains_key(path)
        {
            return -1;
        }
        self.nodes.insert(
            path.to_vec(),
            Node {
                inode,
                name: e.name.to_vec(),
                unusual: unusual_name(e.name),
            },
        );
        1
    }

    fn skip(&mut self, name: &[u8], reason: impl Into<String>) {
        self.skipped.push(Skipped {
            name: name.to_vec(),
            reason: reason.into(),
        });
    }

    fn new_inode(&mut self, e: &Incoming, kind: Kind) -> usize {
        self.inodes.push(Inode {
            kind,
            mode: e.mode,
            uid: e.uid,
            gid: e.gid,
            mtime: e.mtime,
            rdev_major: e.rdev.0,
            rdev_minor: e.rdev.1,
            size: if kind == Kind::File { e.size } else { 0 },
            data: if kind == Kind::File && e.size > 0 {
                e.data
            } else {
                DataSource::Empty
            },
            target: if kind == Kind::Symlink {
                e.target.to_vec()
            } else {
                Vec::new()
            },
        });
        self.inodes.len() - 1
    }

    fn set_meta(&mut self, inode: usize, e: &Incoming) {
        if let Some(i) = self.inodes.get_mut(inode) {
            i.mode = (i.mode & S_IFMT) | (e.mode & !S_IFMT);
            i.uid = e.uid;
            i.gid = e.gid;
            i.mtime = e.mtime;
        }
    }

    fn insert_node(&mut self, path: Vec<u8>, inode: usize, e: &Incoming, unusual: Option<String>) {
        self.nodes.insert(
            path,
            Node {
                inode,
                name: e.name.to_vec(),
                unusual,
            },
        );
    }

    /// Applies one entry read from an image.
    pub fn apply_entry(&mut self, entry: &Entry) {
        let h = &entry.header;
        let e = Incoming {
            name: &entry.name,
            mode: h.mode,
            uid: h.uid,
            gid: h.gid,
            mtime: h.mtime,
            nlink: h.nlink,
            ino: h.ino,
            dev: (h.dev_major, h.dev_minor),
            rdev: (h.rdev_major, h.rdev_minor),
            size: u64::from(h.filesize),
            target: entry.link_target.as_deref().unwrap_or(&[]),
            data: DataSource::Base {
                segment: entry.segment,
                offset: entry.data_offset,
            },
            archive: entry.archive,
        };
        self.apply(&e);
    }

    /// Applies one incoming entry with the kernel's rules.
    pub(crate) fn apply(&mut self, e: &Incoming) {
        let Some(kind) = Kind::from_mode(e.mode) else {
            self.skip(e.name, format!("unknown file type in mode {:o}", e.mode));
            return;
        };
        let (path, through, is_self) = match self.resolve_inner(e.name) {
            Ok(r) => r,
            Err(reason) => {
                // The kernel records a hard-link group's first name before trying to create it,
                // so later names of the group link to a name that does not exist and fail too.
                if !matches!(kind, Kind::Dir | Kind::Symlink) {
                    self.register_link(e);
                }
                self.skip(e.name, reason);
                return;
            }
        };
        let unusual = unusual_name(e.name)
            .or_else(|| through.then(|| "name resolved through a symlink".to_string()));
        if is_self && kind != Kind::Dir {
            self.skip(e.name, "names a directory, not a file");
            return;
        }
        // An unusual name touching an existing entry marks it (extraction then refuses it).
        if let Some(reason) = &unusual
            && let Some(node) = self.nodes.get_mut(&path)
        {
            node.unusual = Some(reason.clone());
        }
        match kind {
            Kind::File => {
                self.clean_path(&path, e.mode);
                let ml = self.maybe_link(e, &path);
                if ml < 0 {
                    self.skip(e.name, "hard link to a name that no longer exists");
                    return;
                }
                if ml == 1
                    && let (Some(reason), Some(node)) = (&unusual, self.nodes.get_mut(&path))
                {
                    node.unusual = Some(reason.clone());
                }
                let existing = self.nodes.get(&path).map(|n| n.inode);
                let inode = match existing {
                    Some(i) if ml == 1 => i,
                    Some(i) if self.inodes.get(i).is_some_and(|x| x.kind == Kind::File) => i,
                    Some(_) => {
                        self.skip(e.name, "a non-empty directory is in the way");
                        return;
                    }
                    None => {
                        let i = self.new_inode(e, kind);
                        self.insert_node(path, i, e, unusual);
                        return;
                    }
                };
                self.set_meta(inode, e);
                if let Some(i) = self.inodes.get_mut(inode)
                    && (ml != 1 || e.size > 0)
                {
                    i.size = e.size;
                    i.data = if e.size > 0 {
                        e.data
                    } else {
                        DataSource::Empty
                    };
                }
            }
            Kind::Dir => {
                self.clean_path(&path, e.mode);
                match self.nodes.get(&path).map(|n| n.inode) {
                    Some(i) => {
                        if self.inodes.get(i).is_some_and(|x| x.kind == Kind::Dir) {
                            // mkdir fails, chown and chmod apply; the time does not change:
                            // the kernel sets directory times after unpacking, the first
                            // entry of a directory last, so the first one wins.
                            // (The root exists before any entry: its first `.` entry sets it.)
                            let root_unnamed =
                                self.nodes.get(&path).is_some_and(|n| n.name.is_empty());
                            let mtime = match self.inodes.get(i) {
                                Some(x) if !root_unnamed => x.mtime,
                                _ => e.mtime,
                            };
                            self.set_meta(i, e);
                            if let Some(x) = self.inodes.get_mut(i) {
                                x.mtime = mtime;
                            }
                            if let Some(n) = self.nodes.get_mut(&path) {
                                n.name = e.name.to_vec();
                            }
                        }
                    }
                    None => {
                        let i = self.new_inode(e, kind);
                        self.insert_node(path, i, e, unusual);
                    }
                }
            }
            Kind::Symlink => {
                self.clean_path(&path, 0);
                if self.nodes.contains_key(&path) {
                    self.skip(e.name, "a non-empty directory is in the way");
                    return;
                }
                let i = self.new_inode(e, kind);
                self.insert_node(path, i, e, unusual);
            }
            Kind::CharDev | Kind::BlockDev | Kind::Fifo | Kind::Socket => {
                self.clean_path(&path, e.mode);
                match self.maybe_link(e, &path) {
                    0 => {}
                    1 => return,
                    _ => {
                        self.skip(e.name, "hard link to a name that no longer exists");
                        return;
                    }
                }
                match self.nodes.get(&path).map(|n| n.inode) {
                    Some(i) if self.inodes.get(i).is_some_and(|x| x.kind == kind) => {
                        self.set_meta(i, e)
                    }
                    Some(_) => self.skip(e.name, "a non-empty directory is in the way"),
                    None => {
                        let i = self.new_inode(e, kind);
                        self.insert_node(path, i, e, unusual);
                    }
                }
            }
        }
    }

    /// Removes `name` and, for a directory, everything under it. Error when nothing is there.
    pub fn remove(&mut self, name: &[u8]) -> Result<()> {
        let path = self.resolve(name).map_err(|what| Error::Edit {
            path: name.to_vec(),
            what,
        })?;
        if path.is_empty() {
            return Err(Error::Edit {
                path: name.to_vec(),
                what: "the root directory cannot be removed".to_string(),
            });
        }
        if self.nodes.remove(&path).is_none() {
            return Err(Error::Edit {
                path: name.to_vec(),
                what: "cannot remove: no such entry in install.img".to_string(),
            });
        }
        let mut prefix = path;
        prefix.push(b'/');
        let under: Vec<Vec<u8>> = self
            .nodes
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| k.clone())
            .collect();
        for k in under {
            self.nodes.remove(&k);
        }
        Ok(())
    }

    /// The index an archive appended after this image gets (hard links never join across
    /// archives).
    pub(crate) fn next_archive(&self) -> u64 {
        self.segments.iter().map(|s| s.archives).sum::<u64>() + 1
    }

    /// The inodes of regular files with data, grouped with all their paths (sorted), ordered by
    /// where their data come from (image order first, then edits).
    pub fn files_by_data(&self) -> Vec<(DataSource, usize, Vec<&[u8]>)> {
        let mut groups: BTreeMap<(DataSource, usize), Vec<&[u8]>> = BTreeMap::new();
        for (path, node) in &self.nodes {
            if let Some(i) = self.inodes.get(node.inode)
                && i.kind == Kind::File
                && i.data != DataSource::Empty
            {
                groups.entry((i.data, node.inode)).or_default().push(path);
            }
        }
        groups.into_iter().map(|((d, i), p)| (d, i, p)).collect()
    }

    /// Fetches, in one pass over `image` (the same image the tree was read from), the final
    /// content of the regular files at `names`. Errors when a name is missing or not a file.
    pub fn read_contents<R: Read>(
        &self,
        image: R,
        names: &[&[u8]],
    ) -> Result<BTreeMap<Vec<u8>, Vec<u8>>> {
        self.read_contents_kept(&Kept::default(), image, names)
    }

    /// As [`Tree::read_contents`], taking the contents from `kept` (see [`Tree::read_keeping`])
    /// when it holds them: `image` is only read when some content is missing there.
    pub fn read_contents_kept<R: Read>(
        &self,
        kept: &Kept,
        image: R,
        names: &[&[u8]],
    ) -> Result<BTreeMap<Vec<u8>, Vec<u8>>> {
        let mut out = BTreeMap::new();
        let mut wanted: HashMap<(usize, u64), Vec<Vec<u8>>> = HashMap::new();
        for &name in names {
            let not_file = |what: &str| Error::Edit {
                path: name.to_vec(),
                what: what.to_string(),
            };
            let (_, node) = self
                .lookup(name)
                .ok_or_else(|| not_file("no such file in install.img"))?;
            let inode = self
                .inodes
                .get(node.inode)
                .ok_or_else(|| not_file("internal: dangling inode"))?;
            if inode.kind != Kind::File {
                return Err(not_file("not a regular file in install.img"));
            }
            match inode.data {
                DataSource::Empty => {
                    out.insert(name.to_vec(), Vec::new());
                }
                DataSource::Base { segment, offset } => match kept.data.get(&(segment, offset)) {
                    Some(data) if data.len() as u64 == inode.size => {
                        out.insert(name.to_vec(), data.clone());
                    }
                    _ => wanted
                        .entry((segment, offset))
                        .or_default()
                        .push(name.to_vec()),
                },
                DataSource::Edit(_) => {
                    return Err(not_file("content is an edit, not in the image"));
                }
            }
        }
        if wanted.is_empty() {
            return Ok(out);
        }
        let mut reader = Reader::new(image);
        let mut found = HashSet::new();
        while let Some(entry) = reader.next_entry()? {
            let key = (entry.segment, entry.data_offset);
            if let Some(names) = wanted.get(&key) {
                let mut data = Vec::with_capacity(entry.header.filesize as usize);
                reader
                    .data()
                    .read_to_end(&mut data)
                    .map_err(|e| Error::io(format!("reading {}", show(&entry.name)), e))?;
                for n in names {
                    out.insert(n.clone(), data.clone());
                }
                found.insert(key);
                if found.len() == wanted.len() {
                    break;
                }
            }
        }
        if found.len() != wanted.len() {
            return Err(Error::io(
                "fetching file contents",
                std::io::Error::other("the image differs from the one the tree was read from"),
            ));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_lines() {
        let mut t = Tree::new();
        let inc = |name: &'static [u8], mode: u32, target: &'static [u8]| Incoming {
            name,
            mode,
            uid: 0,
            gid: 0,
            mtime: 5,
            nlink: 1,
            ino: 0,
            dev: (0, 0),
            rdev: (0, 0),
            size: 3,
            target,
            data: DataSource::Empty,
            archive: 0,
        };
        t.apply(&inc(b"tmp", newc::S_IFDIR | 0o1777, b""));
        t.apply(&inc(b"su", newc::S_IFREG | 0o4755, b""));
        t.apply(&inc(b"l", newc::S_IFLNK | 0o777, b"su"));
        assert_eq!(
            t.list_line(b"tmp").unwrap(),
            "drwxrwxrwt 0/0          0 5 /tmp"
        );
        assert_eq!(
            t.list_line(b"su").unwrap(),
            "-rwsr-xr-x 0/0          3 5 /su"
        );
        assert_eq!(
            t.list_line(b"l").unwrap(),
            "lrwxrwxrwx 0/0          2 5 /l -> su"
        );
        assert_eq!(t.list_line(b"").unwrap(), "drwxr-xr-x 0/0          0 0 /");
    }
}
