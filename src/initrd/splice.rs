//! The splice strategy: patches and removals written by re-encoding only the bzip2 blocks that
//! hold the changed entries.
//!
//! A bzip2 stream is a sequence of independently decodable blocks (each block's run-length
//! state starts afresh), bit-aligned, each with its own CRC; the stream's CRC folds the block
//! CRCs in order (`crc = crc.rotate_left(1) ^ block_crc`). Given the image's [`Index`], the
//! decompressed bytes of the blocks around a changed entry are decoded, the entry replaced (or
//! dropped: newc entries start and end 4-byte aligned, so every later entry stays aligned), and
//! those bytes encoded again as new blocks of the segment's level, lengthened by a few unused
//! selectors so that they end at the old blocks' bit position modulo 8 (see
//! [`super::selector_pad`]). The new stream is the original header, the untouched blocks'
//! bits, the new blocks, the end marker and the combined CRC; since the untouched blocks keep
//! their position within their bytes, they are named as ranges of the source image
//! ([`super::pieces`]) rather than copied. Segments without changes are ranges too. The result
//! is one ordinary bzip2 stream per segment, as `bunzip2` and the kernel read them; GNU cpio
//! sees the same archive with the changed entries.
//!
//! A splice applies when every put replaces the content of an existing regular file (not
//! hard-linked) and every removal drops whole entries, all in bzip2 segments, and when the tree
//! the kernel would unpack from the result is the merged tree the edits ask for
//! ([`plan_splice`] checks it by replaying the entries): otherwise it says why not, and the
//! caller writes a re-pack.

use std::collections::BTreeMap;
use std::io::{self, Read, Seek, SeekFrom, Write};

use super::Result;
use super::bits::{BitSink, bits};
use super::bzip2_blocks::MAX_BLOCK_THREADS;
use super::compression::Compression;
use super::edits::{Changes, Content, PutKind};
use super::error::{Error, show};
use super::index::{Index, IndexedEntry, stale};
use super::newc::{self, Header};
use super::pieces::{Piece, PieceSink};
use super::selector_pad::with_extra_selectors;
use super::tree::{Kind, Tree, clean_name};

const BLOCK_MAGIC: u64 = 0x3141_5926_5359;
const EOS_MAGIC: u64 = 0x1772_4538_5090;

/// What happens to one entry of the image.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Change {
    /// The entry is dropped.
    Remove,
    /// The entry is replaced by these bytes (header, name, data, padding).
    Replace(Vec<u8>),
}

/// The entries a splice changes, by index in [`Index::entries`].
#[derive(Debug, Clone, Default)]
pub struct SplicePlan {
    changes: BTreeMap<usize, Change>,
}

fn read_all(c: &Content, path: &[u8]) -> Result<Vec<u8>> {
    match c {
        Content::Bytes(b) => Ok(b.clone()),
        Content::HostFile(p) => crate::input::read(p)
            .map_err(|e| Error::io(format!("{} (content of {})", p.display(), show(path)), e)),
    }
}

/// The bytes of an entry named `name` with `header` (its sizes and checksum set here) and `data`.
fn entry_bytes(mut header: Header, name: &[u8], data: &[u8]) -> Result<Vec<u8>> {
    header.filesize = u32::try_from(data.len()).map_err(|_| Error::Edit {
        path: name.to_vec(),
        what: "content larger than 4 GiB".into(),
    })?;
    header.namesize = name.len() as u32 + 1;
    header.check = if header.with_checksum {
        data.iter().fold(0u32, |a, &b| a.wrapping_add(u32::from(b)))
    } else {
        0
    };
    let mut out = Vec::with_capacity(newc::HEADER_LEN + name.len() + data.len() + 8);
    out.extend_from_slice(&header.encode());
    out.extend_from_slice(name);
    out.push(0);
    out.resize(out.len() + newc::name_padding(header.namesize) as usize, 0);
    out.extend_from_slice(data);
    out.resize(out.len() + newc::pad4(data.len() as u64) as usize, 0);
    Ok(out)
}

/// Which entries of the image `changes` replace or drop, or why a splice cannot write them.
pub fn plan_splice(
    index: &Index,
    changes: &Changes,
) -> Result<std::result::Result<SplicePlan, String>> {
    let mut plan = SplicePlan::default();
    let clean: Vec<Option<Vec<u8>>> = index.entries.iter().map(|e| clean_name(&e.name)).collect();
    for removed in &changes.removes {
        let mut found = false;
        for (i, name) in clean.iter().enumerate() {
            let Some(name) = name else { continue };
            let below = name.len() > removed.len()
                && name.starts_with(removed)
                && name[removed.len()] == b'/';
            if name == removed || below {
                plan.changes.insert(i, Change::Remove);
                found = true;
            }
        }
        if !found {
            return Ok(Err(format!(
                "{} is stored under another name (through a symlink)",
                show(removed)
            )));
        }
    }
    for put in &changes.puts {
        let PutKind::File(content) = &put.kind else {
            return Ok(Err(format!(
                "{} is a new directory or symlink",
                show(&put.path)
            )));
        };
        let Some(i) = clean
            .iter()
            .rposition(|n| n.as_deref() == Some(&put.path[..]))
        else {
            return Ok(Err(format!("{} is a new file", show(&put.path))));
        };
        let e = &index.entries[i];
        if e.header.file_type() != newc::S_IFREG || plan.changes.contains_key(&i) {
            return Ok(Err(format!(
                "{} is not a regular file of the image",
                show(&put.path)
            )));
        }
        if e.header.nlink > 1 {
            return Ok(Err(format!("{} is hard-linked", show(&put.path))));
        }
        let header = Header {
            mode: newc::S_IFREG | (put.mode & 0o7777),
            uid: put.uid,
            gid: put.gid,
            mtime: put.mtime,
            ..e.header
        };
        let data = read_all(content, &put.path)?;
        plan.changes
            .insert(i, Change::Replace(entry_bytes(header, &e.name, &data)?));
    }
    for &i in plan.changes.keys() {
        let e = &index.entries[i];
        let compression = index.segments.get(e.segment).map(|s| s.compression);
        if compression != Some(Compression::Bzip2) || index.level(e.segment).is_none() {
            return Ok(Err(format!(
                "{} is in a segment that is not bzip2",
                show(&e.name)
            )));
        }
        if e.header.nlink > 1 && e.header.file_type() != newc::S_IFDIR {
            return Ok(Err(format!("{} is hard-linked", show(&e.name))));
        }
    }
    if let Some(path) = differs(&replayed(index, &plan), &changes.merged) {
        return Ok(Err(format!(
            "the kernel would unpack {} differently from a re-pack",
            show(&path)
        )));
    }
    Ok(Ok(plan))
}

/// The tree the kernel would unpack from the spliced image.
fn replayed(index: &Index, plan: &SplicePlan) -> Tree {
    let mut entries = Vec::with_capacity(index.entries.len());
    for (i, e) in index.entries.iter().enumerate() {
        match plan.changes.get(&i) {
            None => entries.push(e.clone()),
            Some(Change::Remove) => {}
            Some(Change::Replace(bytes)) => {
                let mut head = [0u8; newc::HEADER_LEN];
                head.copy_from_slice(&bytes[..newc::HEADER_LEN]);
                if let Ok(header) = Header::parse(&head) {
                    entries.push(IndexedEntry {
                        header,
                        ..e.clone()
                    });
                }
            }
        }
    }
    let kept = Index {
        image_len: index.image_len,
        digest: index.digest,
        probe: index.probe,
        segments: index.segments.clone(),
        layouts: index.layouts.clone(),
        entries,
    };
    kept.tree()
}

/// The first path where `a` and `b` differ in what the kernel creates (kind, mode, owner,
/// time, size, link target), if any.
fn differs(a: &Tree, b: &Tree) -> Option<Vec<u8>> {
    let left: Vec<(&[u8], _)> = a.nodes().collect();
    let right: Vec<(&[u8], _)> = b.nodes().collect();
    for pair in left.iter().zip(right.iter()) {
        let ((pa, na), (pb, nb)) = pair;
        if pa != pb {
            return Some(pa.min(pb).to_vec());
        }
        let (Some(ia), Some(ib)) = (a.inode(na.inode), b.inode(nb.inode)) else {
            return Some(pa.to_vec());
        };
        let same = ia.kind == ib.kind
            && ia.mode == ib.mode
            && ia.uid == ib.uid
            && ia.gid == ib.gid
            && ia.mtime == ib.mtime
            && ia.target == ib.target
            && (ia.kind != Kind::File || ia.size == ib.size)
            && (ia.rdev_major, ia.rdev_minor) == (ib.rdev_major, ib.rdev_minor);
        if !same {
            return Some(pa.to_vec());
        }
    }
    match left.len().cmp(&right.len()) {
        std::cmp::Ordering::Less => right.get(left.len()).map(|(p, _)| p.to_vec()),
        std::cmp::Ordering::Greater => left.get(right.len()).map(|(p, _)| p.to_vec()),
        std::cmp::Ordering::Equal => None,
    }
}

/// Reads `len` bytes at `offset` of the image.
fn read_at<R: Read + Seek>(image: &mut R, offset: u64, len: usize) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    image
        .seek(SeekFrom::Start(offset))
        .and_then(|_| image.read_exact(&mut buf))
        .map_err(|e| Error::io(format!("reading the image at offset {offset}"), e))?;
    Ok(buf)
}

/// The compressed bits of block `block` of `segment` as a standalone one-block stream.
fn standalone<R: Read + Seek>(
    index: &Index,
    image: &mut R,
    segment: usize,
    block: usize,
) -> Result<(Vec<u8>, u64)> {
    let seg = index
        .segments
        .get(segment)
        .ok_or_else(|| stale("segment"))?;
    let (start, end) = index
        .block_bits(segment, block)
        .ok_or_else(|| stale("block"))?;
    let record = index.blocks(segment)[block];
    let first = start / 8;
    let bytes = read_at(
        image,
        seg.offset + first,
        (end.div_ceil(8) - first) as usize,
    )?;
    let mut w = BitSink::new(Vec::with_capacity(bytes.len() + 16));
    w.put(u64::from(u32::from_be_bytes(*b"BZh9")), 32);
    w.copy(&bytes, start - first * 8, end - first * 8);
    w.put(EOS_MAGIC, 48);
    w.put(u64::from(record.crc), 32);
    let out = w.finish().map_err(|e| Error::io("building a block", e))?;
    Ok((out, record.out_len))
}

/// Blocks decoded once and kept for a second use: a patch reads its file from the blocks it
/// then encodes again.
#[derive(Debug, Default)]
pub struct Decoded {
    blocks: BTreeMap<(usize, usize), Vec<u8>>,
}

/// Decodes blocks `first..=last` of `segment` (those not in `memo`, on up to [`MAX_BLOCK_THREADS`]
/// cores), checks their lengths, keeps them in `memo` and returns their bytes.
pub(crate) fn decode_blocks<R: Read + Seek>(
    index: &Index,
    image: &mut R,
    segment: usize,
    first: usize,
    last: usize,
    memo: &mut Decoded,
) -> Result<Vec<u8>> {
    let mut missing = Vec::new();
    let mut streams = Vec::new();
    for b in first..=last {
        if !memo.blocks.contains_key(&(segment, b)) {
            missing.push(b);
            streams.push(standalone(index, image, segment, b)?);
        }
    }
    let decoded = parallel(&streams, crate::parallelism::cores(), |(stream, len)| {
        let mut out = Vec::with_capacity(*len as usize);
        pbz2::DecoderReader::new(&stream[..]).read_to_end(&mut out)?;
        if out.len() as u64 != *len {
            return Err(io::Error::other(
                "a block decodes to another length than indexed",
            ));
        }
        Ok(out)
    });
    for (b, d) in missing.into_iter().zip(decoded) {
        let d = d.map_err(|e| Error::Decompress {
            compression: Compression::Bzip2,
            offset: index.segments[segment].offset,
            source: io::Error::new(e.kind(), format!("block {b}: {e}")),
        })?;
        memo.blocks.insert((segment, b), d);
    }
    let mut out = Vec::new();
    for b in first..=last {
        out.extend_from_slice(
            memo.blocks
                .get(&(segment, b))
                .ok_or_else(|| stale("block"))?,
        );
    }
    Ok(out)
}

/// Runs `f` on every item on `threads` threads (at most [`MAX_BLOCK_THREADS`], whatever is asked:
/// each decodes or encodes a block in its own scratch space), results in order.
fn parallel<T: Sync, U: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> io::Result<U> + Sync,
) -> Vec<io::Result<U>> {
    crate::parallelism::map_in_order(items, threads.min(MAX_BLOCK_THREADS), f)
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(io::Error::other("a block's worker failed"))))
        .collect()
}

/// One new block: its bits (from bit 0 of `bytes`), their length, and its CRC.
struct NewBlock {
    bytes: Vec<u8>,
    bits: u64,
    crc: u32,
}

/// The most bytes one block of `level` holds whatever their runs (the first run-length stage
/// grows 4 bytes into at most 5).
fn block_capacity(level: u8) -> usize {
    (usize::from(level) * 100_000 - 19) / 5 * 4
}

/// Encodes `data` as blocks of a stream of `level`: pieces of at most `capacity` bytes, each
/// compressed on its own (on up to [`MAX_BLOCK_THREADS`] cores).
fn encode_blocks(data: &[u8], level: u8, capacity: usize) -> Result<Vec<NewBlock>> {
    let pieces: Vec<&[u8]> = data.chunks(capacity).collect();
    let encoded = parallel(
        &pieces,
        crate::parallelism::cores(),
        |piece| -> io::Result<NewBlock> {
            let lvl = pbz2::Level::new(level).unwrap_or(pbz2::Level::BEST);
            let mut enc = pbz2::EncoderWriter::new(Vec::new(), lvl);
            enc.write_all(piece)?;
            let stream = enc.finish()?;
            one_block(&stream)
                .ok_or_else(|| io::Error::other("the encoder made more than one block"))
        },
    );
    encoded
        .into_iter()
        .map(|r| r.map_err(|e| Error::io("encoding new blocks", e)))
        .collect()
}

/// Encodes `data` as blocks of `level` which, written from bit `at`, end at bit `end` modulo 8
/// when `end` is given (a kept block follows them and must keep its position within its bytes,
/// see [`super::pieces`]): the missing bits are unused selectors of one block (see
/// [`super::selector_pad`]), in smaller blocks should every block be full of them.
/// Returns the blocks and how many selectors were added.
fn encode_aligned(
    data: &[u8],
    level: u8,
    at: u64,
    end: Option<u64>,
) -> Result<(Vec<NewBlock>, u64)> {
    let mut capacity = block_capacity(level);
    loop {
        let mut blocks = encode_blocks(data, level, capacity)?;
        let total: u64 = blocks.iter().map(|b| b.bits).sum();
        let Some(end) = end else {
            return Ok((blocks, 0));
        };
        let extra = (end % 8 + 8 - (at + total) % 8) % 8;
        if extra == 0 {
            return Ok((blocks, 0));
        }
        for b in blocks.iter_mut().rev() {
            if let Some((bytes, bits)) = with_extra_selectors(&b.bytes, b.bits, extra as u32) {
                (b.bytes, b.bits) = (bytes, bits);
                return Ok((blocks, extra));
            }
        }
        if blocks.is_empty() || capacity < 1 << 12 {
            return Err(Error::io(
                "encoding new blocks",
                io::Error::other("the new blocks cannot end where the old ones did"),
            ));
        }
        capacity /= 2;
    }
}

/// The block of a one-block stream.
fn one_block(stream: &[u8]) -> Option<NewBlock> {
    if bits(stream, 32, 48)? != BLOCK_MAGIC {
        return None;
    }
    let crc = bits(stream, 80, 32)? as u32;
    let total = stream.len() as u64 * 8;
    for pad in 0..8 {
        let eos = total.checked_sub(80 + pad)?;
        if bits(stream, eos, 48)? == EOS_MAGIC && bits(stream, eos + 48, 32)? as u32 == crc {
            let mut w = BitSink::new(Vec::with_capacity(stream.len()));
            w.copy(stream, 32, eos);
            let bits = eos - 32;
            let bytes = w.finish().ok()?;
            return Some(NewBlock { bytes, bits, crc });
        }
    }
    None
}

/// Blocks `first..=last` of a segment, rewritten with the changes (entry index, change) inside.
type Run<'a> = (usize, usize, Vec<(usize, &'a Change)>);

/// What [`write_splice`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpliceSummary {
    /// Blocks decoded and encoded again.
    pub blocks_rewritten: u64,
    /// Blocks copied as they were.
    pub blocks_kept: u64,
    /// Bytes of the new image.
    pub written: u64,
    /// Of those, bytes that are the source's, named by reference.
    pub kept_bytes: u64,
    /// Unused selectors added to new blocks so that the kept blocks after them keep their
    /// position within their bytes (see [`super::selector_pad`]).
    pub selectors_added: u64,
}

/// The runs of blocks of segment `s` to rewrite, each with the changes inside; runs that touch
/// or neighbour each other are one run, so that a kept block always follows a run.
fn runs_of<'a>(index: &Index, s: usize, changes: &[(usize, &'a Change)]) -> Result<Vec<Run<'a>>> {
    let mut runs: Vec<Run<'a>> = Vec::new();
    for &(i, c) in changes {
        let e = &index.entries[i];
        let (a, b) = index
            .blocks_covering(s, e.header_offset, e.end_offset())
            .ok_or_else(|| stale("entry outside the blocks"))?;
        match runs.last_mut() {
            Some(run) if a <= run.1 + 1 => {
                run.1 = run.1.max(b);
                run.2.push((i, c));
            }
            _ => runs.push((a, b, vec![(i, c)])),
        }
    }
    Ok(runs)
}

/// The decompressed bytes of a run with its changes applied.
fn rewritten_run<R: Read + Seek>(
    index: &Index,
    image: &mut R,
    s: usize,
    run: &Run<'_>,
    memo: &mut Decoded,
) -> Result<Vec<u8>> {
    let (first, last, changes) = run;
    let old = decode_blocks(index, image, s, *first, *last, memo)?;
    let base = index.block_starts(s)[*first];
    let mut new = Vec::with_capacity(old.len());
    let mut pos = 0usize;
    for (i, c) in changes {
        let e = &index.entries[*i];
        let a = (e.header_offset - base) as usize;
        let b = (e.end_offset() - base) as usize;
        new.extend_from_slice(old.get(pos..a).ok_or_else(|| stale("entry bounds"))?);
        if let Change::Replace(bytes) = c {
            new.extend_from_slice(bytes);
        }
        pos = b;
    }
    new.extend_from_slice(old.get(pos..).ok_or_else(|| stale("entry bounds"))?);
    Ok(new)
}

/// The image with `plan` applied, as pieces of the source and new bytes: see the module
/// documentation. Blocks already in `memo` are not decoded again.
pub fn write_splice<R: Read + Seek>(
    index: &Index,
    image: &mut R,
    plan: &SplicePlan,
    memo: &mut Decoded,
) -> Result<(Vec<Piece>, SpliceSummary)> {
    let mut summary = SpliceSummary::default();
    let mut sink = PieceSink::new();
    // Changes by segment.
    let mut by_segment: BTreeMap<usize, Vec<(usize, &Change)>> = BTreeMap::new();
    for (&i, c) in &plan.changes {
        by_segment
            .entry(index.entries[i].segment)
            .or_default()
            .push((i, c));
    }
    let mut image_pos = 0u64;
    for (s, seg) in index.segments.iter().enumerate() {
        // Bytes before the segment (zero padding): as they are while nothing moved, else as
        // many zeros as keep the segment's offset modulo 4.
        let here = sink.bit_position() / 8;
        if here == image_pos {
            sink.keep(image, image_pos, 0, (seg.offset - image_pos) * 8)?;
        } else {
            for _ in 0..(seg.offset % 4 + 4 - here % 4) % 4 {
                sink.put(0, 8);
            }
        }
        let Some(changes) = by_segment.get(&s) else {
            sink.keep(image, seg.offset, 0, seg.stored_len * 8)?;
            image_pos = seg.offset + seg.stored_len;
            continue;
        };
        let level = index.level(s).ok_or_else(|| stale("level"))?;
        let records = index.blocks(s);
        let end_bit = index.layouts[s].as_ref().map_or(0, |l| l.end_bit);
        let start_of = |b: usize| -> Result<u64> {
            match b < records.len() {
                true => Ok(index.block_bits(s, b).ok_or_else(|| stale("block"))?.0),
                false => Ok(end_bit),
            }
        };
        let mut crc = 0u32;
        for b in [b'B', b'Z', b'h', b'0' + level] {
            sink.put(u64::from(b), 8);
        }
        let mut block = 0usize;
        for mut run in runs_of(index, s, changes)? {
            if block < run.0 {
                sink.keep(image, seg.offset, start_of(block)?, start_of(run.0)?)?;
                for r in &records[block..run.0] {
                    crc = crc.rotate_left(1) ^ r.crc;
                }
                summary.blocks_kept += (run.0 - block) as u64;
            }
            let mut new = rewritten_run(index, image, s, &run, memo)?;
            // No bytes left (a removal emptied the run): the next block comes along, so that
            // there is a block to end where the old ones did.
            if new.is_empty() && run.1 + 1 < records.len() {
                run.1 += 1;
                new = decode_blocks(index, image, s, run.1, run.1, memo)?;
            }
            let follows = (run.1 + 1 < records.len())
                .then(|| start_of(run.1 + 1))
                .transpose()?;
            let (blocks, added) = encode_aligned(&new, level, sink.bit_position(), follows)?;
            for b in blocks {
                sink.copy(&b.bytes, 0, b.bits);
                crc = crc.rotate_left(1) ^ b.crc;
            }
            summary.selectors_added += added;
            summary.blocks_rewritten += (run.1 + 1 - run.0) as u64;
            block = run.1 + 1;
        }
        if block < records.len() {
            sink.keep(image, seg.offset, start_of(block)?, end_bit)?;
            for r in &records[block..] {
                crc = crc.rotate_left(1) ^ r.crc;
            }
            summary.blocks_kept += (records.len() - block) as u64;
        }
        sink.put(EOS_MAGIC, 48);
        sink.put(u64::from(crc), 32);
        sink.pad_to_byte();
        image_pos = seg.offset + seg.stored_len;
    }
    // What follows the last segment (zero padding) as it is.
    if image_pos < index.image_len {
        sink.keep(image, image_pos, 0, (index.image_len - image_pos) * 8)?;
    }
    let pieces = sink.finish();
    summary.written = pieces.iter().map(Piece::len).sum();
    summary.kept_bytes = pieces
        .iter()
        .filter(|p| matches!(p, Piece::Source { .. }))
        .map(Piece::len)
        .sum();
    Ok((pieces, summary))
}

/// Checks that the image holds the blocks `index` records: each block starts with the block
/// magic followed by its CRC, and the end marker is where it says.
pub fn check_blocks<R: Read + Seek>(index: &Index, image: &mut R) -> Result<bool> {
    for (s, seg) in index.segments.iter().enumerate() {
        let Some(layout) = index.layouts.get(s).and_then(|l| l.as_ref()) else {
            if seg.compression == Compression::Bzip2 {
                return Ok(false);
            }
            continue;
        };
        // Up to 12 bytes (80 bits and a shift), never past the segment.
        let near = |bit: u64| (seg.stored_len.saturating_sub(bit / 8)).min(12) as usize;
        for r in &layout.blocks {
            let bytes = read_at(image, seg.offset + r.start_bit / 8, near(r.start_bit))?;
            let s0 = r.start_bit % 8;
            if bits(&bytes, s0, 48) != Some(BLOCK_MAGIC)
                || bits(&bytes, s0 + 48, 32) != Some(u64::from(r.crc))
            {
                return Ok(false);
            }
        }
        let bytes = read_at(image, seg.offset + layout.end_bit / 8, near(layout.end_bit))?;
        if bits(&bytes, layout.end_bit % 8, 48) != Some(EOS_MAGIC) {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_blocks_splice_into_a_valid_stream() {
        let data: Vec<u8> = (0..300_000u32)
            .map(|i| (i % 251) as u8 ^ (i / 1000) as u8)
            .collect();
        let blocks = encode_blocks(&data, 1, block_capacity(1)).unwrap();
        assert!(blocks.len() >= 2);
        let mut w = BitSink::new(Vec::new());
        w.put(u64::from(u32::from_be_bytes(*b"BZh1")), 32);
        let mut crc = 0u32;
        for b in &blocks {
            w.copy(&b.bytes, 0, b.bits);
            crc = crc.rotate_left(1) ^ b.crc;
        }
        w.put(EOS_MAGIC, 48);
        w.put(u64::from(crc), 32);
        let stream = w.finish().unwrap();
        let mut out = Vec::new();
        bzip2::read::BzDecoder::new(&stream[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, data);
    }

    #[test]
    fn block_work_runs_on_no_more_threads_than_the_cap_whatever_is_asked() {
        let items: Vec<usize> = (0..48).collect();
        for asked in [0, 1, 3, MAX_BLOCK_THREADS, 64] {
            let gauge = crate::test_support::Gauge::default();
            let out = parallel(&items, asked, |&i| {
                gauge.job();
                Ok(i * 3)
            });
            let out: Vec<usize> = out.into_iter().map(|r| r.unwrap()).collect();
            assert_eq!(out, items.iter().map(|i| i * 3).collect::<Vec<_>>());
            let most = gauge.most();
            assert!(
                (1..=asked.clamp(1, MAX_BLOCK_THREADS)).contains(&most),
                "{most} at once with {asked} asked"
            );
        }
    }
}
