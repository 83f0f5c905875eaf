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

use std::collections::BTreeSet;

mod entry_edits;
mod error;
mod matching;

pub use error::Error;

use super::args::{self, ArgEdits};
use super::entry::{BootMenu, EntryView};
use super::grub::{self, GrubCfg};
use super::grub_script;
use super::isolinux::{self, IsolinuxCfg};
use entry_edits::{check_removed, edit_entry, removal_flags};
use matching::{index, resolve, resolve_all};

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
/// see `installer_args::dom0`.
pub fn is_unattended<S: AsRef<str>>(dom0_args: &[S]) -> bool {
    crate::installer_args::dom0(dom0_args).0.unattended()
}

/// Whether a dom0 command line opens a shell first (`shell`, `bash-shell`).
pub fn is_shell<S: AsRef<str>>(dom0_args: &[S]) -> bool {
    crate::installer_args::dom0(dom0_args).1
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

/// One config while edits are applied: its format's editor, behind [`BootMenu`], with the
/// format's errors named with the config.
struct Menu {
    file: String,
    cfg: Box<dyn BootMenu<Error = Error>>,
}

impl Menu {
    fn new<C>(file: &str, cfg: C) -> Menu
    where
        C: BootMenu + 'static,
        C::Error: InFile,
    {
        Menu {
            file: file.to_string(),
            cfg: Box::new(Named {
                file: file.to_string(),
                cfg,
            }),
        }
    }
}

/// A format's error, as an [`Error`] naming the config.
trait InFile {
    fn in_file(self, file: &str) -> Error;
}

impl InFile for isolinux::Error {
    fn in_file(self, file: &str) -> Error {
        Error::Isolinux {
            file: file.to_string(),
            source: self,
        }
    }
}

impl InFile for grub::Error {
    fn in_file(self, file: &str) -> Error {
        Error::Grub {
            file: file.to_string(),
            source: self,
        }
    }
}

/// A config of some format whose errors name the config.
struct Named<C> {
    file: String,
    cfg: C,
}

impl<C> BootMenu for Named<C>
where
    C: BootMenu,
    C::Error: InFile,
{
    type Error = Error;

    fn entry_count(&self) -> usize {
        self.cfg.entry_count()
    }

    fn view(&self, idx: usize) -> Option<EntryView> {
        self.cfg.view(idx)
    }

    fn entries(&self) -> Vec<EntryView> {
        self.cfg.entries()
    }

    fn set_args(&mut self, idx: usize, x: &[String], d: &[String]) -> Result<(), Error> {
        self.cfg
            .set_args(idx, x, d)
            .map_err(|e| e.in_file(&self.file))
    }

    fn set_kernel_args(&mut self, idx: usize, args: &[String]) -> Result<(), Error> {
        self.cfg
            .set_kernel_args(idx, args)
            .map_err(|e| e.in_file(&self.file))
    }

    fn duplicate(&mut self, idx: usize, name: &str, title: &str) -> Result<usize, Error> {
        self.cfg
            .duplicate(idx, name, title)
            .map_err(|e| e.in_file(&self.file))
    }

    fn set_default(&mut self, idx: usize) -> Result<(), Error> {
        self.cfg.set_default(idx).map_err(|e| e.in_file(&self.file))
    }

    fn set_timeout(&mut self, seconds: u32) -> Result<(), Error> {
        self.cfg
            .set_timeout(seconds)
            .map_err(|e| e.in_file(&self.file))
    }

    fn render(&self) -> String {
        self.cfg.render()
    }
}

/// Parses one config.
fn parse(c: &ConfigFile) -> Result<Menu, Error> {
    match c.kind {
        ConfigKind::Isolinux => {
            let cfg = IsolinuxCfg::parse(&c.bytes).map_err(|e| e.in_file(&c.name))?;
            Ok(Menu::new(&c.name, cfg))
        }
        ConfigKind::Grub => {
            let cfg = GrubCfg::parse(&c.bytes).map_err(|source| {
                // Where GRUB itself would refuse the script, say why as GRUB sees it.
                match grub_script::check(&c.bytes) {
                    Err(source) => Error::Script {
                        file: c.name.clone(),
                        stage: "source",
                        source,
                    },
                    Ok(()) => source.in_file(&c.name),
                }
            })?;
            Ok(Menu::new(&c.name, cfg))
        }
    }
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
                    m.cfg
                        .entries()
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
            let new = menu.cfg.duplicate(src, &n.label, &title)?;
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
            menu.cfg.set_default(idx)?;
        }
    }
    if let Some(t) = edits.timeout {
        for menu in &mut menus {
            menu.cfg.set_timeout(t)?;
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
                .cfg
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
        let text = menu.cfg.render().into_bytes();
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
            grub_script::check(bytes).map_err(|source| Error::Script {
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
    let (want, got) = (menu.cfg.entries(), again.cfg.entries());
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
        if let Some(e) = menu.cfg.view(idx)
            && self.seen.insert(e.name.clone())
        {
            self.names.push(e.name);
        }
    }
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
                m.cfg
                    .entries()
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
        list.retain(|&idx| menu.cfg.view(idx).is_some_and(|e| wanted(&e)));
    }
    Ok(per_menu)
}

#[cfg(test)]
mod tests;
