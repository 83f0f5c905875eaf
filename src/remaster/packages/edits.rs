//! `[packages] remove` and `[packages] add` (with the driver RPMs another step adds): the
//! package set of the output repository changed by name.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::host::{check_host_header, location_of, read_host_package};
use super::{From, Package, Packages, step};
use crate::profile::Located;
use crate::remaster::{Context, Error};
use crate::repo::{self, Record};
use crate::rpm::Evr;

/// Removes the packages named in `names`; refused when the source has no such package.
/// Returns the names removed.
pub(super) fn remove(
    packages: &mut Packages,
    names: &[Located<String>],
    cx: &mut Context<'_>,
) -> Result<BTreeSet<String>, Error> {
    for name in names {
        let before = packages.len();
        packages.retain(|_, p| p.record.name != name.value);
        if packages.len() == before {
            return Err(step(
                name,
                format!(
                    "cannot remove {}: the source has no such package",
                    name.value
                ),
            ));
        }
        cx.report
            .steps
            .push(format!("packages: removed {}", name.value));
    }
    Ok(names.iter().map(|n| n.value.clone()).collect())
}

/// Adds the host packages `adds` (where each was asked for, its file), replacing the source's
/// package of the same name (a lower version only with `allow_downgrade`). Returns the added
/// names with their files.
pub(super) fn add(
    packages: &mut Packages,
    adds: &[(String, PathBuf)],
    allow_downgrade: bool,
    cx: &mut Context<'_>,
) -> Result<BTreeMap<String, String>, Error> {
    let mut added_names: BTreeMap<String, String> = BTreeMap::new();
    for (at, path) in adds {
        let pkg = read_host_package(path).map_err(|e| step(at, e))?;
        let h = &pkg.header;
        check_host_header(path, h).map_err(|e| step(at, e))?;
        if let Some(first) = added_names.insert(h.name.clone(), path.display().to_string()) {
            return Err(step(
                at,
                format!(
                    "{} and {first} are both package {}: add only one",
                    path.display(),
                    h.name
                ),
            ));
        }
        let evr = Evr::new(
            (h.epoch != 0).then_some(h.epoch),
            h.version.clone(),
            h.release.clone(),
        );
        let replaced: Vec<String> = packages
            .iter()
            .filter(|(_, p)| p.record.name == h.name)
            .map(|(loc, _)| loc.clone())
            .collect();
        for loc in &replaced {
            let old = &packages[loc].record;
            let old_evr = Evr::new(
                old.epoch.parse().ok().filter(|e| *e != 0),
                old.version.clone(),
                old.release.clone(),
            );
            if evr < old_evr && !allow_downgrade {
                return Err(step(
                    at,
                    format!(
                        "{} would replace {} {old_evr} by the lower {evr}: yum would keep the old one; \
                         set [packages] allow_downgrade = true to replace it anyway",
                        path.display(),
                        h.name
                    ),
                ));
            }
            cx.report
                .steps
                .push(format!("packages: {} {old_evr} replaced by {evr}", h.name));
            packages.remove(loc);
        }
        if replaced.is_empty() {
            cx.report
                .steps
                .push(format!("packages: added {}", h.nevra()));
        }
        cx.report.added.push(h.nevra().to_string());
        let location = location_of(h);
        if let Some(other) = packages.get(&location) {
            return Err(step(
                at,
                format!(
                    "{}: its file name {location} is taken by package {}",
                    path.display(),
                    other.record.name
                ),
            ));
        }
        let record = Record::from_package(
            &pkg,
            &location,
            cx.time as u64,
            Some(repo::DEFAULT_CHANGELOG_LIMIT),
        );
        packages.insert(
            location,
            Package {
                from: From::Host(path.clone()),
                record,
            },
        );
    }
    Ok(added_names)
}
