//! The 96-byte lead that opens every RPM file.

use std::io::Read;

use super::Error;
use crate::read_fully::read_fully;

/// Size of the lead in bytes.
pub const LEAD_SIZE: usize = 96;
/// The lead magic.
pub const LEAD_MAGIC: [u8; 4] = [0xed, 0xab, 0xee, 0xdb];
/// Offset and size of the NUL-terminated `name-version-release` field.
const NAME_RANGE: std::ops::Range<usize> = 10..76;

/// The lead, kept as raw bytes: rpm reads only its magic, so everything else is carried over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lead {
    bytes: [u8; LEAD_SIZE],
}

impl Lead {
    /// Reads and checks the lead at the start of a package.
    pub fn read(input: &mut impl Read) -> Result<Self, Error> {
        let mut bytes = [0u8; LEAD_SIZE];
        let got = read_fully(input, &mut bytes).map_err(Error::io("reading the lead"))?;
        if got >= 4 && bytes[..4] != LEAD_MAGIC {
            return Err(Error::NotAnRpm {
                found: [bytes[0], bytes[1], bytes[2], bytes[3]],
            });
        }
        if got < 4 && bytes[..got] != LEAD_MAGIC[..got] {
            let mut found = [0u8; 4];
            found[..got].copy_from_slice(&bytes[..got]);
            return Err(Error::NotAnRpm { found });
        }
        if got < LEAD_SIZE {
            return Err(Error::Truncated { part: "lead" });
        }
        if bytes[4] != 3 {
            return Err(Error::MalformedHeader {
                part: "lead",
                reason: format!("format major version {} (only 3 is supported)", bytes[4]),
            });
        }
        Ok(Lead { bytes })
    }

    /// A binary package's lead for `name-version-release`: format 3.0, OS Linux, header-style
    /// signature.
    pub fn new(nvr: &str) -> Self {
        let mut bytes = [0u8; LEAD_SIZE];
        bytes[..4].copy_from_slice(&LEAD_MAGIC);
        bytes[4] = 3;
        bytes[76..78].copy_from_slice(&1u16.to_be_bytes());
        bytes[78..80].copy_from_slice(&5u16.to_be_bytes());
        let mut lead = Lead { bytes };
        lead.set_name(nvr);
        lead
    }

    /// Replaces the `name-version-release` field (truncated to 65 bytes, as rpm does).
    pub fn set_name(&mut self, nvr: &str) {
        let field = &mut self.bytes[NAME_RANGE];
        field.fill(0);
        let n = nvr.len().min(field.len() - 1);
        field[..n].copy_from_slice(&nvr.as_bytes()[..n]);
    }

    /// The raw 96 bytes.
    pub fn as_bytes(&self) -> &[u8; LEAD_SIZE] {
        &self.bytes
    }
}
