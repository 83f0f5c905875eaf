//! The source ISO: a small installer ISO with the shape of XCP-ng 8.3's, made the way XCP-ng's
//! `create-iso.sh` makes its own (genisoimage with the same command line, then `isohybrid --uefi`).
//!
//! BIOS boots isolinux (`mboot.c32` for Xen); UEFI boots a GRUB built with prefix `()/EFI/xenserver`
//! from `boot/efiboot.img`. Each menu has a Xen entry (`install`, as XCP-ng's) and an entry that
//! boots the kernel directly (`direct`). The ISO's `grub.cfg` and its copy inside efiboot.img echo
//! different words, so a boot log shows which copy GRUB read.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use super::assets::assets;
use super::initrd::build_initrd;
use super::tools::{self, copy, mkdir, run, write};

/// The text of `/etc/marker` in the source's install.img.
pub const SOURCE_MARKER: &str = "isoremix boot test: source installer";
/// The volume id, as XCP-ng's.
pub const VOLUME_ID: &str = "XCP-ng 8.3";

/// Xen's arguments in the Xen entry: XCP-ng's, minus the VGA console (the test machine has none).
pub const XEN_ARGS: &[&str] = &[
    "dom0_max_vcpus=1-16",
    "dom0_mem=max:8192M",
    "com1=115200,8n1",
    "console=com1",
];
/// The dom0 kernel's arguments in the Xen entry: the console Xen forwards to its serial port.
pub const DOM0_ARGS: &[&str] = &["console=hvc0"];
/// The kernel's arguments in the direct entry (isolinux also needs `initrd=` there).
pub const DIRECT_ARGS: &[&str] = &["console=ttyS0"];

/// The menu entry names, the same in isolinux.cfg (LABEL) and grub.cfg (menuentry title).
pub const XEN_ENTRY: &str = "install";
/// See [`XEN_ENTRY`].
pub const DIRECT_ENTRY: &str = "direct";

/// The word the ISO's `EFI/xenserver/grub.cfg` echoes (see [`super::SerialLog::grub_config_echo`]).
pub const GRUB_ECHO_ISO: &str = "iso-grub-cfg";
/// The word the copy of grub.cfg inside `boot/efiboot.img` echoes.
pub const GRUB_ECHO_EFIBOOT: &str = "efiboot-grub-cfg";
/// The line prefix of those echoes.
pub const GRUB_ECHO_PREFIX: &str = "GRUB-CONFIG: ";

/// GRUB modules built into the EFI image: what the menus use, as XCP-ng's image has them built in.
const GRUB_MODULES: &[&str] = &[
    "multiboot2",
    "linux",
    "iso9660",
    "fat",
    "part_msdos",
    "part_gpt",
    "search",
    "search_fs_file",
    "search_fs_uuid",
    "search_label",
    "echo",
    "normal",
    "configfile",
    "test",
    "boot",
    "chain",
    "gzio",
    "ext2",
    "efi_gop",
    "efi_uga",
    "video_bochs",
    "video_cirrus",
    "all_video",
];

/// Builds the source ISO in `dir` (created if needed) and returns its path, `dir/source.iso`.
pub fn build_source_iso(dir: &Path) -> PathBuf {
    let tree = build_source_tree(dir);
    let iso = dir.join("source.iso");
    pack_iso(&tree, &iso);
    iso
}

/// Lays out the source ISO's file tree in `dir/tree` and returns that path.
pub fn build_source_tree(dir: &Path) -> PathBuf {
    tools::require_all();
    let assets = assets();
    let tree = dir.join("tree");
    if tree.exists() {
        std::fs::remove_dir_all(&tree)
            .unwrap_or_else(|e| panic!("cannot empty {}: {e}", tree.display()));
    }
    for sub in ["boot/isolinux", "EFI/xenserver", "Packages", "repodata"] {
        mkdir(&tree.join(sub));
    }

    // Kernel, hypervisor, installer filesystem.
    copy(&assets.vmlinuz, &tree.join("boot/vmlinuz"));
    copy(&assets.xen, &tree.join("boot/xen.gz"));
    let initrd = build_initrd(dir, SOURCE_MARKER);
    copy(&initrd, &tree.join("install.img"));

    // BIOS: isolinux.
    let isolinux = tree.join("boot/isolinux");
    for file in [
        tools::ISOLINUX_BIN,
        tools::LDLINUX_C32,
        tools::MBOOT_C32,
        tools::LIBCOM32_C32,
    ] {
        let name = Path::new(file).file_name().expect("a file path");
        copy(Path::new(file), &isolinux.join(name));
    }
    write(&isolinux.join("isolinux.cfg"), isolinux_cfg());

    // UEFI: GRUB, its config, and the El Torito EFI image holding GRUB and a config copy.
    let grub_efi = tree.join("EFI/xenserver/grubx64.efi");
    run(Command::new("grub-mkimage")
        .args([
            "-O",
            "x86_64-efi",
            "-p",
            "()/EFI/xenserver",
            "-d",
            tools::GRUB_EFI_MODULES,
        ])
        .arg("-o")
        .arg(&grub_efi)
        .args(GRUB_MODULES));
    write(
        &tree.join("EFI/xenserver/grub.cfg"),
        grub_cfg(GrubCfgCopy::Iso),
    );
    let efiboot_cfg = dir.join("grub-efiboot.cfg");
    write(&efiboot_cfg, grub_cfg(GrubCfgCopy::Efiboot));
    build_efiboot(&tree.join("boot/efiboot.img"), &grub_efi, &efiboot_cfg);

    // Repository and product metadata, so the tree reads as an installer repository.
    write(&tree.join(".treeinfo"), TREEINFO);
    write(
        &tree.join("EULA"),
        "Test image for isoremix; no license is granted by this file.\n",
    );
    write(
        &tree.join("RPM-GPG-KEY-xcpng"),
        "placeholder: this test repository holds no packages and no signatures\n",
    );
    write_empty_repodata(&tree.join("repodata"));
    tree
}

/// Makes the hybrid ISO `iso` from `tree` with XCP-ng's genisoimage command line and
/// `isohybrid --uefi`.
pub fn pack_iso(tree: &Path, iso: &Path) {
    run(Command::new("genisoimage")
        .args(["-quiet", "-r", "-J", "--joliet-long", "-V", VOLUME_ID])
        .args([
            "-c",
            "boot/isolinux/boot.cat",
            "-b",
            "boot/isolinux/isolinux.bin",
        ])
        .args(["-no-emul-boot", "-boot-load-size", "4", "-boot-info-table"])
        .args([
            "-eltorito-alt-boot",
            "-e",
            "boot/efiboot.img",
            "-no-emul-boot",
        ])
        .arg("-o")
        .arg(iso)
        .arg(tree));
    run(Command::new("isohybrid").arg("--uefi").arg(iso));
}

/// `isolinux.cfg`: XCP-ng's layout (serial console, prompt) with a Xen and a direct entry. The
/// timeout is long because the harness types the entry name at the `boot:` prompt.
pub fn isolinux_cfg() -> String {
    let xen = XEN_ARGS.join(" ");
    let dom0 = DOM0_ARGS.join(" ");
    let direct = DIRECT_ARGS.join(" ");
    format!(
        "SERIAL 0 115200\n\
         DEFAULT {XEN_ENTRY}\n\
         PROMPT 1\n\
         TIMEOUT 3000\n\
         \n\
         LABEL {XEN_ENTRY}\n\
         \tKERNEL mboot.c32\n\
         \tAPPEND /boot/xen.gz {xen} --- /boot/vmlinuz {dom0} --- /install.img\n\
         LABEL {DIRECT_ENTRY}\n\
         \tKERNEL /boot/vmlinuz\n\
         \tAPPEND initrd=/install.img {direct}\n"
    )
}

/// Which copy of grub.cfg to render.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrubCfgCopy {
    /// `EFI/xenserver/grub.cfg` on the ISO filesystem.
    Iso,
    /// `/EFI/xenserver/grub.cfg` inside `boot/efiboot.img`: one more line, `search --file --set
    /// /install.img`, so that a GRUB started from the FAT image finds the ISO's files.
    Efiboot,
}

/// XCP-ng 8.3's grub.cfg shape (video setup, insmods, entries with multiboot2/module2) with a Xen
/// entry, a direct entry and an echo saying which copy this is. The timeout is long because the
/// harness picks the entry from the menu.
pub fn grub_cfg(copy: GrubCfgCopy) -> String {
    let (search, echo) = match copy {
        GrubCfgCopy::Iso => ("", GRUB_ECHO_ISO),
        GrubCfgCopy::Efiboot => ("search --file --set /install.img\n", GRUB_ECHO_EFIBOOT),
    };
    let xen = XEN_ARGS.join(" ");
    let dom0 = DOM0_ARGS.join(" ");
    let direct = DIRECT_ARGS.join(" ");
    format!(
        r#"set default="0"

function load_video {{
  insmod efi_gop
  insmod efi_uga
  insmod video_bochs
  insmod video_cirrus
  insmod all_video
}}

load_video
set gfxpayload=keep
insmod gzio
insmod part_gpt
insmod ext2

set timeout=300
{search}echo "{GRUB_ECHO_PREFIX}{echo}"

menuentry "{XEN_ENTRY}" {{
    multiboot2 /boot/xen.gz {xen}
    module2 /boot/vmlinuz {dom0}
    module2 /install.img
}}

menuentry "{DIRECT_ENTRY}" {{
    linux /boot/vmlinuz {direct}
    initrd /install.img
}}
"#
    )
}

/// `boot/efiboot.img` as XCP-ng makes it: a 2880 KiB FAT12 image (`mformat -f 2880 -N 0 -C -L 16`)
/// holding GRUB as `/EFI/BOOT/BOOTX64.EFI` and the grub.cfg copy as `/EFI/xenserver/grub.cfg`.
fn build_efiboot(image: &Path, grub_efi: &Path, cfg: &Path) {
    let img = image.to_str().expect("a UTF-8 scratch path");
    let mtools = |program: &str| {
        let mut command = Command::new(program);
        command.env("MTOOLS_SKIP_CHECK", "1").args(["-i", img]);
        command
    };
    run(mtools("mformat").args(["-f", "2880", "-N", "0", "-C", "-L", "16", "::"]));
    run(mtools("mmd").args(["::/EFI", "::/EFI/BOOT", "::/EFI/xenserver"]));
    run(mtools("mcopy").arg(grub_efi).arg("::/EFI/BOOT/BOOTX64.EFI"));
    run(mtools("mcopy").arg(cfg).arg("::/EFI/xenserver/grub.cfg"));
}

/// `.treeinfo` from XCP-ng 8.3's template, filled in.
const TREEINFO: &str = "\
[platform]
name = XCP
version = 3.4.0

[branding]
name = XCP-ng
version = 8.3.0

[system-v1]
platform_name = XCP
platform_version = 3.4.0
product_name = XCP-ng
product_version = 8.3.0

[build]
number = isoremix-test
[keys]
key1 = RPM-GPG-KEY-xcpng

[general]
name = XCP-ng-8.3.0
family = XCP-ng
timestamp = 946684800
variant =
version = 8.3.0
packagedir =
arch = x86_64

[images-x86_64]
kernel = boot/pxelinux/mboot.c32
initrd = boot/vmlinuz
boot.iso = boot/xen.gz

[images-xen]
kernel = boot/pxelinux/mboot.c32
initrd = boot/vmlinuz
";

/// A repository with no packages, laid out as createrepo_c lays it out: gzip-compressed primary,
/// filelists and other, named `<sha256>-<type>.xml.gz`, listed in `repomd.xml`.
fn write_empty_repodata(dir: &Path) {
    const TIMESTAMP: u64 = 946_684_800;
    let documents = [
        (
            "primary",
            "<metadata xmlns=\"http://linux.duke.edu/metadata/common\" \
             xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\" packages=\"0\">\n</metadata>\n",
        ),
        (
            "filelists",
            "<filelists xmlns=\"http://linux.duke.edu/metadata/filelists\" packages=\"0\">\n\
             </filelists>\n",
        ),
        (
            "other",
            "<otherdata xmlns=\"http://linux.duke.edu/metadata/other\" packages=\"0\">\n\
             </otherdata>\n",
        ),
    ];
    let mut repomd = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <repomd xmlns=\"http://linux.duke.edu/metadata/repo\" \
         xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\">\n",
    );
    writeln!(repomd, "  <revision>{TIMESTAMP}</revision>").expect("writing to a String");
    for (kind, body) in documents {
        let open = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{body}");
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder
            .write_all(open.as_bytes())
            .expect("writing to memory");
        let gz = encoder.finish().expect("writing to memory");
        let sum = hex::encode(Sha256::digest(&gz));
        let open_sum = hex::encode(Sha256::digest(open.as_bytes()));
        let name = format!("{sum}-{kind}.xml.gz");
        write(&dir.join(&name), &gz);
        write!(
            repomd,
            "  <data type=\"{kind}\">\n\
             \x20   <checksum type=\"sha256\">{sum}</checksum>\n\
             \x20   <open-checksum type=\"sha256\">{open_sum}</open-checksum>\n\
             \x20   <location href=\"repodata/{name}\"/>\n\
             \x20   <timestamp>{TIMESTAMP}</timestamp>\n\
             \x20   <size>{}</size>\n\
             \x20   <open-size>{}</open-size>\n\
             \x20 </data>\n",
            gz.len(),
            open.len()
        )
        .expect("writing to a String");
    }
    repomd.push_str("</repomd>\n");
    write(&dir.join("repomd.xml"), repomd);
}
