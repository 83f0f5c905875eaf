//! The header structure shared by the signature header and the main header: an index of
//! 16-byte entries (tag, type, offset, count) followed by a data store, the whole wrapped in an
//! "immutable region" whose trailer rpm checks.
//!
//! Headers are read with every length and offset checked and with the limits rpm itself applies,
//! and written back with the entries sorted by tag, data aligned for its type and a fresh region
//! covering every entry.

use std::io::Read;

use crate::read_fully::read_fully;

use super::Error;

/// Magic and version bytes that open every header structure.
pub const HEADER_MAGIC: [u8; 8] = [0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0];
/// Region tag of the signature header.
pub const REGION_SIGNATURES: u32 = 62;
/// Region tag of the main header.
pub const REGION_IMMUTABLE: u32 = 63;
/// Legacy region tag (`HEADERIMAGE`).
const REGION_IMAGE: u32 = 61;
/// Most index entries rpm accepts in one header.
const MAX_ENTRIES: u32 = 0xffff;
/// Largest data store rpm accepts in one header (256 MiB).
const MAX_DATA: u32 = 256 << 20;

/// Type of an entry's data.
pub mod kind {
    /// Single bytes.
    pub const CHAR: u32 = 1;
    /// Unsigned 8-bit integers.
    pub const INT8: u32 = 2;
    /// Big-endian 16-bit integers.
    pub const INT16: u32 = 3;
    /// Big-endian 32-bit integers.
    pub const INT32: u32 = 4;
    /// Big-endian 64-bit integers.
    pub const INT64: u32 = 5;
    /// One NUL-terminated string.
    pub const STRING: u32 = 6;
    /// Opaque bytes.
    pub const BIN: u32 = 7;
    /// NUL-terminated strings.
    pub const STRING_ARRAY: u32 = 8;
    /// NUL-terminated strings, one per header language.
    pub const I18NSTRING: u32 = 9;
}

/// Main header tags this crate reads or writes.
pub mod tag {
    /// Languages of the I18N strings.
    pub const I18NTABLE: u32 = 100;
    /// Package name.
    pub const NAME: u32 = 1000;
    /// Version.
    pub const VERSION: u32 = 1001;
    /// Release.
    pub const RELEASE: u32 = 1002;
    /// Epoch.
    pub const EPOCH: u32 = 1003;
    /// One-line summary (I18N).
    pub const SUMMARY: u32 = 1004;
    /// Description (I18N).
    pub const DESCRIPTION: u32 = 1005;
    /// Build time.
    pub const BUILDTIME: u32 = 1006;
    /// Build host.
    pub const BUILDHOST: u32 = 1007;
    /// Installed size, 32 bits.
    pub const SIZE: u32 = 1009;
    /// License.
    pub const LICENSE: u32 = 1014;
    /// Group (I18N).
    pub const GROUP: u32 = 1016;
    /// Operating system.
    pub const OS: u32 = 1021;
    /// Architecture.
    pub const ARCH: u32 = 1022;
    /// File sizes.
    pub const FILESIZES: u32 = 1028;
    /// File modes.
    pub const FILEMODES: u32 = 1030;
    /// Device numbers of device files.
    pub const FILERDEVS: u32 = 1033;
    /// File modification times.
    pub const FILEMTIMES: u32 = 1034;
    /// File digests, hex.
    pub const FILEDIGESTS: u32 = 1035;
    /// Symlink targets.
    pub const FILELINKTOS: u32 = 1036;
    /// File flags (config, ghost...).
    pub const FILEFLAGS: u32 = 1037;
    /// File owners.
    pub const FILEUSERNAME: u32 = 1039;
    /// File groups.
    pub const FILEGROUPNAME: u32 = 1040;
    /// Source RPM file name.
    pub const SOURCERPM: u32 = 1044;
    /// Provides: names.
    pub const PROVIDENAME: u32 = 1047;
    /// Requires: senses.
    pub const REQUIREFLAGS: u32 = 1048;
    /// Requires: names.
    pub const REQUIRENAME: u32 = 1049;
    /// Requires: versions.
    pub const REQUIREVERSION: u32 = 1050;
    /// Devices of the files.
    pub const FILEDEVICES: u32 = 1095;
    /// Inode numbers of the files.
    pub const FILEINODES: u32 = 1096;
    /// Languages of the files.
    pub const FILELANGS: u32 = 1097;
    /// Provides: senses.
    pub const PROVIDEFLAGS: u32 = 1112;
    /// Provides: versions.
    pub const PROVIDEVERSION: u32 = 1113;
    /// Directory index of each file.
    pub const DIRINDEXES: u32 = 1116;
    /// File base names.
    pub const BASENAMES: u32 = 1117;
    /// Directory names.
    pub const DIRNAMES: u32 = 1118;
    /// Payload format (`cpio`).
    pub const PAYLOADFORMAT: u32 = 1124;
    /// Payload compressor.
    pub const PAYLOADCOMPRESSOR: u32 = 1125;
    /// Payload compression level.
    pub const PAYLOADFLAGS: u32 = 1126;
    /// File digest algorithm.
    pub const FILEDIGESTALGO: u32 = 5011;
    /// String encoding (`utf-8`).
    pub const ENCODING: u32 = 5062;
    /// Payload digest, hex.
    pub const PAYLOADDIGEST: u32 = 5092;
    /// Payload digest algorithm.
    pub const PAYLOADDIGESTALGO: u32 = 5093;
}

/// One header entry with its raw data (without alignment padding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The tag number.
    pub tag: u32,
    /// The data type (see [`kind`]).
    pub kind: u32,
    /// Number of items (bytes for `BIN`).
    pub count: u32,
    /// The data bytes as stored.
    pub data: Vec<u8>,
}

impl Entry {
    /// A `STRING` entry.
    pub fn string(tag: u32, value: &str) -> Self {
        let mut data = value.as_bytes().to_vec();
        data.push(0);
        Entry {
            tag,
            kind: kind::STRING,
            count: 1,
            data,
        }
    }

    /// A `STRING_ARRAY` entry.
    pub fn string_array<S: AsRef<str>>(tag: u32, values: &[S]) -> Self {
        let mut data = Vec::new();
        for v in values {
            data.extend_from_slice(v.as_ref().as_bytes());
            data.push(0);
        }
        Entry {
            tag,
            kind: kind::STRING_ARRAY,
            count: values.len() as u32,
            data,
        }
    }

    /// An `INT32` entry.
    pub fn int32(tag: u32, values: &[u32]) -> Self {
        Entry {
            tag,
            kind: kind::INT32,
            count: values.len() as u32,
            data: values.iter().flat_map(|v| v.to_be_bytes()).collect(),
        }
    }

    /// An `INT64` entry.
    pub fn int64(tag: u32, values: &[u64]) -> Self {
        Entry {
            tag,
            kind: kind::INT64,
            count: values.len() as u32,
            data: values.iter().flat_map(|v| v.to_be_bytes()).collect(),
        }
    }

    /// A `BIN` entry.
    pub fn bin(tag: u32, bytes: &[u8]) -> Self {
        Entry {
            tag,
            kind: kind::BIN,
            count: bytes.len() as u32,
            data: bytes.to_vec(),
        }
    }

    /// The strings of a `STRING`, `STRING_ARRAY` or `I18NSTRING` entry (lossy UTF-8).
    pub fn strings(&self) -> Vec<String> {
        match self.kind {
            kind::STRING | kind::STRING_ARRAY | kind::I18NSTRING => self
                .data
                .split(|&b| b == 0)
                .take(self.count as usize)
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The values of an `INT32` entry.
    pub fn int32s(&self) -> Vec<u32> {
        if self.kind != kind::INT32 {
            return Vec::new();
        }
        self.data
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    }

    /// The values of an `INT64` entry.
    pub fn int64s(&self) -> Vec<u64> {
        if self.kind != kind::INT64 {
            return Vec::new();
        }
        self.data
            .chunks_exact(8)
            .map(|c| {
                let mut b = [0u8; 8];
                b.copy_from_slice(c);
                u64::from_be_bytes(b)
            })
            .collect()
    }
}

/// A header: its region tag and its entries (the region entry itself is not among them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// [`REGION_SIGNATURES`] or [`REGION_IMMUTABLE`].
    pub region_tag: u32,
    /// The entries, in the order read (sorted by tag when written).
    pub entries: Vec<Entry>,
}

fn be32(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_be_bytes(w)
}

impl Header {
    /// Reads one header structure; `part` names it in errors ("signature header", "main
    /// header"). Returns the parsed header and its exact bytes as read.
    pub fn read(input: &mut impl Read, part: &'static str) -> Result<(Self, Vec<u8>), Error> {
        let malformed = |reason: String| Error::MalformedHeader { part, reason };
        let mut intro = [0u8; 16];
        let got = read_fully(input, &mut intro).map_err(Error::io("reading a header"))?;
        if got < intro.len() {
            return Err(Error::Truncated { part });
        }
        if intro[..8] != HEADER_MAGIC {
            return Err(malformed(format!("bad header magic {:02x?}", &intro[..8])));
        }
        let il = be32(&intro, 8);
        let dl = be32(&intro, 12);
        if il == 0 || il > MAX_ENTRIES {
            return Err(malformed(format!(
                "impossible size: {il} index entries (1 to {MAX_ENTRIES} allowed)"
            )));
        }
        if dl > MAX_DATA {
            return Err(malformed(format!(
                "impossible size: a data store of {dl} bytes (at most {MAX_DATA})"
            )));
        }
        let rest_len = il as usize * 16 + dl as usize;
        let mut rest = Vec::new();
        input
            .take(rest_len as u64)
            .read_to_end(&mut rest)
            .map_err(Error::io("reading a header"))?;
        if rest.len() < rest_len {
            return Err(Error::Truncated { part });
        }
        let (index, store) = rest.split_at(il as usize * 16);
        let mut entries = Vec::with_capacity(il as usize);
        let mut region_tag = None;
        let mut end = 0usize;
        for (i, raw) in index.chunks_exact(16).enumerate() {
            let (tag, kind, offset, count) = (
                be32(raw, 0),
                be32(raw, 4),
                be32(raw, 8) as i32,
                be32(raw, 12),
            );
            if i == 0 && [REGION_IMAGE, REGION_SIGNATURES, REGION_IMMUTABLE].contains(&tag) {
                region_tag = Some(tag);
                if kind != kind::BIN || count != 16 {
                    return Err(malformed(format!(
                        "region tag {tag} has type {kind}, count {count}"
                    )));
                }
                continue;
            }
            let start = usize::try_from(offset)
                .ok()
                .filter(|&o| o <= store.len())
                .ok_or_else(|| {
                    malformed(format!("tag {tag}: offset {offset} outside the data store"))
                })?;
            let len = data_len(kind, count, &store[start..]).map_err(|reason| {
                malformed(format!("tag {tag} (type {kind}, count {count}): {reason}"))
            })?;
            // As rpm requires, each entry's data follows the previous entry's: no overlaps,
            // which also bounds the memory the copies below take to the size of the store.
            if start < end {
                return Err(malformed(format!(
                    "tag {tag}: its data at offset {start} overlaps the previous entry's (ending at {end})"
                )));
            }
            end = start + len;
            entries.push(Entry {
                tag,
                kind,
                count,
                data: store[start..start + len].to_vec(),
            });
        }
        let region_tag = match region_tag {
            Some(REGION_IMAGE) | None => {
                if part == "signature header" {
                    REGION_SIGNATURES
                } else {
                    REGION_IMMUTABLE
                }
            }
            Some(t) => t,
        };
        let mut raw = intro.to_vec();
        raw.extend_from_slice(&rest);
        Ok((
            Header {
                region_tag,
                entries,
            },
            raw,
        ))
    }

    /// The entry with this tag, if any.
    pub fn get(&self, tag: u32) -> Option<&Entry> {
        self.entries.iter().find(|e| e.tag == tag)
    }

    /// Replaces the entry with the same tag, or adds it.
    pub fn set(&mut self, entry: Entry) {
        match self.entries.iter_mut().find(|e| e.tag == entry.tag) {
            Some(e) => *e = entry,
            None => self.entries.push(entry),
        }
    }

    /// Removes the entry with this tag, if any.
    pub fn remove(&mut self, tag: u32) {
        self.entries.retain(|e| e.tag != tag);
    }

    /// Serializes the header: entries sorted by tag, each entry's data aligned for its type,
    /// and a region entry first whose trailer covers all entries.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut entries: Vec<&Entry> = self.entries.iter().collect();
        entries.sort_by_key(|e| e.tag);
        let mut store = Vec::new();
        let mut index = Vec::with_capacity((entries.len() + 1) * 16);
        let push_index = |index: &mut Vec<u8>, tag: u32, kind: u32, offset: u32, count: u32| {
            for v in [tag, kind, offset, count] {
                index.extend_from_slice(&v.to_be_bytes());
            }
        };
        let mut body = Vec::with_capacity(entries.len() * 16);
        for e in &entries {
            let align = match e.kind {
                kind::INT16 => 2,
                kind::INT32 => 4,
                kind::INT64 => 8,
                _ => 1,
            };
            while store.len() % align != 0 {
                store.push(0);
            }
            push_index(&mut body, e.tag, e.kind, store.len() as u32, e.count);
            store.extend_from_slice(&e.data);
        }
        let il = entries.len() as u32 + 1;
        let trailer_offset = store.len() as u32;
        push_index(
            &mut store,
            self.region_tag,
            kind::BIN,
            (il * 16).wrapping_neg(),
            16,
        );
        push_index(&mut index, self.region_tag, kind::BIN, trailer_offset, 16);
        index.extend_from_slice(&body);

        let mut out = Vec::with_capacity(16 + index.len() + store.len());
        out.extend_from_slice(&HEADER_MAGIC);
        out.extend_from_slice(&il.to_be_bytes());
        out.extend_from_slice(&(store.len() as u32).to_be_bytes());
        out.extend_from_slice(&index);
        out.extend_from_slice(&store);
        out
    }
}

/// Length in bytes of an entry's data starting at `data`, checked against the store's end.
fn data_len(kind: u32, count: u32, data: &[u8]) -> Result<usize, String> {
    let count = count as usize;
    let fixed = |width: usize| {
        count
            .checked_mul(width)
            .filter(|&n| n <= data.len())
            .ok_or_else(|| "data runs past the end of the store".to_string())
    };
    match kind {
        0 => Ok(0),
        kind::CHAR | kind::INT8 | kind::BIN => fixed(1),
        kind::INT16 => fixed(2),
        kind::INT32 => fixed(4),
        kind::INT64 => fixed(8),
        kind::STRING | kind::STRING_ARRAY | kind::I18NSTRING => {
            if kind == kind::STRING && count != 1 {
                return Err("a STRING entry must have count 1".to_string());
            }
            let mut len = 0usize;
            for _ in 0..count {
                let nul = data[len..]
                    .iter()
                    .position(|&b| b == 0)
                    .ok_or_else(|| "unterminated string".to_string())?;
                len += nul + 1;
            }
            Ok(len)
        }
        other => Err(format!("unknown data type {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_then_read_keeps_entries() {
        let header = Header {
            region_tag: REGION_IMMUTABLE,
            entries: vec![
                Entry::string(1000, "pkg"),
                Entry::int32(1006, &[7]),
                Entry::string_array(1049, &["a", "b"]),
                Entry::int64(5009, &[1 << 40]),
            ],
        };
        let bytes = header.to_bytes();
        let (back, raw) = Header::read(&mut bytes.as_slice(), "main header").unwrap();
        assert_eq!(raw, bytes);
        assert_eq!(back, header);
        assert_eq!(back.to_bytes(), bytes);
    }

    #[test]
    fn overlapping_entries_are_an_error() {
        let mut bytes = Header {
            region_tag: REGION_IMMUTABLE,
            entries: vec![Entry::bin(1000, &[1; 64]), Entry::bin(1001, &[2; 64])],
        }
        .to_bytes();
        // Point the second entry at the first one's data.
        bytes[16 + 32 + 8..16 + 32 + 12].copy_from_slice(&0u32.to_be_bytes());
        let err = Header::read(&mut bytes.as_slice(), "main header").unwrap_err();
        assert!(err.to_string().contains("overlap"), "{err}");
    }

    #[test]
    fn offset_outside_store_is_an_error() {
        let mut bytes = Header {
            region_tag: REGION_IMMUTABLE,
            entries: vec![Entry::int32(1006, &[7])],
        }
        .to_bytes();
        // Second index entry's offset field.
        bytes[16 + 16 + 8..16 + 16 + 12].copy_from_slice(&1000u32.to_be_bytes());
        let err = Header::read(&mut bytes.as_slice(), "main header").unwrap_err();
        assert!(matches!(err, Error::MalformedHeader { .. }), "{err}");
    }
}
