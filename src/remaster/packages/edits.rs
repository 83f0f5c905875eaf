//! `[packages] remove` and `[packages] add` (with the packages `[[packages.build]]` builds and
//! the driver RPMs another step adds): the package set of the output repository changed by
//! name.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::host::{check_host_header, location_of, read_host_package};
use super::{From, Package, Packages};
use crate::profile::Located;
use crate::remaster::{At, Context, Error, PackageRefusal};
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
            return Err(Error::PackageEdit {
                at: At::from(&name.origin),
                why: Box::new(PackageRefusal::NotInSource(name.value.clone())),
            });
        }
        cx.report
            .steps
            .push(format!("packages: removed {}", name.value));
    }
    Ok(names.iter().map(|n| n.value.clone()).collect())
}

/// A package file of the host to add.
#[derive(Debug, Clone)]
pub(super) struct HostAdd {
    /// Where it was asked for.
    pub at: At,
    /// The file.
    pub path: PathBuf,
    /// How messages name it: the file, or the `[[packages.build]]` that built it.
    pub shown: String,
}

impl HostAdd {
    /// A file given by the user, named by its path.
    pub(super) fn file(at: At, path: PathBuf) -> HostAdd {
        HostAdd {
            at,
            shown: path.display().to_string(),
            path,
        }
    }
}

/// Adds the host packages `adds`, replacing the source's package of the same name (a lower
/// version only with `allow_downgrade`). Returns the added names with how each is shown.
pub(super) fn add(
    packages: &mut Packages,
    adds: &[HostAdd],
    allow_downgrade: bool,
    cx: &mut Context<'_>,
) -> Result<BTreeMap<String, String>, Error> {
    let mut added_names: BTreeMap<String, String> = BTreeMap::new();
    for HostAdd { at, path, shown } in adds {
        let refused = |why| Error::PackageEdit {
            at: at.clone(),
            why: Box::new(why),
        };
        let unusable = |source| Error::PackageRead {
            at: at.clone(),
            path: path.clone(),
            source,
        };
        let pkg = read_host_package(path).map_err(unusable)?;
        let h = &pkg.header;
        check_host_header(h).map_err(unusable)?;
        if let Some(first) = added_names.insert(h.name.clone(), shown.clone()) {
            return Err(refused(PackageRefusal::AddedTwice {
                added: shown.clone(),
                first,
                name: h.name.clone(),
            }));
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
                return Err(refused(PackageRefusal::Downgrade {
                    added: shown.clone(),
                    name: h.name.clone(),
                    old: old_evr.to_string(),
                    new: evr.to_string(),
                }));
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
            return Err(refused(PackageRefusal::LocationTaken {
                added: shown.clone(),
                location,
                by: other.record.name.clone(),
            }));
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
