//! Reading a source image: its tree (files point at their extents in the
//! source), volume identity, El Torito catalog and system area, without
//! mounting anything and without loading file data.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use hadris_fs::{Content, DateTime, Extent, FileType, MountOptions, Tree};
use hadris_iso::sync::{IsoFs, Session};
use hadris_iso::{Emulation, IsoDate, IsoId, Platform};
use hadris_storage::host::FileDevice;

use super::device::{Appendix, SECTOR, SourceDevice};
use super::error::{Error, Result};

/// The size of the ISO 9660 system area (sectors 0-15).
pub const SYSTEM_AREA: usize = 16 * SECTOR as usize;

/// Which firmware an El Torito entry is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BootPlatform {
    /// PC BIOS (platform id 0x00).
    Bios,
    /// UEFI (platform id 0xEF).
    Uefi,
    /// Another platform id.
    Other(u8),
}

impl std::fmt::Display for BootPlatform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Bios => f.write_str("BIOS"),
            Self::Uefi => f.write_str("UEFI"),
            Self::Other(id) => write!(f, "platform 0x{id:02x}"),
        }
    }
}

/// One entry of the source's El Torito boot catalog.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BootEntryInfo {
    /// The firmware the entry is for.
    pub platform: BootPlatform,
    /// Whether the entry is "no emulation" (the only kind isoremix rewrites).
    pub no_emulation: bool,
    /// The first sector of the boot image.
    pub load_block: u32,
    /// How many 512-byte sectors the firmware loads.
    pub sector_count: u16,
    /// The file in the tree that holds the boot image, when one does.
    pub path: Option<String>,
    /// Whether the image carries an El Torito boot information table
    /// (`-boot-info-table`).
    pub boot_info_table: bool,
    /// Why the entry cannot be used, when it is damaged (its image lies past the end of the
    /// file); the rest of the image can still be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub damage: Option<String>,
}

/// An ISO image opened for reading and remastering.
pub struct SourceIso {
    path: PathBuf,
    reader: File,
    session: Session<SourceDevice>,
    appendix: Appendix,
    volume_id: String,
    created: Option<DateTime>,
    volume_bytes: u64,
    file_len: u64,
    boot: Vec<BootEntryInfo>,
    catalog_path: Option<String>,
    system_area: Vec<u8>,
}

fn io_err(path: &Path) -> impl Fn(io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl SourceIso {
    /// Opens the image at `path` read-only and reads its structure.
    pub fn open(path: &Path) -> Result<Self> {
        let reader = crate::input::open(path).map_err(io_err(path))?;
        let file_len = reader.metadata().map_err(io_err(path))?.len();
        let not_iso = |detail: String| Error::NotIso {
            path: path.to_path_buf(),
            detail,
        };
        if file_len < 17 * SECTOR {
            return Err(not_iso(format!(
                "{file_len} bytes is too short for an ISO 9660 image"
            )));
        }
        let mut magic = [0u8; 6];
        reader
            .read_exact_at(&mut magic, 16 * SECTOR)
            .map_err(io_err(path))?;
        if &magic[1..6] != b"CD001" {
            return Err(not_iso(
                "no ISO 9660 volume descriptor at sector 16 (wrong magic)".into(),
            ));
        }

        let dev = FileDevice::open(path).map_err(io_err(path))?;
        let mut fs = IsoFs::mount(dev, MountOptions::new().read_only())
            .map_err(|e| not_iso(e.to_string()))?;
        let info = fs.info();
        let volume_id = String::from_utf8_lossy(info.id(IsoId::Volume)).into_owned();
        let created = info.date(IsoDate::Created);
        let volume_bytes = u64::from(info.volume_space_size()) * SECTOR;
        if volume_bytes > file_len {
            return Err(not_iso(format!(
                "the volume declares {volume_bytes} bytes but the file has {file_len}: truncated image"
            )));
        }
        let mut buf = vec![0u8; 4096];
        let mut raw_entries = Vec::new();
        if let Some(catalog) = fs
            .boot_catalog(&mut buf)
            .map_err(|e| not_iso(format!("boot catalog: {e}")))?
        {
            for entry in catalog.entries() {
                raw_entries.push(entry);
            }
        }
        drop(fs);

        let dev = SourceDevice::open(path).map_err(io_err(path))?;
        let appendix = dev.appendix();
        let session = Session::open(dev)
            .map_err(|e| not_iso(directory_damage(path).unwrap_or_else(|| e.to_string())))?;

        let mut system_area = vec![0u8; SYSTEM_AREA];
        reader
            .read_exact_at(&mut system_area, 0)
            .map_err(io_err(path))?;

        let mut source = Self {
            path: path.to_path_buf(),
            reader,
            session,
            appendix,
            volume_id,
            created,
            volume_bytes,
            file_len,
            boot: Vec::new(),
            catalog_path: None,
            system_area,
        };
        let firsts = source.first_extents();
        source.catalog_path = source
            .catalog_block()?
            .and_then(|block| firsts.get(&(u64::from(block) * SECTOR)).cloned());
        for (index, entry) in raw_entries.into_iter().enumerate() {
            let platform = match entry.platform() {
                Platform::X86 => BootPlatform::Bios,
                Platform::Efi => BootPlatform::Uefi,
                other => BootPlatform::Other(other.id()),
            };
            let offset = u64::from(entry.load_block()) * SECTOR;
            // What the firmware loads: `sector_count` 512-byte sectors (0 reads as one).
            let end = offset + u64::from(entry.sector_count().max(1)) * 512;
            let damage = (end > file_len).then(|| {
                format!(
                    "El Torito entry {} ({platform}): its image (block {}, bytes {offset}..{end}) \
                     lies past the end of the file ({file_len} bytes)",
                    index + 1,
                    entry.load_block()
                )
            });
            let mut head = [0u8; 16];
            if damage.is_none() && offset + 24 <= file_len {
                source
                    .reader
                    .read_exact_at(&mut head, offset + 8)
                    .map_err(io_err(path))?;
            }
            let word =
                |i: usize| u32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
            source.boot.push(BootEntryInfo {
                platform,
                no_emulation: entry.emulation() == Some(Emulation::NoEmulation),
                load_block: entry.load_block(),
                sector_count: entry.sector_count(),
                path: firsts.get(&offset).cloned(),
                boot_info_table: word(0) == 16 && word(4) == entry.load_block(),
                damage,
            });
        }
        Ok(source)
    }

    /// The block of the El Torito catalog, from the boot record descriptor.
    fn catalog_block(&self) -> Result<Option<u32>> {
        let mut sector = vec![0u8; SECTOR as usize];
        for index in 16..64u64 {
            self.reader
                .read_exact_at(&mut sector, index * SECTOR)
                .map_err(io_err(&self.path))?;
            if &sector[1..6] != b"CD001" || sector[0] == 255 {
                break;
            }
            if sector[0] == 0 && sector[7..30] == *b"EL TORITO SPECIFICATION" {
                let lba = u32::from_le_bytes([sector[71], sector[72], sector[73], sector[74]]);
                return Ok(Some(lba));
            }
        }
        Ok(None)
    }

    /// Every file's first byte on the device, mapped to its path.
    fn first_extents(&self) -> BTreeMap<u64, String> {
        let mut out = BTreeMap::new();
        for (path, content) in files(self.session.tree()) {
            if let Some(first) = content.stored_extents().and_then(|e| e.first()) {
                out.entry(first.offset()).or_insert(path);
            }
        }
        out
    }

    /// The image file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The volume identifier.
    pub fn volume_id(&self) -> &str {
        &self.volume_id
    }

    /// The volume creation time, when the image records one.
    pub fn created(&self) -> Option<DateTime> {
        self.created
    }

    /// The bytes the volume declares (the ISO 9660 part of the image).
    pub fn volume_bytes(&self) -> u64 {
        self.volume_bytes
    }

    /// The length of the image file (volume plus hybrid padding).
    pub fn file_len(&self) -> u64 {
        self.file_len
    }

    /// The El Torito entries, in catalog order.
    pub fn boot_entries(&self) -> &[BootEntryInfo] {
        &self.boot
    }

    /// Fails with the first damaged El Torito entry: a build must not write a catalog whose
    /// images are missing (reading the tree does not need them).
    pub fn check_boot_entries(&self) -> Result<()> {
        match self.boot.iter().find_map(|e| e.damage.as_ref()) {
            Some(detail) => Err(Error::Boot {
                path: self.path.clone(),
                detail: detail.clone(),
            }),
            None => Ok(()),
        }
    }

    /// The path of the boot catalog file, when the tree lists it.
    pub fn catalog_path(&self) -> Option<&str> {
        self.catalog_path.as_deref()
    }

    /// The first 32 KiB of the image (MBR, GPT, isohybrid boot code).
    pub fn system_area(&self) -> &[u8] {
        &self.system_area
    }

    /// The tree, with unchanged files pointing at the source.
    pub fn tree(&self) -> &Tree {
        self.session.tree()
    }

    pub(crate) fn tree_mut(&mut self) -> &mut Tree {
        self.session.tree_mut()
    }

    pub(crate) fn session_mut(&mut self) -> &mut Session<SourceDevice> {
        &mut self.session
    }

    /// The image file, open for reading.
    pub(super) fn file(&self) -> &File {
        &self.reader
    }

    pub(crate) fn appendix(&self) -> &Appendix {
        &self.appendix
    }

    /// The stored extents of the file at `entry`.
    pub fn extents(&self, entry: &str) -> Result<Vec<Extent>> {
        let node = self
            .tree()
            .get(entry.trim_start_matches('/'))
            .ok_or_else(|| self.entry_err(entry, "no such file in the image"))?;
        if node.file_type() != FileType::File {
            return Err(self.entry_err(entry, "not a regular file"));
        }
        let content = node
            .content()
            .ok_or_else(|| self.entry_err(entry, "not a regular file"))?;
        // An empty file has no extent: the reader holds it as empty bytes.
        if content.is_empty() {
            return Ok(Vec::new());
        }
        content
            .stored_extents()
            .map(<[Extent]>::to_vec)
            .ok_or_else(|| self.entry_err(entry, "was replaced in this build"))
    }

    /// The file at `entry` as a [`DetachedReader`]; `None` when its data is not all the
    /// source image's (a file this build wrote or grew).
    pub fn open_detached(&self, entry: &str) -> Result<Option<DetachedReader>> {
        let Ok(extents) = self.extents(entry) else {
            return Ok(None);
        };
        if extents
            .iter()
            .any(|e| e.offset().saturating_add(e.len()) > self.appendix.base())
        {
            return Ok(None);
        }
        let file = self.reader.try_clone().map_err(|source| Error::Io {
            path: self.path().to_path_buf(),
            source,
        })?;
        Ok(Some(DetachedReader {
            file,
            extents,
            index: 0,
            within: 0,
        }))
    }

    /// Whether `entry` is a file of the image.
    pub fn exists(&self, entry: &str) -> bool {
        self.tree().get(entry.trim_start_matches('/')).is_some()
    }

    /// A stream of the file at `entry` as this build has it: data still in the source (and
    /// bytes appended after it), bytes held in memory, or a host file added by the build.
    pub fn open_file(&self, entry: &str) -> Result<ExtentReader<'_>> {
        let node = self
            .tree()
            .get(entry.trim_start_matches('/'))
            .ok_or_else(|| self.entry_err(entry, "no such file in the image"))?;
        let content = match node.content() {
            Some(content) if node.file_type() == FileType::File => content,
            _ => return Err(self.entry_err(entry, "not a regular file")),
        };
        let data = if let Some(extents) = content.stored_extents() {
            Data::Extents {
                file: &self.reader,
                appendix: &self.appendix,
                extents: extents.to_vec(),
                index: 0,
                within: 0,
            }
        } else if let Some(bytes) = content.as_bytes() {
            Data::Memory(bytes)
        } else {
            let reader = hadris_fs::sync::ContentReader::open(content)
                .map_err(|e| self.entry_err(entry, &e.to_string()))?;
            Data::Host(reader)
        };
        Ok(ExtentReader {
            data,
            len: content.len(),
            pos: 0,
        })
    }

    /// The whole file at `entry`, for small files (configs, repodata).
    pub fn read_file(&self, entry: &str) -> Result<Vec<u8>> {
        let mut file = self.open_file(entry)?;
        // Sized once for the file (up to a bound: the length is the image's word, not yet
        // read), not grown and copied step by step.
        let mut out = Vec::with_capacity(file.len().min(READ_FILE_RESERVE) as usize);
        file.read_to_end(&mut out).map_err(io_err(&self.path))?;
        Ok(out)
    }

    pub(crate) fn entry_err(&self, entry: &str, detail: &str) -> Error {
        Error::Entry {
            path: self.path.clone(),
            entry: entry.to_string(),
            detail: detail.to_string(),
        }
    }
}

/// The most [`SourceIso::read_file`] reserves before reading.
const READ_FILE_RESERVE: u64 = 64 << 20;

/// Why the directories of the image at `path` cannot be read, naming the directory (or file)
/// whose records are damaged: the tree reader only says what is wrong, so when it fails every
/// directory is listed again, in the same namespace, until one fails. `None` when they all read.
fn directory_damage(path: &Path) -> Option<String> {
    use hadris_fs::DirCursor;
    use hadris_fs::sync::FileSystem;

    let dev = FileDevice::open(path).ok()?;
    let mut fs = IsoFs::mount(dev, MountOptions::new().read_only()).ok()?;
    let root = fs.root();
    // Every directory seen, so that one listed twice (a loop) is named rather than followed.
    let mut seen = BTreeMap::from([(root, "/".to_string())]);
    let mut pending = vec![(root, String::new())];
    while let Some((dir, prefix)) = pending.pop() {
        let shown = if prefix.is_empty() { "/" } else { &prefix };
        let mut first = [Extent::new(0, 0)];
        let at = match fs.extents(dir, 0, &mut first) {
            Ok(1) => format!(" (its records start at byte {})", first[0].offset()),
            _ => String::new(),
        };
        let mut names = std::collections::BTreeSet::new();
        let mut last: Option<String> = None;
        let mut cursor = DirCursor::START;
        loop {
            let entry = match fs.readdir(dir, cursor) {
                Ok(Some(entry)) => entry,
                Ok(None) => break,
                Err(e) => {
                    let place = match &last {
                        Some(name) => format!("after the entry {name:?}"),
                        None => "at its first entry".to_string(),
                    };
                    return Some(format!("{shown}: {e} {place}{at}"));
                }
            };
            cursor = entry.next_cursor();
            let name = String::from_utf8_lossy(entry.name().as_bytes()).into_owned();
            let child = format!("{prefix}/{name}");
            if !names.insert(name.clone()) {
                return Some(format!("{shown}: lists {name:?} twice{at}"));
            }
            match entry.metadata().file_type() {
                FileType::Dir => {
                    if let Some(first) = seen.insert(entry.node(), child.clone()) {
                        return Some(format!(
                            "{child}: is the directory {first} again (the directories loop)"
                        ));
                    }
                    pending.push((entry.node(), child));
                }
                // Reading the extents from past their end still follows every record of the file.
                FileType::File => {
                    if let Err(e) = fs.extents(entry.node(), u64::MAX, &mut []) {
                        return Some(format!("{child}: {e}"));
                    }
                }
                _ => {}
            }
            last = Some(name);
        }
    }
    None
}

/// Reads a file of the image in order, wherever its data is.
pub struct ExtentReader<'a> {
    data: Data<'a>,
    len: u64,
    pos: u64,
}

enum Data<'a> {
    /// Extents of the source image, or of the bytes appended after it.
    Extents {
        file: &'a File,
        appendix: &'a Appendix,
        extents: Vec<Extent>,
        index: usize,
        within: u64,
    },
    /// Bytes held in memory.
    Memory(&'a [u8]),
    /// A host file added by this build.
    Host(hadris_fs::sync::ContentReader<'a>),
}

impl ExtentReader<'_> {
    /// The file's length.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the file is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Read for ExtentReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match &mut self.data {
            Data::Extents {
                file,
                appendix,
                extents,
                index,
                within,
            } => read_extents(file, Some(appendix), extents, index, within, buf)?,
            Data::Memory(bytes) => {
                let rest = bytes.get(self.pos as usize..).unwrap_or_default();
                let n = rest.len().min(buf.len());
                buf[..n].copy_from_slice(&rest[..n]);
                n
            }
            Data::Host(reader) => reader
                .read_at(self.pos, buf)
                .map_err(|e| io::Error::other(e.to_string()))?,
        };
        self.pos += n as u64;
        Ok(n)
    }
}

/// Reads from `extents` at (`index`, `within`), advancing them: the source image's bytes from
/// `file`, those past its end from `appendix`.
fn read_extents(
    file: &File,
    appendix: Option<&Appendix>,
    extents: &[Extent],
    index: &mut usize,
    within: &mut u64,
    buf: &mut [u8],
) -> io::Result<usize> {
    loop {
        let Some(extent) = extents.get(*index) else {
            return Ok(0);
        };
        if *within >= extent.len() {
            *index += 1;
            *within = 0;
            continue;
        }
        let take = ((extent.len() - *within) as usize).min(buf.len());
        let at = extent.offset() + *within;
        let n = match appendix {
            // Past the source's end only appended bytes exist: anything else is data the
            // image promises but does not hold.
            Some(appendix) if at >= appendix.base() => {
                if at + take as u64 > appendix.end() {
                    0
                } else {
                    appendix.fill(at, &mut buf[..take]);
                    take
                }
            }
            _ => file.read_at(&mut buf[..take], at)?,
        };
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "file data runs past the end of the image",
            ));
        }
        *within += n as u64;
        return Ok(n);
    }
}

/// A reader of a file of the source image with its own handle on the image, so that it can
/// go to another thread while the build goes on ([`SourceIso::open_detached`]).
#[derive(Debug)]
pub struct DetachedReader {
    file: File,
    extents: Vec<Extent>,
    index: usize,
    within: u64,
}

impl Read for DetachedReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        read_extents(
            &self.file,
            None,
            &self.extents,
            &mut self.index,
            &mut self.within,
            buf,
        )
    }
}

impl io::Seek for ExtentReader<'_> {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        let target = match pos {
            io::SeekFrom::Start(n) => Some(n),
            io::SeekFrom::End(d) => self.len.checked_add_signed(d),
            io::SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        }
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        if let Data::Extents {
            extents,
            index,
            within,
            ..
        } = &mut self.data
        {
            // The extent holding `target`, or the end.
            let mut left = target;
            *index = extents.len();
            *within = 0;
            for (i, extent) in extents.iter().enumerate() {
                if left < extent.len() {
                    *index = i;
                    *within = left;
                    break;
                }
                left -= extent.len();
            }
        }
        self.pos = target;
        Ok(target)
    }
}

/// Every file of `tree` (not directories) with its path, in name order.
pub fn files(tree: &Tree) -> Vec<(String, Content)> {
    let mut out = Vec::new();
    walk(tree, &mut |path, entry| {
        if let Some(content) = entry.node().content() {
            out.push((path.to_string(), content.clone()));
        }
    });
    out
}

/// The bytes the file data of `tree` take in an image: each file's length
/// rounded up to whole sectors, hard links counted once.
pub fn data_bytes(tree: &Tree) -> u64 {
    let mut seen = std::collections::BTreeSet::new();
    let mut total = 0;
    walk(tree, &mut |_, entry| {
        if let Some(content) = entry.node().content()
            && seen.insert(entry.id())
        {
            total += content.len().div_ceil(SECTOR) * SECTOR;
        }
    });
    total
}

/// Calls `visit` for every node below the root with its `/`-prefixed path,
/// parents before children, in name order. Iterative (an explicit stack), so a deep
/// directory chain costs memory, not the thread's stack.
pub fn walk(tree: &Tree, visit: &mut dyn FnMut(&str, hadris_fs::TreeEntry<'_>)) {
    fn children<'t>(
        prefix: &str,
        dir: hadris_fs::TreeEntry<'t>,
    ) -> std::vec::IntoIter<(String, hadris_fs::TreeEntry<'t>)> {
        dir.children()
            .map(|(name, child)| {
                let path = format!("{prefix}/{}", String::from_utf8_lossy(name.as_bytes()));
                (path, child)
            })
            .collect::<Vec<_>>()
            .into_iter()
    }
    let mut stack = vec![children("", tree.root())];
    while let Some(level) = stack.last_mut() {
        let Some((path, child)) = level.next() else {
            stack.pop();
            continue;
        };
        visit(&path, child);
        if child.node().file_type() == FileType::Dir {
            stack.push(children(&path, child));
        }
    }
}
