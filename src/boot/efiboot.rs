//! The EFI boot image (`boot/efiboot.img`, a FAT12/16 volume): list and read its files, rebuild
//! it with some files replaced, or create a fresh one, deterministically.
//!
//! Reading goes through the `hadris-fat` crate; writing through `fatwrite`, which
//! lays files out contiguously in tree order with caller-given serial and timestamps. A rebuilt
//! image keeps the source's geometry (sector and cluster size, root entries, media, CHS, label,
//! boot sector code), its tree order and names; it grows only if the new content needs it.
//! File attributes other than directory are not carried over (every file is written as archive).

use hadris_fat::sync::FatFs;
use hadris_fs::sync::Volume;
use hadris_fs::{FileType, MountOptions};
use hadris_storage::{BlockSize, MemDevice};

use super::fatwrite;
pub use super::fatwrite::{FatTime, Geometry, Node};

/// Errors of efiboot.img reading and writing.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The image's boot sector does not describe a FAT12/16 volume this code can read.
    #[error("not a usable FAT12/16 image: {0}")]
    BadImage(String),
    /// The FAT reader failed.
    #[error("reading the FAT image failed at {path:?}: {source}")]
    Read {
        /// The path being read.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A path that is not in the image.
    #[error("{0:?} is not a file in the FAT image")]
    NotFound(String),
    /// A path that cannot be used (empty component, `.`/`..`, backslash, characters FAT forbids).
    #[error("invalid path {path:?}: {why}")]
    BadPath {
        /// The path.
        path: String,
        /// What is wrong.
        why: String,
    },
    /// A path that is a directory in one place and a file in another.
    #[error("{0:?} is both a file and a directory")]
    FileDirClash(String),
    /// The image holds more than this reader accepts (entries, depth or bytes).
    #[error("the FAT image holds too much: {0}")]
    TooBig(String),
    /// The writer failed.
    #[error(transparent)]
    Write(#[from] fatwrite::Error),
}

/// A file or directory of the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// `/`-separated path from the root, with the long names (`EFI/xenserver/grub.cfg`).
    pub path: String,
    /// Whether it is a directory.
    pub is_dir: bool,
    /// Its size in bytes (0 for directories).
    pub size: u64,
}

/// Limits on what a read accepts, against hostile images.
const MAX_ENTRIES: usize = 65_536;
const MAX_DEPTH: usize = 32;

/// The fields of the boot sector a reader needs, checked.
fn geometry(image: &[u8]) -> Result<Geometry, Error> {
    let bad = |s: &str| Error::BadImage(s.to_string());
    let b = image
        .get(..512)
        .ok_or_else(|| bad("shorter than a boot sector"))?;
    let u16_at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
    let u32_at = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
    if b[510] != 0x55 || b[511] != 0xAA {
        return Err(bad("no 0x55AA boot signature"));
    }
    let bps = u16_at(11);
    if !(512..=4096).contains(&bps) || !bps.is_power_of_two() {
        return Err(bad("bytes per sector is not a power of two in 512..=4096"));
    }
    let spc = b[13];
    if spc == 0 || !spc.is_power_of_two() {
        return Err(bad("sectors per cluster is not a power of two"));
    }
    let reserved = u16_at(14);
    let fats = b[16];
    let root_entries = u16_at(17);
    let spf = u16_at(22);
    if reserved == 0 || !(1..=2).contains(&fats) || root_entries == 0 || spf == 0 {
        return Err(bad(
            "not FAT12/16 (needs reserved sectors, 1-2 FATs, a root directory and FAT size)",
        ));
    }
    let total = match u16_at(19) {
        0 => u32_at(32),
        t => u32::from(t),
    };
    let need = u64::from(total) * u64::from(bps);
    if need > image.len() as u64 || total == 0 {
        return Err(bad("the volume is larger than the image"));
    }
    let meta = u64::from(reserved)
        + u64::from(fats) * u64::from(spf)
        + (u64::from(root_entries) * 32).div_ceil(u64::from(bps));
    if meta >= u64::from(total) {
        return Err(bad("no data area"));
    }
    if (u64::from(total) - meta) / u64::from(spc) >= 65_525 {
        return Err(bad("FAT32 is not supported"));
    }
    let mut label = [b' '; 11];
    if b[38] == 0x29 {
        label.copy_from_slice(&b[43..54]);
    } else {
        label.copy_from_slice(b"NO NAME    ");
    }
    Ok(Geometry {
        bytes_per_sector: bps,
        sectors_per_cluster: spc,
        reserved_sectors: reserved,
        fats,
        root_entries,
        total_sectors: total,
        media: b[21],
        sectors_per_fat: spf,
        sectors_per_track: u16_at(24),
        heads: u16_at(26),
        hidden_sectors: u32_at(28),
        drive_number: b[36],
        label,
    })
}

/// The image's FAT volume, mounted read-only.
type FatVolume<'a> = Volume<FatFs<MemDevice<&'a [u8]>>>;

/// Runs `read` on the volume of an image whose clusters check out, with a budget of entries
/// and file bytes: a valid image cannot hold more file bytes than its own size (clusters are
/// not shared).
fn with_volume<T>(
    image: &[u8],
    read: impl FnOnce(&FatVolume, &mut Budget) -> Result<T, Error> + std::panic::UnwindSafe,
) -> Result<T, Error> {
    check_clusters(image, &geometry(image)?)?;
    let block = BlockSize::new(512).ok_or_else(|| Error::BadImage("block size".into()))?;
    let mut budget = Budget {
        entries: MAX_ENTRIES,
        bytes: image.len() as u64,
    };
    // The reader is a dependency: contain a panic on hostile input as an error.
    let result = std::panic::catch_unwind(move || -> Result<T, Error> {
        let fs = FatFs::mount(
            MemDevice::new(image, block),
            MountOptions::new().read_only(),
        )
        .map_err(|e| Error::Read {
            path: String::new(),
            source: e.into(),
        })?;
        read(&Volume::new(fs), &mut budget)
    });
    match result {
        Ok(r) => r,
        Err(_) => Err(Error::BadImage(
            "the FAT reader failed on this image".into(),
        )),
    }
}

/// Reads the whole tree of an image (files with their bytes).
fn read_tree(image: &[u8]) -> Result<Vec<Node>, Error> {
    with_volume(image, |volume, budget| walk(volume, "", 0, budget))
}

/// Checks that every cluster number the FAT reader will follow names a data cluster: each FAT
/// entry's next cluster and each directory entry's first cluster (walking directories through
/// their chains, each cluster once). The reader refuses such an image too, but only as "corrupt
/// filesystem data"; this says which entry names which cluster.
fn check_clusters(image: &[u8], g: &Geometry) -> Result<(), Error> {
    let bps = usize::from(g.bytes_per_sector);
    let fat_at = usize::from(g.reserved_sectors) * bps;
    let root_at = fat_at + usize::from(g.fats) * usize::from(g.sectors_per_fat) * bps;
    let data_at = root_at + (usize::from(g.root_entries) * 32).div_ceil(bps) * bps;
    let cluster_len = usize::from(g.sectors_per_cluster) * bps;
    let clusters = (g.total_sectors as usize * bps).saturating_sub(data_at) / cluster_len;
    let last = clusters + 1;
    let fat12 = clusters < 4085;
    let fat = image
        .get(fat_at..fat_at + usize::from(g.sectors_per_fat) * bps)
        .ok_or_else(|| Error::BadImage("the FAT lies past the image".into()))?;
    let entry = |n: usize| -> Option<usize> {
        if fat12 {
            let at = n + n / 2;
            let w = u16::from_le_bytes([*fat.get(at)?, *fat.get(at + 1)?]);
            Some(usize::from(if n.is_multiple_of(2) {
                w & 0xFFF
            } else {
                w >> 4
            }))
        } else {
            Some(usize::from(u16::from_le_bytes([
                *fat.get(2 * n)?,
                *fat.get(2 * n + 1)?,
            ])))
        }
    };
    let reserved_from = if fat12 { 0xFF7 } else { 0xFFF7 };
    for n in 2..=last {
        match entry(n) {
            Some(v) if v == 1 || (v > last && v < reserved_from) => {
                return Err(Error::BadImage(format!(
                    "FAT entry {n} names cluster {v}, outside the volume's clusters 2-{last}"
                )));
            }
            Some(_) => {}
            None => return Err(Error::BadImage(format!("the FAT has no entry {n}"))),
        }
    }
    let mut seen = vec![false; last + 1];
    let mut regions = vec![(root_at, usize::from(g.root_entries) * 32)];
    while let Some((at, len)) = regions.pop() {
        let dir = image.get(at..at + len).unwrap_or_default();
        for raw in dir.chunks_exact(32) {
            let attr = raw[11];
            match raw[0] {
                0 => break,
                0xE5 => continue,
                // The reader skips `.` and `..` by name, and names come from the long name
                // when there is one: only these two short names are theirs.
                _ if raw[..11] == *b".          " || raw[..11] == *b"..         " => continue,
                _ if attr == 0x0F || attr & 0x08 != 0 => continue,
                _ => {}
            }
            let mut cluster = usize::from(u16::from_le_bytes([raw[26], raw[27]]));
            if cluster == 1 || cluster > last {
                let name = String::from_utf8_lossy(&raw[..11]).trim_end().to_string();
                return Err(Error::BadImage(format!(
                    "{name:?} starts at cluster {cluster}, outside the volume's clusters 2-{last}"
                )));
            }
            while attr & 0x10 != 0 && (2..=last).contains(&cluster) && !seen[cluster] {
                seen[cluster] = true;
                regions.push((data_at + (cluster - 2) * cluster_len, cluster_len));
                cluster = entry(cluster).unwrap_or(0);
            }
        }
    }
    Ok(())
}

/// The error of a failed read at `path` in the FAT volume.
fn read_err<E>(path: &str) -> impl FnOnce(hadris_fs::Error<E>) -> Error
where
    hadris_fs::PathError: From<hadris_fs::Error<E>>,
{
    let path = path.to_string();
    move |e| Error::Read {
        path,
        source: hadris_fs::PathError::from(e).into(),
    }
}

/// What a read may still take: entries and file bytes.
struct Budget {
    entries: usize,
    bytes: u64,
}

impl Budget {
    /// Counts one more directory entry read.
    fn take_entry(&mut self) -> Result<(), Error> {
        self.entries = self
            .entries
            .checked_sub(1)
            .ok_or_else(|| Error::TooBig(format!("more than {MAX_ENTRIES} entries")))?;
        Ok(())
    }
}

fn walk(
    volume: &FatVolume,
    prefix: &str,
    depth: usize,
    budget: &mut Budget,
) -> Result<Vec<Node>, Error> {
    if depth > MAX_DEPTH {
        return Err(Error::TooBig(format!(
            "directories nested deeper than {MAX_DEPTH}"
        )));
    }
    let mut out = Vec::new();
    for entry in volume.read_dir(prefix).map_err(read_err(prefix))? {
        let entry = entry.map_err(read_err(prefix))?;
        let name = String::from_utf8_lossy(entry.name().as_bytes()).into_owned();
        if name == "." || name == ".." {
            continue;
        }
        budget.take_entry()?;
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        if entry.file_type() == FileType::Dir {
            let children = walk(volume, &path, depth + 1, budget)?;
            out.push(Node::Dir { name, children });
        } else {
            let len = entry.metadata().len();
            budget.bytes = budget.bytes.checked_sub(len).ok_or_else(|| {
                Error::TooBig(format!(
                    "{path:?} ({len} bytes) takes the file bytes past the image's size"
                ))
            })?;
            let data = volume.read(&path).map_err(read_err(&path))?;
            out.push(Node::File { name, data });
        }
    }
    Ok(out)
}

/// Splits and checks a path given by a caller (`EFI/xenserver/grub.cfg`; a leading `/` or `::/`
/// is allowed).
fn split_path(path: &str) -> Result<Vec<&str>, Error> {
    let p = path.trim_start_matches("::").trim_start_matches('/');
    let parts: Vec<&str> = p.split('/').collect();
    for part in &parts {
        fatwrite::check_name(part).map_err(|e| Error::BadPath {
            path: path.to_string(),
            why: e.to_string(),
        })?;
    }
    Ok(parts)
}

fn eq_name(a: &str, b: &str) -> bool {
    a.to_uppercase() == b.to_uppercase()
}

fn find_mut<'a>(tree: &'a mut [Node], parts: &[&str]) -> Option<&'a mut Node> {
    let (first, rest) = parts.split_first()?;
    let node = tree.iter_mut().find(|n| eq_name(n.name(), first))?;
    if rest.is_empty() {
        return Some(node);
    }
    match node {
        Node::Dir { children, .. } => find_mut(children, rest),
        Node::File { .. } => None,
    }
}

fn flatten(tree: &[Node], prefix: &str, out: &mut Vec<FileEntry>) {
    for n in tree {
        let path = if prefix.is_empty() {
            n.name().to_string()
        } else {
            format!("{prefix}/{}", n.name())
        };
        match n {
            Node::Dir { children, .. } => {
                out.push(FileEntry {
                    path: path.clone(),
                    is_dir: true,
                    size: 0,
                });
                flatten(children, &path, out);
            }
            Node::File { data, .. } => out.push(FileEntry {
                path,
                is_dir: false,
                size: data.len() as u64,
            }),
        }
    }
}

/// Lists every directory and file of the image, in directory order (parents before children).
pub fn list(image: &[u8]) -> Result<Vec<FileEntry>, Error> {
    let tree = read_tree(image)?;
    let mut out = Vec::new();
    flatten(&tree, "", &mut out);
    Ok(out)
}

/// Reads one file of the image (path compared case-insensitively).
pub fn read_file(image: &[u8], path: &str) -> Result<Vec<u8>, Error> {
    let parts = split_path(path)?;
    with_volume(image, |volume, budget| {
        // Only the directories on the way are listed, and only the file itself is read.
        let mut at = String::new();
        for (i, part) in parts.iter().enumerate() {
            let listed = volume.read_dir(&at).map_err(read_err(&at))?;
            let mut found = None;
            for entry in listed {
                let entry = entry.map_err(read_err(&at))?;
                budget.take_entry()?;
                let name = String::from_utf8_lossy(entry.name().as_bytes()).into_owned();
                if eq_name(&name, part) {
                    found = Some((name, entry.file_type(), entry.metadata().len()));
                    break;
                }
            }
            let Some((name, kind, len)) = found else {
                return Err(Error::NotFound(path.to_string()));
            };
            at = if at.is_empty() {
                name
            } else {
                format!("{at}/{name}")
            };
            let last = i + 1 == parts.len();
            match (kind == FileType::Dir, last) {
                (true, false) => {}
                (false, true) if len <= budget.bytes => {}
                (false, true) => {
                    return Err(Error::TooBig(format!(
                        "{at:?} ({len} bytes) is larger than the image"
                    )));
                }
                _ => return Err(Error::NotFound(path.to_string())),
            }
        }
        volume.read(&at).map_err(read_err(&at))
    })
}

/// The removable-media EFI boot binary (`EFI/BOOT/BOOTX64.EFI`) of the image, to be put on the
/// ISO filesystem as the EFI fallback loader.
pub fn efi_fallback_loader(image: &[u8]) -> Result<Vec<u8>, Error> {
    read_file(image, super::EFI_FALLBACK_LOADER)
}

/// Rebuilds `image` with the files in `replace` (path, new bytes) replaced; every other file,
/// directory, name and the tree order stay. Each replaced path must be an existing file. The
/// new image has the source's geometry (grown if needed), volume serial `serial` and every
/// timestamp set to `time`; the same inputs always give the same bytes.
pub fn rebuild(
    image: &[u8],
    replace: &[(&str, &[u8])],
    serial: u32,
    time: FatTime,
) -> Result<Vec<u8>, Error> {
    let g = geometry(image)?;
    let mut tree = read_tree(image)?;
    for (path, bytes) in replace {
        let parts = split_path(path)?;
        match find_mut(&mut tree, &parts) {
            Some(Node::File { data, .. }) => *data = bytes.to_vec(),
            _ => return Err(Error::NotFound(path.to_string())),
        }
    }
    let boot = image.get(..512);
    Ok(fatwrite::write(&g, boot, &tree, serial, time)?)
}

/// Creates a fresh image holding `files` (path, bytes; directories are made as needed, in order
/// of first appearance), shaped like `mformat -f 2880` (FAT12, 2.88 MB) when `size_kib` is 2880,
/// else with `size_kib` KiB total; grown if the files need more. Volume serial `serial`, every
/// timestamp `time`.
pub fn create(
    files: &[(&str, &[u8])],
    size_kib: u32,
    serial: u32,
    time: FatTime,
) -> Result<Vec<u8>, Error> {
    let mut g = Geometry::floppy_2880();
    g.total_sectors = size_kib.saturating_mul(2).max(64);
    let mut tree: Vec<Node> = Vec::new();
    for (path, bytes) in files {
        let parts = split_path(path)?;
        let Some((file, dirs)) = parts.split_last() else {
            continue;
        };
        let mut level = &mut tree;
        for d in dirs {
            let pos = match level.iter().position(|n| eq_name(n.name(), d)) {
                Some(p) => p,
                None => {
                    level.push(Node::Dir {
                        name: d.to_string(),
                        children: Vec::new(),
                    });
                    level.len() - 1
                }
            };
            level = match level.get_mut(pos) {
                Some(Node::Dir { children, .. }) => children,
                _ => return Err(Error::FileDirClash(path.to_string())),
            };
        }
        if level.iter().any(|n| eq_name(n.name(), file)) {
            return Err(Error::FileDirClash(path.to_string()));
        }
        level.push(Node::File {
            name: file.to_string(),
            data: bytes.to_vec(),
        });
    }
    Ok(fatwrite::write(&g, None, &tree, serial, time)?)
}

/// A volume serial derived from `seed` (e.g. the source image's bytes or the output's name):
/// the first four bytes of its SHA-256.
pub fn serial_from_seed(seed: &[u8]) -> u32 {
    use sha2::Digest;
    let d = sha2::Sha256::digest(seed);
    u32::from_le_bytes([d[0], d[1], d[2], d[3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> FatTime {
        FatTime::from_unix(946_684_800)
    }

    #[test]
    fn create_then_read_back() {
        let big: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        let img = create(
            &[
                ("EFI/BOOT/BOOTX64.EFI", &big),
                ("EFI/xenserver/grub.cfg", b"set timeout=5\n"),
                ("empty", b""),
            ],
            2880,
            0x1234_5678,
            t(),
        )
        .unwrap();
        assert_eq!(img.len(), 2880 * 1024);
        assert_eq!(read_file(&img, "EFI/BOOT/BOOTX64.EFI").unwrap(), big);
        assert_eq!(efi_fallback_loader(&img).unwrap(), big);
        assert_eq!(
            read_file(&img, "/efi/XENSERVER/grub.cfg").unwrap(),
            b"set timeout=5\n"
        );
        let paths: Vec<String> = list(&img).unwrap().into_iter().map(|e| e.path).collect();
        assert_eq!(
            paths,
            [
                "EFI",
                "EFI/BOOT",
                "EFI/BOOT/BOOTX64.EFI",
                "EFI/xenserver",
                "EFI/xenserver/grub.cfg",
                "empty"
            ]
        );
        assert_eq!(&img[39..43], &0x1234_5678u32.to_le_bytes());
        assert_eq!(read_file(&img, "empty").unwrap(), b"");
        // Only files are read: not a directory, nothing below a file, nothing missing.
        for missing in ["EFI/BOOT", "empty/x", "EFI/nothing.cfg", "nowhere/grub.cfg"] {
            assert!(
                matches!(read_file(&img, missing), Err(Error::NotFound(_))),
                "{missing}"
            );
        }
    }

    #[test]
    fn grows_when_content_needs_it() {
        let big = vec![7u8; 4 * 1024 * 1024];
        let img = create(&[("big.bin", &big)], 2880, 1, t()).unwrap();
        assert!(img.len() > 4 * 1024 * 1024);
        assert_eq!(read_file(&img, "big.bin").unwrap(), big);
    }

    #[test]
    fn rebuild_replaces_only_the_named_file() {
        let img = create(&[("a/b.txt", b"one"), ("a/c.txt", b"two")], 2880, 1, t()).unwrap();
        let out = rebuild(&img, &[("a/b.txt", b"three")], 1, t()).unwrap();
        assert_eq!(read_file(&out, "a/b.txt").unwrap(), b"three");
        assert_eq!(read_file(&out, "a/c.txt").unwrap(), b"two");
        assert!(matches!(
            rebuild(&img, &[("a/missing", b"x")], 1, t()),
            Err(Error::NotFound(_))
        ));
        assert!(matches!(
            rebuild(&img, &[("../x", b"x")], 1, t()),
            Err(Error::BadPath { .. })
        ));
    }
}
