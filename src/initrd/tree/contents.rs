//! File contents: which inodes hold data, and fetching the final content of named files.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;

use super::{DataSource, Kept, Kind, Tree};
use crate::initrd::Result;
use crate::initrd::error::{Error, show};
use crate::initrd::reader::Reader;

impl Tree {
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
