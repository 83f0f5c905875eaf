//! `[boot]`: the boot menus' entries, titles, labels and kernel arguments.

use std::collections::BTreeMap;

use serde_spanned::Spanned;

use super::Cx;
use crate::profile::location::Located;
use crate::profile::rules::boot_arg_problem;
use crate::profile::schema::{self, Str};
use crate::profile::{ArgEdits, BootEdits, Error, NewBootEntry};

/// The longest menu timeout isolinux accepts (35996 tenths of a second), in whole seconds.
const MAX_TIMEOUT_SECONDS: i64 = 3599;

impl Cx<'_> {
    pub(super) fn boot(&self, boot: &schema::Boot) -> Result<BootEdits, Error> {
        let entries = match &boot.entries {
            None => None,
            Some(list) => {
                if list.get_ref().is_empty() {
                    return Err(Error::Conflict {
                        at: self.at(list.span()),
                        problem: "`entries` is empty; leave it out to edit every entry that \
                                  boots Xen"
                            .into(),
                    });
                }
                let mut seen = BTreeMap::new();
                let mut out = Vec::new();
                for s in list.get_ref() {
                    let label = self.label(s, "boot entry label")?;
                    if let Some(first) = seen.insert(label.value.clone(), label.origin.clone()) {
                        return Err(Error::Conflict {
                            at: label.origin,
                            problem: format!(
                                "entry `{}` is already listed at {first}",
                                label.value
                            ),
                        });
                    }
                    out.push(label);
                }
                Some(out)
            }
        };
        let mut labels = BTreeMap::new();
        let mut new_entries = Vec::new();
        for e in &boot.entry {
            let origin = self.at(e.span());
            let e = e.get_ref();
            let label = self.label(&e.label, "boot entry label")?;
            if let Some(first) = labels.insert(label.value.clone(), label.origin.clone()) {
                return Err(Error::Conflict {
                    at: label.origin,
                    problem: format!(
                        "a new boot entry `{}` is already defined at {first}",
                        label.value
                    ),
                });
            }
            new_entries.push(NewBootEntry {
                label,
                title: self.title(&e.title)?,
                from: self.label(&e.from, "boot entry label")?,
                xen_args: self.arg_edits(e.xen_args.as_ref())?,
                dom0_args: self.arg_edits(e.dom0_args.as_ref())?,
                origin,
            });
        }
        let timeout = match &boot.timeout {
            None => None,
            Some(t) => {
                let value = *t.get_ref();
                let secs = u32::try_from(value)
                    .ok()
                    .filter(|&v| i64::from(v) <= MAX_TIMEOUT_SECONDS)
                    .ok_or_else(|| Error::Range {
                        at: self.at(t.span()),
                        key: "timeout",
                        value,
                        expected: "0 to 3599 seconds (isolinux's limit)",
                    })?;
                Some(Located::new(secs, self.at(t.span())))
            }
        };
        Ok(BootEdits {
            entries,
            xen_args: self.arg_edits(boot.xen_args.as_ref())?,
            dom0_args: self.arg_edits(boot.dom0_args.as_ref())?,
            default: boot
                .default
                .as_ref()
                .map(|d| self.label(d, "boot entry label"))
                .transpose()?,
            timeout,
            efi_fallback: boot.efi_fallback.unwrap_or(false),
            new_entries,
        })
    }

    fn arg_edits(&self, edits: Option<&Spanned<schema::ArgEdits>>) -> Result<ArgEdits, Error> {
        let Some(edits) = edits.map(Spanned::get_ref) else {
            return Ok(ArgEdits::default());
        };
        let args = |list: &[Str]| -> Result<Vec<Located<String>>, Error> {
            list.iter().map(|a| self.boot_arg(a)).collect()
        };
        Ok(ArgEdits {
            set: args(&edits.set)?,
            add: args(&edits.add)?,
            remove: args(&edits.remove)?,
        })
    }

    fn boot_arg(&self, s: &Str) -> Result<Located<String>, Error> {
        match boot_arg_problem(s.get_ref()) {
            None => Ok(self.loc(s)),
            Some(problem) => Err(Error::BootArg {
                at: self.at(s.span()),
                arg: s.get_ref().clone(),
                problem,
            }),
        }
    }

    pub(super) fn label(&self, s: &Str, what: &'static str) -> Result<Located<String>, Error> {
        let v = s.get_ref();
        if v.is_empty()
            || !v
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(self.bad_name(s, what, "must be letters, digits, `.`, `_` or `-`"));
        }
        Ok(self.loc(s))
    }

    fn title(&self, s: &Str) -> Result<Located<String>, Error> {
        let v = s.get_ref();
        if v.trim().is_empty() {
            return Err(self.bad_name(s, "boot entry title", "is empty"));
        }
        if v.chars().any(char::is_control) {
            return Err(self.bad_name(s, "boot entry title", "has a control character"));
        }
        if v.contains(['"', '\\', '$']) {
            return Err(self.bad_name(
                s,
                "boot entry title",
                "contains `\"`, `\\` or `$`, which a GRUB menu title cannot carry as written",
            ));
        }
        Ok(self.loc(s))
    }
}
