//! Step `[boot]`: one set of menu edits applied to every boot config of the
//! image — isolinux.cfg, EFI/xenserver/grub.cfg (and grub-usb.cfg), and the
//! grub.cfg copy inside the EFI boot image, which is rebuilt
//! deterministically — plus the dom0 arguments other steps need.

use super::{Context, Error};
use crate::boot::{self, ConfigFile, ConfigKind, EntryEdits, NewEntry, efiboot};
use crate::iso::{BootPlatform, NewContent, SourceIso};
use crate::profile::{self, ArgEdits, BootEdits};

const ISOLINUX: &str = "/boot/isolinux/isolinux.cfg";
const GRUB: &str = "/EFI/xenserver/grub.cfg";
const GRUB_USB: &str = "/EFI/xenserver/grub-usb.cfg";
const EFIBOOT_GRUB: &str = "EFI/xenserver/grub.cfg";
const FALLBACK: &str = "/EFI/BOOT/BOOTX64.EFI";

fn args(a: &ArgEdits) -> boot::args::ArgEdits {
    let plain = |v: &[profile::Located<String>]| v.iter().map(|x| x.value.clone()).collect();
    boot::args::ArgEdits {
        set: plain(&a.set),
        add: plain(&a.add),
        remove: plain(&a.remove),
    }
}

/// The profile's `[boot]` as the boot layer's plain data, with arguments
/// other steps asked for.
pub fn edits(profile: &BootEdits, extra_dom0: &[String]) -> boot::BootEdits {
    let mut e = boot::BootEdits {
        entries: profile
            .entries
            .as_ref()
            .map(|v| v.iter().map(|x| x.value.clone()).collect()),
        edits: EntryEdits {
            xen_args: args(&profile.xen_args),
            dom0_args: args(&profile.dom0_args),
        },
        default: profile.default.as_ref().map(|d| d.value.clone()),
        timeout: profile.timeout.as_ref().map(|t| t.value),
        new_entries: profile
            .new_entries
            .iter()
            .map(|n| NewEntry {
                label: n.label.value.clone(),
                title: Some(n.title.value.clone()),
                from: n.from.value.clone(),
                edits: EntryEdits {
                    xen_args: args(&n.xen_args),
                    dom0_args: args(&n.dom0_args),
                },
            })
            .collect(),
    };
    e.add_dom0_args(extra_dom0);
    e
}

fn err(at: &str, e: impl std::fmt::Display) -> Error {
    Error::Step {
        at: at.to_string(),
        message: e.to_string(),
    }
}

/// Applies the boot edits to every config of `source`.
/// `selected_dom0` go to the entries the profile selects (the answer file's
/// arguments); `every_dom0` to every entry that boots Xen, whatever the
/// profile selects (turning signature checks off must reach them all).
pub fn apply(
    source: &mut SourceIso,
    profile: &BootEdits,
    selected_dom0: &[String],
    every_dom0: &[String],
    cx: &mut Context<'_>,
) -> Result<(), Error> {
    let edits = edits(profile, selected_dom0);
    let mut everywhere = boot::BootEdits::default();
    everywhere.add_dom0_args(every_dom0);
    let at = "[boot]";
    let efiboot_path = source
        .boot_entries()
        .iter()
        .find(|e| e.platform == BootPlatform::Uefi)
        .and_then(|e| e.path.clone());
    let efiboot_image = match &efiboot_path {
        Some(p) if !edits.is_empty() || !everywhere.is_empty() || profile.efi_fallback => {
            Some(source.read_file(p).map_err(|e| err(at, e))?)
        }
        _ => None,
    };
    if !edits.is_empty() || !everywhere.is_empty() {
        let mut configs = Vec::new();
        for (path, kind) in [
            (ISOLINUX, ConfigKind::Isolinux),
            (GRUB, ConfigKind::Grub),
            (GRUB_USB, ConfigKind::Grub),
        ] {
            if source.exists(path) {
                configs.push(ConfigFile {
                    name: path.trim_start_matches('/').to_string(),
                    kind,
                    bytes: source.read_file(path).map_err(|e| err(at, e))?,
                });
            }
        }
        let inside = match (&efiboot_path, &efiboot_image) {
            (Some(p), Some(img)) => efiboot::read_file(img, EFIBOOT_GRUB)
                .ok()
                .map(|bytes| (p.clone(), img, bytes)),
            _ => None,
        };
        if let Some((p, _, bytes)) = &inside {
            configs.push(ConfigFile {
                name: format!("{}:{EFIBOOT_GRUB}", p.trim_start_matches('/')),
                kind: ConfigKind::Grub,
                bytes: bytes.clone(),
            });
        }
        if configs.is_empty() {
            return Err(err(
                at,
                "the image has no boot menu (isolinux.cfg or grub.cfg) to edit",
            ));
        }
        let mut report = boot::apply(&edits, &mut configs).map_err(|e| err(at, e))?;
        if !everywhere.is_empty() {
            let more = boot::apply(&everywhere, &mut configs).map_err(|e| err(at, e))?;
            for (file, other) in report.files.iter_mut().zip(more.files) {
                file.changed |= other.changed;
                for entry in other.entries {
                    if !file.entries.contains(&entry) {
                        file.entries.push(entry);
                    }
                }
            }
        }
        for (config, file) in configs.iter().zip(&report.files) {
            if !file.changed {
                continue;
            }
            cx.report.steps.push(format!(
                "boot: {} edited ({})",
                config.name,
                file.entries.join(", ")
            ));
            match &inside {
                Some((p, img, _)) if config.name.contains(':') => {
                    let new = efiboot::rebuild(
                        img,
                        &[(EFIBOOT_GRUB, &config.bytes)],
                        efiboot::serial_from_seed(cx.seed),
                        efiboot::FatTime::from_unix(cx.time),
                    )
                    .map_err(|e| err(at, format!("{p}: {e}")))?;
                    source
                        .put_file(p, NewContent::Bytes(new), cx.datetime)
                        .map_err(|e| err(at, e))?;
                }
                _ => source
                    .put_file(
                        &format!("/{}", config.name),
                        NewContent::Bytes(config.bytes.clone()),
                        cx.datetime,
                    )
                    .map_err(|e| err(at, e))?,
            }
        }
    }
    if profile.efi_fallback {
        let img = efiboot_image.as_ref().ok_or_else(|| {
            err(
                at,
                "efi_fallback: the image has no UEFI El Torito boot image",
            )
        })?;
        let loader = efiboot::efi_fallback_loader(img).map_err(|e| err(at, e))?;
        source
            .put_file(FALLBACK, NewContent::Bytes(loader), cx.datetime)
            .map_err(|e| err(at, e))?;
        cx.report
            .steps
            .push(format!("boot: EFI fallback loader placed at {FALLBACK}"));
    }
    Ok(())
}
