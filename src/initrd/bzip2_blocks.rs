//! Block-parallel decoding of one bzip2 stream.
//!
//! A bzip2 stream is `BZh` and a level digit, then blocks, each starting with the 48-bit magic
//! `0x314159265359` followed by the block's CRC, then the end-of-stream marker `0x177245385090`
//! followed by the combined CRC (each block CRC folded in with a one-bit rotation), padded to a
//! byte. Blocks are bit-aligned, not byte-aligned, and their length is only known by decoding
//! them, so the calling thread finds the magics with pbz2's [`pbz2_core::Scanner`] (fed each
//! input byte once), cuts the stream there, and worker threads decode each block in place from
//! its bit range with [`decode_block_into`]. Output is yielded in block order, so the bytes are
//! exactly those of a sequential decode.
//!
//! Checks: every block's CRC is verified as its output is read out, and a block must end right
//! at the magic after it; the combined CRC after the end marker is compared with the one
//! computed from the blocks decoded. The magic may also occur by chance inside a block's Huffman
//! data; such a false cut makes the block fail to decode, and the block is then decoded again
//! joined with the next piece.
//!
//! Ours, not pbz2's: the CRC fold (pbz2's is private; it is one line) and the stream bookkeeping.
//! pbz2's `StreamChecker` checks a block only from its decoded `BlockOutput`, but
//! [`check_framing`] decodes nothing and must name the block and byte of a bad magic, and keep
//! accepting one false cut whose header looks valid; so one scanner of ours, built on pbz2's
//! magic finder, serves both the decoder and the framing check with the same messages.
//!
//! The input is consumed exactly up to the last byte of the stream (found from the end marker),
//! so the caller can read what follows. Memory: at most [`IN_FLIGHT_PER_THREAD`] blocks per worker
//! are in flight, each holding its compressed bits (at most about 1 MB for level 9) and its output;
//! each worker keeps one decoding scratch space (about 4.6 MB); a block whose output exceeds
//! [`MAX_BLOCK_OUTPUT`] (long runs expand a lot) is not kept by the worker but decoded again by
//! the reader and read out of its scratch space as the caller reads. At most
//! [`MAX_BLOCK_THREADS`] workers run, whatever the threads asked for, so what the decoder holds
//! does not grow with the machine: about 8 MB a worker on install.img's blocks (measured), and
//! at most the scratch space and two blocks of about 1 MB in and [`MAX_BLOCK_OUTPUT`] out each,
//! some 90 MB for six workers whatever the stream holds.

use std::collections::VecDeque;
use std::io::{self, BufRead, Read};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use pbz2::pbz2_core::{
    self, Backend, BlockOutput, Level, Marker, MarkerKind, decode_block_into, decode_scratch_words,
    native,
};

use super::bits::bits;

/// Blocks in flight per worker thread.
pub const IN_FLIGHT_PER_THREAD: usize = 2;
/// The most threads that decode (or encode) blocks of one stream at once: each holds a block's
/// scratch space and blocks in flight, so more would grow the peak memory with the machine's
/// cores. A worker decodes about 125 MB/s of output (measured on install.img), so six give
/// some 750 MB/s, more than the rest of a build consumes.
pub const MAX_BLOCK_THREADS: usize = 6;
/// Largest block output a worker keeps in memory. install.img's blocks decode to about 1 MB
/// (the benchmark's 619 blocks: median 1.0 MB, 99th percentile 1.4 MB, two above 4 MiB), so
/// hardly any is decoded twice, and the blocks in flight stay a small part of the memory ceiling.
pub const MAX_BLOCK_OUTPUT: usize = 4 << 20;
/// Largest compressed block accepted (a level-9 block is at most about 1 MB; a corrupt stream
/// without magics must not make the reader buffer everything).
const MAX_BLOCK_INPUT: usize = 4 << 20;
/// Input bytes the scanner takes at a time, however many the input has buffered (a slice has
/// all of them): cutting a block off moves what follows it to the front of the scanner's
/// buffer, so that buffer must hold about a block, never the rest of the stream (which would
/// make the cost grow with the square of the stream's length).
const FILL_BYTES: usize = 256 << 10;
/// The level blocks are decoded at: the largest block size, so any block fits (the same
/// scratch serves every stream).
const DECODE_LEVEL: Level = Level::BEST;

fn corrupt(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

/// Scratch space for decoding one block.
fn scratch() -> Vec<u32> {
    vec![0; decode_scratch_words(DECODE_LEVEL)]
}

/// The compressed bits of one block (or of a block joined with the piece after a false cut).
struct Piece {
    /// Bytes holding the bits.
    bytes: Vec<u8>,
    /// Bit offset of the block's magic in `bytes`.
    start: u64,
    /// Bit offset in `bytes` of the magic after the block.
    end: u64,
    /// The block CRC (the 32 bits after the magic).
    crc: u32,
    /// Index of the block in the stream, for messages.
    index: u64,
    /// The fields after the CRC.
    header: BlockHeader,
}

/// The fixed fields of a block header after its CRC.
#[derive(Debug, Clone, Copy)]
struct BlockHeader {
    /// Bit offset of the block's magic in the input.
    offset: u64,
    /// Where the BWT's original string starts: less than the block size.
    orig_ptr: u32,
    /// Which 16-byte ranges of byte values the block uses: at least one.
    used: u16,
}

impl BlockHeader {
    /// What is wrong with the header of a block of a stream of `level`, if anything.
    fn problem(&self, level: u8) -> Option<String> {
        let size = u32::from(level) * 100_000;
        if self.orig_ptr >= size {
            Some(format!(
                "origin pointer {} not below the block size {size}",
                self.orig_ptr
            ))
        } else if self.used == 0 {
            Some("no byte values in use".into())
        } else {
            None
        }
    }
}

impl Piece {
    /// This piece followed by `next`, which starts where this one ends: `next`'s bytes begin
    /// with the byte holding this piece's end bit.
    fn join(mut self, next: Piece) -> Piece {
        let keep = self.end / 8;
        self.bytes.truncate(keep as usize);
        self.bytes.extend_from_slice(&next.bytes);
        self.end = keep * 8 + next.end;
        self
    }

    /// Decodes the block in place; it must end right at the magic after it.
    ///
    /// pbz2's [`native`] backend is chosen by the build target, and for baseline x86-64 that is
    /// its scalar code. Where the CPU has SSE4.2 (which pbz2's own stream decoder checks at run
    /// time too), the vectorized backend decodes instead: install.img decodes in about a
    /// quarter less time. Every backend gives the same output and the same errors.
    fn decode(&self, scratch: &mut [u32]) -> Result<BlockOutput, pbz2_core::Error> {
        #[cfg(all(target_arch = "x86_64", not(target_feature = "sse4.2")))]
        if let Some(token) = pbz2_core::fearless_simd::Level::new().as_sse4_2() {
            return self.decode_with(pbz2_core::Vectorized(token), scratch);
        }
        self.decode_with(native(), scratch)
    }

    /// [`Piece::decode`] with the given backend.
    fn decode_with<B: Backend>(
        &self,
        backend: B,
        scratch: &mut [u32],
    ) -> Result<BlockOutput, pbz2_core::Error> {
        let out = decode_block_into(
            backend,
            &self.bytes,
            self.start,
            self.end,
            DECODE_LEVEL,
            scratch,
        )?;
        if out.end_bit() != self.end {
            // Not followed by a magic: what pbz2's stream checker says of such a block.
            return Err(pbz2_core::Error::BadBlockMagic);
        }
        Ok(out)
    }
}

/// A worker's answer for one piece.
enum Decoded {
    /// The whole output.
    Data(Vec<u8>),
    /// The output is larger than [`MAX_BLOCK_OUTPUT`]: decode it again and read it out of the
    /// scratch space.
    Large,
    /// The block decoder refused the block.
    Failed(pbz2_core::Error),
}

/// Decodes a piece into memory, up to `limit` bytes of output, checking its CRC.
fn decode_piece(piece: &Piece, limit: usize, scratch: &mut [u32]) -> Decoded {
    let mut block = match piece.decode(scratch) {
        Ok(block) => block,
        Err(e) => return Decoded::Failed(e),
    };
    let mut out = Vec::new();
    loop {
        let at = out.len();
        if at > limit {
            return Decoded::Large;
        }
        out.resize(at + (limit + 1 - at).min(1 << 20), 0);
        let n = block.read(scratch, &mut out[at..]);
        out.truncate(at + n);
        if n == 0 {
            break;
        }
    }
    match block.finish() {
        Ok(_) => Decoded::Data(out),
        Err(e) => Decoded::Failed(e),
    }
}

struct Job {
    piece: Piece,
    reply: mpsc::SyncSender<(Piece, Decoded)>,
}

/// Output of the block being read out.
enum Current {
    None,
    Buffer(Vec<u8>, usize),
    /// A block too large for memory, read out of its own scratch space.
    Block {
        block: BlockOutput,
        scratch: Vec<u32>,
        index: u64,
    },
}

/// Where the scan of the input is.
enum Scan {
    /// The header is not read yet.
    Header,
    /// A magic of this kind starts at bit `at` of `raw`.
    At(MarkerKind, u64),
    /// The end marker and CRC were read.
    Ended,
}

/// Cuts one bzip2 stream at its magics, without decoding: the header, then each block's bits and
/// CRC, then the end marker and the combined CRC. Shared by [`ParallelBzDecoder`] and
/// [`check_framing`].
struct Scanner<R: BufRead> {
    input: R,
    /// Compressed bytes from the start of the current block on.
    raw: Vec<u8>,
    /// Input offset of `raw[0]`.
    raw_base: u64,
    /// Input offset up to which the input was consumed (what follows is in its buffer only).
    consumed: u64,
    /// The most bytes `raw` held.
    #[cfg(test)]
    peak_raw: usize,
    /// pbz2's magic finder, fed every byte read once.
    markers: pbz2_core::Scanner,
    /// Magics found and not yet passed, at bit offsets from the stream's first byte.
    found: VecDeque<Marker>,
    scan: Scan,
    /// The level digit of the header (`1` to `9`).
    level: u8,
    blocks: u64,
    /// The combined CRC the end marker carries, once read.
    stream_crc: u32,
    /// Bit offset of the end-of-stream marker, once read.
    eos_bit: u64,
}

/// Where one block of a decoded stream lies, as [`ParallelBzDecoder::blocks`] records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockRecord {
    /// Bit offset of the block's magic from the stream's first byte.
    pub start_bit: u64,
    /// The block's CRC (the 32 bits after the magic).
    pub crc: u32,
    /// Bytes the block decodes to.
    pub out_len: u64,
}

/// A reader decoding one bzip2 stream with worker threads; see the module documentation.
pub struct ParallelBzDecoder<R: BufRead> {
    scanner: Scanner<R>,
    combined: u32,
    jobs: Option<mpsc::Sender<Job>>,
    pending: VecDeque<mpsc::Receiver<(Piece, Decoded)>>,
    max_pending: usize,
    current: Current,
    limit: usize,
    failed: bool,
    records: Vec<BlockRecord>,
}

impl<R: BufRead> ParallelBzDecoder<R> {
    /// A decoder of the bzip2 stream starting at the current position of `input`, using
    /// `threads` worker threads (at least 1, at most [`MAX_BLOCK_THREADS`]).
    pub fn new(input: R, threads: usize) -> Self {
        Self::with_limit(input, threads, MAX_BLOCK_OUTPUT)
    }

    /// As [`ParallelBzDecoder::new`], with the largest block output kept in memory.
    fn with_limit(input: R, threads: usize, limit: usize) -> Self {
        let threads = threads.clamp(1, MAX_BLOCK_THREADS);
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..threads {
            let rx = Arc::clone(&rx);
            std::thread::spawn(move || {
                let mut scratch = scratch();
                loop {
                    let job = match rx.lock() {
                        Ok(r) => r.recv(),
                        Err(_) => return,
                    };
                    let Ok(job) = job else { return };
                    let decoded = decode_piece(&job.piece, limit, &mut scratch);
                    // The reader may be gone (dropped after an error): nothing to do then.
                    let _ = job.reply.send((job.piece, decoded));
                }
            });
        }
        ParallelBzDecoder {
            scanner: Scanner::new(input),
            combined: 0,
            jobs: Some(tx),
            pending: VecDeque::new(),
            max_pending: threads * IN_FLIGHT_PER_THREAD,
            current: Current::None,
            limit,
            failed: false,
            records: Vec::new(),
        }
    }

    /// The blocks decoded so far, in stream order (false cuts joined).
    pub fn blocks(&self) -> &[BlockRecord] {
        &self.records
    }

    /// The level digit of the stream's header (block size in 100 kB); 0 before it is read.
    pub fn level(&self) -> u8 {
        self.scanner.level
    }

    /// Bit offset of the end-of-stream marker from the stream's first byte, once the decoder
    /// reported the end.
    pub fn end_bit(&self) -> u64 {
        self.scanner.eos_bit
    }

    /// The input (read ahead of the output by the blocks in flight).
    pub fn get_ref(&self) -> &R {
        &self.scanner.input
    }

    /// Gives back the input, positioned after the stream once the decoder reported its end.
    pub fn into_inner(self) -> R {
        self.scanner.input
    }
}

impl<R: BufRead> Scanner<R> {
    fn new(input: R) -> Self {
        Scanner {
            input,
            raw: Vec::new(),
            raw_base: 0,
            consumed: 0,
            #[cfg(test)]
            peak_raw: 0,
            markers: pbz2_core::Scanner::new(),
            found: VecDeque::new(),
            scan: Scan::Header,
            level: 0,
            blocks: 0,
            stream_crc: 0,
            eos_bit: 0,
        }
    }

    /// Hands the consumed part of `raw`'s tail to the input and appends the next input bytes
    /// (at most [`FILL_BYTES`]); false at the end of the input.
    fn fill(&mut self) -> io::Result<bool> {
        let fetched = self.raw_base + self.raw.len() as u64;
        self.input.consume((fetched - self.consumed) as usize);
        self.consumed = fetched;
        let buf = self.input.fill_buf()?;
        if buf.is_empty() {
            return Ok(false);
        }
        let buf = &buf[..buf.len().min(FILL_BYTES)];
        self.raw.extend_from_slice(buf);
        #[cfg(test)]
        {
            self.peak_raw = self.peak_raw.max(self.raw.len());
        }
        let found = &mut self.found;
        self.markers.scan(native(), buf, |m| found.push_back(m));
        Ok(true)
    }

    /// Makes `raw` hold at least `n` bytes; false when the input ends first.
    fn want(&mut self, n: usize) -> io::Result<bool> {
        while self.raw.len() < n {
            if !self.fill()? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Forgets the first `n` bytes of `raw`.
    fn drop_front(&mut self, n: usize) {
        let n = n.min(self.raw.len());
        self.raw.drain(..n);
        self.raw_base += n as u64;
    }

    fn read_header(&mut self) -> io::Result<()> {
        if !self.want(4)? {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "bzip2 stream truncated in its header",
            ));
        }
        match self.raw.get(..4) {
            Some(&[b'B', b'Z', b'h', level @ b'1'..=b'9']) => self.level = level - b'0',
            _ => return Err(corrupt("not a bzip2 stream header (BZh1 to BZh9)")),
        }
        self.drop_front(4);
        if !self.want(8)? {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "bzip2 stream truncated after its header",
            ));
        }
        // The scanner has seen the 48 bits after the header: a magic must start there.
        while self.found.front().is_some_and(|m| m.bit < 32) {
            self.found.pop_front();
        }
        match self.found.pop_front() {
            Some(m) if m.bit == 32 => self.scan = Scan::At(m.kind, 0),
            _ => return Err(corrupt("bzip2 stream: no block after the header")),
        }
        Ok(())
    }

    /// The next magic at or after bit `from` of `raw`, reading more input as needed.
    fn find_magic(&mut self, from: u64) -> io::Result<(MarkerKind, u64)> {
        loop {
            let base = self.raw_base * 8;
            while let Some(m) = self.found.pop_front() {
                if m.bit >= base + from {
                    return Ok((m.kind, m.bit - base));
                }
            }
            if self.raw.len() > MAX_BLOCK_INPUT {
                return Err(corrupt(format!(
                    "bzip2 block {} longer than {MAX_BLOCK_INPUT} bytes: not a bzip2 stream",
                    self.blocks
                )));
            }
            if !self.fill()? {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "bzip2 stream truncated in block {} (no end-of-stream marker)",
                        self.blocks
                    ),
                ));
            }
        }
    }

    /// Cuts the next block off the input and returns it (its bytes only if `keep`); `None` once
    /// the end marker is read.
    fn next_piece(&mut self, keep: bool) -> io::Result<Option<Piece>> {
        if let Scan::Header = self.scan {
            self.read_header()?;
        }
        let at = match self.scan {
            Scan::At(MarkerKind::Block, at) => at,
            Scan::At(MarkerKind::End, at) => {
                self.read_end(at)?;
                return Ok(None);
            }
            _ => return Ok(None),
        };
        // The magic, the CRC and the block header fields up to the first symbol map (122 bits).
        if !self.want((at as usize) / 8 + 17)? {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("bzip2 stream truncated in block {}", self.blocks),
            ));
        }
        let crc = bits(&self.raw, at + 48, 32).unwrap_or(0) as u32;
        let header = BlockHeader {
            offset: self.raw_base * 8 + at,
            orig_ptr: bits(&self.raw, at + 81, 24).unwrap_or(0) as u32,
            used: bits(&self.raw, at + 105, 16).unwrap_or(0) as u16,
        };
        let (magic, next) = self.find_magic(at + 80)?;
        let end_byte = next.div_ceil(8) as usize;
        let bytes = if keep {
            self.raw.get(..end_byte).unwrap_or(&self.raw).to_vec()
        } else {
            Vec::new()
        };
        let piece = Piece {
            bytes,
            start: at,
            end: next,
            crc,
            index: self.blocks,
            header,
        };
        self.blocks += 1;
        let drop_bytes = (next / 8) as usize;
        self.drop_front(drop_bytes);
        self.scan = Scan::At(magic, next % 8);
        Ok(Some(piece))
    }

    /// Reads the combined CRC after the end marker at bit `at` and consumes the input up to the
    /// stream's last byte.
    fn read_end(&mut self, at: u64) -> io::Result<()> {
        let end = (at + 80).div_ceil(8) as usize;
        if !self.want(end)? {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "bzip2 stream truncated in its end marker",
            ));
        }
        self.stream_crc = bits(&self.raw, at + 48, 32).unwrap_or(0) as u32;
        self.eos_bit = self.raw_base * 8 + at;
        // The bytes of `raw` after `end` are still in the input's buffer: leave them there.
        let end = self.raw_base + end as u64;
        self.input
            .consume(end.saturating_sub(self.consumed) as usize);
        self.consumed = end;
        self.raw_base = end;
        self.raw.clear();
        self.scan = Scan::Ended;
        Ok(())
    }
}

impl<R: BufRead> ParallelBzDecoder<R> {
    /// Sends pieces to the workers until enough are in flight or the stream is cut entirely.
    fn submit(&mut self) -> io::Result<()> {
        while self.pending.len() < self.max_pending {
            let Some(piece) = self.scanner.next_piece(true)? else {
                return Ok(());
            };
            let (reply, rx) = mpsc::sync_channel(1);
            let sent = self
                .jobs
                .as_ref()
                .is_some_and(|j| j.send(Job { piece, reply }).is_ok());
            if !sent {
                return Err(io::Error::other("a bzip2 decoding thread stopped"));
            }
            self.pending.push_back(rx);
        }
        Ok(())
    }

    fn receive(rx: mpsc::Receiver<(Piece, Decoded)>) -> io::Result<(Piece, Decoded)> {
        rx.recv()
            .map_err(|_| io::Error::other("a bzip2 decoding thread stopped"))
    }

    /// Makes the next block's output current; false at the end of the stream.
    fn next_block(&mut self) -> io::Result<bool> {
        self.submit()?;
        let Some(rx) = self.pending.pop_front() else {
            if self.combined != self.scanner.stream_crc {
                return Err(corrupt(format!(
                    "bzip2 combined CRC mismatch: stream says {:08x}, blocks give {:08x}",
                    self.scanner.stream_crc, self.combined
                )));
            }
            return Ok(false);
        };
        let (mut piece, mut decoded) = Self::receive(rx)?;
        if let Decoded::Failed(e) = decoded {
            // Maybe a false cut: join with the next piece and try again, here.
            self.submit()?;
            let Some(next) = self.pending.pop_front() else {
                return Err(corrupt(format!("bzip2 block {}: {e}", piece.index)));
            };
            let (next_piece, _) = Self::receive(next)?;
            piece = piece.join(next_piece);
            decoded = decode_piece(&piece, self.limit, &mut scratch());
            if let Decoded::Failed(_) = decoded {
                return Err(corrupt(format!("bzip2 block {}: {e}", piece.index)));
            }
        }
        self.combined = self.combined.rotate_left(1) ^ piece.crc;
        self.records.push(BlockRecord {
            start_bit: piece.header.offset,
            crc: piece.crc,
            out_len: 0,
        });
        self.current = match decoded {
            Decoded::Data(d) => Current::Buffer(d, 0),
            Decoded::Large => {
                let mut scratch = scratch();
                let block = piece
                    .decode(&mut scratch)
                    .map_err(|e| corrupt(format!("bzip2 block {}: {e}", piece.index)))?;
                Current::Block {
                    block,
                    scratch,
                    index: piece.index,
                }
            }
            Decoded::Failed(e) => {
                return Err(corrupt(format!("bzip2 block {}: {e}", piece.index)));
            }
        };
        Ok(true)
    }
}

impl<R: BufRead> Read for ParallelBzDecoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.failed {
            return Err(io::Error::other("bzip2 decoder used after an error"));
        }
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            match &mut self.current {
                Current::Buffer(data, pos) => {
                    let rest = data.get(*pos..).unwrap_or(&[]);
                    if !rest.is_empty() {
                        let n = rest.len().min(buf.len());
                        buf[..n].copy_from_slice(&rest[..n]);
                        *pos += n;
                        if let Some(r) = self.records.last_mut() {
                            r.out_len += n as u64;
                        }
                        return Ok(n);
                    }
                }
                Current::Block {
                    block,
                    scratch,
                    index,
                } => {
                    let n = block.read(scratch, buf);
                    if n > 0 {
                        if let Some(r) = self.records.last_mut() {
                            r.out_len += n as u64;
                        }
                        return Ok(n);
                    }
                    if let Err(e) = block.finish() {
                        self.failed = true;
                        return Err(corrupt(format!("bzip2 block {index}: {e}")));
                    }
                }
                Current::None => {}
            }
            self.current = Current::None;
            match self.next_block() {
                Ok(true) => {}
                Ok(false) => return Ok(0),
                Err(e) => {
                    self.failed = true;
                    return Err(e);
                }
            }
        }
    }
}

mod framing;

pub use framing::check_framing;
#[cfg(test)]
use framing::{combine, combines_without_one};

#[cfg(test)]
mod tests;
