//! Argument edits on one entry of one menu, and the check that each removal matched something.

use super::{EntryEdits, Error, Menu};
use crate::boot::args;

/// Applies argument edits to entry `idx` of `menu`; ORs removal hits into `removed`. For an
/// entry that boots Linux without Xen, the dom0 edits apply to the kernel's arguments and Xen
/// edits are an error.
pub(super) fn edit_entry(
    menu: &mut Menu,
    idx: usize,
    edits: &EntryEdits,
    removed: &mut (Vec<bool>, Vec<bool>),
) -> Result<bool, Error> {
    let Some(entry) = menu.cfg.view(idx) else {
        return Err(Error::UnknownEntry {
            name: format!("#{idx}"),
            known: Vec::new(),
        });
    };
    if let Some(x) = entry.xen {
        let mut xen_args = x.xen_args;
        let mut dom0_args = x.dom0_args;
        let rx = args::apply(&mut xen_args, &edits.xen_args)?;
        let rd = args::apply(&mut dom0_args, &edits.dom0_args)?;
        merge(&mut removed.0, rx.removed);
        merge(&mut removed.1, rd.removed);
        if rx.changed || rd.changed {
            menu.cfg.set_args(idx, &xen_args, &dom0_args)?;
        }
        return Ok(rx.changed || rd.changed);
    }
    let Some(l) = entry.linux else {
        return Err(Error::NoKernel {
            name: entry.name,
            file: menu.file.clone(),
        });
    };
    if !edits.xen_args.is_empty() {
        return Err(Error::NotXen {
            name: entry.name,
            file: menu.file.clone(),
        });
    }
    let mut kargs = l.args;
    let rk = args::apply(&mut kargs, &edits.dom0_args)?;
    merge(&mut removed.1, rk.removed);
    if rk.changed {
        menu.cfg.set_kernel_args(idx, &kargs)?;
    }
    Ok(rk.changed)
}

/// ORs removal hits into the accumulated flags.
fn merge(acc: &mut [bool], hits: Vec<bool>) {
    for (a, h) in acc.iter_mut().zip(hits) {
        *a |= h;
    }
}

/// Errors for removals that matched nothing in `file`.
pub(super) fn check_removed(
    edits: &EntryEdits,
    removed: &(Vec<bool>, Vec<bool>),
    file: &str,
) -> Result<(), Error> {
    for (arg, hit) in edits.xen_args.remove.iter().zip(&removed.0) {
        if !hit {
            return Err(Error::NothingToRemove {
                arg: arg.clone(),
                line: "Xen",
                file: file.to_string(),
            });
        }
    }
    for (arg, hit) in edits.dom0_args.remove.iter().zip(&removed.1) {
        if !hit {
            return Err(Error::NothingToRemove {
                arg: arg.clone(),
                line: "dom0",
                file: file.to_string(),
            });
        }
    }
    Ok(())
}

/// No removal matched yet, for each `remove` of the Xen and dom0 edits.
pub(super) fn removal_flags(edits: &EntryEdits) -> (Vec<bool>, Vec<bool>) {
    (
        vec![false; edits.xen_args.remove.len()],
        vec![false; edits.dom0_args.remove.len()],
    )
}
