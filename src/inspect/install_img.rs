//! install.img as `inspect` shows it: its segments and merged tree, read in one streaming pass
//! (keeping the few files asked for), and `--initrd-ls` listings.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{INSTALL_IMG, InspectError};
use crate::initrd;
use crate::iso::SourceIso;

/// One compressed (or plain) segment of install.img.
#[derive(Debug, Clone, Serialize)]
pub struct InitrdSegment {
    /// Offset in install.img.
    pub offset: u64,
    /// `bzip2`, `gzip`, `xz`, `zstd` or `none`.
    pub compression: String,
    /// Bytes it occupies in install.img.
    pub stored: u64,
    /// Bytes of cpio data it holds.
    pub uncompressed: u64,
    /// cpio archives in it.
    pub archives: u64,
    /// Entries in it.
    pub entries: u64,
}

/// The installer's root filesystem as the kernel would unpack it.
#[derive(Debug, Clone, Serialize)]
pub struct InstallImg {
    /// Its path on the image.
    pub path: String,
    /// Its length.
    pub size: u64,
    /// Its segments, in order.
    pub segments: Vec<InitrdSegment>,
    /// Entries of the merged tree.
    pub entries: usize,
}

/// Reads install.img (one streaming pass) into its merged tree; `None`
/// when the image has none.
pub fn read_install_img(
    source: &SourceIso,
) -> Result<Option<(InstallImg, initrd::Tree)>, InspectError> {
    Ok(read_install_img_keeping(source, &[])?.map(|r| (r.info, r.tree)))
}

/// install.img as read by [`read_install_img_keeping`].
pub struct InstallImgRead {
    /// Its summary.
    pub info: InstallImg,
    /// Its merged tree.
    pub tree: initrd::Tree,
    /// The regular files asked for that it has, by `/`-prefixed path, as the kernel unpacks
    /// them.
    pub files: BTreeMap<String, Vec<u8>>,
}

/// The largest file kept while reading install.img (answer files are a few KiB).
const MAX_KEPT: u64 = 1 << 20;

/// As [`read_install_img`], keeping on the same pass the regular files at `keep` (absolute
/// paths inside install.img, each at most 1 MiB).
pub fn read_install_img_keeping(
    source: &SourceIso,
    keep: &[String],
) -> Result<Option<InstallImgRead>, InspectError> {
    if !source.exists(INSTALL_IMG) {
        return Ok(None);
    }
    let names: Vec<Vec<u8>> = keep
        .iter()
        .map(|p| p.trim_start_matches('/').as_bytes().to_vec())
        .collect();
    let name_refs: Vec<&[u8]> = names.iter().map(Vec::as_slice).collect();
    let reader = std::io::BufReader::with_capacity(1 << 20, source.open_file(INSTALL_IMG)?);
    let (tree, kept) = initrd::Tree::read_keeping(reader, &name_refs, MAX_KEPT)?;
    let mut files = BTreeMap::new();
    for (path, name) in keep.iter().zip(&names) {
        let is_file = tree
            .lookup(name)
            .and_then(|(_, node)| tree.inode(node.inode))
            .is_some_and(|i| i.kind == initrd::Kind::File && i.size <= MAX_KEPT);
        if !is_file {
            continue;
        }
        let image = std::io::BufReader::new(source.open_file(INSTALL_IMG)?);
        if let Some(data) = tree
            .read_contents_kept(&kept, image, &[name.as_slice()])?
            .into_values()
            .next()
        {
            files.insert(format!("/{}", path.trim_start_matches('/')), data);
        }
    }
    let info = InstallImg {
        path: INSTALL_IMG.to_string(),
        size: tree.image_len(),
        segments: tree
            .segments()
            .iter()
            .map(|s| InitrdSegment {
                offset: s.offset,
                compression: s.compression.to_string(),
                stored: s.stored_len,
                uncompressed: s.uncompressed_len,
                archives: s.archives,
                entries: s.entries,
            })
            .collect(),
        entries: tree.len(),
    };
    Ok(Some(InstallImgRead { info, tree, files }))
}

/// `ls -l`-style lines of the merged tree at and below `prefix` (all when empty); an error
/// when the tree has nothing at `prefix`.
pub fn list_install_img(tree: &initrd::Tree, prefix: &str) -> Result<Vec<String>, InspectError> {
    let clean = prefix.trim_matches('/').as_bytes();
    let lines: Vec<String> = tree
        .nodes()
        .filter(|(path, _)| {
            clean.is_empty()
                || *path == clean
                || (path.starts_with(clean) && path.get(clean.len()) == Some(&b'/'))
        })
        .filter_map(|(path, _)| tree.list_line(path))
        .collect();
    if lines.is_empty() && !clean.is_empty() {
        return Err(InspectError::NoSuchPath {
            within: INSTALL_IMG.into(),
            path: format!("/{}", String::from_utf8_lossy(clean)),
        });
    }
    Ok(lines)
}
