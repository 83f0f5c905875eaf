//! A safe unpack of an image's merged tree into a directory, without root.
//!
//! Refused, with an error naming the entry: names that are absolute, hold a `..` component or
//! reach their place through a symlink of the archive (the kernel resolves those inside its root
//! filesystem, but an archive that relies on them is not something to unpack on a host), and any
//! write whose parent in the destination is not a real directory (each parent component is
//! checked with `symlink_metadata`, files are created with `O_EXCL`, so nothing is ever written
//! through a symlink). The destination must be empty or missing.
//!
//! Kept: directories, regular files, symlinks, hard links, permission bits, file and directory
//! modification times. Not possible without root, and reported instead: owners, device nodes,
//! FIFOs and sockets.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::Result;
use super::error::Error;
use super::reader::Reader;
use super::tree::{DataSource, Kind, Tree};

/// What an extraction did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtractReport {
    /// Directories created.
    pub dirs: u64,
    /// Regular files written (one per inode).
    pub files: u64,
    /// Extra names of hard-linked files.
    pub hard_links: u64,
    /// Symlinks created.
    pub symlinks: u64,
    /// Entries that cannot be created without root (device nodes, FIFOs, sockets).
    pub skipped: Vec<Vec<u8>>,
}

fn unsafe_entry(name: &[u8], reason: impl Into<String>) -> Error {
    Error::Unsafe {
        name: name.to_vec(),
        reason: reason.into(),
    }
}

/// The directories this extraction created (canonical paths; the root is `""`). Each was
/// created with `mkdir` in a parent already checked, so it is a real directory.
type Made<'a> = BTreeSet<&'a [u8]>;

/// Host path of canonical `path` under `root`, checked by [`crate::safe_path::join`] (parents
/// in `made` are examined once more each, not component by component).
fn safe_target(root: &Path, path: &[u8], name: &[u8], made: &Made) -> Result<PathBuf> {
    use crate::safe_path::{Refused, join};
    join(root, path, |parent| made.contains(parent)).map_err(|e| match e {
        Refused::Io { path, source } => Error::io(format!("checking {}", path.display()), source),
        refused => unsafe_entry(name, refused.to_string()),
    })
}

fn set_mtime(file: &File, mtime: u32) -> io::Result<()> {
    file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(u64::from(mtime)))
}

/// Unpacks the merged `tree` of `image` (the same image, read once from its start) into `dest`.
pub fn extract<R: Read>(image: R, tree: &Tree, dest: &Path) -> Result<ExtractReport> {
    for (_, node) in tree.nodes() {
        if let Some(reason) = &node.unusual {
            return Err(unsafe_entry(
                &node.name,
                format!("{reason}: refusing to extract"),
            ));
        }
    }
    fs::create_dir_all(dest).map_err(|e| Error::io(format!("creating {}", dest.display()), e))?;
    let root = dest.to_path_buf();
    let mut report = ExtractReport::default();
    let mut dirs: Vec<(PathBuf, u32, u32)> = Vec::new();
    let mut files: Vec<(PathBuf, u32, u32)> = Vec::new();
    let mut groups: BTreeMap<usize, Vec<&[u8]>> = BTreeMap::new();
    let mut made = Made::new();
    made.insert(b"");
    for (path, node) in tree.nodes() {
        let Some(inode) = tree.inode(node.inode) else {
            continue;
        };
        if path.is_empty() {
            dirs.push((root.clone(), inode.mode, inode.mtime));
            continue;
        }
        match inode.kind {
            Kind::Dir => {
                let host = safe_target(&root, path, &node.name, &made)?;
                fs::create_dir(&host)
                    .map_err(|e| Error::io(format!("creating {}", host.display()), e))?;
                made.insert(path);
                dirs.push((host, inode.mode, inode.mtime));
                report.dirs += 1;
            }
            Kind::File => groups.entry(node.inode).or_default().push(path),
            Kind::Symlink => {}
            _ => report.skipped.push(path.to_vec()),
        }
    }
    for (path, node) in tree.nodes() {
        let Some(inode) = tree.inode(node.inode) else {
            continue;
        };
        if inode.kind == Kind::Symlink {
            use std::os::unix::ffi::OsStrExt;
            let host = safe_target(&root, path, &node.name, &made)?;
            std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(&inode.target), &host)
                .map_err(|e| Error::io(format!("creating symlink {}", host.display()), e))?;
            report.symlinks += 1;
        }
    }
    let write_group = |inode_index: usize,
                       data: &mut dyn Read,
                       report: &mut ExtractReport,
                       files: &mut Vec<(PathBuf, u32, u32)>|
     -> Result<()> {
        let (Some(inode), Some(paths)) = (tree.inode(inode_index), groups.get(&inode_index)) else {
            return Ok(());
        };
        let Some((first, rest)) = paths.split_first() else {
            return Ok(());
        };
        let name = tree.get(first).map_or(first.to_vec(), |n| n.name.clone());
        let host = safe_target(&root, first, &name, &made)?;
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&host)
            .map_err(|e| Error::io(format!("creating {}", host.display()), e))?;
        let copied = io::copy(&mut data.take(inode.size), &mut f)
            .map_err(|e| Error::io(format!("writing {}", host.display()), e))?;
        if copied != inode.size {
            return Err(unsafe_entry(&name, "file data shorter than its size"));
        }
        drop(f);
        files.push((host.clone(), inode.mode, inode.mtime));
        report.files += 1;
        for other in rest {
            let name = tree.get(other).map_or(other.to_vec(), |n| n.name.clone());
            let link = safe_target(&root, other, &name, &made)?;
            fs::hard_link(&host, &link)
                .map_err(|e| Error::io(format!("linking {}", link.display()), e))?;
            report.hard_links += 1;
        }
        Ok(())
    };
    let mut from_image: HashMap<(usize, u64), usize> = HashMap::new();
    for (&inode_index, _) in groups.iter() {
        match tree.inode(inode_index).map(|i| i.data) {
            Some(DataSource::Base { segment, offset }) => {
                from_image.insert((segment, offset), inode_index);
            }
            Some(DataSource::Empty) => {
                write_group(inode_index, &mut io::empty(), &mut report, &mut files)?
            }
            Some(DataSource::Edit(_)) => {
                return Err(Error::io(
                    "extracting",
                    io::Error::other("tree holds edits; extract an image"),
                ));
            }
            None => {}
        }
    }
    if !from_image.is_empty() {
        let mut reader = Reader::new(image);
        let mut found = 0;
        while let Some(entry) = reader.next_entry()? {
            if let Some(&i) = from_image.get(&(entry.segment, entry.data_offset)) {
                write_group(i, &mut reader.data(), &mut report, &mut files)?;
                found += 1;
                if found == from_image.len() {
                    break;
                }
            }
        }
        if found != from_image.len() {
            return Err(Error::io(
                "extracting",
                io::Error::other("the image differs from the one the tree was read from"),
            ));
        }
    }
    for (host, mode, mtime) in &files {
        let f =
            File::open(host).map_err(|e| Error::io(format!("opening {}", host.display()), e))?;
        set_mtime(&f, *mtime)
            .map_err(|e| Error::io(format!("setting the time of {}", host.display()), e))?;
        fs::set_permissions(host, fs::Permissions::from_mode(mode & 0o7777))
            .map_err(|e| Error::io(format!("setting the mode of {}", host.display()), e))?;
    }
    // Directories last, deepest first, so that read-only ones do not block their content.
    for (host, mode, mtime) in dirs.iter().rev() {
        let f =
            File::open(host).map_err(|e| Error::io(format!("opening {}", host.display()), e))?;
        set_mtime(&f, *mtime)
            .map_err(|e| Error::io(format!("setting the time of {}", host.display()), e))?;
        fs::set_permissions(host, fs::Permissions::from_mode(mode & 0o7777))
            .map_err(|e| Error::io(format!("setting the mode of {}", host.display()), e))?;
    }
    Ok(report)
}
