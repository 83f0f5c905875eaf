//! depmod: choosing one file per module name, ordering modules, resolving
//! symbol dependencies, and writing every file `depmod` (kmod 30) writes.

use std::collections::{BTreeMap, HashMap};

use super::Error;
use super::config::{self, Config, Search};
use super::elf::ModuleInfo;
use super::hash_order::{MODULE_BUCKETS, SYMBOL_BUCKETS, sort_by_hash_order};
use super::index::{IndexBuilder, normalize_alias};

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

/// Longest line depmod reads from `modules.order` / `modules.builtin`
/// (`fgets` into a `PATH_MAX` buffer).
const LINE_MAX: usize = 4095;
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

/// What modprobe would load for a name: see [`Depmod::resolve`].
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
    depmod: &'a Depmod,
    plan: Plan<'a>,
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
                    && super::fnmatch::fnmatch(&pattern, &key)
                    && !hits.contains(&i)
                {
                    hits.push(i);
                }
            }
        }
        if !hits.is_empty() {
            return hits.into_iter().map(module).collect();
        }
        let builtin = builtin_names(self.depmod.builtin.as_deref());
        if builtin.contains(&key) {
            return vec![Resolved::Builtin {
                name: String::from_utf8_lossy(&key).into_owned(),
            }];
        }
        let mut out = Vec::new();
        let modinfo = self.depmod.builtin_modinfo.as_deref().unwrap_or(&[]);
        for (module, alias) in builtin_aliases(modinfo) {
            if super::fnmatch::fnmatch(&alias, &key) {
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
struct Selected<'a> {
    info: &'a ModuleInfo,
    /// The path written in the indexes.
    path: String,
}

/// The computed state behind every output file.
struct Plan<'a> {
    /// Modules in depmod's array order (their index is their priority).
    mods: Vec<Selected<'a>>,
    /// Direct dependencies of each module, sorted by `dep_sort`.
    deps: Vec<Vec<usize>>,
    /// Topological position of each module.
    dep_sort: Vec<usize>,
    /// Exported symbols and their owners, in depmod's hash order.
    symbols: Vec<(&'a str, usize)>,
}

impl<'a> Plan<'a> {
    fn new(depmod: &'a Depmod) -> Result<Self, Error> {
        let cfg = depmod.config();
        let dirname = format!("/lib/modules/{}", depmod.kver);
        let mut mods = select(depmod, &cfg, &dirname);
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

/// Chooses one file per module name, with depmod's priority rules.
fn select<'a>(depmod: &'a Depmod, cfg: &Config, dirname: &str) -> Vec<Selected<'a>> {
    let mut by_name: BTreeMap<&str, Vec<Candidate<'a>>> = BTreeMap::new();
    for info in depmod.modules.values() {
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

/// Lines of a file as `fgets` with a `PATH_MAX` buffer returns them
/// (newline kept; longer lines come in pieces).
fn fgets_lines(text: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    for line in text.split_inclusive(|&b| b == b'\n') {
        let mut rest = line;
        while rest.len() > LINE_MAX {
            let (head, tail) = rest.split_at(LINE_MAX);
            out.push(head);
            rest = tail;
        }
        if !rest.is_empty() {
            out.push(rest);
        }
    }
    out
}

/// Module names of `modules.builtin`, in file order, as depmod derives them.
fn builtin_names(text: Option<&str>) -> Vec<Vec<u8>> {
    let Some(text) = text else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for line in fgets_lines(text.as_bytes()) {
        if !line.first().is_some_and(u8::is_ascii_alphabetic) {
            continue;
        }
        let base = line.rsplit(|&b| b == b'/').next().unwrap_or(line);
        if base.is_empty() {
            continue;
        }
        let name: Vec<u8> = base
            .iter()
            .take_while(|&&b| b != b'.' && b != 0)
            .map(|&b| if b == b'-' { b'_' } else { b })
            .collect();
        out.push(name);
    }
    out
}

fn builtin_bin(text: Option<&str>) -> Result<Vec<u8>, Error> {
    if text.is_none() {
        return Ok(Vec::new());
    }
    let mut idx = IndexBuilder::new("modules.builtin.bin");
    for name in builtin_names(text) {
        idx.insert(&name, b"", 0)?;
    }
    idx.write()
}

/// A byte reader with `fgetc`/`feof` semantics.
struct Stream<'a> {
    data: &'a [u8],
    pos: usize,
    eof: bool,
}

impl Stream<'_> {
    fn getc(&mut self) -> Option<u8> {
        match self.data.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Some(b)
            }
            None => {
                self.eof = true;
                None
            }
        }
    }

    /// depmod's `flush_stream_to`: bytes up to `end` (exclusive); empty if
    /// the run ended on NUL or end of data instead.
    fn read_to(&mut self, end: u8) -> Vec<u8> {
        let mut buf = Vec::new();
        let last = loop {
            let c = self.getc();
            match c {
                Some(b) if b != end && b != 0 && buf.len() < LINE_MAX + 1 => buf.push(b),
                other => break other,
            }
        };
        if buf.len() == LINE_MAX + 1 {
            buf.pop();
        }
        if last == Some(end) { buf } else { Vec::new() }
    }

    /// depmod's `flush_stream`: skip to the next NUL.
    fn skip_to_nul(&mut self) {
        while let Some(b) = self.getc() {
            if b == 0 {
                break;
            }
        }
    }
}

/// (module, normalized alias) pairs of `modules.builtin.modinfo`, in order.
fn builtin_aliases(data: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut s = Stream {
        data,
        pos: 0,
        eof: false,
    };
    let mut out = Vec::new();
    while !s.eof {
        let module = s.read_to(b'.');
        if module.is_empty() {
            continue;
        }
        let key = s.read_to(b'=');
        if key != b"alias" {
            s.skip_to_nul();
            continue;
        }
        let value = s.read_to(0);
        if value.is_empty() {
            continue;
        }
        if let Some(alias) = normalize_alias(&value) {
            out.push((module, alias));
        }
    }
    out
}

fn builtin_alias_bin(data: Option<&[u8]>) -> Result<Vec<u8>, Error> {
    let Some(data) = data else {
        return Ok(Vec::new());
    };
    let mut idx = IndexBuilder::new("modules.builtin.alias.bin");
    for (module, alias) in builtin_aliases(data) {
        idx.insert(&alias, &module, 0)?;
    }
    idx.write()
}
