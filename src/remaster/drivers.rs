//! Step `[[drivers]]`: each driver's modules, firmware and modprobe.d files
//! go into install.img (handed to the installer step as puts, with the
//! module indexes regenerated for the kernel), and its RPM (given, or made
//! from bare modules) is handed to the packages step to be added to the
//! repository and installed on the new host. Runs before both.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::{At, Context, Error, PackageFileError};
use crate::driver::{
    self, DriverFile, DriverFileKind, ImageModules, check_vermagic, index_files, read_driver_rpm,
    wrap,
};
use crate::initrd::{Content, PutEntry, PutKind};
use crate::iso::SourceIso;
use crate::kmod::ModuleInfo;
use crate::profile::{Driver, DriverSource, InstallerEdits, Located, ModuleSet, Origin};
use crate::treeinfo::TreeInfo;

/// The image inside the ISO.
use crate::xcpng::INSTALL_IMG;
/// Build host recorded in wrapped driver packages.
const BUILD_HOST: &str = "isoremix";

/// What the drivers hand to later steps.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Entries for install.img: module files, firmware, modprobe.d files and
    /// the regenerated module indexes.
    pub initrd: Vec<PutEntry>,
    /// RPM files to add to the repository.
    pub add: Vec<PathBuf>,
    /// Package names the installer must install.
    pub install: Vec<String>,
    /// install.img as read here, for the installer step to rewrite without reading it again.
    pub install_img: Option<crate::initrd::SourceRead>,
}

/// The driver layer's error `e` for the driver value at `origin`.
fn refused(origin: &Origin) -> impl FnOnce(driver::Error) -> Error + '_ {
    move |e| Error::Driver {
        at: At::from(origin),
        source: Box::new(e),
    }
}

/// The error for `action` on the host file `path` the driver value at `origin` names.
fn host_file(
    origin: &Origin,
    action: &'static str,
    path: &Path,
) -> impl FnOnce(std::io::Error) -> Error {
    let (at, path) = (At::from(origin), path.to_path_buf());
    move |source| Error::HostFile {
        at,
        action,
        path,
        source,
    }
}

fn file_put(path: String, data: Vec<u8>, mode: u32, mtime: u32) -> PutEntry {
    PutEntry {
        path: path.into_bytes(),
        kind: PutKind::File(Content::Bytes(data)),
        mode,
        uid: 0,
        gid: 0,
        mtime,
    }
}

/// The release of wrapped packages: `1.xcpng<major.minor>` after the
/// source's product version (`.treeinfo`), as XCP-ng's driver packages are
/// released; `1` when the source does not say.
fn wrap_release(source: &SourceIso) -> String {
    let version = source
        .read_file(crate::xcpng::TREEINFO)
        .ok()
        .and_then(|t| TreeInfo::parse(&String::from_utf8_lossy(&t)).ok())
        .and_then(|t| {
            [
                ("system-v1", "product_version"),
                ("branding", "version"),
                ("general", "version"),
            ]
            .iter()
            .find_map(|(s, k)| t.get(s, k).map(str::to_string))
        });
    match version {
        Some(v) => {
            let short: Vec<&str> = v.split('.').take(2).collect();
            let tag = short.join(".");
            if !tag.is_empty() && tag.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'.') {
                format!("1.xcpng{tag}")
            } else {
                "1".into()
            }
        }
        None => "1".into(),
    }
}

/// What the drivers bring into install.img, collected before the indexes
/// are regenerated.
#[derive(Default)]
struct ForImage {
    /// Entries by path (a later driver's file wins).
    puts: BTreeMap<String, PutEntry>,
    /// Added modules by kernel, then by path under the kernel's folder.
    modules: BTreeMap<String, BTreeMap<String, ModuleInfo>>,
}

impl ForImage {
    fn module(
        &mut self,
        image: &ImageModules,
        kver: &str,
        rel: &str,
        data: &[u8],
        info: ModuleInfo,
        mtime: u32,
    ) {
        let base = image
            .kernels
            .get(kver)
            .map_or("lib/modules", |k| k.base.as_str());
        let path = format!("{base}/{rel}");
        self.puts
            .insert(path.clone(), file_put(path, data.to_vec(), 0o644, mtime));
        self.modules
            .entry(kver.to_string())
            .or_default()
            .insert(rel.to_string(), info);
    }

    fn file(&mut self, f: &DriverFile, mtime: u32) {
        let kind = if f.symlink {
            PutKind::Symlink(f.data.clone())
        } else {
            PutKind::File(Content::Bytes(f.data.clone()))
        };
        let mode = if f.symlink {
            0o777
        } else {
            (f.mode & 0o755) | 0o644
        };
        self.puts.insert(
            f.path.clone(),
            PutEntry {
                path: f.path.clone().into_bytes(),
                kind,
                mode,
                uid: 0,
                gid: 0,
                mtime,
            },
        );
    }
}

/// Everything the steps share while the drivers are applied.
struct Run<'a> {
    image: ImageModules,
    mtime: u32,
    for_image: ForImage,
    out: Outcome,
    install: BTreeSet<String>,
    release: String,
    workdir: &'a std::path::Path,
}

/// Applies `[[drivers]]`.
pub fn apply(
    source: &mut SourceIso,
    drivers: &[Driver],
    installer: &InstallerEdits,
    cx: &mut Context<'_>,
) -> Result<Outcome, Error> {
    let Some(first) = drivers.first() else {
        return Ok(Outcome::default());
    };
    // Only a driver RPM bound for the host alone needs nothing from install.img.
    let needs_image = drivers
        .iter()
        .any(|d| d.installer || matches!(d.source, DriverSource::Modules { .. }));
    // One read of install.img serves the module trees here and the installer step's rewrite.
    let (image, install_img) = if needs_image {
        let err = |e: driver::Error| refused(&first.origin)(e);
        let file = source.open_file(INSTALL_IMG).map_err(|e| Error::IsoEdit {
            at: At::from(&first.origin),
            action: "read",
            path: INSTALL_IMG.to_string(),
            source: Box::new(e),
        })?;
        let len = file.len();
        let options = super::installer::rewrite_options(installer, cx);
        let mut image = ImageModules::default();
        let mut failed = None;
        let read = crate::initrd::read_source(
            file,
            len,
            super::installer::likely_repack(installer),
            "reading install.img's module trees",
            &options,
            &mut |entry, data| match image.visit(entry, data, &|_| false, &mut BTreeMap::new()) {
                Ok(()) => true,
                Err(e) => {
                    failed = Some(e);
                    false
                }
            },
        );
        if let Some(e) = failed {
            return Err(err(e));
        }
        let read = read.map_err(|e| err(driver::Error::Image(Box::new(e))))?;
        (image, Some(read))
    } else {
        (ImageModules::default(), None)
    };

    let mut run = Run {
        image,
        mtime: u32::try_from(cx.time).unwrap_or(u32::MAX),
        for_image: ForImage::default(),
        out: Outcome::default(),
        install: BTreeSet::new(),
        release: wrap_release(source),
        workdir: cx.workdir,
    };
    for d in drivers {
        let line = match &d.source {
            DriverSource::Rpm(rpm) => driver_rpm(&mut run, d, rpm)?,
            DriverSource::Modules {
                modules,
                package,
                version,
            } => bare_modules(&mut run, d, modules, package, version.as_ref())?,
        };
        cx.report.steps.push(line);
    }
    let Run {
        image,
        mtime,
        mut for_image,
        mut out,
        install,
        ..
    } = run;
    for (kver, modules) in &for_image.modules {
        let list: Vec<ModuleInfo> = modules.values().cloned().collect();
        let files = index_files(&image, kver, &list).map_err(refused(&first.origin))?;
        for (path, data) in files {
            for_image
                .puts
                .insert(path.clone(), file_put(path, data, 0o644, mtime));
        }
        cx.report.steps.push(format!(
            "drivers: {} module(s) added to install.img for kernel {kver}, indexes regenerated",
            modules.len()
        ));
    }
    out.initrd = for_image.puts.into_values().collect();
    out.install_img = install_img;
    out.install = install.into_iter().collect();
    Ok(out)
}

/// A driver RPM: its files for install.img, the package for the repository.
fn driver_rpm(run: &mut Run<'_>, d: &Driver, rpm: &Located<PathBuf>) -> Result<String, Error> {
    let err = |e: driver::Error| refused(&rpm.origin)(e);
    let label = rpm.value.display().to_string();
    let open =
        || crate::input::open(&rpm.value).map_err(host_file(&rpm.origin, "read", &rpm.value));
    let payload = read_driver_rpm(&label, std::io::BufReader::new(open()?)).map_err(err)?;
    crate::rpm::check_digests(&mut std::io::BufReader::new(open()?)).map_err(|e| {
        Error::PackageRead {
            at: At::from(&rpm.origin),
            path: rpm.value.clone(),
            source: PackageFileError::Damaged(Box::new(e)),
        }
    })?;
    if d.installer {
        let kernels: Vec<String> = payload
            .kernels()
            .into_iter()
            .filter(|k| run.image.kernels.contains_key(k))
            .collect();
        if kernels.is_empty() {
            return Err(err(driver::Error::RpmKernelMismatch {
                file: label,
                found: payload.kernels().join(", "),
                available: run.image.kernel_versions().join(", "),
            }));
        }
        for f in &payload.files {
            match &f.kind {
                DriverFileKind::Module { kver, rel } => {
                    if !kernels.contains(kver) {
                        continue;
                    }
                    let info = ModuleInfo::parse(rel, &f.data)
                        .map_err(|source| driver::Error::Module {
                            file: format!("{label}: {}", f.path),
                            source: Box::new(source),
                        })
                        .map_err(err)?;
                    check_vermagic(&f.path, &info, kver, d.force).map_err(err)?;
                    run.for_image
                        .module(&run.image, kver, rel, &f.data, info, run.mtime);
                }
                DriverFileKind::Firmware | DriverFileKind::Modprobe => {
                    run.for_image.file(f, run.mtime)
                }
            }
        }
    }
    if d.system {
        run.out.add.push(rpm.value.clone());
        run.install.insert(payload.header.name.clone());
    }
    Ok(format!(
        "drivers: {} ({} files{}{})",
        payload.header.nevra(),
        payload.files.len(),
        if d.installer {
            ", into install.img"
        } else {
            ""
        },
        if d.system {
            ", installed on the host"
        } else {
            ""
        }
    ))
}

/// Bare modules: into install.img as they are, and wrapped into a driver
/// RPM for the repository.
fn bare_modules(
    run: &mut Run<'_>,
    d: &Driver,
    modules: &ModuleSet,
    package: &Located<String>,
    version: Option<&Located<String>>,
) -> Result<String, Error> {
    let kver = run
        .image
        .choose_kernel(modules.kernel.as_ref().map(|k| k.value.as_str()))
        .map_err(refused(
            modules.kernel.as_ref().map_or(&d.origin, |k| &k.origin),
        ))?;
    let mut files = Vec::with_capacity(modules.ko.len());
    for ko in &modules.ko {
        let data =
            crate::input::read(&ko.value).map_err(host_file(&ko.origin, "read", &ko.value))?;
        let name = ko
            .value
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        files.push((name, data));
    }
    let dir = modules.dir.as_str();
    wrap::check_modules(&files, &kver, d.force).map_err(refused(&d.origin))?;
    if d.installer {
        for (name, data) in &files {
            let rel = format!("{dir}/{name}");
            let info = ModuleInfo::parse(&rel, data).map_err(|source| {
                refused(&d.origin)(driver::Error::Module {
                    file: name.clone(),
                    source: Box::new(source),
                })
            })?;
            run.for_image
                .module(&run.image, &kver, &rel, data, info, run.mtime);
        }
    }
    let mut line = format!(
        "drivers: {} module(s) for kernel {kver}{}",
        files.len(),
        if d.installer {
            ", into install.img"
        } else {
            ""
        }
    );
    if d.system {
        let wrapped = wrap::wrap_modules(&wrap::WrapSpec {
            name: &package.value,
            version: version.map(|v| v.value.as_str()),
            release: &run.release,
            kver: &kver,
            dir,
            modules: &files,
            force: d.force,
            build_time: run.mtime,
            build_host: BUILD_HOST,
        })
        .map_err(refused(&package.origin))?;
        let path = run.workdir.join(&wrapped.file_name);
        std::fs::write(&path, &wrapped.rpm).map_err(host_file(&package.origin, "write", &path))?;
        line.push_str(&format!(", wrapped into {}", wrapped.file_name));
        run.out.add.push(path);
        run.install.insert(package.value.clone());
    }
    Ok(line)
}
