//! Step `[boot]`: one set of menu edits applied to every boot config of the
//! image — isolinux.cfg, EFI/xenserver/grub.cfg (and grub-usb.cfg), and the
//! grub.cfg copy inside the EFI boot image, which is rebuilt
//! deterministically — plus the dom0 arguments other steps need.

use super::{At, Context, Error};
use crate::boot::{self, ConfigFile, ConfigKind, EntryEdits, NewEntry, efiboot};
use crate::iso::{BootPlatform, NewContent, SourceIso};
use crate::profile::{self, ArgEdits, BootEdits};

use crate::boot::{EFI_FALLBACK_LOADER, EFIBOOT_GRUB_CFG, GRUB_CFG, GRUB_USB_CFG, ISOLINUX_CFG};

fn args(a: &ArgEdits) -> boot::args::ArgEdits {
    let plain = |v: &[profile::Located<String>]| v.iter().map(|x| x.value.clone()).collect();
    boot::args::ArgEdits {
        set: plain(&a.set),
        add: plain(&a.add),
        remove: plain(&a.remove),
    }
}

/// The profile's `[boot]` as the boot layer's plain data, with the arguments other steps
/// need: `unattended` (the answer file's) and `interactive` (signature checks off), each
/// decided per entry by the boot layer once every other edit is known.
pub fn edits(
    profile: &BootEdits,
    unattended: &[String],
    interactive: &[String],
) -> boot::BootEdits {
    boot::BootEdits {
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
        unattended: unattended.to_vec(),
        interactive: interactive.to_vec(),
    }
}

/// The profile section this step applies.
const SECTION: At = At::Section("[boot]");

/// An error of the ISO layer reading (`action` `read`) or writing a file of the image at `path`.
fn file_error(action: &'static str, path: &str) -> impl FnOnce(crate::iso::Error) -> Error {
    let path = path.to_string();
    move |source| Error::IsoEdit {
        at: SECTION,
        action,
        path,
        source: Box::new(source),
    }
}

/// An error of the EFI boot image at `path` (the El Torito entry's file), naming it.
fn efiboot_error(action: &'static str, path: &str) -> impl FnOnce(efiboot::Error) -> Error {
    let path = path.trim_start_matches('/').to_string();
    move |source| Error::Efiboot {
        path,
        action,
        source,
    }
}

/// Where the profile names boot entry `name` (`entries`, `default`, a new entry's `from`).
fn naming<'a>(profile: &'a BootEdits, name: &str) -> Option<&'a profile::Origin> {
    let entries = profile.entries.iter().flatten();
    let froms = profile.new_entries.iter().map(|n| &n.from);
    entries
        .chain(profile.default.as_ref())
        .chain(froms)
        .find(|l| l.value == name)
        .map(|l| &l.origin)
}

/// Applies the boot edits to every config of `source`.
/// `unattended` (the answer file's arguments) go to the entries the profile selects that run an
/// install and name no answer file yet; `interactive` (signature checks off) to every entry
/// that boots Xen and, after that, still names no answer file (see [`boot::BootEdits`]).
pub fn apply(
    source: &mut SourceIso,
    profile: &BootEdits,
    unattended: &[String],
    interactive: &[String],
    cx: &mut Context<'_>,
) -> Result<(), Error> {
    let edits = edits(profile, unattended, interactive);
    let efiboot_path = source
        .boot_entries()
        .iter()
        .find(|e| e.platform == BootPlatform::Uefi)
        .and_then(|e| e.path.clone());
    let efiboot_image = match &efiboot_path {
        Some(p) if !edits.is_empty() || profile.efi_fallback => {
            Some(source.read_file(p).map_err(file_error("read", p))?)
        }
        _ => None,
    };
    if !edits.is_empty() {
        let mut configs = Vec::new();
        for (path, kind) in [
            (ISOLINUX_CFG, ConfigKind::Isolinux),
            (GRUB_CFG, ConfigKind::Grub),
            (GRUB_USB_CFG, ConfigKind::Grub),
        ] {
            if source.exists(path) {
                configs.push(ConfigFile {
                    name: path.to_string(),
                    kind,
                    bytes: source.read_file(path).map_err(file_error("read", path))?,
                });
            }
        }
        // An image without a grub.cfg copy has nothing to edit; one that cannot be read as FAT
        // is an error, or its menu would be shipped unedited.
        let inside = match (&efiboot_path, &efiboot_image) {
            (Some(p), Some(img)) => match efiboot::read_file(img, EFIBOOT_GRUB_CFG) {
                Ok(bytes) => Some((p.clone(), img, bytes)),
                Err(efiboot::Error::NotFound(_)) => None,
                Err(e) => return Err(efiboot_error("read", p)(e)),
            },
            _ => None,
        };
        if let Some((p, _, bytes)) = &inside {
            configs.push(ConfigFile {
                name: format!("{}:{EFIBOOT_GRUB_CFG}", p.trim_start_matches('/')),
                kind: ConfigKind::Grub,
                bytes: bytes.clone(),
            });
        }
        if configs.is_empty() {
            return Err(Error::NoBootMenu);
        }
        let report = boot::apply(&edits, &mut configs).map_err(|source| {
            // Point at the profile line that names the entry.
            let at = match &source {
                boot::menu::Error::UnknownEntry { name, .. } => {
                    naming(profile, name).map_or(SECTION, At::from)
                }
                _ => SECTION,
            };
            Error::BootMenu {
                at,
                source: Box::new(source),
            }
        })?;
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
                        &[(EFIBOOT_GRUB_CFG, &config.bytes)],
                        efiboot::serial_from_seed(cx.seed),
                        efiboot::FatTime::from_unix(cx.time),
                    )
                    .map_err(efiboot_error("rebuilt", p))?;
                    source
                        .put_file(p, NewContent::Bytes(new), cx.datetime)
                        .map_err(file_error("write", p))?;
                }
                _ => source
                    .put_file(
                        &format!("/{}", config.name),
                        NewContent::Bytes(config.bytes.clone()),
                        cx.datetime,
                    )
                    .map_err(file_error("write", &config.name))?,
            }
        }
    }
    if profile.efi_fallback {
        let img = efiboot_image
            .as_ref()
            .ok_or(Error::NoUefiImage { at: SECTION })?;
        let loader = efiboot::efi_fallback_loader(img)
            .map_err(efiboot_error("read", efiboot_path.as_deref().unwrap_or("")))?;
        let dest = format!("/{EFI_FALLBACK_LOADER}");
        source
            .put_file(&dest, NewContent::Bytes(loader), cx.datetime)
            .map_err(file_error("write", &dest))?;
        cx.report
            .steps
            .push(format!("boot: EFI fallback loader placed at {dest}"));
    }
    Ok(())
}
