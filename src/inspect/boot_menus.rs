//! The boot menus of an image as `inspect` shows them: every config (isolinux.cfg, the EFI
//! grub.cfg files and the grub.cfg copy inside efiboot.img) with each entry's Xen and dom0
//! command lines, read by [`crate::entries`].

use std::fmt::Write as _;

use serde::Serialize;

use crate::entries::{self, BootLine};
use crate::iso::SourceIso;

/// The boot menus of an image.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BootMenus {
    /// Each readable config, BIOS first.
    pub configs: Vec<MenuConfig>,
    /// Configs that exist but cannot be read, with the reason.
    pub unreadable: Vec<String>,
}

/// One boot config.
#[derive(Debug, Clone, Serialize)]
pub struct MenuConfig {
    /// The config: its path, or `boot/efiboot.img:EFI/xenserver/grub.cfg` for the copy.
    pub config: String,
    /// Its entries in file order.
    pub entries: Vec<BootLine>,
}

/// Reads every boot config of `source`.
pub fn read(source: &SourceIso) -> BootMenus {
    let configs = entries::read_configs(source);
    BootMenus {
        configs: configs
            .configs
            .iter()
            .map(|c| MenuConfig {
                config: c.name.clone(),
                entries: entries::lines(c),
            })
            .collect(),
        unreadable: configs.unreadable,
    }
}

/// Whether two configs boot the same entries the same way (names included).
fn same(a: &MenuConfig, b: &MenuConfig) -> bool {
    a.entries.len() == b.entries.len()
        && a.entries.iter().zip(&b.entries).all(|(x, y)| {
            x.name == y.name && x.xen == y.xen && x.kernel == y.kernel && x.args == y.args
        })
}

impl BootMenus {
    /// Whether the image has any boot config at all.
    pub fn is_empty(&self) -> bool {
        self.configs.is_empty() && self.unreadable.is_empty()
    }

    /// The text section: per config, each entry with its Xen and dom0 lines; a config that
    /// boots exactly as the one before it says so in one line.
    pub fn write_text(&self, s: &mut String) {
        if self.is_empty() {
            let _ = writeln!(s, "boot menus:  none (no isolinux.cfg or grub.cfg)");
            return;
        }
        let _ = writeln!(s, "boot menus:");
        for (i, c) in self.configs.iter().enumerate() {
            if let Some(prev) = i.checked_sub(1).map(|p| &self.configs[p])
                && same(prev, c)
            {
                let _ = writeln!(
                    s,
                    "  {}: the same {} entries as {}",
                    c.config,
                    c.entries.len(),
                    prev.config
                );
                continue;
            }
            let _ = writeln!(s, "  {}: {} entries", c.config, c.entries.len());
            for e in &c.entries {
                let _ = writeln!(s, "    {}", e.name);
                match (&e.xen, &e.kernel) {
                    (Some(xen), _) => {
                        let _ = writeln!(s, "      xen:    {xen}");
                        let _ = writeln!(s, "      dom0:   {}", e.kernel_line());
                    }
                    (None, Some(_)) => {
                        let _ = writeln!(s, "      kernel: {}", e.kernel_line());
                    }
                    (None, None) => {
                        let _ = writeln!(s, "      boots neither Xen nor a kernel");
                    }
                }
            }
        }
        for u in &self.unreadable {
            let _ = writeln!(s, "  unreadable: {u}");
        }
    }
}
