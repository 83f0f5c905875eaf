//! The digest an image's cached index records, and that the index is checked against before
//! a build relies on it: the SHA-256 of the SHA-256 of the image's even 1 MiB chunks followed
//! by the SHA-256 of its odd ones. Two interleaved streams rather than one, so that the check
//! reads the image once, in order, and hashes two chunks side by side at the two-stream rate
//! of [`crate::sha256_pair`] (about 1.8 times one stream's on a core), on a core of its own
//! while the new ISO is written; a full read of the image makes the same digest chunk by chunk.
//! The two streams can also be read apart ([`Lane`]), each hashed wherever a hasher has room
//! for it, and put together with [`from_lanes`].

use std::io::{self, Read, Seek, SeekFrom};

use sha2::Digest;

use crate::read_fully::read_fully;
use crate::sha256_pair::{Sha256, update_pair};

/// The bytes of a chunk: chunk `i` of the image goes to the even stream when `i` is even.
const CHUNK: usize = 1 << 20;

/// An image digest being computed from the image's bytes, in order.
#[derive(Default)]
pub struct ImageDigest {
    even: Sha256,
    odd: Sha256,
    /// Bytes fed so far.
    pos: u64,
}

impl ImageDigest {
    /// A digest of nothing yet.
    pub fn new() -> ImageDigest {
        ImageDigest::default()
    }

    /// Feeds the next bytes of the image.
    pub fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let chunk = self.pos / CHUNK as u64;
            let take = (CHUNK - (self.pos % CHUNK as u64) as usize).min(data.len());
            let stream = match chunk % 2 {
                0 => &mut self.even,
                _ => &mut self.odd,
            };
            stream.update(&data[..take]);
            self.pos += take as u64;
            data = &data[take..];
        }
    }

    /// Feeds two whole chunks, hashed side by side; the digest must be at a pair's start.
    fn update_two_chunks(&mut self, even: &[u8], odd: &[u8]) {
        debug_assert!(self.pos.is_multiple_of(2 * CHUNK as u64));
        debug_assert!(even.len() == CHUNK && odd.len() == CHUNK);
        update_pair(&mut self.even, even, &mut self.odd, odd);
        self.pos += 2 * CHUNK as u64;
    }

    /// The digest of the image fed.
    pub fn finalize(self) -> [u8; 32] {
        from_lanes(self.even, self.odd)
    }
}

/// The digest of an image whose even chunks were fed to `even` and odd ones to `odd`.
pub fn from_lanes(even: Sha256, odd: Sha256) -> [u8; 32] {
    let mut outer = sha2::Sha256::new();
    outer.update(even.finalize());
    outer.update(odd.finalize());
    outer.finalize().into()
}

/// The bytes of one of the digest's two streams: the even (or odd) chunks of an image, in
/// order, read from the image and seeking over the other stream's chunks.
pub struct Lane<R> {
    image: R,
    /// 0 for the even chunks, 1 for the odd ones.
    parity: u64,
    /// The position in the image.
    pos: u64,
    /// The image's length.
    image_len: u64,
    /// Whether `image` is at `pos`.
    placed: bool,
}

impl<R: Read + Seek> Lane<R> {
    /// The even (`odd` false) or odd chunks of `image`, `image_len` bytes long.
    pub fn new(image: R, image_len: u64, odd: bool) -> Lane<R> {
        Lane {
            image,
            parity: u64::from(odd),
            pos: 0,
            image_len,
            placed: false,
        }
    }

    /// The bytes of the lane.
    pub fn len(&self) -> u64 {
        let chunk = CHUNK as u64;
        let whole_pairs = self.image_len / (2 * chunk);
        let rest = self.image_len % (2 * chunk);
        let in_rest = match self.parity {
            0 => rest.min(chunk),
            _ => rest.saturating_sub(chunk),
        };
        whole_pairs * chunk + in_rest
    }
}

impl<R: Read + Seek> Read for Lane<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let chunk = CHUNK as u64;
        if self.pos / chunk % 2 != self.parity {
            self.pos = (self.pos / chunk + 1) * chunk;
            self.placed = false;
        }
        if self.pos >= self.image_len || buf.is_empty() {
            return Ok(0);
        }
        if !self.placed {
            self.image.seek(SeekFrom::Start(self.pos))?;
            self.placed = true;
        }
        let chunk_end = ((self.pos / chunk + 1) * chunk).min(self.image_len);
        let want = ((chunk_end - self.pos) as usize).min(buf.len());
        let n = self.image.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the image ends before its length",
            ));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

/// The [`ImageDigest`] of everything `input` yields, two chunks at a time side by side.
pub fn image_digest_of<R: Read>(mut input: R) -> io::Result<[u8; 32]> {
    let mut digest = ImageDigest::new();
    let mut buf = vec![0u8; 2 * CHUNK];
    loop {
        let filled = read_fully(&mut input, &mut buf)?;
        if filled < buf.len() {
            digest.update(&buf[..filled]);
            return Ok(digest.finalize());
        }
        let (even, odd) = buf.split_at(CHUNK);
        digest.update_two_chunks(even, odd);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The digest as its definition says, with `sha2` alone.
    fn by_definition(data: &[u8]) -> [u8; 32] {
        let (mut even, mut odd) = (sha2::Sha256::new(), sha2::Sha256::new());
        for (i, chunk) in data.chunks(CHUNK).enumerate() {
            match i % 2 {
                0 => even.update(chunk),
                _ => odd.update(chunk),
            }
        }
        let mut outer = sha2::Sha256::new();
        outer.update(even.finalize());
        outer.update(odd.finalize());
        outer.finalize().into()
    }

    /// An image of five and a bit chunks, and the lengths of it tried: around chunk and pair
    /// boundaries, and the whole.
    fn images() -> (Vec<u8>, [usize; 10]) {
        let data: Vec<u8> = (0..5 * CHUNK + 999)
            .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3])
            .collect();
        let whole = data.len();
        let lengths = [
            0,
            1,
            CHUNK - 1,
            CHUNK,
            CHUNK + 1,
            2 * CHUNK,
            2 * CHUNK + 63,
            3 * CHUNK,
            4 * CHUNK + 1,
            whole,
        ];
        (data, lengths)
    }

    #[test]
    fn every_way_of_feeding_gives_the_digest_of_the_definition() {
        let (data, lengths) = images();
        for len in lengths {
            let image = &data[..len];
            let want = by_definition(image);
            assert_eq!(image_digest_of(image).unwrap(), want, "paired, {len} bytes");
            // A reader that hands out odd-sized pieces.
            let trickle = std::io::Read::chain(&image[..len / 3], &image[len / 3..]);
            assert_eq!(
                image_digest_of(trickle).unwrap(),
                want,
                "trickled, {len} bytes"
            );
            for step in [1000, 65_536, CHUNK + 7] {
                let mut d = ImageDigest::new();
                for piece in image.chunks(step) {
                    d.update(piece);
                }
                assert_eq!(d.finalize(), want, "in pieces of {step}, {len} bytes");
            }
        }
        // The two streams are not interchangeable: swapping chunks changes the digest.
        let mut swapped = data[..2 * CHUNK].to_vec();
        swapped.rotate_left(CHUNK);
        assert_ne!(
            image_digest_of(&swapped[..]).unwrap(),
            image_digest_of(&data[..2 * CHUNK]).unwrap()
        );
    }

    #[test]
    fn the_two_lanes_read_apart_give_the_same_digest() {
        let (data, lengths) = images();
        for len in lengths {
            let image = &data[..len];
            // Read in pieces that do not divide a chunk, the odd lane first.
            let hashed: Vec<Sha256> = [true, false]
                .into_iter()
                .map(|odd| {
                    let mut lane = Lane::new(std::io::Cursor::new(image), len as u64, odd);
                    let want_len = lane.len();
                    let (mut hash, mut buf) = (Sha256::new(), vec![0u8; 300_007]);
                    loop {
                        let n = lane.read(&mut buf).unwrap();
                        if n == 0 {
                            break;
                        }
                        hash.update(&buf[..n]);
                    }
                    assert_eq!(hash.len(), want_len, "{len} bytes, odd {odd}");
                    hash
                })
                .collect();
            let [odd, even] = <[Sha256; 2]>::try_from(hashed).ok().unwrap();
            assert_eq!(from_lanes(even, odd), by_definition(image), "{len} bytes");
        }
        // An image shorter than its length says: an error, not a short lane.
        let mut lane = Lane::new(
            std::io::Cursor::new(&data[..CHUNK]),
            3 * CHUNK as u64,
            false,
        );
        let mut buf = vec![0u8; CHUNK];
        assert_eq!(lane.read(&mut buf).unwrap(), CHUNK);
        let err = lane.read(&mut buf).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
    }
}
