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

use std::collections::BTreeSet;

/// A date and time as FAT stores it (local time without zone; 2-second resolution for writes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FatTime {
    /// 1980..=2107.
    pub year: u16,
    /// 1..=12.
    pub month: u8,
    /// 1..=31.
    pub day: u8,
    /// 0..=23.
    pub hour: u8,
    /// 0..=59.
    pub minute: u8,
    /// 0..=59.
    pub second: u8,
}

impl FatTime {
    /// The time `secs` seconds after 1970-01-01 00:00:00 UTC (e.g. `SOURCE_DATE_EPOCH`), clamped
    /// to the range FAT can store (1980-01-01 to 2107-12-31).
    pub fn from_unix(secs: i64) -> FatTime {
        const MIN: i64 = 315_532_800; // 1980-01-01
        const MAX: i64 = 4_354_819_199; // 2107-12-31 23:59:59
        let secs = secs.clamp(MIN, MAX);
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        // Civil date from days since the epoch (proleptic Gregorian).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        FatTime {
            year: year as u16,
            month: month as u8,
            day: day as u8,
            hour: (rem / 3600) as u8,
            minute: (rem / 60 % 60) as u8,
            second: (rem % 60) as u8,
        }
    }

    /// Checks that every field is in range.
    pub fn is_valid(&self) -> bool {
        (1980..=2107).contains(&self.year)
            && (1..=12).contains(&self.month)
            && (1..=31).contains(&self.day)
            && self.hour < 24
            && self.minute < 60
            && self.second < 60
    }

    fn date(&self) -> u16 {
        ((self.year - 1980) << 9) | (u16::from(self.month) << 5) | u16::from(self.day)
    }

    fn time(&self) -> u16 {
        (u16::from(self.hour) << 11) | (u16::from(self.minute) << 5) | u16::from(self.second / 2)
    }

    fn tenths(&self) -> u8 {
        (self.second % 2) * 100
    }
}

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

    fn root_sectors(&self) -> u32 {
        let bps = u32::from(self.bytes_per_sector);
        (u32::from(self.root_entries) * 32).div_ceil(bps)
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

/// Checks a long name: 1..=255 UTF-16 units, no control characters, none of `"*/:<>?\|`,
/// not `.`/`..`, not ending in a dot or space.
pub fn check_name(name: &str) -> Result<(), Error> {
    let bad = |why| {
        Err(Error::BadName {
            name: name.to_string(),
            why,
        })
    };
    if name.is_empty() || name == "." || name == ".." {
        return bad("empty, `.` or `..`");
    }
    if name.encode_utf16().count() > 255 {
        return bad("longer than 255 characters");
    }
    if name
        .chars()
        .any(|c| c.is_control() || "\"*/:<>?\\|".contains(c))
    {
        return bad("contains a control character or one of \"*/:<>?\\|");
    }
    if name.ends_with('.') || name.ends_with(' ') {
        return bad("ends with a dot or space");
    }
    Ok(())
}

/// The 8.3 name `name` has as is (upper-case letters, digits and `!#$%&'()-@^_`{}~`), if any.
fn exact_short(name: &str) -> Option<[u8; 11]> {
    let ok =
        |c: u8| c.is_ascii_uppercase() || c.is_ascii_digit() || b"!#$%&'()-@^_`{}~".contains(&c);
    let (base, ext) = match name.rsplit_once('.') {
        Some((b, e)) => (b, e),
        None => (name, ""),
    };
    if base.is_empty() || base.len() > 8 || ext.len() > 3 {
        return None;
    }
    if !base.bytes().chain(ext.bytes()).all(ok) {
        return None;
    }
    let mut out = [b' '; 11];
    out[..base.len()].copy_from_slice(base.as_bytes());
    out[8..8 + ext.len()].copy_from_slice(ext.as_bytes());
    Some(out)
}

/// A generated 8.3 alias `BASIS~N.EXT` for a long name, unique among `taken`.
fn alias(name: &str, taken: &BTreeSet<[u8; 11]>) -> Option<[u8; 11]> {
    let clean = |s: &str| -> Vec<u8> {
        s.chars()
            .filter(|c| *c != ' ' && *c != '.')
            .map(|c| {
                let u = c.to_ascii_uppercase();
                if u.is_ascii_uppercase() || u.is_ascii_digit() || "!#$%&'()-@^_`{}~".contains(u) {
                    u as u8
                } else {
                    b'_'
                }
            })
            .collect()
    };
    let (base, ext) = match name.trim_start_matches('.').rsplit_once('.') {
        Some((b, e)) => (clean(b), clean(e)),
        None => (clean(name), Vec::new()),
    };
    let ext = &ext[..ext.len().min(3)];
    for n in 1u32..1_000_000 {
        let tail = format!("~{n}");
        let keep = 8usize.saturating_sub(tail.len()).min(base.len());
        let mut out = [b' '; 11];
        let mut i = 0;
        for &b in base.iter().take(keep) {
            out[i] = b;
            i += 1;
        }
        if keep == 0 {
            out[0] = b'_';
            i = 1;
        }
        for b in tail.bytes() {
            if i < 8 {
                out[i] = b;
                i += 1;
            }
        }
        out[8..8 + ext.len()].copy_from_slice(ext);
        if !taken.contains(&out) {
            return Some(out);
        }
    }
    None
}

fn lfn_checksum(short: &[u8; 11]) -> u8 {
    short.iter().fold(0u8, |sum, &c| {
        ((sum & 1) << 7).wrapping_add(sum >> 1).wrapping_add(c)
    })
}

/// A directory entry ready to be serialized: its long-name slots and its short entry.
struct Slot {
    short: [u8; 11],
    long: Option<String>,
    attr: u8,
    cluster: u32,
    size: u32,
}

/// The directory entries (32 bytes each) for one child: LFN entries then the short entry.
fn encode_slot(s: &Slot, t: FatTime, out: &mut Vec<u8>) {
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

fn short_entry(name: &[u8; 11], attr: u8, cluster: u32, size: u32, t: FatTime) -> [u8; 32] {
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

const ATTR_DIR: u8 = 0x10;
const ATTR_ARCHIVE: u8 = 0x20;
const ATTR_VOLUME: u8 = 0x08;

/// Short name and (if needed) long name of each child of a directory.
type Names = Vec<([u8; 11], Option<String>)>;

/// A planned directory: its entries, and for subdirectories its own and its parent's cluster.
struct PlannedDir {
    /// First cluster (0 for the root).
    cluster: u32,
    parent: u32,
    slots: Vec<Slot>,
}

/// The whole plan: directories and files with their clusters.
struct Plan {
    dirs: Vec<PlannedDir>,
    files: Vec<(u32, Vec<u8>)>,
    clusters: u64,
}

/// Sizes every directory, gives each directory and file its clusters (contiguous, tree order).
fn plan(root: &[Node], cluster_bytes: u64, label: Option<[u8; 11]>) -> Result<Plan, Error> {
    struct Walk {
        cluster_bytes: u64,
        next: u64,
        dirs: Vec<PlannedDir>,
        files: Vec<(u32, Vec<u8>)>,
    }
    fn entries_of(children: &[Node]) -> Result<Names, Error> {
        let mut taken = BTreeSet::new();
        let mut folded = BTreeSet::new();
        let mut out = Vec::with_capacity(children.len());
        for c in children {
            check_name(c.name())?;
            if !folded.insert(c.name().to_uppercase()) {
                return Err(Error::Duplicate(c.name().to_string()));
            }
        }
        // Exact 8.3 names first, so generated aliases never take them.
        for c in children {
            if let Some(s) = exact_short(c.name()) {
                taken.insert(s);
            }
        }
        for c in children {
            let upper = exact_short(&c.name().to_uppercase()).filter(|s| !taken.contains(s));
            let entry = match (exact_short(c.name()), upper) {
                (Some(s), _) => (s, None),
                (None, Some(s)) => {
                    taken.insert(s);
                    (s, Some(c.name().to_string()))
                }
                (None, None) => {
                    let s = alias(c.name(), &taken).ok_or_else(|| Error::BadName {
                        name: c.name().to_string(),
                        why: "no free short alias",
                    })?;
                    taken.insert(s);
                    (s, Some(c.name().to_string()))
                }
            };
            out.push(entry);
        }
        Ok(out)
    }
    fn dir_bytes(names: &Names, dots: bool) -> u64 {
        let mut n: u64 = if dots { 2 } else { 0 };
        for (_, long) in names {
            n += 1 + long
                .as_ref()
                .map_or(0, |l| l.encode_utf16().count().div_ceil(13) as u64);
        }
        n * 32
    }
    impl Walk {
        fn alloc(&mut self, bytes: u64) -> u32 {
            if bytes == 0 {
                return 0;
            }
            let first = self.next + 2;
            self.next += bytes.div_ceil(self.cluster_bytes);
            first as u32
        }
        fn dir(&mut self, children: &[Node], cluster: u32, parent: u32) -> Result<(), Error> {
            let names = entries_of(children)?;
            let me = self.dirs.len();
            self.dirs.push(PlannedDir {
                cluster,
                parent,
                slots: Vec::new(),
            });
            let mut slots = Vec::with_capacity(children.len());
            let mut subdirs = Vec::new();
            for (c, (short, long)) in children.iter().zip(names) {
                match c {
                    Node::File { name, data } => {
                        let size =
                            u32::try_from(data.len()).map_err(|_| Error::TooLarge(name.clone()))?;
                        let cl = self.alloc(data.len() as u64);
                        if cl != 0 {
                            self.files.push((cl, data.clone()));
                        }
                        slots.push(Slot {
                            short,
                            long,
                            attr: ATTR_ARCHIVE,
                            cluster: cl,
                            size,
                        });
                    }
                    Node::Dir { children, .. } => {
                        let bytes = dir_bytes(&entries_of(children)?, true);
                        let cl = self.alloc(bytes.max(1));
                        subdirs.push((cl, children));
                        slots.push(Slot {
                            short,
                            long,
                            attr: ATTR_DIR,
                            cluster: cl,
                            size: 0,
                        });
                    }
                }
            }
            if let Some(d) = self.dirs.get_mut(me) {
                d.slots = slots;
            }
            for (cl, children) in subdirs {
                self.dir(children, cl, cluster)?;
            }
            Ok(())
        }
    }
    let mut w = Walk {
        cluster_bytes,
        next: 0,
        dirs: Vec::new(),
        files: Vec::new(),
    };
    w.dir(root, 0, 0)?;
    if let (Some(label), Some(root)) = (label, w.dirs.first_mut()) {
        root.slots.insert(
            0,
            Slot {
                short: label,
                long: None,
                attr: ATTR_VOLUME,
                cluster: 0,
                size: 0,
            },
        );
    }
    Ok(Plan {
        dirs: w.dirs,
        files: w.files,
        clusters: w.next,
    })
}

/// The FAT type for a cluster count.
fn is_fat12(clusters: u64) -> bool {
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
fn fat_size(g: &Geometry) -> Result<(u32, u64), Error> {
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

fn check_geometry(g: &Geometry) -> Result<(), Error> {
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

    // Boot sector.
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
    img[..512].copy_from_slice(&bs);

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_time_to_fat() {
        let t = FatTime::from_unix(946_684_800); // 2000-01-01
        assert_eq!((t.year, t.month, t.day, t.hour), (2000, 1, 1, 0));
        let t = FatTime::from_unix(1_709_251_199); // 2024-02-29 23:59:59
        assert_eq!(
            (t.year, t.month, t.day, t.hour, t.minute, t.second),
            (2024, 2, 29, 23, 59, 59)
        );
        assert_eq!(FatTime::from_unix(0).year, 1980);
    }

    #[test]
    fn short_names() {
        assert_eq!(&exact_short("BOOTX64.EFI").unwrap(), b"BOOTX64 EFI");
        assert!(exact_short("grub.cfg").is_none());
        let taken = BTreeSet::new();
        assert_eq!(&alias("xenserver", &taken).unwrap(), b"XENSER~1   ");
        let mut taken = BTreeSet::new();
        taken.insert(*b"XENSER~1   ");
        assert_eq!(&alias("xenserver2", &taken).unwrap(), b"XENSER~2   ");
        assert_eq!(
            &alias("grub.cfg", &BTreeSet::new()).unwrap(),
            b"GRUB~1  CFG"
        );
    }

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
