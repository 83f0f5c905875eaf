//! SHA-256 of several streams at once. With the x86 SHA extensions one stream is bound by the
//! latency of its round instructions, not by their throughput: compressing a block of each of
//! two to four independent streams in the same loop keeps the unit busy and hashes 1.6 to 1.9
//! times as many bytes per second on one core as a stream alone. [`update_pair`] and
//! [`update_many`] do that for streams read side by side (the packages `verify` checks, the
//! lanes of an install.img's [image digest](crate::initrd)); [`Sha256::update`] feeds one
//! stream alone. Without the extensions (or on other CPUs) each block goes through `sha2`'s own
//! compression function.
//!
//! Written here because no maintained crate hashes several streams at once: `sha2` (used for
//! every other digest in isoremix, and here for its compression function) and `ring` take one
//! stream per call, so their speed per core is the single-stream latency bound.

use sha2::digest::generic_array::GenericArray;

const BLOCK: usize = 64;

/// The initial hash value (FIPS 180-4, 5.3.3).
const INITIAL: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// A SHA-256 digest being computed.
#[derive(Clone)]
pub struct Sha256 {
    state: [u32; 8],
    /// The bytes of an incomplete block, waiting for the rest of it.
    pending: [u8; BLOCK],
    held: usize,
    /// Bytes fed so far.
    len: u64,
}

impl Default for Sha256 {
    fn default() -> Self {
        Sha256 {
            state: INITIAL,
            pending: [0; BLOCK],
            held: 0,
            len: 0,
        }
    }
}

impl Sha256 {
    /// A digest of nothing yet.
    pub fn new() -> Sha256 {
        Sha256::default()
    }

    /// Bytes fed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was fed yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Feeds `data`.
    pub fn update(&mut self, data: &[u8]) {
        let rest = self.top_up(data);
        let whole = rest.len() / BLOCK * BLOCK;
        let [state] = compress([self.state], [&rest[..whole]]);
        self.state = state;
        self.hold(&rest[whole..]);
    }

    /// The digest of everything fed.
    pub fn finalize(mut self) -> [u8; 32] {
        let bits = self.len.wrapping_mul(8);
        let mut tail = [0u8; 2 * BLOCK];
        tail[..self.held].copy_from_slice(&self.pending[..self.held]);
        tail[self.held] = 0x80;
        let end = if self.held < BLOCK - 8 {
            BLOCK
        } else {
            2 * BLOCK
        };
        tail[end - 8..end].copy_from_slice(&bits.to_be_bytes());
        let [state] = compress([self.state], [&tail[..end]]);
        self.state = state;
        let mut out = [0u8; 32];
        for (word, bytes) in self.state.iter().zip(out.chunks_exact_mut(4)) {
            bytes.copy_from_slice(&word.to_be_bytes());
        }
        out
    }

    /// Completes the pending block from the start of `data` (compressing it when full) and
    /// returns the rest of `data`.
    fn top_up<'d>(&mut self, data: &'d [u8]) -> &'d [u8] {
        self.len += data.len() as u64;
        if self.held == 0 {
            return data;
        }
        let take = (BLOCK - self.held).min(data.len());
        self.pending[self.held..self.held + take].copy_from_slice(&data[..take]);
        self.held += take;
        if self.held == BLOCK {
            let [state] = compress([self.state], [&self.pending[..]]);
            self.state = state;
            self.held = 0;
        }
        &data[take..]
    }

    /// Keeps `tail` (less than a block, after [`Sha256::top_up`]) for the next update. An
    /// empty tail leaves the pending block as it is: `top_up` may have taken all the data
    /// without completing it.
    fn hold(&mut self, tail: &[u8]) {
        if tail.is_empty() {
            return;
        }
        debug_assert_eq!(self.held, 0);
        self.pending[..tail.len()].copy_from_slice(tail);
        self.held = tail.len();
    }
}

/// Feeds `da` to `a` and `db` to `b`, compressing the whole blocks of the two side by side.
pub fn update_pair(a: &mut Sha256, da: &[u8], b: &mut Sha256, db: &[u8]) {
    update_many([a, b], [da, db]);
}

/// Feeds `data[i]` to `hashes[i]`, compressing the whole blocks the streams have in common side
/// by side. On a Zen 4 core one stream hashes 1.8 GB/s, two 2.9, three 3.0 and four 3.4.
pub fn update_many<const N: usize>(hashes: [&mut Sha256; N], data: [&[u8]; N]) {
    let mut hashes = hashes;
    let mut rest = data;
    for (hash, d) in hashes.iter_mut().zip(rest.iter_mut()) {
        *d = hash.top_up(d);
    }
    let common = rest.iter().map(|d| d.len()).min().unwrap_or(0) / BLOCK * BLOCK;
    let states = compress::<N>(
        std::array::from_fn(|i| hashes[i].state),
        std::array::from_fn(|i| &rest[i][..common]),
    );
    for ((hash, state), d) in hashes.iter_mut().zip(states).zip(rest) {
        hash.state = state;
        let tail = &d[common..];
        let whole = tail.len() / BLOCK * BLOCK;
        let [state] = compress([hash.state], [&tail[..whole]]);
        hash.state = state;
        hash.hold(&tail[whole..]);
    }
}

/// Compresses the blocks of `data[i]` (all the same whole number of blocks) into `states[i]`.
fn compress<const N: usize>(states: [[u32; 8]; N], data: [&[u8]; N]) -> [[u32; 8]; N] {
    let blocks = data[0].len() / BLOCK;
    // Checked always: the fast path reads `blocks` blocks of every stream.
    assert!(data.iter().all(|d| d.len() == blocks * BLOCK));
    if blocks == 0 {
        return states;
    }
    #[cfg(target_arch = "x86_64")]
    if shani::available() {
        let mut states = states;
        // SAFETY: the CPU has the extensions `shani::compress` is compiled for, and each
        // `data[i]` holds `blocks` whole blocks.
        unsafe { shani::compress(&mut states, data, blocks) };
        return states;
    }
    portable(states, data)
}

/// [`compress`] without the SHA extensions: `sha2`'s compression function, block by block.
fn portable<const N: usize>(mut states: [[u32; 8]; N], data: [&[u8]; N]) -> [[u32; 8]; N] {
    for (state, bytes) in states.iter_mut().zip(data) {
        for block in bytes.chunks_exact(BLOCK) {
            sha2::compress256(state, std::slice::from_ref(GenericArray::from_slice(block)));
        }
    }
    states
}

/// The compression function on the x86 SHA extensions, for `N` streams at a time.
#[cfg(target_arch = "x86_64")]
mod shani {
    use std::arch::x86_64::*;

    /// The round constants (FIPS 180-4, 4.2.2).
    const K: [u32; 64] = [
        0x428a_2f98,
        0x7137_4491,
        0xb5c0_fbcf,
        0xe9b5_dba5,
        0x3956_c25b,
        0x59f1_11f1,
        0x923f_82a4,
        0xab1c_5ed5,
        0xd807_aa98,
        0x1283_5b01,
        0x2431_85be,
        0x550c_7dc3,
        0x72be_5d74,
        0x80de_b1fe,
        0x9bdc_06a7,
        0xc19b_f174,
        0xe49b_69c1,
        0xefbe_4786,
        0x0fc1_9dc6,
        0x240c_a1cc,
        0x2de9_2c6f,
        0x4a74_84aa,
        0x5cb0_a9dc,
        0x76f9_88da,
        0x983e_5152,
        0xa831_c66d,
        0xb003_27c8,
        0xbf59_7fc7,
        0xc6e0_0bf3,
        0xd5a7_9147,
        0x06ca_6351,
        0x1429_2967,
        0x27b7_0a85,
        0x2e1b_2138,
        0x4d2c_6dfc,
        0x5338_0d13,
        0x650a_7354,
        0x766a_0abb,
        0x81c2_c92e,
        0x9272_2c85,
        0xa2bf_e8a1,
        0xa81a_664b,
        0xc24b_8b70,
        0xc76c_51a3,
        0xd192_e819,
        0xd699_0624,
        0xf40e_3585,
        0x106a_a070,
        0x19a4_c116,
        0x1e37_6c08,
        0x2748_774c,
        0x34b0_bcb5,
        0x391c_0cb3,
        0x4ed8_aa4a,
        0x5b9c_ca4f,
        0x682e_6ff3,
        0x748f_82ee,
        0x78a5_636f,
        0x84c8_7814,
        0x8cc7_0208,
        0x90be_fffa,
        0xa450_6ceb,
        0xbef9_a3f7,
        0xc671_78f2,
    ];

    /// Whether this CPU has the SHA extensions and the SSE levels the code uses (the answer is
    /// cached by the standard library).
    pub fn available() -> bool {
        is_x86_feature_detected!("sha")
            && is_x86_feature_detected!("ssse3")
            && is_x86_feature_detected!("sse4.1")
    }

    /// Compresses `blocks` blocks of each `data[i]` into `states[i]`, the streams' rounds
    /// interleaved.
    ///
    /// # Safety
    /// The CPU must have SHA, SSSE3 and SSE4.1 ([`available`]), and each `data[i]` must hold at
    /// least `blocks * 64` bytes.
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    pub unsafe fn compress<const N: usize>(
        states: &mut [[u32; 8]; N],
        data: [&[u8]; N],
        blocks: usize,
    ) {
        // The rounds instruction keeps the state as two halves, (A, B, E, F) and (C, D, G, H).
        let mut abef = [_mm_setzero_si128(); N];
        let mut cdgh = [_mm_setzero_si128(); N];
        for (i, state) in states.iter().enumerate() {
            let words = state.as_ptr().cast::<__m128i>();
            // SAFETY: a state is 8 words, read as two unaligned vectors.
            let (dcba, hgfe) = unsafe { (_mm_loadu_si128(words), _mm_loadu_si128(words.add(1))) };
            let cdab = _mm_shuffle_epi32(dcba, 0xb1);
            let efgh = _mm_shuffle_epi32(hgfe, 0x1b);
            abef[i] = _mm_alignr_epi8(cdab, efgh, 8);
            cdgh[i] = _mm_blend_epi16(efgh, cdab, 0xf0);
        }
        for block in 0..blocks {
            let start = (abef, cdgh);
            // SAFETY: each stream has `blocks` blocks.
            let input: [*const u8; N] =
                std::array::from_fn(|i| unsafe { data[i].as_ptr().add(block * 64) });
            // The message schedule, four words to a vector, the last four vectors kept.
            let mut w = [[_mm_setzero_si128(); 4]; N];
            // SAFETY: the inputs hold a whole block each.
            unsafe {
                rounds::<N, 0>(&mut abef, &mut cdgh, &mut w, &input);
                rounds::<N, 1>(&mut abef, &mut cdgh, &mut w, &input);
                rounds::<N, 2>(&mut abef, &mut cdgh, &mut w, &input);
                rounds::<N, 3>(&mut abef, &mut cdgh, &mut w, &input);
                rounds::<N, 4>(&mut abef, &mut cdgh, &mut w, &input);
                rounds::<N, 5>(&mut abef, &mut cdgh, &mut w, &input);
                rounds::<N, 6>(&mut abef, &mut cdgh, &mut w, &input);
                rounds::<N, 7>(&mut abef, &mut cdgh, &mut w, &input);
                rounds::<N, 8>(&mut abef, &mut cdgh, &mut w, &input);
                rounds::<N, 9>(&mut abef, &mut cdgh, &mut w, &input);
                rounds::<N, 10>(&mut abef, &mut cdgh, &mut w, &input);
                rounds::<N, 11>(&mut abef, &mut cdgh, &mut w, &input);
                rounds::<N, 12>(&mut abef, &mut cdgh, &mut w, &input);
                rounds::<N, 13>(&mut abef, &mut cdgh, &mut w, &input);
                rounds::<N, 14>(&mut abef, &mut cdgh, &mut w, &input);
                rounds::<N, 15>(&mut abef, &mut cdgh, &mut w, &input);
            }
            for i in 0..N {
                abef[i] = _mm_add_epi32(abef[i], start.0[i]);
                cdgh[i] = _mm_add_epi32(cdgh[i], start.1[i]);
            }
        }
        for (i, state) in states.iter_mut().enumerate() {
            let feba = _mm_shuffle_epi32(abef[i], 0x1b);
            let dchg = _mm_shuffle_epi32(cdgh[i], 0xb1);
            let words = state.as_mut_ptr().cast::<__m128i>();
            // SAFETY: a state is 8 words, written as two unaligned vectors.
            unsafe {
                _mm_storeu_si128(words, _mm_blend_epi16(feba, dchg, 0xf0));
                _mm_storeu_si128(words.add(1), _mm_alignr_epi8(dchg, feba, 8));
            }
        }
    }

    /// Rounds `4 * G` to `4 * G + 3` of each stream: its next four message words (read from the
    /// block for the first four groups, scheduled from the last sixteen words after), then two
    /// double rounds. `G` being a constant, the schedule's vector indexes are constants too and
    /// the whole block is straight-line code.
    ///
    /// # Safety
    /// As [`compress`]; each `input[i]` points at a whole block.
    #[inline(always)]
    unsafe fn rounds<const N: usize, const G: usize>(
        abef: &mut [__m128i; N],
        cdgh: &mut [__m128i; N],
        w: &mut [[__m128i; 4]; N],
        input: &[*const u8; N],
    ) {
        // SAFETY: inlined into `compress` only, which has the target features these need; the
        // loads stay within `K` and within each stream's block (see below).
        unsafe {
            let byte_order = _mm_set_epi64x(0x0c0d_0e0f_0809_0a0b, 0x0405_0607_0001_0203);
            // `K` has 64 words; group `G` < 16 reads four of them.
            let k = _mm_loadu_si128(K.as_ptr().add(4 * G).cast());
            for i in 0..N {
                let w = &mut w[i];
                // More than two streams: their message schedules live in memory (volatile reads
                // and writes of `w`, which the compiler cannot move into registers), so that
                // the registers hold the states and what one round needs. Left to the
                // compiler, four streams' schedules are spilled differently from one build to
                // the next (3.9 GB/s in one build, 2.6 in another, from the same source); kept
                // in memory they hash 3.4 GB/s in every build. `w` is a valid, aligned array.
                let get = |w: &[__m128i; 4], j: usize| {
                    if N > 2 {
                        std::ptr::read_volatile(&w[j])
                    } else {
                        w[j]
                    }
                };
                let next = if G < 4 {
                    // The block has 64 bytes; this reads bytes 16 G to 16 G + 15.
                    let raw = _mm_loadu_si128(input[i].add(16 * G).cast());
                    _mm_shuffle_epi8(raw, byte_order)
                } else {
                    // W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16], four words at once.
                    let s0 = _mm_sha256msg1_epu32(get(w, G % 4), get(w, (G + 1) % 4));
                    let t7 = _mm_alignr_epi8(get(w, (G + 3) % 4), get(w, (G + 2) % 4), 4);
                    _mm_sha256msg2_epu32(_mm_add_epi32(s0, t7), get(w, (G + 3) % 4))
                };
                if N > 2 {
                    std::ptr::write_volatile(&mut w[G % 4], next);
                } else {
                    w[G % 4] = next;
                }
                let wk = _mm_add_epi32(next, k);
                cdgh[i] = _mm_sha256rnds2_epu32(cdgh[i], abef[i], wk);
                abef[i] = _mm_sha256rnds2_epu32(abef[i], cdgh[i], _mm_shuffle_epi32(wk, 0x0e));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    fn bytes(len: usize, seed: u32) -> Vec<u8> {
        let mut x = seed.wrapping_mul(2_654_435_761) | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect()
    }

    #[test]
    fn agrees_with_sha2_whatever_the_lengths_and_the_pieces() {
        // Lengths around the block and padding boundaries, fed in pieces of awkward sizes,
        // two streams side by side (their pieces of different lengths) and alone.
        let lengths = [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 1000, 4096, 70_001];
        for (n, &la) in lengths.iter().enumerate() {
            let lb = lengths[(n * 5 + 3) % lengths.len()];
            let (a, b) = (bytes(la, n as u32), bytes(lb, 100 + n as u32));
            for piece in [1, 7, 64, 100, 4096, 100_000] {
                let (mut ha, mut hb, mut alone) = (Sha256::new(), Sha256::new(), Sha256::new());
                let (mut pa, mut pb) = (a.chunks(piece), b.chunks(piece + 3));
                loop {
                    match (pa.next(), pb.next()) {
                        (None, None) => break,
                        (x, y) => update_pair(&mut ha, x.unwrap_or(&[]), &mut hb, y.unwrap_or(&[])),
                    }
                }
                for p in a.chunks(piece) {
                    alone.update(p);
                }
                let want_a: [u8; 32] = sha2::Sha256::digest(&a).into();
                let want_b: [u8; 32] = sha2::Sha256::digest(&b).into();
                assert_eq!((ha.len(), hb.len()), (la as u64, lb as u64));
                assert_eq!((ha.is_empty(), hb.is_empty()), (la == 0, lb == 0));
                assert_eq!(ha.finalize(), want_a, "len {la}, pieces of {piece}");
                assert_eq!(hb.finalize(), want_b, "len {lb}, pieces of {}", piece + 3);
                assert_eq!(
                    alone.finalize(),
                    want_a,
                    "len {la} alone, pieces of {piece}"
                );
            }
        }
    }

    #[test]
    fn four_streams_of_different_lengths_agree_with_sha2() {
        let lengths = [0, 63, 64, 65, 1000, 4096, 70_001, 120];
        for shift in 0..lengths.len() {
            let data: Vec<Vec<u8>> = (0..4)
                .map(|i| {
                    bytes(
                        lengths[(shift + i * 3) % lengths.len()],
                        (shift * 4 + i) as u32,
                    )
                })
                .collect();
            for piece in [1, 64, 100, 4096] {
                let mut hashes: [Sha256; 4] = Default::default();
                let mut pieces: Vec<_> = data.iter().map(|d| d.chunks(piece + 1)).collect();
                loop {
                    let next: Vec<&[u8]> =
                        pieces.iter_mut().map(|p| p.next().unwrap_or(&[])).collect();
                    if next.iter().all(|n| n.is_empty()) {
                        break;
                    }
                    let [h0, h1, h2, h3] = &mut hashes;
                    update_many([h0, h1, h2, h3], [next[0], next[1], next[2], next[3]]);
                }
                for (hash, d) in hashes.into_iter().zip(&data) {
                    let want: [u8; 32] = sha2::Sha256::digest(d).into();
                    assert_eq!(
                        hash.finalize(),
                        want,
                        "{} bytes in pieces of {}",
                        d.len(),
                        piece + 1
                    );
                }
            }
        }
    }

    #[test]
    fn both_block_functions_agree_one_stream_or_several() {
        let data: Vec<Vec<u8>> = (0..3).map(|n| bytes(64 * 9, 7 + n)).collect();
        let one = portable([INITIAL], [&data[0][..]]);
        let three = portable([INITIAL; 3], [&data[0][..], &data[1][..], &data[2][..]]);
        assert_eq!(one[0], three[0]);
        // The one this CPU runs (the SHA extensions where it has them), alone and side by side.
        assert_eq!(compress([INITIAL], [&data[0][..]]), one);
        assert_eq!(
            compress([INITIAL; 3], [&data[0][..], &data[1][..], &data[2][..]]),
            three
        );
        assert_eq!(
            compress([INITIAL; 2], [&data[1][..], &data[2][..]]),
            [three[1], three[2]]
        );
    }
}
