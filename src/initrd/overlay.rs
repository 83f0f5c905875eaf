//! The overlay strategy: the source image is kept byte for byte and one archive holding only the
//! new and changed entries is appended, after zero padding to a 4-byte-aligned offset, in its own
//! compressed stream of the same compression as the source's last segment. The kernel unpacks it
//! last, so its entries replace the source's. Time and memory depend on the size of the change only.
//!
//! Note for people checking an image by hand: `bzip2 -dc` stops at the zero padding ("trailing
//! garbage") and GNU cpio stops at the first `TRAILER!!!`, so neither shows the overlay of a
//! bzip2 image; decompress the appended stream (from the aligned offset on) separately.

use std::io::Write;

use super::Result;
use super::compression::{Compression, Encoder};
use super::edits::{Changes, open_content, put_header};
use super::error::{Error, show};
use super::writer::NewcWriter;

/// Writes the bytes to append to an image of `base_len` bytes: zero padding to a 4-byte
/// boundary, then one archive (compressed with `compression`) holding `changes.puts` in order.
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
    for (i, put) in changes.puts.iter().enumerate() {
        let ino = u32::try_from(i + 1).map_err(|_| Error::Edit {
            path: put.path.clone(),
            what: "too many entries".to_string(),
        })?;
        let (len, mut data) = open_content(put)?;
        writer
            .append(&put_header(put, ino), &put.path, len, &mut data)
            .map_err(|e| Error::io(format!("writing {} into the overlay", show(&put.path)), e))?;
    }
    writer
        .finish()
        .and_then(|enc| enc.finish())
        .map_err(|e| Error::io("finishing the overlay", e))?;
    Ok(out.written)
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
