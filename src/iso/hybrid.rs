//! The isohybrid system area: an MBR (and a GPT) that lets the same image
//! boot from a USB stick, laid out as syslinux's `isohybrid --uefi` lays it
//! out, so that an image remastered from an XCP-ng ISO keeps the exact kind
//! of hybrid boot its source had.
//!
//! Layout (512-byte sectors): the source's MBR boot code (isohdpfx, 432
//! bytes); at 432 the 512-byte LBA of isolinux.bin; at 440 the disk id;
//! partition 1 bootable from sector 0 over the whole padded image (type
//! 0x00 with UEFI, the source's type otherwise); partition 2 type 0xEF over
//! the EFI boot image. With a GPT: header at sector 1, 128 entries at 2-33,
//! two "basic data" entries (the ISO, the EFI image), and the backup
//! entries and header in the last 33 sectors. The image is padded to a
//! multiple of 1 MiB (64 heads × 32 sectors), with room for the backup GPT.
//!
//! The tables are laid out here, not with `hadris-part` (3.0.0-rc.2), whose checked tables
//! refuse this layout: `Gpt::add` refuses the ISO's GPT entry from sector 0 (`OutOfBounds`:
//! before the first usable sector, 34), and `Mbr::add` refuses partition type 0x00 (`Kind`) and
//! an EFI partition inside partition 1 (`Overlap`). Its CHS addresses assume 255 heads × 63
//! sectors where isohybrid uses 64 × 32 (and `fe ff ff` for the EFI partition), and its hybrid
//! MBR always holds a 0xEE protective entry, which `isohybrid --uefi` does not write.

use sha2::{Digest, Sha256};

/// Heads of the CHS geometry isohybrid uses.
const HEADS: u64 = 64;
/// Sectors per track of that geometry.
const SECTORS: u64 = 32;
/// One "cylinder": the unit the image is padded to.
pub const CYLINDER: u64 = HEADS * SECTORS * 512;
/// Bytes of the GPT's partition entry array.
const ENTRIES_BYTES: usize = 128 * 128;
/// The "basic data" partition type, in GPT byte order.
const BASIC_DATA: [u8; 16] = [
    0xa2, 0xa0, 0xd0, 0xeb, 0xe5, 0xb9, 0x33, 0x44, 0x87, 0xc0, 0x68, 0xb6, 0xb7, 0x26, 0x99, 0xc7,
];

/// What the source's system area says about its hybrid boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HybridSource {
    /// The MBR boot code (first 432 bytes).
    pub bootstrap: Vec<u8>,
    /// The source's disk id.
    pub disk_id: u32,
    /// The type of partition 1.
    pub partition_type: u8,
    /// Whether partition 2 is an EFI partition (isohybrid `--uefi`).
    pub efi_partition: bool,
    /// Whether the source has a GPT.
    pub gpt: bool,
}

impl HybridSource {
    /// Reads the hybrid layout of a source's system area; `None` when it has
    /// no isohybrid MBR (no boot signature or no boot code).
    pub fn read(system_area: &[u8]) -> Option<Self> {
        let mbr = system_area.get(..512)?;
        if mbr[510..512] != [0x55, 0xAA] || mbr[..432].iter().all(|&b| b == 0) {
            return None;
        }
        let part = |i: usize| &mbr[446 + 16 * i..462 + 16 * i];
        Some(Self {
            bootstrap: mbr[..432].to_vec(),
            disk_id: u32::from_le_bytes([mbr[440], mbr[441], mbr[442], mbr[443]]),
            partition_type: part(0)[4],
            efi_partition: part(1)[4] == 0xEF,
            gpt: system_area.get(512..520) == Some(b"EFI PART"),
        })
    }
}

/// Where the boot files landed in the new image.
#[derive(Debug, Clone, Copy)]
pub struct HybridTargets {
    /// Bytes of the ISO 9660 volume as written.
    pub volume_bytes: u64,
    /// The 2048-byte block of isolinux.bin.
    pub isolinux_block: u32,
    /// The EFI boot image: 2048-byte block and 512-byte sector count.
    pub efi: Option<(u32, u32)>,
}

/// The bytes to write: the new system area (first 34 sectors), and the
/// padded image length with the backup GPT at its end.
#[derive(Debug, Clone)]
pub struct HybridLayout {
    /// Bytes 0..17408 (MBR, GPT header and entries), or 0..512 without GPT.
    pub head: Vec<u8>,
    /// The image length after padding.
    pub padded_len: u64,
    /// The backup GPT (entries then header) to write at `padded_len - tail.len()`.
    pub tail: Option<Vec<u8>>,
    /// The new disk id.
    pub disk_id: u32,
}

/// A 16-byte GUID derived from `seed` and `label` (RFC 4122 variant, v4 bits).
fn guid(seed: &[u8], label: &str) -> [u8; 16] {
    let digest = Sha256::new()
        .chain_update(seed)
        .chain_update(label.as_bytes())
        .finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out[7] = (out[7] & 0x0f) | 0x40;
    out[8] = (out[8] & 0x3f) | 0x80;
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = flate2::Crc::new();
    crc.update(data);
    crc.sum()
}

fn utf16(name: &str) -> Vec<u8> {
    name.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// Lays out the hybrid system area for the new image. `seed` makes the ids
/// (disk id, GUIDs) depend on the inputs and nothing else.
pub fn lay_out(src: &HybridSource, at: &HybridTargets, seed: &[u8]) -> HybridLayout {
    let gpt = src.gpt && at.efi.is_some();
    let mut len = at.volume_bytes;
    let frac = len % CYLINDER;
    let mut padding = if frac > 0 { CYLINDER - frac } else { 0 };
    let backup = (ENTRIES_BYTES + 512) as u64;
    if gpt && padding < backup {
        padding += CYLINDER;
    }
    len += padding;
    let cylinders = len / CYLINDER;
    let cc = cylinders.min(1024);
    let disk_id = u32::from_le_bytes(guid(seed, "mbr-id")[..4].try_into().unwrap_or([0; 4]));

    let mut mbr = vec![0u8; 512];
    mbr[..432].copy_from_slice(&src.bootstrap[..432]);
    mbr[432..436].copy_from_slice(&(at.isolinux_block * 4).to_le_bytes());
    mbr[440..444].copy_from_slice(&disk_id.to_le_bytes());
    let p1 = &mut mbr[446..462];
    p1[0] = 0x80;
    p1[1] = 0;
    p1[2] = 1;
    p1[3] = 0;
    p1[4] = if src.efi_partition {
        0x00
    } else {
        src.partition_type
    };
    p1[5] = (HEADS - 1) as u8;
    p1[6] = (SECTORS + (((cc - 1) & 0x300) >> 2)) as u8;
    p1[7] = ((cc - 1) & 0xff) as u8;
    p1[8..12].copy_from_slice(&0u32.to_le_bytes());
    p1[12..16].copy_from_slice(&((cylinders * HEADS * SECTORS) as u32).to_le_bytes());
    if let (true, Some((block, count))) = (src.efi_partition, at.efi) {
        let p2 = &mut mbr[462..478];
        p2[..8].copy_from_slice(&[0x00, 0xfe, 0xff, 0xff, 0xef, 0xfe, 0xff, 0xff]);
        p2[8..12].copy_from_slice(&(block * 4).to_le_bytes());
        p2[12..16].copy_from_slice(&count.to_le_bytes());
    }
    mbr[510] = 0x55;
    mbr[511] = 0xAA;

    let (head, tail) = match (gpt, at.efi) {
        (true, Some((block, count))) => {
            let sectors = len / 512;
            let mut entries = vec![0u8; ENTRIES_BYTES];
            let iso_end = at.volume_bytes / 512 - 1;
            let efi_first = u64::from(block) * 4;
            let parts: [(&str, u64, u64, &str); 2] = [
                ("gpt-iso", 0, iso_end, "ISOHybrid ISO"),
                (
                    "gpt-efi",
                    efi_first,
                    efi_first + u64::from(count) - 1,
                    "ISOHybrid",
                ),
            ];
            for (i, (label, first, last, name)) in parts.iter().enumerate() {
                let e = &mut entries[i * 128..(i + 1) * 128];
                e[..16].copy_from_slice(&BASIC_DATA);
                e[16..32].copy_from_slice(&guid(seed, label));
                e[32..40].copy_from_slice(&first.to_le_bytes());
                e[40..48].copy_from_slice(&last.to_le_bytes());
                let n = utf16(name);
                e[56..56 + n.len()].copy_from_slice(&n);
            }
            let entries_crc = crc32(&entries);
            let disk = guid(seed, "gpt-disk");
            let header = |current: u64, backup: u64, entries_lba: u64| {
                let mut h = vec![0u8; 512];
                h[..8].copy_from_slice(b"EFI PART");
                h[8..12].copy_from_slice(&0x0001_0000u32.to_le_bytes());
                h[12..16].copy_from_slice(&92u32.to_le_bytes());
                h[24..32].copy_from_slice(&current.to_le_bytes());
                h[32..40].copy_from_slice(&backup.to_le_bytes());
                h[40..48].copy_from_slice(&34u64.to_le_bytes());
                h[48..56].copy_from_slice(&(sectors - 34).to_le_bytes());
                h[56..72].copy_from_slice(&disk);
                h[72..80].copy_from_slice(&entries_lba.to_le_bytes());
                h[80..84].copy_from_slice(&128u32.to_le_bytes());
                h[84..88].copy_from_slice(&128u32.to_le_bytes());
                h[88..92].copy_from_slice(&entries_crc.to_le_bytes());
                let crc = crc32(&h[..92]);
                h[16..20].copy_from_slice(&crc.to_le_bytes());
                h
            };
            let mut head = mbr;
            head.extend(header(1, sectors - 1, 2));
            head.extend(&entries);
            let mut tail = entries;
            tail.extend(header(sectors - 1, 1, sectors - 33));
            (head, Some(tail))
        }
        _ => (mbr, None),
    };
    HybridLayout {
        head,
        padded_len: len,
        tail,
        disk_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source() -> HybridSource {
        HybridSource {
            bootstrap: vec![0x33; 432],
            disk_id: 1,
            partition_type: 0,
            efi_partition: true,
            gpt: true,
        }
    }

    #[test]
    fn pads_to_a_cylinder_with_room_for_the_backup_gpt() {
        let at = HybridTargets {
            volume_bytes: 6_397_952,
            isolinux_block: 1481,
            efi: Some((41, 5760)),
        };
        let l = lay_out(&source(), &at, b"seed");
        assert_eq!(l.padded_len, 7 * CYLINDER);
        let exact = HybridTargets {
            volume_bytes: 7 * CYLINDER,
            ..at
        };
        assert_eq!(lay_out(&source(), &exact, b"seed").padded_len, 8 * CYLINDER);
        assert_eq!(&l.head[432..436], &(1481u32 * 4).to_le_bytes());
        assert_eq!(l.head[446 + 4], 0);
        assert_eq!(l.head[462 + 4], 0xEF);
        assert_eq!(l.head.len(), 512 + 512 + ENTRIES_BYTES);
        assert_eq!(l.tail.as_ref().map(Vec::len), Some(ENTRIES_BYTES + 512));
    }

    #[test]
    fn ids_depend_on_the_seed_only() {
        let at = HybridTargets {
            volume_bytes: 4 * CYLINDER,
            isolinux_block: 30,
            efi: Some((40, 100)),
        };
        assert_eq!(
            lay_out(&source(), &at, b"a").head,
            lay_out(&source(), &at, b"a").head
        );
        assert_ne!(
            lay_out(&source(), &at, b"a").disk_id,
            lay_out(&source(), &at, b"b").disk_id
        );
    }
}
