//! The problems of a solve told as chains from a target: why a target cannot install (see
//! [`super::viability`]), and which installed packages clash.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::capability::{self, ARCHES, DepDisplay};
use super::viability::{Viability, arch_ok};
use super::{Prefer, Problem, Relation, Universe, provider};

impl<'u> Viability<'u> {
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
