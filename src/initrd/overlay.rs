//! The overlay strategy: the source image is kept byte for byte and one archive holding only the
//! new and changed entries is appended, after zero padding to a 4-byte-aligned offset, in its own
//! compressed stream of the same compression as the source's last segment. The kernel unpacks it
//! last, so its entries replace the source's. Time and memory depend on the size of the change only.
//!
//! Note for people checking an image by hand: `bzip2 -dc` stops at the zero padding ("trailing
//! garbage") and GNU cpio stops at the first `TRAILER!!!`, so neither shows the overlay of a
//! bzip2 image; decompress the appended stream (from the aligned offset on) separately.

use std::collections::BTreeMap;
use std::io::{BufRead, Read, Write};

use super::Result;
use super::bzip2_blocks::check_framing;
use super::compression::{Compression, Encoder, MAGIC_LEN, detect};
use super::edits::{Changes, open_content, put_header};
use super::error::{Error, show};
use super::newc::Header;
use super::tree::{Inode, Kind};
use super::writer::NewcWriter;

/// Checks, before an overlay is appended, that the image's leading bzip2 segments are whole
/// streams: [`check_framing`] on each, with only zero padding between them, without decoding
/// (one scan of the bytes). Stops at the first segment in another compression, whose end only
/// decoding finds; an image that is not bzip2 at all passes unchecked. Returns the segments
/// checked.
pub fn check_base<R: BufRead>(mut image: R) -> Result<u64> {
    let mut offset = 0u64;
    let mut checked = 0u64;
    loop {
        // Zero padding between segments.
        loop {
            let buf = image
                .fill_buf()
                .map_err(|e| Error::io(format!("reading the image at offset {offset}"), e))?;
            if buf.is_empty() {
                return Ok(checked);
            }
            let zeros = buf.iter().take_while(|&&b| b == 0).count();
            let more = zeros == buf.len();
            image.consume(zeros);
            offset += zeros as u64;
            if !more {
                break;
            }
        }
        // The segment's first bytes, which a buffer boundary may split.
        let mut head = Vec::with_capacity(MAGIC_LEN);
        while head.len() < MAGIC_LEN {
            let buf = image
                .fill_buf()
                .map_err(|e| Error::io(format!("reading the image at offset {offset}"), e))?;
            if buf.is_empty() {
                break;
            }
            let n = buf.len().min(MAGIC_LEN - head.len());
            head.extend_from_slice(&buf[..n]);
            image.consume(n);
        }
        match detect(&head) {
            Some(Compression::Bzip2) => {
                let stream = std::io::Cursor::new(head).chain(&mut image);
                let f =
                    check_framing(stream).map_err(|source| Error::Framing { offset, source })?;
                offset += f.len;
                checked += 1;
            }
            Some(_) => return Ok(checked),
            None => return Err(Error::UnknownData { offset }),
        }
    }
}

/// Writes the bytes to append to an image of `base_len` bytes: zero padding to a 4-byte
/// boundary, then one archive (compressed with `compression`) holding `changes.puts` and the
/// directories above them (with their current metadata), sorted by path.
/// Returns the number of bytes written. Fails if `changes` holds removals.
pub fn write_overlay<W: Write>(
    base_len: u64,
    compression: Compression,
    changes: &Changes,
    out: W,
) -> Result<u64> {
    if let Some(path) = changes.removes.first() {
        return Err(Error::Edit {
            path: path.clone(),
            what: "a removal cannot be expressed by an appended overlay; use a repack".to_string(),
        });
    }
    let mut out = CountingWriter {
        inner: out,
        written: 0,
    };
    let pad = ((4 - base_len % 4) % 4) as usize;
    out.write_all(&[0u8; 4][..pad])
        .map_err(|e| Error::io("writing the overlay", e))?;
    let encoder = Encoder::new(compression, &mut out)
        .map_err(|e| Error::io("starting the overlay stream", e))?;
    let mut writer = NewcWriter::new(encoder);
    // The puts, and the existing directories above them with their current metadata (a no-op
    // for the kernel, but the archive then also unpacks on its own, e.g. with GNU cpio).
    let mut items: BTreeMap<&[u8], Item> = BTreeMap::new();
    for (i, put) in changes.puts.iter().enumerate() {
        items.insert(&put.path, Item::Put(i));
    }
    for put in &changes.puts {
        for (i, _) in put.path.iter().enumerate().filter(|(_, b)| **b == b'/') {
            let parent = &put.path[..i];
            if items.contains_key(parent) {
                continue;
            }
            if let Some(inode) = changes
                .merged
                .get(parent)
                .and_then(|n| changes.merged.inode(n.inode))
                && inode.kind == Kind::Dir
            {
                items.insert(parent, Item::Dir(inode));
            }
        }
    }
    for (n, (path, item)) in items.into_iter().enumerate() {
        let ino = u32::try_from(n + 1).map_err(|_| Error::Edit {
            path: path.to_vec(),
            what: "too many entries".to_string(),
        })?;
        let werr = |e| Error::io(format!("writing {} into the overlay", show(path)), e);
        match item {
            Item::Put(i) => {
                let Some(put) = changes.puts.get(i) else {
                    continue;
                };
                let (len, mut data) = open_content(put)?;
                writer
                    .append(&put_header(put, ino), path, len, &mut data)
                    .map_err(werr)?;
            }
            Item::Dir(inode) => {
                let header = Header {
                    ino,
                    mode: inode.mode,
                    uid: inode.uid,
                    gid: inode.gid,
                    nlink: 2,
                    mtime: inode.mtime,
                    ..Header::default()
                };
                writer.append_bytes(&header, path, &[]).map_err(werr)?;
            }
        }
    }
    writer
        .finish()
        .and_then(|enc| enc.finish())
        .and_then(|w| w.flush())
        .map_err(|e| Error::io("finishing the overlay", e))?;
    Ok(out.written)
}

enum Item<'a> {
    Put(usize),
    Dir(&'a Inode),
}

struct CountingWriter<W> {
    inner: W,
    written: u64,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
