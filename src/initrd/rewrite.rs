//! One call from a source image and the edits to the new image: [`rewrite`] reads the image
//! once, resolves the edits against it, chooses how to write the result (an appended overlay,
//! a block-level splice or a full re-pack) and writes it, saying which and why. A splice's
//! result is a list of [`Piece`]s (ranges of the source image around new bytes), which the
//! caller's image writer copies; a result made with a cached index comes with the check of
//! that index still running, and an overlay with the scan of its base's bzip2 framing
//! ([`PendingCheck`]): the caller writes the new ISO meanwhile and uses it only if it holds.

use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::Result;
use super::compression::{self, Compression};
use super::edits::{Changes, Edits, Strategy, patch_targets, plan, prepare_kept};
use super::error::Error;
use super::image_digest::image_digest_of;
use super::index::{Index, Visit, probe, read_indexed};
use super::pieces::Piece;
use super::repack::{RepackOptions, repack, repack_spooled};
use super::splice::{Decoded, SpliceSummary, plan_splice, write_splice};
use super::tree::{Kept, Tree};
use super::{index_cache, overlay};
use crate::progress::Progress;

/// Largest content of a patched file kept while the image is read.
const MAX_KEPT: u64 = 64 << 20;

/// How [`rewrite`] works.
#[derive(Debug, Clone)]
pub struct RewriteOptions {
    /// The strategy the caller insists on, if any (`None`: the best that applies).
    pub forced: Option<Strategy>,
    /// A folder for the files written on the way (the new image, a spool).
    pub workdir: PathBuf,
    /// Where image indexes are cached (see [`index_cache`]); `None`: no cache.
    pub cache_dir: Option<PathBuf>,
    /// Progress bars.
    pub progress: Progress,
}

/// Why [`rewrite`] chose its strategy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The caller forced it.
    Forced,
    /// Nothing is removed nor patched: an overlay keeps the source's bytes.
    OnlyAdded,
    /// This path is removed and a splice does not apply (the image is not bzip2, or the
    /// splice was refused for the reason given).
    Removal(Vec<u8>, Option<String>),
    /// Patches only, written as an overlay because a splice does not apply (why).
    NoSplice(String),
    /// Only the blocks holding the changed entries were re-encoded.
    Spliced(SpliceSummary),
}

/// Where the new image is.
#[derive(Debug)]
pub enum Output {
    /// The source stays as it is, followed by these bytes.
    Appended(Vec<u8>),
    /// Ranges of the source and new bytes, in order (a splice, see [`Piece`]).
    Spliced(Vec<Piece>),
    /// A whole new image, written at this path.
    Replaced(PathBuf),
}

/// What [`rewrite`] did.
#[derive(Debug)]
pub struct Rewritten {
    /// The strategy used.
    pub strategy: Strategy,
    /// Why.
    pub reason: Reason,
    /// The edits as resolved against the image.
    pub changes: Changes,
    /// The new image.
    pub output: Output,
    /// Things worth telling with more detail (e.g. the index cache could not be written).
    pub notes: Vec<String>,
    /// The check of the cached index the result relies on, when it is still running: the
    /// result may be used only if its [verdict](PendingCheck::verdict) says so.
    pub check: Option<PendingCheck>,
}

/// One read of the source image, made before the edits are known (by a step that needs the
/// image's entries for itself) and handed to [`rewrite`], which then reads nothing again.
#[derive(Debug)]
pub struct SourceRead {
    tree: Tree,
    index: Index,
    spool: Option<PathBuf>,
}

/// Reads the image (`len` bytes, from its start) once: its tree and index for [`rewrite`], with
/// `visit` seeing every entry on the way; with `spool`, the decompressed data are also written
/// to a spool in the work folder for a re-pack. The index is cached (see [`index_cache`]).
pub fn read_source<R: Read>(
    image: R,
    len: u64,
    spool: bool,
    label: &str,
    options: &RewriteOptions,
    visit: Visit<'_>,
) -> Result<SourceRead> {
    let spool_path = options.workdir.join("install.img.cpio");
    let spool_file = match spool {
        true => Some(Box::new(std::io::BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create(&spool_path)
                .map_err(|e| Error::io(spool_path.display().to_string(), e))?,
        )) as Box<dyn std::io::Write>),
        false => None,
    };
    let bar = options.progress.bytes(label, len);
    let reader = BufReader::with_capacity(1 << 20, bar.wrap_read(image));
    let (tree, _, index) = read_indexed(reader, &[], 0, spool_file, visit)?;
    bar.finish();
    if let Some(dir) = &options.cache_dir
        && index.layouts.iter().any(Option::is_some)
    {
        // A cache that cannot be written only costs the next build a decode.
        let _ = index_cache::store(dir, &index);
    }
    Ok(SourceRead {
        tree,
        index,
        spool: spool.then_some(spool_path),
    })
}

/// Rewinds the image.
fn rewound<R: Seek>(image: &mut R) -> Result<&mut R> {
    image
        .seek(SeekFrom::Start(0))
        .map_err(|e| Error::io("reading the image", e))?;
    Ok(image)
}

/// A cached index in use: what it says the image's digest is, checked before the result of
/// [`rewrite`] is handed out.
#[derive(Debug, Clone, Copy)]
struct Claim {
    probe: [u8; 32],
    digest: [u8; 32],
}

/// The image's tree and the contents the patches need, with its index when a splice may
/// serve: from the cache when it holds an index whose blocks are in the image (its digest
/// claim returned for the caller to check), else from one read of the image (which then fills
/// the cache).
fn read_for_splice<R: Read + Seek>(
    image: &mut R,
    len: u64,
    targets: &[&[u8]],
    options: &RewriteOptions,
    spool: Option<&Path>,
    notes: &mut Vec<String>,
    memo: &mut Decoded,
) -> Result<(Tree, Kept, Index, bool, Option<Claim>)> {
    if let Some(dir) = &options.cache_dir {
        let probe = probe(image, len).map_err(|e| Error::io("reading the image", e))?;
        if let Some(index) = index_cache::load(dir, &probe, len, image) {
            let kept = index.keep(image, targets, MAX_KEPT, memo)?;
            let claim = Claim {
                probe,
                digest: index.digest,
            };
            return Ok((index.tree(), kept, index, false, Some(claim)));
        }
    }
    let bar = options.progress.bytes("reading install.img", len);
    let reader = BufReader::with_capacity(1 << 20, bar.wrap_read(&mut *rewound(image)?));
    let spool_file = match spool {
        Some(path) => Some(Box::new(std::io::BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create(path).map_err(|e| Error::io(path.display().to_string(), e))?,
        )) as Box<dyn std::io::Write>),
        None => None,
    };
    let spooled = spool_file.is_some();
    let (tree, kept, index) =
        read_indexed(reader, targets, MAX_KEPT, spool_file, &mut |_, _| true)?;
    bar.finish();
    if let Some(dir) = &options.cache_dir
        && let Err(e) = index_cache::store(dir, &index)
    {
        notes.push(format!(
            "the index of install.img could not be cached in {}: {e}",
            dir.display()
        ));
    }
    Ok((tree, kept, index, spooled, None))
}

/// A check of the source image that a [`Rewritten`] relies on, running on another core while
/// the build goes on (the ISO's copy): the image's digest, against the cached index the result
/// was made with; or, for an overlay, that the image's bzip2 streams are whole (the kernel
/// must reach the appended archive).
#[derive(Debug)]
pub struct PendingCheck(Pending);

#[derive(Debug)]
enum Pending {
    Digest {
        claim: Claim,
        cache_dir: Option<PathBuf>,
        hashing: std::thread::JoinHandle<std::io::Result<[u8; 32]>>,
    },
    Framing(std::thread::JoinHandle<Result<u64>>),
}

impl PendingCheck {
    /// Waits for the check. `Ok(true)`: the result may be used. `Ok(false)`: the image is not
    /// the one the cached index was made of (or could not be read again); the index is removed
    /// from the cache, and the result must not be used: the build starts again, and reads the
    /// image in full. An error: the image itself is damaged, and the build fails.
    pub fn verdict(self) -> Result<bool> {
        match self.0 {
            Pending::Digest {
                claim,
                cache_dir,
                hashing,
            } => {
                let sum = hashing.join().ok().and_then(|r| r.ok());
                let holds = sum == Some(claim.digest);
                if !holds && let Some(dir) = &cache_dir {
                    index_cache::remove(dir, &claim.probe);
                }
                Ok(holds)
            }
            Pending::Framing(scan) => scan
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                .map(|_| true),
        }
    }
}

/// Writes the image `image` (`len` bytes) with `edits` applied; see the module documentation.
/// `read` is the image as [`read_source`] read it, when a step did: the image is then not
/// decoded again (only the blocks holding patched files, when it is bzip2).
///
/// A result made with a cached index is checked against the image's digest, which the index
/// records: with `check`, a second reader of the image from its start, on another core while
/// the build goes on ([`Rewritten::check`], which the caller must see hold before it uses the
/// result); without it, here, reading the image again without the cache when it fails.
pub fn rewrite<R: Read + Seek, C: Read + Send + 'static>(
    mut image: R,
    len: u64,
    edits: &Edits,
    options: &RewriteOptions,
    read: Option<SourceRead>,
    check: Option<C>,
) -> Result<Rewritten> {
    let mut check = check;
    let (mut done, claim) = rewrite_once(&mut image, len, edits, options, read, &mut check)?;
    let Some(claim) = claim else { return Ok(done) };
    if let Some(reader) = check {
        let hashing = std::thread::spawn(move || image_digest_of(reader));
        done.check = Some(PendingCheck(Pending::Digest {
            claim,
            cache_dir: options.cache_dir.clone(),
            hashing,
        }));
        return Ok(done);
    }
    let sum = image_digest_of(rewound(&mut image)?);
    if sum.ok() == Some(claim.digest) {
        return Ok(done);
    }
    if let Some(dir) = &options.cache_dir {
        index_cache::remove(dir, &claim.probe);
    }
    let without_cache = RewriteOptions {
        cache_dir: None,
        ..options.clone()
    };
    let (mut again, _) =
        rewrite_once(&mut image, len, edits, &without_cache, None, &mut None::<C>)?;
    again
        .notes
        .push("the cached index of install.img did not match the image: it was read again".into());
    Ok(again)
}

/// [`rewrite`] without the check of a cached index it used, whose claim it returns. An overlay
/// made without a cached index has its base checked with `check`'s reader on another core
/// ([`Rewritten::check`]) when there is one.
fn rewrite_once<R: Read + Seek, C: Read + Send + 'static>(
    image: &mut R,
    len: u64,
    edits: &Edits,
    options: &RewriteOptions,
    read: Option<SourceRead>,
    check: &mut Option<C>,
) -> Result<(Rewritten, Option<Claim>)> {
    let mut notes = Vec::new();
    let mut claim = None;
    let mut memo = Decoded::default();
    let forced = options.forced;
    // Only adding files needs nothing from the image but its first bytes: the overlay then
    // carries every parent directory itself.
    let needs_tree =
        !edits.remove.is_empty() || !edits.patches.is_empty() || forced == Some(Strategy::Repack);
    let may_splice = forced.is_none() && (!edits.remove.is_empty() || !edits.patches.is_empty());
    let will_repack =
        forced == Some(Strategy::Repack) || (forced.is_none() && !edits.remove.is_empty());
    let targets = patch_targets(edits)?;
    let targets: Vec<&[u8]> = targets.iter().map(|t| t.as_slice()).collect();
    let spool_path = options.workdir.join("install.img.cpio");
    let mut spooled = false;
    // Without removals nor patches the overlay carries every parent directory itself: the
    // tree read before is not used then, so the output does not depend on who read it.
    let read = read.filter(|_| needs_tree);
    let (tree, kept, index) = if let Some(read) = read {
        let bzip2 = read.index.layouts.iter().any(Option::is_some);
        let kept = if bzip2 {
            read.index.keep(image, &targets, MAX_KEPT, &mut memo)?
        } else {
            Kept::default()
        };
        spooled = read.spool.is_some();
        (read.tree, kept, (may_splice && bzip2).then_some(read.index))
    } else if may_splice && starts_bzip2(image)? {
        // Removals with files put besides are likely to need the re-pack (a splice writes
        // only replaced contents): spool then, so that it needs no second decode.
        let spool = (will_repack && !edits.put.is_empty()).then_some(spool_path.as_path());
        let (tree, kept, index, done, claimed) =
            read_for_splice(image, len, &targets, options, spool, &mut notes, &mut memo)?;
        spooled = done;
        claim = claimed;
        (tree, kept, Some(index))
    } else if needs_tree {
        let bar = options.progress.bytes("reading install.img", len);
        let reader = BufReader::with_capacity(1 << 20, bar.wrap_read(&mut *rewound(image)?));
        let read = if will_repack {
            let spool = std::io::BufWriter::with_capacity(
                1 << 20,
                std::fs::File::create(&spool_path)
                    .map_err(|e| Error::io(spool_path.display().to_string(), e))?,
            );
            spooled = true;
            Tree::read_spooling(reader, &targets, MAX_KEPT, Box::new(spool))?
        } else {
            Tree::read_keeping(reader, &targets, MAX_KEPT)?
        };
        bar.finish();
        (read.0, read.1, None)
    } else {
        (Tree::new(), Kept::default(), None)
    };
    let changes = prepare_kept(edits, &tree, &kept, &mut *rewound(image)?)?;
    let mut strategy = plan(&changes, forced)?;
    let mut reason = match (forced, changes.removes.first()) {
        (Some(_), _) => Reason::Forced,
        (None, Some(p)) => Reason::Removal(p.clone(), None),
        (None, None) => Reason::OnlyAdded,
    };
    if let Some(index) = &index {
        match plan_splice(index, &changes)? {
            Ok(splice) => {
                let (pieces, summary) = write_splice(index, image, &splice, &mut memo)?;
                let _ = std::fs::remove_file(&spool_path);
                let done = Rewritten {
                    strategy: Strategy::Splice,
                    reason: Reason::Spliced(summary),
                    changes,
                    output: Output::Spliced(pieces),
                    notes,
                    check: None,
                };
                return Ok((done, claim));
            }
            Err(why) => {
                reason = match reason {
                    Reason::Removal(p, _) => Reason::Removal(p, Some(why)),
                    _ => Reason::NoSplice(why),
                }
            }
        }
    }
    if strategy == Strategy::Splice {
        strategy = Strategy::Repack;
    }
    // The reader checks a cached index when one was used; otherwise it can scan an overlay's
    // base beside the build.
    let mut pending = None;
    let output = match strategy {
        Strategy::Overlay => {
            let scan = match claim {
                None => check.take(),
                Some(_) => None,
            };
            let (bytes, scanning) = write_overlay(image, len, &tree, &changes, scan)?;
            pending = scanning;
            Output::Appended(bytes)
        }
        _ => {
            let path = options.workdir.join("install.img");
            write_repack(
                image,
                len,
                &tree,
                &changes,
                spooled.then_some(spool_path.as_path()),
                &path,
                options,
            )?;
            Output::Replaced(path)
        }
    };
    let _ = std::fs::remove_file(&spool_path);
    let done = Rewritten {
        strategy,
        reason,
        changes,
        output,
        notes,
        check: pending,
    };
    Ok((done, claim))
}

/// Whether the image starts with a bzip2 stream.
fn starts_bzip2<R: Read + Seek>(image: &mut R) -> Result<bool> {
    let mut head = [0u8; compression::MAGIC_LEN];
    let n = rewound(image)?
        .read(&mut head)
        .map_err(|e| Error::io("reading the image", e))?;
    Ok(compression::detect(&head[..n]) == Some(Compression::Bzip2))
}

/// The overlay's bytes, with the check that the base's bzip2 streams are whole: made here, or
/// started on another core over `scan` (a reader of the image from its start) when given.
fn write_overlay<R: Read + Seek, C: Read + Send + 'static>(
    image: &mut R,
    len: u64,
    tree: &Tree,
    changes: &Changes,
    scan: Option<C>,
) -> Result<(Vec<u8>, Option<PendingCheck>)> {
    let compression = match tree.last_compression() {
        Some(c) => c,
        None => {
            let mut head = [0u8; 8];
            let n = rewound(image)?
                .read(&mut head)
                .map_err(|e| Error::io("reading the image", e))?;
            compression::detect(&head[..n]).ok_or(Error::UnknownData { offset: 0 })?
        }
    };
    // The base is shipped as it is: its streams must at least be whole (one scan).
    let pending = match scan {
        Some(reader) => Some(PendingCheck(Pending::Framing(std::thread::spawn(
            move || overlay::check_base(BufReader::with_capacity(1 << 20, reader)),
        )))),
        None => {
            overlay::check_base(BufReader::with_capacity(1 << 20, rewound(image)?))?;
            None
        }
    };
    let mut out = Vec::new();
    overlay::write_overlay(len, compression, changes, &mut out)?;
    Ok((out, pending))
}

fn write_repack<R: Read + Seek>(
    image: &mut R,
    len: u64,
    tree: &Tree,
    changes: &Changes,
    spool: Option<&Path>,
    path: &Path,
    options: &RewriteOptions,
) -> Result<()> {
    let out = std::io::BufWriter::new(
        std::fs::File::create(path).map_err(|e| Error::io(path.display().to_string(), e))?,
    );
    let repack_options = RepackOptions {
        compression: tree.last_compression().unwrap_or(Compression::Bzip2),
        ..RepackOptions::default()
    };
    let spooled = spool.filter(|_| {
        tree.segments()
            .iter()
            .all(|s| s.compression != Compression::None)
    });
    // The bar counts the input read: the decompressed spool, or the image itself.
    if let Some(spool) = spooled {
        let file =
            std::fs::File::open(spool).map_err(|e| Error::io(spool.display().to_string(), e))?;
        let spool_len = file
            .metadata()
            .map_err(|e| Error::io(spool.display().to_string(), e))?
            .len();
        let bar = options.progress.bytes("re-packing install.img", spool_len);
        let spool = BufReader::with_capacity(1 << 20, bar.wrap_read(file));
        repack_spooled(spool, tree, Some(changes), &repack_options, out)?;
        bar.finish();
    } else {
        let bar = options.progress.bytes("re-packing install.img", len);
        let reader = BufReader::with_capacity(1 << 20, bar.wrap_read(rewound(image)?));
        repack(reader, tree, Some(changes), &repack_options, out)?;
        bar.finish();
    }
    Ok(())
}
