//! The layout: every directory's entries and every file's clusters, contiguous in tree order.

use std::collections::BTreeSet;

use super::dir_entry::{ATTR_ARCHIVE, ATTR_DIR, ATTR_VOLUME, Slot};
use super::names::{alias, check_name, exact_short};
use super::{Error, Node};

/// Short name and (if needed) long name of each child of a directory.
type Names = Vec<([u8; 11], Option<String>)>;

/// A planned directory: its entries, and for subdirectories its own and its parent's cluster.
pub(super) struct PlannedDir {
    /// First cluster (0 for the root).
    pub(super) cluster: u32,
    pub(super) parent: u32,
    pub(super) slots: Vec<Slot>,
}

/// The whole plan: directories and files with their clusters.
pub(super) struct Plan {
    pub(super) dirs: Vec<PlannedDir>,
    pub(super) files: Vec<(u32, Vec<u8>)>,
    pub(super) clusters: u64,
}

/// Sizes every directory, gives each directory and file its clusters (contiguous, tree order).
pub(super) fn plan(
    root: &[Node],
    cluster_bytes: u64,
    label: Option<[u8; 11]>,
) -> Result<Plan, Error> {
    struct Walk {
        cluster_bytes: u64,
        next: u64,
        dirs: Vec<PlannedDir>,
        files: Vec<(u32, Vec<u8>)>,
    }
    fn entries_of(children: &[Node]) -> Result<Names, Error> {
        let mut taken = BTreeSet::new();
        let mut folded = BTreeSet::new();
        let mut out = Vec::with_capacity(children.len());
        for c in children {
            check_name(c.name())?;
            if !folded.insert(c.name().to_uppercase()) {
                return Err(Error::Duplicate(c.name().to_string()));
            }
        }
        // Exact 8.3 names first, so generated aliases never take them.
        for c in children {
            if let Some(s) = exact_short(c.name()) {
                taken.insert(s);
            }
        }
        for c in children {
            let upper = exact_short(&c.name().to_uppercase()).filter(|s| !taken.contains(s));
            let entry = match (exact_short(c.name()), upper) {
                (Some(s), _) => (s, None),
                (None, Some(s)) => {
                    taken.insert(s);
                    (s, Some(c.name().to_string()))
                }
                (None, None) => {
                    let s = alias(c.name(), &taken).ok_or_else(|| Error::BadName {
                        name: c.name().to_string(),
                        why: "no free short alias",
                    })?;
                    taken.insert(s);
                    (s, Some(c.name().to_string()))
                }
            };
            out.push(entry);
        }
        Ok(out)
    }
    fn dir_bytes(names: &Names, dots: bool) -> u64 {
        let mut n: u64 = if dots { 2 } else { 0 };
        for (_, long) in names {
            n += 1 + long
                .as_ref()
                .map_or(0, |l| l.encode_utf16().count().div_ceil(13) as u64);
        }
        n * 32
    }
    impl Walk {
        fn alloc(&mut self, bytes: u64) -> u32 {
            if bytes == 0 {
                return 0;
            }
            let first = self.next + 2;
            self.next += bytes.div_ceil(self.cluster_bytes);
            first as u32
        }
        fn dir(&mut self, children: &[Node], cluster: u32, parent: u32) -> Result<(), Error> {
            let names = entries_of(children)?;
            let me = self.dirs.len();
            self.dirs.push(PlannedDir {
                cluster,
                parent,
                slots: Vec::new(),
            });
            let mut slots = Vec::with_capacity(children.len());
            let mut subdirs = Vec::new();
            for (c, (short, long)) in children.iter().zip(names) {
                match c {
                    Node::File { name, data } => {
                        let size =
                            u32::try_from(data.len()).map_err(|_| Error::TooLarge(name.clone()))?;
                        let cl = self.alloc(data.len() as u64);
                        if cl != 0 {
                            self.files.push((cl, data.clone()));
                        }
                        slots.push(Slot {
                            short,
                            long,
                            attr: ATTR_ARCHIVE,
                            cluster: cl,
                            size,
                        });
                    }
                    Node::Dir { children, .. } => {
                        let bytes = dir_bytes(&entries_of(children)?, true);
                        let cl = self.alloc(bytes.max(1));
                        subdirs.push((cl, children));
                        slots.push(Slot {
                            short,
                            long,
                            attr: ATTR_DIR,
                            cluster: cl,
                            size: 0,
                        });
                    }
                }
            }
            if let Some(d) = self.dirs.get_mut(me) {
                d.slots = slots;
            }
            for (cl, children) in subdirs {
                self.dir(children, cl, cluster)?;
            }
            Ok(())
        }
    }
    let mut w = Walk {
        cluster_bytes,
        next: 0,
        dirs: Vec::new(),
        files: Vec::new(),
    };
    w.dir(root, 0, 0)?;
    if let (Some(label), Some(root)) = (label, w.dirs.first_mut()) {
        root.slots.insert(
            0,
            Slot {
                short: label,
                long: None,
                attr: ATTR_VOLUME,
                cluster: 0,
                size: 0,
            },
        );
    }
    Ok(Plan {
        dirs: w.dirs,
        files: w.files,
        clusters: w.next,
    })
}
