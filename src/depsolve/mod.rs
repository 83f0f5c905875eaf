//! RPM dependency solving on resolvo: which packages yum would install for some targets.
//!
//! The universe is a set of package records, each from the ISO, added by the profile, or from a
//! pool of packages to draw from. Semantics are rpm's and yum's: every package provides its own
//! `name = E:V-R`; requires, provides, conflicts and obsoletes compare versions as rpm does (a
//! requirement without a release matches any release, a missing epoch is 0); file requires are
//! satisfied by any package's file list; `rpmlib(...)` requires by what rpm 4.11.3 provides
//! ([`RPMLIB_411`]); only x86_64 and noarch packages install; at most one package of a name is
//! installed; an installed package's obsoletes exclude the packages they name.
//!
//! [`solve`] first drops the packages that can never install (wrong architecture, an rpmlib
//! feature rpm 4.11 lacks, or a requirement nothing installable provides) so that each such
//! problem is reported with the chain of requirements from the target; the remaining choice
//! (versions, providers, conflicts, obsoletes) is a SAT problem resolvo solves.

mod capability;
mod explain;
mod provider;
mod viability;

use std::collections::{BTreeMap, HashMap};
use std::fmt;

pub use capability::{ARCHES, RPMLIB_411};

use crate::repo::{Dep, Record};
use crate::rpm::Evr;
use crate::rpm::header::PackageFile;

/// Where a candidate package comes from.
#[derive(Clone, Copy, PartialEq, Eq, Debug, PartialOrd, Ord, Hash)]
pub enum Origin {
    /// The source ISO's repository.
    Iso,
    /// Added by the profile (`[packages] add`, drivers).
    Added,
    /// A pool of packages to draw dependencies and updates from.
    Pool,
}

impl Origin {
    /// Whether the package is on the installation media before any pool is drawn from.
    pub fn on_media(self) -> bool {
        matches!(self, Origin::Iso | Origin::Added)
    }
}

/// A package the solver may choose.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// Its record. `rpmlib(...)` requirements are checked when the record carries them (records
    /// read from repodata do not: createrepo_c drops them; see [`Candidate::from_package`]).
    pub record: Record,
    /// Where it comes from.
    pub origin: Origin,
}

impl Candidate {
    /// The candidate of a package read from its file: the record [`Record::from_package`] makes,
    /// plus the header's `rpmlib(...)` requirements, which repodata leaves out but rpm checks.
    pub fn from_package(file: &PackageFile, location_href: &str, origin: Origin) -> Candidate {
        let mut record = Record::from_package(file, location_href, 0, Some(0));
        record.requires.extend(
            file.header
                .requires
                .iter()
                .filter(|d| d.name.starts_with("rpmlib("))
                .filter_map(|d| crate::repo::record::dep(d, false)),
        );
        Candidate { record, origin }
    }

    /// `name-[epoch:]version-release`, as problems name packages.
    pub fn nevr(&self) -> String {
        format!("{}-{}", self.record.name, self.evr())
    }

    /// The package's epoch, version and release.
    pub fn evr(&self) -> Evr {
        capability::record_evr(&self.record)
    }
}

/// The packages to solve over, indexed by provide, file and name. Built once, solved many times.
pub struct Universe {
    candidates: Vec<Candidate>,
    evrs: Vec<Evr>,
    by_name: BTreeMap<String, Vec<usize>>,
    /// Capability name → (candidate, provide), the implicit `name = E:V-R` included.
    provides: HashMap<String, Vec<(usize, Dep)>>,
    /// File path → candidates whose file list has it.
    files: HashMap<String, Vec<usize>>,
    has_pool: bool,
}

impl Universe {
    /// Indexes `candidates`.
    pub fn new(candidates: Vec<Candidate>) -> Universe {
        let mut by_name: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut provides: HashMap<String, Vec<(usize, Dep)>> = HashMap::new();
        let mut files: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, c) in candidates.iter().enumerate() {
            let r = &c.record;
            by_name.entry(r.name.clone()).or_default().push(i);
            let own = capability::self_provide(r);
            for p in std::iter::once(&own).chain(&r.provides) {
                provides
                    .entry(p.name.clone())
                    .or_default()
                    .push((i, p.clone()));
            }
            for f in &r.files {
                let list = files.entry(f.path.clone()).or_default();
                if list.last() != Some(&i) {
                    list.push(i);
                }
            }
        }
        Universe {
            evrs: candidates.iter().map(Candidate::evr).collect(),
            has_pool: candidates.iter().any(|c| c.origin == Origin::Pool),
            candidates,
            by_name,
            provides,
            files,
        }
    }

    /// The candidates, in the order given to [`Universe::new`] (solutions index into it).
    pub fn candidates(&self) -> &[Candidate] {
        &self.candidates
    }

    /// The candidates that satisfy `req` (by provide, or by file list for a path), ascending.
    fn providers(&self, req: &Dep) -> Vec<usize> {
        let mut out: Vec<usize> = self
            .provides
            .get(&req.name)
            .into_iter()
            .flatten()
            .filter(|(_, p)| capability::ranges_overlap(p, req))
            .map(|(i, _)| *i)
            .collect();
        if req.name.starts_with('/') {
            out.extend(self.files.get(&req.name).into_iter().flatten());
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The candidates an `Obsoletes:` entry names.
    fn obsoleted_by(&self, obsolete: &Dep) -> Vec<usize> {
        self.by_name
            .get(&obsolete.name)
            .into_iter()
            .flatten()
            .copied()
            .filter(|&i| capability::obsoletes(obsolete, &self.candidates[i].record))
            .collect()
    }

    fn nevr(&self, i: usize) -> String {
        self.candidates[i].nevr()
    }

    /// How much `prefer` wants candidate `i` among packages of one name (lower is better).
    fn rank(&self, i: usize, prefer: Prefer) -> (bool, std::cmp::Reverse<&Evr>, bool, usize) {
        let c = &self.candidates[i];
        let media_first = prefer == Prefer::OnMedia && !c.origin.on_media();
        (
            media_first,
            std::cmp::Reverse(&self.evrs[i]),
            c.record.arch != "x86_64",
            i,
        )
    }
}

/// Which candidate to take when several satisfy a requirement.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Prefer {
    /// Packages on the media (ISO or added), the highest EVR among them; pool packages only
    /// when nothing on the media satisfies the requirement.
    OnMedia,
    /// The highest EVR whatever the origin (an update respin).
    Newest,
}

/// What to solve for.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// Names or provides to install, e.g. `xcp-ng-deps`, `kernel-alt`, optionally versioned
    /// (`bar >= 1:2.0-1`). Groups are expanded to names by the caller.
    pub targets: &'a [String],
    /// Package names whose unmet requires are tolerated (reported in [`Solution::tolerated`]).
    pub allow_unresolved: &'a [String],
    /// Which candidate to take among several.
    pub prefer: Prefer,
}

/// The packages to install.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Solution {
    /// Indexes into [`Universe::candidates`], sorted by package name.
    pub install: Vec<usize>,
    /// For each package of `install` (same order), the packages from a target down to it
    /// (`name-[E:]V-R`), the package itself last.
    pub chains: Vec<Vec<String>>,
    /// Unmet requires of `allow_unresolved` packages that were let through.
    pub tolerated: Vec<Problem>,
}

/// Why the targets cannot be installed.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
#[error("{}", .problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct Unsolvable {
    /// Every problem found, each with its chain from a target.
    pub problems: Vec<Problem>,
}

/// How the last package of a problem's chain relates to its `requirement`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relation {
    /// It requires it.
    Requires,
    /// It conflicts with it.
    Conflicts,
    /// It obsoletes it.
    Obsoletes,
}

/// One unmet requirement (or clash), with the path that led to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Packages (`name-[E:]V-R`) from the target to the package with the problem, e.g.
    /// `["xcp-ng-deps-8.3-1", "site-monitoring-1.0-1"]`; empty when a target itself is missing.
    pub chain: Vec<String>,
    /// The dependency, as rpm prints it: `libfoo.so.1()(64bit)`, `bar >= 1:2.0-1`.
    pub requirement: String,
    /// How the last package of the chain relates to the requirement.
    pub relation: Relation,
    /// Why it fails: `nothing on the ISO or in the pool provides it`, ...
    pub reason: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.chain.is_empty() {
            return write!(f, "{}: {}", self.requirement, self.reason);
        }
        let verb = match self.relation {
            Relation::Requires => "requires",
            Relation::Conflicts => "conflicts with",
            Relation::Obsoletes => "obsoletes",
        };
        write!(
            f,
            "{} {verb} {}: {}",
            self.chain.join(" → "),
            self.requirement,
            self.reason
        )
    }
}

/// Chooses the packages to install for `request`: the targets and everything they need, one
/// package per name, no conflicts, nothing obsoleted. Fails with every unmet requirement and
/// the chain that led to it.
pub fn solve(universe: &Universe, request: &Request) -> Result<Solution, Unsolvable> {
    let viable = viability::Viability::new(universe, request.allow_unresolved);
    let mut problems = Vec::new();
    let mut targets = Vec::new();
    for text in request.targets {
        let dep = capability::parse_target(text);
        let all = universe.providers(&dep);
        let live: Vec<usize> = all.iter().copied().filter(|&i| viable.live[i]).collect();
        if live.is_empty() {
            problems.extend(viable.explain_target(text, &all, request.prefer));
        } else {
            targets.push((text.as_str(), live));
        }
    }
    if !problems.is_empty() {
        return Err(Unsolvable { problems });
    }
    let install = match provider::run(&viable, &targets, request.prefer, true) {
        Ok(install) => install,
        Err(message) => {
            return Err(Unsolvable {
                problems: explain::clashes(universe, &viable, &targets, request.prefer, message),
            });
        }
    };
    let tolerated = viable.tolerated_in(&install, &targets);
    let mut install = install;
    install.sort_by(|&a, &b| {
        let (ra, rb) = (
            &universe.candidates[a].record,
            &universe.candidates[b].record,
        );
        ra.name.cmp(&rb.name).then(a.cmp(&b))
    });
    let chains = explain::Chains::new(&viable, &install, &targets);
    let chains = install.iter().map(|&i| chains.to(i)).collect();
    Ok(Solution {
        install,
        chains,
        tolerated,
    })
}

/// Whether `record` satisfies the requirement `req`: by its name and version, a provide, or a
/// file of its list (for a path).
pub fn satisfies(record: &Record, req: &Dep) -> bool {
    let own = capability::self_provide(record);
    std::iter::once(&own)
        .chain(&record.provides)
        .any(|p| p.name == req.name && capability::ranges_overlap(p, req))
        || (req.name.starts_with('/') && record.files.iter().any(|f| f.path == req.name))
}

/// Why XCP-ng's installer can never install `record` whatever else is present: an
/// architecture other than x86_64 and noarch, or an `rpmlib(...)` feature rpm 4.11.3 lacks
/// (only when the record carries its rpmlib requirements, see [`Candidate::from_package`]).
pub fn never_installable(record: &Record) -> Option<String> {
    if !ARCHES.contains(&record.arch.as_str()) {
        return Some(format!(
            "its architecture {} is not installed (XCP-ng installs {} packages only)",
            record.arch,
            ARCHES.join(" and ")
        ));
    }
    record
        .requires
        .iter()
        .find(|d| capability::is_rpmlib(d) && !capability::rpmlib_provided(d))
        .map(|d| {
            format!(
                "it requires {}: rpm 4.11.3 (XCP-ng's) does not provide it",
                capability::DepDisplay(d)
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpm::build::{Dep as BuildDep, PackageSpec, build_package};
    use crate::rpm::header::read_package;

    fn candidate(
        name: &str,
        version: &str,
        origin: Origin,
        f: impl Fn(&mut PackageSpec),
    ) -> Candidate {
        let mut s = PackageSpec::new(name, version, "1", "x86_64", 1_700_000_000, "test.invalid");
        f(&mut s);
        let mut bytes = Vec::new();
        build_package(&s, &mut bytes).unwrap();
        let file = read_package(bytes.as_slice()).unwrap();
        Candidate::from_package(&file, &format!("Packages/{}", s.file_name()), origin)
    }

    fn names(u: &Universe, s: &Solution) -> Vec<String> {
        s.install
            .iter()
            .map(|&i| u.candidates()[i].nevr())
            .collect()
    }

    #[test]
    fn on_media_prefers_a_media_provider_of_another_name_newest_does_not_care() {
        let u = Universe::new(vec![
            candidate("app", "1", Origin::Iso, |s| {
                s.requires.push(BuildDep::any("mta"))
            }),
            candidate("aaa-pool-mta", "1", Origin::Pool, |s| {
                s.provides.push(BuildDep::any("mta"))
            }),
            candidate("zzz-media-mta", "1", Origin::Iso, |s| {
                s.provides.push(BuildDep::any("mta"))
            }),
        ]);
        let targets = vec!["app".to_string()];
        let solve_with = |prefer| {
            solve(
                &u,
                &Request {
                    targets: &targets,
                    allow_unresolved: &[],
                    prefer,
                },
            )
            .unwrap()
        };
        let s = solve_with(Prefer::OnMedia);
        assert_eq!(names(&u, &s), ["app-1-1", "zzz-media-mta-1-1"]);
        assert_eq!(s.chains[1], ["app-1-1", "zzz-media-mta-1-1"]);
        // With no preference for the media, the first name (as libsolv does).
        assert_eq!(
            names(&u, &solve_with(Prefer::Newest)),
            ["aaa-pool-mta-1-1", "app-1-1"]
        );
    }

    #[test]
    fn satisfies_and_never_installable() {
        let lib = candidate("libx", "2.0", Origin::Pool, |s| {
            s.requires.push(BuildDep::versioned(
                "rpmlib(PayloadIsZstd)",
                crate::rpm::build::DepCmp::Le,
                "5.4.18-1",
            ))
        });
        let req = |text: &str| capability::parse_target(text);
        assert!(satisfies(&lib.record, &req("libx >= 1.5")));
        assert!(!satisfies(&lib.record, &req("libx < 2.0")));
        assert_eq!(
            never_installable(&lib.record).as_deref(),
            Some(
                "it requires rpmlib(PayloadIsZstd) <= 5.4.18-1: rpm 4.11.3 (XCP-ng's) does not provide it"
            )
        );
    }
}
