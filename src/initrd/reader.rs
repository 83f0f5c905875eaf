//! A streaming reader over a whole install.img: the sequence of segments the kernel's initramfs
//! unpacker accepts (init/initramfs.c), yielding each cpio entry in order with its data as a stream.
//!
//! Rules followed, as the kernel applies them:
//! - between segments, zero bytes are skipped;
//! - an uncompressed archive starts with `0` at a 4-byte-aligned image offset; what follows an
//!   uncompressed archive (after its zero padding) must also be 4-byte aligned;
//! - anything else non-zero must be a compressed stream (bzip2, gzip, xz, zstd), decoded as ONE
//!   stream; inside it, archives follow each other separated by zero padding, each starting 4-byte
//!   aligned in the decompressed data, and the stream must end between archives, never inside one;
//! - anything else is an error (the kernel stops unpacking there).
//!
//! Nothing is held in memory beyond one header, one name and one symlink target.

use std::io::{self, BufRead, BufReader, Read, Write};

use super::Result;
use super::compression::{self, Compression, Decoder};
use super::error::{Error, Location};
use super::newc::{self, HEADER_LEN, Header, PATH_MAX, S_IFLNK, TRAILER};

mod found;
mod input;

pub use found::{Entry, Segment, StreamLayout};

use input::{BUF_LEN, Counting, Spooled};

enum Source<R: Read> {
    Top(Counting<R>),
    Compressed(Box<BufReader<Spooled<Counting<R>>>>),
    Gone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Between segments.
    Top,
    /// A header (or the trailer) comes next.
    InArchive,
    /// After a trailer (or at the start of a compressed stream): padding or another archive.
    BetweenArchives,
    /// The end of the image was reached.
    Done,
}

/// Streaming reader over an install.img. Call [`Reader::next_entry`] until it returns `None`;
/// [`Reader::data`] reads the current entry's data (unread data is skipped).
pub struct Reader<R: Read> {
    source: Source<R>,
    mode: Mode,
    current: Option<Segment>,
    stream_pos: u64,
    remaining: u64,
    pad: u64,
    /// (checksum in the header, sum so far) of a `070702` regular file.
    csum: Option<(u32, u32)>,
    entry_name: Vec<u8>,
    segments: Vec<Segment>,
    archives: u64,
    after_raw: bool,
    spool: Option<Box<dyn Write>>,
    /// Block layout of each closed segment that is a bzip2 stream.
    layouts: Vec<Option<StreamLayout>>,
    /// Layout of the bzip2 stream just ended, for the segment being closed.
    ended: Option<StreamLayout>,
}

impl<R: Read> Reader<R> {
    /// A reader over the image `input` (read sequentially once; buffer it yourself only if it
    /// is not already cheap to read in small pieces, this reader buffers 64 KiB).
    pub fn new(input: R) -> Self {
        Reader {
            source: Source::Top(Counting::new(input)),
            mode: Mode::Top,
            current: None,
            stream_pos: 0,
            remaining: 0,
            pad: 0,
            csum: None,
            entry_name: Vec::new(),
            segments: Vec::new(),
            archives: 0,
            after_raw: false,
            spool: None,
            layouts: Vec::new(),
            ended: None,
        }
    }

    /// A reader over `input` that also writes the decompressed data of every compressed segment,
    /// one after the other, to `spool` (segment `i` starts after the `uncompressed_len` of the
    /// compressed segments before it); uncompressed segments are not copied.
    pub fn with_spool(input: R, spool: Box<dyn Write>) -> Self {
        let mut r = Reader::new(input);
        r.spool = Some(spool);
        r
    }

    /// The segments completely read so far (all of them once `next_entry` returned `None`).
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// For each segment completely read so far (as [`Reader::segments`]), where its bzip2
    /// blocks lie; `None` for segments in another compression or uncompressed.
    pub fn layouts(&self) -> &[Option<StreamLayout>] {
        &self.layouts
    }

    /// Number of image bytes consumed so far (the image length once the end is reached).
    pub fn image_position(&self) -> u64 {
        match &self.source {
            Source::Top(c) => c.pos,
            Source::Compressed(b) => match &b.get_ref().decoder {
                Decoder::Bzip2(d) => d.get_ref().pos,
                Decoder::Gzip(d) => d.get_ref().pos,
                Decoder::Xz(d) => d.get_ref().pos,
                Decoder::Zstd(d) => d.get_ref().pos,
            },
            Source::Gone => 0,
        }
    }

    /// Gives back the input once the reader is between segments (after the image's end); the
    /// bytes it buffered ahead are lost.
    pub(crate) fn into_inner(self) -> Option<R> {
        match self.source {
            Source::Top(c) => Some(c.inner),
            _ => None,
        }
    }

    fn location(&self, stream_offset: u64) -> Location {
        match &self.current {
            Some(s) => Location {
                segment_offset: s.offset,
                compression: s.compression,
                stream_offset,
            },
            None => Location {
                segment_offset: 0,
                compression: Compression::None,
                stream_offset,
            },
        }
    }

    fn stream_error(&self, e: io::Error) -> Error {
        match &self.current {
            Some(s) if s.compression != Compression::None => Error::Decompress {
                compression: s.compression,
                offset: s.offset,
                source: e,
            },
            _ => Error::io("reading the image", e),
        }
    }

    fn stream(&mut self) -> io::Result<&mut dyn BufRead> {
        match &mut self.source {
            Source::Top(c) => Ok(c),
            Source::Compressed(b) => Ok(b),
            Source::Gone => Err(io::Error::other("reader used after an error")),
        }
    }

    /// Reads up to `buf.len()` bytes of the current stream; returns how many were read.
    fn read_full(&mut self, buf: &mut [u8]) -> Result<usize> {
        let mut got = 0;
        while got < buf.len() {
            let n = match self.stream().and_then(|s| s.read(&mut buf[got..])) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.stream_error(e)),
            };
            if n == 0 {
                break;
            }
            got += n;
        }
        self.stream_pos += got as u64;
        Ok(got)
    }

    /// Skips up to `n` bytes of the current stream; returns how many were skipped.
    fn skip(&mut self, n: u64) -> Result<u64> {
        let mut left = n;
        while left > 0 {
            let avail = match self.stream().and_then(|s| s.fill_buf()) {
                Ok(b) => b.len(),
                Err(e) => return Err(self.stream_error(e)),
            };
            if avail == 0 {
                break;
            }
            let take = (avail as u64).min(left) as usize;
            if let Ok(s) = self.stream() {
                s.consume(take);
            }
            left -= take as u64;
        }
        self.stream_pos += n - left;
        Ok(n - left)
    }

    /// Skips up to `n` bytes adding them to the running checksum; returns how many were skipped.
    fn skip_summing(&mut self, n: u64) -> Result<u64> {
        let mut left = n;
        while left > 0 {
            let (take, sum) = match self.stream().and_then(|s| s.fill_buf()) {
                Ok(b) => {
                    let take = (b.len() as u64).min(left) as usize;
                    let sum = b[..take]
                        .iter()
                        .fold(0u32, |acc, &x| acc.wrapping_add(u32::from(x)));
                    (take, sum)
                }
                Err(e) => return Err(self.stream_error(e)),
            };
            if take == 0 {
                break;
            }
            if let Ok(s) = self.stream() {
                s.consume(take);
            }
            if let Some((_, acc)) = self.csum.as_mut() {
                *acc = acc.wrapping_add(sum);
            }
            left -= take as u64;
        }
        self.stream_pos += n - left;
        Ok(n - left)
    }

    /// Skips zero bytes; returns the next byte (not consumed), or `None` at the end of the stream.
    fn skip_zeros(&mut self) -> Result<Option<u8>> {
        loop {
            let (zeros, next) = match self.stream().and_then(|s| s.fill_buf()) {
                Ok(b) => {
                    let zeros = b.iter().take_while(|&&x| x == 0).count();
                    (zeros, b.get(zeros).copied())
                }
                Err(e) => return Err(self.stream_error(e)),
            };
            if let Ok(s) = self.stream() {
                s.consume(zeros);
            }
            self.stream_pos += zeros as u64;
            if next.is_some() || zeros == 0 {
                return Ok(next);
            }
        }
    }

    /// Skips the rest of the current entry (data and padding).
    fn finish_entry(&mut self) -> Result<()> {
        let data_left = self.remaining;
        let at = self.location(self.stream_pos);
        let skipped = if self.csum.is_some() {
            self.skip_summing(data_left)?
        } else {
            self.skip(data_left)?
        };
        self.remaining = 0;
        let pad = std::mem::take(&mut self.pad);
        if skipped == data_left {
            self.skip(pad)?;
        }
        if let Some((want, got)) = self.csum.take()
            && skipped == data_left
            && want != got
        {
            return Err(Error::BadEntry {
                name: self.entry_name.clone(),
                at,
                what: format!(
                    "data checksum {got:08x} does not match the header's {want:08x} (070702 archive)"
                ),
            });
        }
        if skipped < data_left {
            return Err(Error::BadEntry {
                name: self.entry_name.clone(),
                at,
                what: format!(
                    "file data truncated: {} more bytes announced by the size field, only {} present",
                    data_left, skipped
                ),
            });
        }
        Ok(())
    }

    fn close_segment(&mut self) {
        if let Some(mut seg) = self.current.take() {
            seg.stored_len = self.image_position() - seg.offset;
            seg.uncompressed_len = self.stream_pos;
            self.after_raw = seg.compression == Compression::None;
            self.segments.push(seg);
            self.layouts.push(self.ended.take());
        }
    }

    /// The next entry of the image, `None` at its end. Errors name the offset, and the entry
    /// when it is known.
    pub fn next_entry(&mut self) -> Result<Option<Entry>> {
        self.finish_entry()?;
        loop {
            match self.mode {
                Mode::Done => return Ok(None),
                Mode::Top => self.step_top()?,
                Mode::BetweenArchives => self.step_between()?,
                Mode::InArchive => {
                    if let Some(entry) = self.read_header()? {
                        return Ok(Some(entry));
                    }
                }
            }
        }
    }

    fn step_top(&mut self) -> Result<()> {
        let Source::Top(top) = &mut self.source else {
            return Err(Error::io(
                "reading the image",
                io::Error::other("reader in a bad state"),
            ));
        };
        loop {
            let head = top
                .fill_buf()
                .map_err(|e| Error::io("reading the image", e))?;
            if head.is_empty() {
                self.mode = Mode::Done;
                return Ok(());
            }
            let zeros = head.iter().take_while(|&&b| b == 0).count();
            if zeros == 0 {
                break;
            }
            top.consume(zeros);
        }
        let offset = top.pos;
        let head = top
            .peek(compression::MAGIC_LEN)
            .map_err(|e| Error::io("reading the image", e))?;
        let first = head.first().copied();
        let kind = if first == Some(b'0') {
            Some(Compression::None)
        } else {
            compression::detect(head)
        };
        if self.after_raw && !offset.is_multiple_of(4) {
            return Err(Error::Unaligned { offset });
        }
        let Some(kind) = kind else {
            if let Some(name) = compression::detect_unsupported(head) {
                return Err(Error::Unsupported { offset, name });
            }
            return Err(Error::UnknownData { offset });
        };
        if kind == Compression::None && !offset.is_multiple_of(4) {
            return Err(Error::Unaligned { offset });
        }
        self.current = Some(Segment {
            offset,
            stored_len: 0,
            compression: kind,
            archives: 0,
            entries: 0,
            uncompressed_len: 0,
        });
        self.stream_pos = 0;
        if kind == Compression::None {
            self.mode = Mode::InArchive;
        } else {
            let Source::Top(top) = std::mem::replace(&mut self.source, Source::Gone) else {
                return Err(Error::io(
                    "reading the image",
                    io::Error::other("reader in a bad state"),
                ));
            };
            let decoder = Decoder::new(kind, top).map_err(|e| Error::Decompress {
                compression: kind,
                offset,
                source: e,
            })?;
            let decoder = Spooled {
                decoder,
                spool: self.spool.take(),
            };
            self.source = Source::Compressed(Box::new(BufReader::with_capacity(BUF_LEN, decoder)));
            self.mode = Mode::BetweenArchives;
        }
        Ok(())
    }

    fn step_between(&mut self) -> Result<()> {
        let raw = self
            .current
            .as_ref()
            .is_none_or(|s| s.compression == Compression::None);
        if raw {
            self.close_segment();
            self.mode = Mode::Top;
            return Ok(());
        }
        match self.skip_zeros()? {
            None => {
                // The stream ended between archives: the segment is complete.
                let Source::Compressed(b) = std::mem::replace(&mut self.source, Source::Gone)
                else {
                    return Err(Error::io(
                        "reading the image",
                        io::Error::other("reader in a bad state"),
                    ));
                };
                let spooled = b.into_inner();
                self.spool = spooled.spool;
                if let Decoder::Bzip2(d) = &spooled.decoder {
                    self.ended = Some(StreamLayout {
                        level: d.level(),
                        blocks: d.blocks().to_vec(),
                        end_bit: d.end_bit(),
                    });
                }
                self.source = Source::Top(spooled.decoder.into_inner());
                self.close_segment();
                self.mode = Mode::Top;
            }
            Some(b'0') if self.stream_pos.is_multiple_of(4) => self.mode = Mode::InArchive,
            Some(_) => {
                return Err(Error::Junk {
                    at: self.location(self.stream_pos),
                });
            }
        }
        Ok(())
    }

    /// Reads one header and name; `None` for the trailer (the archive is then complete).
    fn read_header(&mut self) -> Result<Option<Entry>> {
        let header_pos = self.stream_pos;
        let at = self.location(header_pos);
        let mut raw = [0u8; HEADER_LEN];
        let got = self.read_full(&mut raw)?;
        if got < HEADER_LEN {
            let compressed = self
                .current
                .as_ref()
                .is_some_and(|s| s.compression != Compression::None);
            let what = if compressed {
                format!(
                    "the compressed stream ends inside an archive (header cut after {got} bytes, no TRAILER!!!)"
                )
            } else {
                format!(
                    "the image ends inside an archive (header cut after {got} bytes, no TRAILER!!!)"
                )
            };
            return Err(Error::Truncated { at, what });
        }
        let header = Header::parse(&raw).map_err(|e| Error::BadHeader {
            at,
            what: e.to_string(),
        })?;
        if header.namesize == 0 || header.namesize > PATH_MAX {
            return Err(Error::BadHeader {
                at,
                what: format!(
                    "namesize {} out of range (1 to {PATH_MAX})",
                    header.namesize
                ),
            });
        }
        let mut name = vec![0u8; header.namesize as usize];
        if self.read_full(&mut name)? < name.len() {
            return Err(Error::Truncated {
                at,
                what: format!("name of {} bytes cut short", header.namesize),
            });
        }
        // The kernel reads the name as a C string.
        let end = name
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| Error::BadHeader {
                at,
                what: "name is not NUL-terminated".to_string(),
            })?;
        name.truncate(end);
        let pad = newc::name_padding(header.namesize);
        if self.skip(pad)? < pad {
            return Err(Error::Truncated {
                at,
                what: format!("padding after the name {}", super::show(&name)),
            });
        }
        self.entry_name = name.clone();
        self.remaining = u64::from(header.filesize);
        self.csum = (header.with_checksum && header.file_type() == newc::S_IFREG)
            .then_some((header.check, 0));
        self.pad = newc::pad4(u64::from(header.filesize));
        if name == TRAILER {
            self.finish_entry()?;
            self.archives += 1;
            if let Some(s) = self.current.as_mut() {
                s.archives += 1;
            }
            self.mode = Mode::BetweenArchives;
            return Ok(None);
        }
        let depth = newc::depth(&name);
        if depth > newc::MAX_DEPTH {
            name.truncate(64);
            return Err(Error::TooDeep {
                prefix: name,
                at,
                depth,
            });
        }
        let data_offset = self.stream_pos;
        let link_target = if header.file_type() == S_IFLNK {
            if header.filesize > PATH_MAX {
                return Err(Error::BadEntry {
                    name,
                    at,
                    what: format!(
                        "symlink target of {} bytes (at most {PATH_MAX})",
                        header.filesize
                    ),
                });
            }
            let mut target = vec![0u8; header.filesize as usize];
            let got = self.read_full(&mut target)?;
            self.remaining -= got as u64;
            if got < target.len() {
                return Err(Error::BadEntry {
                    name,
                    at,
                    what: format!(
                        "symlink target truncated: {} bytes announced, {got} present",
                        header.filesize
                    ),
                });
            }
            Some(target)
        } else {
            None
        };
        let segment = self.segments.len();
        if let Some(s) = self.current.as_mut() {
            s.entries += 1;
        }
        Ok(Some(Entry {
            name,
            header,
            segment,
            archive: self.archives,
            at,
            data_offset,
            link_target,
        }))
    }

    /// The unread data of the current entry, as a stream (empty after a symlink or at the end).
    pub fn data(&mut self) -> EntryData<'_, R> {
        EntryData { reader: self }
    }

    /// The current entry's (`entry`'s) data, whole; callers bound its size first.
    pub(crate) fn data_to_vec(&mut self, entry: &Entry) -> Result<Vec<u8>> {
        let mut data = Vec::with_capacity(entry.header.filesize as usize);
        self.data()
            .read_to_end(&mut data)
            .map_err(|e| Error::io(format!("reading {}", super::error::show(&entry.name)), e))?;
        Ok(data)
    }
}

/// The data of the current entry of a [`Reader`]. A short file is an error naming the entry.
pub struct EntryData<'a, R: Read> {
    reader: &'a mut Reader<R>,
}

impl<R: Read> Read for EntryData<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let r = &mut *self.reader;
        if r.remaining == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = (r.remaining.min(buf.len() as u64)) as usize;
        let n = r.stream()?.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "entry {}: file data truncated, {} bytes missing",
                    super::show(&r.entry_name),
                    r.remaining
                ),
            ));
        }
        r.remaining -= n as u64;
        r.stream_pos += n as u64;
        if let Some((_, acc)) = r.csum.as_mut() {
            *acc = buf[..n]
                .iter()
                .fold(*acc, |a, &x| a.wrapping_add(u32::from(x)));
        }
        Ok(n)
    }
}
