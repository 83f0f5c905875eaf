//! The kernel's rules for applying one entry to the tree (`clean_path`, `maybe_link`, `do_name`,
//! `do_symlink` in init/initramfs.c), and removing a path.

use super::{DataSource, Incoming, Inode, Kind, Node, Skipped, Tree, unusual_name};
use crate::initrd::Result;
use crate::initrd::error::Error;
use crate::initrd::newc::S_IFMT;
use crate::initrd::reader::Entry;

impl Tree {
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
}
