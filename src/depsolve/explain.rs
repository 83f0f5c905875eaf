//! Which packages can ever install, and the problems told as chains from a target.
//!
//! A package can never install when its architecture is not installed, when it needs an
//! `rpmlib(...)` feature rpm 4.11.3 lacks, or when one of its requirements has no provider
//! that can install. That is a greatest fixed point (packages that require each other in a
//! cycle stay), computed before the SAT solver runs so that each such failure is reported with
//! its cause rather than as a clash of clauses.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::capability::{self, ARCHES, DepDisplay};
use super::{Prefer, Problem, Relation, Universe, provider};

/// The installability of every candidate.
pub(crate) struct Viability<'u> {
    pub(crate) universe: &'u Universe,
    /// Whether the candidate may install.
    pub(crate) live: Vec<bool>,
    /// Per candidate, its package requirements (index into `record.requires`) and their
    /// providers, ascending. `rpmlib(...)` requirements are left out.
    pub(crate) requires: Vec<Vec<(usize, Vec<usize>)>>,
    /// Per candidate, the requirements let through by `allow_unresolved`.
    pub(crate) tolerated: Vec<Vec<usize>>,
}

impl<'u> Viability<'u> {
    pub(crate) fn new(universe: &'u Universe, allow_unresolved: &[String]) -> Viability<'u> {
        let n = universe.candidates.len();
        let allowed: BTreeSet<&str> = allow_unresolved.iter().map(String::as_str).collect();
        let requires: Vec<Vec<(usize, Vec<usize>)>> = universe
            .candidates
            .iter()
            .map(|c| {
                c.record
                    .requires
                    .iter()
                    .enumerate()
                    .filter(|(_, d)| !capability::is_rpmlib(d))
                    .map(|(j, d)| (j, universe.providers(d)))
                    .collect()
            })
            .collect();
        let mut live: Vec<bool> = (0..n).map(|i| statically_ok(universe, i)).collect();
        let is_allowed = |i: usize| allowed.contains(universe.candidates[i].record.name.as_str());
        loop {
            let mut changed = false;
            for i in 0..n {
                if !live[i] || is_allowed(i) {
                    continue;
                }
                let unmet = requires[i]
                    .iter()
                    .any(|(_, p)| !p.contains(&i) && !p.iter().any(|&q| live[q]));
                if unmet {
                    live[i] = false;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let tolerated = (0..n)
            .map(|i| {
                if !live[i] || !is_allowed(i) {
                    return Vec::new();
                }
                requires[i]
                    .iter()
                    .filter(|(_, p)| !p.contains(&i) && !p.iter().any(|&q| live[q]))
                    .map(|(j, _)| *j)
                    .collect()
            })
            .collect();
        Viability {
            universe,
            live,
            requires,
            tolerated,
        }
    }

    /// Why a target none of whose providers (`all`) can install fails.
    pub(crate) fn explain_target(&self, text: &str, all: &[usize], prefer: Prefer) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut visited = BTreeSet::new();
        self.explain_requirement(&[], text.to_string(), all, prefer, &mut visited, &mut out);
        out
    }

    /// Explains one requirement with no installable provider.
    fn explain_requirement(
        &self,
        chain: &[String],
        requirement: String,
        providers: &[usize],
        prefer: Prefer,
        visited: &mut BTreeSet<usize>,
        out: &mut Vec<Problem>,
    ) {
        let u = self.universe;
        let problem = |reason: String| Problem {
            chain: chain.to_vec(),
            requirement: requirement.clone(),
            relation: Relation::Requires,
            reason,
        };
        if providers.is_empty() {
            out.push(problem(self.nothing_provides()));
            return;
        }
        let on_arch: Vec<usize> = providers
            .iter()
            .copied()
            .filter(|&i| arch_ok(u, i))
            .collect();
        let Some(&best) = on_arch.iter().min_by_key(|&&i| u.rank(i, prefer)) else {
            out.push(problem(wrong_arch(u, providers)));
            return;
        };
        if visited.insert(best) {
            self.explain_package(chain, best, prefer, visited, out);
        }
    }

    /// Explains why candidate `i` (reached through `chain`) cannot install.
    fn explain_package(
        &self,
        chain: &[String],
        i: usize,
        prefer: Prefer,
        visited: &mut BTreeSet<usize>,
        out: &mut Vec<Problem>,
    ) {
        let u = self.universe;
        let mut chain = chain.to_vec();
        chain.push(u.nevr(i));
        let record = &u.candidates[i].record;
        for d in record.requires.iter().filter(|d| capability::is_rpmlib(d)) {
            if !capability::rpmlib_provided(d) {
                out.push(Problem {
                    chain: chain.clone(),
                    requirement: DepDisplay(d).to_string(),
                    relation: Relation::Requires,
                    reason: "rpm 4.11.3 (XCP-ng's) does not provide it".into(),
                });
            }
        }
        for (j, providers) in &self.requires[i] {
            if providers.contains(&i) || providers.iter().any(|&q| self.live[q]) {
                continue;
            }
            let requirement = DepDisplay(&record.requires[*j]).to_string();
            self.explain_requirement(&chain, requirement, providers, prefer, visited, out);
        }
    }

    fn nothing_provides(&self) -> String {
        if self.universe.has_pool {
            "nothing on the ISO or in the pool provides it".into()
        } else {
            "nothing on the ISO provides it".into()
        }
    }

    /// The unmet requirements of `allow_unresolved` packages in `install`, with their chains.
    pub(crate) fn tolerated_in(
        &self,
        install: &[usize],
        targets: &[(&str, Vec<usize>)],
    ) -> Vec<Problem> {
        let chains = Chains::new(self, install, targets);
        let mut out = Vec::new();
        let mut sorted = install.to_vec();
        sorted.sort_by_key(|&i| (&self.universe.candidates[i].record.name, i));
        for i in sorted {
            for &j in &self.tolerated[i] {
                let providers = &self.requires[i]
                    .iter()
                    .find(|(k, _)| *k == j)
                    .map(|(_, p)| p.as_slice())
                    .unwrap_or_default();
                let reason = if providers.is_empty() {
                    self.nothing_provides()
                } else if providers.iter().all(|&p| !arch_ok(self.universe, p)) {
                    wrong_arch(self.universe, providers)
                } else {
                    "none of its providers can be installed".into()
                };
                out.push(Problem {
                    chain: chains.to(i),
                    requirement: DepDisplay(&self.universe.candidates[i].record.requires[j])
                        .to_string(),
                    relation: Relation::Requires,
                    reason,
                });
            }
        }
        out
    }
}

/// Whether the candidate's architecture is one XCP-ng installs and rpm 4.11.3 has every
/// `rpmlib(...)` feature it needs.
fn statically_ok(u: &Universe, i: usize) -> bool {
    arch_ok(u, i)
        && u.candidates[i]
            .record
            .requires
            .iter()
            .filter(|d| capability::is_rpmlib(d))
            .all(capability::rpmlib_provided)
}

fn arch_ok(u: &Universe, i: usize) -> bool {
    ARCHES.contains(&u.candidates[i].record.arch.as_str())
}

fn wrong_arch(u: &Universe, providers: &[usize]) -> String {
    let names: Vec<String> = providers
        .iter()
        .map(|&i| format!("{}.{}", u.nevr(i), u.candidates[i].record.arch))
        .collect();
    format!(
        "only {} provide{} it, and XCP-ng installs {} packages only",
        names.join(", "),
        if names.len() == 1 { "s" } else { "" },
        ARCHES.join(" and ")
    )
}

/// How each installed package was reached from a target (first found, breadth first).
pub(crate) struct Chains<'v> {
    universe: &'v Universe,
    parent: BTreeMap<usize, Option<usize>>,
}

impl<'v> Chains<'v> {
    pub(crate) fn new(
        v: &Viability<'v>,
        install: &[usize],
        targets: &[(&str, Vec<usize>)],
    ) -> Chains<'v> {
        let installed: BTreeSet<usize> = install.iter().copied().collect();
        let mut parent = BTreeMap::new();
        let mut queue = VecDeque::new();
        for (_, providers) in targets {
            for &p in providers.iter().filter(|p| installed.contains(p)) {
                if parent.insert(p, None).is_none() {
                    queue.push_back(p);
                }
            }
        }
        while let Some(p) = queue.pop_front() {
            for (_, providers) in &v.requires[p] {
                for &q in providers.iter().filter(|q| installed.contains(q)) {
                    if let std::collections::btree_map::Entry::Vacant(e) = parent.entry(q) {
                        e.insert(Some(p));
                        queue.push_back(q);
                    }
                }
            }
        }
        Chains {
            universe: v.universe,
            parent,
        }
    }

    /// The packages from a target down to `i`.
    pub(crate) fn to(&self, i: usize) -> Vec<String> {
        let mut out = vec![self.universe.nevr(i)];
        let mut at = i;
        while let Some(Some(p)) = self.parent.get(&at) {
            if out.len() > self.parent.len() {
                break;
            }
            out.push(self.universe.nevr(*p));
            at = *p;
        }
        out.reverse();
        out
    }
}

/// Explains a failure of the SAT solve: solves again without conflicts and obsoletes, and names
/// the clashing pairs in that answer; failing that, resolvo's own account (`message`).
pub(crate) fn clashes(
    u: &Universe,
    v: &Viability<'_>,
    targets: &[(&str, Vec<usize>)],
    prefer: Prefer,
    message: String,
) -> Vec<Problem> {
    let mut out = Vec::new();
    if let Ok(install) = provider::run(v, targets, prefer, false) {
        let installed: BTreeSet<usize> = install.iter().copied().collect();
        let chains = Chains::new(v, &install, targets);
        let path = |i: usize| chains.to(i).join(" → ");
        for &i in &installed {
            let r = &u.candidates[i].record;
            for d in &r.conflicts {
                for q in u.providers(d) {
                    if q != i && installed.contains(&q) {
                        out.push(Problem {
                            chain: chains.to(i),
                            requirement: DepDisplay(d).to_string(),
                            relation: Relation::Conflicts,
                            reason: format!(
                                "{} provides it and is needed too ({})",
                                u.nevr(q),
                                path(q)
                            ),
                        });
                    }
                }
            }
            for d in &r.obsoletes {
                for q in u.obsoleted_by(d) {
                    if u.candidates[q].record.name != r.name && installed.contains(&q) {
                        out.push(Problem {
                            chain: chains.to(i),
                            requirement: DepDisplay(d).to_string(),
                            relation: Relation::Obsoletes,
                            reason: format!("{} is needed too ({})", u.nevr(q), path(q)),
                        });
                    }
                }
            }
        }
    }
    if out.is_empty() {
        out.push(Problem {
            chain: Vec::new(),
            requirement: targets
                .iter()
                .map(|(t, _)| *t)
                .collect::<Vec<_>>()
                .join(", "),
            relation: Relation::Requires,
            reason: message,
        });
    }
    out
}
