//! Writing a new image from a list of files (no source image): the built-in sample and driver
//! disks. Every file and folder is owned by root and stamped with one time; the image appears at
//! the target only when complete.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::Path;

use hadris_fs::{Content, DateTime, Node, Tree};
use hadris_iso::IsoOptions;

use super::error::Result;
use super::output::{Existing, PartialImage, write_err};

/// Mode of every folder of a fresh image.
const DIR_MODE: u32 = 0o555;
/// Mode of every file of a fresh image.
const FILE_MODE: u32 = 0o444;

/// The tree of `files` (relative paths with `/` separators, each given once), with every
/// parent folder created, all stamped with `time`.
fn tree_of(files: Vec<(String, Content)>, time: DateTime, out: &Path) -> Result<Tree> {
    let mut tree = Tree::new();
    let mut dirs = BTreeSet::new();
    for (path, _) in &files {
        let mut end = 0;
        while let Some(slash) = path.get(end..).and_then(|rest| rest.find('/')) {
            end += slash;
            dirs.insert(path.get(..end).unwrap_or_default().to_string());
            end += 1;
        }
    }
    for dir in dirs {
        tree.insert(
            &dir,
            Node::dir().with_attrs(super::node_attrs(DIR_MODE, time)),
        )
        .map_err(|e| write_err(out, format!("{dir}: {e}")))?;
    }
    for (path, content) in files {
        tree.insert(
            &path,
            Node::file(content).with_attrs(super::node_attrs(FILE_MODE, time)),
        )
        .map_err(|e| write_err(out, format!("{path}: {e}")))?;
    }
    Ok(tree)
}

/// Writes a new image holding `files` (relative paths → content, root-owned, read-only, every
/// time `time`) with `options` at `out`, replacing an existing `out` only as `existing` says.
/// `finish` gets the complete image file and the writer's
/// report before the rename (to add a system area, for example); its error aborts the write.
/// `progress(bytes written, image size)` is called as the image is written.
///
/// Nothing is left behind on error; on success `out` has mode 0644.
pub fn write_fresh(
    files: Vec<(String, Content)>,
    time: DateTime,
    options: &IsoOptions,
    out: &Path,
    existing: Existing,
    progress: &dyn Fn(u64, u64),
    finish: impl FnOnce(&File, &hadris_fs::Report) -> std::io::Result<()>,
) -> Result<hadris_fs::Report> {
    let tree = tree_of(files, time, out)?;
    let partial = PartialImage::create(out, existing)?;
    let total = hadris_iso::plan(&tree, options)
        .map_err(|e| partial.err(e))?
        .size();
    let tally = super::kernel_copy::Tally::new(progress, total);
    let counting = super::writer::Counting {
        inner: partial.device()?,
        tally: &tally,
    };
    let report = hadris_iso::sync::write(counting, &tree, options).map_err(|e| partial.err(e))?;
    finish(partial.file(), &report).map_err(|e| partial.err(e))?;
    partial.commit()?;
    Ok(report)
}
