//! The block device the image writer copies from: the source image, opened
//! read-only, followed by byte regions appended in memory.
//!
//! An appended region lets a file of the new image be "the source's extents
//! followed by new bytes" (an install.img with an overlay archive after it)
//! without copying the unchanged part anywhere first.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::{Arc, Mutex};

use hadris_fs::Extent;
use hadris_io::ErrorType;
use hadris_storage::{BlockIndex, BlockSize};

/// The ISO sector size.
pub const SECTOR: u64 = 2048;

/// A region after the source: its first byte on the device and its bytes.
type Region = (u64, Arc<[u8]>);

/// Regions appended after the source, shared between the device (owned by
/// the image session) and the code that plans new content.
#[derive(Debug, Clone, Default)]
pub struct Appendix {
    regions: Arc<Mutex<Vec<Region>>>,
    base: u64,
}

impl Appendix {
    /// Appends `data` after everything already there, at a sector boundary,
    /// and returns where it lies on the device.
    pub fn push(&self, data: Vec<u8>) -> Extent {
        let mut regions = self.lock();
        let end = regions
            .last()
            .map_or(self.base, |(start, data)| start + data.len() as u64);
        let start = end.div_ceil(SECTOR) * SECTOR;
        let len = data.len() as u64;
        regions.push((start, Arc::from(data)));
        Extent::new(start, len)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Region>> {
        // A poisoned lock only means another thread panicked mid-push; the
        // list itself is always consistent.
        self.regions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The end of the last appended region (the base when nothing was appended).
    pub(super) fn end(&self) -> u64 {
        self.lock()
            .last()
            .map_or(self.base, |(start, data)| start + data.len() as u64)
    }

    /// Where the first appended byte may lie: the source's length rounded up to a sector.
    pub(super) fn base(&self) -> u64 {
        self.base
    }

    /// Copies the appended bytes that overlap `[offset, offset + buf.len())`.
    pub(super) fn fill(&self, offset: u64, buf: &mut [u8]) {
        for (start, data) in self.lock().iter() {
            let end = start + data.len() as u64;
            let from = offset.max(*start);
            let to = (offset + buf.len() as u64).min(end);
            if from < to {
                buf[(from - offset) as usize..(to - offset) as usize]
                    .copy_from_slice(&data[(from - start) as usize..(to - start) as usize]);
            }
        }
    }
}

/// The source image plus its [`Appendix`], as a read-only block device.
#[derive(Debug)]
pub struct SourceDevice {
    file: File,
    len: u64,
    appendix: Appendix,
}

impl SourceDevice {
    /// Opens `path` read-only.
    pub fn open(path: &Path) -> io::Result<Self> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        let base = len.div_ceil(SECTOR) * SECTOR;
        Ok(Self {
            file,
            len,
            appendix: Appendix {
                regions: Arc::default(),
                base,
            },
        })
    }

    /// A handle to add regions after the source.
    pub fn appendix(&self) -> Appendix {
        self.appendix.clone()
    }

    /// Reads `buf.len()` bytes at `offset`: source bytes, zeros past its end,
    /// appended regions where they lie.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        buf.fill(0);
        if offset < self.len {
            let take = ((self.len - offset) as usize).min(buf.len());
            self.file.read_exact_at(&mut buf[..take], offset)?;
        }
        if offset + buf.len() as u64 > self.appendix.base {
            self.appendix.fill(offset, buf);
        }
        Ok(())
    }
}

impl ErrorType for SourceDevice {
    type Error = io::Error;
}

impl hadris_storage::sync::BlockDevice for SourceDevice {
    fn block_size(&self) -> BlockSize {
        const { BlockSize::new(SECTOR as u32).unwrap() }
    }

    fn block_count(&self) -> u64 {
        self.appendix.end().div_ceil(SECTOR)
    }

    fn read_blocks(
        &mut self,
        first: BlockIndex,
        buf: &mut [u8],
    ) -> Result<(), hadris_fs::Error<io::Error>> {
        let offset = first.get().checked_mul(SECTOR).ok_or_else(|| {
            hadris_fs::Error::new(hadris_fs::ErrorKind::InvalidInput, "block past the end")
        })?;
        self.read_at(offset, buf)
            .map_err(|err| hadris_fs::Error::device(err, "reading the source image failed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appended_regions_follow_the_source_at_sector_boundaries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("src");
        std::fs::write(&path, vec![7u8; 3000]).unwrap();
        let dev = SourceDevice::open(&path).unwrap();
        let a = dev.appendix().push(vec![1, 2, 3]);
        let b = dev.appendix().push(vec![9; 10]);
        assert_eq!(a.offset(), 4096);
        assert_eq!(b.offset(), 6144);
        let mut buf = [0u8; 8];
        dev.read_at(2996, &mut buf).unwrap();
        assert_eq!(buf, [7, 7, 7, 7, 0, 0, 0, 0]);
        dev.read_at(4095, &mut buf[..5]).unwrap();
        assert_eq!(&buf[..5], &[0, 1, 2, 3, 0]);
        use hadris_storage::sync::BlockDevice;
        assert_eq!(dev.block_count(), 4);
    }
}
