//! The file list: paths from directory and base names, and each entry's kind.

use rpm::{IndexTag, PackageMetadata};

use super::{Error, FILE_GHOST, FileInfo, FileKind};

/// `st_mode` file type mask and directory type.
const MODE_TYPE_MASK: u16 = 0o170_000;
const MODE_DIR: u16 = 0o040_000;

/// Reads the file list (base names, directory names and indexes, modes, flags).
pub(super) fn files(meta: &PackageMetadata) -> Result<Vec<FileInfo>, Error> {
    let h = &meta.header;
    let Ok(basenames) = h.get_entry_data_as_string_array(IndexTag::RPMTAG_BASENAMES) else {
        return Ok(Vec::new());
    };
    let dirnames = h
        .get_entry_data_as_string_array(IndexTag::RPMTAG_DIRNAMES)
        .unwrap_or_default();
    let dirindexes = h
        .get_entry_data_as_u32_array(IndexTag::RPMTAG_DIRINDEXES)
        .unwrap_or_default();
    let modes = h
        .get_entry_data_as_u16_array(IndexTag::RPMTAG_FILEMODES)
        .unwrap_or_default();
    let flags = h
        .get_entry_data_as_u32_array(IndexTag::RPMTAG_FILEFLAGS)
        .unwrap_or_default();
    let n = basenames.len();
    if dirindexes.len() != n || modes.len() != n || flags.len() != n {
        return Err(Error::ArrayMismatch {
            what: "BASENAMES/DIRINDEXES/FILEMODES/FILEFLAGS",
        });
    }
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let dir = dirnames
            .get(dirindexes[i] as usize)
            .ok_or(Error::ArrayMismatch {
                what: "DIRINDEXES/DIRNAMES",
            })?;
        let kind = if modes[i] & MODE_TYPE_MASK == MODE_DIR {
            FileKind::Dir
        } else if flags[i] & FILE_GHOST != 0 {
            FileKind::Ghost
        } else {
            FileKind::File
        };
        out.push(FileInfo {
            path: format!("{dir}{}", basenames[i]),
            kind,
        });
    }
    Ok(out)
}
