//! The installer's media check over the package files: each file primary.xml lists is read once
//! and its size and SHA-256 compared with primary.xml's; a package whose signature yum would
//! check is judged in the same pass.
//!
//! One reader per core, at most [`MAX_READERS`]. The files are opened largest first, many more
//! at a time than the readers hash ([`OPEN_PER_READER`]), and shared out a chunk at a time: a
//! reader takes up to four open files, those with the most bytes left, hashes the next chunk of
//! each side by side ([`update_many`]) through buffers it reuses for every file, and gives them
//! back. So the bytes left in the open files even out and the files end together: each reader
//! hashes four streams at once nearly to the end, and then no reader hashes the last two files
//! while another has none. install.img's digest, when asked, is hashed beside them as its eight
//! lanes ([`crate::initrd::image_digest`]), none much longer than a package.
//! A package whose signature is judged is read alone, as a stream, by the signature check.

use std::cmp::Reverse;
use std::collections::VecDeque;
use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

use super::repodata::MediaEntry;
use crate::initrd::image_digest::{LANES, Lane, from_lanes};
use crate::iso::{ExtentReader, SourceIso};
use crate::sha256_pair::{Sha256, update_many, update_pair};

/// Judges one package's signature from its stream (the rest of the stream is hashed after it).
pub type SignatureCheck<'a> = &'a (dyn Fn(&mut dyn Read) -> Option<String> + Sync);

/// What was found for one package of primary.xml.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackageResult {
    /// Why the media check fails it, if it does.
    pub media: Option<String>,
    /// Why yum would refuse its signature, when it was judged and refused.
    pub signature: Option<String>,
}

/// How the package files are read.
#[derive(Debug, Clone, Copy)]
pub struct Pass<'a> {
    /// Hash each file (else only its presence and size are checked, unless its signature is
    /// judged).
    pub hash: bool,
    /// Threads reading files (at most [`MAX_READERS`]).
    pub threads: usize,
    /// A file of the image whose [image digest](crate::initrd::image_digest) is made in the
    /// same pass, its lanes hashed beside the packages (install.img, to confirm what was
    /// remembered of it).
    pub image_digest: Option<&'a str>,
}

/// What the pass found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checked {
    /// One result per package, in `media`'s order.
    pub packages: Vec<PackageResult>,
    /// The digest [`Pass::image_digest`] asked for; `None` when the file cannot be read.
    pub image_digest: Option<[u8; 32]>,
}

/// The bytes read from a file at a time, into each of a reader's buffers.
const CHUNK: usize = 1 << 19;

/// Files a reader hashes side by side, one buffer each. Four: on a Zen 4 core four streams
/// hash 3.4 GB/s, two 2.9 and one 1.8 ([`update_many`]).
const STREAMS: usize = 4;

/// Files open (being hashed or waiting to be) per reader. Many: a file opened only when the
/// others are nearly done is hashed alone at the end, at half the four-stream rate. With five
/// per reader (as many as it hashes at once, and one more), the last 14 % of the benchmark's
/// 600 MB ISO was hashed one to three streams at a time, and `verify` took 5 % longer.
const OPEN_PER_READER: usize = 8 * STREAMS;

/// At most this many readers, whatever the number of cores: their buffers stay at 16 MiB (the
/// peak RSS ceiling is 150 MB), and 8 of them hash some 30 GB/s, more than storage delivers.
const MAX_READERS: usize = crate::parallelism::MAX_FILE_READERS;

/// Checks every package of `media`; `signature(i)` says whether package `i`'s signature is
/// judged with `judge`. Results are in `media`'s order, whatever the number of threads.
pub fn check(
    source: &SourceIso,
    media: &[MediaEntry],
    signature: &(dyn Fn(usize) -> bool + Sync),
    judge: SignatureCheck<'_>,
    pass: Pass<'_>,
) -> Checked {
    check_counting(source, media, signature, judge, pass).0
}

/// [`check`], and the bytes hashed in rounds of one, two, three and four streams side by side.
fn check_counting(
    source: &SourceIso,
    media: &[MediaEntry],
    signature: &(dyn Fn(usize) -> bool + Sync),
    judge: SignatureCheck<'_>,
    pass: Pass<'_>,
) -> (Checked, [u64; STREAMS]) {
    let mut order: Vec<usize> = (0..media.len()).collect();
    order.sort_by_key(|&i| (Reverse(media[i].size), i));
    let work = Work {
        source,
        media,
        signature,
        judge,
        hash: pass.hash,
        order,
        next: AtomicUsize::new(0),
        results: Mutex::new(vec![PackageResult::default(); media.len()]),
        pool: Mutex::new(Pool::default()),
        returned: Condvar::new(),
        readers: pass.threads.clamp(1, MAX_READERS),
        image_lanes: Mutex::new(Default::default()),
        side_by_side: Default::default(),
    };
    let lanes = pass.image_digest.and_then(|path| lanes_of(source, path));
    work.lock_pool().waiting.extend(lanes.into_iter().flatten());
    std::thread::scope(|scope| {
        for _ in 0..work.readers {
            scope.spawn(|| work.read());
        }
    });
    let lanes = work
        .image_lanes
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    let image_digest = lanes
        .into_iter()
        .map(|lane| lane?.ok())
        .collect::<Option<Vec<Sha256>>>()
        .map(from_lanes);
    let checked = Checked {
        packages: work.results.into_inner().unwrap_or_else(|e| e.into_inner()),
        image_digest,
    };
    (checked, work.side_by_side.map(AtomicU64::into_inner))
}

/// The lanes of the image digest of the image's file at `path`, as streams to hash.
fn lanes_of<'a>(source: &'a SourceIso, path: &str) -> Option<Vec<Open<'a>>> {
    (0..LANES)
        .map(|k| {
            let file = source.open_file(path).ok()?;
            let len = file.len();
            Some(Open {
                what: Stream::ImageLane(k, Lane::new(file, len, k)),
                hash: Sha256::new(),
            })
        })
        .collect()
}

/// The files to check, shared by the readers.
struct Work<'a> {
    source: &'a SourceIso,
    media: &'a [MediaEntry],
    signature: &'a (dyn Fn(usize) -> bool + Sync),
    judge: SignatureCheck<'a>,
    hash: bool,
    /// Indexes into `media`, largest file first.
    order: Vec<usize>,
    /// The next position in `order` to take.
    next: AtomicUsize,
    results: Mutex<Vec<PackageResult>>,
    /// The open files no reader holds.
    pool: Mutex<Pool<'a>>,
    /// Signalled when a reader gives files back.
    returned: Condvar,
    /// Readers.
    readers: usize,
    /// The hashes of the image digest's lanes, or why one could not be read.
    image_lanes: Mutex<[Option<io::Result<Sha256>>; LANES]>,
    /// Bytes hashed in rounds of `i + 1` streams side by side.
    side_by_side: [AtomicU64; STREAMS],
}

/// The files being hashed, between the readers.
#[derive(Default)]
struct Pool<'a> {
    /// Open files no reader holds, in the order they are to be taken.
    waiting: VecDeque<Open<'a>>,
    /// Open files readers hold.
    held: usize,
    /// Files readers are opening.
    opening: usize,
    /// Whether every file has been taken from `order`.
    exhausted: bool,
}

/// A stream being hashed.
struct Open<'a> {
    what: Stream<'a>,
    hash: Sha256,
}

/// What a stream reads, and what its hash is for.
enum Stream<'a> {
    /// The file of `media[index]`.
    Package(usize, ExtentReader<'a>),
    /// One lane of install.img's digest (its number).
    ImageLane(usize, Lane<ExtentReader<'a>>),
}

impl Stream<'_> {
    fn len(&self) -> u64 {
        match self {
            Stream::Package(_, file) => file.len(),
            Stream::ImageLane(_, lane) => lane.len(),
        }
    }
}

impl Read for Stream<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Package(_, file) => file.read(buf),
            Stream::ImageLane(_, lane) => lane.read(buf),
        }
    }
}

impl<'a> Work<'a> {
    /// One reader: until every file is done, takes its share of the open files (at most
    /// [`STREAMS`]), hashes the next chunk of each and gives back those not done.
    fn read(&self) {
        let mut buffers: [Vec<u8>; STREAMS] = std::array::from_fn(|_| vec![0u8; CHUNK]);
        loop {
            let mut mine = self.take();
            if mine.is_empty() {
                break;
            }
            let taken = mine.len();
            let read: Vec<io::Result<usize>> = mine
                .iter_mut()
                .zip(buffers.iter_mut())
                .map(|(o, buf)| read_chunk(&mut o.what, buf))
                .collect();
            let mut chunks: Vec<(&mut Sha256, &[u8])> = mine
                .iter_mut()
                .zip(&buffers)
                .zip(&read)
                .filter_map(|((o, buf), read)| match read {
                    Ok(n) => Some((&mut o.hash, &buf[..*n])),
                    Err(_) => None,
                })
                .collect();
            let streams = chunks.iter().filter(|(_, d)| !d.is_empty()).count();
            if let Some(count) = streams
                .checked_sub(1)
                .and_then(|i| self.side_by_side.get(i))
            {
                let bytes: usize = chunks.iter().map(|(_, d)| d.len()).sum();
                count.fetch_add(bytes as u64, Ordering::Relaxed);
            }
            match chunks.as_mut_slice() {
                [(a, da), (b, db), (c, dc), (d, dd)] => {
                    update_many([a, b, c, d], [da, db, dc, dd]);
                }
                [(a, da), (b, db), (c, dc)] => update_many([a, b, c], [da, db, dc]),
                [(a, da), (b, db)] => update_pair(a, da, b, db),
                [(a, da)] => a.update(da),
                _ => {}
            }
            drop(chunks);
            let mut back = Vec::with_capacity(taken);
            for (o, read) in mine.into_iter().zip(read) {
                match read {
                    Ok(0) => self.finish(o, None),
                    Err(e) => self.finish(o, Some(e)),
                    Ok(_) => back.push(o),
                }
            }
            self.give_back(back, taken);
        }
    }

    /// This reader's share of the open files: at most [`STREAMS`], and no more than the
    /// readers' fair share of all files not done yet, so that at the end every reader has one
    /// rather than one reader two and another none. Opens files while fewer than
    /// [`OPEN_PER_READER`] per reader are open; waits while every open file is held by other
    /// readers. Empty when every file is done.
    fn take(&self) -> Vec<Open<'a>> {
        let mut pool = self.lock_pool();
        loop {
            if !pool.exhausted && pool.waiting.len() + pool.held < OPEN_PER_READER * self.readers {
                // Opening may read a whole package (its signature is judged): not under the lock.
                pool.opening += 1;
                drop(pool);
                let opened = self.next_to_hash();
                pool = self.lock_pool();
                pool.opening -= 1;
                match opened {
                    Some(open) => pool.waiting.push_back(open),
                    None => pool.exhausted = true,
                }
                // A reader waiting for this file (or for the last one to be done) looks again.
                self.returned.notify_all();
                continue;
            }
            let unopened = self
                .order
                .len()
                .saturating_sub(self.next.load(Ordering::Relaxed));
            let left = pool.waiting.len() + pool.held + pool.opening + unopened;
            if left == 0 {
                return Vec::new();
            }
            let take = share(left, self.readers).min(pool.waiting.len());
            if take > 0 {
                pool.held += take;
                pool.waiting
                    .make_contiguous()
                    .sort_by_key(|o| Reverse(o.what.len().saturating_sub(o.hash.len())));
                return pool.waiting.drain(..take).collect();
            }
            pool = self.returned.wait(pool).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Gives back the files of [`take`](Self::take) not done yet (`taken` were taken).
    fn give_back(&self, back: Vec<Open<'a>>, taken: usize) {
        let mut pool = self.lock_pool();
        pool.held -= taken;
        pool.waiting.extend(back);
        drop(pool);
        self.returned.notify_all();
    }

    fn lock_pool(&self) -> std::sync::MutexGuard<'_, Pool<'a>> {
        self.pool.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records what a stream read to its end (or until `error`) says: a package's media
    /// check, or a lane of install.img's digest.
    fn finish(&self, o: Open<'a>, error: Option<io::Error>) {
        match o.what {
            Stream::Package(index, _) => {
                let entry = &self.media[index];
                let media = match error {
                    Some(e) => Some(unreadable(entry, &e)),
                    None => media_check(entry, o.hash),
                };
                self.record(
                    index,
                    PackageResult {
                        media,
                        signature: None,
                    },
                );
            }
            Stream::ImageLane(lane, _) => {
                let mut lanes = self.image_lanes.lock().unwrap_or_else(|e| e.into_inner());
                lanes[lane] = Some(error.map_or(Ok(o.hash), Err));
            }
        }
    }

    /// Takes files until one is to be hashed in chunks, and opens it; those checked otherwise
    /// (missing, only their size, or read by the signature check) are checked on the way.
    fn next_to_hash(&self) -> Option<Open<'a>> {
        loop {
            let index = *self.order.get(self.next.fetch_add(1, Ordering::Relaxed))?;
            let entry = &self.media[index];
            let judged = (self.signature)(index);
            let file = match self.source.open_file(&format!("/{}", entry.href)) {
                Ok(file) => file,
                Err(_) => {
                    let media = Some(missing(entry));
                    self.record(
                        index,
                        PackageResult {
                            media,
                            signature: None,
                        },
                    );
                    continue;
                }
            };
            if judged {
                self.record(index, judged_read(entry, file, self.judge));
            } else if !self.hash {
                self.record(index, present(entry, &file));
            } else {
                return Some(Open {
                    what: Stream::Package(index, file),
                    hash: Sha256::new(),
                });
            }
        }
    }

    fn record(&self, index: usize, result: PackageResult) {
        let mut all = self.results.lock().unwrap_or_else(|e| e.into_inner());
        all[index] = result;
    }
}

/// How many open files a reader takes when `left` files are not done: its fair share of them,
/// at most [`STREAMS`]. Two files left and two readers: one each, not two for one reader.
fn share(left: usize, readers: usize) -> usize {
    left.div_ceil(readers.max(1)).min(STREAMS)
}

/// The next bytes of `file` into `buf` (0 at its end).
fn read_chunk(file: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match file.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            read => return read,
        }
    }
}

/// Only that the file is there with primary.xml's size.
fn present(entry: &MediaEntry, file: &ExtentReader<'_>) -> PackageResult {
    let media = (file.len() != entry.size).then(|| wrong_size(entry, file.len()));
    PackageResult {
        media,
        signature: None,
    }
}

fn missing(entry: &MediaEntry) -> String {
    format!(
        "{}: listed in primary.xml, missing from the image",
        entry.href
    )
}

fn unreadable(entry: &MediaEntry, e: &io::Error) -> String {
    format!("{}: cannot be read: {e}", entry.href)
}

fn wrong_size(entry: &MediaEntry, len: u64) -> String {
    format!(
        "{}: {} bytes, primary.xml says {}",
        entry.href, len, entry.size
    )
}

/// The media check of a file read whole into `hash`: its size, then its SHA-256.
fn media_check(entry: &MediaEntry, hash: Sha256) -> Option<String> {
    if hash.len() != entry.size {
        return Some(wrong_size(entry, hash.len()));
    }
    let sum = hex::encode(hash.finalize());
    (sum != entry.sha256).then(|| {
        format!(
            "{}: sha256 {sum}, primary.xml says {}: the installer's media check fails",
            entry.href, entry.sha256
        )
    })
}

/// A reader that hashes what passes through it.
struct Hashing<R> {
    inner: R,
    hash: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

/// A package whose signature is judged: the check reads it as a stream (its small reads of the
/// headers buffered, its reads of the payload straight from the file), and the file's hash is
/// taken from the same reads.
fn judged_read(
    entry: &MediaEntry,
    file: ExtentReader<'_>,
    judge: SignatureCheck<'_>,
) -> PackageResult {
    let mut reader = Hashing {
        inner: io::BufReader::with_capacity(1 << 16, file),
        hash: Sha256::new(),
    };
    let signature = judge(&mut reader);
    let media = match io::copy(&mut reader, &mut io::sink()) {
        Err(e) => Some(unreadable(entry, &e)),
        Ok(_) => media_check(entry, reader.hash),
    };
    PackageResult { media, signature }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    /// The bytes of file `i` of the schedule test, `len` long.
    fn content(i: usize, len: usize) -> Vec<u8> {
        (0..len)
            .map(|j| {
                (j as u32 ^ (i as u32) << 24)
                    .wrapping_mul(2_654_435_761)
                    .to_le_bytes()[3]
            })
            .collect()
    }

    #[test]
    fn the_streams_end_together_so_nearly_everything_is_hashed_four_at_a_time() {
        // The shape of the benchmark's ISO, scaled down: twelve packages larger than
        // install.img's lanes, the lanes handed to the readers before any package is opened,
        // and two readers. With five files open per reader, 6 to 16 MB of these 55 were hashed
        // fewer than four at a time, files opened late hashed alone at the end.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sample.iso");
        crate::sample::write(&path, &crate::sample::Options::default()).unwrap();
        let mut source = SourceIso::open(&path).unwrap();
        let time = hadris_fs::DateTime::from_unix_seconds(0).unwrap();
        let image = content(99, 16 << 20);
        source
            .put_file(
                "/big.img",
                crate::iso::NewContent::Bytes(image.clone()),
                time,
            )
            .unwrap();
        let mut media = Vec::new();
        for i in 0..12 {
            let bytes = content(i, (3 << 20) + 1000 * i);
            let href = format!("Packages/p{i}.rpm");
            media.push(MediaEntry {
                href: href.clone(),
                size: bytes.len() as u64,
                sha256: hex::encode(sha2::Sha256::digest(&bytes)),
            });
            source
                .put_file(
                    &format!("/{href}"),
                    crate::iso::NewContent::Bytes(bytes),
                    time,
                )
                .unwrap();
        }
        let pass = Pass {
            hash: true,
            threads: 2,
            image_digest: Some("/big.img"),
        };
        let never = |_: usize| false;
        let judge = |_: &mut dyn Read| None;
        let (checked, side_by_side) = check_counting(&source, &media, &never, &judge, pass);
        assert!(
            checked.packages.iter().all(|p| p.media.is_none()),
            "{checked:?}"
        );
        assert_eq!(
            checked.image_digest,
            Some(crate::initrd::image_digest::image_digest_of(&image[..]).unwrap())
        );
        let all: u64 = side_by_side.iter().sum();
        assert_eq!(
            all,
            image.len() as u64 + media.iter().map(|m| m.size).sum::<u64>()
        );
        // Fewer than four at a time only at the very end: less than three chunks' worth.
        let narrow: u64 = side_by_side[..STREAMS - 1].iter().sum();
        assert!(narrow < 3 * CHUNK as u64, "{side_by_side:?}");
    }

    #[test]
    fn readers_take_their_share_so_that_they_finish_together() {
        // Plenty left: as many side by side as a reader hashes.
        assert_eq!(share(100, 2), STREAMS);
        // At the end each reader keeps one going rather than one reader two and another none.
        assert_eq!(share(2, 2), 1);
        assert_eq!(share(3, 2), 2);
        assert_eq!(share(1, 7), 1);
        // One reader takes everything it can hash at once.
        assert_eq!(share(3, 1), 3);
    }
}
