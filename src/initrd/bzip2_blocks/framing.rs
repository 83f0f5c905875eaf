//! The framing check of a bzip2 stream: header, block headers, end marker and the combined CRC,
//! found by the block scanner without decoding anything.

use std::io::{self, BufRead};

use super::{Scanner, corrupt};

/// What [`check_framing`] found in a bzip2 stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Framing {
    /// The level digit of the header (block size in 100 kB).
    pub level: u8,
    /// Blocks in the stream.
    pub blocks: u64,
    /// Bytes of the stream, the end marker's padding included.
    pub len: u64,
}

/// The combined CRC of a stream made of blocks with these CRCs.
pub(super) fn combine(crcs: impl IntoIterator<Item = u32>) -> u32 {
    crcs.into_iter().fold(0, |c, b| c.rotate_left(1) ^ b)
}

/// Whether leaving out one of `crcs` but the first gives the combined CRC `want`; linear.
pub(super) fn combines_without_one(crcs: &[u32], want: u32) -> bool {
    let n = crcs.len();
    let turn = |c: u32, by: usize| c.rotate_left((by % 32) as u32);
    // after[j]: what the blocks from j on contribute to the combined CRC of all n blocks.
    let mut after = vec![0u32; n + 1];
    for i in (0..n).rev() {
        after[i] = after[i + 1] ^ turn(crcs[i], n - 1 - i);
    }
    // Without block j, the blocks before it turn once less; those after it are unchanged.
    let mut before = 0u32;
    for (j, &crc) in crcs.iter().enumerate() {
        if j > 0 && turn(before, n - 1 - j) ^ after[j + 1] == want {
            return true;
        }
        before = before.rotate_left(1) ^ crc;
    }
    false
}

/// Checks the framing of the bzip2 stream at the start of `input` without decoding it: the
/// header (`BZh1` to `BZh9`), every block header the scanner finds (origin pointer inside the
/// block size, some byte values in use), the end-of-stream marker, and the combined CRC against
/// the block CRCs. Costs one scan of the compressed bytes; leaves `input` right after the stream.
///
/// The block magic may occur by chance inside a block's data (the decoder then joins the two
/// pieces): a magic whose header is impossible is taken for such a false cut, and when the CRCs
/// disagree, leaving out any one later magic that makes them agree is accepted too. Damage
/// inside a block's Huffman data is not seen here: only decoding finds it.
pub fn check_framing<R: BufRead>(input: R) -> io::Result<Framing> {
    let mut scan = Scanner::new(input);
    let mut crcs = Vec::new();
    let mut odd = Vec::new();
    while let Some(piece) = scan.next_piece(false)? {
        match piece.header.problem(scan.level) {
            // The first block follows the header: no false cut can be there.
            Some(why) if !crcs.is_empty() => odd.push((piece.index, piece.header.offset, why)),
            Some(why) => {
                return Err(corrupt(format!(
                    "bzip2 block 0 at byte {}: {why}",
                    piece.header.offset / 8
                )));
            }
            None => crcs.push(piece.crc),
        }
    }
    let len = scan.consumed;
    let framing = Framing {
        level: scan.level,
        blocks: crcs.len() as u64,
        len,
    };
    let want = scan.stream_crc;
    let got = combine(crcs.iter().copied());
    if got == want {
        return Ok(framing);
    }
    if combines_without_one(&crcs, want) {
        return Ok(Framing {
            blocks: framing.blocks - 1,
            ..framing
        });
    }
    let mut msg = format!(
        "bzip2 combined CRC mismatch: the end marker says {want:08x}, the CRCs of the {} blocks give {got:08x}",
        crcs.len()
    );
    for (index, offset, why) in odd.iter().take(3) {
        msg.push_str(&format!(
            "; block magic {index} at byte {}: {why}",
            offset / 8
        ));
    }
    Err(corrupt(msg))
}
