//! Lengthening an encoded bzip2 block by a few bits without changing what it decodes to.
//!
//! A splice copies the untouched blocks of a stream by reference (the source's bytes, moved by
//! the kernel) only when they keep their bit position modulo 8; the blocks encoded again in
//! their place must therefore end where the originals ended, modulo 8. The encoder decides
//! their length; this module adds the 0 to 7 missing bits.
//!
//! A block's header lists one Huffman-table selector per 50 symbols, each written as a unary
//! move-to-front index (`1`×n then `0`), preceded by their 15-bit count. A selector of index 0
//! costs one bit, and the decoders read every listed selector but use only as many as the
//! block has groups of 50 symbols: bzip2 1.0.8 says so in its decoder ("some implementations
//! might round up the number of selectors, so just ignore those"), the kernel's
//! `decompress_bunzip2.c` and pbz2 read them the same way. So `k` extra selectors of index 0
//! after the last make the block exactly `k` bits longer and decode to the same bytes.
//! The count stays within bzip2's 18,002 (`BZ_MAX_SELECTORS`), which older decoders enforce.
//!
//! No crate offers this: encoders choose their selectors themselves.

use super::bits::{BitSink, bits};

/// The most selectors any bzip2 decoder accepts (`BZ_MAX_SELECTORS`).
const MAX_SELECTORS: u64 = 18_002;

/// Where a block's selector count and list are, in bits from the block's magic.
struct Selectors {
    /// The bit where the 15-bit count starts.
    count_at: u64,
    /// The count.
    count: u64,
    /// The bit after the last selector.
    end: u64,
}

/// Reads the selector fields of the encoded block in bits `[0, len)` of `block`.
fn selectors(block: &[u8], len: u64) -> Option<Selectors> {
    // Magic (48), CRC (32), randomised (1), origin pointer (24).
    let mut at = 105u64;
    let used = bits(block, at, 16)?;
    at += 16 + 16 * u64::from(used.count_ones());
    let groups = bits(block, at, 3)?;
    if !(2..=6).contains(&groups) {
        return None;
    }
    at += 3;
    let count_at = at;
    let count = bits(block, at, 15)?;
    at += 15;
    for _ in 0..count {
        let mut index = 0;
        while bits(block, at, 1)? == 1 {
            at += 1;
            index += 1;
            if index >= groups {
                return None;
            }
        }
        at += 1;
    }
    (count > 0 && at <= len).then_some(Selectors {
        count_at,
        count,
        end: at,
    })
}

/// The encoded block in bits `[0, len)` of `block` with `extra` unused selectors added, and its
/// new length in bits; `None` when the block is not a well-formed block or the count would
/// pass what decoders accept.
pub(crate) fn with_extra_selectors(block: &[u8], len: u64, extra: u32) -> Option<(Vec<u8>, u64)> {
    let s = selectors(block, len)?;
    if s.count + u64::from(extra) > MAX_SELECTORS {
        return None;
    }
    let mut w = BitSink::new(Vec::with_capacity(block.len() + 1));
    w.copy(block, 0, s.count_at);
    w.put(s.count + u64::from(extra), 15);
    w.copy(block, s.count_at + 15, s.end);
    w.put(0, extra);
    w.copy(block, s.end, len);
    Some((w.finish().ok()?, len + u64::from(extra)))
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    /// A one-block stream of `data` and the block's bits `[0, len)` (from its magic) and CRC.
    fn one_block(data: &[u8]) -> (Vec<u8>, u64, u32) {
        let mut enc = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::best());
        enc.write_all(data).unwrap();
        let stream = enc.finish().unwrap();
        let crc = bits(&stream, 80, 32).unwrap() as u32;
        let total = stream.len() as u64 * 8;
        let eos = (0..8)
            .map(|pad| total - 80 - pad)
            .find(|&at| bits(&stream, at, 48) == Some(0x1772_4538_5090))
            .unwrap();
        let mut w = BitSink::new(Vec::new());
        w.copy(&stream, 32, eos);
        (w.finish().unwrap(), eos - 32, crc)
    }

    fn stream_of(block: &[u8], len: u64, crc: u32) -> Vec<u8> {
        let mut w = BitSink::new(Vec::new());
        w.put(u64::from(u32::from_be_bytes(*b"BZh9")), 32);
        w.copy(block, 0, len);
        w.put(0x1772_4538_5090, 48);
        w.put(u64::from(crc), 32);
        w.finish().unwrap()
    }

    #[test]
    fn extra_selectors_lengthen_a_block_and_decode_the_same() {
        let data: Vec<u8> = (0..200_000u32)
            .map(|i| (i % 253) as u8 ^ (i / 777) as u8)
            .collect();
        let (block, len, crc) = one_block(&data);
        for extra in 0..8u32 {
            let (longer, new_len) = with_extra_selectors(&block, len, extra).unwrap();
            assert_eq!(new_len, len + u64::from(extra));
            let stream = stream_of(&longer, new_len, crc);
            let mut out = Vec::new();
            bzip2::read::BzDecoder::new(&stream[..])
                .read_to_end(&mut out)
                .unwrap();
            assert_eq!(out, data, "libbzip2, {extra} extra");
            let mut out = Vec::new();
            pbz2::DecoderReader::new(&stream[..])
                .read_to_end(&mut out)
                .unwrap();
            assert_eq!(out, data, "pbz2, {extra} extra");
        }
    }

    #[test]
    fn refuses_what_is_not_a_block() {
        assert!(with_extra_selectors(&[0u8; 64], 512, 3).is_none());
        assert!(with_extra_selectors(&[], 0, 1).is_none());
    }
}
