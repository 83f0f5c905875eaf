//! What a caller wants changed in install.img ([`Edits`], plain data), resolved against the
//! image's merged tree into [`Changes`] (canonical paths, patches applied, missing parent
//! directories added), and the choice between an appended overlay and a full repack ([`plan`]).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;

use super::Result;
use super::error::{Error, show};
use super::newc::{self, PATH_MAX};
use super::tree::{DataSource, Incoming, Kept, Kind, Tree};
use crate::patch::{self, Patch};

/// Content of a file to add or replace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// The bytes themselves.
    Bytes(Vec<u8>),
    /// A file on the host, read (streamed) when the output is written.
    HostFile(PathBuf),
}

/// What to put at a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutKind {
    /// A regular file.
    File(Content),
    /// A directory (existing content under it is kept).
    Dir,
    /// A symbolic link with this target.
    Symlink(Vec<u8>),
}

/// One entry to add or replace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutEntry {
    /// Path relative to the install.img root (bytes; a leading `/` or `./` is ignored).
    pub path: Vec<u8>,
    /// What to put there.
    pub kind: PutKind,
    /// Permission bits (`0o7777` mask; the type comes from `kind`).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Modification time (the caller derives it from `SOURCE_DATE_EPOCH`).
    pub mtime: u32,
}

/// The changes a caller asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Edits {
    /// Files, directories and symlinks to add or replace, in order (a later one for the same
    /// path wins). The kernel's rules apply, in both strategies alike: a path through a directory
    /// symlink lands where the symlink points; replacing one name of a hard-linked file rewrites
    /// the content shared by all its names (remove the path too to give it its own); a
    /// non-empty directory cannot be replaced without removing it.
    pub put: Vec<PutEntry>,
    /// Paths to remove (a directory with everything under it).
    pub remove: Vec<Vec<u8>>,
    /// Patches to apply, in order, after `put` (a patched path that is also put is patched
    /// on top of the put content).
    pub patches: Vec<Patch>,
    /// Time given to patched files and to directories created as missing parents.
    pub mtime: u32,
}

/// How the output is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Keep the source bytes and append one archive with the new and changed entries.
    Overlay,
    /// Write one merged archive (needed for removals).
    Repack,
    /// Keep the source's bzip2 blocks and re-encode only those holding changed entries (see
    /// `super::splice`).
    Splice,
}

/// Edits resolved against an image: what to write, and the merged tree after the edits.
#[derive(Debug, Clone)]
pub struct Changes {
    /// Entries to write, at canonical paths, sorted by path (parents first); patched files
    /// hold their new content as bytes.
    pub puts: Vec<PutEntry>,
    /// Canonical paths removed.
    pub removes: Vec<Vec<u8>>,
    /// The merged tree after the edits; file contents from edits are
    /// [`DataSource::Edit`] indexes into `puts`.
    pub merged: Tree,
}

impl Changes {
    /// True when nothing is put nor removed (the source can be kept as it is).
    pub fn is_empty(&self) -> bool {
        self.puts.is_empty() && self.removes.is_empty()
    }
}

/// Cleans a caller-given path: drops a leading `/`, `.` and empty components; refuses `..`,
/// NUL bytes and the empty path.
pub(crate) fn normalize(path: &[u8]) -> Result<Vec<u8>> {
    let err = |what: &str| Error::Edit {
        path: path.to_vec(),
        what: what.to_string(),
    };
    if path.contains(&0) {
        return Err(err("path holds a NUL byte"));
    }
    let mut parts = Vec::new();
    for c in path.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => return Err(err("path has a '..' component")),
            _ => parts.push(c),
        }
    }
    if parts.is_empty() {
        return Err(err("empty path (the root itself)"));
    }
    let out = parts.join(&b'/');
    if out.len() >= PATH_MAX as usize {
        return Err(err("path longer than 4095 bytes"));
    }
    Ok(out)
}

fn content_len(path: &[u8], c: &Content) -> Result<u64> {
    match c {
        Content::Bytes(b) => Ok(b.len() as u64),
        Content::HostFile(p) => crate::input::check(p)
            .map(|m| m.len())
            .map_err(|e| Error::io(format!("{} (content of {})", p.display(), show(path)), e)),
    }
}

fn read_content(path: &[u8], c: &Content) -> Result<Vec<u8>> {
    match c {
        Content::Bytes(b) => Ok(b.clone()),
        Content::HostFile(p) => crate::input::read(p)
            .map_err(|e| Error::io(format!("{} (content of {})", p.display(), show(path)), e)),
    }
}

impl PutEntry {
    fn mode_bits(&self) -> u32 {
        let t = match self.kind {
            PutKind::File(_) => newc::S_IFREG,
            PutKind::Dir => newc::S_IFDIR,
            PutKind::Symlink(_) => newc::S_IFLNK,
        };
        t | (self.mode & 0o7777)
    }

    /// Length of the data this entry writes (file content or symlink target).
    pub fn data_len(&self) -> Result<u64> {
        match &self.kind {
            PutKind::File(c) => content_len(&self.path, c),
            PutKind::Dir => Ok(0),
            PutKind::Symlink(t) => Ok(t.len() as u64),
        }
    }
}

/// Applies `put` (index `index` in the final list) to `tree` with the kernel's rules; an error
/// when the kernel would not create it.
fn apply_put(tree: &mut Tree, put: &PutEntry, index: usize, archive: u64) -> Result<()> {
    let size = put.data_len()?;
    let target: &[u8] = match &put.kind {
        PutKind::Symlink(t) => t,
        _ => &[],
    };
    if target.is_empty() && matches!(put.kind, PutKind::Symlink(_)) {
        return Err(Error::Edit {
            path: put.path.clone(),
            what: "empty symlink target".to_string(),
        });
    }
    let skipped_before = tree.skipped().len();
    tree.apply(&Incoming {
        name: &put.path,
        mode: put.mode_bits(),
        uid: put.uid,
        gid: put.gid,
        mtime: put.mtime,
        nlink: 1,
        ino: 0,
        dev: (0, 0),
        rdev: (0, 0),
        size,
        target,
        data: DataSource::Edit(index),
        archive,
    });
    if let Some(s) = tree.skipped().get(skipped_before) {
        return Err(Error::Edit {
            path: put.path.clone(),
            what: format!("the kernel would not create it: {}", s.reason),
        });
    }
    Ok(())
}

/// Path → new content (`None`: deleted).
type Patched = BTreeMap<Vec<u8>, Option<Vec<u8>>>;
/// Path → mode a patch gives a created file.
type NewModes = BTreeMap<Vec<u8>, Option<u32>>;

/// New contents (`None`: deleted) of every path the patches touch, and the modes the patches
/// give to created files. The current content of a path comes from an earlier patch, else
/// from a put, else from the image (all fetched in one pass).
fn apply_patches<R: Read>(
    patches: &[Patch],
    tree: &Tree,
    kept: &Kept,
    scratch: &Tree,
    puts: &BTreeMap<Vec<u8>, PutEntry>,
    image: R,
) -> Result<(Patched, NewModes)> {
    let mut from_image: Vec<Vec<u8>> = Vec::new();
    for f in patches.iter().flat_map(|p| &p.files) {
        let norm = normalize(f.path())?;
        if puts.contains_key(&norm) || from_image.contains(&norm) {
            continue;
        }
        let exists = scratch
            .lookup(&norm)
            .and_then(|(_, n)| scratch.inode(n.inode))
            .is_some_and(|i| i.kind == Kind::File);
        if exists {
            from_image.push(norm);
        }
    }
    let fetched = if from_image.is_empty() {
        BTreeMap::new()
    } else {
        let names: Vec<&[u8]> = from_image.iter().map(|v| v.as_slice()).collect();
        tree.read_contents_kept(kept, image, &names)?
    };
    let mut patched: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
    let mut new_modes: BTreeMap<Vec<u8>, Option<u32>> = BTreeMap::new();
    for p in patches {
        for f in &p.files {
            let norm = normalize(f.path())?;
            let current: Option<Vec<u8>> = match patched.get(&norm) {
                Some(c) => c.clone(),
                None => match puts.get(&norm) {
                    Some(PutEntry {
                        kind: PutKind::File(c),
                        ..
                    }) => Some(read_content(&norm, c)?),
                    Some(_) => None,
                    None => fetched.get(&norm).cloned(),
                },
            };
            let result = patch::apply(&p.name, f, current.as_deref())?;
            patched.insert(norm.clone(), result);
            new_modes.entry(norm).or_insert(f.new_mode);
        }
    }
    Ok((patched, new_modes))
}

/// The paths the patches of `edits` touch, normalized (canonical unless reached through a
/// symlink): what to keep while reading the tree ([`Tree::read_keeping`]) so that
/// [`prepare_kept`] needs no second pass over the image.
pub fn patch_targets(edits: &Edits) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for f in edits.patches.iter().flat_map(|p| &p.files) {
        let norm = normalize(f.path())?;
        if !out.contains(&norm) {
            out.push(norm);
        }
    }
    Ok(out)
}

/// Resolves `edits` against `tree` (the source image's tree); `image` is the same image, read
/// once when patches need the current content of files.
pub fn prepare<R: Read>(edits: &Edits, tree: &Tree, image: R) -> Result<Changes> {
    prepare_kept(edits, tree, &Kept::default(), image)
}

/// As [`prepare`], taking the current content of patched files from `kept` when it holds
/// them (see [`patch_targets`]); `image` is read only for the others.
pub fn prepare_kept<R: Read>(edits: &Edits, tree: &Tree, kept: &Kept, image: R) -> Result<Changes> {
    let mut scratch = tree.clone();
    let mut removes = Vec::new();
    for r in &edits.remove {
        let norm = normalize(r)?;
        let canonical = scratch.resolve(&norm).map_err(|what| Error::Edit {
            path: r.clone(),
            what,
        })?;
        scratch.remove(&canonical)?;
        removes.push(canonical);
    }

    // Explicit puts, last one wins per path.
    let mut puts: BTreeMap<Vec<u8>, PutEntry> = BTreeMap::new();
    let mut order: Vec<Vec<u8>> = Vec::new();
    for p in &edits.put {
        let norm = normalize(&p.path)?;
        let mut p = p.clone();
        p.path = norm.clone();
        if !puts.contains_key(&norm) {
            order.push(norm.clone());
        }
        puts.insert(norm, p);
    }

    let (patched, new_modes) = apply_patches(&edits.patches, tree, kept, &scratch, &puts, image)?;
    let mut extra_removes = Vec::new();
    for (path, content) in patched {
        match content {
            None => {
                puts.remove(&path);
                order.retain(|p| p != &path);
                extra_removes.push(path);
            }
            Some(bytes) => {
                let entry = match puts.get(&path) {
                    Some(p) => PutEntry {
                        kind: PutKind::File(Content::Bytes(bytes)),
                        mtime: edits.mtime,
                        ..p.clone()
                    },
                    None => {
                        let existing = scratch
                            .lookup(&path)
                            .and_then(|(_, n)| scratch.inode(n.inode))
                            .filter(|i| i.kind == Kind::File);
                        let (mode, uid, gid) = match existing {
                            Some(i) => (i.mode & 0o7777, i.uid, i.gid),
                            None => (
                                new_modes.get(&path).copied().flatten().unwrap_or(0o644) & 0o7777,
                                0,
                                0,
                            ),
                        };
                        order.push(path.clone());
                        PutEntry {
                            path: path.clone(),
                            kind: PutKind::File(Content::Bytes(bytes)),
                            mode,
                            uid,
                            gid,
                            mtime: edits.mtime,
                        }
                    }
                };
                puts.insert(path, entry);
            }
        }
    }
    for r in extra_removes {
        // A file only created by a put and deleted by a patch was never in the image.
        if let Some((canonical, _)) = scratch.lookup(&r) {
            scratch.remove(&canonical)?;
            removes.push(canonical);
        }
    }

    // Canonical paths, missing parents created, then everything applied in path order.
    let mut resolved: BTreeMap<Vec<u8>, PutEntry> = BTreeMap::new();
    let mut probe = scratch.clone();
    let archive = scratch.next_archive();
    for path in &order {
        let Some(put) = puts.get(path) else { continue };
        let comps: Vec<&[u8]> = path.split(|&b| b == b'/').collect();
        for depth in 1..comps.len() {
            let prefix = comps[..depth].join(&b'/');
            let canonical = probe.resolve(&prefix).map_err(|what| Error::Edit {
                path: path.clone(),
                what,
            })?;
            if probe.get(&canonical).is_none() {
                let dir = PutEntry {
                    path: canonical.clone(),
                    kind: PutKind::Dir,
                    mode: 0o755,
                    uid: 0,
                    gid: 0,
                    mtime: edits.mtime,
                };
                apply_put(&mut probe, &dir, 0, archive)?;
                resolved.entry(canonical).or_insert(dir);
            }
        }
        let canonical = probe.resolve(path).map_err(|what| Error::Edit {
            path: path.clone(),
            what,
        })?;
        let mut put = put.clone();
        put.path = canonical.clone();
        apply_put(&mut probe, &put, 0, archive)?;
        resolved.insert(canonical, put);
    }
    let puts: Vec<PutEntry> = resolved.into_values().collect();
    for (i, put) in puts.iter().enumerate() {
        apply_put(&mut scratch, put, i, archive)?;
    }
    removes.sort();
    removes.dedup();
    Ok(Changes {
        puts,
        removes,
        merged: scratch,
    })
}

/// Chooses how to write `changes`: an overlay unless something is removed, or what `forced`
/// says (an error when an overlay is forced but cannot express the changes).
pub fn plan(changes: &Changes, forced: Option<Strategy>) -> Result<Strategy> {
    match (forced, changes.removes.first()) {
        (Some(Strategy::Overlay), Some(path)) => Err(Error::Edit {
            path: path.clone(),
            what: "a removal cannot be expressed by an appended overlay; use a repack".to_string(),
        }),
        (Some(s), _) => Ok(s),
        (None, Some(_)) => Ok(Strategy::Repack),
        (None, None) => Ok(Strategy::Overlay),
    }
}

/// Opens the content of a put for streaming.
pub(crate) fn open_content(put: &PutEntry) -> Result<(u64, Box<dyn Read + '_>)> {
    match &put.kind {
        PutKind::File(Content::Bytes(b)) => Ok((b.len() as u64, Box::new(&b[..]))),
        PutKind::File(Content::HostFile(p)) => {
            let f = crate::input::open(p).map_err(|e| {
                Error::io(
                    format!("{} (content of {})", p.display(), show(&put.path)),
                    e,
                )
            })?;
            let len = f
                .metadata()
                .map_err(|e| {
                    Error::io(
                        format!("{} (content of {})", p.display(), show(&put.path)),
                        e,
                    )
                })?
                .len();
            Ok((len, Box::new(std::io::BufReader::new(f))))
        }
        PutKind::Dir => Ok((0, Box::new(std::io::empty()))),
        PutKind::Symlink(t) => Ok((t.len() as u64, Box::new(&t[..]))),
    }
}

/// The newc header of a put (inode number and link count given by the writer).
pub(crate) fn put_header(put: &PutEntry, ino: u32) -> newc::Header {
    newc::Header {
        ino,
        mode: put.mode_bits(),
        uid: put.uid,
        gid: put.gid,
        nlink: if matches!(put.kind, PutKind::Dir) {
            2
        } else {
            1
        },
        mtime: put.mtime,
        ..newc::Header::default()
    }
}
