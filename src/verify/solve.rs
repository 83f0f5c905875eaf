//! What yum installs for an entry: its targets (package names or provides, `@group`s expanded
//! through the repository's comps as yum 3 does: mandatory and default packages) solved against
//! the packages of the image.

use crate::depsolve::{self, Candidate, Origin, Prefer, Request, Universe};
use crate::repo::Record;
use crate::repo::comps::{self, ReqKind};

/// The packages of an image, indexed once for every entry's solve.
pub struct Solver {
    universe: Universe,
    groups: Option<Vec<comps::Group>>,
    /// Solves already done, by targets and tolerated names: menus repeat the same command
    /// line in many entries, so a menu of 20,000 entries costs one solve per distinct one.
    solved: std::cell::RefCell<std::collections::BTreeMap<SolveKey, Solved>>,
}

/// What a solve is asked: its targets and the names whose unmet requirements are tolerated.
type SolveKey = (Vec<String>, Vec<String>);

/// What one solve gave.
#[derive(Debug, Clone, Default)]
pub struct Solved {
    /// Indexes (into the records given to [`Solver::new`]) of what is installed, by name.
    pub install: Vec<usize>,
    /// Why it cannot be installed, one line per problem
    /// (`xcp-ng-deps-8.3-1 → a-1.0-1 requires libfoo.so.1()(64bit): nothing ... provides it`).
    pub problems: Vec<String>,
    /// Unmet requirements tolerated by `allow_unresolved`.
    pub tolerated: Vec<String>,
}

impl Solver {
    /// Indexes `records` (the image's packages) and its comps file, if any.
    pub fn new(records: &[Record], comps_xml: Option<&[u8]>) -> Solver {
        let candidates = records
            .iter()
            .map(|record| Candidate {
                record: record.clone(),
                origin: Origin::Iso,
            })
            .collect();
        Solver {
            universe: Universe::new(candidates),
            groups: comps_xml.and_then(|xml| comps::parse_groups(xml).ok()),
            solved: Default::default(),
        }
    }

    /// The record of candidate `i`.
    pub fn record(&self, i: usize) -> Option<&Record> {
        self.universe.candidates().get(i).map(|c| &c.record)
    }

    /// Solves `targets`, tolerating the unmet requirements of `allow_unresolved` packages.
    pub fn solve(&self, targets: &[String], allow_unresolved: &[String]) -> Solved {
        let key = (targets.to_vec(), allow_unresolved.to_vec());
        if let Some(done) = self.solved.borrow().get(&key) {
            return done.clone();
        }
        let solved = self.solve_uncached(targets, allow_unresolved);
        self.solved.borrow_mut().insert(key, solved.clone());
        solved
    }

    fn solve_uncached(&self, targets: &[String], allow_unresolved: &[String]) -> Solved {
        let mut names = Vec::new();
        let mut problems = Vec::new();
        for target in targets {
            match target.strip_prefix('@') {
                None => names.push(target.clone()),
                Some(id) => match self.group(id) {
                    Some(members) => names.extend(members),
                    None => problems.push(format!(
                        "{target}: the repository has no comps group {id:?}"
                    )),
                },
            }
        }
        if !problems.is_empty() {
            return Solved {
                problems,
                ..Solved::default()
            };
        }
        let request = Request {
            targets: &names,
            allow_unresolved,
            prefer: Prefer::OnMedia,
        };
        match depsolve::solve(&self.universe, &request) {
            Ok(solution) => Solved {
                install: solution.install,
                problems: Vec::new(),
                tolerated: solution.tolerated.iter().map(|p| p.to_string()).collect(),
            },
            Err(unsolvable) => Solved {
                problems: unsolvable.problems.iter().map(|p| p.to_string()).collect(),
                ..Solved::default()
            },
        }
    }

    /// The ids of the comps groups.
    pub fn group_ids(&self) -> Vec<&str> {
        self.groups
            .iter()
            .flatten()
            .map(|g| g.id.as_str())
            .collect()
    }

    /// The packages yum 3 installs for a group (`group_package_types`: mandatory, default).
    fn group(&self, id: &str) -> Option<Vec<String>> {
        let group = self.groups.as_ref()?.iter().find(|g| g.id == id)?;
        Some(
            group
                .packages
                .iter()
                .filter(|p| matches!(p.kind, ReqKind::Mandatory | ReqKind::Default))
                .map(|p| p.name.clone())
                .collect(),
        )
    }
}

/// `name-[epoch:]version-release.arch` of a record.
pub fn nevra(r: &Record) -> String {
    let epoch = match r.epoch.as_str() {
        "" | "0" => String::new(),
        e => format!("{e}:"),
    };
    format!("{}-{epoch}{}-{}.{}", r.name, r.version, r.release, r.arch)
}
