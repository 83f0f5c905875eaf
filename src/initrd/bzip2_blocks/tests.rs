use super::*;

/// The block magic (pi).
const BLOCK_MAGIC: u64 = 0x3141_5926_5359;
/// The end-of-stream magic (sqrt(pi)).
const EOS_MAGIC: u64 = 0x1772_4538_5090;

/// Compressible but varied bytes, so level 1 gives many blocks.
fn sample(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x1234_5678_9abc_def1;
    let words: Vec<&[u8]> = vec![b"alpha ", b"beta ", b"gamma\n", b"\0\0\0\0", b"delta "];
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if x.is_multiple_of(7) {
            out.push((x >> 32) as u8);
        } else {
            out.extend_from_slice(words[(x % 5) as usize]);
        }
    }
    out.truncate(len);
    out
}

fn compress(data: &[u8], level: u32) -> Vec<u8> {
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::new(level));
    std::io::Write::write_all(&mut e, data).unwrap();
    e.finish().unwrap()
}

fn serial(stream: &[u8]) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    bzip2::bufread::BzDecoder::new(stream).read_to_end(&mut out)?;
    Ok(out)
}

fn parallel(stream: &[u8], threads: usize, limit: usize) -> (io::Result<Vec<u8>>, u64) {
    let mut input = io::Cursor::new(stream);
    let mut dec = ParallelBzDecoder::with_limit(&mut input, threads, limit);
    let mut out = Vec::new();
    let r = dec.read_to_end(&mut out).map(|_| out);
    drop(dec);
    (r, input.position())
}

#[test]
fn same_bytes_as_the_serial_decoder() {
    let data = sample(3 << 20);
    let stream = compress(&data, 1);
    assert_eq!(serial(&stream).unwrap(), data);
    for threads in [1, 2, 3] {
        let (out, pos) = parallel(&stream, threads, MAX_BLOCK_OUTPUT);
        assert!(out.unwrap() == data, "{threads} threads");
        assert_eq!(pos, stream.len() as u64);
    }
    // Blocks over the in-memory limit are streamed by the reader.
    let (out, _) = parallel(&stream, 2, 1000);
    assert!(out.unwrap() == data);
}

#[test]
fn long_runs_and_empty_streams() {
    let mut data = vec![0u8; 5 << 20];
    data.extend_from_slice(b"end");
    let stream = compress(&data, 9);
    let (out, pos) = parallel(&stream, 2, 1 << 20);
    assert!(out.unwrap() == data);
    assert_eq!(pos, stream.len() as u64);
    let empty = compress(b"", 9);
    let (out, pos) = parallel(&empty, 2, MAX_BLOCK_OUTPUT);
    assert_eq!(out.unwrap(), b"");
    assert_eq!(pos, empty.len() as u64);
}

#[test]
fn stops_exactly_at_the_end_of_the_stream() {
    let first = compress(&sample(700_000), 1);
    let second = compress(b"second stream", 9);
    let mut image = first.clone();
    image.extend_from_slice(&second);
    image.extend_from_slice(b"garbage after");
    let mut input = io::Cursor::new(&image[..]);
    let mut dec = ParallelBzDecoder::new(&mut input, 2);
    let mut out = Vec::new();
    dec.read_to_end(&mut out).unwrap();
    assert!(out == sample(700_000));
    drop(dec);
    assert_eq!(input.position(), first.len() as u64);
    let mut dec = ParallelBzDecoder::new(&mut input, 2);
    let mut out = Vec::new();
    dec.read_to_end(&mut out).unwrap();
    assert_eq!(out, b"second stream");
    drop(dec);
    let mut rest = Vec::new();
    input.read_to_end(&mut rest).unwrap();
    assert_eq!(rest, b"garbage after");
}

/// An input that has the whole stream buffered (a slice) is taken a little at a time: the
/// scanner holds about a block, not the rest of the stream, so cutting each block off costs
/// what the block costs. Taking all of it at once made decoding a 173 MB install.img from memory
/// spend 3.3 s moving bytes (measured); here the scanner held the whole 3 MB stream.
#[test]
fn a_stream_buffered_whole_is_scanned_a_little_at_a_time() {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let data: Vec<u8> = (0..3_000_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let stream = compress(&data, 1);
    assert!(stream.len() > 8 * FILL_BYTES, "{} bytes", stream.len());
    let mut image = stream.clone();
    image.extend_from_slice(b"after");
    let mut input = &image[..];
    let mut dec = ParallelBzDecoder::new(&mut input, 2);
    let mut out = Vec::new();
    dec.read_to_end(&mut out).unwrap();
    assert!(out == data);
    // A level-1 block of incompressible bytes is about 101 kB compressed.
    let peak = dec.scanner.peak_raw;
    assert!(
        peak <= FILL_BYTES + 110_000,
        "the scanner held {peak} bytes"
    );
    drop(dec);
    assert_eq!(input, b"after");
}

/// With an input handing out a few bytes at a time, the stream still ends at the right byte.
#[test]
fn exact_end_with_tiny_input_buffers() {
    for data in [sample(300_000), Vec::new(), b"x".to_vec()] {
        let stream = compress(&data, 1);
        let mut image = stream.clone();
        image.extend_from_slice(b"BZh9 next");
        for cap in [1, 3, 7, 11] {
            let mut input = io::BufReader::with_capacity(cap, &image[..]);
            let mut dec = ParallelBzDecoder::new(&mut input, 2);
            let mut out = Vec::new();
            dec.read_to_end(&mut out).unwrap();
            assert!(out == data, "capacity {cap}");
            drop(dec);
            let mut rest = Vec::new();
            input.read_to_end(&mut rest).unwrap();
            assert_eq!(rest, b"BZh9 next", "capacity {cap}");
        }
    }
}

#[test]
fn hostile_streams_fail_like_the_serial_decoder() {
    let data = sample(1 << 20);
    let stream = compress(&data, 1);
    // Truncated anywhere.
    for cut in [
        3,
        4,
        10,
        30,
        stream.len() / 2,
        stream.len() - 5,
        stream.len() - 1,
    ] {
        let cut_stream = &stream[..cut];
        assert!(serial(cut_stream).is_err(), "serial accepts a cut at {cut}");
        let (out, _) = parallel(cut_stream, 2, MAX_BLOCK_OUTPUT);
        assert!(out.is_err(), "parallel accepts a cut at {cut}");
    }
    // A flipped bit in a block (bad block CRC or bad Huffman data).
    let mut bad = stream.clone();
    bad[stream.len() / 3] ^= 0x10;
    assert!(serial(&bad).is_err());
    assert!(parallel(&bad, 2, MAX_BLOCK_OUTPUT).0.is_err());
    // A flipped bit in the block CRC field of the first block.
    let mut bad = stream.clone();
    bad[8] ^= 0x01;
    assert!(serial(&bad).is_err());
    assert!(parallel(&bad, 2, MAX_BLOCK_OUTPUT).0.is_err());
    // A wrong combined CRC (the last bytes hold it, padded).
    let mut bad = stream.clone();
    let n = bad.len();
    bad[n - 2] ^= 0x40;
    assert!(serial(&bad).is_err());
    let err = parallel(&bad, 2, MAX_BLOCK_OUTPUT).0.unwrap_err();
    assert!(err.to_string().contains("CRC"), "{err}");
    // Not bzip2 at all, or a header without blocks.
    assert!(parallel(b"BZh0\x31\x41\x59\x26\x53\x59", 2, 100).0.is_err());
    assert!(parallel(b"BZh9garbage-garbage", 2, 100).0.is_err());
    // Garbage without any magic is refused without buffering it all.
    let mut junk = b"BZh9\x31\x41\x59\x26\x53\x59".to_vec();
    junk.extend(std::iter::repeat_n(0x55u8, MAX_BLOCK_INPUT + (1 << 20)));
    assert!(parallel(&junk, 2, 100).0.is_err());
}

const NO_HEADER: BlockHeader = BlockHeader {
    offset: 0,
    orig_ptr: 0,
    used: 1,
};

#[test]
fn framing_of_good_streams() {
    for (len, level) in [(0, 9), (1000, 9), (1 << 20, 1), (3 << 20, 9)] {
        let stream = compress(&sample(len), level);
        let mut input = stream.clone();
        input.extend_from_slice(b"\0\0after");
        let mut reader = &input[..];
        let f = check_framing(&mut reader).unwrap();
        assert_eq!(f.level, level as u8);
        assert_eq!(f.len, stream.len() as u64);
        assert_eq!(reader, b"\0\0after", "not left right after the stream");
        // Level 9 holds 900 kB per block, level 1 100 kB.
        let at_least = len.div_ceil(level as usize * 100_000) as u64;
        assert!(f.blocks >= at_least, "{f:?}, {len} bytes");
    }
}

#[test]
fn framing_of_broken_streams() {
    let stream = compress(&sample(1 << 20), 1);
    let fails = |s: &[u8], needle: &str| {
        let e = check_framing(s).expect_err(needle).to_string();
        assert!(e.contains(needle), "{e:?} does not say {needle:?}");
    };
    fails(b"BZh0", "BZh1 to BZh9");
    fails(b"PK\x03\x04zipzip", "BZh1 to BZh9");
    for cut in [10, stream.len() / 2, stream.len() - 5] {
        fails(&stream[..cut], "truncated");
    }
    // The block CRC of the first block, the combined CRC, a block magic destroyed (its
    // block's bits then count for the one before), the end marker destroyed.
    let mut bad = stream.clone();
    bad[8] ^= 0x01;
    fails(&bad, "no block after the header");
    let mut bad = stream.clone();
    bad[11] ^= 0x01;
    fails(&bad, "combined CRC mismatch");
    let mut bad = stream.clone();
    let n = bad.len();
    bad[n - 2] ^= 0x40;
    fails(&bad, "combined CRC mismatch");
    let second = (80..stream.len() as u64 * 8 - 48)
        .find(|&b| bits(&stream, b, 48) == Some(BLOCK_MAGIC))
        .unwrap();
    let mut bad = stream.clone();
    bad[(second / 8) as usize + 2] ^= 0xff;
    let three_blocks = [bad.clone(), compress(&sample(1 << 20), 1)].concat();
    assert!(check_framing(&three_blocks[..]).is_err());
    let eos = (0..stream.len() as u64 * 8 - 48)
        .rev()
        .find(|&b| bits(&stream, b, 48) == Some(EOS_MAGIC))
        .unwrap();
    let mut bad = stream.clone();
    bad[(eos / 8) as usize + 2] ^= 0xff;
    fails(&bad, "no end-of-stream marker");
    // An impossible first block header.
    let mut bad = stream.clone();
    bad[14] = 0xff;
    bad[15] = 0xff;
    fails(&bad, "origin pointer");
}

#[test]
fn one_false_cut_is_found_in_linear_time() {
    let crcs: Vec<u32> = (0..70u32).map(|i| i.wrapping_mul(0x9e37_79b9)).collect();
    for skip in 1..crcs.len() {
        let rest: Vec<u32> = crcs
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != skip)
            .map(|(_, &c)| c)
            .collect();
        assert!(combines_without_one(&crcs, combine(rest.iter().copied())));
    }
    assert!(!combines_without_one(&crcs, combine(crcs.iter().copied())));
}

/// A block cut in two at a false magic fails alone and decodes once joined.
#[test]
fn a_false_cut_is_joined() {
    let data = sample(50_000);
    let stream = compress(&data, 9);
    // One block: bits 32 (after the header) up to the end marker.
    let end = (0..stream.len() as u64 * 8 - 48)
        .rev()
        .find(|&b| bits(&stream, b, 48) == Some(EOS_MAGIC))
        .unwrap();
    let crc = bits(&stream, 32 + 48, 32).unwrap() as u32;
    let cut = 32 + (end - 32) / 2;
    let first = Piece {
        bytes: stream[..cut.div_ceil(8) as usize].to_vec(),
        start: 32,
        end: cut,
        crc,
        index: 0,
        header: NO_HEADER,
    };
    let skip = cut / 8 * 8;
    let second = Piece {
        bytes: stream[(skip / 8) as usize..].to_vec(),
        start: cut - skip,
        end: end - skip,
        crc: 0,
        index: 1,
        header: NO_HEADER,
    };
    let mut scratch = scratch();
    assert!(matches!(
        decode_piece(&first, MAX_BLOCK_OUTPUT, &mut scratch),
        Decoded::Failed(_)
    ));
    let joined = first.join(second);
    match decode_piece(&joined, MAX_BLOCK_OUTPUT, &mut scratch) {
        Decoded::Data(d) => assert!(d == data),
        _ => panic!("joined piece does not decode"),
    }
}

/// Everything a piece decodes to with `backend`: the bytes, or the error (as text).
fn decoded_with<B: Backend>(piece: &Piece, backend: Option<B>) -> Result<Vec<u8>, String> {
    let mut scratch = scratch();
    let decoded = match backend {
        Some(backend) => piece.decode_with(backend, &mut scratch),
        None => piece.decode(&mut scratch),
    };
    let mut block = decoded.map_err(|e| format!("{e:?}"))?;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = block.read(&scratch, &mut buf);
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    block.finish().map(|_| out).map_err(|e| format!("{e:?}"))
}

/// The backend the decoder picks at run time (vectorized where the CPU allows), and the
/// vectorized one itself where the CPU has it, decode every block, good or damaged, to what
/// pbz2's scalar code does.
#[test]
fn the_run_time_backend_decodes_as_the_scalar_one() {
    #[cfg(target_arch = "x86_64")]
    let vectorized = pbz2_core::fearless_simd::Level::new()
        .as_sse4_2()
        .map(pbz2_core::Vectorized);
    #[cfg(not(target_arch = "x86_64"))]
    let vectorized: Option<pbz2_core::Scalar> = None;
    eprintln!("vectorized backend on this CPU: {}", vectorized.is_some());
    let mut streams = vec![
        compress(&sample(2 << 20), 1),
        compress(&sample(1 << 20), 9),
        compress(&[7u8; 1 << 20], 9),
    ];
    let good = streams[0].clone();
    for at in [good.len() / 5, good.len() / 2, good.len() - 40] {
        let mut bad = good.clone();
        bad[at] ^= 0x24;
        streams.push(bad);
    }
    let (mut blocks, mut failures) = (0, 0);
    for stream in &streams {
        let mut scanner = Scanner::new(&stream[..]);
        while let Ok(Some(piece)) = scanner.next_piece(true) {
            let scalar = decoded_with(&piece, Some(pbz2_core::Scalar));
            assert_eq!(decoded_with::<pbz2_core::Scalar>(&piece, None), scalar);
            if vectorized.is_some() {
                assert_eq!(decoded_with(&piece, vectorized), scalar);
            }
            blocks += 1;
            failures += usize::from(scalar.is_err());
        }
    }
    assert!(
        blocks > 12 && failures >= 2,
        "{blocks} blocks, {failures} failed"
    );
}

/// The memory a decode holds grows with its workers: however many threads are asked for, at
/// most [`MAX_BLOCK_THREADS`] run and hold blocks in flight, and the output is the same.
#[test]
fn no_more_workers_than_the_cap_whatever_is_asked() {
    let data = sample(700_000);
    let stream = compress(&data, 1);
    for asked in [0, 1, 3, MAX_BLOCK_THREADS, 64] {
        let mut dec = ParallelBzDecoder::new(&stream[..], asked);
        let workers = asked.clamp(1, MAX_BLOCK_THREADS);
        assert_eq!(
            dec.max_pending,
            workers * IN_FLIGHT_PER_THREAD,
            "{asked} asked"
        );
        let mut out = Vec::new();
        dec.read_to_end(&mut out).unwrap();
        assert!(out == data, "{asked} asked");
    }
}
