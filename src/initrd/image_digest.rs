//! The digest an image's cached index records, and that the index is checked against before
//! a build relies on it: the SHA-256 of the SHA-256s of the image's eight lanes, in order,
//! where lane `k` is the image's 1 MiB chunks `k`, `k + 8`, `k + 16`, ... Several interleaved
//! streams rather than one, so that a read of the image, once and in order, hashes four chunks
//! side by side at the four-stream rate of [`crate::sha256_pair`] (about 1.9 times one
//! stream's on a core), on a core of its own while the new ISO is written; a full read of the
//! image makes the same digest chunk by chunk. The lanes can also be read apart ([`Lane`]),
//! each hashed wherever a hasher has room for it, and put together with [`from_lanes`]: eight
//! of them, so that no lane is much longer than the packages `verify` hashes beside them and
//! its hashers finish together. With two lanes, the two 86 MB lanes of the benchmark's 173 MB
//! install.img outlasted the packages: a quarter of the 600 MB ISO was hashed one to three
//! streams at a time, not four.

use std::io::{self, Read, Seek, SeekFrom};

use sha2::Digest;

use crate::read_fully::read_fully;
use crate::sha256_pair::{Sha256, update_many};

/// The bytes of a chunk: chunk `i` of the image goes to lane `i % LANES`.
const CHUNK: usize = 1 << 20;

/// The lanes of the digest.
pub const LANES: usize = 8;

/// Chunks [`image_digest_of`] hashes side by side.
const SIDE_BY_SIDE: usize = 4;

/// An image digest being computed from the image's bytes, in order.
#[derive(Default)]
pub struct ImageDigest {
    /// The lanes, [`SIDE_BY_SIDE`] to a group: lane `k` is
    /// `groups[k / SIDE_BY_SIDE][k % SIDE_BY_SIDE]`.
    groups: [[Sha256; SIDE_BY_SIDE]; LANES / SIDE_BY_SIDE],
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
            let lane = (chunk % LANES as u64) as usize;
            self.groups[lane / SIDE_BY_SIDE][lane % SIDE_BY_SIDE].update(&data[..take]);
            self.pos += take as u64;
            data = &data[take..];
        }
    }

    /// Feeds [`SIDE_BY_SIDE`] whole chunks, hashed side by side; the digest must be at the
    /// start of a chunk whose lane is a multiple of [`SIDE_BY_SIDE`].
    fn update_chunks(&mut self, chunks: [&[u8]; SIDE_BY_SIDE]) {
        let lane = (self.pos / CHUNK as u64 % LANES as u64) as usize;
        debug_assert!(self.pos.is_multiple_of(CHUNK as u64) && lane.is_multiple_of(SIDE_BY_SIDE));
        debug_assert!(chunks.iter().all(|c| c.len() == CHUNK));
        update_many(self.groups[lane / SIDE_BY_SIDE].each_mut(), chunks);
        self.pos += (SIDE_BY_SIDE * CHUNK) as u64;
    }

    /// The digest of the image fed.
    pub fn finalize(self) -> [u8; 32] {
        from_lanes(self.groups.into_iter().flatten())
    }
}

/// The digest of an image whose chunks were fed to `lanes` (all [`LANES`] of them, in order)
/// as [`ImageDigest`] feeds them.
pub fn from_lanes(lanes: impl IntoIterator<Item = Sha256>) -> [u8; 32] {
    let mut outer = sha2::Sha256::new();
    for lane in lanes {
        outer.update(lane.finalize());
    }
    outer.finalize().into()
}

/// The bytes of one of the digest's lanes: chunks `lane`, `lane + LANES`, ... of an image, in
/// order, read from the image and seeking over the other lanes' chunks.
pub struct Lane<R> {
    image: R,
    /// Which lane (below [`LANES`]).
    lane: u64,
    /// The position in the image.
    pos: u64,
    /// The image's length.
    image_len: u64,
    /// Whether `image` is at `pos`.
    placed: bool,
}

impl<R: Read + Seek> Lane<R> {
    /// Lane `lane` (below [`LANES`]) of `image`, `image_len` bytes long.
    pub fn new(image: R, image_len: u64, lane: usize) -> Lane<R> {
        debug_assert!(lane < LANES);
        Lane {
            image,
            lane: lane as u64,
            pos: 0,
            image_len,
            placed: false,
        }
    }

    /// The bytes of the lane.
    pub fn len(&self) -> u64 {
        let (chunk, lanes) = (CHUNK as u64, LANES as u64);
        let rounds = self.image_len / (lanes * chunk);
        let rest = self.image_len % (lanes * chunk);
        let in_rest = rest.saturating_sub(self.lane * chunk).min(chunk);
        rounds * chunk + in_rest
    }
}

impl<R: Read + Seek> Read for Lane<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let (chunk, lanes) = (CHUNK as u64, LANES as u64);
        let at = self.pos / chunk;
        if at % lanes != self.lane {
            // The start of this lane's next chunk.
            let next = at - at % lanes + self.lane;
            let next = if next < at { next + lanes } else { next };
            self.pos = next * chunk;
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

/// The [`ImageDigest`] of everything `input` yields, four chunks at a time side by side.
pub fn image_digest_of<R: Read>(mut input: R) -> io::Result<[u8; 32]> {
    let mut digest = ImageDigest::new();
    let mut buf = vec![0u8; SIDE_BY_SIDE * CHUNK];
    loop {
        let filled = read_fully(&mut input, &mut buf)?;
        if filled < buf.len() {
            digest.update(&buf[..filled]);
            return Ok(digest.finalize());
        }
        digest.update_chunks(std::array::from_fn(|i| &buf[i * CHUNK..(i + 1) * CHUNK]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The digest as its definition says, with `sha2` alone.
    fn by_definition(data: &[u8]) -> [u8; 32] {
        let mut lanes: [sha2::Sha256; LANES] = Default::default();
        for (i, chunk) in data.chunks(CHUNK).enumerate() {
            lanes[i % LANES].update(chunk);
        }
        let mut outer = sha2::Sha256::new();
        for lane in lanes {
            outer.update(lane.finalize());
        }
        outer.finalize().into()
    }

    /// An image of thirteen and a bit chunks, and the lengths of it tried: around chunk, group
    /// and round boundaries, and the whole.
    fn images() -> (Vec<u8>, [usize; 12]) {
        let data: Vec<u8> = (0..13 * CHUNK + 999)
            .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3])
            .collect();
        let whole = data.len();
        let lengths = [
            0,
            1,
            CHUNK - 1,
            CHUNK,
            CHUNK + 1,
            4 * CHUNK,
            4 * CHUNK + 63,
            5 * CHUNK - 1,
            8 * CHUNK,
            9 * CHUNK + 1,
            12 * CHUNK,
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
            assert_eq!(
                image_digest_of(image).unwrap(),
                want,
                "side by side, {len} bytes"
            );
            // A reader that hands out odd-sized pieces.
            let trickle = std::io::Read::chain(&image[..len / 3], &image[len / 3..]);
            assert_eq!(
                image_digest_of(trickle).unwrap(),
                want,
                "trickled, {len} bytes"
            );
            for step in [65_536, CHUNK + 7, 3 * CHUNK - 5] {
                let mut d = ImageDigest::new();
                for piece in image.chunks(step) {
                    d.update(piece);
                }
                assert_eq!(d.finalize(), want, "in pieces of {step}, {len} bytes");
            }
        }
        // The lanes are not interchangeable: swapping chunks changes the digest.
        let mut swapped = data[..LANES * CHUNK].to_vec();
        swapped[..2 * CHUNK].rotate_left(CHUNK);
        assert_ne!(
            image_digest_of(&swapped[..]).unwrap(),
            image_digest_of(&data[..LANES * CHUNK]).unwrap()
        );
    }

    #[test]
    fn the_lanes_read_apart_give_the_same_digest() {
        let (data, lengths) = images();
        for len in lengths {
            let image = &data[..len];
            // Read in pieces that do not divide a chunk, the last lane first.
            let mut hashed: Vec<Sha256> = (0..LANES)
                .rev()
                .map(|k| {
                    let mut lane = Lane::new(std::io::Cursor::new(image), len as u64, k);
                    let want_len = lane.len();
                    let (mut hash, mut buf) = (Sha256::new(), vec![0u8; 300_007]);
                    loop {
                        let n = lane.read(&mut buf).unwrap();
                        if n == 0 {
                            break;
                        }
                        hash.update(&buf[..n]);
                    }
                    assert_eq!(hash.len(), want_len, "{len} bytes, lane {k}");
                    hash
                })
                .collect();
            hashed.reverse();
            let lengths: u64 = hashed.iter().map(|h| h.len()).sum();
            assert_eq!(lengths, len as u64);
            assert_eq!(from_lanes(hashed), by_definition(image), "{len} bytes");
        }
        // An image shorter than its length says: an error, not a short lane.
        let mut lane = Lane::new(
            std::io::Cursor::new(&data[..CHUNK]),
            (LANES + 1) as u64 * CHUNK as u64,
            0,
        );
        let mut buf = vec![0u8; CHUNK];
        assert_eq!(lane.read(&mut buf).unwrap(), CHUNK);
        let err = lane.read(&mut buf).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
    }
}
