//! `isoremix inspect ISO --ls PATH`: a folder of the ISO listed as `ls -l` would, or one file's
//! details (where its data lie in the image), in the same line shape as `--initrd-ls`.

use hadris_fs::{FileType, Node};

use super::InspectError;
use crate::initrd::tree::mode_string;
use crate::iso::SourceIso;

/// The line of one node: `MODE UID/GID SIZE MTIME /PATH[ -> TARGET]`, MTIME in seconds since
/// 1970 (0 when the image has none).
fn line(path: &str, node: &Node) -> String {
    let attrs = node.attrs();
    let (kind, default_mode) = match node.file_type() {
        FileType::Dir => ('d', 0o555),
        FileType::Symlink => ('l', 0o777),
        FileType::File => ('-', 0o444),
        _ => ('?', 0),
    };
    let mode = attrs.permissions().map_or(default_mode, |p| p.bits());
    let (uid, gid) = attrs.owner().map_or((0, 0), |o| (o.uid(), o.gid()));
    let size = match node.file_type() {
        FileType::Symlink => node.target().map_or(0, <[u8]>::len) as u64,
        _ => node.content().map_or(0, |c| c.len()),
    };
    let mtime = attrs.modified().map_or(0, |t| t.unix_seconds());
    let mut out = format!(
        "{} {uid}/{gid} {size:>10} {mtime} {path}",
        mode_string(kind, mode)
    );
    if let Some(target) = node.target() {
        out.push_str(" -> ");
        out.push_str(&String::from_utf8_lossy(target));
    }
    out
}

/// The listing of `path` in `source`: a folder's own line then one line per child in name
/// order; a file's or symlink's line then where its data lie. An error names a path the image
/// does not have.
pub fn list(source: &SourceIso, path: &str) -> Result<Vec<String>, InspectError> {
    let rel = path.trim_matches('/');
    let shown = format!("/{rel}");
    let entry = if rel.is_empty() {
        Some(source.tree().root())
    } else {
        source.tree().entry(rel)
    };
    let entry = entry.ok_or_else(|| InspectError::NoSuchPath {
        within: "the ISO".into(),
        path: shown.clone(),
    })?;
    let node = entry.node();
    let mut out = vec![line(&shown, node)];
    match node.file_type() {
        FileType::Dir => {
            let prefix = if rel.is_empty() { String::new() } else { shown };
            for (name, child) in entry.children() {
                let child_path = format!("{prefix}/{}", String::from_utf8_lossy(name.as_bytes()));
                out.push(line(&child_path, child.node()));
            }
        }
        FileType::File => {
            let extents = node.content().and_then(|c| c.stored_extents());
            match extents {
                Some(extents) if !extents.is_empty() => {
                    for (i, x) in extents.iter().enumerate() {
                        out.push(format!(
                            "  extent {}: {} bytes at byte {} (sector {})",
                            i + 1,
                            x.len(),
                            x.offset(),
                            x.offset() / crate::iso::SECTOR
                        ));
                    }
                }
                _ => out.push("  no data in the image (empty file)".into()),
            }
        }
        _ => {}
    }
    Ok(out)
}
