//! The built-in sample source (`builtin:sample`): a small installer ISO with
//! exactly the shape of an XCP-ng 8.3 ISO — the real boot configs, the
//! efiboot.img copy of grub.cfg with its extra `search` line, `.treeinfo`,
//! a bzip2 newc `install.img`, `Packages/` with an `xcp-ng-deps`
//! meta-package, and repodata — made entirely by isoremix, with no download.
//! Like XCP-ng's own ISOs it is signed: every package, `repomd.xml`
//! (`repomd.xml.asc`), and the public key is the `RPM-GPG-KEY-xcpng` that
//! `.treeinfo [keys]` names. The key is a built-in, publicly known one
//! ([`signing_key`]): it makes the sample install with the installer's
//! signature checks on, and proves nothing about anything.
//!
//! Bootloader, kernel and hypervisor files are placeholders (text that says
//! so) unless real ones are supplied from a folder. The sample is always
//! the same bytes for the same options.

mod installer;
mod packages;

use std::path::{Path, PathBuf};

use hadris_fs::{Content, DateTime};
use hadris_iso::{BootEntry, BootInfo, ElTorito, IsoId, IsoOptions};

use crate::boot::efiboot;
use crate::iso::{self, hybrid::HybridSource};
use crate::rpm::sign::SigningKey;

/// The time every file of the sample carries (2024-10-01 00:00 UTC).
pub const SAMPLE_TIME: i64 = 1_727_740_800;

/// The boot configs of XCP-ng 8.3 (from xcp-ng/create-install-image).
const ISOLINUX_CFG: &str = include_str!("../../fixtures/xcp-ng-8.3/boot/isolinux/isolinux.cfg");
const GRUB_CFG: &str = include_str!("../../fixtures/xcp-ng-8.3/EFI/xenserver/grub.cfg");
const TREEINFO: &str = include_str!("../../fixtures/xcp-ng-8.3/treeinfo.template");

/// The sample's signing key: an unprotected RSA-2048 OpenPGP key, committed
/// with the source and therefore known to everyone. It signs the sample only.
const SIGNING_KEY: &str = include_str!("sample-signing-key.asc");

/// The public key file of the sample, named first in `.treeinfo [keys]` (the
/// name XCP-ng 8.3's ISOs use).
pub const KEY_FILE: &str = "RPM-GPG-KEY-xcpng";

/// The built-in key the sample is signed with. Publicly known: a build signed
/// with it is no more trustworthy than an unsigned one.
pub fn signing_key() -> Result<SigningKey, Error> {
    SigningKey::from_armored(SIGNING_KEY, "").map_err(build_err)
}

/// How to make the sample.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Pad `Packages/` with incompressible RPMs until the image is about
    /// this many bytes.
    pub pad_to: Option<u64>,
    /// A folder with real boot files to use instead of placeholders:
    /// `isolinux.bin`, `mboot.c32`, `isohdpfx.bin`, `xen.gz`, `vmlinuz`,
    /// `BOOTX64.EFI` (any subset).
    pub boot_files: Option<PathBuf>,
    /// Add this many small generated packages to `Packages/` (repodata benchmarks).
    pub packages: usize,
    /// Whether an existing file at the output may be replaced.
    pub existing: iso::Existing,
    /// Bars and step lines.
    pub progress: crate::progress::Progress,
}

/// Why the sample could not be made.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be written or read.
    #[error("sample: {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A part of the sample could not be built.
    #[error("sample: {0}")]
    Build(String),
}

fn build_err(e: impl std::fmt::Display) -> Error {
    Error::Build(e.to_string())
}

/// A placeholder file's text.
fn placeholder(what: &str) -> Vec<u8> {
    format!(
        "isoremix sample placeholder: this is not a real {what}.\n\
         Use `isoremix sample --boot-files DIR` or a real XCP-ng ISO to boot.\n"
    )
    .into_bytes()
}

/// Placeholder MBR boot code made here: `cli; hlt; jmp $-1`, then zeros.
fn placeholder_mbr_code() -> Vec<u8> {
    let mut code = vec![0u8; 432];
    code[..4].copy_from_slice(&[0xFA, 0xF4, 0xEB, 0xFD]);
    code
}

/// A placeholder isolinux.bin: large enough for a boot information table.
fn placeholder_isolinux() -> Vec<u8> {
    let mut bin = vec![0u8; 2048];
    bin[..4].copy_from_slice(&[0xFA, 0xF4, 0xEB, 0xFD]);
    let text = placeholder("isolinux.bin");
    bin[64..64 + text.len()].copy_from_slice(&text);
    bin
}

/// The sample's files, path → content.
struct Files {
    files: Vec<(String, Content)>,
}

impl Files {
    fn add(&mut self, path: &str, content: impl Into<Content>) {
        self.files.push((path.to_string(), content.into()));
    }
}

/// Reads `name` from the boot-files folder, or returns the placeholder.
fn boot_file(opts: &Options, name: &str, fallback: Vec<u8>) -> Result<Vec<u8>, Error> {
    match &opts.boot_files {
        Some(dir) if dir.join(name).is_file() => {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|source| Error::Io { path, source })
        }
        _ => Ok(fallback),
    }
}

/// The `.treeinfo` of XCP-ng 8.3 with its placeholders filled in.
fn treeinfo() -> String {
    TREEINFO
        .replace("@@PLATFORM_NAME@@", "XCP")
        .replace("@@PLATFORM_VERSION@@", "3.4.0")
        .replace("@@PRODUCT_BRAND@@", "XCP-ng")
        .replace("@@PRODUCT_VERSION@@", "8.3.0")
        .replace("@@TIMESTAMP@@", &SAMPLE_TIME.to_string())
}

/// The grub.cfg copy inside efiboot.img: one `search` line more after
/// `set timeout=5` (create-install-image's grub-efiboot-cfg.patch).
pub fn efiboot_grub_cfg(grub_cfg: &str) -> String {
    grub_cfg.replacen(
        "set timeout=5\n",
        "set timeout=5\nsearch --file --set /install.img\n",
        1,
    )
}

/// Writes the sample ISO to `out`.
pub fn write(out: &Path, opts: &Options) -> Result<(), Error> {
    opts.existing.check(out).map_err(build_err)?;
    let time = DateTime::from_unix_seconds(SAMPLE_TIME).map_err(build_err)?;
    let work = crate::partial::WorkDir::new().map_err(|source| Error::Io {
        path: std::env::temp_dir(),
        source,
    })?;
    let mut f = Files { files: Vec::new() };
    f.add(".treeinfo", treeinfo().into_bytes());
    f.add(
        "EULA",
        b"isoremix sample: no licence terms; the real ISO carries XCP-ng's EULA here.\n".to_vec(),
    );
    f.add(
        "LICENSES",
        b"isoremix sample: the real ISO lists package licences here.\n".to_vec(),
    );
    let key = signing_key()?;
    f.add(
        KEY_FILE,
        key.public_key_armored().map_err(build_err)?.into_bytes(),
    );
    f.add("install.img", installer::install_img(SAMPLE_TIME)?);
    f.add(
        "boot/xen.gz",
        boot_file(opts, "xen.gz", placeholder("Xen hypervisor"))?,
    );
    f.add(
        "boot/vmlinuz",
        boot_file(opts, "vmlinuz", placeholder("dom0 kernel"))?,
    );
    f.add("boot/alt/vmlinuz", placeholder("alternate dom0 kernel"));
    f.add("boot/memtest.bin", placeholder("memtest86+ (BIOS)"));
    f.add("boot/memtest.efi", placeholder("memtest86+ (UEFI)"));
    let isolinux = boot_file(opts, "isolinux.bin", placeholder_isolinux())?;
    let mboot = boot_file(opts, "mboot.c32", placeholder("mboot.c32"))?;
    f.add("boot/isolinux/isolinux.bin", isolinux);
    f.add(
        "boot/isolinux/isolinux.cfg",
        ISOLINUX_CFG.as_bytes().to_vec(),
    );
    f.add("boot/isolinux/mboot.c32", mboot.clone());
    f.add("boot/isolinux/menu.c32", placeholder("menu.c32"));
    f.add(
        "boot/isolinux/pg_main",
        b"XCP-ng 8.3 (isoremix sample)\n".to_vec(),
    );
    f.add(
        "boot/isolinux/pg_help",
        b"Press F1 for the main page.\n".to_vec(),
    );
    f.add("boot/isolinux/splash.lss", placeholder("splash image"));
    f.add("boot/pxelinux/pxelinux.0", placeholder("pxelinux.0"));
    f.add("boot/pxelinux/mboot.c32", mboot);
    f.add("boot/pxelinux/menu.c32", placeholder("menu.c32"));
    let grubx64 = boot_file(opts, "BOOTX64.EFI", placeholder("GRUB EFI application"))?;
    f.add("EFI/xenserver/grub.cfg", GRUB_CFG.as_bytes().to_vec());
    f.add("EFI/xenserver/grubx64.efi", grubx64.clone());
    let efiboot_cfg = efiboot_grub_cfg(GRUB_CFG);
    let fat_time = efiboot::FatTime::from_unix(SAMPLE_TIME);
    let efiboot = efiboot::create(
        &[
            ("EFI/BOOT/BOOTX64.EFI", &grubx64),
            ("EFI/xenserver/grub.cfg", efiboot_cfg.as_bytes()),
        ],
        2880,
        0,
        fat_time,
    )
    .map_err(build_err)?;
    f.add("boot/efiboot.img", efiboot);
    packages::add(
        &mut f,
        work.path(),
        &key,
        opts.pad_to,
        opts.packages,
        SAMPLE_TIME,
        &opts.progress,
    )?;

    let options = IsoOptions::default()
        .with_id(IsoId::Volume, "XCP-ng 8.3")
        .with_id(IsoId::Application, "isoremix sample")
        .with_joliet_long()
        .with_rock_ridge()
        .with_level(hadris_iso::IsoLevel::L3)
        .with_time(time)
        .with_seed(0x15_0e_e1)
        .with_el_torito(
            ElTorito::new()
                .with_entry(
                    BootEntry::bios("boot/isolinux/isolinux.bin")
                        .with_load_size(4)
                        .with_boot_info(BootInfo::Table),
                )
                .with_entry(BootEntry::uefi("boot/efiboot.img"))
                .with_catalog_path("boot/isolinux/boot.cat"),
        );
    let hybrid = HybridSource {
        bootstrap: boot_file(opts, "isohdpfx.bin", placeholder_mbr_code())?
            .into_iter()
            .chain(std::iter::repeat(0))
            .take(432)
            .collect(),
        disk_id: 0,
        partition_type: 0,
        efi_partition: true,
        gpt: true,
    };
    let existing = opts.existing;
    // The bar starts once the writer knows the image size.
    let bar = std::cell::OnceCell::new();
    let progress = |done, total| {
        bar.get_or_init(|| opts.progress.bytes("writing", total))
            .set_position(done);
    };
    iso::write_fresh(
        f.files,
        time,
        &options,
        out,
        existing,
        &progress,
        |file, report| {
            iso::apply_hybrid(
                file,
                report,
                &hybrid,
                Some("boot/isolinux/isolinux.bin"),
                Some("boot/efiboot.img"),
                b"isoremix sample",
            )
            .map(|_| ())
        },
    )
    .map_err(build_err)?;
    if let Some(bar) = bar.into_inner() {
        bar.finish();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_key_loads_and_signs_with_its_primary_key() {
        let key = signing_key().unwrap();
        assert_eq!(
            key.fingerprint(),
            "a3f4f5fe104562ca24aecc1d9f62dcb84b3908f0"
        );
        // Made before the sample's time, so signatures carry the sample's time.
        assert!(i64::from(key.created_at()) < SAMPLE_TIME);
    }

    #[test]
    fn treeinfo_names_the_key_file_first() {
        let info = crate::treeinfo::TreeInfo::parse(&treeinfo()).unwrap();
        assert_eq!(
            info.options("keys").first().map(|(_, v)| v.as_str()),
            Some(KEY_FILE)
        );
    }
}
