//! A remaster made by hand with the referee tools, with the mistake other remastering tools make:
//! the ISO's menus are edited but the grub.cfg copy inside efiboot.img is left as it was.
//!
//! It checks the harness itself: booting it must show the new marker and arguments where the edited
//! configs run, and the old arguments where firmware makes GRUB read the efiboot.img copy.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::initrd::build_marker_overlay;
use super::source_iso::{DOM0_ARGS, XEN_ARGS, pack_iso};
use super::tools::{copy, mkdir};

/// The edits a hand remaster makes.
#[derive(Clone, Copy, Debug)]
pub struct HandEdits<'a> {
    /// The new contents of `/etc/marker` in install.img.
    pub marker: &'a str,
    /// An argument appended to Xen's arguments of the Xen entry.
    pub xen_arg: &'a str,
    /// An argument appended to the dom0 kernel's arguments of the Xen entry.
    pub dom0_arg: &'a str,
}

/// Copies the source `tree` to `dir/tree`, applies `edits` to isolinux.cfg and the ISO's
/// `EFI/xenserver/grub.cfg` only (efiboot.img untouched), appends a marker overlay to install.img,
/// and packs `dir/stale-efiboot.iso`; returns its path.
pub fn remaster_leaving_efiboot_stale(tree: &Path, dir: &Path, edits: &HandEdits) -> PathBuf {
    let out_tree = dir.join("tree");
    if out_tree.exists() {
        std::fs::remove_dir_all(&out_tree)
            .unwrap_or_else(|e| panic!("cannot empty {}: {e}", out_tree.display()));
    }
    copy_tree(tree, &out_tree);

    let xen_old = XEN_ARGS.join(" ");
    let xen_new = format!("{xen_old} {}", edits.xen_arg);
    let dom0_old = format!("/boot/vmlinuz {}", DOM0_ARGS.join(" "));
    let dom0_new = format!("{dom0_old} {}", edits.dom0_arg);
    for config in ["boot/isolinux/isolinux.cfg", "EFI/xenserver/grub.cfg"] {
        let path = out_tree.join(config);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        assert!(
            text.contains(&xen_old) && text.contains(&dom0_old),
            "{config} does not have the source's Xen entry arguments"
        );
        let edited = text
            .replace(&xen_old, &xen_new)
            .replace(&dom0_old, &dom0_new);
        std::fs::write(&path, edited)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }

    let overlay = std::fs::read(build_marker_overlay(dir, edits.marker))
        .expect("the overlay was just written");
    let initrd = out_tree.join("install.img");
    std::fs::OpenOptions::new()
        .append(true)
        .open(&initrd)
        .and_then(|mut file| file.write_all(&overlay))
        .unwrap_or_else(|e| panic!("cannot append to {}: {e}", initrd.display()));

    let iso = dir.join("stale-efiboot.iso");
    pack_iso(&out_tree, &iso);
    iso
}

fn copy_tree(from: &Path, to: &Path) {
    mkdir(to);
    let entries =
        std::fs::read_dir(from).unwrap_or_else(|e| panic!("cannot list {}: {e}", from.display()));
    for entry in entries {
        let path = entry.expect("a source tree entry is readable").path();
        let target = to.join(path.file_name().expect("a directory entry has a name"));
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            copy(&path, &target);
        }
    }
}
