//! The byte sources under the install.img reader: the raw image with look-ahead and a count of
//! what was consumed, and a segment's decoder that copies its output to a spool.

use std::io::{self, BufRead, Read, Write};

use super::super::compression::Decoder;

/// A `BufRead` over the raw image that counts consumed bytes and can look ahead a few bytes.
pub(super) struct Counting<R> {
    /// The raw image.
    pub(super) inner: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Bytes consumed so far.
    pub(super) pos: u64,
}

/// The look-ahead buffer's size, also the decoded segments' buffer size.
pub(super) const BUF_LEN: usize = 64 * 1024;

impl<R: Read> Counting<R> {
    pub(super) fn new(inner: R) -> Self {
        Counting {
            inner,
            buf: vec![0; BUF_LEN],
            start: 0,
            end: 0,
            pos: 0,
        }
    }

    /// At least `n` bytes buffered, unless the input ends first.
    pub(super) fn peek(&mut self, n: usize) -> io::Result<&[u8]> {
        if self.end - self.start < n {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            while self.end < n {
                let got = self.inner.read(&mut self.buf[self.end..])?;
                if got == 0 {
                    break;
                }
                self.end += got;
            }
        }
        Ok(&self.buf[self.start..self.end])
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for Counting<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.start == self.end {
            self.start = 0;
            self.end = self.inner.read(&mut self.buf)?;
        }
        Ok(&self.buf[self.start..self.end])
    }

    fn consume(&mut self, amt: usize) {
        let amt = amt.min(self.end - self.start);
        self.start += amt;
        self.pos += amt as u64;
    }
}

/// A segment's decoder, copying what it yields to the spool when there is one.
pub(super) struct Spooled<R: BufRead> {
    /// The segment's decoder.
    pub(super) decoder: Decoder<R>,
    /// Where the decoded bytes are copied, when anywhere.
    pub(super) spool: Option<Box<dyn Write>>,
}

impl<R: BufRead> Read for Spooled<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.decoder.read(buf)?;
        if let Some(spool) = self.spool.as_mut() {
            if n == 0 {
                spool.flush()?;
            } else {
                spool.write_all(&buf[..n])?;
            }
        }
        Ok(n)
    }
}
