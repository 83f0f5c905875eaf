//! Choosing one file per module name, with depmod's rules: `exclude`d and
//! unreachable files are skipped, `override` lines win, then the `search`
//! list (with `built-in` and `external` entries) decides.

use std::collections::BTreeMap;

use super::config::{Config, Search};
use super::elf::ModuleInfo;

/// One module file as depmod sees it while choosing between same-named ones.
struct Candidate<'a> {
    info: &'a ModuleInfo,
    /// Absolute path (`/lib/modules/<kver>/...` for modules of the tree).
    full: String,
    /// Length of `full` up to the directory, a `/` and the module name.
    trunc: usize,
}

impl Candidate<'_> {
    fn truncated(&self) -> &[u8] {
        self.full
            .as_bytes()
            .get(..self.trunc)
            .unwrap_or(self.full.as_bytes())
    }
}

/// A chosen module.
pub(super) struct Selected<'a> {
    /// The module's metadata.
    pub(super) info: &'a ModuleInfo,
    /// The path written in the indexes.
    pub(super) path: String,
}

/// Chooses one file per module name, with depmod's priority rules.
pub(super) fn select<'a>(
    modules: impl Iterator<Item = &'a ModuleInfo>,
    cfg: &Config,
    dirname: &str,
) -> Vec<Selected<'a>> {
    let mut by_name: BTreeMap<&str, Vec<Candidate<'a>>> = BTreeMap::new();
    for info in modules {
        let Some(full) = visible_path(info.path(), cfg, dirname) else {
            continue;
        };
        let slash = full.rfind('/').map_or(0, |p| p + 1);
        let trunc = slash + info.name().len();
        by_name
            .entry(info.name())
            .or_default()
            .push(Candidate { info, full, trunc });
    }
    let mut out = Vec::new();
    for (_, mut candidates) in by_name {
        // depmod keeps the first of equal-priority files in directory order;
        // path order stands in for that order.
        candidates.sort_by(|a, b| a.full.cmp(&b.full));
        let mut iter = candidates.into_iter();
        let Some(mut chosen) = iter.next() else {
            continue;
        };
        for new in iter {
            if !is_higher_priority(cfg, dirname, &chosen, &new) {
                chosen = new;
            }
        }
        let prefix = format!("{dirname}/");
        let path = match chosen.full.strip_prefix(&prefix) {
            Some(rel) => rel.to_string(),
            None => chosen.full.clone(),
        };
        out.push(Selected {
            info: chosen.info,
            path,
        });
    }
    out
}

/// The absolute path of a module file depmod would find, or `None` if its
/// walk would not reach it (excluded directory, outside the tree and every
/// external directory).
fn visible_path(path: &str, cfg: &Config, dirname: &str) -> Option<String> {
    let excluded = |rest: &str| {
        rest.split('/').any(|c| {
            c == "."
                || c == ".."
                || c == "build"
                || c == "source"
                || cfg.excludes.iter().any(|e| e == c)
        })
    };
    if let Some(abs) = path.strip_prefix('/') {
        let abs = format!("/{abs}");
        let inside = |dir: &str| {
            abs.strip_prefix(dir)
                .and_then(|r| r.strip_prefix('/'))
                .filter(|r| !r.is_empty() && !excluded(r))
                .is_some()
        };
        (inside(dirname)
            || cfg
                .externals
                .iter()
                .any(|e| inside(e.trim_end_matches('/'))))
        .then_some(abs)
    } else {
        (!path.is_empty() && !excluded(path)).then(|| format!("{dirname}/{path}"))
    }
}

/// depmod's `depmod_module_is_higher_priority`: true if the module already
/// chosen (`old`) stays, false if `new` replaces it.
fn is_higher_priority(cfg: &Config, dirname: &str, old: &Candidate, new: &Candidate) -> bool {
    let rel = |c: &Candidate| -> Option<Vec<u8>> {
        let t = c.truncated();
        if t.starts_with(dirname.as_bytes()) {
            Some(t.get(dirname.len() + 1..).unwrap_or(&[]).to_vec())
        } else {
            None
        }
    };
    let (rel_new, rel_old) = (rel(new), rel(old));
    for ov in &cfg.overrides {
        if rel_new.as_deref() == Some(ov.as_bytes()) {
            return false;
        }
        if rel_old.as_deref() == Some(ov.as_bytes()) {
            return true;
        }
    }
    let under = |path: &[u8], dir: &[u8]| {
        path.len() > dir.len() && path.starts_with(dir) && path[dir.len()] == b'/'
    };
    let (mut bprio, mut oldprio, mut newprio) = (-1i64, -1i64, -1i64);
    let mut i = 0i64;
    for se in &cfg.searches {
        match se {
            Search::BuiltIn => bprio = i,
            Search::External => {
                for ext in &cfg.externals {
                    if under(new.truncated(), ext.as_bytes()) {
                        newprio = i;
                    }
                    if under(old.truncated(), ext.as_bytes()) {
                        oldprio = i;
                    }
                    i += 1;
                }
            }
            Search::Path(p) => {
                if rel_new.as_deref().is_some_and(|r| under(r, p.as_bytes())) {
                    newprio = i;
                } else if rel_old.as_deref().is_some_and(|r| under(r, p.as_bytes())) {
                    oldprio = i;
                }
            }
        }
        i += 1;
    }
    if newprio < 0 {
        newprio = bprio;
    }
    if oldprio < 0 {
        oldprio = bprio;
    }
    newprio <= oldprio
}
