//! A driver RPM made from bare module files, the way XCP-ng's driver
//! packages are laid out: the modules under `/lib/modules/<kver>/<dir>/`,
//! `depmod -a <kver>` in `%post` and `%postun`, arch `x86_64`, versioned
//! after the modules' own `.modinfo` version.

use std::collections::BTreeMap;

use super::Error;
use super::kver::{check_vermagic, is_plain_kver};
use crate::kmod::ModuleInfo;
use crate::rpm::build::{DirSpec, KernelModules, build_package, kernel_module_spec};

/// Module folders a wrapped driver may install into, under
/// `/lib/modules/<kver>/`.
pub const MODULE_DIRS: [&str; 3] = ["updates", "extra", "override"];

/// What to wrap, as plain data.
#[derive(Debug, Clone, Copy)]
pub struct WrapSpec<'a> {
    /// Package name (e.g. `mpi3mr-module`).
    pub name: &'a str,
    /// Package version; `None`: the first module's `.modinfo` `version`.
    pub version: Option<&'a str>,
    /// Package release (e.g. `1.xcpng8.3`).
    pub release: &'a str,
    /// Kernel release the modules are for (e.g. `4.19.0+1`).
    pub kver: &'a str,
    /// Folder under `/lib/modules/<kver>/`: one of `MODULE_DIRS`.
    pub dir: &'a str,
    /// The modules: file name (`mpi3mr.ko`, `.ko.xz`, `.ko.zst`) and content.
    pub modules: &'a [(String, Vec<u8>)],
    /// Accept modules whose vermagic names another kernel.
    pub force: bool,
    /// Build time (seconds since 1970), also every file's time.
    pub build_time: u32,
    /// Build host to record.
    pub build_host: &'a str,
}

/// A wrapped driver package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wrapped {
    /// `name-version-release.x86_64.rpm`.
    pub file_name: String,
    /// The version chosen.
    pub version: String,
    /// Installed paths of the modules, in package order.
    pub paths: Vec<String>,
    /// The package.
    pub rpm: Vec<u8>,
}

/// Checks the modules (ELF, one file per module name, vermagic unless
/// `force`) and returns their metadata, in the order given.
pub fn check_modules(
    modules: &[(String, Vec<u8>)],
    kver: &str,
    force: bool,
) -> Result<Vec<ModuleInfo>, Error> {
    if modules.is_empty() {
        return Err(Error::NoModules);
    }
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    let mut out = Vec::with_capacity(modules.len());
    for (file, data) in modules {
        check_file_name(file)?;
        let info = ModuleInfo::parse(file, data).map_err(|source| Error::Module {
            file: file.clone(),
            source: Box::new(source),
        })?;
        check_vermagic(file, &info, kver, force)?;
        if let Some(first) = seen.insert(info.name().to_string(), file) {
            return Err(Error::DuplicateModule {
                name: info.name().to_string(),
                first: first.to_string(),
                second: file.clone(),
            });
        }
        out.push(info);
    }
    Ok(out)
}

fn check_file_name(file: &str) -> Result<(), Error> {
    let bad = |reason| Error::BadModuleName {
        name: file.to_string(),
        reason,
    };
    if file.contains('/') || file.contains('\\') || file.bytes().any(|c| c.is_ascii_control()) {
        return Err(bad("must be a plain file name"));
    }
    let stem = [".ko", ".ko.xz", ".ko.zst"]
        .iter()
        .find_map(|ext| file.strip_suffix(ext));
    match stem {
        Some(s) if !s.is_empty() && !s.starts_with('.') => Ok(()),
        _ => Err(bad("must be NAME.ko, NAME.ko.xz or NAME.ko.zst")),
    }
}

/// The package version the modules give: the first `.modinfo` `version`
/// usable as an RPM version (`-` becomes `_`, as rpm forbids it).
pub fn modinfo_version(infos: &[ModuleInfo]) -> Result<String, Error> {
    let mut tried = Vec::new();
    for info in infos {
        for v in info.modinfo_values("version") {
            let text = String::from_utf8_lossy(v).trim().replace('-', "_");
            let usable = !text.is_empty()
                && text
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"._+~^".contains(&c));
            if usable {
                return Ok(text);
            }
            tried.push(format!("{}: {text:?}", info.name()));
        }
    }
    if tried.is_empty() {
        tried.push("no module has a version field".into());
    }
    Err(Error::NoVersion {
        tried: tried.join(", "),
    })
}

/// Builds the driver RPM for `spec`: the same spec always gives the same
/// bytes.
pub fn wrap_modules(spec: &WrapSpec<'_>) -> Result<Wrapped, Error> {
    if !is_plain_kver(spec.kver) {
        return Err(Error::UnknownKernel {
            kver: spec.kver.to_string(),
            available: "a kernel release must be one path component".into(),
        });
    }
    if !MODULE_DIRS.contains(&spec.dir) {
        return Err(Error::BadModuleName {
            name: spec.dir.to_string(),
            reason: "the module folder must be updates, extra or override",
        });
    }
    let infos = check_modules(spec.modules, spec.kver, spec.force)?;
    let version = match spec.version {
        Some(v) => v.to_string(),
        None => modinfo_version(&infos)?,
    };
    let build_err = |source| Error::Build {
        name: spec.name.to_string(),
        source: Box::new(source),
    };
    let km = KernelModules {
        name: spec.name.to_string(),
        version: version.clone(),
        release: spec.release.to_string(),
        kernel_version: spec.kver.to_string(),
        modules: spec.modules.to_vec(),
    };
    let mut pkg = kernel_module_spec(&km, spec.build_time, spec.build_host).map_err(build_err)?;
    let updates = format!("/lib/modules/{}/updates/", spec.kver);
    let dir = format!("/lib/modules/{}/{}", spec.kver, spec.dir);
    for f in &mut pkg.files {
        if let Some(rest) = f.path.strip_prefix(&updates) {
            f.path = format!("{dir}/{rest}");
        }
    }
    pkg.dirs.push(DirSpec::new(dir, 0o755, spec.build_time));
    pkg.summary = format!("{} kernel modules for {}", spec.name, spec.kver);
    let paths = pkg.files.iter().map(|f| f.path.clone()).collect();
    let mut rpm = Vec::new();
    build_package(&pkg, &mut rpm).map_err(build_err)?;
    Ok(Wrapped {
        file_name: pkg.file_name(),
        version,
        paths,
        rpm,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        assert!(check_file_name("igc.ko").is_ok());
        assert!(check_file_name("igc.ko.xz").is_ok());
        assert!(check_file_name("igc.ko.zst").is_ok());
        assert!(check_file_name(".ko").is_err());
        assert!(check_file_name("../igc.ko").is_err());
        assert!(check_file_name("igc.o").is_err());
    }

    #[test]
    fn refuses_non_elf_and_empty() {
        let spec = WrapSpec {
            name: "x-module",
            version: Some("1.0"),
            release: "1",
            kver: "4.19.0+1",
            dir: "updates",
            modules: &[("x.ko".into(), b"not an elf file at all".to_vec())],
            force: false,
            build_time: 0,
            build_host: "localhost",
        };
        assert!(matches!(wrap_modules(&spec), Err(Error::Module { .. })));
        let empty = WrapSpec {
            modules: &[],
            ..spec
        };
        assert!(matches!(wrap_modules(&empty), Err(Error::NoModules)));
        let bad_dir = WrapSpec {
            dir: "../etc",
            ..spec
        };
        assert!(wrap_modules(&bad_dir).is_err());
    }
}
