//! Directory entries on disk: the 32-byte short entry and the long-name (VFAT) entries before it.

use super::FatTime;

pub(super) fn lfn_checksum(short: &[u8; 11]) -> u8 {
    short.iter().fold(0u8, |sum, &c| {
        ((sum & 1) << 7).wrapping_add(sum >> 1).wrapping_add(c)
    })
}

/// A directory entry ready to be serialized: its long-name slots and its short entry.
pub(super) struct Slot {
    pub(super) short: [u8; 11],
    pub(super) long: Option<String>,
    pub(super) attr: u8,
    pub(super) cluster: u32,
    pub(super) size: u32,
}

/// The directory entries (32 bytes each) for one child: LFN entries then the short entry.
pub(super) fn encode_slot(s: &Slot, t: FatTime, out: &mut Vec<u8>) {
    if let Some(long) = &s.long {
        let units: Vec<u16> = long.encode_utf16().collect();
        let n = units.len().div_ceil(13);
        let sum = lfn_checksum(&s.short);
        for ord in (1..=n).rev() {
            let mut e = [0u8; 32];
            e[0] = ord as u8 | if ord == n { 0x40 } else { 0 };
            e[11] = 0x0F;
            e[13] = sum;
            let offsets = [1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30];
            for (k, off) in offsets.iter().enumerate() {
                let idx = (ord - 1) * 13 + k;
                let u = match idx.cmp(&units.len()) {
                    std::cmp::Ordering::Less => units.get(idx).copied().unwrap_or(0),
                    std::cmp::Ordering::Equal => 0x0000,
                    std::cmp::Ordering::Greater => 0xFFFF,
                };
                e[*off..*off + 2].copy_from_slice(&u.to_le_bytes());
            }
            out.extend_from_slice(&e);
        }
    }
    out.extend_from_slice(&short_entry(&s.short, s.attr, s.cluster, s.size, t));
}

pub(super) fn short_entry(
    name: &[u8; 11],
    attr: u8,
    cluster: u32,
    size: u32,
    t: FatTime,
) -> [u8; 32] {
    let mut e = [0u8; 32];
    e[..11].copy_from_slice(name);
    e[11] = attr;
    e[13] = t.tenths();
    e[14..16].copy_from_slice(&t.time().to_le_bytes());
    e[16..18].copy_from_slice(&t.date().to_le_bytes());
    e[18..20].copy_from_slice(&t.date().to_le_bytes());
    e[22..24].copy_from_slice(&t.time().to_le_bytes());
    e[24..26].copy_from_slice(&t.date().to_le_bytes());
    e[26..28].copy_from_slice(&(cluster as u16).to_le_bytes());
    e[28..32].copy_from_slice(&size.to_le_bytes());
    e
}

pub(super) const ATTR_DIR: u8 = 0x10;
pub(super) const ATTR_ARCHIVE: u8 = 0x20;
pub(super) const ATTR_VOLUME: u8 = 0x08;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_matches_the_spec_example() {
        // Sum of "GRUB~1  CFG" computed by hand with the rotate-right-and-add rule.
        let s = *b"GRUB~1  CFG";
        let mut sum: u8 = 0;
        for c in s {
            sum = sum.rotate_right(1).wrapping_add(c);
        }
        assert_eq!(lfn_checksum(&s), sum);
    }
}
