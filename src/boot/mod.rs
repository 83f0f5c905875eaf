//! Boot menus and kernel arguments (isolinux.cfg, GRUB configs) and the EFI boot image
//! (efiboot.img, FAT).
//!
//! - [`ArgEdits`]: `set`/`add`/`remove` edits of a kernel-argument list;
//! - [`IsolinuxCfg`], [`GrubCfg`]: parse, edit and render the two menu formats, keeping
//!   untouched lines; both implement [`BootMenu`], which shows each entry as an [`EntryView`];
//! - [`apply`]: one set of [`BootEdits`] applied consistently to all [`ConfigFile`]s of an ISO;
//! - [`efiboot`]: read the FAT image, rebuild it with replaced files, or create one.
//!
//! GRUB's script balance check and the FAT writer stay inside the crate.

pub(crate) mod args;
pub mod efiboot;
pub(crate) mod entry;
pub(crate) mod fatwrite;
pub(crate) mod grub;
pub(crate) mod grub_script;
pub(crate) mod isolinux;
pub(crate) mod menu;
mod text;

pub use args::ArgEdits;
/// Errors of a kernel-argument edit.
pub use args::Error as ArgError;
pub use entry::{BootMenu, EntryView, LinuxCmdline, XenCmdline};
/// Errors of reading a GRUB config ([`GrubCfg::parse`]).
pub use grub::Error as GrubError;
pub use grub::GrubCfg;
/// Errors of reading an isolinux config ([`IsolinuxCfg::parse`]).
pub use isolinux::Error as IsolinuxError;
pub use isolinux::IsolinuxCfg;

pub use menu::{
    BootEdits, ConfigFile, ConfigKind, EntryEdits, Error, FileReport, NewEntry, Report, apply,
};

/// Where an XCP-ng ISO keeps its BIOS boot menu.
pub const ISOLINUX_CFG: &str = "boot/isolinux/isolinux.cfg";
/// Where an XCP-ng ISO keeps its UEFI boot menu.
pub const GRUB_CFG: &str = "EFI/xenserver/grub.cfg";
/// The UEFI menu of older XenServer-style ISOs, edited like [`GRUB_CFG`] when present.
pub const GRUB_USB_CFG: &str = "EFI/xenserver/grub-usb.cfg";
/// The El Torito EFI boot image of the ISO.
pub const EFIBOOT_IMG: &str = "boot/efiboot.img";
/// The copy of the UEFI menu inside [`EFIBOOT_IMG`] (a path in the FAT image).
pub const EFIBOOT_GRUB_CFG: &str = "EFI/xenserver/grub.cfg";
/// Where UEFI firmware looks for a loader on removable media (x86-64), in the ISO filesystem
/// or in [`EFIBOOT_IMG`].
pub const EFI_FALLBACK_LOADER: &str = "EFI/BOOT/BOOTX64.EFI";

/// The config format of a file by its name: `isolinux.cfg`/`syslinux.cfg` are isolinux,
/// `grub.cfg`/`grub-usb.cfg` are GRUB; anything else is `None`.
pub fn kind_of(path: &str) -> Option<ConfigKind> {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    match name.as_str() {
        "isolinux.cfg" | "syslinux.cfg" => Some(ConfigKind::Isolinux),
        "grub.cfg" | "grub-usb.cfg" => Some(ConfigKind::Grub),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_by_name() {
        assert_eq!(kind_of(ISOLINUX_CFG), Some(ConfigKind::Isolinux));
        assert_eq!(kind_of(GRUB_CFG), Some(ConfigKind::Grub));
        assert_eq!(kind_of(GRUB_USB_CFG), Some(ConfigKind::Grub));
        assert_eq!(kind_of("boot/isolinux/menu.c32"), None);
    }
}
