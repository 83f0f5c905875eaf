//! Errors of the initrd layer.

use std::fmt;
use std::io;

use super::Compression;

/// Escapes an archive path (bytes, maybe not UTF-8) for messages.
pub fn show(name: &[u8]) -> String {
    name.escape_ascii().to_string()
}

/// Where in an image a piece of cpio data sits: the segment and the offset inside its
/// (decompressed) stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// Offset of the segment in the image.
    pub segment_offset: u64,
    /// Compression of the segment.
    pub compression: Compression,
    /// Offset inside the segment's decompressed stream.
    pub stream_offset: u64,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.compression == Compression::None {
            write!(
                f,
                "image offset {}",
                self.segment_offset + self.stream_offset
            )
        } else {
            write!(
                f,
                "{} segment at image offset {}, decompressed offset {}",
                self.compression, self.segment_offset, self.stream_offset
            )
        }
    }
}

/// Everything that can go wrong reading, changing, writing or extracting an install.img.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O error on the image or a file, with what was being done.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A compressed stream could not be decoded.
    #[error("{compression} segment at image offset {offset}: cannot decompress: {source}")]
    Decompress {
        /// Compression of the segment.
        compression: Compression,
        /// Offset of the segment in the image.
        offset: u64,
        /// The decoder's error.
        #[source]
        source: io::Error,
    },
    /// The data ends before a header, name or file body is complete.
    #[error("truncated archive at {at}: {what}")]
    Truncated {
        /// Where the incomplete item started.
        at: Location,
        /// What was being read.
        what: String,
    },
    /// A newc header is malformed.
    #[error("bad cpio header at {at}: {what}")]
    BadHeader {
        /// Where the header starts.
        at: Location,
        /// What is wrong.
        what: String,
    },
    /// An entry is malformed (its name is known).
    #[error("entry {} at {at}: {what}", show(.name))]
    BadEntry {
        /// The entry's name.
        name: Vec<u8>,
        /// Where the entry's header starts.
        at: Location,
        /// What is wrong.
        what: String,
    },
    /// A bzip2 stream whose framing is broken (seen without decoding it).
    #[error("bzip2 segment at image offset {offset}: broken stream: {source}")]
    Framing {
        /// Offset of the segment in the image.
        offset: u64,
        /// What is wrong.
        #[source]
        source: io::Error,
    },
    /// An entry whose name has more components than `super::newc::MAX_DEPTH`.
    #[error(
        "entry {}… at {at}: {depth} components deep; install.img names deeper than {} are refused",
        show(.prefix),
        super::newc::MAX_DEPTH
    )]
    TooDeep {
        /// The first bytes of the name.
        prefix: Vec<u8>,
        /// Where the entry's header starts.
        at: Location,
        /// Its number of components.
        depth: usize,
    },
    /// Non-zero bytes that are neither a cpio archive nor a known compressed stream.
    #[error(
        "unknown data at image offset {offset} (not zero padding, not a cpio archive, not a known compressed stream): the kernel stops unpacking here"
    )]
    UnknownData {
        /// Offset in the image.
        offset: u64,
    },
    /// A segment in a compression the kernel may accept but this tool does not read.
    #[error(
        "{name}-compressed segment at image offset {offset}: not supported (bzip2, gzip, xz, zstd and uncompressed are)"
    )]
    Unsupported {
        /// Offset in the image.
        offset: u64,
        /// Name of the compression.
        name: &'static str,
    },
    /// An uncompressed archive (or anything after one) that does not start at a 4-byte-aligned offset.
    #[error(
        "data at unaligned image offset {offset}: the kernel only accepts an uncompressed archive, or what follows one, at a 4-byte-aligned offset"
    )]
    Unaligned {
        /// Offset in the image.
        offset: u64,
    },
    /// Data inside a compressed stream after an archive that is neither padding nor another archive.
    #[error("junk inside the {at}: expected zero padding or another cpio archive")]
    Junk {
        /// Where the junk starts.
        at: Location,
    },
    /// An entry or edit path that must not be written (escape attempts, unsafe names).
    #[error("entry {}: {reason}", show(.name))]
    Unsafe {
        /// The entry's name.
        name: Vec<u8>,
        /// Why it is refused.
        reason: String,
    },
    /// An edit that cannot be done.
    #[error("edit of {}: {what}", show(.path))]
    Edit {
        /// The path the edit is about.
        path: Vec<u8>,
        /// What is wrong.
        what: String,
    },
    /// A patch that does not parse or apply.
    #[error(transparent)]
    Patch(#[from] crate::patch::Error),
}

impl Error {
    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}
