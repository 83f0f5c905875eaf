//! The floors under `isoremix verify` and a forced re-pack, measured on the machine at hand
//! with the code isoremix runs, and nothing else in the way: no ISO, cpio or repodata work, no
//! waiting on one file while the other core is idle.
//!
//!   ISOREMIX_FLOOR_ISO=source.iso cargo bench --bench floors
//!
//! - `read`: the bytes `verify` hashes (every file under `/Packages/`, and `/install.img`)
//!   read from the page cache into 512 KiB buffers on every core: the copy out of the cache that
//!   `cat` also makes, shared out over the cores.
//! - `sha256`: as many bytes hashed on every core, four streams side by side on each, from
//!   buffers filled once and in the cache (the fastest way this CPU hashes SHA-256, and the way
//!   `verify` hashes). `verify` must both copy and hash each byte, on the same cores: `read` +
//!   `sha256` is about the least time it can take.
//! - `bzip2-decode` / `bzip2-encode`: install.img, in memory, decoded with the decoder a build
//!   uses, and the result compressed at level 9 with the encoder a re-pack uses, each on the
//!   threads a build gives it. Their sum is the least time a forced re-pack can take.
//! - `bzip2-pair`: the decoder's output streamed into the encoder, as a re-pack does, without
//!   the cpio and ISO work in between; on the same cores, about the sum of the two.
//!
//! Each line reads `floor <name> <seconds>` (best of 5 for `read` and `sha256`, one run for
//! each bzip2 figure), for `scripts/bench.sh` to set beside `cat` and `lbzip2`. Not a test.
//!
//! Settings (environment): `ISOREMIX_FLOOR_ISO` (required): the ISO; `ISOREMIX_THREADS`: the
//! thread count (default: the cores this process may use).

use std::error::Error;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use isoremix::initrd::{MAX_BLOCK_THREADS, MAX_REPACK_THREADS, ParallelBzDecoder};
use isoremix::iso::{SourceIso, walk};
use isoremix::parallelism;
use isoremix::sha256_pair::{Sha256, update_many};

type Res<T> = Result<T, Box<dyn Error>>;

const RUNS: usize = 5;
/// Bytes a reader takes at a time, as `verify` reads.
const CHUNK: usize = 1 << 19;
/// Streams one core hashes side by side.
const SIDE_BY_SIDE: usize = 4;

/// The files `verify` hashes: the packages and install.img.
fn hashed_files(iso: &SourceIso) -> Vec<String> {
    let mut files = Vec::new();
    walk(iso.tree(), &mut |path, entry| {
        let is_file = entry.node().content().is_some();
        if is_file && (path.starts_with("/Packages/") || path == "/install.img") {
            files.push(path.to_string());
        }
    });
    files
}

fn best_of(runs: usize, mut once: impl FnMut() -> Res<()>) -> Res<Duration> {
    let mut best = Duration::MAX;
    for _ in 0..runs {
        let start = Instant::now();
        once()?;
        best = best.min(start.elapsed());
    }
    Ok(best)
}

/// Reads every file in `files` through a [`CHUNK`] buffer, the files shared out over `threads`.
fn read_all(iso: &SourceIso, files: &[String], threads: usize) -> Res<()> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| -> io::Result<()> {
                    let mut buffer = vec![0u8; CHUNK];
                    loop {
                        let at = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(file) = files.get(at) else {
                            return Ok(());
                        };
                        let mut reader = iso.open_file(file).map_err(io::Error::other)?;
                        while reader.read(&mut buffer)? > 0 {}
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.join().map_err(|_| "a reader panicked")??;
        }
        Ok(())
    })
}

/// Hashes `total` bytes on `threads` threads, each hashing [`SIDE_BY_SIDE`] streams side by side
/// a [`CHUNK`] at a time from buffers it fills once: `verify`'s hashing without its reads.
fn hash_all(total: usize, threads: usize) -> Res<()> {
    let per_thread = total.div_ceil(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|thread| {
                scope.spawn(move || {
                    let buffers: Vec<Vec<u8>> = (0..SIDE_BY_SIDE)
                        .map(|i| vec![(thread * SIDE_BY_SIDE + i) as u8; CHUNK])
                        .collect();
                    let mut hashes: [Sha256; SIDE_BY_SIDE] = Default::default();
                    let mut left = per_thread;
                    while left > 0 {
                        let step = (left / SIDE_BY_SIDE).clamp(1, CHUNK);
                        let data = std::array::from_fn(|i| &buffers[i][..step]);
                        update_many(hashes.each_mut(), data);
                        left = left.saturating_sub(step * SIDE_BY_SIDE);
                    }
                    hashes.map(Sha256::finalize)
                })
            })
            .collect();
        for worker in workers {
            std::hint::black_box(worker.join().map_err(|_| "a hasher panicked")?);
        }
        Ok(())
    })
}

/// The encoder a re-pack compresses with.
fn encoder<W: Write + Send + 'static>(out: W, threads: usize) -> pbz2::ParallelEncoder<W> {
    pbz2::ParallelEncoder::with_threads(out, pbz2::Level::BEST, threads)
}

fn main() -> Res<()> {
    let path: PathBuf = std::env::var_os("ISOREMIX_FLOOR_ISO")
        .ok_or("set ISOREMIX_FLOOR_ISO to the ISO to measure")?
        .into();
    let threads = parallelism::cores();
    let iso = SourceIso::open(&path)?;
    let files = hashed_files(&iso);

    read_all(&iso, &files, threads)?;
    let read = best_of(RUNS, || read_all(&iso, &files, threads))?;

    let mut hashed = 0;
    for file in &files {
        hashed += iso.open_file(file)?.len();
    }
    let hashed = usize::try_from(hashed)?;
    let sha256 = best_of(RUNS, || hash_all(hashed, threads))?;

    let image = iso.read_file("/install.img")?;
    let decoder_threads = threads.min(MAX_BLOCK_THREADS);
    let encoder_threads = threads.min(MAX_REPACK_THREADS);
    let decoder = || ParallelBzDecoder::new(&image[..], decoder_threads);

    let start = Instant::now();
    let mut reader = decoder();
    let mut buffer = vec![0u8; CHUNK];
    let mut decoded_len = 0;
    loop {
        match reader.read(&mut buffer)? {
            0 => break,
            n => decoded_len += n,
        }
    }
    let decode = start.elapsed();

    let mut decoded = Vec::with_capacity(decoded_len);
    decoder().read_to_end(&mut decoded)?;
    let start = Instant::now();
    let mut compressing = encoder(Vec::new(), encoder_threads);
    compressing.write_all(&decoded)?;
    let encoded = compressing.finish()?.len();
    let encode = start.elapsed();
    drop(decoded);

    let start = Instant::now();
    let mut compressing = encoder(io::sink(), encoder_threads);
    io::copy(&mut decoder(), &mut compressing)?;
    compressing.finish()?;
    let pair = start.elapsed();

    println!(
        "# {} files, {hashed} bytes hashed; install.img {} bytes decoded, {} encoded; {threads} threads",
        files.len(),
        decoded_len,
        encoded
    );
    println!("floor read {:.3}", read.as_secs_f64());
    println!("floor sha256 {:.3}", sha256.as_secs_f64());
    println!("floor bzip2-decode {:.3}", decode.as_secs_f64());
    println!("floor bzip2-encode {:.3}", encode.as_secs_f64());
    println!("floor bzip2-pair {:.3}", pair.as_secs_f64());
    Ok(())
}
