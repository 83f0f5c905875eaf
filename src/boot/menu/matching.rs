//! Finding a named entry in every menu of an ISO: by its own name in each config, else by
//! position among the entries that boot the same thing (see the module documentation of
//! [`super`]).

use std::collections::{BTreeMap, BTreeSet};

use super::{Error, Menu};
use crate::boot::entry::{Boot, EntryView};

/// The entries of one menu, indexed once so that finding a name or a counterpart does not
/// scan the menu again: a lookup costs O(log n), so resolving many names stays linear.
pub(super) struct MenuIndex {
    file: String,
    views: Vec<EntryView>,
    /// The first entry of each name.
    by_name: BTreeMap<String, usize>,
    /// Per entry that boots something: its ordinal among the entries of the same boot kind.
    ordinal: Vec<Option<usize>>,
    /// The entries that boot Xen, then those that boot Linux without Xen, in file order.
    xen: Vec<usize>,
    linux: Vec<usize>,
}

impl MenuIndex {
    fn new(menu: &Menu) -> Self {
        let views = menu.cfg.entries();
        let mut by_name = BTreeMap::new();
        let mut ordinal = Vec::with_capacity(views.len());
        let (mut xen, mut linux) = (Vec::new(), Vec::new());
        for (i, e) in views.iter().enumerate() {
            by_name.entry(e.name.clone()).or_insert(i);
            let list = match e.boot() {
                Some(Boot::Xen(_)) => Some(&mut xen),
                Some(Boot::Linux(_)) => Some(&mut linux),
                None => None,
            };
            ordinal.push(list.map(|l| {
                l.push(i);
                l.len() - 1
            }));
        }
        MenuIndex {
            file: menu.file.clone(),
            views,
            by_name,
            ordinal,
            xen,
            linux,
        }
    }

    /// The `pos`-th entry of the same boot kind as `boot`.
    fn nth_of_kind(&self, boot: &Boot<'_>, pos: usize) -> Option<usize> {
        let list = match boot {
            Boot::Xen(_) => &self.xen,
            Boot::Linux(_) => &self.linux,
        };
        list.get(pos).copied()
    }
}

/// Indexes every menu as it is now.
pub(super) fn index(menus: &[Menu]) -> Vec<MenuIndex> {
    menus.iter().map(MenuIndex::new).collect()
}

/// Finds entry `name` in every menu (see the module documentation); one index per menu.
pub(super) fn resolve(menus: &[MenuIndex], name: &str) -> Result<Vec<usize>, Error> {
    let anchor = menus
        .iter()
        .find_map(|m| m.by_name.get(name).map(|&i| (m, i)));
    let Some((anchor_menu, anchor_idx)) = anchor else {
        // The entries the menus have, each once, in menu order.
        let mut seen = BTreeSet::new();
        let known: Vec<String> = menus
            .iter()
            .flat_map(|m| m.views.iter())
            .filter(|e| seen.insert(e.name.as_str()))
            .map(|e| e.name.clone())
            .collect();
        return Err(Error::UnknownEntry {
            name: name.to_string(),
            known,
        });
    };
    let anchor_boot = anchor_menu.views.get(anchor_idx).and_then(EntryView::boot);
    let pos = anchor_menu.ordinal.get(anchor_idx).copied().flatten();
    let mut out = Vec::with_capacity(menus.len());
    for menu in menus {
        if let Some(&i) = menu.by_name.get(name) {
            out.push(i);
            continue;
        }
        let found = anchor_boot.as_ref().zip(pos).and_then(|(ab, pos)| {
            menu.nth_of_kind(ab, pos)
                .filter(|&i| menu.views.get(i).and_then(EntryView::boot).as_ref() == Some(ab))
        });
        match found {
            Some(i) => out.push(i),
            None => {
                return Err(Error::NoCounterpart {
                    name: name.to_string(),
                    file: menu.file.clone(),
                });
            }
        }
    }
    Ok(out)
}

/// Resolves each of `names` in every menu (see [`resolve`]); per menu, the entries found, each
/// once, in the order of the names.
pub(super) fn resolve_all<'a>(
    menus: &[MenuIndex],
    names: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<Vec<usize>>, Error> {
    let mut per_menu = vec![Vec::new(); menus.len()];
    let mut seen = vec![BTreeSet::new(); menus.len()];
    for name in names {
        for ((idx, list), seen) in resolve(menus, name)?
            .into_iter()
            .zip(&mut per_menu)
            .zip(&mut seen)
        {
            if seen.insert(idx) {
                list.push(idx);
            }
        }
    }
    Ok(per_menu)
}
