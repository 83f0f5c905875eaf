//! What the installer must install and how it chooses its packages: the install styles (a
//! meta-package's requires, a comps group), the names asked for, the dependencies a pool
//! supplies, and the meta-package or group changed so that the installer installs them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::pool::{self, PoolPackage};
use super::source::repository;
use super::{DEFAULT_GROUP, DEFAULT_META, Extra, InstallStyle, Packages, meta, provides};
use crate::depsolve;
use crate::iso::SourceIso;
use crate::profile::PackageEdits;
use crate::remaster::{At, Context, Error, PackageRefusal};
use crate::repo::{Record, comps};
use crate::rpm::sign::SigningKey;

/// What is being done when the source's comps file cannot be parsed.
const READ_COMPS: &str = "read the source's comps file";

/// How the installer chooses its packages, and what it must install besides.
pub(super) struct Plan {
    /// The install styles to use.
    pub styles: Vec<InstallStyle>,
    /// Names the installer already installs directly.
    pub required: BTreeSet<String>,
    /// Names to install, each with where it was asked for, once each.
    pub install: Vec<(At, String)>,
}

/// The install styles and the names to install: `[packages] install`, or without it the added
/// packages the installer would not install otherwise; then the drivers' names.
pub(super) fn plan(
    edits: &PackageEdits,
    extra: &Extra,
    packages: &Packages,
    comps: Option<&[u8]>,
    added_names: &BTreeMap<String, String>,
    source_names: &BTreeSet<String>,
) -> Result<Plan, Error> {
    let styles = install_styles(edits, packages, comps)?;
    let required = already_required(&styles, packages, comps)?;
    let mut install: Vec<(At, String)> = if edits.install.is_empty() {
        let needed_by_added = needed_by_others(added_names, packages);
        added_names
            .keys()
            .filter(|n| {
                !source_names.contains(*n)
                    && !required.contains(*n)
                    && !needed_by_added.contains(*n)
            })
            .map(|n| (At::Section("[packages] add"), n.clone()))
            .collect()
    } else {
        edits
            .install
            .iter()
            .map(|n| (At::from(&n.origin), n.value.clone()))
            .collect()
    };
    install.extend(
        extra
            .install
            .iter()
            .map(|n| (At::Section("[[drivers]]"), n.clone())),
    );
    let mut seen = BTreeSet::new();
    install.retain(|(_, n)| seen.insert(n.clone()));
    Ok(Plan {
        styles,
        required,
        install,
    })
}

/// Draws from the pool what the installer's targets need (the styles' packages, the names to
/// install, `extra_targets`), tolerating the unmet dependencies `[packages] allow_unresolved`
/// names.
#[allow(clippy::too_many_arguments)]
pub(super) fn pull_in_dependencies(
    packages: &mut Packages,
    pool: &[PoolPackage],
    taken: &BTreeSet<PathBuf>,
    plan: &Plan,
    comps: Option<&[u8]>,
    extra_targets: &[String],
    edits: &PackageEdits,
    cx: &mut Context<'_>,
) -> Result<(), Error> {
    let mut targets: Vec<String> = Vec::new();
    for style in &plan.styles {
        match style {
            InstallStyle::Meta(meta) => targets.push(meta.clone()),
            InstallStyle::Group(group) => targets.extend(group_members(comps, group)?),
        }
    }
    targets.extend(plan.install.iter().map(|(_, n)| n.clone()));
    targets.extend(extra_targets.iter().cloned());
    let mut seen = BTreeSet::new();
    targets.retain(|t| seen.insert(t.clone()));
    let allow: Vec<String> = edits
        .allow_unresolved
        .iter()
        .map(|n| n.value.clone())
        .collect();
    let prefer = if edits.update {
        depsolve::Prefer::Newest
    } else {
        depsolve::Prefer::OnMedia
    };
    let at = edits
        .from
        .first()
        .map_or(At::Section("[packages]"), |f| At::from(&f.origin));
    pool::pull_in(packages, pool, taken, &targets, &allow, prefer, &at, cx)
}

/// Checks that a package of the repository provides each name to install, and returns the names
/// the installer does not install yet; refused when there are some and no install style.
pub(super) fn names_to_add(
    plan: &Plan,
    packages: &Packages,
    cx: &mut Context<'_>,
) -> Result<Vec<String>, Error> {
    for (at, name) in &plan.install {
        if !packages.values().any(|p| provides(&p.record, name)) {
            return Err(Error::PackageEdit {
                at: at.clone(),
                why: Box::new(PackageRefusal::NotProvided(name.clone())),
            });
        }
    }
    let to_add: Vec<String> = plan
        .install
        .iter()
        .map(|(_, n)| n)
        .filter(|n| !plan.required.contains(*n))
        .cloned()
        .collect();
    if !to_add.is_empty() && plan.styles.is_empty() {
        return Err(Error::PackageEdit {
            at: At::Section("[packages]"),
            why: Box::new(PackageRefusal::NoInstallStyle {
                names: to_add,
                meta: DEFAULT_META,
                group: DEFAULT_GROUP,
            }),
        });
    }
    for s in &plan.styles {
        cx.report
            .steps
            .push(format!("packages: the installer installs the {s}"));
    }
    Ok(to_add)
}

/// Makes the installer install `to_add` (and no longer ask for the removed packages): a new
/// release of each meta-package, the names added to each comps group. Returns whether the comps
/// file changed.
#[allow(clippy::too_many_arguments)]
pub(super) fn make_installed(
    styles: &[InstallStyle],
    to_add: &[String],
    removed: &BTreeSet<String>,
    packages: &mut Packages,
    comps_xml: &mut Option<(String, Vec<u8>)>,
    source: &SourceIso,
    key: Option<&SigningKey>,
    time: u32,
    cx: &mut Context<'_>,
) -> Result<bool, Error> {
    let mut comps_changed = false;
    for style in styles {
        match style {
            InstallStyle::Meta(meta) => {
                meta::rewrite_meta(meta, to_add, removed, packages, source, key, time, cx)?;
            }
            InstallStyle::Group(group) => {
                if let Some((_, xml)) = comps_xml.as_mut()
                    && !to_add.is_empty()
                {
                    let names: Vec<&str> = to_add.iter().map(String::as_str).collect();
                    *xml = comps::add_packages(xml, group, &names, comps::ReqKind::Mandatory)
                        .map_err(|e| {
                            repository(&format!("add packages to comps group {group}"), e)
                        })?;
                    comps_changed = true;
                    cx.report.steps.push(format!(
                        "packages: comps group {group} gains {}",
                        to_add.join(", ")
                    ));
                }
            }
        }
    }
    Ok(comps_changed)
}

/// The install styles to use: those the profile names (checked), else the one found.
fn install_styles(
    edits: &PackageEdits,
    packages: &Packages,
    comps: Option<&[u8]>,
) -> Result<Vec<InstallStyle>, Error> {
    let groups = match comps {
        Some(xml) => comps::parse_groups(xml).map_err(|e| repository(READ_COMPS, e))?,
        None => Vec::new(),
    };
    let has_package = |name: &str| packages.values().any(|p| p.record.name == name);
    let has_group = |id: &str| groups.iter().any(|g| g.id == id);
    let mut styles = Vec::new();
    if let Some(meta) = &edits.meta {
        if !has_package(&meta.value) {
            return Err(Error::PackageEdit {
                at: At::from(&meta.origin),
                why: Box::new(PackageRefusal::NoMeta(meta.value.clone())),
            });
        }
        styles.push(InstallStyle::Meta(meta.value.clone()));
    }
    if let Some(group) = &edits.group {
        if !has_group(&group.value) {
            return Err(Error::PackageEdit {
                at: At::from(&group.origin),
                why: Box::new(PackageRefusal::NoGroup {
                    name: group.value.clone(),
                    groups: groups.iter().map(|g| g.id.clone()).collect(),
                }),
            });
        }
        styles.push(InstallStyle::Group(group.value.clone()));
    }
    if styles.is_empty() {
        if has_package(DEFAULT_META) {
            styles.push(InstallStyle::Meta(DEFAULT_META.into()));
        } else if has_group(DEFAULT_GROUP) {
            styles.push(InstallStyle::Group(DEFAULT_GROUP.into()));
        }
    }
    Ok(styles)
}

/// Names the installer already installs directly: the meta-package's requires, the group's
/// package list.
fn already_required(
    styles: &[InstallStyle],
    packages: &Packages,
    comps: Option<&[u8]>,
) -> Result<BTreeSet<String>, Error> {
    let mut out = BTreeSet::new();
    for s in styles {
        match s {
            InstallStyle::Meta(m) => {
                for p in packages.values().filter(|p| &p.record.name == m) {
                    out.extend(p.record.requires.iter().map(|d| d.name.clone()));
                }
            }
            InstallStyle::Group(g) => {
                if let Some(xml) = comps {
                    let groups = comps::parse_groups(xml).map_err(|e| repository(READ_COMPS, e))?;
                    for group in groups.iter().filter(|x| &x.id == g) {
                        out.extend(group.packages.iter().map(|p| p.name.clone()));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// The added packages (by name) that another added package requires: installing the other
/// installs them.
fn needed_by_others(added: &BTreeMap<String, String>, packages: &Packages) -> BTreeSet<String> {
    let records: Vec<&Record> = packages
        .values()
        .map(|p| &p.record)
        .filter(|r| added.contains_key(&r.name))
        .collect();
    records
        .iter()
        .filter(|a| {
            records
                .iter()
                .any(|b| b.name != a.name && b.requires.iter().any(|d| depsolve::satisfies(a, d)))
        })
        .map(|a| a.name.clone())
        .collect()
}

/// The packages the installer installs with a comps group: its mandatory and default ones.
fn group_members(comps: Option<&[u8]>, group: &str) -> Result<Vec<String>, Error> {
    let Some(xml) = comps else {
        return Ok(Vec::new());
    };
    let groups = comps::parse_groups(xml).map_err(|e| repository(READ_COMPS, e))?;
    Ok(groups
        .iter()
        .filter(|g| g.id == group)
        .flat_map(|g| &g.packages)
        .filter(|p| matches!(p.kind, comps::ReqKind::Mandatory | comps::ReqKind::Default))
        .map(|p| p.name.clone())
        .collect())
}
