//! Decompressing repository metadata (primary, filelists, other, comps) with a bound on what
//! it may cost.
//!
//! # Security
//! A few hundred kilobytes of gzip can hold half a gigabyte of whitespace, and an XML reader
//! holds a run of text between two tags in memory whole. So the decompressed data of a file
//! may be at most [`RATIO`] times its compressed size, and never less than [`FLOOR`] nor more
//! than [`CEILING`] (see [`limit`]); and a run of more than [`MAX_RUN`] bytes without a `<`
//! (no XML metadata has one) is refused as soon as it is seen. Either is an error naming the
//! file and the limit, so a hostile file costs time and memory in proportion to its size.

use std::io::{self, Read};

/// How many times its compressed size a metadata file may decompress to. Real repodata
/// compresses 5 to 30 times.
pub const RATIO: u64 = 100;
/// What any metadata file may decompress to, however small.
pub const FLOOR: u64 = 64 << 20;
/// What no metadata file may decompress beyond.
pub const CEILING: u64 = 2 << 30;
/// The longest run of decompressed bytes without a `<` (text or whitespace between tags).
pub const MAX_RUN: u64 = 16 << 20;

/// How many bytes a metadata file of `compressed` bytes may decompress to.
pub fn limit(compressed: u64) -> u64 {
    compressed.saturating_mul(RATIO).clamp(FLOOR, CEILING)
}

/// Which compression a metadata file uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain XML.
    None,
    /// gzip (`.gz`), several members allowed.
    Gzip,
    /// bzip2 (`.bz2`), several streams allowed.
    Bzip2,
    /// xz (`.xz`).
    Xz,
    /// zstd (`.zst`).
    Zstd,
}

impl Compression {
    /// The compression of a file named `name`, by its extension (plain when unknown).
    pub fn from_name(name: &str) -> Compression {
        let ext = name.rsplit('.').next().unwrap_or_default();
        match ext {
            "gz" => Compression::Gzip,
            "bz2" => Compression::Bzip2,
            "xz" => Compression::Xz,
            "zst" => Compression::Zstd,
            _ => Compression::None,
        }
    }
}

/// The decompressed content of one metadata file, read through the bounds of this module.
pub struct Bounded<'a> {
    inner: Box<dyn Read + Send + 'a>,
    name: String,
    compressed: u64,
    limit: u64,
    total: u64,
    run: u64,
}

impl<'a> Bounded<'a> {
    /// Decompresses `bytes`, the file `name` (named in errors unless empty), as `compression`.
    pub fn new(name: &str, bytes: &'a [u8], compression: Compression) -> io::Result<Self> {
        let inner: Box<dyn Read + Send + 'a> = match compression {
            Compression::None => Box::new(bytes),
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(bytes)),
            Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(bytes)),
            Compression::Xz => Box::new(liblzma::read::XzDecoder::new(bytes)),
            Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(bytes)?),
        };
        let compressed = bytes.len() as u64;
        Ok(Bounded {
            inner,
            name: name.to_string(),
            compressed,
            limit: limit(compressed).max(compressed),
            total: 0,
            run: 0,
        })
    }

    fn refuse(&self, what: String) -> io::Error {
        let message = match self.name.as_str() {
            "" => what,
            name => format!("{name}: {what}"),
        };
        io::Error::new(io::ErrorKind::InvalidData, message)
    }
}

impl Read for Bounded<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let got = buf.get(..n).unwrap_or_default();
        self.total += n as u64;
        if self.total > self.limit {
            return Err(self.refuse(format!(
                "decompresses to more than {} bytes, the limit for a file of {} bytes \
                 ({RATIO} times its size, at least {} MiB, at most {} GiB)",
                self.limit,
                self.compressed,
                FLOOR >> 20,
                CEILING >> 30
            )));
        }
        self.run = match got.iter().rposition(|&b| b == b'<') {
            Some(at) => (n - at - 1) as u64,
            None => self.run + n as u64,
        };
        if self.run > MAX_RUN {
            return Err(self.refuse(format!(
                "more than {} MiB of text without markup: not XML metadata",
                MAX_RUN >> 20
            )));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn limit_is_relative_with_floor_and_ceiling() {
        assert_eq!(limit(0), FLOOR);
        assert_eq!(limit(10 << 20), 1000 << 20);
        assert_eq!(limit(1 << 40), CEILING);
    }

    #[test]
    fn ordinary_xml_passes() {
        let xml = b"<metadata>\n  <package>x</package>\n</metadata>\n".repeat(1000);
        let packed = gz(&xml);
        let mut out = Vec::new();
        Bounded::new("primary.xml.gz", &packed, Compression::Gzip)
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, xml);
    }

    #[test]
    fn long_run_without_markup_is_refused() {
        let mut xml = b"<metadata>".to_vec();
        xml.resize(xml.len() + (MAX_RUN as usize) + 10, b' ');
        let packed = gz(&xml);
        let err = Bounded::new("p.xml.gz", &packed, Compression::Gzip)
            .unwrap()
            .read_to_end(&mut Vec::new())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("p.xml.gz") && err.contains("without markup"),
            "{err}"
        );
    }

    #[test]
    fn bomb_is_refused() {
        let xml = b"<a/>".repeat((FLOOR as usize) / 4 + 16);
        let packed = gz(&xml);
        let err = Bounded::new("o.xml.gz", &packed, Compression::Gzip)
            .unwrap()
            .read_to_end(&mut Vec::new())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("o.xml.gz") && err.contains("more than"),
            "{err}"
        );
    }
}
