//! What the install.img reader yields: the segments of the image, the entries, and where a bzip2
//! segment's blocks lie.

use super::super::compression::Compression;
use super::super::error::Location;
use super::super::newc::Header;

/// One segment of the image: an uncompressed archive, or one compressed stream holding one or
/// more archives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Offset of the segment's first byte in the image.
    pub offset: u64,
    /// Number of bytes the segment occupies in the image.
    pub stored_len: u64,
    /// How the segment is stored.
    pub compression: Compression,
    /// Number of cpio archives (each ended by `TRAILER!!!`) in the segment.
    pub archives: u64,
    /// Number of entries, trailers not counted.
    pub entries: u64,
    /// Length of the segment's decompressed data.
    pub uncompressed_len: u64,
}

impl std::fmt::Display for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} segment at offset {}: {} bytes stored, {} bytes of cpio data, {} archive(s), {} entries",
            self.compression,
            self.offset,
            self.stored_len,
            self.uncompressed_len,
            self.archives,
            self.entries
        )
    }
}

/// One cpio entry as read (the trailer is never yielded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The name exactly as stored (bytes, without the NUL).
    pub name: Vec<u8>,
    /// The header fields.
    pub header: Header,
    /// Index of the segment holding the entry (in [`Reader::segments`](super::Reader::segments) order).
    pub segment: usize,
    /// Global index of the archive holding the entry (hard links only join inside one archive).
    pub archive: u64,
    /// Where the header starts.
    pub at: Location,
    /// Offset of the data inside the segment's decompressed stream.
    pub data_offset: u64,
    /// For a symlink, its target (read eagerly; [`Reader::data`](super::Reader::data) then yields nothing).
    pub link_target: Option<Vec<u8>>,
}

/// Where the blocks of a bzip2 segment lie (see [`Reader::layouts`](super::Reader::layouts)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamLayout {
    /// The header's level digit (block size in 100 kB).
    pub level: u8,
    /// The blocks, in order.
    pub blocks: Vec<super::super::bzip2_blocks::BlockRecord>,
    /// Bit offset of the end-of-stream marker from the segment's first byte.
    pub end_bit: u64,
}
