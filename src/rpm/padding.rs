//! Padding packages for size benchmarks: one large file of seeded, incompressible bytes,
//! written as a stream so that no package, however large, is ever held in memory.
//!
//! The payload is generated twice from the seed: once to learn the digests and sizes the
//! headers record, once to write it. The payload is a gzip stream of stored (uncompressed)
//! deflate blocks, which every rpm 4.x reads and which costs no compression time.

use std::io::{self, Write};

use flate2::write::GzEncoder;
use sha2::Digest as _;

use super::Error;
use super::container::{HASH_SHA256, fresh_signature_header, sigtag, write_package};
use super::evr::{check_name, check_version_chars};
use super::index::{Entry, Header, REGION_IMMUTABLE, REGION_SIGNATURES, kind, tag};
use super::lead::Lead;
use super::payload::{CpioEntry, Filler};

/// A padding package: one file of incompressible, seeded content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaddingSpec {
    /// Package name; the file is `/usr/share/<name>/filler.bin`.
    pub name: String,
    /// Version.
    pub version: String,
    /// Release.
    pub release: String,
    /// Size of the filler file in bytes (below 4 GiB).
    pub size: u64,
    /// Seed of the [`Filler`] stream.
    pub seed: u64,
}

/// rpmlib dependency sense: `RPMSENSE_RPMLIB | LESS | EQUAL`.
const RPMLIB_LE: u32 = (1 << 24) | 2 | 8;

fn i18n(tag: u32, text: &str) -> Entry {
    Entry {
        kind: kind::I18NSTRING,
        ..Entry::string(tag, text)
    }
}

fn int16(tag: u32, values: &[u16]) -> Entry {
    Entry {
        tag,
        kind: kind::INT16,
        count: values.len() as u32,
        data: values.iter().flat_map(|v| v.to_be_bytes()).collect(),
    }
}

/// Counts and hashes what is written, discarding it.
#[derive(Default)]
struct Measure {
    len: u64,
    sha256: sha2::Sha256,
}

impl Write for Measure {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.len += buf.len() as u64;
        self.sha256.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes the cpio archive of the package to `out`; returns the filler's SHA-256.
fn write_archive(
    entries: &[CpioEntry; 2],
    seed: u64,
    out: &mut impl Write,
) -> io::Result<[u8; 32]> {
    let [dir, file] = entries;
    dir.write_header(out)?;
    file.write_header(out)?;
    let mut filler = Filler::new(seed);
    let mut digest = sha2::Sha256::new();
    let mut left = u64::from(file.size);
    let mut chunk = vec![0u8; 1 << 16];
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        io::Read::read_exact(&mut filler, &mut chunk[..n])?;
        digest.update(&chunk[..n]);
        out.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    file.write_data_padding(out)?;
    CpioEntry::trailer().write_header(out)?;
    Ok(digest.finalize().into())
}

/// Writes the gzip-wrapped archive to `out`; returns the filler's SHA-256.
fn write_payload(
    entries: &[CpioEntry; 2],
    seed: u64,
    out: &mut impl Write,
) -> io::Result<[u8; 32]> {
    let mut gz = GzEncoder::new(out, flate2::Compression::none());
    let digest = write_archive(entries, seed, &mut gz)?;
    gz.try_finish()?;
    Ok(digest)
}

/// Streams a padding package (noarch) stamped with `build_time` and `build_host` to `out`.
/// Memory use is constant whatever `padding.size`.
pub fn build_padding_package(
    padding: &PaddingSpec,
    build_time: u32,
    build_host: &str,
    out: &mut impl Write,
) -> Result<(), Error> {
    check_name("package name", &padding.name)?;
    check_version_chars("version", &padding.version)?;
    check_version_chars("release", &padding.release)?;
    if build_host.bytes().any(|c| c.is_ascii_control()) {
        return Err(Error::InvalidField {
            field: "build host",
            value: build_host.to_string(),
            reason: "must be a single line without control characters",
        });
    }
    let size = u32::try_from(padding.size)
        .ok()
        .filter(|&s| s < u32::MAX - 4096)
        .ok_or_else(|| Error::InvalidField {
            field: "padding size",
            value: padding.size.to_string(),
            reason: "must be below 4 GiB",
        })?;
    let (name, version, release) = (&padding.name, &padding.version, &padding.release);
    let dir = format!("/usr/share/{name}");
    let entries = [
        CpioEntry {
            name: format!(".{dir}"),
            ino: 1,
            mode: 0o40755,
            nlink: 2,
            mtime: build_time,
            size: 0,
        },
        CpioEntry {
            name: format!(".{dir}/filler.bin"),
            ino: 2,
            mode: 0o100644,
            nlink: 1,
            mtime: build_time,
            size,
        },
    ];

    // First pass: sizes and digests.
    let mut measure = Measure::default();
    let file_digest = write_payload(&entries, padding.seed, &mut measure)
        .map_err(Error::io("measuring the padding payload"))?;
    let archive_len: u64 = entries.iter().map(CpioEntry::archive_len).sum::<u64>()
        + CpioEntry::trailer().archive_len();
    let payload_len = measure.len;
    let payload_digest = hex::encode(measure.sha256.finalize());

    let nvr = format!("{name}-{version}-{release}");
    let main = Header {
        region_tag: REGION_IMMUTABLE,
        entries: vec![
            Entry::string_array(tag::I18NTABLE, &["C"]),
            Entry::string(tag::NAME, name),
            Entry::string(tag::VERSION, version),
            Entry::string(tag::RELEASE, release),
            i18n(
                tag::SUMMARY,
                &format!("{size} bytes of deterministic filler"),
            ),
            i18n(
                tag::DESCRIPTION,
                "Incompressible filler content for size benchmarks.",
            ),
            Entry::int32(tag::BUILDTIME, &[build_time]),
            Entry::string(tag::BUILDHOST, build_host),
            Entry::int32(tag::SIZE, &[size]),
            Entry::string(tag::LICENSE, "CC0"),
            i18n(tag::GROUP, "Unspecified"),
            Entry::string(tag::OS, "linux"),
            Entry::string(tag::ARCH, "noarch"),
            Entry::int32(tag::FILESIZES, &[0, size]),
            int16(tag::FILEMODES, &[0o40755, 0o100644]),
            int16(tag::FILERDEVS, &[0, 0]),
            Entry::int32(tag::FILEMTIMES, &[build_time, build_time]),
            Entry::string_array(tag::FILEDIGESTS, &["", &hex::encode(file_digest)]),
            Entry::string_array(tag::FILELINKTOS, &["", ""]),
            Entry::int32(tag::FILEFLAGS, &[0, 0]),
            Entry::string_array(tag::FILEUSERNAME, &["root", "root"]),
            Entry::string_array(tag::FILEGROUPNAME, &["root", "root"]),
            Entry::string(tag::SOURCERPM, &format!("{nvr}.src.rpm")),
            Entry::string_array(tag::PROVIDENAME, &[name]),
            Entry::int32(tag::PROVIDEFLAGS, &[8]),
            Entry::string_array(tag::PROVIDEVERSION, &[format!("{version}-{release}")]),
            Entry::string_array(
                tag::REQUIRENAME,
                &[
                    "rpmlib(CompressedFileNames)",
                    "rpmlib(FileDigests)",
                    "rpmlib(PayloadFilesHavePrefix)",
                ],
            ),
            Entry::int32(tag::REQUIREFLAGS, &[RPMLIB_LE; 3]),
            Entry::string_array(tag::REQUIREVERSION, &["3.0.4-1", "4.6.0-1", "4.0-1"]),
            Entry::int32(tag::FILEDEVICES, &[1, 1]),
            Entry::int32(tag::FILEINODES, &[1, 2]),
            Entry::string_array(tag::FILELANGS, &["", ""]),
            Entry::int32(tag::DIRINDEXES, &[0, 1]),
            Entry::string_array(tag::BASENAMES, &[name.as_str(), "filler.bin"]),
            Entry::string_array(
                tag::DIRNAMES,
                &["/usr/share/".to_string(), format!("{dir}/")],
            ),
            Entry::string(tag::PAYLOADFORMAT, "cpio"),
            Entry::string(tag::PAYLOADCOMPRESSOR, "gzip"),
            Entry::string(tag::PAYLOADFLAGS, "0"),
            Entry::int32(tag::FILEDIGESTALGO, &[HASH_SHA256]),
            Entry::string(tag::ENCODING, "utf-8"),
            Entry::string_array(tag::PAYLOADDIGEST, &[payload_digest]),
            Entry::int32(tag::PAYLOADDIGESTALGO, &[HASH_SHA256]),
        ],
    };
    let main_bytes = main.to_bytes();
    let empty = Header {
        region_tag: REGION_SIGNATURES,
        entries: Vec::new(),
    };
    let mut sig = fresh_signature_header(&empty, &main_bytes, Some(payload_len));
    match u32::try_from(archive_len) {
        Ok(small) => sig.set(Entry::int32(sigtag::PAYLOADSIZE, &[small])),
        Err(_) => sig.set(Entry::int64(sigtag::LONGARCHIVESIZE, &[archive_len])),
    }

    // Second pass: the package itself.
    let lead = Lead::new(&nvr);
    write_package(out, &lead, &sig, &main_bytes, &mut io::empty())?;
    write_payload(&entries, padding.seed, out).map_err(Error::io("writing the padding payload"))?;
    Ok(())
}
