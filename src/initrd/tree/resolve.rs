//! Name resolution as the kernel's unpacker does it: `.` and empty components ignored, `..`
//! going up (never above the root), symlinks in the directory part followed.

use std::collections::VecDeque;

use super::{Kind, Node, Tree, clean_name};
use crate::initrd::error::show;
use crate::initrd::newc;

/// How many symlinks one name may go through (the kernel's limit).
const MAX_SYMLINK_FOLLOWS: usize = 40;

impl Tree {
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
    pub(super) fn resolve_inner(
        &self,
        name: &[u8],
    ) -> std::result::Result<(Vec<u8>, bool, bool), String> {
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

    /// The node a name leads to (directory symlinks followed, the last component not).
    pub fn lookup(&self, name: &[u8]) -> Option<(Vec<u8>, &Node)> {
        let path = self.resolve(name).ok()?;
        let node = self.nodes.get(&path)?;
        Some((path, node))
    }

    pub(super) fn has_children(&self, path: &[u8]) -> bool {
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

    pub(super) fn kind_at(&self, path: &[u8]) -> Option<Kind> {
        let node = self.nodes.get(path)?;
        self.inodes.get(node.inode).map(|i| i.kind)
    }
}
