//! The index of an image: every entry with its place in its segment's decompressed stream, and
//! for each bzip2 segment where its blocks lie (bit offset, CRC, decoded length). It is built by
//! the one read of the image a build makes ([`read_indexed`]) and serves the block-level splice
//! ([`super::splice`]): an edit then decodes only the blocks holding the entries it changes.
//!
//! The index is cached (see [`super::index_cache`]), so a later build of the same image rebuilds
//! the merged tree from it ([`Index::tree`]) without decoding anything.

use std::collections::HashSet;
use std::io::{self, Read, Seek, SeekFrom};

use sha2::{Digest, Sha256};

use super::Result;
use super::bzip2_blocks::BlockRecord;
use super::error::{Error, Location};
use super::image_digest::ImageDigest;
use super::newc::{self, Header};
use super::reader::{Entry, Reader, Segment, StreamLayout};
use super::splice::Decoded;
use super::tree::{Kept, Tree, clean_name};

/// One entry of the image as the index records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedEntry {
    /// The name as stored.
    pub name: Vec<u8>,
    /// The header fields.
    pub header: Header,
    /// Index of the segment holding it.
    pub segment: usize,
    /// Global index of its archive.
    pub archive: u64,
    /// Offset of its header in the segment's decompressed stream.
    pub header_offset: u64,
    /// Offset of its data there.
    pub data_offset: u64,
    /// A symlink's target.
    pub link_target: Option<Vec<u8>>,
}

impl IndexedEntry {
    /// Offset just past the entry (data padding included): newc entries are 4-byte aligned.
    pub fn end_offset(&self) -> u64 {
        let size = u64::from(self.header.filesize);
        self.data_offset + size + newc::pad4(size)
    }

    fn entry(&self, segment: &Segment) -> Entry {
        Entry {
            name: self.name.clone(),
            header: self.header,
            segment: self.segment,
            archive: self.archive,
            at: Location {
                segment_offset: segment.offset,
                compression: segment.compression,
                stream_offset: self.header_offset,
            },
            data_offset: self.data_offset,
            link_target: self.link_target.clone(),
        }
    }
}

/// Everything known about an image's layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    /// Length of the image.
    pub image_len: u64,
    /// The image's digest ([`image_digest`](super::image_digest)), which a cached index is
    /// checked against before a build relies on it.
    pub digest: [u8; 32],
    /// The image's [`probe`]: what its cached index is found by.
    pub probe: [u8; 32],
    /// Its segments.
    pub segments: Vec<Segment>,
    /// The block layout of each bzip2 segment (`None` for the others).
    pub layouts: Vec<Option<StreamLayout>>,
    /// Every entry, in image order (trailers not included).
    pub entries: Vec<IndexedEntry>,
}

/// Bytes taken from each end of an image for its [`probe`].
const PROBE_LEN: usize = 64 << 10;

/// The SHA-256 of an image's length, first and last 64 KiB (`head`, `tail`: fewer when the
/// image is shorter): a key found without reading the whole image, under which its index is
/// cached. It only finds the index; the image's digest (`super::image_digest`) checks it.
fn probe_of(len: u64, head: &[u8], tail: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(len.to_le_bytes());
    h.update(head);
    h.update(tail);
    h.finalize().into()
}

/// The probe of the image (`len` bytes) read from `image`: see [`probe_of`].
pub fn probe<R: Read + Seek>(image: &mut R, len: u64) -> io::Result<[u8; 32]> {
    let take = (PROBE_LEN as u64).min(len);
    let mut head = vec![0u8; take as usize];
    image.seek(SeekFrom::Start(0))?;
    image.read_exact(&mut head)?;
    let mut tail = vec![0u8; take as usize];
    image.seek(SeekFrom::Start(len - take))?;
    image.read_exact(&mut tail)?;
    Ok(probe_of(len, &head, &tail))
}

/// A reader hashing what passes through it, keeping the first and last bytes for the probe.
pub(crate) struct Hashing<R> {
    inner: R,
    digest: ImageDigest,
    head: Vec<u8>,
    tail: Vec<u8>,
    len: u64,
}

impl<R> Hashing<R> {
    /// Hashes what is read from `inner`.
    pub(crate) fn new(inner: R) -> Hashing<R> {
        Hashing {
            inner,
            digest: ImageDigest::new(),
            head: Vec::with_capacity(PROBE_LEN),
            tail: Vec::with_capacity(2 * PROBE_LEN),
            len: 0,
        }
    }

    /// The image's digest and probe, when everything read so far is the whole image.
    pub(crate) fn finish(self) -> ([u8; 32], [u8; 32]) {
        let tail = &self.tail[self.tail.len().saturating_sub(PROBE_LEN)..];
        (self.digest.finalize(), probe_of(self.len, &self.head, tail))
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.len += n as u64;
        let got = &buf[..n];
        self.digest.update(got);
        let room = PROBE_LEN - self.head.len();
        self.head.extend_from_slice(&got[..room.min(n)]);
        self.tail
            .extend_from_slice(&got[n.saturating_sub(PROBE_LEN)..]);
        if self.tail.len() > 2 * PROBE_LEN {
            self.tail.drain(..self.tail.len() - PROBE_LEN);
        }
        Ok(n)
    }
}

/// What else looks at each entry while the image is read: it gets the entry and a reader of
/// its data, and returns false to stop the reading (its own error kept by itself).
pub type Visit<'a> = &'a mut dyn FnMut(&Entry, &mut dyn Read) -> bool;

/// Reads the image once: its merged tree, the data of the regular files whose cleaned name is
/// one of `keep` (at most `max_len` bytes each), and its index; `visit` sees every entry on the
/// way. `spool`, when given, receives the decompressed data of the compressed segments (see
/// [`Reader::with_spool`]).
pub fn read_indexed<R: Read>(
    image: R,
    keep: &[&[u8]],
    max_len: u64,
    spool: Option<Box<dyn io::Write>>,
    visit: Visit<'_>,
) -> Result<(Tree, Kept, Index)> {
    let hashing = Hashing::new(image);
    let mut reader = match spool {
        Some(s) => Reader::with_spool(hashing, s),
        None => Reader::new(hashing),
    };
    let wanted: HashSet<&[u8]> = keep.iter().copied().collect();
    let mut kept = Kept::default();
    let mut tree = Tree::new();
    let mut entries = Vec::new();
    while let Some(entry) = reader.next_entry()? {
        tree.apply_entry(&entry);
        entries.push(IndexedEntry {
            name: entry.name.clone(),
            header: entry.header,
            segment: entry.segment,
            archive: entry.archive,
            header_offset: entry.at.stream_offset,
            data_offset: entry.data_offset,
            link_target: entry.link_target.clone(),
        });
        let is_file = entry.header.file_type() == newc::S_IFREG;
        let wanted = is_file
            && u64::from(entry.header.filesize) <= max_len
            && clean_name(&entry.name).is_some_and(|c| wanted.contains(c.as_slice()));
        if !wanted {
            if !visit(&entry, &mut reader.data()) {
                break;
            }
            continue;
        }
        let data = reader.data_to_vec(&entry)?;
        let go_on = visit(&entry, &mut &data[..]);
        kept.insert(entry.segment, entry.data_offset, data);
        if !go_on {
            break;
        }
    }
    let segments = reader.segments().to_vec();
    let layouts = reader.layouts().to_vec();
    let image_len = reader.image_position();
    // The reader stops at the image's end, so everything passed through the hash.
    let rest = reader.into_inner().ok_or_else(|| {
        Error::io(
            "reading the image",
            io::Error::other("reader not at the end"),
        )
    })?;
    let (digest, probe) = rest.finish();
    tree.set_layout(segments.clone(), image_len);
    Ok((
        tree,
        kept,
        Index {
            image_len,
            digest,
            probe,
            segments,
            layouts,
            entries,
        },
    ))
}

impl Index {
    /// The merged tree, rebuilt from the entries without reading the image.
    pub fn tree(&self) -> Tree {
        let mut tree = Tree::new();
        for e in &self.entries {
            if let Some(segment) = self.segments.get(e.segment) {
                tree.apply_entry(&e.entry(segment));
            }
        }
        tree.set_layout(self.segments.clone(), self.image_len);
        tree
    }

    /// The bit range `[start, end)` of block `block` of segment `segment`, from the segment's
    /// first byte.
    pub fn block_bits(&self, segment: usize, block: usize) -> Option<(u64, u64)> {
        let layout = self.layouts.get(segment)?.as_ref()?;
        let start = layout.blocks.get(block)?.start_bit;
        let end = layout
            .blocks
            .get(block + 1)
            .map_or(layout.end_bit, |b| b.start_bit);
        Some((start, end))
    }

    /// The decompressed offset where each block of `segment` starts.
    pub fn block_starts(&self, segment: usize) -> Vec<u64> {
        let mut at = 0;
        let mut out = Vec::new();
        if let Some(Some(layout)) = self.layouts.get(segment) {
            for b in &layout.blocks {
                out.push(at);
                at += b.out_len;
            }
        }
        out
    }

    /// The blocks of `segment` holding the decompressed bytes `[from, to)`, as an inclusive
    /// range of block indexes.
    pub fn blocks_covering(&self, segment: usize, from: u64, to: u64) -> Option<(usize, usize)> {
        let layout = self.layouts.get(segment)?.as_ref()?;
        let starts = self.block_starts(segment);
        let first = starts.partition_point(|&s| s <= from).checked_sub(1)?;
        let last_byte = to.checked_sub(1)?.max(from);
        let last = starts.partition_point(|&s| s <= last_byte).checked_sub(1)?;
        (last < layout.blocks.len()).then_some((first, last))
    }

    /// The data of the regular files whose cleaned name is one of `keep`, decoding only the
    /// blocks that hold them.
    pub fn keep<R: Read + Seek>(
        &self,
        image: &mut R,
        keep: &[&[u8]],
        max_len: u64,
        memo: &mut Decoded,
    ) -> Result<Kept> {
        let wanted: HashSet<&[u8]> = keep.iter().copied().collect();
        let mut kept = Kept::default();
        if wanted.is_empty() {
            return Ok(kept);
        }
        for e in &self.entries {
            let size = u64::from(e.header.filesize);
            if e.header.file_type() != newc::S_IFREG || size > max_len {
                continue;
            }
            if !clean_name(&e.name).is_some_and(|c| wanted.contains(c.as_slice())) {
                continue;
            }
            let data =
                self.decoded_range(image, e.segment, e.data_offset, e.data_offset + size, memo)?;
            kept.insert(e.segment, e.data_offset, data);
        }
        Ok(kept)
    }

    /// The decompressed bytes `[from, to)` of `segment` (blocks decoded on the way kept in
    /// `memo`).
    pub fn decoded_range<R: Read + Seek>(
        &self,
        image: &mut R,
        segment: usize,
        from: u64,
        to: u64,
        memo: &mut Decoded,
    ) -> Result<Vec<u8>> {
        let seg = self.segments.get(segment).ok_or_else(|| stale("segment"))?;
        if from == to {
            return Ok(Vec::new());
        }
        if seg.compression == super::Compression::None {
            let mut out = vec![0u8; (to - from) as usize];
            image
                .seek(SeekFrom::Start(seg.offset + from))
                .and_then(|_| image.read_exact(&mut out))
                .map_err(|e| Error::io("reading the image", e))?;
            return Ok(out);
        }
        let (first, last) = self
            .blocks_covering(segment, from, to)
            .ok_or_else(|| stale("block layout"))?;
        let base = self.block_starts(segment)[first];
        let data = super::splice::decode_blocks(self, image, segment, first, last, memo)?;
        let a = (from - base) as usize;
        let b = (to - base) as usize;
        data.get(a..b)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| stale("decoded length"))
    }

    /// The level digit of bzip2 segment `segment`.
    pub fn level(&self, segment: usize) -> Option<u8> {
        self.layouts.get(segment)?.as_ref().map(|l| l.level)
    }

    /// All block records of `segment`.
    pub fn blocks(&self, segment: usize) -> &[BlockRecord] {
        match self.layouts.get(segment) {
            Some(Some(l)) => &l.blocks,
            _ => &[],
        }
    }
}

/// The error of an index that does not fit its image.
pub(crate) fn stale(what: &str) -> Error {
    Error::io(
        "using the image's index",
        io::Error::other(format!("the index does not match the image ({what})")),
    )
}
