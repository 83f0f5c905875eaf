//! Compression of install.img segments: detection by magic, one-stream decoders that give back
//! their input exactly where the stream ended, and deterministic encoders the kernel can read.

use std::fmt;
use std::io::{self, BufRead, Read, Write};

/// How a segment of the image is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Compression {
    /// An uncompressed cpio archive.
    None,
    /// bzip2 (`BZh`).
    Bzip2,
    /// gzip (`1f 8b`).
    Gzip,
    /// xz (`fd 37 7a 58 5a 00`); written with CRC32 checks, the only kind the kernel verifies.
    Xz,
    /// zstd (`28 b5 2f fd`), one frame per segment.
    Zstd,
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Compression::None => "uncompressed",
            Compression::Bzip2 => "bzip2",
            Compression::Gzip => "gzip",
            Compression::Xz => "xz",
            Compression::Zstd => "zstd",
        })
    }
}

/// Longest magic [`detect`] needs to see.
pub const MAGIC_LEN: usize = 6;

/// Recognises the start of a segment from its first bytes (give at least [`MAGIC_LEN`] bytes
/// when available). `None` when the bytes are no known segment start.
pub fn detect(head: &[u8]) -> Option<Compression> {
    if head.starts_with(b"BZh") {
        Some(Compression::Bzip2)
    } else if head.starts_with(&[0x1f, 0x8b]) {
        Some(Compression::Gzip)
    } else if head.starts_with(&[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) {
        Some(Compression::Xz)
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some(Compression::Zstd)
    } else if head.starts_with(b"07070") {
        Some(Compression::None)
    } else {
        None
    }
}

/// Names the compressions the kernel may know but this crate does not read (lzma, lzo, lz4,
/// old-style gzip), from the first bytes of a segment.
pub fn detect_unsupported(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(&[0x5d, 0x00]) {
        Some("lzma")
    } else if head.starts_with(&[0x89, 0x4c]) {
        Some("lzo")
    } else if head.starts_with(&[0x02, 0x21]) {
        Some("lz4")
    } else if head.starts_with(&[0x1f, 0x9e]) {
        Some("old gzip (pack)")
    } else {
        None
    }
}

/// A decoder for exactly one compressed stream (bzip2 decoded block-parallel, its threads capped:
/// [`ParallelBzDecoder`](super::bzip2_blocks::ParallelBzDecoder)).
/// It reads its input through `BufRead` and consumes only the bytes of the stream, so after the end [`Decoder::into_inner`] gives the input back
/// positioned on the first byte after the stream.
pub(crate) enum Decoder<R: BufRead> {
    Bzip2(super::bzip2_blocks::ParallelBzDecoder<R>),
    Gzip(flate2::bufread::GzDecoder<R>),
    Xz(liblzma::bufread::XzDecoder<R>),
    Zstd(zstd::stream::read::Decoder<'static, R>),
}

impl<R: BufRead> Decoder<R> {
    /// A decoder of `compression` (not [`Compression::None`]) over `input`.
    pub(crate) fn new(compression: Compression, input: R) -> io::Result<Self> {
        Ok(match compression {
            Compression::Bzip2 => Decoder::Bzip2(super::bzip2_blocks::ParallelBzDecoder::new(
                input,
                crate::parallelism::cores(),
            )),
            Compression::Gzip => Decoder::Gzip(flate2::bufread::GzDecoder::new(input)),
            Compression::Xz => Decoder::Xz(liblzma::bufread::XzDecoder::new(input)),
            Compression::Zstd => {
                Decoder::Zstd(zstd::stream::read::Decoder::with_buffer(input)?.single_frame())
            }
            Compression::None => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "no decoder for uncompressed data",
                ));
            }
        })
    }

    /// Gives back the input (call after the decoder returned end of stream).
    pub(crate) fn into_inner(self) -> R {
        match self {
            Decoder::Bzip2(d) => d.into_inner(),
            Decoder::Gzip(d) => d.into_inner(),
            Decoder::Xz(d) => d.into_inner(),
            Decoder::Zstd(d) => d.finish(),
        }
    }
}

impl<R: BufRead> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Bzip2(d) => d.read(buf),
            Decoder::Gzip(d) => d.read(buf),
            Decoder::Xz(d) => d.read(buf),
            Decoder::Zstd(d) => d.read(buf),
        }
    }
}

/// A deterministic encoder producing one complete stream (no file names or times in headers).
pub enum Encoder<W: Write> {
    /// Uncompressed pass-through.
    None(W),
    /// bzip2, block size 900k.
    Bzip2(pbz2::EncoderWriter<W>),
    /// bzip2, block size 900k, blocks compressed on several threads (the same bytes as
    /// [`Encoder::Bzip2`]).
    Bzip2Parallel(pbz2::ParallelEncoder<W>),
    /// gzip, level 9, no name, mtime 0.
    Gzip(flate2::write::GzEncoder<W>),
    /// xz, preset 6, CRC32 check.
    Xz(liblzma::write::XzEncoder<W>),
    /// zstd, level 9, one frame with the content size unknown.
    Zstd(zstd::stream::write::Encoder<'static, W>),
}

impl<W: Write> Encoder<W> {
    /// Starts a stream of `compression` writing into `out`.
    pub fn new(compression: Compression, out: W) -> io::Result<Self> {
        Ok(match compression {
            Compression::None => Encoder::None(out),
            Compression::Bzip2 => Encoder::Bzip2(pbz2::EncoderWriter::new(out, pbz2::Level::BEST)),
            Compression::Gzip => Encoder::Gzip(
                flate2::GzBuilder::new()
                    .mtime(0)
                    .operating_system(3)
                    .write(out, flate2::Compression::best()),
            ),
            Compression::Xz => {
                let stream =
                    liblzma::stream::Stream::new_easy_encoder(6, liblzma::stream::Check::Crc32)
                        .map_err(io::Error::other)?;
                Encoder::Xz(liblzma::write::XzEncoder::new_stream(out, stream))
            }
            Compression::Zstd => {
                let mut enc = zstd::stream::write::Encoder::new(out, 9)?;
                enc.include_checksum(true)?;
                Encoder::Zstd(enc)
            }
        })
    }

    /// As [`Encoder::new`], compressing on `threads` threads where the format allows it (bzip2);
    /// the bytes written are the same whatever the thread count.
    pub fn with_threads(compression: Compression, out: W, threads: usize) -> io::Result<Self> {
        if compression == Compression::Bzip2 && threads > 1 {
            Ok(Encoder::Bzip2Parallel(pbz2::ParallelEncoder::with_threads(
                out,
                pbz2::Level::BEST,
                threads,
            )))
        } else {
            Self::new(compression, out)
        }
    }

    /// Ends the stream and gives back the output.
    pub fn finish(self) -> io::Result<W> {
        match self {
            Encoder::None(w) => Ok(w),
            Encoder::Bzip2(e) => e.finish(),
            Encoder::Bzip2Parallel(e) => e.finish(),
            Encoder::Gzip(e) => e.finish(),
            Encoder::Xz(e) => e.finish(),
            Encoder::Zstd(e) => e.finish(),
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Encoder::None(w) => w.write(buf),
            Encoder::Bzip2(e) => e.write(buf),
            Encoder::Bzip2Parallel(e) => e.write(buf),
            Encoder::Gzip(e) => e.write(buf),
            Encoder::Xz(e) => e.write(buf),
            Encoder::Zstd(e) => e.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Encoder::None(w) => w.flush(),
            Encoder::Bzip2(e) => e.flush(),
            Encoder::Bzip2Parallel(e) => e.flush(),
            Encoder::Gzip(e) => e.flush(),
            Encoder::Xz(e) => e.flush(),
            Encoder::Zstd(e) => e.flush(),
        }
    }
}

/// Compresses `data` into one complete stream.
pub fn compress(compression: Compression, data: &[u8]) -> io::Result<Vec<u8>> {
    let mut enc = Encoder::new(compression, Vec::new())?;
    enc.write_all(data)?;
    enc.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each decoder must stop exactly at the end of its stream, so the next segment's offset is known.
    #[test]
    fn decoders_consume_exactly_one_stream() {
        for c in [
            Compression::Bzip2,
            Compression::Gzip,
            Compression::Xz,
            Compression::Zstd,
        ] {
            let payload = b"hello world, hello world, hello world".repeat(100);
            let mut image = compress(c, &payload).unwrap();
            let stream_len = image.len();
            assert_eq!(detect(&image), Some(c));
            image.extend_from_slice(b"\0\0\0NEXT");
            let mut input = io::Cursor::new(&image[..]);
            let mut dec = Decoder::new(c, &mut input).unwrap();
            let mut out = Vec::new();
            dec.read_to_end(&mut out).unwrap();
            assert_eq!(out, payload, "{c}");
            drop(dec);
            assert_eq!(input.position() as usize, stream_len, "{c}");
        }
    }

    /// The parallel bzip2 encoder writes the same bytes as the one-thread one, whatever the
    /// thread count.
    #[test]
    fn parallel_bzip2_is_the_same_stream() {
        let payload: Vec<u8> = (0..3_000_000u32)
            .flat_map(|i| (i.wrapping_mul(2_654_435_761) >> 13).to_le_bytes())
            .collect();
        let one = compress(Compression::Bzip2, &payload).unwrap();
        for threads in [2, 3] {
            let mut enc = Encoder::with_threads(Compression::Bzip2, Vec::new(), threads).unwrap();
            assert!(matches!(enc, Encoder::Bzip2Parallel(_)));
            for chunk in payload.chunks(100_003) {
                enc.write_all(chunk).unwrap();
            }
            assert_eq!(enc.finish().unwrap(), one, "{threads} threads");
        }
    }

    #[test]
    fn deterministic() {
        for c in [
            Compression::Bzip2,
            Compression::Gzip,
            Compression::Xz,
            Compression::Zstd,
        ] {
            assert_eq!(compress(c, b"abc").unwrap(), compress(c, b"abc").unwrap());
        }
    }
}
