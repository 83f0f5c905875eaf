//! The output file of a build: written as a temporary file in the target's
//! folder and renamed into place only when complete, so a failed build
//! leaves nothing behind (the temporary file is removed when dropped).

use std::fs::File;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use hadris_storage::host::FileDevice;
use tempfile::NamedTempFile;

use super::error::{Error, Result};

/// A "writing `out` failed" error.
pub(crate) fn write_err(out: &Path, detail: impl ToString) -> Error {
    Error::Write {
        path: out.to_path_buf(),
        detail: detail.to_string(),
    }
}

/// An image being written beside its target.
pub(crate) struct PartialImage {
    tmp: NamedTempFile,
    out: PathBuf,
}

impl PartialImage {
    /// Creates the temporary file in `out`'s folder (made if missing).
    pub(crate) fn create(out: &Path) -> Result<Self> {
        let dir = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&dir)
            .map_err(|e| write_err(out, format!("cannot create {}: {e}", dir.display())))?;
        let tmp = tempfile::Builder::new()
            .prefix(".isoremix-")
            .suffix(".partial")
            .tempfile_in(&dir)
            .map_err(|e| {
                write_err(
                    out,
                    format!("cannot create a temporary file in {}: {e}", dir.display()),
                )
            })?;
        Ok(Self {
            tmp,
            out: out.to_path_buf(),
        })
    }

    /// The file being written.
    pub(crate) fn file(&self) -> &File {
        self.tmp.as_file()
    }

    /// A block device over the file, for the ISO writer.
    pub(crate) fn device(&self) -> Result<FileDevice> {
        let file = self.file().try_clone().map_err(|e| self.err(e))?;
        FileDevice::new(file).map_err(|e| self.err(e))
    }

    /// An error about this output.
    pub(crate) fn err(&self, detail: impl ToString) -> Error {
        write_err(&self.out, detail)
    }

    /// Flushes the file, gives it mode 0644 and renames it to the target.
    pub(crate) fn commit(self) -> Result<()> {
        let file = self.tmp.as_file();
        file.sync_all().map_err(|e| write_err(&self.out, e))?;
        file.set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(|e| write_err(&self.out, e))?;
        let out = self.out;
        self.tmp
            .persist(&out)
            .map_err(|e| write_err(&out, e.error))?;
        Ok(())
    }
}
