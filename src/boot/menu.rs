//! One set of boot-menu edits applied consistently to every boot config of one ISO
//! (isolinux.cfg, `EFI/xenserver/grub.cfg`, the grub.cfg copy inside efiboot.img, grub-usb.cfg).
//!
//! # How an entry name maps across menus
//! An entry is named as in any of the configs: an isolinux `LABEL` or a GRUB `menuentry` title.
//! In each config the entry is found by
//! 1. an exact match of that config's own name (LABEL or title), else
//! 2. position: the config that has the name exactly (the first one in the list given to
//!    [`apply`]) is the anchor; if its entry is the N-th entry that boots Xen there, the N-th Xen
//!    entry of this config is taken, but only if it boots the same Xen and kernel paths with the
//!    same Xen and dom0 arguments (likewise for entries that boot Linux without Xen: the N-th
//!    such entry, same kernel, same arguments). Otherwise the entry has no counterpart: an error.
//!
//! Entries that boot Linux without Xen are edited only when named: their kernel arguments take
//! the dom0 edits; Xen edits on them are an error.
//!
//! So `install-alt` (isolinux) finds "install with alternate/debug kernel (kernel-alt)" (GRUB).
//! A name found in no config is an error naming it.
//!
//! # Order of the edits
//! 1. the argument edits of [`BootEdits::edits`] on the selected entries (default: every entry
//!    that boots Xen, in every config);
//! 2. new entries, each a copy of its `from` entry as edited by step 1, inserted right after it,
//!    then its own argument edits;
//! 3. the default entry, then the timeout;
//! 4. each entry that boots Xen is made either unattended or interactive, decided on its dom0
//!    line as steps 1-3 left it: [`BootEdits::unattended`] goes to the selected entries (see
//!    there) that name no answer file yet, then [`BootEdits::interactive`] to every entry that
//!    still names none. So no entry ever gets both, nor an answer file twice.
//!
//! Removing an argument that no edited entry of a config has is an error naming the argument
//! and the config.

use std::collections::{BTreeMap, BTreeSet};

use super::args::{self, ArgEdits};
use super::grub::{self, GrubCfg};
use super::isolinux::{self, IsolinuxCfg};

/// The Xen command line of an entry: the multiboot kernel (Xen), its arguments, the dom0 kernel
/// module and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XenCmdline {
    /// Path of the hypervisor (`/boot/xen.gz`).
    pub xen: String,
    /// Xen's arguments.
    pub xen_args: Vec<String>,
    /// Path of the dom0 kernel (`/boot/vmlinuz`).
    pub kernel: String,
    /// dom0's arguments.
    pub dom0_args: Vec<String>,
}

/// The command line of an entry that boots a Linux kernel directly (GRUB `linux`, isolinux
/// `KERNEL`/`LINUX` of something that is not a `.c32` module).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinuxCmdline {
    /// Path of the kernel.
    pub kernel: String,
    /// Its arguments (for isolinux, every APPEND word, `initrd=` included).
    pub args: Vec<String>,
}

/// What an entry of a boot menu is, as far as edits are concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryView {
    /// The isolinux LABEL or the GRUB menuentry title.
    pub name: String,
    /// The Xen command line, if the entry boots Xen.
    pub xen: Option<XenCmdline>,
    /// The kernel command line, if the entry boots a Linux kernel without Xen.
    pub linux: Option<LinuxCmdline>,
}

impl EntryView {
    /// The entry's boot kind and what identifies its command line, for matching across menus.
    fn boot(&self) -> Option<Boot<'_>> {
        match (&self.xen, &self.linux) {
            (Some(x), _) => Some(Boot::Xen(x)),
            (None, Some(l)) => Some(Boot::Linux(l)),
            (None, None) => None,
        }
    }
}

/// What an entry boots.
#[derive(Debug, PartialEq, Eq)]
enum Boot<'a> {
    Xen(&'a XenCmdline),
    Linux(&'a LinuxCmdline),
}

/// A boot menu config that can be edited; implemented by [`IsolinuxCfg`] and [`GrubCfg`].
pub trait BootMenu {
    /// The format's error.
    type Error;
    /// How many entries the config has.
    fn entry_count(&self) -> usize;
    /// Entry `idx` (in file order), without building the others.
    fn view(&self, idx: usize) -> Option<EntryView>;
    /// The entries in file order.
    fn entries(&self) -> Vec<EntryView> {
        (0..self.entry_count())
            .filter_map(|i| self.view(i))
            .collect()
    }
    /// Replaces the Xen and dom0 arguments of entry `idx`.
    fn set_args(
        &mut self,
        idx: usize,
        xen_args: &[String],
        dom0_args: &[String],
    ) -> Result<(), Self::Error>;
    /// Replaces the kernel arguments of entry `idx`, which boots Linux without Xen.
    fn set_kernel_args(&mut self, idx: usize, args: &[String]) -> Result<(), Self::Error>;
    /// Copies entry `idx` right after itself as `name` (isolinux LABEL) titled `title`; returns
    /// the index of the copy.
    fn duplicate(&mut self, idx: usize, name: &str, title: &str) -> Result<usize, Self::Error>;
    /// Makes entry `idx` the default, in the style the file already uses.
    fn set_default(&mut self, idx: usize) -> Result<(), Self::Error>;
    /// Sets the menu timeout in seconds.
    fn set_timeout(&mut self, seconds: u32) -> Result<(), Self::Error>;
    /// The config as text.
    fn render(&self) -> String;
}

/// Which format a config file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigKind {
    /// syslinux/isolinux `isolinux.cfg`.
    Isolinux,
    /// GRUB 2 `grub.cfg` (or `grub-usb.cfg`, or the copy in efiboot.img).
    Grub,
}

/// One boot config of an ISO: a name for messages (its path), its format and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFile {
    /// Where the config is, for messages and the report (`boot/isolinux/isolinux.cfg`).
    pub name: String,
    /// Its format.
    pub kind: ConfigKind,
    /// Its content; replaced by the edited content by [`apply`].
    pub bytes: Vec<u8>,
}

/// Edits of the Xen and the dom0 command line of an entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryEdits {
    /// Edits of Xen's arguments.
    pub xen_args: ArgEdits,
    /// Edits of dom0's arguments.
    pub dom0_args: ArgEdits,
}

impl EntryEdits {
    /// True when there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.xen_args.is_empty() && self.dom0_args.is_empty()
    }
}

/// A new menu entry made from a copy of an existing one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    /// The isolinux LABEL of the new entry.
    pub label: String,
    /// The GRUB title (and isolinux `MENU LABEL` where the source has one); the label if `None`.
    pub title: Option<String>,
    /// The entry it copies.
    pub from: String,
    /// Its own edits, applied to the copy.
    pub edits: EntryEdits,
}

/// Whether a dom0 command line makes the installer run unattended (it names an answer file);
/// see [`crate::entries::dom0`].
pub fn is_unattended<S: AsRef<str>>(dom0_args: &[S]) -> bool {
    crate::entries::dom0(dom0_args).0.unattended()
}

/// Whether a dom0 command line opens a shell first (`shell`, `bash-shell`).
pub fn is_shell<S: AsRef<str>>(dom0_args: &[S]) -> bool {
    crate::entries::dom0(dom0_args).1
}

/// The whole set of boot-menu edits, as plain data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BootEdits {
    /// The entries to edit; `None`: every entry that boots Xen.
    pub entries: Option<Vec<String>>,
    /// The argument edits for those entries.
    pub edits: EntryEdits,
    /// The entry to make the default in every menu.
    pub default: Option<String>,
    /// The menu timeout in seconds, in every menu (isolinux: converted to tenths).
    pub timeout: Option<u32>,
    /// Entries to add to every menu.
    pub new_entries: Vec<NewEntry>,
    /// dom0 arguments that make an entry install unattended
    /// (`answerfile=file:///answerfile.xml install`), added after every other edit to the
    /// entries that boot Xen among [`BootEdits::entries`] and the new entries copied from them
    /// (default: every entry that boots Xen and opens no shell), except those whose dom0 line
    /// already names an answer file.
    pub unattended: Vec<String>,
    /// dom0 arguments added last to every entry that boots Xen and names no answer file once
    /// everything else is applied (e.g. `no-gpgcheck no-repo-gpgcheck`, which the installer
    /// refuses together with an answer file).
    pub interactive: Vec<String>,
}

impl BootEdits {
    /// Appends dom0 arguments for the selected entries (for other layers, e.g.
    /// `answerfile=file:///answerfile.xml install`).
    pub fn add_dom0_args<S: AsRef<str>>(&mut self, args: &[S]) {
        self.edits
            .dom0_args
            .add
            .extend(args.iter().map(|a| a.as_ref().to_string()));
    }

    /// Appends Xen arguments for the selected entries.
    pub fn add_xen_args<S: AsRef<str>>(&mut self, args: &[S]) {
        self.edits
            .xen_args
            .add
            .extend(args.iter().map(|a| a.as_ref().to_string()));
    }

    /// True when applying would change nothing.
    pub fn is_empty(&self) -> bool {
        self.edits.is_empty()
            && self.default.is_none()
            && self.timeout.is_none()
            && self.new_entries.is_empty()
            && self.unattended.is_empty()
            && self.interactive.is_empty()
    }
}

/// What [`apply`] did to one config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileReport {
    /// [`ConfigFile::name`].
    pub name: String,
    /// Whether its bytes changed.
    pub changed: bool,
    /// The entries (this config's names) whose arguments were edited or that were added.
    pub entries: Vec<String>,
}

/// What [`apply`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// One report per config, in the order given.
    pub files: Vec<FileReport>,
}

/// Errors of applying boot edits.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An isolinux config could not be parsed or edited.
    #[error("{file}: {source}")]
    Isolinux {
        /// The config.
        file: String,
        /// The cause.
        source: isolinux::Error,
    },
    /// A GRUB config could not be parsed or edited.
    #[error("{file}: {source}")]
    Grub {
        /// The config.
        file: String,
        /// The cause.
        source: grub::Error,
    },
    /// A bad argument in the edits.
    #[error(transparent)]
    Args(#[from] args::Error),
    /// An entry name found in no config.
    #[error("no boot menu has an entry {name:?}; the menus have: {}", known.join(", "))]
    UnknownEntry {
        /// The name.
        name: String,
        /// The names the menus have (isolinux labels, GRUB titles), each once, in file order.
        known: Vec<String>,
    },
    /// An entry that exists in one config has no counterpart in another.
    #[error(
        "{file}: no entry matches {name:?} (no such name, and no Xen entry at the same position with the same arguments)"
    )]
    NoCounterpart {
        /// The name.
        name: String,
        /// The config without it.
        file: String,
    },
    /// Xen argument edits asked for an entry that does not boot Xen.
    #[error("{file}: entry {name:?} does not boot Xen; it has no Xen arguments to edit")]
    NotXen {
        /// The name.
        name: String,
        /// The config.
        file: String,
    },
    /// Argument edits asked for an entry that boots neither Xen nor a Linux kernel.
    #[error(
        "{file}: entry {name:?} boots neither Xen nor a Linux kernel; it has no arguments to edit"
    )]
    NoKernel {
        /// The name.
        name: String,
        /// The config.
        file: String,
    },
    /// A `remove` that matched no argument of any edited entry.
    #[error("{file}: no edited entry has the {line} argument {arg:?} to remove")]
    NothingToRemove {
        /// The argument.
        arg: String,
        /// `Xen` or `dom0`.
        line: &'static str,
        /// The config.
        file: String,
    },
    /// A GRUB config the build edits (`stage` "source") or its edited text (`stage` "edited")
    /// is not a script GRUB's parser accepts.
    #[error("{file}: {stage} GRUB script: {source}")]
    Script {
        /// The config.
        file: String,
        /// `source` or `edited`.
        stage: &'static str,
        /// The cause.
        source: super::grub_script::Error,
    },
    /// The edited text of a config does not read back as the entries edited.
    #[error("{file}: the edited config does not read back as edited: {why}")]
    Rendered {
        /// The config.
        file: String,
        /// What differs.
        why: String,
    },
    /// A new entry's label is used twice or already exists.
    #[error("new entry {label:?}: {why}")]
    BadNewEntry {
        /// The label.
        label: String,
        /// What is wrong.
        why: String,
    },
}

/// A parsed config of either format.
enum Parsed {
    Iso(IsolinuxCfg),
    Grub(GrubCfg),
}

/// One config while edits are applied.
struct Menu {
    file: String,
    cfg: Parsed,
}

impl Menu {
    fn wrap_iso(&self, source: isolinux::Error) -> Error {
        Error::Isolinux {
            file: self.file.clone(),
            source,
        }
    }

    fn wrap_grub(&self, source: grub::Error) -> Error {
        Error::Grub {
            file: self.file.clone(),
            source,
        }
    }

    fn entries(&self) -> Vec<EntryView> {
        match &self.cfg {
            Parsed::Iso(c) => c.entries(),
            Parsed::Grub(c) => c.entries(),
        }
    }

    fn view(&self, idx: usize) -> Option<EntryView> {
        match &self.cfg {
            Parsed::Iso(c) => c.view(idx),
            Parsed::Grub(c) => c.view(idx),
        }
    }

    fn set_args(&mut self, idx: usize, x: &[String], d: &[String]) -> Result<(), Error> {
        let r = match &mut self.cfg {
            Parsed::Iso(c) => c.set_args(idx, x, d).map_err(Ok),
            Parsed::Grub(c) => c.set_args(idx, x, d).map_err(Err),
        };
        r.map_err(|e| self.wrap(e))
    }

    fn set_kernel_args(&mut self, idx: usize, args: &[String]) -> Result<(), Error> {
        let r = match &mut self.cfg {
            Parsed::Iso(c) => c.set_kernel_args(idx, args).map_err(Ok),
            Parsed::Grub(c) => c.set_kernel_args(idx, args).map_err(Err),
        };
        r.map_err(|e| self.wrap(e))
    }

    fn duplicate(&mut self, idx: usize, name: &str, title: &str) -> Result<usize, Error> {
        let r = match &mut self.cfg {
            Parsed::Iso(c) => c.duplicate(idx, name, title).map_err(Ok),
            Parsed::Grub(c) => c.duplicate(idx, name, title).map_err(Err),
        };
        r.map_err(|e| self.wrap(e))
    }

    fn set_default(&mut self, idx: usize) -> Result<(), Error> {
        let r = match &mut self.cfg {
            Parsed::Iso(c) => c.set_default(idx).map_err(Ok),
            Parsed::Grub(c) => c.set_default(idx).map_err(Err),
        };
        r.map_err(|e| self.wrap(e))
    }

    fn set_timeout(&mut self, seconds: u32) -> Result<(), Error> {
        let r = match &mut self.cfg {
            Parsed::Iso(c) => c.set_timeout(seconds).map_err(Ok),
            Parsed::Grub(c) => c.set_timeout(seconds).map_err(Err),
        };
        r.map_err(|e| self.wrap(e))
    }

    fn render(&self) -> String {
        match &self.cfg {
            Parsed::Iso(c) => c.render(),
            Parsed::Grub(c) => c.render(),
        }
    }

    fn wrap(&self, e: Result<isolinux::Error, grub::Error>) -> Error {
        match e {
            Ok(e) => self.wrap_iso(e),
            Err(e) => self.wrap_grub(e),
        }
    }
}

/// Parses one config.
fn parse(c: &ConfigFile) -> Result<Menu, Error> {
    let cfg =
        match c.kind {
            ConfigKind::Isolinux => Parsed::Iso(IsolinuxCfg::parse(&c.bytes).map_err(
                |source| Error::Isolinux {
                    file: c.name.clone(),
                    source,
                },
            )?),
            ConfigKind::Grub => Parsed::Grub(GrubCfg::parse(&c.bytes).map_err(|source| {
                // Where GRUB itself would refuse the script, say why as GRUB sees it.
                match super::grub_script::check(&c.bytes) {
                    Err(source) => Error::Script {
                        file: c.name.clone(),
                        stage: "source",
                        source,
                    },
                    Ok(()) => Error::Grub {
                        file: c.name.clone(),
                        source,
                    },
                }
            })?),
        };
    Ok(Menu {
        file: c.name.clone(),
        cfg,
    })
}

/// The entries of one menu, indexed once so that finding a name or a counterpart does not
/// scan the menu again: a lookup costs O(log n), so resolving many names stays linear.
struct MenuIndex {
    file: String,
    views: Vec<EntryView>,
    /// The first entry of each name.
    by_name: BTreeMap<String, usize>,
    /// Per entry that boots something: its ordinal among the entries of the same boot kind.
    ordinal: Vec<Option<usize>>,
    /// The entries that boot Xen, then those that boot Linux without Xen, in file order.
    xen: Vec<usize>,
    linux: Vec<usize>,
}

impl MenuIndex {
    fn new(menu: &Menu) -> Self {
        let views = menu.entries();
        let mut by_name = BTreeMap::new();
        let mut ordinal = Vec::with_capacity(views.len());
        let (mut xen, mut linux) = (Vec::new(), Vec::new());
        for (i, e) in views.iter().enumerate() {
            by_name.entry(e.name.clone()).or_insert(i);
            let list = match e.boot() {
                Some(Boot::Xen(_)) => Some(&mut xen),
                Some(Boot::Linux(_)) => Some(&mut linux),
                None => None,
            };
            ordinal.push(list.map(|l| {
                l.push(i);
                l.len() - 1
            }));
        }
        MenuIndex {
            file: menu.file.clone(),
            views,
            by_name,
            ordinal,
            xen,
            linux,
        }
    }

    /// The `pos`-th entry of the same boot kind as `boot`.
    fn nth_of_kind(&self, boot: &Boot<'_>, pos: usize) -> Option<usize> {
        let list = match boot {
            Boot::Xen(_) => &self.xen,
            Boot::Linux(_) => &self.linux,
        };
        list.get(pos).copied()
    }
}

/// Indexes every menu as it is now.
fn index(menus: &[Menu]) -> Vec<MenuIndex> {
    menus.iter().map(MenuIndex::new).collect()
}

/// Finds entry `name` in every menu (see the module documentation); one index per menu.
fn resolve(menus: &[MenuIndex], name: &str) -> Result<Vec<usize>, Error> {
    let anchor = menus
        .iter()
        .find_map(|m| m.by_name.get(name).map(|&i| (m, i)));
    let Some((anchor_menu, anchor_idx)) = anchor else {
        // The entries the menus have, each once, in menu order.
        let mut seen = BTreeSet::new();
        let known: Vec<String> = menus
            .iter()
            .flat_map(|m| m.views.iter())
            .filter(|e| seen.insert(e.name.as_str()))
            .map(|e| e.name.clone())
            .collect();
        return Err(Error::UnknownEntry {
            name: name.to_string(),
            known,
        });
    };
    let anchor_boot = anchor_menu.views.get(anchor_idx).and_then(EntryView::boot);
    let pos = anchor_menu.ordinal.get(anchor_idx).copied().flatten();
    let mut out = Vec::with_capacity(menus.len());
    for menu in menus {
        if let Some(&i) = menu.by_name.get(name) {
            out.push(i);
            continue;
        }
        let found = anchor_boot.as_ref().zip(pos).and_then(|(ab, pos)| {
            menu.nth_of_kind(ab, pos)
                .filter(|&i| menu.views.get(i).and_then(EntryView::boot).as_ref() == Some(ab))
        });
        match found {
            Some(i) => out.push(i),
            None => {
                return Err(Error::NoCounterpart {
                    name: name.to_string(),
                    file: menu.file.clone(),
                });
            }
        }
    }
    Ok(out)
}

/// Applies argument edits to entry `idx` of `menu`; ORs removal hits into `removed`. For an
/// entry that boots Linux without Xen, the dom0 edits apply to the kernel's arguments and Xen
/// edits are an error.
fn edit_entry(
    menu: &mut Menu,
    idx: usize,
    edits: &EntryEdits,
    removed: &mut (Vec<bool>, Vec<bool>),
) -> Result<bool, Error> {
    let Some(entry) = menu.view(idx) else {
        return Err(Error::UnknownEntry {
            name: format!("#{idx}"),
            known: Vec::new(),
        });
    };
    if let Some(x) = entry.xen {
        let mut xen_args = x.xen_args;
        let mut dom0_args = x.dom0_args;
        let rx = args::apply(&mut xen_args, &edits.xen_args)?;
        let rd = args::apply(&mut dom0_args, &edits.dom0_args)?;
        merge(&mut removed.0, rx.removed);
        merge(&mut removed.1, rd.removed);
        if rx.changed || rd.changed {
            menu.set_args(idx, &xen_args, &dom0_args)?;
        }
        return Ok(rx.changed || rd.changed);
    }
    let Some(l) = entry.linux else {
        return Err(Error::NoKernel {
            name: entry.name,
            file: menu.file.clone(),
        });
    };
    if !edits.xen_args.is_empty() {
        return Err(Error::NotXen {
            name: entry.name,
            file: menu.file.clone(),
        });
    }
    let mut kargs = l.args;
    let rk = args::apply(&mut kargs, &edits.dom0_args)?;
    merge(&mut removed.1, rk.removed);
    if rk.changed {
        menu.set_kernel_args(idx, &kargs)?;
    }
    Ok(rk.changed)
}

/// ORs removal hits into the accumulated flags.
fn merge(acc: &mut [bool], hits: Vec<bool>) {
    for (a, h) in acc.iter_mut().zip(hits) {
        *a |= h;
    }
}

/// Errors for removals that matched nothing in `file`.
fn check_removed(
    edits: &EntryEdits,
    removed: &(Vec<bool>, Vec<bool>),
    file: &str,
) -> Result<(), Error> {
    for (arg, hit) in edits.xen_args.remove.iter().zip(&removed.0) {
        if !hit {
            return Err(Error::NothingToRemove {
                arg: arg.clone(),
                line: "Xen",
                file: file.to_string(),
            });
        }
    }
    for (arg, hit) in edits.dom0_args.remove.iter().zip(&removed.1) {
        if !hit {
            return Err(Error::NothingToRemove {
                arg: arg.clone(),
                line: "dom0",
                file: file.to_string(),
            });
        }
    }
    Ok(())
}

fn removal_flags(edits: &EntryEdits) -> (Vec<bool>, Vec<bool>) {
    (
        vec![false; edits.xen_args.remove.len()],
        vec![false; edits.dom0_args.remove.len()],
    )
}

/// Applies `edits` to all `configs` of one ISO consistently; on success each config's bytes are
/// replaced by the edited text (unchanged lines keep their bytes). On error no config is changed.
pub fn apply(edits: &BootEdits, configs: &mut [ConfigFile]) -> Result<Report, Error> {
    edits.edits.xen_args.validate()?;
    edits.edits.dom0_args.validate()?;
    for n in &edits.new_entries {
        n.edits.xen_args.validate()?;
        n.edits.dom0_args.validate()?;
    }
    for a in edits.unattended.iter().chain(&edits.interactive) {
        args::validate(a)?;
    }
    let mut seen = std::collections::BTreeSet::new();
    for n in &edits.new_entries {
        if !seen.insert(n.label.as_str()) {
            return Err(Error::BadNewEntry {
                label: n.label.clone(),
                why: "given twice".into(),
            });
        }
    }
    let mut menus = configs.iter().map(parse).collect::<Result<Vec<_>, _>>()?;
    let mut touched: Vec<Touched> = menus.iter().map(|_| Touched::default()).collect();

    // 1. Argument edits on the selected entries (names are checked even without edits).
    if !edits.edits.is_empty() || edits.entries.is_some() {
        let selected: Vec<Vec<usize>> = match &edits.entries {
            None => menus
                .iter()
                .map(|m| {
                    m.entries()
                        .iter()
                        .enumerate()
                        .filter(|(_, e)| e.xen.is_some())
                        .map(|(i, _)| i)
                        .collect()
                })
                .collect(),
            Some(names) => resolve_all(&index(&menus), names.iter().map(String::as_str))?,
        };
        for ((menu, idxs), t) in menus.iter_mut().zip(&selected).zip(&mut touched) {
            let mut removed = removal_flags(&edits.edits);
            for &idx in idxs {
                if edit_entry(menu, idx, &edits.edits, &mut removed)? {
                    t.note(menu, idx);
                }
            }
            check_removed(&edits.edits, &removed, &menu.file)?;
        }
    }

    // 2. New entries.
    let mut added: Vec<Touched> = menus.iter().map(|_| Touched::default()).collect();
    for n in &edits.new_entries {
        let from = resolve(&index(&menus), &n.from)?;
        let title = n.title.clone().unwrap_or_else(|| n.label.clone());
        for ((menu, src), a) in menus.iter_mut().zip(from).zip(&mut added) {
            let new = menu.duplicate(src, &n.label, &title)?;
            let mut removed = removal_flags(&n.edits);
            if !n.edits.is_empty() {
                edit_entry(menu, new, &n.edits, &mut removed)?;
            }
            check_removed(&n.edits, &removed, &menu.file)?;
            a.note(menu, new);
        }
    }

    // 3. Default and timeout.
    if let Some(name) = &edits.default {
        let idxs = resolve(&index(&menus), name)?;
        for (menu, idx) in menus.iter_mut().zip(idxs) {
            menu.set_default(idx)?;
        }
    }
    if let Some(t) = edits.timeout {
        for menu in &mut menus {
            menu.set_timeout(t)?;
        }
    }

    // 4. Unattended or interactive, on the final dom0 lines.
    let unattended = EntryEdits {
        dom0_args: ArgEdits {
            add: edits.unattended.clone(),
            ..ArgEdits::default()
        },
        ..EntryEdits::default()
    };
    if !edits.unattended.is_empty() {
        let selected = unattended_entries(edits, &menus)?;
        for ((menu, idxs), t) in menus.iter_mut().zip(selected).zip(&mut touched) {
            for idx in idxs {
                edit_entry(menu, idx, &unattended, &mut removal_flags(&unattended))?;
                t.note(menu, idx);
            }
        }
    }
    if !edits.interactive.is_empty() {
        let interactive = EntryEdits {
            dom0_args: ArgEdits {
                add: edits.interactive.clone(),
                ..ArgEdits::default()
            },
            ..EntryEdits::default()
        };
        for (menu, t) in menus.iter_mut().zip(&mut touched) {
            let idxs: Vec<usize> = menu
                .entries()
                .iter()
                .enumerate()
                .filter(|(_, e)| e.xen.as_ref().is_some_and(|x| !is_unattended(&x.dom0_args)))
                .map(|(i, _)| i)
                .collect();
            for idx in idxs {
                edit_entry(menu, idx, &interactive, &mut removal_flags(&interactive))?;
                t.note(menu, idx);
            }
        }
    }

    let mut report = Report::default();
    let mut out = Vec::with_capacity(menus.len());
    for (((menu, cfg), t), a) in menus.iter().zip(configs.iter()).zip(&touched).zip(&added) {
        let text = menu.render().into_bytes();
        if text != cfg.bytes {
            check_edited(menu, cfg, &text)?;
        }
        let mut entries: Vec<String> = t
            .names
            .iter()
            .filter(|e| !a.seen.contains(*e))
            .cloned()
            .collect();
        entries.extend(a.names.iter().cloned());
        report.files.push(FileReport {
            name: cfg.name.clone(),
            changed: text != cfg.bytes,
            entries,
        });
        out.push(text);
    }
    for (cfg, text) in configs.iter_mut().zip(out) {
        cfg.bytes = text;
    }
    Ok(report)
}

/// Nothing broken is shipped: a config that is edited must be a script GRUB accepts before and
/// after (the source is judged too, so that an error names the source's line), and its edited
/// text must parse again, with our own parser, into the entries as edited.
fn check_edited(menu: &Menu, cfg: &ConfigFile, text: &[u8]) -> Result<(), Error> {
    if cfg.kind == ConfigKind::Grub {
        for (stage, bytes) in [("source", &cfg.bytes[..]), ("edited", text)] {
            super::grub_script::check(bytes).map_err(|source| Error::Script {
                file: cfg.name.clone(),
                stage,
                source,
            })?;
        }
    }
    let again = parse(&ConfigFile {
        name: cfg.name.clone(),
        kind: cfg.kind,
        bytes: text.to_vec(),
    })
    .map_err(|e| Error::Rendered {
        file: cfg.name.clone(),
        why: e.to_string(),
    })?;
    let (want, got) = (menu.entries(), again.entries());
    if want != got {
        let at = want.iter().zip(&got).position(|(a, b)| a != b);
        let why = match at {
            Some(i) => format!("entry {} reads back as {:?}", i + 1, got.get(i)),
            None => format!("{} entries edited, {} read back", want.len(), got.len()),
        };
        return Err(Error::Rendered {
            file: cfg.name.clone(),
            why,
        });
    }
    Ok(())
}

/// The names of the entries of one menu that were edited (or added), each once, in the order
/// first edited.
#[derive(Default)]
struct Touched {
    names: Vec<String>,
    seen: BTreeSet<String>,
}

impl Touched {
    /// Records that entry `idx` of `menu` was edited.
    fn note(&mut self, menu: &Menu, idx: usize) {
        if let Some(e) = menu.view(idx)
            && self.seen.insert(e.name.clone())
        {
            self.names.push(e.name);
        }
    }
}

/// Resolves each of `names` in every menu (see [`resolve`]); per menu, the entries found, each
/// once, in the order of the names.
fn resolve_all<'a>(
    menus: &[MenuIndex],
    names: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<Vec<usize>>, Error> {
    let mut per_menu = vec![Vec::new(); menus.len()];
    let mut seen = vec![BTreeSet::new(); menus.len()];
    for name in names {
        for ((idx, list), seen) in resolve(menus, name)?
            .into_iter()
            .zip(&mut per_menu)
            .zip(&mut seen)
        {
            if seen.insert(idx) {
                list.push(idx);
            }
        }
    }
    Ok(per_menu)
}

/// Per menu, the entries [`BootEdits::unattended`] goes to: those that boot Xen and name no
/// answer file yet, among the selected entries and the new entries copied from them, or by
/// default among every entry that opens no shell.
fn unattended_entries(edits: &BootEdits, menus: &[Menu]) -> Result<Vec<Vec<usize>>, Error> {
    let wanted = |e: &EntryView| e.xen.as_ref().is_some_and(|x| !is_unattended(&x.dom0_args));
    let Some(names) = &edits.entries else {
        return Ok(menus
            .iter()
            .map(|m| {
                m.entries()
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| {
                        wanted(e) && e.xen.as_ref().is_some_and(|x| !is_shell(&x.dom0_args))
                    })
                    .map(|(i, _)| i)
                    .collect()
            })
            .collect());
    };
    let mut selected: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut chosen: BTreeSet<&str> = selected.iter().copied().collect();
    for n in &edits.new_entries {
        if chosen.contains(n.from.as_str()) {
            selected.push(&n.label);
            chosen.insert(&n.label);
        }
    }
    let mut per_menu = resolve_all(&index(menus), selected)?;
    for (menu, list) in menus.iter().zip(&mut per_menu) {
        list.retain(|&idx| menu.view(idx).is_some_and(|e| wanted(&e)));
    }
    Ok(per_menu)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISOLINUX: &str = include_str!("../../fixtures/xcp-ng-8.3/boot/isolinux/isolinux.cfg");

    fn isolinux(text: &str) -> ConfigFile {
        ConfigFile {
            name: "boot/isolinux/isolinux.cfg".into(),
            kind: ConfigKind::Isolinux,
            bytes: text.into(),
        }
    }

    /// The reason `check_edited` gives for `text` as the rendering of `menu`, which must be a
    /// [`Error::Rendered`] naming the config.
    fn rendered_refusal(menu: &Menu, text: &str) -> String {
        match check_edited(menu, &isolinux(ISOLINUX), text.as_bytes()) {
            Err(Error::Rendered { file, why }) => {
                assert_eq!(file, "boot/isolinux/isolinux.cfg");
                why
            }
            other => panic!("not refused as rendered: {other:?}"),
        }
    }

    #[test]
    fn check_edited_refuses_a_rendering_that_reads_back_otherwise() {
        let mut menu = parse(&isolinux(ISOLINUX)).unwrap();
        menu.set_args(0, &[], &["console=hvc0".into(), "marker=1".into()])
            .unwrap();
        let good = menu.render();
        check_edited(&menu, &isolinux(ISOLINUX), good.as_bytes()).unwrap();

        // The edit of entry 1 missing from the text (as a renderer dropping it would).
        let why = rendered_refusal(&menu, ISOLINUX);
        assert!(why.starts_with("entry 1 reads back as"), "{why}");

        // Entry 2's dom0 arguments changed by the rendering.
        let changed = good.replacen(
            "console=vga --- /boot/vmlinuz console=tty0",
            "console=vga --- /boot/vmlinuz console=tty1",
            1,
        );
        assert_ne!(changed, good);
        let why = rendered_refusal(&menu, &changed);
        assert!(why.starts_with("entry 2 reads back as"), "{why}");

        // The last entry lost: every entry that is there reads back, but not all of them.
        let cut = &good[..good.rfind("LABEL").unwrap()];
        let why = rendered_refusal(&menu, cut);
        let n = menu.entries().len();
        assert_eq!(why, format!("{n} entries edited, {} read back", n - 1));
    }
}
