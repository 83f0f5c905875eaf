//! What a build changes, read by comparing the image as edited in memory with its source:
//! the files of the ISO, the repository's packages, each boot config's lines, and how
//! install.img is rewritten. `build --plan` prints it without writing anything; `build --json`
//! carries it in the report.

use std::fmt::Write as _;

use hadris_fs::FileType;
use serde::Serialize;

use super::packages::PulledIn;
use crate::entries::{self, BootLine};
use crate::inspect::PackageChanges;
use crate::iso::{self, SourceIso};

/// Everything a build changes in the image.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Changes {
    /// Files of the ISO filesystem.
    pub files: FileChanges,
    /// Packages of the installer's repository, by name (`name-[E:]V-R.arch`); `None` when
    /// neither image has a readable repository.
    pub packages: Option<PackageChanges>,
    /// Packages drawn from a `[packages] from` pool (each also in `packages.added` or
    /// `packages.updated`).
    pub pulled_in: Vec<PulledIn>,
    /// Boot lines that differ, per config, in config order then entry order.
    pub boot: Vec<BootChange>,
    /// How install.img is rewritten; `None` when it is kept as it is.
    pub install_img: Option<InstallImgChange>,
}

/// Files added, removed and replaced on the ISO (a removed or added folder is listed once,
/// with a trailing `/`), each `/`-prefixed, in name order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FileChanges {
    /// Files and folders only the new image has.
    pub added: Vec<String>,
    /// Files and folders only the source has.
    pub removed: Vec<String>,
    /// Files both have whose data the build changes.
    pub replaced: Vec<String>,
}

/// One boot entry of one config whose line changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BootChange {
    /// The config (`boot/isolinux/isolinux.cfg`, `EFI/xenserver/grub.cfg`,
    /// `boot/efiboot.img:EFI/xenserver/grub.cfg`...).
    pub config: String,
    /// The entry's name there (isolinux LABEL or GRUB title).
    pub entry: String,
    /// The line in the source; `None` for a new entry.
    pub before: Option<BootLine>,
    /// The line in the new image; `None` for a removed entry.
    pub after: Option<BootLine>,
}

/// How the build rewrites install.img, and why that way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstallImgChange {
    /// `overlay` (an archive appended after the source's bytes), `splice` (the source's bzip2
    /// blocks kept, those holding changed entries encoded again) or `repack` (the whole image
    /// written again).
    pub strategy: &'static str,
    /// Why that strategy.
    pub why: String,
    /// Files and symlinks added or replaced (patched files included), in path order.
    pub written: Vec<String>,
    /// Paths removed.
    pub removed: Vec<String>,
}

/// Compares `after` (the edited image) with `before` (its source, opened again). The files
/// whose data the build set are those whose content no longer points at the same extents of
/// the source.
pub fn compare(
    before: &SourceIso,
    after: &SourceIso,
    pulled_in: &[PulledIn],
    install_img: Option<InstallImgChange>,
) -> Changes {
    Changes {
        files: file_changes(before, after),
        packages: package_changes(before, after),
        pulled_in: pulled_in.to_vec(),
        boot: boot_changes(before, after),
        install_img,
    }
}

/// Every node of an image: path → (is a folder, the stored extents of a file).
type Nodes = std::collections::BTreeMap<String, (bool, Option<Vec<(u64, u64)>>)>;

fn nodes(source: &SourceIso) -> Nodes {
    let mut out = Nodes::new();
    iso::walk(source.tree(), &mut |path, entry| {
        let node = entry.node();
        let extents = node.content().and_then(|c| {
            c.stored_extents()
                .map(|e| e.iter().map(|x| (x.offset(), x.len())).collect())
        });
        out.insert(
            path.to_string(),
            (node.file_type() == FileType::Dir, extents),
        );
    });
    out
}

fn file_changes(before: &SourceIso, after: &SourceIso) -> FileChanges {
    let (old, new) = (nodes(before), nodes(after));
    // Only the topmost path of an added or removed subtree is listed.
    let topmost = |path: &str, side: &Nodes, other: &Nodes| -> Option<String> {
        if other.contains_key(path) {
            return None;
        }
        let parent = &path[..path.rfind('/').unwrap_or(0)];
        if !parent.is_empty() && !other.contains_key(parent) {
            return None;
        }
        let dir = side.get(path).is_some_and(|(dir, _)| *dir);
        Some(if dir {
            format!("{path}/")
        } else {
            path.to_string()
        })
    };
    FileChanges {
        added: new.keys().filter_map(|p| topmost(p, &new, &old)).collect(),
        removed: old.keys().filter_map(|p| topmost(p, &old, &new)).collect(),
        replaced: new
            .iter()
            .filter(|(p, (dir, extents))| {
                !dir && old
                    .get(*p)
                    .is_some_and(|(was_dir, was)| !was_dir && (extents.is_none() || was != extents))
            })
            .map(|(p, _)| p.clone())
            .collect(),
    }
}

fn package_changes(before: &SourceIso, after: &SourceIso) -> Option<PackageChanges> {
    if !before.exists(crate::xcpng::REPOMD) && !after.exists(crate::xcpng::REPOMD) {
        return None;
    }
    crate::inspect::package_changes(after, before).ok()
}

fn boot_changes(before: &SourceIso, after: &SourceIso) -> Vec<BootChange> {
    let (old, new) = (
        entries::read_configs(before).configs,
        entries::read_configs(after).configs,
    );
    let mut names: Vec<&str> = new.iter().map(|c| c.name.as_str()).collect();
    for c in &old {
        if !names.contains(&c.name.as_str()) {
            names.push(&c.name);
        }
    }
    let lines = |configs: &[entries::Config], name: &str| -> Vec<BootLine> {
        configs
            .iter()
            .find(|c| c.name == name)
            .map(entries::lines)
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for name in names {
        let (mut was, now) = (lines(&old, name), lines(&new, name));
        for line in now {
            // The source's entry of the same name (the first left, for repeated names).
            let before = was
                .iter()
                .position(|w| w.name == line.name)
                .map(|i| was.remove(i));
            if before.as_ref() != Some(&line) {
                out.push(BootChange {
                    config: name.to_string(),
                    entry: line.name.clone(),
                    before,
                    after: Some(line),
                });
            }
        }
        out.extend(was.into_iter().map(|line| BootChange {
            config: name.to_string(),
            entry: line.name.clone(),
            before: Some(line),
            after: None,
        }));
    }
    out
}

/// A boot line in one line of text: `XEN ARGS | KERNEL ARGS`.
pub fn line_text(line: &BootLine) -> String {
    let kernel = match &line.kernel {
        Some(_) => line.kernel_line(),
        None => "(no kernel)".to_string(),
    };
    match &line.xen {
        Some(xen) => format!("{xen} | {kernel}"),
        None => kernel,
    }
}

/// The words only `before` has (`-word`) and only `after` has (`+word`), in line order.
fn word_diff(before: &str, after: &str) -> String {
    let (old, new): (Vec<&str>, Vec<&str>) = (
        before.split_whitespace().collect(),
        after.split_whitespace().collect(),
    );
    let gone = old
        .iter()
        .filter(|w| !new.contains(w))
        .map(|w| format!("-{w}"));
    let came = new
        .iter()
        .filter(|w| !old.contains(w))
        .map(|w| format!("+{w}"));
    gone.chain(came).collect::<Vec<_>>().join(" ")
}

impl Changes {
    /// The human-readable list: one line per file, package and install.img edit; for each
    /// boot line, the line before and after.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let f = &self.files;
        if f.added.is_empty() && f.removed.is_empty() && f.replaced.is_empty() {
            let _ = writeln!(s, "files: unchanged");
        } else {
            let _ = writeln!(
                s,
                "files: {} added, {} removed, {} replaced",
                f.added.len(),
                f.removed.len(),
                f.replaced.len()
            );
        }
        for (what, paths) in [
            ("added", &f.added),
            ("removed", &f.removed),
            ("replaced", &f.replaced),
        ] {
            for p in paths {
                let _ = writeln!(s, "  {what:<9} {p}");
            }
        }
        if let Some(p) = &self.packages {
            if p.added.is_empty() && p.updated.is_empty() && p.removed.is_empty() {
                let _ = writeln!(s, "packages: unchanged");
            } else {
                let _ = writeln!(
                    s,
                    "packages: {} added, {} updated, {} removed",
                    p.added.len(),
                    p.updated.len(),
                    p.removed.len()
                );
            }
            for a in &p.added {
                let pulled = self.pulled_in.iter().find(|x| &x.nevra == a);
                match pulled {
                    Some(x) => {
                        let _ = writeln!(
                            s,
                            "  pulled in {a} (from {}{})",
                            x.pool.display(),
                            x.required_by
                                .as_deref()
                                .map(|r| format!(", required by {r}"))
                                .unwrap_or_default()
                        );
                    }
                    None => {
                        let _ = writeln!(s, "  added     {a}");
                    }
                }
            }
            for (from, to) in &p.updated {
                let _ = writeln!(s, "  updated   {from} → {to}");
            }
            for r in &p.removed {
                let _ = writeln!(s, "  removed   {r}");
            }
        }
        if self.boot.is_empty() {
            let _ = writeln!(s, "boot menus: unchanged");
        } else {
            let _ = writeln!(s, "boot menus: {} lines changed", self.boot.len());
        }
        for b in &self.boot {
            let _ = writeln!(s, "  {}: {}", b.config, b.entry);
            let (before, after) = (
                b.before.as_ref().map(line_text),
                b.after.as_ref().map(line_text),
            );
            let _ = writeln!(
                s,
                "    before: {}",
                before.as_deref().unwrap_or("(new entry)")
            );
            let _ = writeln!(s, "    after:  {}", after.as_deref().unwrap_or("(removed)"));
            if let (Some(before), Some(after)) = (&before, &after) {
                let _ = writeln!(s, "    words:  {}", word_diff(before, after));
            }
        }
        match &self.install_img {
            None => {
                let _ = writeln!(s, "install.img: unchanged");
            }
            Some(i) => {
                let _ = writeln!(s, "install.img: {} ({})", i.strategy, i.why);
                for p in &i.written {
                    let _ = writeln!(s, "  written   {p}");
                }
                for p in &i.removed {
                    let _ = writeln!(s, "  removed   {p}");
                }
            }
        }
        s
    }
}
