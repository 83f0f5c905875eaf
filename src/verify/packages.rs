//! The installer's media check over the package files: each file primary.xml lists is read once
//! and its size and SHA-256 compared with primary.xml's; a package whose signature yum would
//! check is judged in the same pass.
//!
//! One reader per core takes the files largest first (so that the last ones taken are small and
//! the readers finish together). A reader keeps two files open and hashes a chunk of each side
//! by side ([`update_many`]), through two buffers it reuses for every file. A package whose
//! signature is judged is read alone, as a stream, by the signature check.

use std::cmp::Reverse;
use std::io::{self, Read};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::repodata::MediaEntry;
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
pub struct Pass {
    /// Hash each file (else only its presence and size are checked, unless its signature is
    /// judged).
    pub hash: bool,
    /// Threads reading files (at most [`MAX_READERS`]).
    pub threads: usize,
}

/// The bytes read from a file at a time, into each of a reader's buffers.
const CHUNK: usize = 1 << 20;

/// Files a reader hashes side by side, one buffer each. Two: four compress faster in isolation,
/// but their rounds need more vector registers than x86-64 has, and how well the compiler
/// spills them changes from build to build (verify of the 600 MB sample took 0.134 s with one
/// build of the same code and 0.187 s with the next); two keep every value in registers and
/// took 0.136 s.
const STREAMS: usize = 2;

/// At most this many readers, whatever the number of cores: their buffers stay at 16 MiB (the
/// peak RSS ceiling is 150 MB), and 8 of them hash some 20 GB/s, more than storage delivers.
const MAX_READERS: usize = 8;

/// Checks every package of `media`; `signature(i)` says whether package `i`'s signature is
/// judged with `judge`. Results are in `media`'s order, whatever the number of threads.
pub fn check(
    source: &SourceIso,
    media: &[MediaEntry],
    signature: &(dyn Fn(usize) -> bool + Sync),
    judge: SignatureCheck<'_>,
    pass: Pass,
) -> Vec<PackageResult> {
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
    };
    std::thread::scope(|scope| {
        for _ in 0..pass.threads.clamp(1, MAX_READERS) {
            scope.spawn(|| work.read());
        }
    });
    work.results.into_inner().unwrap_or_else(|e| e.into_inner())
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
}

/// A file being hashed.
struct Open<'a> {
    index: usize,
    file: ExtentReader<'a>,
    hash: Sha256,
}

impl<'a> Work<'a> {
    /// One reader: takes files until none is left, [`STREAMS`] open at a time.
    fn read(&self) {
        let mut buffers: [Vec<u8>; STREAMS] = std::array::from_fn(|_| vec![0u8; CHUNK]);
        let mut open: [Option<Open<'a>>; STREAMS] = std::array::from_fn(|_| None);
        loop {
            for slot in open.iter_mut().filter(|s| s.is_none()) {
                *slot = self.next_to_hash();
            }
            if open.iter().all(Option::is_none) {
                break;
            }
            // The next chunk of each open file, into its buffer (`None`: no file in that slot).
            let read: [Option<io::Result<usize>>; STREAMS] = std::array::from_fn(|i| {
                let buf = &mut buffers[i];
                open[i].as_mut().map(|o| read_chunk(&mut o.file, buf))
            });
            // The chunks read, hashed up to four at a time.
            let mut chunks: Vec<(&mut Sha256, &[u8])> = open
                .iter_mut()
                .zip(&buffers)
                .zip(&read)
                .filter_map(|((slot, buf), read)| match (slot, read) {
                    (Some(o), Some(Ok(n))) => Some((&mut o.hash, &buf[..*n])),
                    _ => None,
                })
                .collect();
            while !chunks.is_empty() {
                let take = match chunks.len() {
                    4.. => 4,
                    2 | 3 => 2,
                    _ => 1,
                };
                let mut group = chunks.drain(..take);
                match (group.next(), group.next(), group.next(), group.next()) {
                    (Some((a, da)), Some((b, db)), Some((c, dc)), Some((d, dd))) => {
                        update_many([a, b, c, d], [da, db, dc, dd]);
                    }
                    (Some((a, da)), Some((b, db)), None, None) => update_pair(a, da, b, db),
                    (Some((a, da)), None, None, None) => a.update(da),
                    _ => {}
                }
            }
            for (slot, read) in open.iter_mut().zip(read) {
                let done = match read {
                    Some(Ok(0)) => slot.take().map(|o| (o, None)),
                    Some(Err(e)) => slot.take().map(|o| (o, Some(e))),
                    _ => None,
                };
                if let Some((o, error)) = done {
                    let entry = &self.media[o.index];
                    let media = match error {
                        Some(e) => Some(unreadable(entry, &e)),
                        None => media_check(entry, o.hash),
                    };
                    self.record(
                        o.index,
                        PackageResult {
                            media,
                            signature: None,
                        },
                    );
                }
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
                    index,
                    file,
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

/// The next bytes of `file` into `buf` (0 at its end).
fn read_chunk(file: &mut ExtentReader<'_>, buf: &mut [u8]) -> io::Result<usize> {
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
