//! The boot entries of an installer image as XCP-ng 8.3's installer sees them, and what the
//! installer does with each: the single home of "what a boot line means to the installer".
//!
//! An entry is read from every boot config of the image (isolinux.cfg, `EFI/xenserver/grub.cfg`,
//! `grub-usb.cfg` and the grub.cfg copy inside efiboot.img) and matched across them by name,
//! else by position among the entries that boot the same way (so isolinux's `install-alt` is
//! GRUB's "install with alternate/debug kernel (kernel-alt)"). Each distinct dom0 command line of
//! an entry is then run through the installer's own argument handling:
//! - startup/preinit: `answerfile=`, `rt_answerfile=`, `answerfile_generator=` make the install
//!   unattended; `shell`/`bash-shell` open a shell first; `atexit=`, `blacklist=`... are consumed;
//!   every other word is passed on as `--word`;
//! - install.py `go()`: `--kernel-alt` adds the `kernel-alt` package, `--no-gpgcheck` and
//!   `--no-repo-gpgcheck` turn the signature checks off, and either of them together with an
//!   answer file aborts the install ("Set them inside answerfile instead");
//! - with an answer file, the checks come from `<installation gpgcheck= repo-gpgcheck=>`
//!   (default on; `true`/`yes` is on, any other value off).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::boot::entry::{BootMenu, EntryView};
use crate::boot::grub::GrubCfg;
use crate::boot::isolinux::IsolinuxCfg;
use crate::boot::{self, efiboot};
use crate::iso::SourceIso;
use crate::xcpng;

pub use crate::installer_args::{Checks, Install, dom0};

/// One boot config as read from the image.
#[derive(Debug, Clone)]
pub struct Config {
    /// Its name in messages: the path, or `boot/efiboot.img:EFI/xenserver/grub.cfg`.
    pub name: String,
    /// Its entries in file order.
    pub entries: Vec<EntryView>,
}

/// The boot configs of an image, and those that could not be read.
#[derive(Debug, Clone, Default)]
pub struct Configs {
    /// Readable configs, BIOS first.
    pub configs: Vec<Config>,
    /// Configs that exist but cannot be read or parsed, with the reason.
    pub unreadable: Vec<String>,
}

/// The name of the grub.cfg copy inside efiboot.img in messages.
pub fn efiboot_config_name() -> String {
    format!("{}:{}", boot::EFIBOOT_IMG, boot::EFIBOOT_GRUB_CFG)
}

/// Reads every boot config `source` has.
pub fn read_configs(source: &SourceIso) -> Configs {
    let mut out = Configs::default();
    let mut add = |name: String, bytes: Result<Vec<u8>, String>, isolinux: bool| {
        let parsed = bytes.and_then(|b| {
            if isolinux {
                IsolinuxCfg::parse(&b)
                    .map(|c| c.entries())
                    .map_err(|e| e.to_string())
            } else {
                GrubCfg::parse(&b)
                    .map(|c| c.entries())
                    .map_err(|e| e.to_string())
            }
        });
        match parsed {
            Ok(entries) => out.configs.push(Config { name, entries }),
            Err(why) => out.unreadable.push(format!("{name}: {why}")),
        }
    };
    for (path, isolinux) in [
        (boot::ISOLINUX_CFG, true),
        (boot::GRUB_CFG, false),
        (boot::GRUB_USB_CFG, false),
    ] {
        if source.exists(path) {
            add(
                path.to_string(),
                source.read_file(path).map_err(|e| e.to_string()),
                isolinux,
            );
        }
    }
    if source.exists(boot::EFIBOOT_IMG) {
        let copy = source
            .read_file(boot::EFIBOOT_IMG)
            .map_err(|e| e.to_string())
            .and_then(|img| {
                efiboot::read_file(&img, boot::EFIBOOT_GRUB_CFG).map_err(|e| e.to_string())
            });
        match copy {
            // An EFI image without the menu copy boots whatever its GRUB finds on the ISO.
            Err(why) if why.contains("is not a file in the FAT image") => {}
            copy => add(efiboot_config_name(), copy, false),
        }
    }
    out
}

/// How an entry boots in one config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BootLine {
    /// The config.
    pub config: String,
    /// The entry's name there (isolinux LABEL or GRUB title).
    pub name: String,
    /// The hypervisor and its arguments, when the entry boots Xen.
    pub xen: Option<String>,
    /// The dom0 kernel (or the kernel booted without Xen), if any.
    pub kernel: Option<String>,
    /// The dom0 (or kernel) arguments.
    pub args: Vec<String>,
}

impl BootLine {
    /// The kernel and its arguments as one command line (empty when there is no kernel).
    pub fn kernel_line(&self) -> String {
        self.kernel
            .iter()
            .chain(&self.args)
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// One boot entry across every config of the image.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// The entry's name in the first config that has it.
    pub label: String,
    /// How each config boots it.
    pub lines: Vec<BootLine>,
}

impl Entry {
    /// The distinct ways the entry boots (kernel and arguments), in config order, each with the
    /// configs that boot it that way. More than one means the configs disagree.
    pub fn variants(&self) -> Vec<(&BootLine, Vec<&str>)> {
        let mut out: Vec<(&BootLine, Vec<&str>)> = Vec::new();
        for line in &self.lines {
            match out.iter_mut().find(|(l, _)| {
                l.xen.is_some() == line.xen.is_some()
                    && l.kernel == line.kernel
                    && l.args == line.args
            }) {
                Some((_, configs)) => configs.push(&line.config),
                None => out.push((line, vec![&line.config])),
            }
        }
        out
    }

    /// The configs that lack this entry, of those given.
    pub fn missing_from<'a>(&self, configs: &'a [Config]) -> Vec<&'a str> {
        configs
            .iter()
            .filter(|c| !self.lines.iter().any(|l| l.config == c.name))
            .map(|c| c.name.as_str())
            .collect()
    }
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum BootKind {
    Xen,
    Linux,
    Other,
}

fn kind(e: &EntryView) -> BootKind {
    match (&e.xen, &e.linux) {
        (Some(_), _) => BootKind::Xen,
        (None, Some(_)) => BootKind::Linux,
        _ => BootKind::Other,
    }
}

fn line(config: &str, e: &EntryView) -> BootLine {
    let (xen, kernel, args) = match (&e.xen, &e.linux) {
        (Some(x), _) => {
            let mut xen = vec![x.xen.clone()];
            xen.extend(x.xen_args.iter().cloned());
            (
                Some(xen.join(" ")),
                Some(x.kernel.clone()),
                x.dom0_args.clone(),
            )
        }
        (None, Some(l)) => (None, Some(l.kernel.clone()), l.args.clone()),
        _ => (None, None, Vec::new()),
    };
    BootLine {
        config: config.to_string(),
        name: e.name.clone(),
        xen,
        kernel,
        args,
    }
}

/// How each entry of `config` boots, in file order.
pub fn lines(config: &Config) -> Vec<BootLine> {
    config
        .entries
        .iter()
        .map(|e| line(&config.name, e))
        .collect()
}

/// The entries of `configs`, matched across them: by name, else by position among the entries
/// of the same kind (Xen, plain kernel, other) relative to the first config. Linear in the
/// number of entries: names and positions are looked up in indexes, not by scanning.
pub fn entries(configs: &[Config]) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    // For each kind, the entries of the first config: their index in `out`, by position.
    let mut anchor: [Vec<usize>; 3] = Default::default();
    // For each name, the indexes in `out` of the entries with a line of that name, ascending.
    let mut by_name: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (ci, config) in configs.iter().enumerate() {
        let mut position = [0usize; 3];
        // Per name, how many of its entries already have a line of this config (they are
        // skipped at once: an entry gains lines, never loses them).
        let mut taken: BTreeMap<&str, usize> = BTreeMap::new();
        for e in &config.entries {
            let k = kind(e);
            let nth = position[k as usize];
            position[k as usize] += 1;
            let found = if ci == 0 {
                None
            } else {
                let named = by_name.get(&e.name).and_then(|gis| {
                    let from = taken.entry(&e.name).or_insert(0);
                    while gis
                        .get(*from)
                        .is_some_and(|&gi| has_config(&out[gi], &config.name))
                    {
                        *from += 1;
                    }
                    gis.get(*from).copied()
                });
                named.or_else(|| {
                    anchor[k as usize]
                        .get(nth)
                        .copied()
                        .filter(|&gi| !has_config(&out[gi], &config.name))
                })
            };
            let bl = line(&config.name, e);
            let gi = match found {
                Some(gi) => {
                    out[gi].lines.push(bl);
                    gi
                }
                None => {
                    if ci == 0 {
                        anchor[k as usize].push(out.len());
                    }
                    out.push(Entry {
                        label: e.name.clone(),
                        lines: vec![bl],
                    });
                    out.len() - 1
                }
            };
            let gis = by_name.entry(e.name.clone()).or_default();
            if let Err(at) = gis.binary_search(&gi) {
                gis.insert(at, gi);
            }
        }
    }
    out
}

fn has_config(e: &Entry, config: &str) -> bool {
    e.lines.iter().any(|l| l.config == config)
}

/// What the installer does when booted with a command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Action {
    /// The entry does not run the installer (memtest, a kernel without Xen...).
    NotInstaller {
        /// Why.
        why: String,
    },
    /// A shell first; the installer runs only when the user leaves it.
    Shell,
    /// The installer runs.
    Install(Install),
}

/// What the installer entries of `configs` ask yum for beyond the repository's own targets
/// (`kernel-alt` where an entry's dom0 line carries it), each name once, in entry order.
pub fn entry_targets(configs: &[Config]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for entry in entries(configs) {
        for line in &entry.lines {
            if let Action::Install(install) = action(line) {
                for target in install.targets(&[]) {
                    if !out.contains(&target) {
                        out.push(target);
                    }
                }
            }
        }
    }
    out
}

/// What the installer does with `line`.
pub fn action(line: &BootLine) -> Action {
    if line.xen.is_none() {
        let why = match &line.kernel {
            Some(k) => format!("boots {k} without Xen"),
            None => "boots neither Xen nor a kernel".to_string(),
        };
        return Action::NotInstaller { why };
    }
    match dom0(&line.args) {
        (_, true) => Action::Shell,
        (install, false) => Action::Install(install),
    }
}

/// The targets of the installer's main repository: `MainYumRepository._targets` of the
/// installer's own repository.py when install.img has it; else, for a XenServer-style tree (no
/// `xcp-ng-deps` package, comps with `xenserver_base`), its groups `@xenserver_base` and
/// `@xenserver_dom0` (those present); else XCP-ng 8.x's `xcp-ng-deps`.
pub fn repository_targets(
    repository_py: Option<&[u8]>,
    has_meta_package: bool,
    group_ids: &[&str],
) -> Vec<String> {
    if let Some(targets) = repository_py.and_then(targets_of_installer) {
        return targets;
    }
    if !has_meta_package && group_ids.contains(&xcpng::XENSERVER_GROUPS[0]) {
        return xcpng::XENSERVER_GROUPS
            .iter()
            .filter(|g| group_ids.contains(g))
            .map(|g| format!("@{g}"))
            .collect();
    }
    vec![xcpng::MAIN_TARGET.to_string()]
}

/// `_targets = [...]` of `class MainYumRepository` in the installer's repository.py.
fn targets_of_installer(repository_py: &[u8]) -> Option<Vec<String>> {
    let text = String::from_utf8_lossy(repository_py);
    let mut in_main = false;
    for line in text.lines() {
        if line.starts_with("class ") {
            in_main = line.starts_with("class MainYumRepository");
            continue;
        }
        let Some(list) = line.trim().strip_prefix("_targets") else {
            continue;
        };
        let Some(list) = list.trim().strip_prefix('=') else {
            continue;
        };
        if !in_main {
            continue;
        }
        let inner = list.trim().strip_prefix('[')?.strip_suffix(']')?;
        let targets: Vec<String> = inner
            .split(',')
            .map(|t| t.trim().trim_matches(['\'', '"']).to_string())
            .filter(|t| !t.is_empty())
            .collect();
        return (!targets.is_empty()).then_some(targets);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xen(config: &str, name: &str, args: &str) -> BootLine {
        BootLine {
            config: config.into(),
            name: name.into(),
            xen: Some("/boot/xen.gz".into()),
            kernel: Some("/boot/vmlinuz".into()),
            args: args.split_whitespace().map(str::to_string).collect(),
        }
    }

    fn install(args: &str) -> Install {
        match action(&xen("c", "e", args)) {
            Action::Install(i) => i,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn reads_the_installer_arguments() {
        let i = install("console=hvc0 kernel-alt");
        assert!(i.kernel_alt && !i.unattended() && i.abort().is_none());
        assert_eq!(
            i.targets(&["xcp-ng-deps".into()]),
            ["xcp-ng-deps", "kernel-alt"]
        );
        assert_eq!(
            i.checks(None),
            Checks {
                gpgcheck: true,
                repo_gpgcheck: true
            }
        );
        let i = install("no-gpgcheck no-repo-gpgcheck");
        assert_eq!(
            i.checks(None),
            Checks {
                gpgcheck: false,
                repo_gpgcheck: false
            }
        );
        let i = install("answerfile=file:///answerfile.xml install");
        assert_eq!(i.answerfile_path(), Some("/answerfile.xml"));
        assert_eq!(
            i.checks(Some((Some("false"), Some("Yes")))),
            Checks {
                gpgcheck: false,
                repo_gpgcheck: true
            }
        );
        assert!(!i.checks(Some((Some("0"), None))).gpgcheck);
        let i = install("answerfile=file:///a.xml install no-gpgcheck");
        assert!(i.abort().unwrap().contains("aborts"));
        assert_eq!(action(&xen("c", "shell", "bash-shell")), Action::Shell);
        let memtest = BootLine {
            xen: None,
            kernel: None,
            ..xen("c", "memtest", "")
        };
        assert!(matches!(action(&memtest), Action::NotInstaller { .. }));
        // consumed by preinit, never seen by the installer
        assert!(!install("atexit=shell extramodules=x").kernel_alt);
    }

    #[test]
    fn matches_entries_across_configs() {
        let view = |name: &str, args: &str| EntryView {
            name: name.into(),
            xen: Some(crate::boot::XenCmdline {
                xen: "/boot/xen.gz".into(),
                xen_args: vec![],
                kernel: "/boot/vmlinuz".into(),
                dom0_args: args.split_whitespace().map(str::to_string).collect(),
            }),
            linux: None,
        };
        let configs = [
            Config {
                name: "isolinux".into(),
                entries: vec![view("install", "a"), view("install-alt", "a kernel-alt")],
            },
            Config {
                name: "grub".into(),
                entries: vec![
                    view("install", "a b"),
                    view("install with alternate kernel", "a kernel-alt"),
                ],
            },
        ];
        let e = entries(&configs);
        assert_eq!(e.len(), 2);
        assert_eq!(e[1].label, "install-alt");
        assert_eq!(e[1].variants().len(), 1);
        assert_eq!(e[0].variants().len(), 2, "install differs between configs");
        assert!(e[0].missing_from(&configs).is_empty());
    }

    #[test]
    fn repository_targets_from_the_installer() {
        assert_eq!(repository_targets(None, true, &[]), ["xcp-ng-deps"]);
        assert_eq!(
            repository_targets(None, false, &["xenserver_base", "xenserver_dom0"]),
            ["@xenserver_base", "@xenserver_dom0"]
        );
        assert_eq!(repository_targets(None, false, &[]), ["xcp-ng-deps"]);
        let py = b"class YumRepository(Repository):\n    _targets = None\nclass MainYumRepository(X):\n    INFO_FILENAME = \".treeinfo\"\n    _targets = ['@xenserver_base', '@xenserver_dom0']\n";
        assert_eq!(
            repository_targets(Some(py), true, &[]),
            ["@xenserver_base", "@xenserver_dom0"]
        );
    }
}
