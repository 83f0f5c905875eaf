//! A new image described as ranges of the source image and new bytes between them.
//!
//! A splice changes a few bzip2 blocks of install.img and keeps every other block's bits. When
//! a kept stretch lands at the same bit position modulo 8 as in the source (the splice makes
//! sure it does, see `super::selector_pad`), its whole bytes are the source's bytes: the new
//! image names them as a range of the source instead of holding them, and the image writer
//! copies them in the kernel like any unchanged file data. Only the re-encoded blocks, the
//! bytes where a kept stretch meets new bits, and the stream trailers are new bytes. So the
//! cost of a splice grows with the blocks it changes, not with the image.

use std::io::{Read, Seek, SeekFrom};

use super::Result;
use super::bits::BitSink;
use super::error::Error;

/// One stretch of a new image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// `len` bytes of the source image from byte `offset`.
    Source {
        /// Where the bytes start in the source image.
        offset: u64,
        /// How many.
        len: u64,
    },
    /// New bytes.
    New(Vec<u8>),
}

impl Piece {
    /// The piece's length in bytes.
    pub fn len(&self) -> u64 {
        match self {
            Piece::Source { len, .. } => *len,
            Piece::New(b) => b.len() as u64,
        }
    }

    /// Whether the piece is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Writes `pieces` (taking their source ranges from `image`) to `out`, as one file.
pub fn write_pieces<R: Read + Seek, W: std::io::Write>(
    pieces: &[Piece],
    image: &mut R,
    out: &mut W,
) -> std::io::Result<()> {
    for piece in pieces {
        match piece {
            Piece::Source { offset, len } => {
                image.seek(SeekFrom::Start(*offset))?;
                let copied = std::io::copy(&mut image.by_ref().take(*len), out)?;
                if copied != *len {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
            }
            Piece::New(bytes) => out.write_all(bytes)?,
        }
    }
    Ok(())
}

/// Builds a list of [`Piece`]s bit by bit: new bits are kept in memory, bit ranges of the source
/// are named by reference wherever their bytes can stay as they are.
pub(crate) struct PieceSink {
    pieces: Vec<Piece>,
    bits: BitSink<Vec<u8>>,
}

/// Reads the byte at `offset` of the image.
fn byte_at<R: Read + Seek>(image: &mut R, offset: u64) -> Result<u8> {
    let mut b = [0u8; 1];
    image
        .seek(SeekFrom::Start(offset))
        .and_then(|_| image.read_exact(&mut b))
        .map_err(|e| Error::io(format!("reading the image at offset {offset}"), e))?;
    Ok(b[0])
}

impl PieceSink {
    pub(crate) fn new() -> Self {
        Self {
            pieces: Vec::new(),
            bits: BitSink::new(Vec::new()),
        }
    }

    /// Appends the low `n` (at most 56) bits of `v`.
    pub(crate) fn put(&mut self, v: u64, n: u32) {
        self.bits.put(v, n);
    }

    /// Appends bits `[from, to)` of `src`.
    pub(crate) fn copy(&mut self, src: &[u8], from: u64, to: u64) {
        self.bits.copy(src, from, to);
    }

    /// Appends zero bits up to the next byte boundary.
    pub(crate) fn pad_to_byte(&mut self) {
        self.bits.pad_to_byte();
    }

    /// Bits written so far.
    pub(crate) fn bit_position(&self) -> u64 {
        self.bits.bit_position()
    }

    /// Appends bits `[from, to)` of the image region starting at byte `base`. The sink must
    /// stand at `from`'s position modulo 8 (an error otherwise: a splice keeps that
    /// invariant); the whole bytes between are named as a source range.
    pub(crate) fn keep<R: Read + Seek>(
        &mut self,
        image: &mut R,
        base: u64,
        from: u64,
        to: u64,
    ) -> Result<()> {
        if from >= to {
            return Ok(());
        }
        if self.bit_position() % 8 != from % 8 {
            return Err(Error::io(
                "splicing install.img",
                std::io::Error::other("a kept bit range would move within its bytes"),
            ));
        }
        // Up to the first byte boundary: from the source byte, into the new bits.
        let head_end = (from.div_ceil(8) * 8).min(to);
        if head_end > from {
            let b = byte_at(image, base + from / 8)?;
            self.bits.copy(&[b], from % 8, from % 8 + (head_end - from));
        }
        let whole_end = (to / 8 * 8).max(head_end);
        if whole_end > head_end {
            let new = self.bits.take();
            if !new.is_empty() {
                self.pieces.push(Piece::New(new));
            }
            let (offset, len) = (base + head_end / 8, (whole_end - head_end) / 8);
            match self.pieces.last_mut() {
                Some(Piece::Source { offset: o, len: l }) if *o + *l == offset => *l += len,
                _ => self.pieces.push(Piece::Source { offset, len }),
            }
            // The sink's position counts the referenced bytes as written.
            self.bits.skip(len);
        }
        if to > whole_end {
            let b = byte_at(image, base + whole_end / 8)?;
            self.bits.copy(&[b], 0, to - whole_end);
        }
        Ok(())
    }

    /// Pads to a byte and gives back the pieces.
    pub(crate) fn finish(mut self) -> Vec<Piece> {
        self.bits.pad_to_byte();
        let new = self.bits.take();
        if !new.is_empty() {
            self.pieces.push(Piece::New(new));
        }
        self.pieces
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    #[test]
    fn kept_ranges_are_named_and_read_back_the_same() {
        let src: Vec<u8> = (0..10_000u32).map(|i| (i * 31 + 7) as u8).collect();
        for lead in 0..8u32 {
            let mut sink = PieceSink::new();
            sink.put(0b1011_0110, lead);
            let from = 800 + u64::from(lead);
            sink.keep(&mut Cursor::new(&src), 0, from, 70_003).unwrap();
            sink.put(0b101, 3);
            let pieces = sink.finish();
            assert!(
                pieces
                    .iter()
                    .any(|p| matches!(p, Piece::Source { len, .. } if *len > 8_000)),
                "{pieces:?}"
            );
            let mut got = Vec::new();
            write_pieces(&pieces, &mut Cursor::new(&src), &mut got).unwrap();
            let mut want = BitSink::new(Vec::new());
            want.put(0b1011_0110, lead);
            want.copy(&src, from, 70_003);
            want.put(0b101, 3);
            assert_eq!(got, want.finish().unwrap(), "lead {lead}");
        }
    }

    #[test]
    fn refuses_a_range_that_would_move_within_its_bytes() {
        let mut sink = PieceSink::new();
        sink.put(1, 3);
        assert!(sink.keep(&mut Cursor::new(&[0u8; 8]), 0, 0, 32).is_err());
    }
}
