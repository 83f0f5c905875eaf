//! The parts of a package file before the payload: lead, signature header (padded to 8 bytes)
//! and main header; and the signature header's digest and size entries.

use std::io::{self, Read, Write};

use sha1::Digest as _;

use super::Error;
use super::index::{Entry, Header, read_fully, tag};
use super::lead::{LEAD_SIZE, Lead};

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
}

/// rpm's number for SHA-256.
const HASH_SHA256: u32 = 8;

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

    /// Checks the main header against the SHA-256 (else SHA-1) digest of the signature header,
    /// when it has one.
    pub fn verify_header_digest(&self) -> Result<(), Error> {
        let recorded = |tag| {
            self.signature
                .get(tag)
                .and_then(|e| e.strings().into_iter().next())
        };
        let (expected, actual) = if let Some(hex) = recorded(sigtag::SHA256) {
            (hex, hex::encode(sha2::Sha256::digest(&self.main_raw)))
        } else if let Some(hex) = recorded(sigtag::SHA1) {
            (hex, hex::encode(sha1::Sha1::digest(&self.main_raw)))
        } else {
            return Ok(());
        };
        if !expected.eq_ignore_ascii_case(&actual) {
            return Err(Error::DigestMismatch {
                part: "main header",
                expected,
                actual,
            });
        }
        Ok(())
    }

    /// The SHA-256 payload digest recorded in the main header (hex), if it has one.
    pub fn payload_sha256(&self) -> Option<String> {
        let algo = self
            .main
            .get(tag::PAYLOADDIGESTALGO)
            .and_then(|e| e.int32s().first().copied())?;
        if algo != HASH_SHA256 {
            return None;
        }
        self.main
            .get(tag::PAYLOADDIGEST)
            .and_then(|e| e.strings().into_iter().next())
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
    if let Some(expected) = start.payload_sha256()
        && !expected.eq_ignore_ascii_case(&sha256)
    {
        return Err(Error::DigestMismatch {
            part: "payload",
            expected,
            actual: sha256,
        });
    }
    Ok(())
}
