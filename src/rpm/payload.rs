//! Payload compression choices and deterministic filler content.

use std::io::{self, Read, Write};

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

/// One member of a newc cpio archive as rpm payloads hold them (names start with `./`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpioEntry {
    /// Archive name, e.g. `./usr/share/foo/file`.
    pub name: String,
    /// Inode number (distinct per entry).
    pub ino: u32,
    /// Full mode: type bits and permissions (`0o100644`, `0o40755`).
    pub mode: u32,
    /// Link count.
    pub nlink: u32,
    /// Modification time.
    pub mtime: u32,
    /// Data size in bytes.
    pub size: u32,
}

/// Bytes of padding after `len` bytes to reach a multiple of 4.
fn pad4(len: u64) -> u64 {
    (4 - len % 4) % 4
}

impl CpioEntry {
    /// Writes the entry's header and name (padded); the caller then writes `size` data bytes
    /// and [`CpioEntry::write_data_padding`].
    pub fn write_header(&self, out: &mut impl Write) -> io::Result<()> {
        let namesize = self.name.len() as u32 + 1;
        let mut header = String::with_capacity(110);
        header.push_str("070701");
        for v in [
            self.ino, self.mode, 0, 0, self.nlink, self.mtime, self.size, 0, 1, 0, 0, namesize, 0,
        ] {
            header.push_str(&format!("{v:08x}"));
        }
        out.write_all(header.as_bytes())?;
        out.write_all(self.name.as_bytes())?;
        out.write_all(&[0u8; 4][..1 + pad4(110 + u64::from(namesize)) as usize])
    }

    /// Writes the zero padding after the entry's data.
    pub fn write_data_padding(&self, out: &mut impl Write) -> io::Result<()> {
        out.write_all(&[0u8; 4][..pad4(u64::from(self.size)) as usize])
    }

    /// Bytes this entry takes in the archive, header, name, data and padding included.
    pub fn archive_len(&self) -> u64 {
        let head = 110 + self.name.len() as u64 + 1;
        head + pad4(head) + u64::from(self.size) + pad4(u64::from(self.size))
    }

    /// The `TRAILER!!!` entry that ends an archive.
    pub fn trailer() -> Self {
        CpioEntry {
            name: "TRAILER!!!".into(),
            ino: 0,
            mode: 0,
            nlink: 1,
            mtime: 0,
            size: 0,
        }
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
