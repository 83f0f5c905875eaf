//! Unchanged file data copied by the kernel.
//!
//! Most of a remastered image is file data the build leaves as it is: packages, the kernel,
//! install.img without an edit. Those bytes stay where they are in the source image until the
//! writer lays the new image out. Reading them into the writer's buffer only to write them out
//! again costs two copies through user space per byte; `cp` costs none, because it asks the
//! kernel with `copy_file_range(2)`. So does the writer here: hadris-iso's
//! `Session::export_copying` (a patch of the vendored crate, see its `PATCHES.md`) offers every
//! run of whole sectors of an unchanged file to [`KernelCopy`], which copies it from the source
//! file to the output file at the offsets the writer chose. Where the filesystem can (XFS,
//! btrfs, with offsets on its block size), the kernel shares the extents instead of copying;
//! elsewhere it copies from page cache to page cache. For the sharing, the writer places each
//! unchanged file of 1 MiB or more at its source offset modulo 64 KiB (ISO sectors are 2 KiB,
//! so without that half the files would sit off the filesystem's blocks), and on those
//! filesystems [`KernelCopy`] copies a run's first sector apart when the run starts in the
//! middle of a block, so that the rest starts on a block boundary on both sides: a 600 MB
//! ISO-only edit on XFS then takes some 0.03 s and no new disk space for the shared data.
//! Everywhere, a run whose two ends sit alike within 64 KiB is copied from the 64 KiB boundary
//! on after its first bytes (see `COPY_SPAN`): Linux's page-cache-to-page-cache copy is about a
//! third slower all along a run that starts off that boundary.
//!
//! The hook sits in the writer rather than in a pass after it, because only the writer knows
//! which sectors of a file it changes (the boot information table of a BIOS boot image, which
//! it always reads and patches itself) and where each file lands; a later pass would lay the
//! image out twice or write the same bytes twice.
//!
//! The kernel may refuse: source and output on different filesystems (`EXDEV`), a filesystem
//! without the call or that rejects it (`EINVAL`, `ENOSYS`, `EOPNOTSUPP`, `EBADF`), or a copy
//! that makes no progress. Then [`KernelCopy`] declines that run and every later one, and the
//! writer streams the bytes as it always did. Other errors (`EIO`, `ENOSPC`) fail the build as a
//! failed write would. Data past the end of the source file (bytes a build appends to a file,
//! such as an install.img overlay) and a file's last partial sector are always streamed. The
//! image is byte for byte the same either way: the copier writes exactly what the writer would.
//!
//! A build that rewrites install.img copies the other files' data ahead of the writer, while it
//! makes the new install.img ([`super::prewrite`]); [`KernelCopy`] then counts the runs found
//! already copied instead of copying them again.
//!
//! [`DataCopy::Stream`] (or [`STREAM_COPY_VAR`] for the command line) turns the kernel path off.

use std::cell::Cell;
use std::fs::File;
use std::io;

use std::num::NonZeroU64;

use hadris_iso::StoredCopy;
use rustix::fs::Advice;
use rustix::io::Errno;

use super::device::SECTOR;
use super::prewrite::Prewritten;

/// The block size of the filesystems that can share extents between files (XFS and btrfs
/// with 4 KiB blocks), which only share whole blocks from offsets on a block boundary.
const CLONE_BLOCK: u64 = 4096;

/// The span a copy's offsets are best aligned on. Linux copies page cache to page cache
/// (ext4, tmpfs; XFS and btrfs where they cannot share) through a pipe of 16 pages, and a run
/// that starts off a 64 KiB boundary is copied markedly slower all along, not just at its
/// start: measured on ext4 (Linux 6.x), 600 MB in 32 MiB runs starting 4 KiB past a 64 KiB
/// boundary take 0.23 s, the same runs starting on it 0.16 s. Unchanged large files keep their
/// offset modulo 64 KiB in the new image (see the module doc), so copying a run's first bytes up
/// to the boundary apart puts the rest of it on the boundary on both sides.
const COPY_SPAN: u64 = 64 << 10;

/// `statfs` magic numbers of the filesystems whose `copy_file_range` shares extents (XFS,
/// btrfs, bcachefs). Elsewhere a run is copied in one call: splitting it off at a block
/// boundary only costs time there.
const CLONING_FILESYSTEMS: [u64; 3] = [0x5846_5342, 0x9123_683e, 0xca45_1a4e];

/// Whether `file` lies on a filesystem that shares extents on copy.
fn shares_blocks(file: &File) -> bool {
    rustix::fs::fstatfs(file).is_ok_and(|s| CLONING_FILESYSTEMS.contains(&(s.f_type as u64)))
}

/// Set to `1`, unchanged file data is always streamed through the writer, never copied by the
/// kernel (to compare the two, or for a filesystem whose `copy_file_range` misbehaves rather
/// than refusing).
pub const STREAM_COPY_VAR: &str = "ISOREMIX_STREAM_COPY";

/// How the writer moves the unchanged file data of the source to the output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DataCopy {
    /// Copied by the kernel (`copy_file_range`), streamed where the kernel refuses.
    #[default]
    Kernel,
    /// Always read and written by the writer.
    Stream,
}

impl DataCopy {
    /// [`DataCopy::Stream`] when [`STREAM_COPY_VAR`] is `1`, else [`DataCopy::Kernel`].
    pub fn from_env() -> Self {
        match std::env::var_os(STREAM_COPY_VAR) {
            Some(v) if v == "1" => Self::Stream,
            _ => Self::Kernel,
        }
    }
}

/// The bytes written to the output so far, for progress, whoever wrote them.
pub(super) struct Tally<'a> {
    written: Cell<u64>,
    /// Called with the bytes written and the planned total (0 when unknown).
    progress: &'a dyn Fn(u64, u64),
    total: u64,
}

impl<'a> Tally<'a> {
    pub(super) fn new(progress: &'a dyn Fn(u64, u64), total: u64) -> Self {
        Self {
            written: Cell::new(0),
            progress,
            total,
        }
    }

    pub(super) fn add(&self, bytes: u64) {
        let written = self.written.get() + bytes;
        self.written.set(written);
        (self.progress)(written, self.total);
    }
}

/// Copies runs of the source file to the output file with `copy_file_range`, for the image
/// writer (see the module documentation).
pub(super) struct KernelCopy<'a> {
    source: &'a File,
    /// The source file's length: device bytes past it are appended in memory, not in the file.
    source_len: u64,
    output: &'a File,
    /// False once the kernel refused, or when the files or the caller rule the call out.
    on: bool,
    /// Whether the output's filesystem shares extents, so runs start on its block boundaries.
    clones: bool,
    copied: u64,
    tally: &'a Tally<'a>,
    /// Runs already copied to the output ahead of the writer ([`super::prewrite`]).
    ahead: Option<&'a Prewritten>,
    /// Of the bytes copied, those copied ahead.
    copied_ahead: u64,
}

impl<'a> KernelCopy<'a> {
    /// A copier from `source` to `output`, on only for [`DataCopy::Kernel`] between two
    /// regular files; the runs `ahead` covers are already in the output and only counted.
    pub(super) fn new(
        source: &'a File,
        output: &'a File,
        mode: DataCopy,
        tally: &'a Tally<'a>,
        ahead: Option<&'a Prewritten>,
    ) -> io::Result<Self> {
        let source_meta = source.metadata()?;
        let on = mode == DataCopy::Kernel
            && source_meta.file_type().is_file()
            && output.metadata()?.file_type().is_file();
        if on {
            // The source is read front to back: a larger readahead window, as `cp` asks for.
            // Advice only; a filesystem that ignores it copies all the same.
            let _ = rustix::fs::fadvise(source, 0, None, Advice::Sequential);
        }
        Ok(Self {
            source,
            source_len: source_meta.len(),
            output,
            on,
            clones: on && shares_blocks(output),
            copied: 0,
            tally,
            ahead,
            copied_ahead: 0,
        })
    }

    /// The bytes the kernel copied.
    pub(super) fn copied(&self) -> u64 {
        self.copied
    }

    /// Of [`copied`](Self::copied), the bytes found already copied ahead of the writer.
    pub(super) fn copied_ahead(&self) -> u64 {
        self.copied_ahead
    }

    /// Copies up to `len` bytes from byte `from` of the source to byte `to` of the output,
    /// within the source file, and returns how many were copied: fewer when the kernel refused
    /// (then this copier is off), or when the range passes the end of the source.
    pub(super) fn copy_range(
        &mut self,
        from: u64,
        to: u64,
        len: u64,
    ) -> Result<u64, hadris_fs::Error<io::Error>> {
        if !self.on {
            return Ok(0);
        }
        let want = from
            .saturating_add(len)
            .min(self.source_len)
            .saturating_sub(from);
        if let Some(len) = NonZeroU64::new(want) {
            // Starts reading the whole run from disk at once when it is not cached, rather
            // than a readahead window at a time behind the copy. Advice only.
            let _ = rustix::fs::fadvise(self.source, from, Some(len), Advice::WillNeed);
        }
        let mut done = 0;
        while done < want {
            let (mut at_in, mut at_out) = (from + done, to + done);
            let ask = next_call(at_in, at_out, want - done, self.clones) as usize;
            match rustix::fs::copy_file_range(
                self.source,
                Some(&mut at_in),
                self.output,
                Some(&mut at_out),
                ask,
            ) {
                Ok(0) => {
                    self.on = false;
                    break;
                }
                Ok(n) => done += n as u64,
                Err(Errno::INTR) => {}
                Err(Errno::XDEV | Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP | Errno::BADF) => {
                    self.on = false;
                    break;
                }
                Err(e) => {
                    return Err(hadris_fs::Error::device(
                        e.into(),
                        "copying the source's data to the image failed",
                    ));
                }
            }
        }
        Ok(done)
    }
}

/// How many of the `left` bytes from `at_in` (source) to `at_out` (output) one
/// `copy_file_range` call is asked for. At most 1 GiB (one call copies at most about 2 GiB; the
/// caller loops for the rest). A run whose two ends sit alike within 64 KiB but not on its
/// start gets the part before the 64 KiB boundary first, so that the rest is copied from the
/// boundary on both sides ([`COPY_SPAN`]). Where the filesystem shares blocks (`clones`), a
/// run whose ends sit alike within a block but not on its start gets the bytes before the block
/// boundary first, so that the rest can be shared (XFS and btrfs share only whole blocks from
/// block-aligned offsets, else they copy it all).
fn next_call(at_in: u64, at_out: u64, left: u64, clones: bool) -> u64 {
    let ask = left.min(1 << 30);
    let span_lead = at_in % COPY_SPAN;
    let block_lead = at_in % CLONE_BLOCK;
    if span_lead != 0 && span_lead == at_out % COPY_SPAN {
        ask.min(COPY_SPAN - span_lead)
    } else if clones && block_lead != 0 && block_lead == at_out % CLONE_BLOCK {
        ask.min(CLONE_BLOCK - block_lead)
    } else {
        ask
    }
}

impl StoredCopy for KernelCopy<'_> {
    type Error = io::Error;

    fn copy_stored(
        &mut self,
        from: u64,
        to: u64,
        len: u64,
    ) -> Result<u64, hadris_fs::Error<io::Error>> {
        let end = from.saturating_add(len).min(self.source_len);
        let want = end.saturating_sub(from) / SECTOR * SECTOR;
        // Already copied ahead: the writer offers the rest of the run again.
        let ahead = self
            .ahead
            .map_or(0, |a| a.covered(from, to, want) / SECTOR * SECTOR);
        if ahead > 0 {
            self.copied += ahead;
            self.copied_ahead += ahead;
            self.tally.add(ahead);
            return Ok(ahead);
        }
        let done = self.copy_range(from, to, want)?;
        // The writer streams a partial sector's bytes again from its start.
        let whole = done / SECTOR * SECTOR;
        self.copied += whole;
        if whole > 0 {
            self.tally.add(whole);
        }
        Ok(whole)
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::FileExt;
    use std::path::Path;

    use super::*;

    fn files(dir: &Path, len: usize) -> (File, File) {
        let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(dir.join("src"), &data).unwrap();
        let out = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(dir.join("out"))
            .unwrap();
        (File::open(dir.join("src")).unwrap(), out)
    }

    #[test]
    fn runs_are_copied_from_a_64_kib_boundary_where_both_ends_allow_it() {
        const K: u64 = 1024;
        // Alike within 64 KiB, off the boundary: the lead first, then from the boundary on.
        assert_eq!(next_call(124_928, 124_928, 32 << 20, false), 6 * K);
        assert_eq!(next_call(4 * K, (1 << 20) + 4 * K, 32 << 20, false), 60 * K);
        assert_eq!(next_call(64 * K, 128 * K, 32 << 20, false), 32 << 20);
        // A run shorter than its lead is copied whole; a long one in 1 GiB calls.
        assert_eq!(next_call(2 * K, 2 * K, 4 * K, false), 4 * K);
        assert_eq!(next_call(0, 0, 3 << 30, false), 1 << 30);
        // Ends not alike within 64 KiB: one call, unless blocks can be shared.
        assert_eq!(next_call(2 * K, 6 * K, 32 << 20, false), 32 << 20);
        assert_eq!(next_call(2 * K, 6 * K + 64 * K, 32 << 20, true), 2 * K);
        assert_eq!(next_call(2 * K, 4 * K, 32 << 20, true), 32 << 20);
    }

    #[test]
    fn whole_sectors_inside_the_source_are_copied_to_the_given_offset() {
        let dir = tempfile::tempdir().unwrap();
        // Three sectors and a half: the half sector is past the last whole one.
        let (src, out) = files(dir.path(), 7 * 1024);
        let tally = Tally::new(&|_, _| {}, 0);
        let mut copy = KernelCopy::new(&src, &out, DataCopy::Kernel, &tally, None).unwrap();
        assert_eq!(copy.copy_stored(2048, 8192, 8192).unwrap(), 4096);
        // Bytes past the end of the source file (appended in memory) are declined.
        assert_eq!(copy.copy_stored(6144, 0, 2048).unwrap(), 0);
        assert_eq!(copy.copied(), 4096);
        let mut got = vec![0u8; 4096];
        out.read_exact_at(&mut got, 8192).unwrap();
        let mut want = vec![0u8; 4096];
        src.read_exact_at(&mut want, 2048).unwrap();
        assert_eq!(got, want);
    }

    #[test]
    fn a_run_split_at_a_block_boundary_for_sharing_copies_the_same_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let (src, out) = files(dir.path(), 64 * 1024);
        let tally = Tally::new(&|_, _| {}, 0);
        for (clones, to) in [(false, 10_240), (true, 34_816)] {
            let mut copy = KernelCopy::new(&src, &out, DataCopy::Kernel, &tally, None).unwrap();
            // As on XFS or btrfs: both ends sit 2 KiB into a 4 KiB block.
            copy.clones = clones;
            assert_eq!(copy.copy_stored(2048, to, 20_480).unwrap(), 20_480);
            let mut got = vec![0u8; 20_480];
            out.read_exact_at(&mut got, to).unwrap();
            let mut want = vec![0u8; 20_480];
            src.read_exact_at(&mut want, 2048).unwrap();
            assert_eq!(got, want, "clones: {clones}");
        }
    }

    #[test]
    fn streaming_forced_or_a_device_output_declines_everything() {
        let dir = tempfile::tempdir().unwrap();
        let (src, out) = files(dir.path(), 8192);
        let tally = Tally::new(&|_, _| {}, 0);
        let mut copy = KernelCopy::new(&src, &out, DataCopy::Stream, &tally, None).unwrap();
        assert_eq!(copy.copy_stored(0, 0, 4096).unwrap(), 0);
        let null = File::options().write(true).open("/dev/null").unwrap();
        let mut copy = KernelCopy::new(&src, &null, DataCopy::Kernel, &tally, None).unwrap();
        assert_eq!(copy.copy_stored(0, 0, 4096).unwrap(), 0);
        assert_eq!(out.metadata().unwrap().len(), 0);
    }
}
