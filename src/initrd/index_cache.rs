//! The on-disk cache of image indexes (`Index`), so that a second build of the same
//! install.img decodes only the blocks its edits change.
//!
//! One file per image in `$XDG_CACHE_HOME/isoremix/` (default `~/.cache/isoremix/`), named
//! after the image's probe (the SHA-256 of its length and its first and last 64 KiB, see
//! `super::index::probe`), so that it is found without reading the whole image. The format is
//! versioned binary (little-endian integers, length-prefixed byte strings) ending in the
//! SHA-256 of everything before it. A cached index is never trusted blindly: it is used only
//! when its own checksum holds, its version is this one, it names the image's length and
//! probe, and every block it records starts with the block magic and that block's CRC in the
//! image (see `super::splice::check_blocks`); and the digest of the whole image it records
//! (`super::image_digest`, made of SHA-256s) is checked against the image before the result is
//! handed out (`super::rewrite` hashes the image beside the splice and the ISO write, and reads
//! the image again without the cache when they differ).
//! Anything else is ignored (and the index written again). Writing is atomic (a temporary file
//! renamed into place) and never fails a build: a cache folder that cannot be written just means
//! no cache.

use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

use crate::cache_file::{self, Sealer, Unsealer};

use super::Compression;
use super::bzip2_blocks::BlockRecord;
use super::index::{Index, IndexedEntry};
use super::newc::{HEADER_LEN, Header};
use super::reader::{Segment, StreamLayout};

const MAGIC: &[u8; 16] = b"isoremix-initrd\n";
const VERSION: u32 = 4;

pub use crate::cache_file::default_dir;

/// The cache file of the image with this probe.
pub fn path_for(dir: &Path, probe: &[u8; 32]) -> PathBuf {
    dir.join(format!("install-img-{}.index", cache_file::hex(probe)))
}

fn compression_code(c: Compression) -> u8 {
    match c {
        Compression::None => 0,
        Compression::Bzip2 => 1,
        Compression::Gzip => 2,
        Compression::Xz => 3,
        Compression::Zstd => 4,
    }
}

fn compression_of(code: u8) -> Option<Compression> {
    Some(match code {
        0 => Compression::None,
        1 => Compression::Bzip2,
        2 => Compression::Gzip,
        3 => Compression::Xz,
        4 => Compression::Zstd,
        _ => return None,
    })
}

/// The encoded form of `index`.
pub fn encode(index: &Index) -> Vec<u8> {
    let mut o = Sealer::new(MAGIC, VERSION, 64 + index.entries.len() * 160);
    o.u64(index.image_len);
    o.raw(&index.digest);
    o.raw(&index.probe);
    o.u64(index.segments.len() as u64);
    for (s, layout) in index.segments.iter().zip(&index.layouts) {
        for v in [
            s.offset,
            s.stored_len,
            s.archives,
            s.entries,
            s.uncompressed_len,
        ] {
            o.u64(v);
        }
        o.u8(compression_code(s.compression));
        match layout {
            None => o.u8(0),
            Some(l) => {
                o.u8(1);
                o.u8(l.level);
                o.u64(l.end_bit);
                o.u64(l.blocks.len() as u64);
                for b in &l.blocks {
                    o.u64(b.start_bit);
                    o.raw(&b.crc.to_le_bytes());
                    o.u64(b.out_len);
                }
            }
        }
    }
    o.u64(index.entries.len() as u64);
    for e in &index.entries {
        o.raw(&e.header.encode());
        o.bytes(&e.name);
        for v in [e.segment as u64, e.archive, e.header_offset, e.data_offset] {
            o.u64(v);
        }
        match &e.link_target {
            None => o.u8(0),
            Some(t) => {
                o.u8(1);
                o.bytes(t);
            }
        }
    }
    o.seal()
}

/// Decodes an index; `None` when the bytes are not a whole, intact index of this version.
pub fn decode(data: &[u8]) -> Option<Index> {
    let mut c = Unsealer::open(data, MAGIC, VERSION)?;
    let image_len = c.u64()?;
    let digest: [u8; 32] = c.take(32)?.try_into().ok()?;
    let probe: [u8; 32] = c.take(32)?.try_into().ok()?;
    let n = c.count(42)?;
    let mut segments = Vec::with_capacity(n);
    let mut layouts = Vec::with_capacity(n);
    for _ in 0..n {
        let [offset, stored_len, archives, entries, uncompressed_len] =
            [c.u64()?, c.u64()?, c.u64()?, c.u64()?, c.u64()?];
        let compression = compression_of(c.u8()?)?;
        segments.push(Segment {
            offset,
            stored_len,
            compression,
            archives,
            entries,
            uncompressed_len,
        });
        layouts.push(match c.u8()? {
            0 => None,
            1 => {
                let level = c.u8()?;
                let end_bit = c.u64()?;
                let count = c.count(20)?;
                let mut blocks = Vec::with_capacity(count);
                for _ in 0..count {
                    blocks.push(BlockRecord {
                        start_bit: c.u64()?,
                        crc: c.u32()?,
                        out_len: c.u64()?,
                    });
                }
                Some(StreamLayout {
                    level,
                    blocks,
                    end_bit,
                })
            }
            _ => return None,
        });
    }
    let n = c.count(HEADER_LEN + 41)?;
    let mut entries = Vec::with_capacity(n);
    for _ in 0..n {
        let head: &[u8; HEADER_LEN] = c.take(HEADER_LEN)?.try_into().ok()?;
        let header = Header::parse(head).ok()?;
        let name = c.bytes()?;
        let [segment, archive, header_offset, data_offset] =
            [c.u64()?, c.u64()?, c.u64()?, c.u64()?];
        let link_target = match c.u8()? {
            0 => None,
            1 => Some(c.bytes()?),
            _ => return None,
        };
        entries.push(IndexedEntry {
            name,
            header,
            segment: usize::try_from(segment).ok()?,
            archive,
            header_offset,
            data_offset,
            link_target,
        });
    }
    if !c.is_empty() {
        return None;
    }
    Some(Index {
        image_len,
        digest,
        probe,
        segments,
        layouts,
        entries,
    })
}

/// The cached index of the image (`probe`, `len` bytes, readable from `image`) in `dir`, when
/// there is one and its blocks are where it says in the image; `None` otherwise. The image's
/// digest it records is the caller's to check.
pub fn load<R: Read + Seek>(
    dir: &Path,
    probe: &[u8; 32],
    len: u64,
    image: &mut R,
) -> Option<Index> {
    let path = path_for(dir, probe);
    let data = std::fs::read(&path).ok()?;
    let index = decode(&data)?;
    if index.probe != *probe
        || index.image_len != len
        || index.layouts.len() != index.segments.len()
    {
        return None;
    }
    if index
        .entries
        .iter()
        .any(|e| e.segment >= index.segments.len())
    {
        return None;
    }
    let found = super::splice::check_blocks(&index, image).ok()?;
    if found {
        cache_file::mark_used(&path);
    }
    found.then_some(index)
}

/// Removes the cached index found by `probe` from `dir` (one that did not match its image).
pub fn remove(dir: &Path, probe: &[u8; 32]) {
    // A file that cannot be removed is checked (and refused) again next time.
    let _ = std::fs::remove_file(path_for(dir, probe));
}

/// Writes `index` into `dir` atomically (a temporary file, then a rename). Errors are the
/// caller's to report as a warning.
pub fn store(dir: &Path, index: &Index) -> std::io::Result<()> {
    cache_file::store(&path_for(dir, &index.probe), &encode(index))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Index {
        Index {
            image_len: 1000,
            digest: [7; 32],
            probe: [8; 32],
            segments: vec![Segment {
                offset: 0,
                stored_len: 1000,
                compression: Compression::Bzip2,
                archives: 1,
                entries: 1,
                uncompressed_len: 512,
            }],
            layouts: vec![Some(StreamLayout {
                level: 9,
                blocks: vec![BlockRecord {
                    start_bit: 32,
                    crc: 0xdead_beef,
                    out_len: 512,
                }],
                end_bit: 7000,
            })],
            entries: vec![IndexedEntry {
                name: b"a/b".to_vec(),
                header: Header {
                    mode: 0o100644,
                    filesize: 3,
                    namesize: 4,
                    nlink: 1,
                    ..Header::default()
                },
                segment: 0,
                archive: 0,
                header_offset: 0,
                data_offset: 116,
                link_target: None,
            }],
        }
    }

    #[test]
    fn round_trips_and_refuses_damage() {
        let index = sample();
        let bytes = encode(&index);
        assert_eq!(decode(&bytes), Some(index));
        for at in [0, 20, bytes.len() / 2, bytes.len() - 1] {
            let mut bad = bytes.clone();
            bad[at] ^= 1;
            assert_eq!(decode(&bad), None, "flipped byte {at}");
        }
        assert_eq!(decode(&bytes[..bytes.len() - 1]), None);
    }
}
