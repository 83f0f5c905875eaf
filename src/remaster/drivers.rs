//! Step `[[drivers]]`: each driver's modules, firmware and modprobe.d files
//! go into install.img (handed to the installer step as puts, with the
//! module indexes regenerated for the kernel), and its RPM (given, or made
//! from bare modules) is handed to the packages step to be added to the
//! repository and installed on the new host. Runs before both.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::{Context, Error};
use crate::driver::{
    self, DriverFileKind, ImageModules, check_vermagic, index_files, read_driver_rpm, wrap,
};
use crate::initrd::{Content, PutEntry, PutKind};
use crate::iso::SourceIso;
use crate::kmod::ModuleInfo;
use crate::profile::{Driver, DriverSource, Origin};
use crate::treeinfo::TreeInfo;

/// The image inside the ISO.
const INSTALL_IMG: &str = "/install.img";
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
}

fn step_err(origin: &Origin, e: impl std::fmt::Display) -> Error {
    Error::Step {
        at: origin.to_string(),
        message: e.to_string(),
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
/// source's product version, as XCP-ng's driver packages are released.
fn wrap_release(source: &SourceIso) -> String {
    let version = source
        .read_file("/.treeinfo")
        .ok()
        .and_then(|t| TreeInfo::parse(&String::from_utf8_lossy(&t)).ok())
        .and_then(|t| {
            ["general", "release", "platform"]
                .iter()
                .find_map(|s| t.get(s, "version").map(str::to_string))
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

/// Applies `[[drivers]]`.
pub fn apply(
    source: &mut SourceIso,
    drivers: &[Driver],
    cx: &mut Context<'_>,
) -> Result<Outcome, Error> {
    let mut out = Outcome::default();
    let Some(first) = drivers.first() else {
        return Ok(out);
    };
    let mtime = u32::try_from(cx.time).unwrap_or(u32::MAX);
    let bar = cx
        .progress
        .spinner("reading the module trees of install.img");
    let reader = std::io::BufReader::with_capacity(
        1 << 20,
        source
            .open_file(INSTALL_IMG)
            .map_err(|e| step_err(&first.origin, e))?,
    );
    let image = ImageModules::read(reader).map_err(|e| step_err(&first.origin, e))?;
    bar.finish_and_clear();

    let mut added: BTreeMap<String, BTreeMap<String, ModuleInfo>> = BTreeMap::new();
    let mut puts: BTreeMap<String, PutEntry> = BTreeMap::new();
    let mut install = BTreeSet::new();
    for d in drivers {
        let err = |e: driver::Error| step_err(&d.origin, e);
        match &d.source {
            DriverSource::Rpm(rpm) => {
                let label = rpm.value.display().to_string();
                let file = std::fs::File::open(&rpm.value).map_err(|e| step_err(&rpm.origin, e))?;
                let payload = read_driver_rpm(&label, std::io::BufReader::new(file))
                    .map_err(|e| step_err(&rpm.origin, e))?;
                let kernels: Vec<String> = payload
                    .kernels()
                    .into_iter()
                    .filter(|k| image.kernels.contains_key(k))
                    .collect();
                if kernels.is_empty() && d.installer {
                    return Err(step_err(
                        &rpm.origin,
                        driver::Error::RpmKernelMismatch {
                            file: label,
                            found: payload.kernels().join(", "),
                            available: image.kernel_versions().join(", "),
                        },
                    ));
                }
                if d.installer {
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
                                let base = &image.kernels[kver].base;
                                puts.insert(
                                    format!("{base}/{rel}"),
                                    file_put(format!("{base}/{rel}"), f.data.clone(), 0o644, mtime),
                                );
                                added
                                    .entry(kver.clone())
                                    .or_default()
                                    .insert(rel.clone(), info);
                            }
                            DriverFileKind::Firmware | DriverFileKind::Modprobe => {
                                let entry = if f.symlink {
                                    PutEntry {
                                        path: f.path.clone().into_bytes(),
                                        kind: PutKind::Symlink(f.data.clone()),
                                        mode: 0o777,
                                        uid: 0,
                                        gid: 0,
                                        mtime,
                                    }
                                } else {
                                    file_put(
                                        f.path.clone(),
                                        f.data.clone(),
                                        f.mode & 0o755 | 0o644,
                                        mtime,
                                    )
                                };
                                puts.insert(f.path.clone(), entry);
                            }
                        }
                    }
                }
                if d.system {
                    out.add.push(rpm.value.clone());
                    install.insert(payload.header.name.clone());
                }
                cx.report.steps.push(format!(
                    "drivers: {} ({} files{})",
                    payload.header.nevra(),
                    payload.files.len(),
                    if d.installer {
                        ", into install.img"
                    } else {
                        ""
                    }
                ));
            }
            DriverSource::Modules {
                modules,
                package,
                version,
            } => {
                let kver = image
                    .choose_kernel(modules.kernel.as_ref().map(|k| k.value.as_str()))
                    .map_err(|e| match &modules.kernel {
                        Some(k) => step_err(&k.origin, e),
                        None => step_err(&d.origin, e),
                    })?;
                let mut files = Vec::with_capacity(modules.ko.len());
                for ko in &modules.ko {
                    let data = std::fs::read(&ko.value).map_err(|e| step_err(&ko.origin, e))?;
                    let name = ko
                        .value
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    files.push((name, data));
                }
                let dir = modules.dir.as_str();
                wrap::check_modules(&files, &kver, d.force).map_err(err)?;
                if d.installer {
                    let base = &image.kernels[&kver].base;
                    for (name, data) in &files {
                        let rel = format!("{dir}/{name}");
                        let info = ModuleInfo::parse(&rel, data)
                            .map_err(|source| driver::Error::Module {
                                file: name.clone(),
                                source: Box::new(source),
                            })
                            .map_err(err)?;
                        puts.insert(
                            format!("{base}/{rel}"),
                            file_put(format!("{base}/{rel}"), data.clone(), 0o644, mtime),
                        );
                        added.entry(kver.clone()).or_default().insert(rel, info);
                    }
                }
                if d.system {
                    let release = wrap_release(source);
                    let wrapped = wrap::wrap_modules(&wrap::WrapSpec {
                        name: &package.value,
                        version: version.as_ref().map(|v| v.value.as_str()),
                        release: &release,
                        kver: &kver,
                        dir,
                        modules: &files,
                        force: d.force,
                        build_time: mtime,
                        build_host: BUILD_HOST,
                    })
                    .map_err(|e| step_err(&package.origin, e))?;
                    let path = cx.workdir.join(&wrapped.file_name);
                    std::fs::write(&path, &wrapped.rpm)
                        .map_err(|e| step_err(&package.origin, e))?;
                    cx.report.steps.push(format!(
                        "drivers: wrapped {} module(s) into {}",
                        files.len(),
                        wrapped.file_name
                    ));
                    out.add.push(path);
                    install.insert(package.value.clone());
                }
            }
        }
    }
    for (kver, modules) in &added {
        let list: Vec<ModuleInfo> = modules.values().cloned().collect();
        for (path, data) in
            index_files(&image, kver, &list).map_err(|e| step_err(&first.origin, e))?
        {
            puts.insert(path.clone(), file_put(path, data, 0o644, mtime));
        }
        cx.report.steps.push(format!(
            "drivers: {} module(s) added to install.img for kernel {kver}, indexes regenerated",
            modules.len()
        ));
    }
    out.initrd = puts.into_values().collect();
    out.install = install.into_iter().collect();
    Ok(out)
}
