//! The parts of a package file before the payload: lead, signature header (padded to 8 bytes)
//! and main header; and the signature header's digest and size entries.

use std::io::{self, Read, Write};

use sha1::Digest as _;

use super::Error;
use super::index::{Entry, Header, tag};
use super::lead::{LEAD_SIZE, Lead};
use crate::read_fully::read_fully;

/// Signature header tags this crate reads or writes.
pub mod sigtag {
    /// Header+payload size, 32 bits.
    pub const SIZE: u32 = 1000;
    /// Header+payload size, 64 bits.
    pub const LONGSIZE: u32 = 270;
    /// Uncompressed payload size, 32 bits.
    pub const PAYLOADSIZE: u32 = 1007;
    /// Uncompressed payload size, 64 bits.
    pub const LONGARCHIVESIZE: u32 = 271;
    /// Space kept free for signatures added later.
    pub const RESERVEDSPACE: u32 = 1008;
    /// SHA-1 of the main header, hex.
    pub const SHA1: u32 = 269;
    /// SHA-256 of the main header, hex.
    pub const SHA256: u32 = 273;
    /// OpenPGP signature of the main header, RSA.
    pub const RSA: u32 = 268;
    /// OpenPGP signature of the main header, DSA/ECDSA/EdDSA.
    pub const DSA: u32 = 267;
    /// OpenPGP signature of main header and payload, RSA (or any v3 signature).
    pub const PGP: u32 = 1002;
    /// MD5 of main header and payload, 16 bytes.
    pub const MD5: u32 = 1004;
    /// OpenPGP signature of main header and payload, DSA.
    pub const GPG: u32 = 1005;
    /// Legacy PGP 5 signature of main header and payload.
    pub const PGP5: u32 = 1006;
    /// Every signature tag (header-only and header+payload).
    pub const SIGNATURES: [u32; 5] = [RSA, DSA, PGP, GPG, PGP5];
}

/// rpm's number for SHA-1.
const HASH_SHA1: u32 = 2;
/// rpm's number for SHA-256.
pub(crate) const HASH_SHA256: u32 = 8;
/// rpm's number for SHA-512.
const HASH_SHA512: u32 = 10;

/// The start of a package: everything up to the payload.
#[derive(Debug, Clone)]
pub struct PackageStart {
    /// The lead.
    pub lead: Lead,
    /// The signature header.
    pub signature: Header,
    /// The main header, parsed.
    pub main: Header,
    /// The main header's exact bytes.
    pub main_raw: Vec<u8>,
    /// Offset of the main header in the file (lead and padded signature header before it).
    pub main_offset: u64,
}

impl PackageStart {
    /// Reads lead, signature header and main header; `input` is left at the payload.
    pub fn read(input: &mut impl Read) -> Result<Self, Error> {
        let lead = Lead::read(input)?;
        let (signature, sig_raw) = Header::read(input, "signature header")?;
        let pad = padding(sig_raw.len());
        let mut skip = [0u8; 8];
        let got = read_fully(input, &mut skip[..pad]).map_err(Error::io("reading a header"))?;
        if got < pad {
            return Err(Error::Truncated {
                part: "signature header",
            });
        }
        let (main, main_raw) = Header::read(input, "main header")?;
        let main_offset = (LEAD_SIZE + sig_raw.len() + pad) as u64;
        Ok(PackageStart {
            lead,
            signature,
            main,
            main_raw,
            main_offset,
        })
    }

    /// Checks the main header against the SHA-256 and SHA-1 digests of the signature header,
    /// those it has.
    pub fn verify_header_digest(&self) -> Result<(), Error> {
        let recorded = |tag| {
            self.signature
                .get(tag)
                .and_then(|e| e.strings().into_iter().next())
        };
        if let Some(expected) = recorded(sigtag::SHA256) {
            let actual = hex::encode(sha2::Sha256::digest(&self.main_raw));
            compare("main header", "SHA-256", expected, actual)?;
        }
        if let Some(expected) = recorded(sigtag::SHA1) {
            let actual = hex::encode(sha1::Sha1::digest(&self.main_raw));
            compare("main header", "SHA-1", expected, actual)?;
        }
        Ok(())
    }

    /// The payload digest recorded in the main header: rpm's algorithm number and the hex
    /// digest, if it has one.
    pub fn payload_digest(&self) -> Option<(u32, String)> {
        let digest = self
            .main
            .get(tag::PAYLOADDIGEST)
            .and_then(|e| e.strings().into_iter().next())?;
        let algo = self
            .main
            .get(tag::PAYLOADDIGESTALGO)
            .and_then(|e| e.int32s().first().copied())
            .unwrap_or(HASH_SHA256);
        Some((algo, digest))
    }

    /// The SHA-256 payload digest recorded in the main header (hex), if it has one.
    pub fn payload_sha256(&self) -> Option<String> {
        self.payload_digest()
            .filter(|(algo, _)| *algo == HASH_SHA256)
            .map(|(_, d)| d)
    }

    /// The main header's byte range in the file, as repodata's `header-range` gives it:
    /// start is the end of the signature header's padding, end the start of the payload.
    pub fn header_range(&self) -> (u64, u64) {
        (
            self.main_offset,
            self.main_offset + self.main_raw.len() as u64,
        )
    }

    /// Payload length according to the signature header's size entry, if it has one.
    pub fn payload_len(&self) -> Option<u64> {
        let total = self
            .signature
            .get(sigtag::SIZE)
            .and_then(|e| e.int32s().first().map(|&v| u64::from(v)))
            .or_else(|| {
                self.signature
                    .get(sigtag::LONGSIZE)
                    .and_then(|e| e.int64s().first().copied())
            })?;
        total.checked_sub(self.main_raw.len() as u64)
    }
}

/// Zero bytes that follow a signature header of `len` bytes to reach an 8-byte boundary.
fn padding(len: usize) -> usize {
    (8 - len % 8) % 8
}

/// A signature header for `main_header`: the size, payload size and reserved-space entries of
/// `old` are kept, the header digests are recomputed, and every signature is left out (callers
/// add the new ones).
pub fn fresh_signature_header(
    old: &Header,
    main_header: &[u8],
    payload_len: Option<u64>,
) -> Header {
    let mut sig = Header {
        region_tag: old.region_tag,
        entries: old
            .entries
            .iter()
            .filter(|e| {
                [
                    sigtag::PAYLOADSIZE,
                    sigtag::LONGARCHIVESIZE,
                    sigtag::RESERVEDSPACE,
                ]
                .contains(&e.tag)
            })
            .cloned()
            .collect(),
    };
    sig.set(Entry::string(
        sigtag::SHA1,
        &hex::encode(sha1::Sha1::digest(main_header)),
    ));
    sig.set(Entry::string(
        sigtag::SHA256,
        &hex::encode(sha2::Sha256::digest(main_header)),
    ));
    if let Some(payload_len) = payload_len {
        let total = payload_len + main_header.len() as u64;
        match u32::try_from(total) {
            Ok(small) => sig.set(Entry::int32(sigtag::SIZE, &[small])),
            Err(_) => sig.set(Entry::int64(sigtag::LONGSIZE, &[total])),
        }
    }
    sig
}

/// Writes lead, signature header (padded) and main header, then copies the payload from
/// `payload` unchanged. Returns the number of payload bytes copied and their SHA-256 (hex).
pub fn write_package(
    out: &mut impl Write,
    lead: &Lead,
    signature: &Header,
    main_header: &[u8],
    payload: &mut impl Read,
) -> Result<(u64, String), Error> {
    let sig = signature.to_bytes();
    out.write_all(lead.as_bytes())
        .and_then(|_| out.write_all(&sig))
        .and_then(|_| out.write_all(&[0u8; 8][..padding(sig.len())]))
        .and_then(|_| out.write_all(main_header))
        .map_err(Error::io("writing the package headers"))?;
    let mut hashing = HashingWriter {
        inner: out,
        hasher: sha2::Sha256::new(),
    };
    let copied = io::copy(payload, &mut hashing).map_err(Error::io("copying the payload"))?;
    Ok((copied, hex::encode(hashing.hasher.finalize())))
}

/// Passes bytes through while hashing them.
struct HashingWriter<'a, W> {
    inner: &'a mut W,
    hasher: sha2::Sha256,
}

impl<W: Write> Write for HashingWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Checks the payload copied against the length the signature header's size entry promised
/// and the SHA-256 the main header records. (The output is already written when this fails:
/// callers write to a temporary file and drop it on error.)
pub fn check_payload(start: &PackageStart, copied: (u64, String)) -> Result<(), Error> {
    let (len, sha256) = copied;
    if let Some(expected) = start.payload_len()
        && expected != len
    {
        return Err(Error::MalformedHeader {
            part: "signature header",
            reason: format!(
                "its size entry promises {expected} payload bytes but the package has {len}"
            ),
        });
    }
    if let Some(expected) = start.payload_sha256() {
        compare("payload", "SHA-256", expected, sha256)?;
    }
    Ok(())
}

/// A recorded digest against the content's (hex, either case).
fn compare(
    part: &'static str,
    digest: &'static str,
    expected: String,
    actual: String,
) -> Result<(), Error> {
    if expected.eq_ignore_ascii_case(&actual) {
        return Ok(());
    }
    Err(Error::DigestMismatch {
        part,
        digest,
        expected,
        actual,
    })
}

/// What one pass over the main header and the payload gives.
#[derive(Debug, Clone)]
pub struct BodyHashes {
    /// MD5 of main header and payload (the signature header's MD5 entry).
    pub md5: [u8; 16],
    /// Payload length in bytes.
    pub payload_len: u64,
    /// The payload's digest with the algorithm the main header names (hex), when it names a
    /// known one.
    pub payload_digest: Option<String>,
}

impl BodyHashes {
    /// Checks the payload against the main header's payload digest and the signature header's
    /// size entry; `check_md5` also checks the signature header's MD5 entry.
    pub fn check(&self, start: &PackageStart, check_md5: bool) -> Result<(), Error> {
        if let Some(expected) = start.payload_len()
            && expected != self.payload_len
        {
            return Err(Error::MalformedHeader {
                part: "signature header",
                reason: format!(
                    "its size entry promises {expected} payload bytes but the package has {}",
                    self.payload_len
                ),
            });
        }
        if let (Some((algo, expected)), Some(actual)) =
            (start.payload_digest(), self.payload_digest.clone())
        {
            compare("payload", digest_name(algo), expected, actual)?;
        }
        if check_md5 && let Some(e) = start.signature.get(sigtag::MD5) {
            compare(
                "header and payload",
                "MD5",
                hex::encode(&e.data),
                hex::encode(self.md5),
            )?;
        }
        Ok(())
    }
}

fn digest_name(algo: u32) -> &'static str {
    match algo {
        HASH_SHA1 => "SHA-1",
        HASH_SHA256 => "SHA-256",
        HASH_SHA512 => "SHA-512",
        _ => "unknown",
    }
}

/// Reads the payload from `payload` (positioned after the main header) to its end, hashing the
/// main header and the payload: MD5 of both, the payload digest, and both fed to each of
/// `sinks` (signature hashers).
pub fn hash_body(
    start: &PackageStart,
    payload: &mut impl Read,
    sinks: &mut [&mut dyn Write],
) -> Result<BodyHashes, Error> {
    let mut md5 = md5::Md5::new();
    md5.update(&start.main_raw);
    for s in sinks.iter_mut() {
        s.write_all(&start.main_raw)
            .map_err(Error::io("hashing the main header"))?;
    }
    let mut payload_hash: Option<Box<dyn sha2::digest::DynDigest>> =
        match start.payload_digest().map(|(a, _)| a) {
            Some(HASH_SHA1) => Some(Box::new(sha1::Sha1::new())),
            Some(HASH_SHA256) => Some(Box::new(sha2::Sha256::new())),
            Some(HASH_SHA512) => Some(Box::new(sha2::Sha512::new())),
            _ => None,
        };
    let mut buf = vec![0u8; 1 << 16];
    let mut len = 0u64;
    loop {
        let n = match payload.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io("reading the payload")(e)),
        };
        let chunk = &buf[..n];
        md5.update(chunk);
        if let Some(h) = payload_hash.as_mut() {
            h.update(chunk);
        }
        for s in sinks.iter_mut() {
            s.write_all(chunk)
                .map_err(Error::io("hashing the payload"))?;
        }
        len += n as u64;
    }
    Ok(BodyHashes {
        md5: md5.finalize().into(),
        payload_len: len,
        payload_digest: payload_hash.map(|h| hex::encode(h.finalize())),
    })
}
