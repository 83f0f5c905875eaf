//! Which packages can ever install.
//!
//! A package can never install when its architecture is not installed, when it needs an
//! `rpmlib(...)` feature rpm 4.11.3 lacks, or when one of its requirements has no provider
//! that can install. That is a greatest fixed point (packages that require each other in a
//! cycle stay), computed before the SAT solver runs so that each such failure is reported with
//! its cause rather than as a clash of clauses.

use std::collections::BTreeSet;

use super::Universe;
use super::capability::{self, ARCHES};

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

/// Whether the candidate's architecture is one XCP-ng installs.
pub(super) fn arch_ok(u: &Universe, i: usize) -> bool {
    ARCHES.contains(&u.candidates[i].record.arch.as_str())
}
