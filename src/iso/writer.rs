//! Writing the remastered image: a fresh ISO 9660 image with the source's
//! identifiers, namespaces, El Torito entries and hybrid boot, unchanged
//! file data copied from the source by the kernel where it can (see
//! [`super::kernel_copy`]) and streamed elsewhere, written to a temporary
//! file beside the target and renamed into place only when complete.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

use hadris_fs::DateTime;
use hadris_io::ErrorType;
use hadris_iso::{BootEntry, BootInfo, ElTorito, IsoId, IsoOptions};
use hadris_storage::host::FileDevice;
use hadris_storage::{BlockIndex, BlockSize};

use super::device::SECTOR;
use super::error::{Error, Result};
use super::hybrid::{self, HybridSource, HybridTargets};
use super::kernel_copy::{DataCopy, KernelCopy, Tally};
use super::output::{Existing, PartialImage};
use super::prewrite::Prewrite;
use super::source::{BootPlatform, SourceIso};

/// How the new image is stamped.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// A new volume identifier, or the source's.
    pub volume_id: Option<String>,
    /// The time every new or changed date gets.
    pub time: DateTime,
    /// Bytes the image's ids (disk id, GPT GUIDs) derive from.
    pub seed: Vec<u8>,
    /// Whether an existing output file may be replaced.
    pub existing: Existing,
    /// A file whose data is laid out after every other file's (a path inside the image), so
    /// that the others can be written before its content is made ([`Prewrite`]).
    pub last: Option<String>,
}

/// What was written.
#[derive(Debug, Clone, Default)]
pub struct WriteReport {
    /// The image length in bytes.
    pub size: u64,
    /// The El Torito entries written: platform and boot image path.
    pub boot: Vec<(BootPlatform, String)>,
    /// Whether an isohybrid MBR was written, and a GPT.
    pub hybrid: bool,
    /// Whether a GPT was written.
    pub gpt: bool,
    /// Things the writer could not store exactly (e.g. Joliet names cut to
    /// 64 characters), as text.
    pub warnings: Vec<String>,
    /// The bytes of unchanged file data the kernel copied from the source
    /// (`copy_file_range`); the rest of the image went through the writer.
    pub kernel_copied: u64,
    /// Of those, the bytes copied ahead of the writer ([`Prewrite`]).
    pub copied_ahead: u64,
}

/// The output device, counting the bytes written for progress.
pub(super) struct Counting<'a> {
    pub(super) inner: FileDevice,
    pub(super) tally: &'a Tally<'a>,
}

impl ErrorType for Counting<'_> {
    type Error = io::Error;
}

impl hadris_storage::sync::BlockDevice for Counting<'_> {
    fn block_size(&self) -> BlockSize {
        self.inner.block_size()
    }
    fn block_count(&self) -> u64 {
        self.inner.block_count()
    }
    fn max_block_count(&self) -> u64 {
        self.inner.max_block_count()
    }
    fn writable(&self) -> bool {
        true
    }
    fn read_blocks(
        &mut self,
        first: BlockIndex,
        buf: &mut [u8],
    ) -> Result<(), hadris_fs::Error<io::Error>> {
        self.inner.read_blocks(first, buf)
    }
    fn write_blocks(
        &mut self,
        first: BlockIndex,
        buf: &[u8],
    ) -> Result<(), hadris_fs::Error<io::Error>> {
        self.inner.write_blocks(first, buf)?;
        self.tally.add(buf.len() as u64);
        Ok(())
    }
    /// Nothing: the host file would sync its data to disk here, which the output does not do
    /// (see `PartialImage::commit`); every write already reached the file.
    fn flush(&mut self) -> Result<(), hadris_fs::Error<io::Error>> {
        Ok(())
    }
}

/// El Torito options with the entries they write (platform, image path).
type Catalog = (ElTorito, Vec<(BootPlatform, String)>);

/// The El Torito options that reproduce the source's catalog over the
/// (possibly changed) boot image files.
fn el_torito(src: &SourceIso) -> Result<Catalog> {
    if src.boot_entries().is_empty() {
        return Err(Error::Boot {
            path: src.path().to_path_buf(),
            detail: "no El Torito boot catalog: not a bootable installer image".into(),
        });
    }
    src.check_boot_entries()?;
    let mut el = ElTorito::new();
    let mut written = Vec::new();
    for entry in src.boot_entries() {
        let path = entry.path.as_deref().ok_or_else(|| Error::Boot {
            path: src.path().to_path_buf(),
            detail: format!(
                "El Torito entry at block {} does not point at a file of the image",
                entry.load_block
            ),
        })?;
        if !entry.no_emulation {
            return Err(Error::Boot {
                path: src.path().to_path_buf(),
                detail: format!(
                    "El Torito entry {path} uses disk emulation, which isoremix does not rewrite"
                ),
            });
        }
        let rel = path.trim_start_matches('/');
        if !src.exists(rel) {
            return Err(src.entry_err(path, "is an El Torito boot image and cannot be removed"));
        }
        let boot = match entry.platform {
            BootPlatform::Bios => {
                let b = BootEntry::bios(rel).with_load_size(entry.sector_count);
                if entry.boot_info_table {
                    b.with_boot_info(BootInfo::Table)
                } else {
                    b
                }
            }
            BootPlatform::Uefi => BootEntry::uefi(rel),
            BootPlatform::Other(id) => BootEntry::bios(rel)
                .with_platform(hadris_iso::Platform::from_id(id))
                .with_load_size(entry.sector_count),
        };
        el = el.with_entry(boot);
        written.push((entry.platform, path.to_string()));
    }
    if let Some(cat) = src.catalog_path() {
        el = el.with_catalog_path(cat.trim_start_matches('/'));
    }
    Ok((el, written))
}

/// Writes `src`'s (edited) tree as a new image at `out`, calling
/// `progress(bytes written)` as it goes.
///
/// The image appears at `out` only when everything is written; on any error
/// or interruption nothing is left behind. An existing `out` is replaced only
/// if `opts.existing` allows it. Unchanged file data is copied by the kernel
/// unless [`STREAM_COPY_VAR`](super::STREAM_COPY_VAR) says otherwise
/// ([`DataCopy::from_env`]).
pub fn write(
    src: &mut SourceIso,
    out: &Path,
    opts: &WriteOptions,
    progress: &dyn Fn(u64),
) -> Result<WriteReport> {
    write_with(src, out, opts, DataCopy::from_env(), progress)
}

/// [`write()`], with unchanged file data moved as `copy` says. The image is the
/// same either way; [`WriteReport::kernel_copied`] tells how much the kernel
/// copied.
pub fn write_with(
    src: &mut SourceIso,
    out: &Path,
    opts: &WriteOptions,
    copy: DataCopy,
    progress: &dyn Fn(u64),
) -> Result<WriteReport> {
    let (partial, report) = write_uncommitted(src, out, opts, copy, progress, None)?;
    partial.commit()?;
    Ok(report)
}

/// [`write_with`], putting the image in place only if `ready`, asked once the image is
/// written, says so: `None` when it does not (nothing is left at `out` or beside it). A
/// check that runs beside the writer (the hash of a file the build relied on) ends there.
/// `ahead` is the output started by [`Prewrite::start`] for the same `src`, `out` and `opts`,
/// if any: the data it copied is not written again.
pub fn write_if(
    src: &mut SourceIso,
    out: &Path,
    opts: &WriteOptions,
    copy: DataCopy,
    progress: &dyn Fn(u64),
    ready: impl FnOnce() -> bool,
    ahead: Option<Prewrite>,
) -> Result<Option<WriteReport>> {
    let (partial, report) = write_uncommitted(src, out, opts, copy, progress, ahead)?;
    if !ready() {
        return Ok(None);
    }
    partial.commit()?;
    Ok(Some(report))
}

/// Unchanged files of at least [`KEPT_FILE_MIN_LEN`] bytes start at the same offset modulo
/// this as in the source, so copying them moves whole pages between the page caches (on
/// Linux 6.x with large folios, `copy_file_range` between offsets that differ modulo 64 KiB
/// runs about a quarter slower) and a filesystem that clones (XFS, btrfs) can share their
/// blocks instead of copying them. Files in the same order as in the source stay in step, so
/// zero padding (under 64 KiB) appears only where the order or a size before them changed.
const KEPT_FILE_PERIOD: u64 = 64 * 1024;

/// The smallest unchanged file worth padding for (see [`KEPT_FILE_PERIOD`]).
const KEPT_FILE_MIN_LEN: u64 = 1024 * 1024;

/// The options that write `src`'s tree as the new image `opts` describes, and the El Torito
/// entries they write (platform, boot image path). The source's boot catalog file is still in
/// the tree: the writer takes it out and writes a new catalog.
pub(super) fn iso_options(
    src: &mut SourceIso,
    opts: &WriteOptions,
) -> Result<(IsoOptions, Vec<(BootPlatform, String)>)> {
    let mut options = src
        .session_mut()
        .options()
        .with_time(opts.time)
        .with_seed(seed_u64(&opts.seed));
    if let Some(id) = &opts.volume_id {
        options = options.with_id(IsoId::Volume, id);
    }
    // XCP-ng's ISOs are written with `genisoimage -joliet-long`: Joliet names
    // of up to 103 characters (the repodata's are 80), so none is cut.
    if options.joliet() {
        options = options.with_joliet_long();
    }
    options = options.with_stored_alignment(KEPT_FILE_PERIOD, KEPT_FILE_MIN_LEN);
    if let Some(last) = &opts.last {
        options = options.with_last_file(last);
    }
    let (el, written) = el_torito(src)?;
    Ok((options.with_el_torito(el), written))
}

/// The image written beside `out`, not yet in place (into the file `ahead` started, if any).
fn write_uncommitted(
    src: &mut SourceIso,
    out: &Path,
    opts: &WriteOptions,
    copy: DataCopy,
    progress: &dyn Fn(u64),
    ahead: Option<Prewrite>,
) -> Result<(PartialImage, WriteReport)> {
    let (partial, prewritten) = match ahead {
        Some(ahead) => {
            let (partial, done) = ahead.finish(src, opts)?;
            (partial, Some(done))
        }
        None => (PartialImage::create(out, opts.existing)?, None),
    };
    let (options, written) = iso_options(src, opts)?;
    if let Some(cat) = src.catalog_path().map(str::to_string) {
        src.remove(&cat)?;
    }
    let mut report = WriteReport {
        boot: written,
        ..WriteReport::default()
    };

    // The layout of an image over stored content is not known before writing it: no total.
    let report_done = |done, _| progress(done);
    let tally = Tally::new(&report_done, 0);
    let counting = Counting {
        inner: partial.device()?,
        tally: &tally,
    };
    let source = src.file().try_clone().map_err(|e| partial.err(e))?;
    let mut kernel = KernelCopy::new(&source, partial.file(), copy, &tally, prewritten.as_ref())
        .map_err(|e| partial.err(e))?;
    let written = src
        .session_mut()
        .export_copying(counting, &options, &mut kernel)
        .map_err(|e| partial.err(e))?;
    report.kernel_copied = kernel.copied();
    report.copied_ahead = kernel.copied_ahead();
    // One line per kind of warning, naming the first path it concerns.
    let mut seen: Vec<(&'static str, usize, String)> = Vec::new();
    for warning in written.warnings() {
        let path = warning
            .path()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .unwrap_or_default();
        match seen.iter_mut().find(|(m, _, _)| *m == warning.message()) {
            Some((_, n, _)) => *n += 1,
            None => seen.push((warning.message(), 1, path)),
        }
    }
    for (message, n, path) in seen {
        report.warnings.push(match n {
            1 => format!("{message} ({path})"),
            _ => format!("{message} ({path} and {} more)", n - 1),
        });
    }
    report.size = written.size();
    if prewritten.is_some() {
        // Copies ahead may have gone past the end of an image laid out otherwise.
        partial
            .file()
            .set_len(report.size)
            .map_err(|e| partial.err(e))?;
    }

    if let Some(hybrid) = HybridSource::read(src.system_area()) {
        let path_of = |platform| {
            src.boot_entries()
                .iter()
                .find(|e| e.platform == platform)
                .and_then(|e| e.path.clone())
        };
        let (bios, efi) = (path_of(BootPlatform::Bios), path_of(BootPlatform::Uefi));
        match apply_hybrid(
            partial.file(),
            &written,
            &hybrid,
            bios.as_deref(),
            efi.as_deref(),
            &opts.seed,
        )
        .map_err(|e| partial.err(e))?
        {
            Some(layout) => {
                report.size = layout.padded_len;
                report.hybrid = true;
                report.gpt = layout.tail.is_some();
            }
            None => report.warnings.push(
                "the source has an isohybrid MBR but no BIOS boot image: MBR not written".into(),
            ),
        }
    }

    Ok((partial, report))
}

/// Writes the isohybrid system area (and backup GPT) of `hybrid` into the
/// image `file` that `written` describes, for the BIOS boot image `bios`
/// and the EFI boot image `efi`. `None` when there is no BIOS boot image.
pub fn apply_hybrid(
    file: &File,
    written: &hadris_fs::Report,
    hybrid: &HybridSource,
    bios: Option<&str>,
    efi: Option<&str>,
    seed: &[u8],
) -> io::Result<Option<hybrid::HybridLayout>> {
    let span = |path: &str| {
        let extents = written.extents(path.trim_start_matches('/').as_bytes())?;
        let first = extents.first()?;
        let len: u64 = extents.iter().map(|e| e.len()).sum();
        Some(((first.offset() / SECTOR) as u32, len))
    };
    let Some((isolinux_block, _)) = bios.and_then(span) else {
        return Ok(None);
    };
    let efi = efi
        .and_then(span)
        .map(|(block, len)| (block, len.div_ceil(512).min(u64::from(u16::MAX)) as u32));
    let layout = hybrid::lay_out(
        hybrid,
        &HybridTargets {
            volume_bytes: written.size(),
            isolinux_block,
            efi,
        },
        seed,
    );
    file.write_all_at(&layout.head, 0)?;
    file.set_len(layout.padded_len)?;
    if let Some(tail) = &layout.tail {
        file.write_all_at(tail, layout.padded_len - tail.len() as u64)?;
    }
    Ok(Some(layout))
}

pub(crate) fn seed_u64(seed: &[u8]) -> u64 {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(seed);
    u64::from_le_bytes(d[..8].try_into().unwrap_or([0; 8]))
}
