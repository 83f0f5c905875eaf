//! The boot sector: the caller's (jump, OEM name and boot code kept) or a plain one, with the
//! volume's parameter block written over it.

use super::Geometry;

/// The boot sector of a volume of geometry `g` with `spf` sectors per FAT: `boot`'s first 512
/// bytes when it has them, else a plain sector that tells the BIOS there is nothing to boot.
pub(super) fn boot_sector(
    g: &Geometry,
    boot: Option<&[u8]>,
    spf: u32,
    serial: u32,
    fat12: bool,
) -> [u8; 512] {
    let mut bs = [0u8; 512];
    match boot {
        Some(b) if b.len() >= 512 => bs.copy_from_slice(&b[..512]),
        _ => {
            bs[..3].copy_from_slice(&[0xEB, 0x3C, 0x90]);
            bs[3..11].copy_from_slice(b"MSWIN4.1");
            // Boot code: `int 0x18` (no bootable disk), then halt.
            bs[62..66].copy_from_slice(&[0xCD, 0x18, 0xEB, 0xFE]);
        }
    }
    bs[11..13].copy_from_slice(&g.bytes_per_sector.to_le_bytes());
    bs[13] = g.sectors_per_cluster;
    bs[14..16].copy_from_slice(&g.reserved_sectors.to_le_bytes());
    bs[16] = g.fats;
    bs[17..19].copy_from_slice(&g.root_entries.to_le_bytes());
    let (t16, t32) = match u16::try_from(g.total_sectors) {
        Ok(t) => (t, 0),
        Err(_) => (0, g.total_sectors),
    };
    bs[19..21].copy_from_slice(&t16.to_le_bytes());
    bs[21] = g.media;
    bs[22..24].copy_from_slice(&(spf as u16).to_le_bytes());
    bs[24..26].copy_from_slice(&g.sectors_per_track.to_le_bytes());
    bs[26..28].copy_from_slice(&g.heads.to_le_bytes());
    bs[28..32].copy_from_slice(&g.hidden_sectors.to_le_bytes());
    bs[32..36].copy_from_slice(&t32.to_le_bytes());
    bs[36] = g.drive_number;
    bs[37] = 0;
    bs[38] = 0x29;
    bs[39..43].copy_from_slice(&serial.to_le_bytes());
    bs[43..54].copy_from_slice(&g.label);
    bs[54..62].copy_from_slice(if fat12 { b"FAT12   " } else { b"FAT16   " });
    bs[510] = 0x55;
    bs[511] = 0xAA;
    bs
}
