//! Payload compression choices and deterministic filler content.

use std::io::{self, Read};

/// How a built package's cpio payload is compressed. Both are read by rpm 4.x, including the
/// rpm 4.11 of CentOS 7-based installers (which cannot read zstd payloads).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// gzip at the given level (1 fastest, 9 smallest).
    Gzip(u32),
    /// xz at the given preset (0 fastest, 9 smallest).
    Xz(u32),
}

impl Default for Compression {
    /// xz at preset 6, rpmbuild's usual payload setting.
    fn default() -> Self {
        Compression::Xz(6)
    }
}

impl Compression {
    /// The `rpm` crate's setting for this compression.
    pub(crate) fn to_crate(self) -> ::rpm::CompressionWithLevel {
        match self {
            Compression::Gzip(level) => ::rpm::CompressionWithLevel::Gzip(level.clamp(1, 9)),
            Compression::Xz(level) => ::rpm::CompressionWithLevel::Xz(level.min(9)),
        }
    }
}

/// An endless stream of incompressible bytes fully determined by a seed (splitmix64). Used for
/// padding packages in size benchmarks: same seed, same bytes, on every machine.
#[derive(Debug, Clone)]
pub struct Filler {
    state: u64,
    pending: [u8; 8],
    pending_len: usize,
}

impl Filler {
    /// A filler stream for this seed.
    pub fn new(seed: u64) -> Self {
        Filler {
            state: seed,
            pending: [0; 8],
            pending_len: 0,
        }
    }

    fn next_word(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// The next `len` bytes of the stream.
    pub fn take_vec(&mut self, len: usize) -> Vec<u8> {
        let mut out = vec![0u8; len];
        self.fill(&mut out);
        out
    }

    fn fill(&mut self, buf: &mut [u8]) {
        let mut at = 0;
        while at < buf.len() && self.pending_len > 0 {
            buf[at] = self.pending[8 - self.pending_len];
            self.pending_len -= 1;
            at += 1;
        }
        let mut chunks = buf[at..].chunks_exact_mut(8);
        for chunk in &mut chunks {
            chunk.copy_from_slice(&self.next_word().to_le_bytes());
        }
        let tail = chunks.into_remainder();
        if !tail.is_empty() {
            self.pending = self.next_word().to_le_bytes();
            self.pending_len = 8;
            for b in tail {
                *b = self.pending[8 - self.pending_len];
                self.pending_len -= 1;
            }
        }
    }
}

impl Read for Filler {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.fill(buf);
        Ok(buf.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filler_is_seeded_and_split_independent() {
        let whole = Filler::new(7).take_vec(100);
        let mut f = Filler::new(7);
        let mut parts = f.take_vec(3);
        parts.extend(f.take_vec(50));
        parts.extend(f.take_vec(47));
        assert_eq!(whole, parts);
        assert_ne!(whole, Filler::new(8).take_vec(100));
    }
}
