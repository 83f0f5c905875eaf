//! Changing the tree of a [`SourceIso`] before it is written: files added,
//! replaced, removed, or grown by bytes appended after their source data.

use std::path::PathBuf;

use hadris_fs::{Content, DateTime, Extent, FileType, Node, Owner, Permissions, SetAttr};

use super::error::{Error, Result};
use super::source::SourceIso;

/// The content of a file written by this build.
#[derive(Debug, Clone)]
pub enum NewContent {
    /// Bytes held in memory (configs, small generated files).
    Bytes(Vec<u8>),
    /// A file on the host, streamed when the image is written.
    HostFile(PathBuf),
    /// The source file's own data followed by these bytes (an appended
    /// install.img overlay): the unchanged part is copied from the source.
    Appended(Vec<u8>),
    /// Ranges of the source file's own data and new bytes, in order (a spliced
    /// install.img): the ranges are copied from the source like unchanged files.
    Spans(Vec<Span>),
}

/// A stretch of a file made of its source data and new bytes ([`NewContent::Spans`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Span {
    /// `len` bytes of the source file's data from byte `offset` of the file.
    Source {
        /// Where the range starts in the source file.
        offset: u64,
        /// How many bytes.
        len: u64,
    },
    /// New bytes.
    Bytes(Vec<u8>),
}

/// The device extents holding bytes `[offset, offset + len)` of a file stored in `extents`;
/// `None` when the range passes the file's end.
fn slice_extents(extents: &[Extent], offset: u64, len: u64) -> Option<Vec<Extent>> {
    let mut out = Vec::new();
    let (mut skip, mut want) = (offset, len);
    for e in extents {
        if want == 0 {
            break;
        }
        if skip >= e.len() {
            skip -= e.len();
            continue;
        }
        let take = (e.len() - skip).min(want);
        out.push(Extent::new(e.offset().checked_add(skip)?, take));
        want -= take;
        skip = 0;
    }
    (want == 0).then_some(out)
}

/// The attributes of a node made by this build, as `genisoimage -r` gives them: permission
/// bits `mode`, owner and group 0, and `time` as its modification, access and creation time.
pub fn node_attrs(mode: u32, time: DateTime) -> SetAttr {
    SetAttr::new()
        .with_permissions(Permissions::new(mode))
        .with_owner(Owner::new(0, 0))
        .with_modified(time)
        .with_accessed(time)
        .with_created(time)
}

fn clean(entry: &str) -> Result<&str> {
    let trimmed = entry.trim_start_matches('/');
    if trimmed.is_empty()
        || trimmed
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err(Error::Entry {
            path: PathBuf::new(),
            entry: entry.to_string(),
            detail: "not a clean absolute path inside the image".into(),
        });
    }
    Ok(trimmed)
}

impl SourceIso {
    /// Adds or replaces the file `entry`. A replaced file keeps its mode and
    /// owner; its times and new files' times are `time`.
    pub fn put_file(&mut self, entry: &str, content: NewContent, time: DateTime) -> Result<()> {
        let rel = clean(entry)?;
        let existing = self.tree().get(rel).cloned();
        if let Some(node) = &existing
            && node.file_type() != FileType::File
        {
            return Err(self.entry_err(entry, "exists and is not a regular file"));
        }
        let content = match content {
            NewContent::Bytes(bytes) => Content::bytes(bytes),
            NewContent::HostFile(path) => {
                crate::input::check(&path).map_err(|source| Error::Io {
                    path: path.clone(),
                    source,
                })?;
                hadris_fs::host::file(&path).map_err(|e| Error::Io {
                    path: path.clone(),
                    source: std::io::Error::other(e.to_string()),
                })?
            }
            NewContent::Appended(bytes) => {
                let mut extents = self.extents(entry)?;
                if !bytes.is_empty() {
                    extents.push(self.appendix().push(bytes));
                }
                Content::stored(extents).map_err(|e| self.entry_err(entry, &e.to_string()))?
            }
            NewContent::Spans(spans) => {
                let source = self.extents(entry)?;
                let mut extents = Vec::new();
                for span in spans {
                    match span {
                        Span::Source { offset, len } => {
                            extents.extend(slice_extents(&source, offset, len).ok_or_else(
                                || self.entry_err(entry, "a kept range passes the end of the file"),
                            )?)
                        }
                        Span::Bytes(bytes) if bytes.is_empty() => {}
                        Span::Bytes(bytes) => extents.push(self.appendix().push(bytes)),
                    }
                }
                Content::stored(extents).map_err(|e| self.entry_err(entry, &e.to_string()))?
            }
        };
        let attrs = match &existing {
            Some(node) => {
                let old = node.attrs();
                let mut a = node_attrs(old.permissions().map_or(0o444, |p| p.bits()), time);
                if let Some(owner) = old.owner() {
                    a = a.with_owner(owner);
                }
                a
            }
            None => node_attrs(0o444, time),
        };
        let node = Node::file(content).with_attrs(attrs);
        if existing.is_some() {
            self.tree_mut().replace(rel, node)
        } else {
            self.make_parents(rel, time)?;
            self.tree_mut().insert(rel, node)
        }
        .map_err(|e| self.entry_err(entry, &e.to_string()))
    }

    fn make_parents(&mut self, rel: &str, time: DateTime) -> Result<()> {
        let mut prefix = String::new();
        let parts: Vec<&str> = rel.split('/').collect();
        for part in &parts[..parts.len() - 1] {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
            match self.tree().get(&prefix).map(Node::file_type) {
                Some(FileType::Dir) => {}
                Some(_) => return Err(self.entry_err(&prefix, "is not a directory")),
                None => {
                    let dir = Node::dir().with_attrs(node_attrs(0o555, time));
                    let p = prefix.clone();
                    self.tree_mut()
                        .insert(&p, dir)
                        .map_err(|e| self.entry_err(&p, &e.to_string()))?;
                }
            }
        }
        Ok(())
    }

    /// Removes the file or directory tree `entry`; an error if it does not exist.
    pub fn remove(&mut self, entry: &str) -> Result<()> {
        let rel = clean(entry)?;
        if self.tree().get(rel).is_none() {
            return Err(self.entry_err(entry, "cannot remove: no such file in the image"));
        }
        self.tree_mut()
            .remove(rel)
            .map_err(|e| self.entry_err(entry, &e.to_string()))
    }
}
