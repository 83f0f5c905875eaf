//! The real XCP-ng 8.3 boot menus the boot-configuration tests edit.

use isoremix::boot::{ConfigFile, ConfigKind};

/// XCP-ng 8.3's `boot/isolinux/isolinux.cfg`.
pub const ISOLINUX: &str = include_str!("../../fixtures/xcp-ng-8.3/boot/isolinux/isolinux.cfg");
/// XCP-ng 8.3's `EFI/xenserver/grub.cfg`.
pub const GRUB: &str = include_str!("../../fixtures/xcp-ng-8.3/EFI/xenserver/grub.cfg");

/// The efiboot.img copy: grub.cfg with `search --file --set /install.img` after `set timeout=5`
/// (as the fixture's grub-efiboot-cfg.patch says).
pub fn efiboot_grub() -> String {
    GRUB.replacen(
        "set timeout=5\n",
        "set timeout=5\nsearch --file --set /install.img\n",
        1,
    )
}

/// The three menus of an XCP-ng ISO: isolinux.cfg, grub.cfg and, as the copy inside
/// efiboot.img, `efiboot_copy`.
pub fn iso_configs(efiboot_copy: Vec<u8>) -> Vec<ConfigFile> {
    vec![
        ConfigFile {
            name: "boot/isolinux/isolinux.cfg".into(),
            kind: ConfigKind::Isolinux,
            bytes: ISOLINUX.as_bytes().to_vec(),
        },
        ConfigFile {
            name: "EFI/xenserver/grub.cfg".into(),
            kind: ConfigKind::Grub,
            bytes: GRUB.as_bytes().to_vec(),
        },
        ConfigFile {
            name: "boot/efiboot.img:EFI/xenserver/grub.cfg".into(),
            kind: ConfigKind::Grub,
            bytes: efiboot_copy,
        },
    ]
}

/// A config of `kind` named `isolinux.cfg` or `grub.cfg`, holding `text`.
pub fn config(kind: ConfigKind, text: &str) -> ConfigFile {
    ConfigFile {
        name: match kind {
            ConfigKind::Isolinux => "isolinux.cfg".into(),
            ConfigKind::Grub => "grub.cfg".into(),
        },
        kind,
        bytes: text.as_bytes().to_vec(),
    }
}

/// Owned copies of `v`.
pub fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// The dom0 command line of every entry that boots Xen, read from a menu's text the plain
/// way: isolinux `APPEND xen --- kernel ARGS --- initrd`, GRUB's first `module2` of an entry.
pub fn dom0_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_entry_with_module = false;
    for line in text.lines() {
        let t = line.trim();
        if let Some(rest) = t
            .strip_prefix("APPEND ")
            .or_else(|| t.strip_prefix("append "))
            && let Some(dom0) = rest.split("---").nth(1)
        {
            out.push(dom0.trim().to_string());
        }
        if t.starts_with("menuentry ") {
            in_entry_with_module = false;
        }
        if let Some(rest) = t.strip_prefix("module2 ")
            && !in_entry_with_module
        {
            in_entry_with_module = true;
            out.push(rest.trim().to_string());
        }
    }
    out
}
