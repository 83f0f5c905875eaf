//! depmod: ordering the chosen modules, resolving symbol dependencies, and
//! writing every file `depmod` (kmod 30) writes.

use std::collections::{BTreeMap, HashMap};

use super::Error;
use super::builtin::{LINE_MAX, builtin_alias_bin, builtin_bin};
use super::config::{self, Config};
use super::elf::ModuleInfo;
use super::hash_order::{MODULE_BUCKETS, SYMBOL_BUCKETS, sort_by_hash_order};
use super::index::{IndexBuilder, normalize_alias};
use super::select::{Selected, select};

/// Names of the files [`Depmod::write`] returns, in depmod's order.
pub const INDEX_FILES: [&str; 10] = [
    "modules.dep",
    "modules.dep.bin",
    "modules.alias",
    "modules.alias.bin",
    "modules.softdep",
    "modules.symbols",
    "modules.symbols.bin",
    "modules.builtin.bin",
    "modules.builtin.alias.bin",
    "modules.devname",
];

/// Largest count of modules depmod handles (16-bit indexes).
const MODULES_MAX: usize = u16::MAX as usize - 1;

/// The inputs of one depmod run: kernel version, depmod.d configuration,
/// `modules.builtin`, `modules.builtin.modinfo`, `modules.order`, and the
/// metadata of every module file found under `/lib/modules/<kver>` (and in
/// `external` directories).
#[derive(Debug, Clone)]
pub struct Depmod {
    kver: String,
    configs: BTreeMap<String, String>,
    builtin: Option<String>,
    builtin_modinfo: Option<Vec<u8>>,
    order: Option<String>,
    modules: BTreeMap<String, ModuleInfo>,
}

impl Depmod {
    /// An empty run for kernel release `kver` (e.g. `6.1.0-56-amd64`).
    pub fn new(kver: &str) -> Self {
        Depmod {
            kver: kver.to_string(),
            configs: BTreeMap::new(),
            builtin: None,
            builtin_modinfo: None,
            order: None,
            modules: BTreeMap::new(),
        }
    }

    /// The kernel release this run is for.
    pub fn kver(&self) -> &str {
        &self.kver
    }

    /// Adds one depmod.d file by its base name. Add files of `/etc/depmod.d`
    /// first, then `/run/depmod.d`, `/usr/local/lib/depmod.d`,
    /// `/lib/depmod.d`: as in depmod, a name already added hides later files
    /// of the same name, and files are applied in name order. Names depmod
    /// skips (not `*.conf`, hidden) are ignored.
    pub fn add_config(&mut self, name: &str, text: &str) -> Result<(), Error> {
        if name.is_empty() || name.contains('/') || name.contains('\0') {
            return Err(Error::BadConfigName {
                name: name.to_string(),
                reason: "expected a base file name",
            });
        }
        if config::is_config_name(name) {
            self.configs
                .entry(name.to_string())
                .or_insert_with(|| text.to_string());
        }
        Ok(())
    }

    /// Sets the content of `modules.builtin` (without it depmod writes an
    /// empty `modules.builtin.bin`).
    pub fn set_builtin(&mut self, modules_builtin: &str) {
        self.builtin = Some(modules_builtin.to_string());
    }

    /// Sets the content of `modules.builtin.modinfo` (without it depmod
    /// writes an empty `modules.builtin.alias.bin`).
    pub fn set_builtin_modinfo(&mut self, data: &[u8]) {
        self.builtin_modinfo = Some(data.to_vec());
    }

    /// Sets the content of `modules.order`, which orders the modules.
    pub fn set_order(&mut self, modules_order: &str) {
        self.order = Some(modules_order.to_string());
    }

    /// Adds one parsed module file. Adding the same path again replaces it.
    pub fn add_module(&mut self, info: ModuleInfo) {
        self.modules.insert(info.path().to_string(), info);
    }

    /// The `modules.builtin` text, if set.
    pub(super) fn builtin_text(&self) -> Option<&str> {
        self.builtin.as_deref()
    }

    /// The `modules.builtin.modinfo` data, if set.
    pub(super) fn builtin_modinfo_data(&self) -> Option<&[u8]> {
        self.builtin_modinfo.as_deref()
    }

    /// The effective configuration.
    pub fn config(&self) -> Config {
        Config::parse(self.configs.values().map(String::as_str), &self.kver)
    }

    /// Every file depmod writes, as (file name, content), in depmod's order
    /// (see [`INDEX_FILES`]).
    pub fn write(&self) -> Result<Vec<(String, Vec<u8>)>, Error> {
        let plan = Plan::new(self)?;
        let files = vec![
            ("modules.dep", plan.deps_text()),
            ("modules.dep.bin", plan.deps_bin()?),
            ("modules.alias", plan.aliases_text()),
            ("modules.alias.bin", plan.aliases_bin()?),
            ("modules.softdep", plan.softdeps_text()),
            ("modules.symbols", plan.symbols_text()),
            ("modules.symbols.bin", plan.symbols_bin()?),
            ("modules.builtin.bin", builtin_bin(self.builtin.as_deref())?),
            (
                "modules.builtin.alias.bin",
                builtin_alias_bin(self.builtin_modinfo.as_deref())?,
            ),
            ("modules.devname", plan.devname_text()),
        ];
        Ok(files.into_iter().map(|(n, d)| (n.to_string(), d)).collect())
    }

    /// What `modules.dep` says, as data: each module's path (as the indexes write it) and every
    /// module it needs, directly or not, in the order modules.dep lists them (the order
    /// modprobe loads them in).
    pub fn dependencies(&self) -> Result<BTreeMap<String, Vec<String>>, Error> {
        let plan = Plan::new(self)?;
        Ok((0..plan.mods.len())
            .map(|i| {
                let deps = plan.all_deps(i);
                let paths = deps.iter().map(|&d| plan.mods[d].path.clone()).collect();
                (plan.mods[i].path.clone(), paths)
            })
            .collect())
    }
}

/// The computed state behind every output file.
pub(super) struct Plan<'a> {
    /// Modules in depmod's array order (their index is their priority).
    pub(super) mods: Vec<Selected<'a>>,
    /// Direct dependencies of each module, sorted by `dep_sort`.
    deps: Vec<Vec<usize>>,
    /// Topological position of each module.
    dep_sort: Vec<usize>,
    /// Exported symbols and their owners, in depmod's hash order.
    pub(super) symbols: Vec<(&'a str, usize)>,
}

impl<'a> Plan<'a> {
    pub(super) fn new(depmod: &'a Depmod) -> Result<Self, Error> {
        let cfg = depmod.config();
        let dirname = format!("/lib/modules/{}", depmod.kver);
        let mut mods = select(depmod.modules.values(), &cfg, &dirname);
        if mods.len() > MODULES_MAX {
            return Err(Error::TooManyModules { count: mods.len() });
        }
        sort_by_hash_order(&mut mods, MODULE_BUCKETS, |m| m.info.name().as_bytes());
        if let Some(order) = depmod.order.as_deref() {
            apply_order(&mut mods, order);
        }

        // Symbols: a later module exporting the same name takes it over.
        let mut owners: HashMap<&str, usize> = HashMap::new();
        for (i, m) in mods.iter().enumerate() {
            for sym in m.info.exports() {
                if !sym.is_empty() {
                    owners.insert(sym, i);
                }
            }
        }

        let n = mods.len();
        let mut deps: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut users = vec![0usize; n];
        for (i, m) in mods.iter().enumerate() {
            for sym in m.info.imports() {
                let sym = sym.strip_prefix('.').unwrap_or(sym);
                if let Some(&owner) = owners.get(sym)
                    && !deps[i].contains(&owner)
                {
                    deps[i].push(owner);
                    users[owner] += 1;
                }
            }
        }

        // Topological sort: modules nobody uses first, as depmod does it.
        let mut roots: Vec<usize> = (0..n).filter(|&i| users[i] == 0).collect();
        let mut dep_sort = vec![usize::MAX; n];
        let mut sorted = 0;
        while let Some(src) = roots.pop() {
            dep_sort[src] = sorted;
            sorted += 1;
            for &dst in &deps[src] {
                users[dst] -= 1;
                if users[dst] == 0 {
                    roots.push(dst);
                }
            }
        }
        if sorted < n {
            let modules = (0..n)
                .filter(|&i| users[i] > 0)
                .map(|i| mods[i].info.name().to_string())
                .collect();
            return Err(Error::Cycle { modules });
        }
        for d in &mut deps {
            d.sort_by_key(|&i| dep_sort[i]);
        }

        let mut symbols: Vec<(&str, usize)> = owners.into_iter().collect();
        sort_by_hash_order(&mut symbols, SYMBOL_BUCKETS, |(s, _)| s.as_bytes());

        Ok(Plan {
            mods,
            deps,
            dep_sort,
            symbols,
        })
    }

    /// Every module `i` needs, directly or not, in load order.
    fn all_deps(&self, i: usize) -> Vec<usize> {
        let mut seen = vec![false; self.mods.len()];
        let mut out = Vec::new();
        let mut stack: Vec<usize> = self.deps[i].clone();
        while let Some(d) = stack.pop() {
            if !seen[d] {
                seen[d] = true;
                out.push(d);
                stack.extend(&self.deps[d]);
            }
        }
        out.sort_by_key(|&d| self.dep_sort[d]);
        out
    }

    fn dep_line(&self, i: usize) -> String {
        let mut line = format!("{}:", self.mods[i].path);
        for d in self.all_deps(i) {
            line.push(' ');
            line.push_str(&self.mods[d].path);
        }
        line
    }

    fn deps_text(&self) -> Vec<u8> {
        let mut out = String::new();
        for i in 0..self.mods.len() {
            out.push_str(&self.dep_line(i));
            out.push('\n');
        }
        out.into_bytes()
    }

    fn deps_bin(&self) -> Result<Vec<u8>, Error> {
        let mut idx = IndexBuilder::new("modules.dep.bin");
        for (i, m) in self.mods.iter().enumerate() {
            idx.insert(
                m.info.name().as_bytes(),
                self.dep_line(i).as_bytes(),
                i as u32,
            )?;
        }
        idx.write()
    }

    fn aliases_text(&self) -> Vec<u8> {
        let mut out = b"# Aliases extracted from modules themselves.\n".to_vec();
        for m in &self.mods {
            for alias in m.info.modinfo_values("alias") {
                out.extend_from_slice(b"alias ");
                out.extend_from_slice(alias);
                out.push(b' ');
                out.extend_from_slice(m.info.name().as_bytes());
                out.push(b'\n');
            }
        }
        out
    }

    fn aliases_bin(&self) -> Result<Vec<u8>, Error> {
        let mut idx = IndexBuilder::new("modules.alias.bin");
        for (i, m) in self.mods.iter().enumerate() {
            for alias in m.info.modinfo_values("alias") {
                if let Some(key) = normalize_alias(alias) {
                    idx.insert(&key, m.info.name().as_bytes(), i as u32)?;
                }
            }
        }
        idx.write()
    }

    fn softdeps_text(&self) -> Vec<u8> {
        let mut out = b"# Soft dependencies extracted from modules themselves.\n".to_vec();
        for m in &self.mods {
            for value in m.info.modinfo_values("softdep") {
                out.extend_from_slice(b"softdep ");
                out.extend_from_slice(m.info.name().as_bytes());
                out.push(b' ');
                out.extend_from_slice(value);
                out.push(b'\n');
            }
        }
        out
    }

    fn symbols_text(&self) -> Vec<u8> {
        let mut out = String::from("# Aliases for symbols, used by symbol_request().\n");
        for (sym, owner) in &self.symbols {
            out.push_str("alias symbol:");
            out.push_str(sym);
            out.push(' ');
            out.push_str(self.mods[*owner].info.name());
            out.push('\n');
        }
        out.into_bytes()
    }

    fn symbols_bin(&self) -> Result<Vec<u8>, Error> {
        let mut idx = IndexBuilder::new("modules.symbols.bin");
        for (sym, owner) in &self.symbols {
            let key = format!("symbol:{sym}");
            idx.insert(
                key.as_bytes(),
                self.mods[*owner].info.name().as_bytes(),
                *owner as u32,
            )?;
        }
        idx.write()
    }

    fn devname_text(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for m in &self.mods {
            let mut devname: Option<&[u8]> = None;
            let mut dev: Option<(u8, u32, u32)> = None;
            for value in m.info.modinfo_values("alias") {
                if let Some(name) = value.strip_prefix(b"devname:") {
                    devname = Some(name);
                } else if let Some((maj, min)) = scan_major_minor(value, b"char-major-") {
                    dev = Some((b'c', maj, min));
                } else if let Some((maj, min)) = scan_major_minor(value, b"block-major-") {
                    dev = Some((b'b', maj, min));
                }
                if dev.is_some() && devname.is_some() {
                    break;
                }
            }
            if let (Some(name), Some((kind, major, minor))) = (devname, dev) {
                if out.is_empty() {
                    out.extend_from_slice(b"# Device nodes to trigger on-demand module loading.\n");
                }
                out.extend_from_slice(m.info.name().as_bytes());
                out.push(b' ');
                out.extend_from_slice(name);
                out.extend_from_slice(format!(" {}{major}:{minor}\n", kind as char).as_bytes());
            }
        }
        out
    }
}

/// Orders modules by `modules.order` (stable for the modules it does not
/// list, which come last); a file with a line not ending in a newline is
/// ignored, as by depmod.
fn apply_order(mods: &mut Vec<Selected>, order: &str) {
    let mut lines: Vec<&str> = order.split_inclusive('\n').collect();
    if lines
        .iter()
        .any(|l| !l.ends_with('\n') || l.len() > LINE_MAX)
    {
        return;
    }
    for l in &mut lines {
        *l = l.strip_suffix('\n').unwrap_or(l);
    }
    let total = lines.len() as i64 + 1;
    let mut by_uncrel: HashMap<&str, usize> = HashMap::new();
    for (i, m) in mods.iter().enumerate() {
        if m.path.starts_with('/') {
            continue;
        }
        let start = m.path.rfind('/').map_or(0, |p| p + 1);
        if let Some(uncrel) = m.path.get(..start + m.info.name().len() + 3) {
            by_uncrel.insert(uncrel, i);
        }
    }
    let mut sort_idx = vec![1i64; mods.len()];
    for (n, line) in lines.iter().enumerate() {
        if let Some(&i) = by_uncrel.get(line) {
            sort_idx[i] = n as i64 + 1 - total;
        }
    }
    let mut keyed: Vec<(i64, Selected)> = sort_idx.into_iter().zip(mods.drain(..)).collect();
    keyed.sort_by_key(|(k, _)| *k);
    mods.extend(keyed.into_iter().map(|(_, m)| m));
}

/// `sscanf(value, "PREFIX%u-%u")` as glibc does it.
fn scan_major_minor(value: &[u8], prefix: &[u8]) -> Option<(u32, u32)> {
    let rest = value.strip_prefix(prefix)?;
    let (major, rest) = scan_u32(rest)?;
    let rest = rest.strip_prefix(b"-")?;
    let (minor, _) = scan_u32(rest)?;
    Some((major, minor))
}

/// `%u`: optional white space and sign, then decimal digits.
fn scan_u32(s: &[u8]) -> Option<(u32, &[u8])> {
    let s = s.trim_ascii_start();
    let (neg, s) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    let mut v: u64 = 0;
    for &d in &s[..digits] {
        v = v.saturating_mul(10).saturating_add(u64::from(d - b'0'));
    }
    let v = if neg { v.wrapping_neg() } else { v };
    Some((v as u32, &s[digits..]))
}
