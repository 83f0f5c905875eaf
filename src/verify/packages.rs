//! The installer's media check over the package files: each file primary.xml lists is read once
//! (in parallel) and its size and SHA-256 compared with primary.xml's; a package whose signature
//! yum would check is judged in the same pass.

use std::io::{self, Read};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use sha2::{Digest, Sha256};

use super::repodata::MediaEntry;
use crate::iso::SourceIso;

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

/// A reader that hashes what passes through it.
struct Hashing<R> {
    inner: R,
    hash: Sha256,
    len: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
}

/// How the package files are read.
#[derive(Debug, Clone, Copy)]
pub struct Pass {
    /// Hash each file (else only its presence and size are checked, unless its signature is
    /// judged).
    pub hash: bool,
    /// Threads reading files.
    pub threads: usize,
}

/// Checks every package of `media`; `signature(i)` says whether package `i`'s signature is
/// judged with `judge`. Results are in `media`'s order.
pub fn check(
    source: &SourceIso,
    media: &[MediaEntry],
    signature: &(dyn Fn(usize) -> bool + Sync),
    judge: SignatureCheck<'_>,
    pass: Pass,
) -> Vec<PackageResult> {
    let threads = pass.threads;
    let results = Mutex::new(vec![PackageResult::default(); media.len()]);
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(entry) = media.get(i) else { break };
                    let judge = signature(i).then_some(judge);
                    let result = if pass.hash || judge.is_some() {
                        one(source, entry, judge)
                    } else {
                        present(source, entry)
                    };
                    if let Ok(mut all) = results.lock() {
                        all[i] = result;
                    }
                }
            });
        }
    });
    results.into_inner().unwrap_or_else(|e| e.into_inner())
}

/// Only that the file is there with primary.xml's size.
fn present(source: &SourceIso, entry: &MediaEntry) -> PackageResult {
    let media = match source.open_file(&format!("/{}", entry.href)) {
        Err(_) => Some(missing(entry)),
        Ok(f) if f.len() != entry.size => Some(format!(
            "{}: {} bytes, primary.xml says {}",
            entry.href,
            f.len(),
            entry.size
        )),
        Ok(_) => None,
    };
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

fn one(source: &SourceIso, entry: &MediaEntry, judge: Option<SignatureCheck<'_>>) -> PackageResult {
    let path = format!("/{}", entry.href);
    let file = match source.open_file(&path) {
        Ok(f) => f,
        Err(_) => {
            return PackageResult {
                media: Some(missing(entry)),
                signature: None,
            };
        }
    };
    let mut reader = Hashing {
        inner: io::BufReader::with_capacity(1 << 20, file),
        hash: Sha256::new(),
        len: 0,
    };
    let signature = judge.and_then(|j| j(&mut reader));
    let media = match io::copy(&mut reader, &mut io::sink()) {
        Err(e) => Some(format!("{}: cannot be read: {e}", entry.href)),
        Ok(_) => {
            let sum = hex::encode(reader.hash.finalize());
            if reader.len != entry.size {
                Some(format!(
                    "{}: {} bytes, primary.xml says {}",
                    entry.href, reader.len, entry.size
                ))
            } else if sum != entry.sha256 {
                Some(format!(
                    "{}: sha256 {sum}, primary.xml says {}: the installer's media check fails",
                    entry.href, entry.sha256
                ))
            } else {
                None
            }
        }
    };
    PackageResult { media, signature }
}
