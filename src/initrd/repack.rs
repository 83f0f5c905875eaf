//! The repack strategy: one merged tree written as a sequence of independent segments, each a
//! complete newc archive (ending in `TRAILER!!!`) inside its own compressed stream, compressed in
//! parallel. The kernel unpacks the segments one after the other (a stream must end at the end of
//! an archive, which each does), so the result is the whole tree.
//!
//! Tools: `bzip2 -t` checks every stream; `bzip2 -dc` (and `lbzip2 -dc`) decompress all the
//! concatenated streams into one byte stream of consecutive archives. GNU cpio (checked with
//! 2.13) stops at the first `TRAILER!!!` and exits successfully, leaving the rest of its input
//! unread, so `bzip2 -dc install.img | cpio -idm` extracts only the first segment. It reads its
//! input in 512-byte blocks, and every archive written here is padded to a multiple of 512
//! bytes (as GNU cpio pads its own), so running cpio again on the same open input continues with
//! the next archive: `bzip2 -dc install.img > all.cpio; (while cpio -idmu; do :; done) < all.cpio`
//! extracts the whole tree (the last run fails with "premature end of archive" at the end of
//! the data, which ends the loop). `-u` lets a later archive replace files of an earlier one.
//!
//! Order of entries (deterministic): all directories (sorted by path, parents first), then
//! symlinks, device nodes, FIFOs, sockets and empty files (sorted by path), then files with
//! content in the order their data appear in the source image, then files whose content comes
//! from edits (sorted by path). A hard-link group is written together (GNU cpio's way: the data
//! on its last name), so it never spans two archives.
//!
//! Memory: the source is streamed once. Each segment is built in memory up to
//! [`RepackOptions::segment_size`] bytes (uncompressed) before being handed to a compression
//! thread; at most `4 * threads` segments are between the one being built and the output
//! (queued, being compressed, or compressed and waiting for an earlier one to be written), so
//! about `4 * threads + 1` segments are held at most, with each thread's encoder scratch. A
//! file group larger than `segment_size` is never buffered: the pending segments are written
//! out first, then the group is compressed as its own segment straight into the output (bzip2
//! on every compression thread, block by block). The threads are at most
//! [`MAX_REPACK_THREADS`], whatever is asked: each costs some 7 MB (a whole build re-packing
//! install.img with 64 threads asked peaks at 88-97 MB with four, 104-111 MB with six, 117-124 MB
//! with eight), and more would make the peak memory grow with the machine's cores.
//! The segment boundaries depend only on the content, never on the number of threads, so the
//! output bytes are the same whatever the thread count.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::sync::Mutex;
use std::sync::mpsc;

use super::Result;
use super::compression::{Compression, Encoder};
use super::edits::{Changes, open_content};
use super::error::{Error, show};
use super::newc::{self, Header};
use super::reader::Reader;
use super::tree::{DataSource, Inode, Kind, Tree};
use super::writer::NewcWriter;

/// Settings of a repack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RepackOptions {
    /// Compression of every segment.
    pub compression: Compression,
    /// Target uncompressed size of a segment.
    pub segment_size: usize,
    /// Compression threads asked for (at least 1 is used, at most [`MAX_REPACK_THREADS`]).
    pub threads: usize,
}

/// The most threads compressing segments at once (see the module documentation's memory
/// figures): with six, a whole build that re-packs a 640 MB install.img peaks under 115 MB
/// however many threads are asked for (measured with 64), as many threads as decode it
/// ([`super::MAX_BLOCK_THREADS`]).
pub const MAX_REPACK_THREADS: usize = 6;

/// The default segment size: big enough that the segments' own framing (a stream header and
/// end, a trailer, a last block shorter than the others) costs almost nothing (measured: the
/// realistic 640 MB install.img came out 0.1 % smaller than in 8 MiB segments, where the
/// blocks fall elsewhere), small enough that a thread's share of the memory is a few MB.
pub const SEGMENT_SIZE: usize = 2 << 20;

impl Default for RepackOptions {
    fn default() -> Self {
        RepackOptions {
            compression: Compression::Bzip2,
            segment_size: SEGMENT_SIZE,
            threads: crate::parallelism::cores(),
        }
    }
}

/// What a repack wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RepackSummary {
    /// Number of segments (archives, each in its own stream).
    pub segments: u64,
    /// Number of entries written (trailers not counted).
    pub entries: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Threads that compressed the segments ([`RepackOptions::threads`], within
    /// [`MAX_REPACK_THREADS`]).
    pub threads: usize,
}

/// Hands finished segments to the compression threads and writes results in order.
struct Sink<'a, W: Write> {
    out: &'a mut W,
    compression: Compression,
    threads: usize,
    jobs: Option<mpsc::SyncSender<(u64, Vec<u8>)>>,
    results: mpsc::Receiver<(u64, io::Result<Vec<u8>>)>,
    sent: u64,
    written: u64,
    pending: BTreeMap<u64, Vec<u8>>,
    summary: RepackSummary,
}

impl<'a, W: Write> Sink<'a, W> {
    /// A sink writing to `out`, sending segments to `threads` compression threads on `jobs` and
    /// taking their results from `results`.
    fn new(
        out: &'a mut W,
        compression: Compression,
        threads: usize,
        jobs: mpsc::SyncSender<(u64, Vec<u8>)>,
        results: mpsc::Receiver<(u64, io::Result<Vec<u8>>)>,
    ) -> Self {
        Sink {
            out,
            compression,
            threads,
            jobs: Some(jobs),
            results,
            sent: 0,
            written: 0,
            pending: BTreeMap::new(),
            summary: RepackSummary {
                threads,
                ..RepackSummary::default()
            },
        }
    }

    fn write_ready(&mut self) -> io::Result<()> {
        while let Some(data) = self.pending.remove(&self.written) {
            self.out.write_all(&data)?;
            self.summary.bytes += data.len() as u64;
            self.written += 1;
        }
        Ok(())
    }

    /// Writes the results that have come in and can be written in order.
    fn take_ready(&mut self) -> io::Result<()> {
        loop {
            self.write_ready()?;
            match self.results.try_recv() {
                Ok((index, result)) => {
                    self.pending.insert(index, result?);
                }
                Err(_) => return Ok(()),
            }
        }
    }

    /// Writes results in order, waiting for them until at most `outstanding` segments sent are
    /// not written yet.
    fn settle(&mut self, outstanding: u64) -> io::Result<()> {
        loop {
            self.write_ready()?;
            if self.sent - self.written <= outstanding {
                return Ok(());
            }
            let (index, result) = self
                .results
                .recv()
                .map_err(|_| io::Error::other("a compression thread stopped"))?;
            self.pending.insert(index, result?);
        }
    }

    fn submit(&mut self, archive: Vec<u8>) -> io::Result<()> {
        // Queued, being compressed, or compressed and waiting for an earlier one: at most
        // `4 * threads` with this one (`threads` is at least 1), so that one slow segment cannot
        // make the results pile up.
        self.take_ready()?;
        self.settle(4 * self.threads as u64 - 1)?;
        let jobs = self
            .jobs
            .as_ref()
            .ok_or_else(|| io::Error::other("compression queue closed"))?;
        jobs.send((self.sent, archive))
            .map_err(|_| io::Error::other("compression threads stopped"))?;
        self.sent += 1;
        self.summary.segments += 1;
        Ok(())
    }

    /// Writes a segment directly (after everything submitted before it).
    fn write_direct(
        &mut self,
        fill: impl FnOnce(&mut NewcWriter<Encoder<&mut Counter<&mut W>>>) -> Result<()>,
    ) -> Result<()> {
        self.settle(0)
            .map_err(|e| Error::io("writing the repacked image", e))?;
        let mut counter = Counter {
            inner: &mut *self.out,
            n: 0,
        };
        let enc = Encoder::with_threads(self.compression, &mut counter, self.threads)
            .map_err(|e| Error::io("starting a segment", e))?;
        let mut w = NewcWriter::new(enc);
        fill(&mut w)?;
        w.finish()
            .and_then(|e| e.finish())
            .map_err(|e| Error::io("writing the repacked image", e))?;
        self.summary.bytes += counter.n;
        self.summary.segments += 1;
        Ok(())
    }
}

struct Counter<W> {
    inner: W,
    n: u64,
}

impl<W: Write> Write for Counter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.n += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Builds segments of about `segment_size` bytes.
struct Segmenter<'a, 'b, W: Write> {
    sink: &'b mut Sink<'a, W>,
    current: NewcWriter<Vec<u8>>,
    segment_size: usize,
    next_ino: u32,
}

fn werr(path: &[u8]) -> impl Fn(io::Error) -> Error + '_ {
    move |e| Error::io(format!("writing {}", show(path)), e)
}

fn header_of(inode: &Inode, ino: u32, nlink: u32) -> Header {
    Header {
        ino,
        mode: inode.mode,
        uid: inode.uid,
        gid: inode.gid,
        nlink,
        mtime: inode.mtime,
        rdev_major: inode.rdev_major,
        rdev_minor: inode.rdev_minor,
        ..Header::default()
    }
}

/// The name written for a canonical path (the root is `.`).
fn out_name(path: &[u8]) -> &[u8] {
    if path.is_empty() { b"." } else { path }
}

impl<W: Write> Segmenter<'_, '_, W> {
    fn seal(&mut self) -> Result<()> {
        if self.current.written() == 0 {
            return Ok(());
        }
        let done = std::mem::replace(&mut self.current, NewcWriter::new(Vec::new()));
        let bytes = done
            .finish()
            .map_err(|e| Error::io("finishing a segment", e))?;
        self.sink
            .submit(bytes)
            .map_err(|e| Error::io("compressing the repacked image", e))
    }

    fn ino(&mut self) -> u32 {
        self.next_ino = self.next_ino.wrapping_add(1);
        self.next_ino
    }

    /// Makes room for `size` more bytes.
    fn room(&mut self, size: u64) -> Result<()> {
        if self.current.written() > 0 && self.current.written() + size > self.segment_size as u64 {
            self.seal()?;
        }
        Ok(())
    }

    fn entry(&mut self, header: &Header, path: &[u8], data: &[u8]) -> Result<()> {
        self.room(newc::HEADER_LEN as u64 + path.len() as u64 + data.len() as u64 + 8)?;
        self.current
            .append_bytes(header, out_name(path), data)
            .map_err(werr(path))?;
        self.sink.summary.entries += 1;
        Ok(())
    }

    /// A hard-link group: names first with size 0, data on the last one.
    fn group(
        &mut self,
        inode: &Inode,
        paths: &[&[u8]],
        len: u64,
        data: &mut dyn Read,
    ) -> Result<()> {
        let nlink = u32::try_from(paths.len()).unwrap_or(u32::MAX);
        let ino = self.ino();
        let header = header_of(inode, ino, nlink);
        let overhead: u64 = paths
            .iter()
            .map(|p| newc::HEADER_LEN as u64 + p.len() as u64 + 8)
            .sum();
        let Some((last, firsts)) = paths.split_last() else {
            return Ok(());
        };
        if len + overhead > self.segment_size as u64 {
            self.seal()?;
            self.sink.summary.entries += paths.len() as u64;
            return self.sink.write_direct(|w| {
                for p in firsts {
                    w.append_bytes(&header, p, &[]).map_err(werr(p))?;
                }
                w.append(&header, last, len, data).map_err(werr(last))
            });
        }
        self.room(len + overhead)?;
        for p in firsts {
            self.current
                .append_bytes(&header, p, &[])
                .map_err(werr(p))?;
        }
        self.current
            .append(&header, last, len, data)
            .map_err(werr(last))?;
        self.sink.summary.entries += paths.len() as u64;
        Ok(())
    }
}

/// Where a repack takes the data of the source's files from.
enum Source<R, S> {
    /// The source image, read once from its start.
    Image(R),
    /// The decompressed data of its compressed segments (see [`Tree::read_spooling`]).
    Spool(S),
}

/// Writes the merged tree `changes.merged` (or `tree` when there are no changes: pass
/// `changes = None`) as a repacked image. `image` is the source image, read once from its start.
pub fn repack<R: Read, W: Write>(
    image: R,
    tree: &Tree,
    changes: Option<&Changes>,
    options: &RepackOptions,
    out: W,
) -> Result<RepackSummary> {
    repack_from::<R, io::Empty, W>(Source::Image(image), tree, changes, options, out)
}

/// As [`repack`], taking the source's file data from `spool`, the decompressed segments written
/// while the tree was read ([`Tree::read_spooling`]), instead of decompressing the image again.
/// Every segment holding file data must be compressed (uncompressed ones are not spooled). The
/// output is the same as [`repack`]'s.
pub fn repack_spooled<S: Read + Seek, W: Write>(
    spool: S,
    tree: &Tree,
    changes: Option<&Changes>,
    options: &RepackOptions,
    out: W,
) -> Result<RepackSummary> {
    repack_from::<io::Empty, S, W>(Source::Spool(spool), tree, changes, options, out)
}

fn repack_from<R: Read, S: Read + Seek, W: Write>(
    source: Source<R, S>,
    tree: &Tree,
    changes: Option<&Changes>,
    options: &RepackOptions,
    mut out: W,
) -> Result<RepackSummary> {
    let merged = changes.map_or(tree, |c| &c.merged);
    let threads = options.threads.clamp(1, MAX_REPACK_THREADS);
    let (job_tx, job_rx) = mpsc::sync_channel::<(u64, Vec<u8>)>(threads);
    let (res_tx, res_rx) = mpsc::channel::<(u64, io::Result<Vec<u8>>)>();
    let job_rx = Mutex::new(job_rx);
    let compression = options.compression;
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let res_tx = res_tx.clone();
            let job_rx = &job_rx;
            scope.spawn(move || {
                loop {
                    let job = match job_rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    let Ok((index, data)) = job else { return };
                    // A panic in the encoder fails its segment: a result never sent would
                    // leave the writer waiting for it.
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        super::compression::compress(compression, &data)
                    }))
                    .unwrap_or_else(|_| {
                        Err(io::Error::other("the compressor failed on a segment"))
                    });
                    drop(data);
                    if res_tx.send((index, result)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(res_tx);
        let mut sink = Sink::new(&mut out, compression, threads, job_tx, res_rx);
        let result = produce(source, merged, changes, options, &mut sink);
        // Closing the queue lets the threads end even after an error.
        sink.jobs = None;
        result?;
        sink.settle(0)
            .and_then(|()| sink.out.flush())
            .map_err(|e| Error::io("writing the repacked image", e))?;
        Ok(sink.summary)
    })
}

/// An inode index and its paths.
type InodePaths<'a> = (usize, Vec<&'a [u8]>);

fn produce<R: Read, S: Read + Seek, W: Write>(
    source: Source<R, S>,
    merged: &Tree,
    changes: Option<&Changes>,
    options: &RepackOptions,
    sink: &mut Sink<'_, W>,
) -> Result<()> {
    let mut seg = Segmenter {
        sink,
        current: NewcWriter::new(Vec::new()),
        segment_size: options.segment_size.max(512),
        next_ino: 0,
    };
    // 1. Directories.
    for (path, node) in merged.nodes() {
        let Some(inode) = merged.inode(node.inode) else {
            continue;
        };
        if inode.kind != Kind::Dir || (path.is_empty() && node.name.is_empty()) {
            continue;
        }
        let ino = seg.ino();
        seg.entry(&header_of(inode, ino, 2), path, &[])?;
    }
    // 2. Symlinks, special files, empty files (hard-link groups together).
    let mut empty_groups: BTreeMap<usize, Vec<&[u8]>> = BTreeMap::new();
    for (path, node) in merged.nodes() {
        let Some(inode) = merged.inode(node.inode) else {
            continue;
        };
        match inode.kind {
            Kind::Dir => {}
            Kind::File if inode.data == DataSource::Empty => {
                empty_groups.entry(node.inode).or_default().push(path)
            }
            Kind::File => {}
            Kind::Symlink => {
                let ino = seg.ino();
                seg.entry(&header_of(inode, ino, 1), path, &inode.target)?;
            }
            _ => {
                let ino = seg.ino();
                seg.entry(&header_of(inode, ino, 1), path, &[])?;
            }
        }
    }
    let mut empties: Vec<(&[u8], usize)> = empty_groups
        .iter()
        .filter_map(|(i, p)| p.first().map(|f| (*f, *i)))
        .collect();
    empties.sort();
    for (_, i) in empties {
        if let (Some(inode), Some(paths)) = (merged.inode(i), empty_groups.get(&i)) {
            seg.group(inode, paths, 0, &mut io::empty())?;
        }
    }
    // 3. Files with data from the image, in image order; 4. files from edits.
    let groups = merged.files_by_data();
    let mut from_image: HashMap<(usize, u64), InodePaths<'_>> = HashMap::new();
    let mut from_edits = Vec::new();
    for (from, inode, paths) in groups {
        match from {
            DataSource::Base { segment, offset } => {
                from_image.insert((segment, offset), (inode, paths));
            }
            DataSource::Edit(i) => from_edits.push((i, inode, paths)),
            DataSource::Empty => {}
        }
    }
    match source {
        _ if from_image.is_empty() => {}
        Source::Spool(spool) => from_spool(spool, merged, &from_image, &mut seg)?,
        Source::Image(image) => from_reader(image, merged, &from_image, &mut seg)?,
    }
    from_edits.sort_by(|a, b| a.2.cmp(&b.2));
    for (i, inode_index, paths) in from_edits {
        let (Some(changes), Some(inode)) = (changes, merged.inode(inode_index)) else {
            return Err(Error::io(
                "repacking",
                io::Error::other("edit content without changes"),
            ));
        };
        let put = changes
            .puts
            .get(i)
            .ok_or_else(|| Error::io("repacking", io::Error::other("bad edit index")))?;
        let (len, mut data) = open_content(put)?;
        seg.group(inode, &paths, len, &mut data)?;
    }
    seg.seal()?;
    Ok(())
}

/// Files whose data come from the image, by where their data are.
type FromImage<'a> = HashMap<(usize, u64), InodePaths<'a>>;

/// Writes the files of `from_image` in image order, reading their data from the image.
fn from_reader<R: Read, W: Write>(
    image: R,
    merged: &Tree,
    from_image: &FromImage<'_>,
    seg: &mut Segmenter<'_, '_, W>,
) -> Result<()> {
    let mut reader = Reader::new(image);
    let mut found = 0usize;
    while let Some(entry) = reader.next_entry()? {
        let Some((inode_index, paths)) = from_image.get(&(entry.segment, entry.data_offset)) else {
            continue;
        };
        let Some(inode) = merged.inode(*inode_index) else {
            continue;
        };
        let mut data = reader.data();
        seg.group(inode, paths, inode.size, &mut data)?;
        found += 1;
        if found == from_image.len() {
            break;
        }
    }
    if found != from_image.len() {
        return Err(Error::io(
            "repacking",
            io::Error::other("the image differs from the one the tree was read from"),
        ));
    }
    Ok(())
}

/// Writes the files of `from_image` in image order, reading their data from the spool of the
/// decompressed segments.
fn from_spool<S: Read + Seek, W: Write>(
    mut spool: S,
    merged: &Tree,
    from_image: &FromImage<'_>,
    seg: &mut Segmenter<'_, '_, W>,
) -> Result<()> {
    // Where each compressed segment's data start in the spool.
    let mut starts = Vec::new();
    let mut at = 0u64;
    for s in merged.segments() {
        if s.compression == Compression::None {
            starts.push(None);
        } else {
            starts.push(Some(at));
            at += s.uncompressed_len;
        }
    }
    let mut keys: Vec<(usize, u64)> = from_image.keys().copied().collect();
    keys.sort_unstable();
    let mut pos = 0u64;
    let spool_err = |e| Error::io("reading the spooled install.img data", e);
    for key in keys {
        let Some((inode_index, paths)) = from_image.get(&key) else {
            continue;
        };
        let Some(inode) = merged.inode(*inode_index) else {
            continue;
        };
        let start = starts.get(key.0).copied().flatten().ok_or_else(|| {
            Error::io(
                "repacking",
                io::Error::other(format!(
                    "segment {} is uncompressed, so not in the spool",
                    key.0
                )),
            )
        })?;
        // Data come in spool order: skip the headers in between rather than seek (a seek
        // would drop the read buffer at every file).
        let target = start + key.1;
        if target < pos {
            spool.seek(SeekFrom::Start(target)).map_err(spool_err)?;
        } else {
            let gap = target - pos;
            let skipped =
                io::copy(&mut (&mut spool).take(gap), &mut io::sink()).map_err(spool_err)?;
            if skipped != gap {
                return Err(spool_err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the spool is shorter than the image's data",
                )));
            }
        }
        pos = target + inode.size;
        let mut data = (&mut spool).take(inode.size);
        seg.group(inode, paths, inode.size, &mut data)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
