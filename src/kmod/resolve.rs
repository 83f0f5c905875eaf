//! Lookups for inspection: which file modprobe would load for a module
//! name, an alias or a symbol, and the `vermagic` of chosen modules.

use super::Error;
use super::builtin::{builtin_aliases, builtin_names};
use super::depmod::{Depmod, Plan};
use super::elf::ModuleInfo;
use super::fnmatch::fnmatch;
use super::index::normalize_alias;

/// What modprobe would load for a name: see [`Resolver::resolve`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// A module file; `path` as written in `modules.dep` (relative to
    /// `/lib/modules/<kver>`, or absolute for an external module).
    Module {
        /// The module name.
        name: String,
        /// The chosen file.
        path: String,
    },
    /// A module built into the kernel image.
    Builtin {
        /// The module name.
        name: String,
    },
}

impl Depmod {
    /// Computes module choice, order and dependencies once, for repeated
    /// lookups ([`Resolver::resolve`], [`Resolver::vermagic`]).
    pub fn resolver(&self) -> Result<Resolver<'_>, Error> {
        Ok(Resolver {
            depmod: self,
            plan: Plan::new(self)?,
        })
    }

    /// One-off [`Resolver::resolve`].
    pub fn resolve(&self, name: &str) -> Result<Vec<Resolved>, Error> {
        Ok(self.resolver()?.resolve(name))
    }

    /// One-off [`Resolver::vermagic`].
    pub fn vermagic(&self, name: &str) -> Result<Option<String>, Error> {
        Ok(self.resolver()?.vermagic(name).map(str::to_string))
    }
}

/// Lookups on the modules depmod would index (see [`Depmod::resolver`]).
pub struct Resolver<'a> {
    pub(super) depmod: &'a Depmod,
    pub(super) plan: Plan<'a>,
}

impl<'a> Resolver<'a> {
    /// The chosen module files as (module name, path as in `modules.dep`),
    /// in depmod's order.
    pub fn modules(&self) -> impl Iterator<Item = (&'a str, &str)> {
        self.plan
            .mods
            .iter()
            .map(|m| (m.info.name(), m.path.as_str()))
    }

    /// The module file chosen for module `name`.
    pub fn module(&self, name: &str) -> Option<&'a ModuleInfo> {
        self.plan
            .mods
            .iter()
            .find(|m| m.info.name() == name)
            .map(|m| m.info)
    }

    /// The `vermagic` of the module file chosen for module `name`.
    pub fn vermagic(&self, name: &str) -> Option<&'a str> {
        self.module(name).and_then(ModuleInfo::vermagic)
    }

    /// What modprobe would load for `name` (a module name, an alias such as
    /// `pci:v00008086d000010D3sv*`, or `symbol:NAME`), in modprobe's lookup
    /// order: module name, symbol, alias patterns, built-in module, built-in
    /// alias. Empty if nothing matches.
    pub fn resolve(&self, name: &str) -> Vec<Resolved> {
        let plan = &self.plan;
        let Some(key) = normalize_alias(name.as_bytes()) else {
            return Vec::new();
        };
        let module = |i: usize| Resolved::Module {
            name: plan.mods[i].info.name().to_string(),
            path: plan.mods[i].path.clone(),
        };
        if let Some(i) = plan
            .mods
            .iter()
            .position(|m| m.info.name().as_bytes() == key)
        {
            return vec![module(i)];
        }
        if let Some(sym) = key.strip_prefix(b"symbol:")
            && let Some((_, owner)) = plan.symbols.iter().find(|(s, _)| s.as_bytes() == sym)
        {
            return vec![module(*owner)];
        }
        let mut hits: Vec<usize> = Vec::new();
        for (i, m) in plan.mods.iter().enumerate() {
            for alias in m.info.modinfo_values("alias") {
                if let Some(pattern) = normalize_alias(alias)
                    && fnmatch(&pattern, &key)
                    && !hits.contains(&i)
                {
                    hits.push(i);
                }
            }
        }
        if !hits.is_empty() {
            return hits.into_iter().map(module).collect();
        }
        let builtin = builtin_names(self.depmod.builtin_text());
        if builtin.contains(&key) {
            return vec![Resolved::Builtin {
                name: String::from_utf8_lossy(&key).into_owned(),
            }];
        }
        let mut out = Vec::new();
        let modinfo = self.depmod.builtin_modinfo_data().unwrap_or(&[]);
        for (module, alias) in builtin_aliases(modinfo) {
            if fnmatch(&alias, &key) {
                let r = Resolved::Builtin {
                    name: String::from_utf8_lossy(&module).into_owned(),
                };
                if !out.contains(&r) {
                    out.push(r);
                }
            }
        }
        out
    }
}
