//! The universe as resolvo sees it.
//!
//! resolvo knows packages by name; rpm requirements name capabilities that packages of many
//! names may provide. A requirement becomes a union of version sets, one per providing name,
//! each the exact list of that name's candidates that satisfy it. Conflicts and obsoletes
//! become constraints: "if a package of this name is installed, it is not one of these".

use std::collections::{BTreeMap, HashMap};
use std::fmt::Display;

use resolvo::{
    Candidates, Condition, ConditionId, ConditionalRequirement, Dependencies, DependencyProvider,
    HintDependenciesAvailable, Interner, KnownDependencies, NameId, Requirement, SolvableId,
    Solver, SolverCache, StringId, UnsolvableOrCancelled, VersionSetId, VersionSetUnionId,
};

use super::capability::DepDisplay;
use super::viability::Viability;
use super::{Prefer, Universe};

/// Some candidates of one name.
struct VersionSet {
    name: u32,
    /// Candidate indexes, ascending.
    members: Vec<usize>,
    /// The set is every candidate of the name except `members`.
    negated: bool,
    label: String,
}

impl VersionSet {
    fn contains(&self, i: usize) -> bool {
        self.members.binary_search(&i).is_ok() != self.negated
    }
}

/// The dependency provider: every dependency computed up front.
struct Rpms<'u> {
    universe: &'u Universe,
    prefer: Prefer,
    names: Vec<&'u str>,
    /// Candidate → name id.
    name_of: Vec<u32>,
    /// Name id → installable candidates.
    members: Vec<Vec<usize>>,
    version_sets: Vec<VersionSet>,
    interned: HashMap<(u32, bool, Vec<usize>), VersionSetId>,
    unions: Vec<Vec<VersionSetId>>,
    dependencies: Vec<KnownDependencies>,
}

impl<'u> Rpms<'u> {
    fn new(v: &Viability<'u>, prefer: Prefer, constraints: bool) -> Rpms<'u> {
        let u = v.universe;
        let names: Vec<&str> = u.by_name.keys().map(String::as_str).collect();
        let mut name_of = vec![0u32; u.candidates.len()];
        let mut members = Vec::with_capacity(names.len());
        for (n, list) in u.by_name.values().enumerate() {
            for &i in list {
                name_of[i] = n as u32;
            }
            members.push(list.iter().copied().filter(|&i| v.live[i]).collect());
        }
        let mut rpms = Rpms {
            universe: u,
            prefer,
            names,
            name_of,
            members,
            version_sets: Vec::new(),
            interned: HashMap::new(),
            unions: Vec::new(),
            dependencies: Vec::new(),
        };
        for i in 0..u.candidates.len() {
            let deps = if v.live[i] {
                rpms.dependencies_of(v, i, constraints)
            } else {
                KnownDependencies::default()
            };
            rpms.dependencies.push(deps);
        }
        rpms
    }

    fn version_set(
        &mut self,
        name: u32,
        negated: bool,
        members: Vec<usize>,
        label: &str,
    ) -> VersionSetId {
        if let Some(&id) = self.interned.get(&(name, negated, members.clone())) {
            return id;
        }
        let id = VersionSetId(self.version_sets.len() as u32);
        self.version_sets.push(VersionSet {
            name,
            members: members.clone(),
            negated,
            label: label.to_string(),
        });
        self.interned.insert((name, negated, members), id);
        id
    }

    /// Candidates grouped by name, names in order of preference.
    fn by_name(&self, candidates: &[usize]) -> Vec<(u32, Vec<usize>)> {
        let mut groups: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
        for &i in candidates {
            groups.entry(self.name_of[i]).or_default().push(i);
        }
        let mut groups: Vec<(u32, Vec<usize>)> = groups.into_iter().collect();
        let off_media = |list: &[usize]| {
            self.prefer == Prefer::OnMedia
                && list
                    .iter()
                    .all(|&i| !self.universe.candidates[i].origin.on_media())
        };
        groups.sort_by_key(|(n, list)| (off_media(list), self.names[*n as usize]));
        groups
    }

    /// A requirement satisfied by any of `providers` (installable, ascending).
    fn requirement(&mut self, providers: &[usize], label: &str) -> ConditionalRequirement {
        let groups = self.by_name(providers);
        let sets: Vec<VersionSetId> = groups
            .into_iter()
            .map(|(n, list)| self.version_set(n, false, list, label))
            .collect();
        if sets.len() == 1 {
            Requirement::Single(sets[0]).into()
        } else {
            let id = VersionSetUnionId(self.unions.len() as u32);
            self.unions.push(sets);
            Requirement::Union(id).into()
        }
    }

    fn dependencies_of(
        &mut self,
        v: &Viability<'u>,
        i: usize,
        constraints: bool,
    ) -> KnownDependencies {
        let u = self.universe;
        let record = &u.candidates[i].record;
        let mut deps = KnownDependencies::default();
        for (j, providers) in &v.requires[i] {
            if providers.contains(&i) {
                continue;
            }
            let live: Vec<usize> = providers.iter().copied().filter(|&q| v.live[q]).collect();
            if live.is_empty() {
                // Tolerated (allow_unresolved); otherwise the package would not be live.
                continue;
            }
            let label = DepDisplay(&record.requires[*j]).to_string();
            let req = self.requirement(&live, &label);
            deps.requirements.push(req);
        }
        if !constraints {
            return deps;
        }
        let mut excluded: Vec<(usize, String)> = Vec::new();
        for d in &record.conflicts {
            let label = format!("conflicts with {}", DepDisplay(d));
            excluded.extend(
                u.providers(d)
                    .into_iter()
                    .filter(|&q| q != i)
                    .map(|q| (q, label.clone())),
            );
        }
        for d in &record.obsoletes {
            let label = format!("obsoletes {}", DepDisplay(d));
            excluded.extend(
                u.obsoleted_by(d)
                    .into_iter()
                    .filter(|&q| u.candidates[q].record.name != record.name)
                    .map(|q| (q, label.clone())),
            );
        }
        let mut per_name: BTreeMap<u32, (Vec<usize>, String)> = BTreeMap::new();
        for (q, label) in excluded {
            if v.live[q] {
                per_name
                    .entry(self.name_of[q])
                    .or_insert_with(|| (Vec::new(), label))
                    .0
                    .push(q);
            }
        }
        for (n, (mut list, label)) in per_name {
            list.sort_unstable();
            list.dedup();
            let set = self.version_set(n, true, list, &label);
            deps.constrains.push(set);
        }
        deps
    }
}

fn solvable(i: usize) -> SolvableId {
    SolvableId::from_raw(i as u32)
}

fn index(s: SolvableId) -> usize {
    s.into_raw() as usize
}

impl Interner for Rpms<'_> {
    type NameId = NameId;
    type SolvableId = SolvableId;

    fn display_solvable(&self, s: SolvableId) -> impl Display + '_ {
        let c = &self.universe.candidates[index(s)];
        format!("{}.{}", c.nevr(), c.record.arch)
    }

    fn display_name(&self, name: NameId) -> impl Display + '_ {
        self.names[name.into_raw() as usize]
    }

    fn display_version_set(&self, vs: VersionSetId) -> impl Display + '_ {
        self.version_sets[vs.0 as usize].label.as_str()
    }

    fn display_string(&self, _: StringId) -> impl Display + '_ {
        ""
    }

    fn version_set_name(&self, vs: VersionSetId) -> NameId {
        NameId::from_raw(self.version_sets[vs.0 as usize].name)
    }

    fn solvable_name(&self, s: SolvableId) -> NameId {
        NameId::from_raw(self.name_of[index(s)])
    }

    fn version_sets_in_union(&self, u: VersionSetUnionId) -> impl Iterator<Item = VersionSetId> {
        self.unions[u.0 as usize].iter().copied()
    }

    fn resolve_condition(&self, _: ConditionId) -> Condition {
        unreachable!("no requirement of an rpm universe is conditional")
    }
}

impl DependencyProvider for Rpms<'_> {
    async fn filter_candidates(
        &self,
        candidates: &[SolvableId],
        vs: VersionSetId,
        inverse: bool,
    ) -> Vec<SolvableId> {
        let set = &self.version_sets[vs.0 as usize];
        candidates
            .iter()
            .copied()
            .filter(|&s| set.contains(index(s)) != inverse)
            .collect()
    }

    async fn get_candidates(&self, name: NameId) -> Option<Candidates<SolvableId>> {
        let members = self.members.get(name.into_raw() as usize)?;
        Some(Candidates {
            candidates: members.iter().map(|&i| solvable(i)).collect(),
            hint_dependencies_available: HintDependenciesAvailable::All,
            ..Candidates::default()
        })
    }

    async fn sort_candidates(&self, _: &SolverCache<Self>, solvables: &mut [SolvableId]) {
        solvables.sort_by_key(|&s| self.universe.rank(index(s), self.prefer));
    }

    async fn get_dependencies(&self, s: SolvableId) -> Dependencies {
        Dependencies::Known(self.dependencies[index(s)].clone())
    }
}

/// Solves for `targets` (each with its installable providers) among the installable
/// candidates; without `constraints`, conflicts and obsoletes are ignored. Returns the
/// candidates to install, or resolvo's account of why none can.
pub(crate) fn run(
    v: &Viability<'_>,
    targets: &[(&str, Vec<usize>)],
    prefer: Prefer,
    constraints: bool,
) -> Result<Vec<usize>, String> {
    let mut rpms = Rpms::new(v, prefer, constraints);
    let requirements: Vec<ConditionalRequirement> = targets
        .iter()
        .map(|(text, providers)| rpms.requirement(providers, text))
        .collect();
    let mut solver = Solver::new(rpms);
    let problem = resolvo::Problem::new().requirements(requirements);
    match solver.solve(problem) {
        Ok(install) => Ok(install.into_iter().map(index).collect()),
        Err(UnsolvableOrCancelled::Unsolvable(conflict)) => {
            Err(conflict.display_user_friendly(&solver).to_string())
        }
        Err(UnsolvableOrCancelled::Cancelled(_)) => Err("the solver was cancelled".into()),
    }
}
