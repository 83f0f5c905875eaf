//! The shape of a volume: the BIOS parameter block fields, their checks, and the FAT size and
//! cluster count they give.

use super::Error;

/// The shape of a FAT12/16 volume (the BIOS parameter block fields the writer uses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Geometry {
    /// Bytes per sector (512..=4096, power of two).
    pub bytes_per_sector: u16,
    /// Sectors per cluster (power of two).
    pub sectors_per_cluster: u8,
    /// Sectors before the first FAT (at least 1).
    pub reserved_sectors: u16,
    /// Number of FATs (1 or 2).
    pub fats: u8,
    /// Root directory entries.
    pub root_entries: u16,
    /// Total sectors of the volume.
    pub total_sectors: u32,
    /// Media descriptor.
    pub media: u8,
    /// Sectors per FAT (a minimum: grown when the cluster count needs more).
    pub sectors_per_fat: u16,
    /// CHS geometry: sectors per track.
    pub sectors_per_track: u16,
    /// CHS geometry: heads.
    pub heads: u16,
    /// Hidden sectors before the volume.
    pub hidden_sectors: u32,
    /// BIOS drive number.
    pub drive_number: u8,
    /// The volume label of the boot sector (11 bytes, space-padded).
    pub label: [u8; 11],
}

impl Geometry {
    /// The shape `mformat -f 2880` gives (2.88 MB floppy, FAT12, serial and label left to the
    /// writer): 512-byte sectors, 2-sector clusters, 240 root entries, media 0xF0, 9-sector FATs.
    pub fn floppy_2880() -> Geometry {
        Geometry {
            bytes_per_sector: 512,
            sectors_per_cluster: 2,
            reserved_sectors: 1,
            fats: 2,
            root_entries: 240,
            total_sectors: 5760,
            media: 0xF0,
            sectors_per_fat: 9,
            sectors_per_track: 36,
            heads: 2,
            hidden_sectors: 0,
            drive_number: 0,
            label: *b"NO NAME    ",
        }
    }

    pub(super) fn root_sectors(&self) -> u32 {
        let bps = u32::from(self.bytes_per_sector);
        (u32::from(self.root_entries) * 32).div_ceil(bps)
    }
}

/// The FAT type for a cluster count.
pub(super) fn is_fat12(clusters: u64) -> bool {
    clusters < 4085
}

/// Data clusters of `g`, the sectors per FAT it needs, with `spf` FAT sectors.
fn clusters_of(g: &Geometry, spf: u32) -> u64 {
    let meta = u64::from(g.reserved_sectors)
        + u64::from(g.fats) * u64::from(spf)
        + u64::from(g.root_sectors());
    u64::from(g.total_sectors).saturating_sub(meta) / u64::from(g.sectors_per_cluster)
}

/// Sectors per FAT needed for `g` (at least `g.sectors_per_fat`), and the cluster count.
pub(super) fn fat_size(g: &Geometry) -> Result<(u32, u64), Error> {
    let bps = u64::from(g.bytes_per_sector);
    let mut spf = u32::from(g.sectors_per_fat).max(1);
    loop {
        let clusters = clusters_of(g, spf);
        let entries = clusters + 2;
        let bytes = if is_fat12(clusters) {
            (entries * 3).div_ceil(2)
        } else {
            entries * 2
        };
        let need = bytes.div_ceil(bps);
        if need <= u64::from(spf) {
            return Ok((spf, clusters));
        }
        spf += 1;
        if spf > 0xFFFF {
            return Err(Error::Geometry("FAT would exceed 65535 sectors".into()));
        }
    }
}

pub(super) fn check_geometry(g: &Geometry) -> Result<(), Error> {
    let bad = |s: &str| Err(Error::Geometry(s.to_string()));
    if !(512..=4096).contains(&g.bytes_per_sector) || !g.bytes_per_sector.is_power_of_two() {
        return bad("bytes per sector must be a power of two in 512..=4096");
    }
    if g.sectors_per_cluster == 0 || !g.sectors_per_cluster.is_power_of_two() {
        return bad("sectors per cluster must be a power of two");
    }
    if g.reserved_sectors == 0 || !(1..=2).contains(&g.fats) || g.root_entries == 0 {
        return bad("needs reserved sectors, 1 or 2 FATs and a root directory");
    }
    Ok(())
}
