//! An `ls -l`-style listing line for a path of the tree.

use super::{Kind, Tree};
use crate::initrd::error::show;

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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::initrd::newc;
    use crate::initrd::tree::{DataSource, Incoming};

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
