//! `isoremix inspect`: what an image holds and what boots what.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use hadris_fs::FileType;
use serde::Serialize;

use crate::initrd;
use crate::iso::{self, BootEntryInfo, BootPlatform, SourceIso};

mod answer_file;
mod boot_menus;
mod install_img;
mod listing;
mod modules;
mod packages;

pub use answer_file::{AnswerFile, Setting};
pub use boot_menus::{BootMenus, MenuConfig};
pub use install_img::{
    InitrdSegment, InstallImg, InstallImgRead, list_install_img, read_install_img,
    read_install_img_keeping,
};
pub use listing::list as list_iso;
pub use modules::{KernelSection, ModulesSection, modules};
pub use packages::{PackageChanges, PackagesInfo, package_changes};

pub use crate::xcpng::INSTALL_IMG;

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
    /// The kernel modules of install.img (see [`modules()`]); `None` when not read.
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
        packages: packages::inspect_packages(source),
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
