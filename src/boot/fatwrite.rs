//! A deterministic FAT12/FAT16 image writer: a tree of directories and files laid out
//! contiguously in tree order, long (VFAT) names, every timestamp given by the caller.
//!
//! `hadris-fat` (3.0.0-rc.2) does not write these bytes. Its `sync::write`, given the same tree
//! and every option that shapes the volume (FAT12, 2880 KiB, 1 KiB clusters, 240 root entries,
//! one reserved sector, media 0xF0, OEM name, serial, time), puts the files in the same clusters
//! but differs from this writer's bytes (the shape `mformat -f 2880` gives, with the caller's
//! timestamps everywhere) in 106 bytes: cluster chains end with 0xFF8 instead of 0xFFF; the CHS geometry is 63 sectors × 255
//! heads (mformat: 36 × 2) and the boot code a halt loop, with no option for either; `.` and
//! `..` are stamped 1980-01-01 instead of the given time; and a lower-case 8.3 name such as
//! `grub.cfg` is stored as a short name with the NT case flags instead of with a long-name
//! entry. Nor can it keep what a rebuilt image keeps from its source: the boot sector's code,
//! CHS geometry, hidden sectors and drive number.
//!
//! [`write()`] lays the volume out from its parts: [`Geometry`] and the FAT size it needs
//! (`geometry`), the names FAT stores (`names`), the directory and file clusters (`plan`), the
//! 32-byte directory entries (`dir_entry`), the boot sector (`boot_sector`) and [`FatTime`]
//! (`time`).

mod boot_sector;
mod dir_entry;
mod geometry;
mod names;
mod plan;
mod time;

pub use geometry::Geometry;
pub use names::check_name;
pub use time::FatTime;

use boot_sector::boot_sector;
use dir_entry::{ATTR_DIR, encode_slot, short_entry};
use geometry::{check_geometry, fat_size, is_fat12};
use plan::plan;

/// A node of the tree to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A directory and its children, in the order they are written.
    Dir {
        /// The long name.
        name: String,
        /// Its content.
        children: Vec<Node>,
    },
    /// A file.
    File {
        /// The long name.
        name: String,
        /// Its bytes.
        data: Vec<u8>,
    },
}

impl Node {
    /// The long name.
    pub fn name(&self) -> &str {
        match self {
            Node::Dir { name, .. } | Node::File { name, .. } => name,
        }
    }
}

/// Errors of the writer.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// The geometry is not one this writer can produce.
    #[error("unsupported FAT geometry: {0}")]
    Geometry(String),
    /// A name that FAT cannot store.
    #[error("invalid FAT file name {name:?}: {why}")]
    BadName {
        /// The name.
        name: String,
        /// What is wrong.
        why: &'static str,
    },
    /// Two names in one directory that FAT considers equal.
    #[error("duplicate name {0:?} in one directory")]
    Duplicate(String),
    /// The root directory has more entries than the geometry allows.
    #[error("the root directory needs {need} entries, the volume has {have}")]
    RootFull {
        /// Entries needed.
        need: usize,
        /// Entries available.
        have: u16,
    },
    /// The content needs more clusters than the volume has.
    #[error("the content needs {need} clusters, the volume has {have}")]
    Full {
        /// Clusters needed.
        need: u64,
        /// Clusters available.
        have: u64,
    },
    /// A file larger than FAT can hold.
    #[error("file {0:?} is larger than 4 GiB - 1")]
    TooLarge(String),
    /// The time is outside what FAT stores.
    #[error("time {0:?} is outside 1980..2107 or not a valid date")]
    BadTime(FatTime),
}

/// Writes a FAT12/16 volume of geometry `g` (grown if the content needs it) holding `root`.
/// `boot` is the boot sector to start from (its jump, OEM name and boot code are kept), or
/// `None` for a plain one. The volume serial is `serial`, every timestamp is `time`. The FAT type
/// follows from the cluster count (FAT12 below 4085 clusters, else FAT16).
pub fn write(
    g: &Geometry,
    boot: Option<&[u8]>,
    root: &[Node],
    serial: u32,
    time: FatTime,
) -> Result<Vec<u8>, Error> {
    check_geometry(g)?;
    if !time.is_valid() {
        return Err(Error::BadTime(time));
    }
    let mut g = g.clone();
    let cluster_bytes = u64::from(g.bytes_per_sector) * u64::from(g.sectors_per_cluster);
    let label = (g.label != *b"NO NAME    ").then_some(g.label);
    let plan = plan(root, cluster_bytes, label)?;
    let root_slots = plan.dirs.first().map_or(0, |d| {
        d.slots
            .iter()
            .map(|s| {
                1 + s
                    .long
                    .as_ref()
                    .map_or(0, |l| l.encode_utf16().count().div_ceil(13))
            })
            .sum::<usize>()
    });
    if root_slots > usize::from(g.root_entries) {
        return Err(Error::RootFull {
            need: root_slots,
            have: g.root_entries,
        });
    }
    // Grow by whole tracks' worth of sectors until the content fits.
    let (spf, clusters) = loop {
        let (spf, clusters) = fat_size(&g)?;
        if plan.clusters <= clusters {
            break (spf, clusters);
        }
        let missing = (plan.clusters - clusters + 16) * u64::from(g.sectors_per_cluster);
        let total = u64::from(g.total_sectors) + missing;
        if clusters >= 65_524 || total > u64::from(u32::MAX) {
            return Err(Error::Full {
                need: plan.clusters,
                have: clusters,
            });
        }
        g.total_sectors = total as u32;
    };
    if clusters >= 65_525 {
        return Err(Error::Geometry(
            "more than 65524 clusters: FAT32 is not supported".into(),
        ));
    }
    let fat12 = is_fat12(clusters);
    let bps = usize::from(g.bytes_per_sector);
    let total_bytes = g.total_sectors as usize * bps;
    let mut img = vec![0u8; total_bytes];

    img[..512].copy_from_slice(&boot_sector(&g, boot, spf, serial, fat12));

    // FAT.
    let mut fat = vec![0u8; spf as usize * bps];
    let mut set = |cl: u64, v: u32| {
        if fat12 {
            let off = (cl * 3 / 2) as usize;
            let (Some(&lo), Some(&hi)) = (fat.get(off), fat.get(off + 1)) else {
                return;
            };
            let cur = u16::from_le_bytes([lo, hi]);
            let v = (v & 0xFFF) as u16;
            let new = if cl.is_multiple_of(2) {
                (cur & 0xF000) | v
            } else {
                (cur & 0x000F) | (v << 4)
            };
            fat[off..off + 2].copy_from_slice(&new.to_le_bytes());
        } else {
            let off = (cl * 2) as usize;
            if let Some(s) = fat.get_mut(off..off + 2) {
                s.copy_from_slice(&(v as u16).to_le_bytes());
            }
        }
    };
    let eoc = if fat12 { 0xFFF } else { 0xFFFF };
    set(0, u32::from(g.media) | if fat12 { 0xF00 } else { 0xFF00 });
    set(1, eoc);
    let chain = |set: &mut dyn FnMut(u64, u32), first: u32, bytes: u64| {
        let n = bytes.div_ceil(cluster_bytes).max(1);
        for k in 0..n {
            let cl = u64::from(first) + k;
            set(cl, if k + 1 == n { eoc } else { (cl + 1) as u32 });
        }
    };

    let data_start = (usize::from(g.reserved_sectors)
        + usize::from(g.fats) * spf as usize
        + g.root_sectors() as usize)
        * bps;
    let root_start = data_start - g.root_sectors() as usize * bps;
    let cluster_off = |cl: u32| data_start + (cl as usize - 2) * cluster_bytes as usize;

    for d in &plan.dirs {
        let mut bytes = Vec::new();
        if d.cluster != 0 {
            let mut dot = *b"           ";
            dot[0] = b'.';
            bytes.extend_from_slice(&short_entry(&dot, ATTR_DIR, d.cluster, 0, time));
            dot[1] = b'.';
            bytes.extend_from_slice(&short_entry(&dot, ATTR_DIR, d.parent, 0, time));
        }
        for s in &d.slots {
            encode_slot(s, time, &mut bytes);
        }
        let at = if d.cluster == 0 {
            root_start
        } else {
            chain(&mut set, d.cluster, bytes.len() as u64);
            cluster_off(d.cluster)
        };
        if let Some(dst) = img.get_mut(at..at + bytes.len()) {
            dst.copy_from_slice(&bytes);
        }
    }
    for (cl, data) in &plan.files {
        chain(&mut set, *cl, data.len() as u64);
        let at = cluster_off(*cl);
        if let Some(dst) = img.get_mut(at..at + data.len()) {
            dst.copy_from_slice(data);
        }
    }
    for k in 0..usize::from(g.fats) {
        let at = (usize::from(g.reserved_sectors) + k * spf as usize) * bps;
        if let Some(dst) = img.get_mut(at..at + fat.len()) {
            dst.copy_from_slice(&fat);
        }
    }
    Ok(img)
}
