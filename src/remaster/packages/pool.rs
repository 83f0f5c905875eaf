//! `[packages] from`: folders of RPMs that missing dependencies are drawn from, and
//! `[packages] update`: a respin where the pool's newer packages replace the source's.
//!
//! The pool's packages are read from their headers (a folder needs no repodata), so their
//! `rpmlib(...)` requirements are known and a package rpm 4.11.3 cannot install is never taken.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::host::{check_host_header, location_of, read_host_package};
use super::{From, Package, Packages};
use crate::depsolve::{self, Candidate, Origin, Prefer, Request, Universe};
use crate::profile::Located;
use crate::remaster::{At, Context, Error, PackageFileError, PackageRefusal};
use crate::repo::{self, Record};
use crate::rpm::header::PackageFile;

/// A package drawn from a pool, for the build report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PulledIn {
    /// `name-[E:]V-R.arch`.
    pub nevra: String,
    /// The pool folder it came from.
    pub pool: PathBuf,
    /// The package that needed it (`name-[E:]V-R`); `None` when it is a target itself.
    pub required_by: Option<String>,
}

/// A package of the source replaced by a pool package, for the build report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Updated {
    /// The source package's name.
    pub name: String,
    /// Its `[E:]V-R`.
    pub from: String,
    /// The replacing package's name (another name when it obsoletes the old one).
    pub to_name: String,
    /// Its `[E:]V-R`.
    pub to: String,
}

/// One package of the pool.
pub(super) struct PoolPackage {
    /// The file.
    path: PathBuf,
    /// The pool folder it was found in.
    folder: PathBuf,
    /// Its header and checksum.
    file: PackageFile,
    /// What the solver knows of it (with its rpmlib requirements).
    candidate: Candidate,
}

impl PoolPackage {
    /// Its entry in the output repository.
    fn package(&self, cx: &Context<'_>) -> (String, Package) {
        let location = location_of(&self.file.header);
        let record = Record::from_package(
            &self.file,
            &location,
            cx.time as u64,
            Some(repo::DEFAULT_CHANGELOG_LIMIT),
        );
        (
            location,
            Package {
                from: From::Host(self.path.clone()),
                record,
            },
        )
    }

    fn nevra(&self) -> String {
        format!("{}.{}", self.candidate.nevr(), self.candidate.record.arch)
    }
}

/// Every binary RPM under the pool folders (searched recursively, in name order).
pub(super) fn read(
    folders: &[Located<PathBuf>],
    cx: &mut Context<'_>,
) -> Result<Vec<PoolPackage>, Error> {
    let mut out = Vec::new();
    for folder in folders {
        let unusable = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::PackageRead {
                at: At::from(&folder.origin),
                path,
                source,
            }
        };
        let mut files = Vec::new();
        rpm_files(&folder.value, &mut files).map_err(|(path, e)| unusable(&path)(e))?;
        files.sort();
        let before = out.len();
        for path in files {
            let file = read_host_package(&path).map_err(unusable(&path))?;
            let h = &file.header;
            if h.arch == "src" || h.arch == "nosrc" {
                continue;
            }
            check_host_header(h).map_err(unusable(&path))?;
            let location = location_of(h);
            let candidate = Candidate::from_package(&file, &location, Origin::Pool);
            out.push(PoolPackage {
                path,
                folder: folder.value.clone(),
                file,
                candidate,
            });
        }
        cx.report.steps.push(format!(
            "packages: pool {} holds {} packages",
            folder.value.display(),
            out.len() - before
        ));
    }
    Ok(out)
}

/// Every `.rpm` file under `dir`; else the file or folder that cannot be listed, and why.
fn rpm_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), (PathBuf, PackageFileError)> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |e| (path, PackageFileError::Io(e))
    };
    let entries = std::fs::read_dir(dir).map_err(io(dir))?;
    for entry in entries {
        let entry = entry.map_err(io(dir))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(io(&path))?;
        if kind.is_dir() {
            rpm_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rpm") {
            if kind.is_file() {
                out.push(path);
            } else if !kind.is_symlink() {
                let kind = crate::input::kind_name(kind);
                return Err((path, PackageFileError::NotRegular(kind)));
            }
        }
    }
    Ok(())
}

/// `[packages] update`: replaces each source package that the pool has in a newer version, or
/// that a pool package obsoletes, by that pool package. Returns the pool packages taken.
pub(super) fn update(
    packages: &mut Packages,
    pool: &[PoolPackage],
    cx: &mut Context<'_>,
) -> Result<BTreeSet<PathBuf>, Error> {
    let usable: Vec<&PoolPackage> = pool
        .iter()
        .filter(|p| depsolve::never_installable(&p.candidate.record).is_none())
        .collect();
    let mut taken = BTreeSet::new();
    let locations: Vec<String> = packages
        .iter()
        .filter(|(_, p)| p.from == From::Source)
        .map(|(l, _)| l.clone())
        .collect();
    for location in locations {
        let Some(old) = packages.get(&location) else {
            continue;
        };
        let old = Candidate {
            record: old.record.clone(),
            origin: Origin::Iso,
        };
        let newer = usable
            .iter()
            .filter(|p| p.candidate.record.name == old.record.name && p.candidate.evr() > old.evr())
            .max_by(|a, b| a.candidate.evr().cmp(&b.candidate.evr()));
        let obsoleter = || {
            usable
                .iter()
                .filter(|p| {
                    p.candidate.record.name != old.record.name
                        && p.candidate.record.obsoletes.iter().any(|d| {
                            d.name == old.record.name && depsolve::satisfies(&old.record, d)
                        })
                })
                .min_by(|a, b| {
                    a.candidate
                        .record
                        .name
                        .cmp(&b.candidate.record.name)
                        .then(b.candidate.evr().cmp(&a.candidate.evr()))
                })
        };
        let Some(new) = newer.or_else(obsoleter) else {
            continue;
        };
        packages.remove(&location);
        let (new_location, package) = new.package(cx);
        if let Some(other) = packages.get(&new_location)
            && other.from != package.from
        {
            return Err(Error::PackageEdit {
                at: At::Section("[packages] update"),
                why: Box::new(PackageRefusal::LocationTaken {
                    added: new.path.display().to_string(),
                    location: new_location,
                    by: other.record.name.clone(),
                }),
            });
        }
        packages.insert(new_location, package);
        taken.insert(new.path.clone());
        cx.report.steps.push(format!(
            "packages: updated {} → {} from pool {}",
            old.nevr(),
            new.candidate.nevr(),
            new.folder.display()
        ));
        cx.report.updated.push(Updated {
            name: old.record.name.clone(),
            from: old.evr().to_string(),
            to_name: new.candidate.record.name.clone(),
            to: new.candidate.evr().to_string(),
        });
    }
    Ok(taken)
}

/// Solves for `targets` over the repository and the pool, and adds the pool packages the
/// answer needs. Problems the pool cannot help with are left to the build's final check
/// (a warning here, with the whole chain); a problem in an update taken from the pool fails
/// the step.
#[allow(clippy::too_many_arguments)]
pub(super) fn pull_in(
    packages: &mut Packages,
    pool: &[PoolPackage],
    taken: &BTreeSet<PathBuf>,
    targets: &[String],
    allow_unresolved: &[String],
    prefer: Prefer,
    at: &At,
    cx: &mut Context<'_>,
) -> Result<(), Error> {
    let mut candidates: Vec<Candidate> = packages
        .values()
        .map(|p| match &p.from {
            From::Source => Candidate {
                record: p.record.clone(),
                origin: Origin::Iso,
            },
            From::Host(path) => Candidate {
                record: pool
                    .iter()
                    .find(|q| &q.path == path)
                    .map_or_else(|| p.record.clone(), |q| q.candidate.record.clone()),
                origin: Origin::Added,
            },
        })
        .collect();
    let on_media = candidates.len();
    let same = |a: &Record, b: &Record| {
        a.name == b.name
            && a.arch == b.arch
            && a.epoch == b.epoch
            && a.version == b.version
            && a.release == b.release
    };
    let offered: Vec<&PoolPackage> = pool
        .iter()
        .filter(|p| !taken.contains(&p.path))
        .filter(|p| {
            !candidates
                .iter()
                .any(|c| same(&c.record, &p.candidate.record))
        })
        .collect();
    candidates.extend(offered.iter().map(|p| p.candidate.clone()));
    let universe = Universe::new(candidates);
    let request = Request {
        targets,
        allow_unresolved,
        prefer,
    };
    let solution = match depsolve::solve(&universe, &request) {
        Ok(s) => s,
        Err(unsolvable) => {
            // The decisions made: the updates taken from the pool. A problem in one of them
            // is this step's; any other is the repository's, which the pool cannot mend.
            let decided: BTreeSet<String> = pool
                .iter()
                .filter(|p| taken.contains(&p.path))
                .map(|p| p.candidate.nevr())
                .collect();
            let (pool_problems, others): (Vec<_>, Vec<_>) = unsolvable
                .problems
                .into_iter()
                .partition(|p| p.chain.iter().any(|n| decided.contains(n)));
            if !pool_problems.is_empty() {
                return Err(Error::Solve {
                    at: at.clone(),
                    source: depsolve::Unsolvable {
                        problems: pool_problems,
                    },
                });
            }
            for p in others {
                cx.report.warnings.push(format!(
                    "packages: {p} (the pool cannot mend it: the installer would fail)"
                ));
            }
            return Ok(());
        }
    };
    for (k, &i) in solution.install.iter().enumerate() {
        let Some(p) = i.checked_sub(on_media).map(|j| offered[j]) else {
            continue;
        };
        let (location, package) = p.package(cx);
        if let Some(other) = packages.get(&location) {
            return Err(Error::PackageEdit {
                at: at.clone(),
                why: Box::new(PackageRefusal::LocationTaken {
                    added: p.path.display().to_string(),
                    location,
                    by: other.record.name.clone(),
                }),
            });
        }
        packages.insert(location, package);
        let chain = &solution.chains[k];
        let required_by = chain.len().checked_sub(2).map(|n| chain[n].clone());
        cx.report.steps.push(format!(
            "packages: pulled in {} from pool {}{}",
            p.candidate.nevr(),
            p.folder.display(),
            match &required_by {
                Some(by) => format!(" (required by {by})"),
                None => " (asked for)".into(),
            }
        ));
        cx.report.pulled_in.push(PulledIn {
            nevra: p.nevra(),
            pool: p.folder.clone(),
            required_by,
        });
    }
    for problem in &solution.tolerated {
        cx.report.warnings.push(format!(
            "packages: {problem} (tolerated by [packages] allow_unresolved)"
        ));
    }
    Ok(())
}
