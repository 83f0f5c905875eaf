//! The installer's package repository as `inspect` shows it (`Packages/`, repodata, signatures,
//! how the installer chooses its packages), and how an image's packages differ from its
//! source's (`--against`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::iso::SourceIso;
use crate::xcpng;

/// How an image's packages differ from those of the image it was made from: what
/// `isoremix inspect OUT --against SOURCE` shows after a build added, pulled in, updated or
/// removed packages. Packages are matched by name; each is named `name-[epoch:]version-release.arch`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PackageChanges {
    /// Names only the image has (added or pulled in).
    pub added: Vec<String>,
    /// Names only the other image has.
    pub removed: Vec<String>,
    /// Names both have in different builds: (from, to).
    pub updated: Vec<(String, String)>,
}

impl PackageChanges {
    pub(super) fn write_text(&self, s: &mut String) {
        let _ = writeln!(
            s,
            "package changes: {} added, {} updated, {} removed",
            self.added.len(),
            self.updated.len(),
            self.removed.len()
        );
        for a in &self.added {
            let _ = writeln!(s, "  added:     {a}");
        }
        for (from, to) in &self.updated {
            let _ = writeln!(s, "  updated:   {from} → {to}");
        }
        for r in &self.removed {
            let _ = writeln!(s, "  removed:   {r}");
        }
    }
}

/// The package changes from `before` to `after`, read from both images' repodata.
pub fn package_changes(after: &SourceIso, before: &SourceIso) -> Result<PackageChanges, String> {
    let index = |source: &SourceIso| -> Result<BTreeMap<String, String>, String> {
        Ok(repository_records(source)?
            .into_iter()
            .map(|r| (r.name.clone(), nevra(&r)))
            .collect())
    };
    let (after, before) = (index(after)?, index(before)?);
    let mut changes = PackageChanges::default();
    for (name, now) in &after {
        match before.get(name) {
            None => changes.added.push(now.clone()),
            Some(was) if was != now => changes.updated.push((was.clone(), now.clone())),
            Some(_) => {}
        }
    }
    changes.removed = before
        .iter()
        .filter(|(name, _)| !after.contains_key(*name))
        .map(|(_, was)| was.clone())
        .collect();
    Ok(changes)
}

/// `name-[epoch:]version-release.arch` of a record.
fn nevra(r: &crate::repo::Record) -> String {
    let epoch = match r.epoch.as_str() {
        "" | "0" => String::new(),
        e => format!("{e}:"),
    };
    format!("{}-{epoch}{}-{}.{}", r.name, r.version, r.release, r.arch)
}

/// The records of `source`'s repodata.
fn repository_records(source: &SourceIso) -> Result<Vec<crate::repo::Record>, String> {
    use crate::repo::{reader, repomd};
    let xml = source
        .read_file(xcpng::REPOMD)
        .map_err(|e| format!("no readable repodata/repomd.xml: {e}"))?;
    let md = repomd::parse_repomd(&xml).map_err(|e| e.to_string())?;
    reader::read_repo(&md, |href| {
        source
            .read_file(&format!("/{href}"))
            .map_err(|e| crate::repo::Error::Io {
                what: href.to_string(),
                source: std::io::Error::other(e.to_string()),
            })
    })
    .map_err(|e| e.to_string())
}

/// The installer's package repository: what `isoremix inspect` shows of `Packages/`.
#[derive(Debug, Clone, Serialize)]
pub struct PackagesInfo {
    /// Packages listed in repodata.
    pub count: usize,
    /// How the installer picks what it installs: `meta-package <name>` or `comps group
    /// <id>`; `None` when neither is found.
    pub install_style: Option<String>,
    /// The meta-package's requires, when the style is a meta-package.
    pub meta_requires: Vec<String>,
    /// Whether `repodata/repomd.xml.asc` exists.
    pub repomd_signed: bool,
    /// Packages that carry a signature.
    pub signed_packages: usize,
    /// The key files `.treeinfo [keys]` names, in order (the installer uses the first).
    pub keys: Vec<String>,
    /// Why the repository could not be read, if it could not.
    pub error: Option<String>,
}

impl PackagesInfo {
    /// The text section; a driver disk's repository names no install style (the installer
    /// installs its `drivers` group), so none is looked for.
    pub(super) fn write_text(&self, s: &mut String, driver_disk: bool) {
        let _ = writeln!(s, "packages:    {} in repodata", self.count);
        if let Some(e) = &self.error {
            let _ = writeln!(s, "  unreadable repository: {e}");
        }
        match (&self.install_style, driver_disk) {
            (Some(style), _) => {
                let _ = writeln!(s, "  installs:  {style}");
            }
            (None, false) => {
                let _ = writeln!(
                    s,
                    "  installs:  unknown: neither the meta-package {} nor the comps group {} \
                     is in the repository",
                    xcpng::MAIN_TARGET,
                    xcpng::XENSERVER_GROUPS[0]
                );
            }
            (None, true) => {}
        }
        if !self.meta_requires.is_empty() {
            let _ = writeln!(s, "  requires:  {}", self.meta_requires.join(", "));
        }
        let _ = writeln!(
            s,
            "  signing:   {} of {} packages signed, repomd.xml {}, keys: {}",
            self.signed_packages,
            self.count,
            if self.repomd_signed {
                "signed (repomd.xml.asc)"
            } else {
                "not signed"
            },
            if self.keys.is_empty() {
                "none".to_string()
            } else {
                self.keys.join(" ")
            }
        );
    }
}

/// `name`, or `name >= [epoch:]version[-release]`.
fn dep_text(d: &crate::repo::Dep) -> String {
    let Some(flags) = &d.flags else {
        return d.name.clone();
    };
    let op = match flags.as_str() {
        "EQ" => "=",
        "LT" => "<",
        "GT" => ">",
        "LE" => "<=",
        _ => ">=",
    };
    let mut evr = String::new();
    if let Some(e) = d.epoch.as_deref().filter(|e| *e != "0") {
        evr.push_str(e);
        evr.push(':');
    }
    evr.push_str(d.ver.as_deref().unwrap_or_default());
    if let Some(r) = &d.rel {
        evr.push('-');
        evr.push_str(r);
    }
    format!("{} {op} {evr}", d.name)
}

/// Reads the repository of `source`, or `None` when it has no `repodata/repomd.xml`.
pub(super) fn inspect_packages(source: &SourceIso) -> Option<PackagesInfo> {
    use crate::repo::{comps, reader, repomd};
    let xml = source.read_file(xcpng::REPOMD).ok()?;
    let mut info = PackagesInfo {
        count: 0,
        install_style: None,
        meta_requires: Vec::new(),
        repomd_signed: source.exists(xcpng::REPOMD_ASC),
        signed_packages: 0,
        keys: Vec::new(),
        error: None,
    };
    if let Ok(t) = source.read_file(xcpng::TREEINFO)
        && let Ok(t) = crate::treeinfo::TreeInfo::parse(&String::from_utf8_lossy(&t))
    {
        info.keys = t.options("keys").into_iter().map(|(_, v)| v).collect();
    }
    let open = |href: &str| {
        source
            .read_file(&format!("/{href}"))
            .map_err(|e| crate::repo::Error::Io {
                what: href.to_string(),
                source: std::io::Error::other(e.to_string()),
            })
    };
    let md = match repomd::parse_repomd(&xml) {
        Ok(md) => md,
        Err(e) => {
            info.error = Some(e.to_string());
            return Some(info);
        }
    };
    let records = match reader::read_repo(&md, open) {
        Ok(r) => r,
        Err(e) => {
            info.error = Some(e.to_string());
            return Some(info);
        }
    };
    info.count = records.len();
    for r in &records {
        let signed = source
            .open_file(&format!("/{}", r.location_href))
            .ok()
            .and_then(|mut f| crate::rpm::sign::is_signed(&mut f).ok());
        if signed == Some(true) {
            info.signed_packages += 1;
        }
    }
    let groups = reader::read_groups(&md, open)
        .ok()
        .flatten()
        .and_then(|(_, xml)| comps::parse_groups(&xml).ok())
        .unwrap_or_default();
    let group = xcpng::XENSERVER_GROUPS[0];
    if let Some(meta) = records.iter().find(|r| r.name == xcpng::MAIN_TARGET) {
        info.install_style = Some(format!("meta-package {}", xcpng::MAIN_TARGET));
        info.meta_requires = meta.requires.iter().map(dep_text).collect();
    } else if groups.iter().any(|g| g.id == group) {
        info.install_style = Some(format!("comps group {group}"));
    }
    Some(info)
}
