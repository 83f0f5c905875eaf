//! Boot menus and kernel arguments (isolinux.cfg, GRUB configs) and the EFI boot image
//! (efiboot.img, FAT).
//!
//! - [`args`]: kernel-argument lists and `set`/`add`/`remove` edits;
//! - [`isolinux`], [`grub`]: parse, edit and render the two menu formats, keeping untouched lines;
//! - [`menu`]: one set of edits applied consistently to all configs of an ISO;
//! - [`efiboot`]: read the FAT image, rebuild it with replaced files, or create one.

pub mod args;
pub mod efiboot;
pub mod fatwrite;
pub mod grub;
pub mod isolinux;
pub mod menu;
mod text;

pub use menu::{BootEdits, ConfigFile, ConfigKind, EntryEdits, NewEntry, Report, apply};
