//! The digest an image's cached index records, and that the index is checked against before
//! a build relies on it: the SHA-256 of the SHA-256 of the image's even 1 MiB chunks followed
//! by the SHA-256 of its odd ones. Two interleaved streams rather than one, so that the check
//! reads the image once, in order, and hashes two chunks side by side at the two-stream rate
//! of [`crate::sha256_pair`] (about 1.8 times one stream's on a core), on a core of its own
//! while the new ISO is written; a full read of the image makes the same digest chunk by chunk.

use std::io::{self, Read};

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
        let mut outer = sha2::Sha256::new();
        outer.update(self.even.finalize());
        outer.update(self.odd.finalize());
        outer.finalize().into()
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

    #[test]
    fn every_way_of_feeding_gives_the_digest_of_the_definition() {
        let data: Vec<u8> = (0..5 * CHUNK + 999)
            .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3])
            .collect();
        for len in [
            0,
            1,
            CHUNK - 1,
            CHUNK,
            CHUNK + 1,
            2 * CHUNK,
            2 * CHUNK + 63,
            3 * CHUNK,
            4 * CHUNK + 1,
            data.len(),
        ] {
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
}
