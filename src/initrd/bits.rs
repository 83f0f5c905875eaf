//! Bit-level reading and writing for bzip2 streams, whose blocks are not byte-aligned: the
//! bits at any offset of a byte slice, and a writer that appends bit ranges (64 bits at a time,
//! so that copying the untouched blocks of a stream runs at memory speed).

use std::io::{self, Write};

/// The `n` (at most 57) bits at bit `at` of `b`.
pub(crate) fn bits(b: &[u8], at: u64, n: u32) -> Option<u64> {
    let k = (at / 8) as usize;
    let s = (at % 8) as u32;
    let mut w = [0u8; 8];
    let have = b.get(k..)?;
    let take = have.len().min(8);
    if ((s + n).div_ceil(8) as usize) > take {
        return None;
    }
    w[..take].copy_from_slice(&have[..take]);
    Some((u64::from_be_bytes(w) >> (64 - s - n)) & ((1u64 << n) - 1))
}

/// Writes bits, most significant first, to `out`; copies bit ranges 64 bits at a time.
pub(crate) struct BitSink<W: Write> {
    out: W,
    buf: Vec<u8>,
    /// Pending bits (fewer than 8), in the low bits.
    acc: u64,
    nbits: u32,
    written: u64,
}

impl<W: Write> BitSink<W> {
    pub(crate) fn new(out: W) -> Self {
        BitSink {
            out,
            buf: Vec::with_capacity(1 << 20),
            acc: 0,
            nbits: 0,
            written: 0,
        }
    }

    /// Appends the low `n` (at most 56) bits of `v`.
    pub(crate) fn put(&mut self, v: u64, n: u32) {
        if n == 0 {
            return;
        }
        let v = v & (u64::MAX >> (64 - n));
        let mut n = n;
        let mut v = v;
        if n > 32 {
            self.put(v >> 32, n - 32);
            v &= 0xffff_ffff;
            n = 32;
        }
        self.acc = (self.acc << n) | v;
        self.nbits += n;
        while self.nbits >= 8 {
            self.nbits -= 8;
            self.buf.push((self.acc >> self.nbits) as u8);
        }
        self.acc &= (1u64 << self.nbits) - 1;
    }

    /// Appends bits `[from, to)` of `src`.
    pub(crate) fn copy(&mut self, src: &[u8], from: u64, to: u64) {
        let mut pos = from;
        // Up to the next byte boundary of the source.
        let lead = ((8 - pos % 8) % 8).min(to - pos);
        if lead > 0 {
            self.put(bits(src, pos, lead as u32).unwrap_or(0), lead as u32);
            pos += lead;
        }
        let mut k = (pos / 8) as usize;
        let whole = ((to - pos) / 8) as usize;
        if self.nbits == 0 {
            self.buf.extend_from_slice(&src[k..k + whole]);
        } else {
            let s = self.nbits;
            let mut acc = self.acc;
            let end = k + whole;
            self.buf.reserve(whole + 8);
            while k + 8 <= end {
                let w = u64::from_be_bytes(src[k..k + 8].try_into().unwrap_or([0; 8]));
                let out = (acc << (64 - s)) | (w >> s);
                self.buf.extend_from_slice(&out.to_be_bytes());
                acc = w & ((1u64 << s) - 1);
                k += 8;
            }
            while k < end {
                let b = u64::from(src[k]);
                self.buf.push(((acc << (8 - s)) | (b >> s)) as u8);
                acc = b & ((1u64 << s) - 1);
                k += 1;
            }
            self.acc = acc;
        }
        pos += whole as u64 * 8;
        if pos < to {
            self.put(
                bits(src, pos, (to - pos) as u32).unwrap_or(0),
                (to - pos) as u32,
            );
        }
    }

    /// Bits written so far.
    pub(crate) fn bit_position(&self) -> u64 {
        (self.written + self.buf.len() as u64) * 8 + u64::from(self.nbits)
    }

    /// Appends zero bits up to the next byte boundary.
    pub(crate) fn pad_to_byte(&mut self) {
        if self.nbits > 0 {
            let pad = 8 - self.nbits;
            self.put(0, pad);
        }
    }

    /// Pads to a byte and gives back the output.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        self.pad_to_byte();
        self.out.write_all(&self.buf)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

impl BitSink<Vec<u8>> {
    /// Takes the whole bytes written so far (the sink must be byte-aligned), leaving it empty
    /// but for its position.
    pub(crate) fn take(&mut self) -> Vec<u8> {
        debug_assert_eq!(self.nbits, 0);
        // Spilled bytes are counted already; the buffered ones now leave too.
        self.written += self.buf.len() as u64;
        let mut out = std::mem::take(&mut self.out);
        out.append(&mut self.buf);
        out
    }

    /// Counts `n` bytes as written by someone else (the sink must be byte-aligned and empty,
    /// as [`take`](Self::take) leaves it).
    pub(crate) fn skip(&mut self, n: u64) {
        debug_assert!(self.nbits == 0 && self.buf.is_empty() && self.out.is_empty());
        self.written += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_bits_at_every_shift() {
        let src: Vec<u8> = (0..200u32).map(|i| (i * 37 + 11) as u8).collect();
        for lead in 0..8u32 {
            for from in [0u64, 3, 8, 13] {
                let to = src.len() as u64 * 8 - 5;
                let mut a = BitSink::new(Vec::new());
                a.put(0b101, lead);
                a.copy(&src, from, to);
                let mut b = BitSink::new(Vec::new());
                b.put(0b101, lead);
                for bit in from..to {
                    b.put(bits(&src, bit, 1).unwrap(), 1);
                }
                assert_eq!(
                    a.finish().unwrap(),
                    b.finish().unwrap(),
                    "lead {lead} from {from}"
                );
            }
        }
    }
}
