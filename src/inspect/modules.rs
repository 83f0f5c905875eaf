//! The kernels and modules of install.img as `inspect` shows them (`--modules`).

use std::fmt::Write as _;

use serde::Serialize;

use crate::iso::SourceIso;
use crate::xcpng::INSTALL_IMG;

/// The kernels and modules of install.img.
#[derive(Debug, Clone, Serialize)]
pub struct ModulesSection {
    /// One entry per `/lib/modules/<kver>/`.
    pub kernels: Vec<KernelSection>,
    /// Module files that could not be read, with the reason.
    pub unreadable: Vec<String>,
    /// Why install.img could not be read, if it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One kernel's modules.
#[derive(Debug, Clone, Serialize)]
pub struct KernelSection {
    /// The kernel release.
    pub kernel: String,
    /// Module files.
    pub module_files: usize,
    /// Module files added or replaced after the image's first segment (by
    /// an appended overlay): the modules that differ from the source.
    pub overlaid: Vec<String>,
    /// Modules modprobe takes from outside `kernel/` (`updates/`, `extra/`,
    /// `override/`...), as `name path`.
    pub swapped: Vec<String>,
    /// For the `--module` name: what modprobe would load, dependencies
    /// first (`path` or `builtin NAME`); empty when nothing matches.
    pub lookup: Option<Vec<String>>,
}

/// Reads install.img once and reports its kernels, the modules that differ
/// from the source image and, for `module`, what modprobe would load.
/// `None` when the image has no `/install.img`; an install.img that cannot be
/// read is reported in [`ModulesSection::error`].
pub fn modules(source: &SourceIso, module: Option<&str>) -> Option<ModulesSection> {
    if !source.exists(INSTALL_IMG) {
        return None;
    }
    Some(
        read_modules(source, module).unwrap_or_else(|e| ModulesSection {
            kernels: Vec::new(),
            unreadable: Vec::new(),
            error: Some(e.to_string()),
        }),
    )
}

fn read_modules(
    source: &SourceIso,
    module: Option<&str>,
) -> Result<ModulesSection, crate::driver::Error> {
    use crate::driver::{Error, ImageModules};
    use crate::kmod::Resolved;
    let file = source
        .open_file(INSTALL_IMG)
        .map_err(|e| Error::ImageFile {
            path: INSTALL_IMG.into(),
            source: std::io::Error::other(e.to_string()),
        })?;
    let image = ImageModules::read(std::io::BufReader::with_capacity(1 << 20, file))?;
    let mut kernels = Vec::new();
    for (kver, k) in &image.kernels {
        let depmod = image.depmod(kver, &[])?;
        let resolver = depmod.resolver().map_err(|e| Error::Depmod {
            kver: kver.clone(),
            source: Box::new(e),
        })?;
        let swapped = resolver
            .modules()
            .filter(|(_, path)| !path.starts_with("kernel/"))
            .map(|(name, path)| format!("{name} {path}"))
            .collect();
        let lookup = match module {
            None => None,
            Some(name) => {
                let deps = depmod.dependencies().map_err(|e| Error::Depmod {
                    kver: kver.clone(),
                    source: Box::new(e),
                })?;
                let mut chain = Vec::new();
                let mut seen = std::collections::BTreeSet::new();
                for r in resolver.resolve(name) {
                    match r {
                        Resolved::Module { path, .. } => {
                            load_order(&path, &deps, &mut seen, &mut chain)
                        }
                        Resolved::Builtin { name } => chain.push(format!("builtin {name}")),
                    }
                }
                let base = &k.base;
                Some(
                    chain
                        .into_iter()
                        .map(|p| {
                            if p.starts_with("builtin ") {
                                p
                            } else {
                                format!("{base}/{p}")
                            }
                        })
                        .collect(),
                )
            }
        };
        kernels.push(KernelSection {
            kernel: kver.clone(),
            module_files: k.modules.len(),
            overlaid: k.overlaid.iter().cloned().collect(),
            swapped,
            lookup,
        });
    }
    Ok(ModulesSection {
        kernels,
        unreadable: image
            .unreadable
            .iter()
            .map(|(p, e)| format!("{p}: {e}"))
            .collect(),
        error: None,
    })
}

/// Appends `path` after its dependencies, each once, in the order modprobe
/// loads them (each dependency of the `modules.dep` line, depth first).
fn load_order(
    path: &str,
    deps: &std::collections::BTreeMap<String, Vec<String>>,
    seen: &mut std::collections::BTreeSet<String>,
    chain: &mut Vec<String>,
) {
    if !seen.insert(path.to_string()) {
        return;
    }
    // Each list holds every indirect dependency too, so one level is
    // enough for a correct order; deeper levels only refine it.
    if seen.len() < 4096 {
        for d in deps.get(path).into_iter().flatten() {
            load_order(d, deps, seen, chain);
        }
    }
    chain.push(path.to_string());
}

impl ModulesSection {
    /// The human-readable section.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "install.img kernels:");
        if let Some(e) = &self.error {
            let _ = writeln!(s, "  cannot read install.img: {e}");
        } else if self.kernels.is_empty() {
            let _ = writeln!(s, "  none (no /lib/modules/<kernel>/)");
        }
        for k in &self.kernels {
            let _ = writeln!(s, "  {}: {} module files", k.kernel, k.module_files);
            for m in &k.overlaid {
                let _ = writeln!(s, "    differs from the source (overlay): {m}");
            }
            for m in &k.swapped {
                let _ = writeln!(s, "    loaded from outside kernel/: {m}");
            }
            if let Some(chain) = &k.lookup {
                if chain.is_empty() {
                    let _ = writeln!(s, "    modprobe: nothing matches");
                }
                for p in chain {
                    let _ = writeln!(s, "    modprobe loads: {p}");
                }
            }
        }
        for u in &self.unreadable {
            let _ = writeln!(s, "  unreadable module: {u}");
        }
        s
    }
}
