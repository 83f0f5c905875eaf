//! The newc ("new ASCII") cpio header: 110 bytes of ASCII, a 6-byte magic then thirteen 8-digit
//! hexadecimal fields, followed by the name (NUL-terminated) and the file data, each padded with
//! zeros so that the next item starts on a 4-byte boundary (counted from the header's start).
//!
//! The header is encoded here, not by `hadris-cpio` (3.0.0-rc.2): its writer, through
//! `hadris-cpio-raw` 0.1.0's `NewcHeader::new`, writes the hexadecimal fields with upper-case
//! digits where GNU cpio and [`Header::encode`] write lower-case ones, so every header of a
//! rewritten install.img would change. Its header decoder is private to the crate, and
//! `hadris-cpio-raw`'s `NewcHeader::fields` returns `None` for a bad header without saying which
//! field is wrong, which [`HeaderError`] reports.

/// Length of a newc header.
pub const HEADER_LEN: usize = 110;
/// Magic of a newc header without checksum.
pub const MAGIC: &[u8; 6] = b"070701";
/// Magic of a newc header with checksum (the sum of the data bytes).
pub const MAGIC_CRC: &[u8; 6] = b"070702";
/// The name of the entry that ends an archive.
pub const TRAILER: &[u8] = b"TRAILER!!!";
/// Longest name (with its NUL) and longest symlink target accepted, as the kernel's `PATH_MAX`.
pub const PATH_MAX: u32 = 4096;
/// Most components (directories and the entry itself) a name may have. The kernel has no such
/// limit, but no installer goes near it, and a deeper chain only makes every path longer: the
/// tree of such an image would cost far more than its size.
pub const MAX_DEPTH: usize = 256;

/// How many components a name has (`/`, `.` and empty components not counted).
pub fn depth(name: &[u8]) -> usize {
    name.split(|&b| b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
        .count()
}

/// File type bits of `mode`.
pub const S_IFMT: u32 = 0o170000;
/// Socket.
pub const S_IFSOCK: u32 = 0o140000;
/// Symbolic link.
pub const S_IFLNK: u32 = 0o120000;
/// Regular file.
pub const S_IFREG: u32 = 0o100000;
/// Block device.
pub const S_IFBLK: u32 = 0o060000;
/// Directory.
pub const S_IFDIR: u32 = 0o040000;
/// Character device.
pub const S_IFCHR: u32 = 0o020000;
/// FIFO.
pub const S_IFIFO: u32 = 0o010000;

/// The numeric fields of a newc header (the name is stored separately).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Header {
    /// True for the `070702` magic (data checksum present).
    pub with_checksum: bool,
    /// Inode number (links entries of a hard-link group inside one archive).
    pub ino: u32,
    /// File type and permission bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Number of links.
    pub nlink: u32,
    /// Modification time, seconds since the epoch.
    pub mtime: u32,
    /// Length of the data (for a symlink: of the target).
    pub filesize: u32,
    /// Major number of the device holding the file.
    pub dev_major: u32,
    /// Minor number of the device holding the file.
    pub dev_minor: u32,
    /// Major number of a device node.
    pub rdev_major: u32,
    /// Minor number of a device node.
    pub rdev_minor: u32,
    /// Length of the name including its terminating NUL.
    pub namesize: u32,
    /// Checksum of the data (`070702` only).
    pub check: u32,
}

/// Why a header cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderError {
    /// The magic is not `070701` nor `070702`.
    BadMagic([u8; 6]),
    /// A field is not 8 hexadecimal digits.
    BadField(&'static str),
}

impl std::fmt::Display for HeaderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeaderError::BadMagic([b'0', b'7', b'0', b'7', b'0', b'7']) => {
                write!(f, "old binary/odc cpio format (magic 070707), not newc")
            }
            HeaderError::BadMagic(m) => write!(
                f,
                "bad magic {:?} (want 070701 or 070702)",
                m.escape_ascii().to_string()
            ),
            HeaderError::BadField(name) => write!(f, "field {name} is not 8 hexadecimal digits"),
        }
    }
}

const FIELDS: [&str; 13] = [
    "ino",
    "mode",
    "uid",
    "gid",
    "nlink",
    "mtime",
    "filesize",
    "devmajor",
    "devminor",
    "rdevmajor",
    "rdevminor",
    "namesize",
    "check",
];

fn hex_field(bytes: &[u8], index: usize) -> Result<u32, HeaderError> {
    let start = 6 + 8 * index;
    let err = HeaderError::BadField(FIELDS.get(index).copied().unwrap_or("?"));
    let digits = bytes.get(start..start + 8).ok_or(err.clone())?;
    let mut value: u32 = 0;
    for &d in digits {
        let v = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            b'A'..=b'F' => d - b'A' + 10,
            _ => return Err(err),
        };
        value = (value << 4) | u32::from(v);
    }
    Ok(value)
}

impl Header {
    /// Parses a 110-byte header.
    pub fn parse(bytes: &[u8; HEADER_LEN]) -> Result<Header, HeaderError> {
        let mut magic = [0u8; 6];
        magic.copy_from_slice(&bytes[..6]);
        let with_checksum = match &magic {
            m if m == MAGIC => false,
            m if m == MAGIC_CRC => true,
            _ => return Err(HeaderError::BadMagic(magic)),
        };
        let f = |i| hex_field(bytes, i);
        Ok(Header {
            with_checksum,
            ino: f(0)?,
            mode: f(1)?,
            uid: f(2)?,
            gid: f(3)?,
            nlink: f(4)?,
            mtime: f(5)?,
            filesize: f(6)?,
            dev_major: f(7)?,
            dev_minor: f(8)?,
            rdev_major: f(9)?,
            rdev_minor: f(10)?,
            namesize: f(11)?,
            check: f(12)?,
        })
    }

    /// Encodes the header (upper-case hex digits would be accepted too; lower-case is written,
    /// as GNU cpio does).
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[..6].copy_from_slice(if self.with_checksum { MAGIC_CRC } else { MAGIC });
        let values = [
            self.ino,
            self.mode,
            self.uid,
            self.gid,
            self.nlink,
            self.mtime,
            self.filesize,
            self.dev_major,
            self.dev_minor,
            self.rdev_major,
            self.rdev_minor,
            self.namesize,
            self.check,
        ];
        for (i, v) in values.iter().enumerate() {
            let text = format!("{v:08x}");
            out[6 + 8 * i..14 + 8 * i].copy_from_slice(text.as_bytes());
        }
        out
    }

    /// The file type bits of `mode`.
    pub fn file_type(&self) -> u32 {
        self.mode & S_IFMT
    }
}

/// Zero bytes that follow the name so that data starts 4-byte aligned (the header is aligned).
pub fn name_padding(namesize: u32) -> u64 {
    pad4(HEADER_LEN as u64 + u64::from(namesize))
}

/// Zero bytes that follow `len` bytes of data to reach a 4-byte boundary.
pub fn pad4(len: u64) -> u64 {
    (4 - len % 4) % 4
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_parse_roundtrip() {
        let h = Header {
            ino: 7,
            mode: S_IFREG | 0o755,
            uid: 1,
            gid: 2,
            nlink: 1,
            mtime: 1_700_000_000,
            filesize: 12,
            namesize: 6,
            ..Header::default()
        };
        let bytes = h.encode();
        assert_eq!(&bytes[..6], b"070701");
        assert_eq!(Header::parse(&bytes), Ok(h));
    }

    #[test]
    fn rejects_odc_and_bad_hex() {
        let mut bytes = Header::default().encode();
        bytes[..6].copy_from_slice(b"070707");
        let err = Header::parse(&bytes).unwrap_err();
        assert!(err.to_string().contains("odc"), "{err}");
        let mut bytes = Header::default().encode();
        bytes[20] = b'g';
        assert_eq!(Header::parse(&bytes), Err(HeaderError::BadField("mode")));
    }

    #[test]
    fn padding() {
        assert_eq!(name_padding(2), 0);
        assert_eq!(name_padding(3), 3);
        assert_eq!(pad4(5), 3);
        assert_eq!(pad4(8), 0);
    }
}
