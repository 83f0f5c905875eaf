//! `isoremix inspect`: what an image holds and what boots what.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use hadris_fs::FileType;
use serde::Serialize;

use crate::initrd;
use crate::iso::{self, BootEntryInfo, BootPlatform, SourceIso};
use crate::xcpng;

mod answer_file;
mod boot_menus;
mod listing;

pub use answer_file::{AnswerFile, Setting};
pub use boot_menus::{BootMenus, MenuConfig};
pub use listing::list as list_iso;

/// One MBR partition.
#[derive(Debug, Clone, Serialize)]
pub struct MbrPartition {
    /// 1-4.
    pub index: usize,
    /// Whether the active flag (0x80) is set.
    pub bootable: bool,
    /// The partition type byte.
    pub kind: u8,
    /// First 512-byte sector.
    pub start: u32,
    /// Length in 512-byte sectors.
    pub sectors: u32,
    /// The file of the image that starts where the partition starts, if any.
    pub file: Option<String>,
}

/// One GPT entry.
#[derive(Debug, Clone, Serialize)]
pub struct GptPartition {
    /// The entry's name.
    pub name: String,
    /// First 512-byte sector.
    pub first: u64,
    /// Last 512-byte sector.
    pub last: u64,
}

/// One compressed (or plain) segment of install.img.
#[derive(Debug, Clone, Serialize)]
pub struct InitrdSegment {
    /// Offset in install.img.
    pub offset: u64,
    /// `bzip2`, `gzip`, `xz`, `zstd` or `none`.
    pub compression: String,
    /// Bytes it occupies in install.img.
    pub stored: u64,
    /// Bytes of cpio data it holds.
    pub uncompressed: u64,
    /// cpio archives in it.
    pub archives: u64,
    /// Entries in it.
    pub entries: u64,
}

/// The installer's root filesystem as the kernel would unpack it.
#[derive(Debug, Clone, Serialize)]
pub struct InstallImg {
    /// Its path on the image.
    pub path: String,
    /// Its length.
    pub size: u64,
    /// Its segments, in order.
    pub segments: Vec<InitrdSegment>,
    /// Entries of the merged tree.
    pub entries: usize,
}

pub use crate::xcpng::INSTALL_IMG;

/// Reads install.img (one streaming pass) into its merged tree; `None`
/// when the image has none.
pub fn read_install_img(
    source: &SourceIso,
) -> Result<Option<(InstallImg, initrd::Tree)>, InspectError> {
    Ok(read_install_img_keeping(source, &[])?.map(|r| (r.info, r.tree)))
}

/// install.img as read by [`read_install_img_keeping`].
pub struct InstallImgRead {
    /// Its summary.
    pub info: InstallImg,
    /// Its merged tree.
    pub tree: initrd::Tree,
    /// The regular files asked for that it has, by `/`-prefixed path, as the kernel unpacks
    /// them.
    pub files: BTreeMap<String, Vec<u8>>,
}

/// The largest file kept while reading install.img (answer files are a few KiB).
const MAX_KEPT: u64 = 1 << 20;

/// As [`read_install_img`], keeping on the same pass the regular files at `keep` (absolute
/// paths inside install.img, each at most 1 MiB).
pub fn read_install_img_keeping(
    source: &SourceIso,
    keep: &[String],
) -> Result<Option<InstallImgRead>, InspectError> {
    if !source.exists(INSTALL_IMG) {
        return Ok(None);
    }
    let names: Vec<Vec<u8>> = keep
        .iter()
        .map(|p| p.trim_start_matches('/').as_bytes().to_vec())
        .collect();
    let name_refs: Vec<&[u8]> = names.iter().map(Vec::as_slice).collect();
    let reader = std::io::BufReader::with_capacity(1 << 20, source.open_file(INSTALL_IMG)?);
    let (tree, kept) = initrd::Tree::read_keeping(reader, &name_refs, MAX_KEPT)?;
    let mut files = BTreeMap::new();
    for (path, name) in keep.iter().zip(&names) {
        let is_file = tree
            .lookup(name)
            .and_then(|(_, node)| tree.inode(node.inode))
            .is_some_and(|i| i.kind == initrd::Kind::File && i.size <= MAX_KEPT);
        if !is_file {
            continue;
        }
        let image = std::io::BufReader::new(source.open_file(INSTALL_IMG)?);
        if let Some(data) = tree
            .read_contents_kept(&kept, image, &[name.as_slice()])?
            .into_values()
            .next()
        {
            files.insert(format!("/{}", path.trim_start_matches('/')), data);
        }
    }
    let info = InstallImg {
        path: INSTALL_IMG.to_string(),
        size: tree.image_len(),
        segments: tree
            .segments()
            .iter()
            .map(|s| InitrdSegment {
                offset: s.offset,
                compression: s.compression.to_string(),
                stored: s.stored_len,
                uncompressed: s.uncompressed_len,
                archives: s.archives,
                entries: s.entries,
            })
            .collect(),
        entries: tree.len(),
    };
    Ok(Some(InstallImgRead { info, tree, files }))
}

/// `ls -l`-style lines of the merged tree at and below `prefix` (all when empty); an error
/// when the tree has nothing at `prefix`.
pub fn list_install_img(tree: &initrd::Tree, prefix: &str) -> Result<Vec<String>, InspectError> {
    let clean = prefix.trim_matches('/').as_bytes();
    let lines: Vec<String> = tree
        .nodes()
        .filter(|(path, _)| {
            clean.is_empty()
                || *path == clean
                || (path.starts_with(clean) && path.get(clean.len()) == Some(&b'/'))
        })
        .filter_map(|(path, _)| tree.list_line(path))
        .collect();
    if lines.is_empty() && !clean.is_empty() {
        return Err(InspectError::NoSuchPath {
            within: INSTALL_IMG.into(),
            path: format!("/{}", String::from_utf8_lossy(clean)),
        });
    }
    Ok(lines)
}

/// Why install.img could not be inspected.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    /// The ISO could not be read.
    #[error(transparent)]
    Iso(#[from] iso::Error),
    /// install.img is damaged.
    #[error("{INSTALL_IMG}: {0}")]
    Initrd(#[from] initrd::Error),
    /// A path asked for is not there.
    #[error("{within} has no {path}")]
    NoSuchPath {
        /// The ISO or install.img.
        within: String,
        /// The path asked for.
        path: String,
    },
}

/// Everything `inspect` reports about an image.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    /// The volume identifier.
    pub volume_id: String,
    /// The file's length.
    pub size: u64,
    /// The ISO 9660 volume's length.
    pub volume_bytes: u64,
    /// Regular files in the tree.
    pub files: u64,
    /// Directories.
    pub dirs: u64,
    /// Symlinks.
    pub symlinks: u64,
    /// Bytes of file data.
    pub file_bytes: u64,
    /// The top-level entries.
    pub top_level: Vec<String>,
    /// El Torito entries in catalog order.
    pub el_torito: Vec<BootEntryInfo>,
    /// The boot catalog file.
    pub catalog: Option<String>,
    /// The MBR disk id, when the image has an MBR.
    pub mbr_id: Option<String>,
    /// MBR partitions.
    pub mbr: Vec<MbrPartition>,
    /// GPT entries.
    pub gpt: Vec<GptPartition>,
    /// What boots what, one line per way of booting.
    pub boots: Vec<String>,
    /// The installer's root filesystem, when read.
    pub install_img: Option<InstallImg>,
    /// The driver disk the image is, if it is one (`update.xml` and repodata at the root).
    pub driver_disk: Option<crate::driver_disk::DiskInfo>,
    /// The installer's package repository, when the image has one.
    pub packages: Option<PackagesInfo>,
    /// The kernel modules of install.img (see [`modules`]); `None` when not read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modules: Option<ModulesSection>,
    /// How the packages differ from another image's (see [`package_changes`]); `None` when not
    /// compared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package_changes: Option<PackageChanges>,
    /// The boot menus: every config with each entry's Xen and dom0 lines.
    pub boot_menus: BootMenus,
    /// The answer files the entries use (see [`answer_files`]).
    pub answer_files: Vec<AnswerFile>,
    /// Per entry, whether the installer installs (see [`verdicts`]); `None` when not judged.
    pub verdicts: Option<crate::verify::Report>,
}

/// The paths inside install.img to keep while reading it (see [`read_install_img_keeping`])
/// for [`answer_files`].
pub fn answer_files_wanted(info: &Inspection) -> Vec<String> {
    answer_file::wanted(&info.boot_menus)
}

/// The answer files of the image in brief, from the files kept of install.img (`None` when it
/// was not read).
pub fn answer_files(
    info: &Inspection,
    files: Option<&BTreeMap<String, Vec<u8>>>,
) -> Vec<AnswerFile> {
    answer_file::read(&info.boot_menus, files)
}

/// Per boot entry, whether XCP-ng 8.3's installer installs, as `isoremix verify` judges it
/// but without reading every package file (their sizes are checked, not their checksums).
pub fn verdicts(source: &SourceIso) -> crate::verify::Report {
    let options = crate::verify::Options {
        hash_packages: false,
        ..crate::verify::Options::full()
    };
    crate::verify::verify(source, &options)
}

/// Reads `source` and summarises it.
pub fn inspect(source: &SourceIso) -> Inspection {
    let (mut files, mut dirs, mut symlinks, mut file_bytes) = (0, 0, 0, 0);
    let mut top_level = Vec::new();
    iso::walk(source.tree(), &mut |path, entry| {
        if path.matches('/').count() == 1 {
            top_level.push(path.to_string());
        }
        match entry.node().file_type() {
            FileType::Dir => dirs += 1,
            FileType::Symlink => symlinks += 1,
            FileType::File => {
                files += 1;
                file_bytes += entry.node().content().map_or(0, |c| c.len());
            }
            _ => {}
        }
    });
    let sa = source.system_area();
    let by_first_sector = |sector: u64| -> Option<String> {
        iso::files(source.tree())
            .into_iter()
            .find_map(|(path, content)| {
                let first = content.stored_extents()?.first()?.offset();
                (first == sector * 512 && sector > 0).then_some(path)
            })
    };
    let has_mbr = sa[510] == 0x55 && sa[511] == 0xAA;
    let mut mbr = Vec::new();
    if has_mbr {
        for i in 0..4 {
            let p = &sa[446 + 16 * i..462 + 16 * i];
            let le = |o: usize| u32::from_le_bytes([p[o], p[o + 1], p[o + 2], p[o + 3]]);
            if p[4] == 0 && le(12) == 0 {
                continue;
            }
            mbr.push(MbrPartition {
                index: i + 1,
                bootable: p[0] == 0x80,
                kind: p[4],
                start: le(8),
                sectors: le(12),
                file: by_first_sector(u64::from(le(8))),
            });
        }
    }
    let mut gpt = Vec::new();
    if &sa[512..520] == b"EFI PART" {
        for i in 0..128 {
            let e = &sa[1024 + 128 * i..1024 + 128 * (i + 1)];
            if e[..16].iter().all(|&b| b == 0) {
                continue;
            }
            let q = |o: usize| u64::from_le_bytes(e[o..o + 8].try_into().unwrap_or([0; 8]));
            let name: Vec<u16> = e[56..128]
                .chunks(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .take_while(|&c| c != 0)
                .collect();
            gpt.push(GptPartition {
                name: String::from_utf16_lossy(&name),
                first: q(32),
                last: q(40),
            });
        }
    }
    let mut boots = Vec::new();
    for e in source.boot_entries() {
        if let Some(damage) = &e.damage {
            boots.push(format!("damaged: {damage}"));
            continue;
        }
        let file = e
            .path
            .clone()
            .unwrap_or_else(|| format!("block {}", e.load_block));
        match e.platform {
            BootPlatform::Bios => boots.push(format!(
                "BIOS from CD: El Torito entry loads {file} ({} sectors{})",
                e.sector_count,
                if e.boot_info_table {
                    ", boot-info-table"
                } else {
                    ""
                }
            )),
            BootPlatform::Uefi => {
                boots.push(format!("UEFI from CD: El Torito entry, FAT image {file}"))
            }
            BootPlatform::Other(id) => boots.push(format!("platform 0x{id:02x}: {file}")),
        }
    }
    if has_mbr && sa[..432].iter().any(|&b| b != 0) {
        let lba = u32::from_le_bytes([sa[432], sa[433], sa[434], sa[435]]);
        let target = by_first_sector(u64::from(lba)).unwrap_or_else(|| format!("sector {lba}"));
        boots.push(format!(
            "BIOS from USB: isohybrid MBR boot code chains to {target}"
        ));
    }
    for p in &mbr {
        if p.kind == 0xEF {
            boots.push(format!(
                "UEFI from USB: MBR partition {} (0xEF) is {}",
                p.index,
                p.file.as_deref().unwrap_or("not a file of the image")
            ));
        }
    }
    Inspection {
        volume_id: source.volume_id().to_string(),
        size: source.file_len(),
        volume_bytes: source.volume_bytes(),
        files,
        dirs,
        symlinks,
        file_bytes,
        top_level,
        el_torito: source.boot_entries().to_vec(),
        catalog: source.catalog_path().map(str::to_string),
        mbr_id: has_mbr.then(|| {
            format!(
                "{:02x}{:02x}{:02x}{:02x}",
                sa[443], sa[442], sa[441], sa[440]
            )
        }),
        mbr,
        gpt,
        boots,
        install_img: None,
        driver_disk: crate::driver_disk::recognise(source),
        packages: inspect_packages(source),
        modules: None,
        package_changes: None,
        boot_menus: boot_menus::read(source),
        answer_files: Vec::new(),
        verdicts: None,
    }
}

impl Inspection {
    /// The human-readable report.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "volume id:   {}", self.volume_id);
        let _ = writeln!(
            s,
            "size:        {} bytes (ISO 9660 volume {} bytes)",
            self.size, self.volume_bytes
        );
        let _ = writeln!(
            s,
            "tree:        {} files ({} bytes), {} directories, {} symlinks",
            self.files, self.file_bytes, self.dirs, self.symlinks
        );
        let _ = writeln!(s, "top level:   {}", self.top_level.join(" "));
        if self.el_torito.is_empty() {
            let _ = writeln!(
                s,
                "El Torito:   none (no boot catalog: not bootable from CD)"
            );
        } else {
            let _ = writeln!(
                s,
                "El Torito:   catalog {}",
                self.catalog.as_deref().unwrap_or("(not in the tree)")
            );
        }
        for (i, e) in self.el_torito.iter().enumerate() {
            let _ = writeln!(
                s,
                "  entry {}: {:?} {} load {} sectors at block {} -> {}",
                i + 1,
                e.platform,
                if e.no_emulation {
                    "no-emulation"
                } else {
                    "emulation"
                },
                e.sector_count,
                e.load_block,
                e.path.as_deref().unwrap_or("?")
            );
        }
        match &self.mbr_id {
            Some(id) => {
                let _ = writeln!(s, "MBR:         disk id {id}");
            }
            None => {
                let _ = writeln!(s, "MBR:         none");
            }
        }
        for p in &self.mbr {
            let _ = writeln!(
                s,
                "  partition {}: {} type 0x{:02x} start {} sectors {}{}",
                p.index,
                if p.bootable { "active" } else { "      " },
                p.kind,
                p.start,
                p.sectors,
                p.file
                    .as_deref()
                    .map(|f| format!(" = {f}"))
                    .unwrap_or_default()
            );
        }
        if !self.gpt.is_empty() {
            let _ = writeln!(s, "GPT:");
            for p in &self.gpt {
                let _ = writeln!(s, "  {:<16} sectors {}-{}", p.name, p.first, p.last);
            }
        }
        if self.boots.is_empty() {
            let _ = writeln!(
                s,
                "boots:       nothing (no El Torito entry, no MBR boot code)"
            );
        } else {
            let _ = writeln!(s, "boots:");
        }
        for b in &self.boots {
            let _ = writeln!(s, "  {b}");
        }
        if !self.boot_menus.is_empty() || !self.el_torito.is_empty() {
            self.boot_menus.write_text(&mut s);
        }
        for a in &self.answer_files {
            a.write_text(&mut s);
        }
        if let Some(img) = &self.install_img {
            let _ = writeln!(
                s,
                "{}: {} bytes, {} entries in the merged tree",
                img.path, img.size, img.entries
            );
            for g in &img.segments {
                let _ = writeln!(
                    s,
                    "  {} segment at {}: {} bytes stored, {} bytes of cpio, {} archive(s), {} entries",
                    g.compression, g.offset, g.stored, g.uncompressed, g.archives, g.entries
                );
            }
        }
        if let Some(dd) = &self.driver_disk {
            match (&dd.update, &dd.problem) {
                (Some(u), _) => {
                    let _ = writeln!(
                        s,
                        "driver disk: {} {} ({})",
                        u.name_label, u.version, u.uuid
                    );
                    let _ = writeln!(s, "  control:   {}", u.control);
                    let _ = writeln!(s, "  about:     {}", u.description);
                }
                (None, problem) => {
                    let _ = writeln!(
                        s,
                        "driver disk: unreadable: {}",
                        problem.as_deref().unwrap_or("?")
                    );
                }
            }
            let _ = writeln!(s, "  signed:    {}", if dd.signed { "yes" } else { "no" });
            for p in &dd.packages {
                let _ = writeln!(s, "  package:   {p}");
            }
        }
        if let Some(p) = &self.packages {
            p.write_text(&mut s, self.driver_disk.is_some());
        }
        if let Some(c) = &self.package_changes {
            c.write_text(&mut s);
        }
        if let Some(m) = &self.modules {
            s.push_str(&m.to_text());
        }
        if let Some(v) = &self.verdicts {
            let _ = writeln!(
                s,
                "verdict (as `isoremix verify` judges, package checksums not read):"
            );
            for line in v.to_text().lines() {
                let _ = writeln!(s, "  {line}");
            }
        }
        s
    }
}

// ------------------------------------------------------------------ package changes

/// How an image's packages differ from those of the image it was made from: what
/// `isoremix inspect OUT --against SOURCE` shows after a build added, pulled in, updated or
/// removed packages. Packages are matched by name; each is named `name-[epoch:]version-release.arch`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PackageChanges {
    /// Names only the image has (added or pulled in).
    pub added: Vec<String>,
    /// Names only the other image has.
    pub removed: Vec<String>,
    /// Names both have in different builds: (from, to).
    pub updated: Vec<(String, String)>,
}

impl PackageChanges {
    fn write_text(&self, s: &mut String) {
        let _ = writeln!(
            s,
            "package changes: {} added, {} updated, {} removed",
            self.added.len(),
            self.updated.len(),
            self.removed.len()
        );
        for a in &self.added {
            let _ = writeln!(s, "  added:     {a}");
        }
        for (from, to) in &self.updated {
            let _ = writeln!(s, "  updated:   {from} → {to}");
        }
        for r in &self.removed {
            let _ = writeln!(s, "  removed:   {r}");
        }
    }
}

/// The package changes from `before` to `after`, read from both images' repodata.
pub fn package_changes(after: &SourceIso, before: &SourceIso) -> Result<PackageChanges, String> {
    let index = |source: &SourceIso| -> Result<BTreeMap<String, String>, String> {
        Ok(repository_records(source)?
            .into_iter()
            .map(|r| (r.name.clone(), nevra(&r)))
            .collect())
    };
    let (after, before) = (index(after)?, index(before)?);
    let mut changes = PackageChanges::default();
    for (name, now) in &after {
        match before.get(name) {
            None => changes.added.push(now.clone()),
            Some(was) if was != now => changes.updated.push((was.clone(), now.clone())),
            Some(_) => {}
        }
    }
    changes.removed = before
        .iter()
        .filter(|(name, _)| !after.contains_key(*name))
        .map(|(_, was)| was.clone())
        .collect();
    Ok(changes)
}

/// `name-[epoch:]version-release.arch` of a record.
fn nevra(r: &crate::repo::Record) -> String {
    let epoch = match r.epoch.as_str() {
        "" | "0" => String::new(),
        e => format!("{e}:"),
    };
    format!("{}-{epoch}{}-{}.{}", r.name, r.version, r.release, r.arch)
}

/// The records of `source`'s repodata.
fn repository_records(source: &SourceIso) -> Result<Vec<crate::repo::Record>, String> {
    use crate::repo::{reader, repomd};
    let xml = source
        .read_file(xcpng::REPOMD)
        .map_err(|e| format!("no readable repodata/repomd.xml: {e}"))?;
    let md = repomd::parse_repomd(&xml).map_err(|e| e.to_string())?;
    reader::read_repo(&md, |href| {
        source
            .read_file(&format!("/{href}"))
            .map_err(|e| crate::repo::Error::Io {
                what: href.to_string(),
                source: std::io::Error::other(e.to_string()),
            })
    })
    .map_err(|e| e.to_string())
}

// ------------------------------------------------------------------ drivers

/// The kernels and modules of install.img.
#[derive(Debug, Clone, Serialize)]
pub struct ModulesSection {
    /// One entry per `/lib/modules/<kver>/`.
    pub kernels: Vec<KernelSection>,
    /// Module files that could not be read, with the reason.
    pub unreadable: Vec<String>,
    /// Why install.img could not be read, if it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One kernel's modules.
#[derive(Debug, Clone, Serialize)]
pub struct KernelSection {
    /// The kernel release.
    pub kernel: String,
    /// Module files.
    pub module_files: usize,
    /// Module files added or replaced after the image's first segment (by
    /// an appended overlay): the modules that differ from the source.
    pub overlaid: Vec<String>,
    /// Modules modprobe takes from outside `kernel/` (`updates/`, `extra/`,
    /// `override/`...), as `name path`.
    pub swapped: Vec<String>,
    /// For the `--module` name: what modprobe would load, dependencies
    /// first (`path` or `builtin NAME`); empty when nothing matches.
    pub lookup: Option<Vec<String>>,
}

/// Reads install.img once and reports its kernels, the modules that differ
/// from the source image and, for `module`, what modprobe would load.
/// `None` when the image has no `/install.img`; an install.img that cannot be
/// read is reported in [`ModulesSection::error`].
pub fn modules(source: &SourceIso, module: Option<&str>) -> Option<ModulesSection> {
    if !source.exists(INSTALL_IMG) {
        return None;
    }
    Some(
        read_modules(source, module).unwrap_or_else(|e| ModulesSection {
            kernels: Vec::new(),
            unreadable: Vec::new(),
            error: Some(e.to_string()),
        }),
    )
}

fn read_modules(
    source: &SourceIso,
    module: Option<&str>,
) -> Result<ModulesSection, crate::driver::Error> {
    use crate::driver::{Error, ImageModules};
    use crate::kmod::Resolved;
    let file = source
        .open_file(INSTALL_IMG)
        .map_err(|e| Error::ImageFile {
            path: INSTALL_IMG.into(),
            source: std::io::Error::other(e.to_string()),
        })?;
    let image = ImageModules::read(std::io::BufReader::with_capacity(1 << 20, file))?;
    let mut kernels = Vec::new();
    for (kver, k) in &image.kernels {
        let depmod = image.depmod(kver, &[])?;
        let resolver = depmod.resolver().map_err(|e| Error::Depmod {
            kver: kver.clone(),
            source: Box::new(e),
        })?;
        let swapped = resolver
            .modules()
            .filter(|(_, path)| !path.starts_with("kernel/"))
            .map(|(name, path)| format!("{name} {path}"))
            .collect();
        let lookup = match module {
            None => None,
            Some(name) => {
                let files = depmod.write().map_err(|e| Error::Depmod {
                    kver: kver.clone(),
                    source: Box::new(e),
                })?;
                let deps = parse_modules_dep(&files);
                let mut chain = Vec::new();
                let mut seen = std::collections::BTreeSet::new();
                for r in resolver.resolve(name) {
                    match r {
                        Resolved::Module { path, .. } => {
                            load_order(&path, &deps, &mut seen, &mut chain)
                        }
                        Resolved::Builtin { name } => chain.push(format!("builtin {name}")),
                    }
                }
                let base = &k.base;
                Some(
                    chain
                        .into_iter()
                        .map(|p| {
                            if p.starts_with("builtin ") {
                                p
                            } else {
                                format!("{base}/{p}")
                            }
                        })
                        .collect(),
                )
            }
        };
        kernels.push(KernelSection {
            kernel: kver.clone(),
            module_files: k.modules.len(),
            overlaid: k.overlaid.iter().cloned().collect(),
            swapped,
            lookup,
        });
    }
    Ok(ModulesSection {
        kernels,
        unreadable: image
            .unreadable
            .iter()
            .map(|(p, e)| format!("{p}: {e}"))
            .collect(),
        error: None,
    })
}

/// `modules.dep` as module path -> dependency paths, in file order.
fn parse_modules_dep(
    files: &[(String, Vec<u8>)],
) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut out = std::collections::BTreeMap::new();
    let text = files
        .iter()
        .find(|(n, _)| n == "modules.dep")
        .map(|(_, d)| String::from_utf8_lossy(d).into_owned())
        .unwrap_or_default();
    for line in text.lines() {
        if let Some((module, deps)) = line.split_once(':') {
            out.insert(
                module.to_string(),
                deps.split_whitespace().map(str::to_string).collect(),
            );
        }
    }
    out
}

/// Appends `path` after its dependencies, each once, in the order modprobe
/// loads them (each dependency of the `modules.dep` line, depth first).
fn load_order(
    path: &str,
    deps: &std::collections::BTreeMap<String, Vec<String>>,
    seen: &mut std::collections::BTreeSet<String>,
    chain: &mut Vec<String>,
) {
    if !seen.insert(path.to_string()) {
        return;
    }
    // modules.dep lists every indirect dependency too, so one level is
    // enough for a correct order; deeper levels only refine it.
    if seen.len() < 4096 {
        for d in deps.get(path).into_iter().flatten() {
            load_order(d, deps, seen, chain);
        }
    }
    chain.push(path.to_string());
}

impl ModulesSection {
    /// The human-readable section.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "install.img kernels:");
        if let Some(e) = &self.error {
            let _ = writeln!(s, "  cannot read install.img: {e}");
        } else if self.kernels.is_empty() {
            let _ = writeln!(s, "  none (no /lib/modules/<kernel>/)");
        }
        for k in &self.kernels {
            let _ = writeln!(s, "  {}: {} module files", k.kernel, k.module_files);
            for m in &k.overlaid {
                let _ = writeln!(s, "    differs from the source (overlay): {m}");
            }
            for m in &k.swapped {
                let _ = writeln!(s, "    loaded from outside kernel/: {m}");
            }
            if let Some(chain) = &k.lookup {
                if chain.is_empty() {
                    let _ = writeln!(s, "    modprobe: nothing matches");
                }
                for p in chain {
                    let _ = writeln!(s, "    modprobe loads: {p}");
                }
            }
        }
        for u in &self.unreadable {
            let _ = writeln!(s, "  unreadable module: {u}");
        }
        s
    }
}

/// The installer's package repository: what `isoremix inspect` shows of `Packages/`.
#[derive(Debug, Clone, Serialize)]
pub struct PackagesInfo {
    /// Packages listed in repodata.
    pub count: usize,
    /// How the installer picks what it installs: `meta-package <name>` or `comps group
    /// <id>`; `None` when neither is found.
    pub install_style: Option<String>,
    /// The meta-package's requires, when the style is a meta-package.
    pub meta_requires: Vec<String>,
    /// Whether `repodata/repomd.xml.asc` exists.
    pub repomd_signed: bool,
    /// Packages that carry a signature.
    pub signed_packages: usize,
    /// The key files `.treeinfo [keys]` names, in order (the installer uses the first).
    pub keys: Vec<String>,
    /// Why the repository could not be read, if it could not.
    pub error: Option<String>,
}

impl PackagesInfo {
    /// The text section; a driver disk's repository names no install style (the installer
    /// installs its `drivers` group), so none is looked for.
    fn write_text(&self, s: &mut String, driver_disk: bool) {
        let _ = writeln!(s, "packages:    {} in repodata", self.count);
        if let Some(e) = &self.error {
            let _ = writeln!(s, "  unreadable repository: {e}");
        }
        match (&self.install_style, driver_disk) {
            (Some(style), _) => {
                let _ = writeln!(s, "  installs:  {style}");
            }
            (None, false) => {
                let _ = writeln!(
                    s,
                    "  installs:  unknown: neither the meta-package {} nor the comps group {} \
                     is in the repository",
                    xcpng::MAIN_TARGET,
                    xcpng::XENSERVER_GROUPS[0]
                );
            }
            (None, true) => {}
        }
        if !self.meta_requires.is_empty() {
            let _ = writeln!(s, "  requires:  {}", self.meta_requires.join(", "));
        }
        let _ = writeln!(
            s,
            "  signing:   {} of {} packages signed, repomd.xml {}, keys: {}",
            self.signed_packages,
            self.count,
            if self.repomd_signed {
                "signed (repomd.xml.asc)"
            } else {
                "not signed"
            },
            if self.keys.is_empty() {
                "none".to_string()
            } else {
                self.keys.join(" ")
            }
        );
    }
}

/// `name`, or `name >= [epoch:]version[-release]`.
fn dep_text(d: &crate::repo::Dep) -> String {
    let Some(flags) = &d.flags else {
        return d.name.clone();
    };
    let op = match flags.as_str() {
        "EQ" => "=",
        "LT" => "<",
        "GT" => ">",
        "LE" => "<=",
        _ => ">=",
    };
    let mut evr = String::new();
    if let Some(e) = d.epoch.as_deref().filter(|e| *e != "0") {
        evr.push_str(e);
        evr.push(':');
    }
    evr.push_str(d.ver.as_deref().unwrap_or_default());
    if let Some(r) = &d.rel {
        evr.push('-');
        evr.push_str(r);
    }
    format!("{} {op} {evr}", d.name)
}

/// Reads the repository of `source`, or `None` when it has no `repodata/repomd.xml`.
fn inspect_packages(source: &SourceIso) -> Option<PackagesInfo> {
    use crate::repo::{comps, reader, repomd};
    let xml = source.read_file(xcpng::REPOMD).ok()?;
    let mut info = PackagesInfo {
        count: 0,
        install_style: None,
        meta_requires: Vec::new(),
        repomd_signed: source.exists(xcpng::REPOMD_ASC),
        signed_packages: 0,
        keys: Vec::new(),
        error: None,
    };
    if let Ok(t) = source.read_file(xcpng::TREEINFO)
        && let Ok(t) = crate::treeinfo::TreeInfo::parse(&String::from_utf8_lossy(&t))
    {
        info.keys = t.options("keys").into_iter().map(|(_, v)| v).collect();
    }
    let open = |href: &str| {
        source
            .read_file(&format!("/{href}"))
            .map_err(|e| crate::repo::Error::Io {
                what: href.to_string(),
                source: std::io::Error::other(e.to_string()),
            })
    };
    let md = match repomd::parse_repomd(&xml) {
        Ok(md) => md,
        Err(e) => {
            info.error = Some(e.to_string());
            return Some(info);
        }
    };
    let records = match reader::read_repo(&md, open) {
        Ok(r) => r,
        Err(e) => {
            info.error = Some(e.to_string());
            return Some(info);
        }
    };
    info.count = records.len();
    for r in &records {
        let signed = source
            .open_file(&format!("/{}", r.location_href))
            .ok()
            .and_then(|mut f| crate::rpm::sign::is_signed(&mut f).ok());
        if signed == Some(true) {
            info.signed_packages += 1;
        }
    }
    let groups = reader::read_groups(&md, open)
        .ok()
        .flatten()
        .and_then(|(_, xml)| comps::parse_groups(&xml).ok())
        .unwrap_or_default();
    let group = xcpng::XENSERVER_GROUPS[0];
    if let Some(meta) = records.iter().find(|r| r.name == xcpng::MAIN_TARGET) {
        info.install_style = Some(format!("meta-package {}", xcpng::MAIN_TARGET));
        info.meta_requires = meta.requires.iter().map(dep_text).collect();
    } else if groups.iter().any(|g| g.id == group) {
        info.install_style = Some(format!("comps group {group}"));
    }
    Some(info)
}
