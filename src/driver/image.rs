//! One streaming pass over an install.img collecting what depmod needs for
//! each kernel in it (module metadata, `modules.builtin`,
//! `modules.builtin.modinfo`, `modules.order`, depmod.d files), and the
//! index files regenerated with new modules in place.
//!
//! Later entries of the image replace earlier ones of the same path, as
//! when the kernel unpacks it. Module files are read one at a time and only
//! their metadata is kept.
//!
//! Modules of depmod.d `external` directories are not collected: depmod
//! reads those from the running system, outside `/lib/modules/<kver>/`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use super::Error;
use super::kver::is_plain_kver;
use super::rpm_payload::clean_path;
use crate::initrd::newc::{S_IFDIR, S_IFREG};
use crate::initrd::{Entry, Reader};
use crate::kmod::{self, CONFIG_DIRS, Depmod, MAX_MODULE_SIZE, ModuleInfo};

/// Largest `modules.builtin*` / `modules.order` / depmod.d file read.
const MAX_TEXT_SIZE: u64 = 64 << 20;

/// Module folders of an image, tried in this order (`/lib` may be a link
/// to `/usr/lib`).
const MODULE_ROOTS: [&str; 2] = ["lib/modules/", "usr/lib/modules/"];

/// What one kernel's module folder of the image holds.
#[derive(Debug, Clone, Default)]
pub struct KernelModules {
    /// The folder, relative to the image root (`lib/modules/4.19.0+1`).
    pub base: String,
    /// Module metadata by path under the folder (`kernel/drivers/...ko.xz`).
    pub modules: BTreeMap<String, ModuleInfo>,
    /// `modules.builtin`, if present.
    pub builtin: Option<Vec<u8>>,
    /// `modules.builtin.modinfo`, if present.
    pub builtin_modinfo: Option<Vec<u8>>,
    /// `modules.order`, if present.
    pub order: Option<Vec<u8>>,
    /// Module paths (under the folder) whose file comes from a segment after
    /// the image's first: added or replaced by an appended overlay.
    pub overlaid: BTreeSet<String>,
}

/// The module trees of an install.img.
#[derive(Debug, Clone, Default)]
pub struct ImageModules {
    /// Each kernel found under `/lib/modules/`, by release.
    pub kernels: BTreeMap<String, KernelModules>,
    /// depmod.d files as ((index in [`CONFIG_DIRS`], base name), text).
    pub configs: BTreeMap<(usize, String), String>,
    /// Module files of the image that could not be read (depmod skips them
    /// too), with the reason.
    pub unreadable: Vec<(String, String)>,
}

/// Where a path of the image is in a kernel's module folder.
fn in_module_root(path: &str) -> Option<(&'static str, &str, &str)> {
    for root in MODULE_ROOTS {
        if let Some(rest) = path.strip_prefix(root) {
            let (kver, rel) = rest.split_once('/').unwrap_or((rest, ""));
            if is_plain_kver(kver) {
                return Some((root, kver, rel));
            }
        }
    }
    None
}

fn read_limited(
    data_in: &mut dyn Read,
    path: &str,
    size: u64,
    limit: u64,
) -> Result<Vec<u8>, Error> {
    if size > limit {
        return Err(Error::ImageFile {
            path: path.to_string(),
            source: std::io::Error::other(format!("{size} bytes, more than the {limit} allowed")),
        });
    }
    let mut data = Vec::with_capacity(size.min(1 << 20) as usize);
    data_in
        .read_to_end(&mut data)
        .map_err(|source| Error::ImageFile {
            path: path.to_string(),
            source,
        })?;
    Ok(data)
}

impl ImageModules {
    /// Reads an install.img once.
    pub fn read(input: impl Read) -> Result<Self, Error> {
        Self::read_keeping(input, &|_| false).map(|(modules, _)| modules)
    }

    /// Reads an install.img once, also keeping the content of the regular files whose path
    /// (relative to the image root) `keep` accepts, as the kernel would unpack them (a later
    /// entry replaces an earlier one). Each kept file is limited to 64 MiB.
    pub fn read_keeping(
        input: impl Read,
        keep: &dyn Fn(&str) -> bool,
    ) -> Result<(Self, BTreeMap<String, Vec<u8>>), Error> {
        let mut out = ImageModules::default();
        let mut kept = BTreeMap::new();
        let mut reader = Reader::new(input);
        while let Some(entry) = reader.next_entry().map_err(|e| Error::Image(Box::new(e)))? {
            out.visit(&entry, &mut reader.data(), keep, &mut kept)?;
        }
        Ok((out, kept))
    }

    /// Takes in one entry of the image (`data` reads its data), as [`ImageModules::read_keeping`]
    /// does for each: for a caller that reads the image for other reasons too.
    pub fn visit(
        &mut self,
        entry: &Entry,
        data: &mut dyn Read,
        keep: &dyn Fn(&str) -> bool,
        kept: &mut BTreeMap<String, Vec<u8>>,
    ) -> Result<(), Error> {
        let Some(path) = clean_path(&entry.name) else {
            return Ok(());
        };
        let file_type = entry.header.file_type();
        let size = u64::from(entry.header.filesize);
        let regular = file_type == S_IFREG && !(size == 0 && entry.header.nlink > 1);
        if keep(&path) {
            kept.remove(&path);
            if regular {
                let data = read_limited(data, &path, size, MAX_TEXT_SIZE)?;
                kept.insert(path, data);
            }
            return Ok(());
        }
        if let Some((root, kver, rel)) = in_module_root(&path) {
            let kernel = self
                .kernels
                .entry(kver.to_string())
                .or_insert_with(|| KernelModules {
                    base: format!("{root}{kver}"),
                    ..KernelModules::default()
                });
            if rel.is_empty() {
                if file_type != S_IFDIR {
                    self.kernels.remove(kver);
                }
                return Ok(());
            }
            // depmod never descends into folders named `build` or `source`.
            let skipped = rel.split('/').any(|c| c == "build" || c == "source");
            if kmod::is_module_path(rel) && !skipped {
                kernel.modules.remove(rel);
                if entry.segment > 0 {
                    kernel.overlaid.insert(rel.to_string());
                } else {
                    kernel.overlaid.remove(rel);
                }
                if !regular {
                    return Ok(());
                }
                let data = read_limited(data, &path, size, MAX_MODULE_SIZE)?;
                match ModuleInfo::parse(rel, &data) {
                    Ok(info) => {
                        kernel.modules.insert(rel.to_string(), info);
                    }
                    Err(e) => self.unreadable.push((path.clone(), e.to_string())),
                }
                return Ok(());
            }
            let slot = match rel {
                "modules.builtin" => &mut kernel.builtin,
                "modules.builtin.modinfo" => &mut kernel.builtin_modinfo,
                "modules.order" => &mut kernel.order,
                _ => return Ok(()),
            };
            *slot = if regular {
                Some(read_limited(data, &path, size, MAX_TEXT_SIZE)?)
            } else {
                None
            };
            return Ok(());
        }
        for (i, dir) in CONFIG_DIRS.iter().enumerate() {
            let Some(name) = path.strip_prefix(dir).and_then(|r| r.strip_prefix('/')) else {
                continue;
            };
            if name.contains('/') || !kmod::is_config_name(name) {
                break;
            }
            let key = (i, name.to_string());
            if regular {
                let data = read_limited(data, &path, size, MAX_TEXT_SIZE)?;
                self.configs
                    .insert(key, String::from_utf8_lossy(&data).into_owned());
            } else {
                self.configs.remove(&key);
            }
            break;
        }
        Ok(())
    }

    /// The kernel releases found, sorted.
    pub fn kernel_versions(&self) -> Vec<&str> {
        self.kernels.keys().map(String::as_str).collect()
    }

    fn available(&self) -> String {
        if self.kernels.is_empty() {
            "none".into()
        } else {
            self.kernel_versions().join(", ")
        }
    }

    /// The kernel to use: `wanted` if the image has it, else the image's
    /// only kernel.
    pub fn choose_kernel(&self, wanted: Option<&str>) -> Result<String, Error> {
        match wanted {
            Some(k) if self.kernels.contains_key(k) => Ok(k.to_string()),
            Some(k) => Err(Error::UnknownKernel {
                kver: k.to_string(),
                available: self.available(),
            }),
            None => match self.kernel_versions().as_slice() {
                [] => Err(Error::NoKernel),
                [one] => Ok(one.to_string()),
                _ => Err(Error::SeveralKernels {
                    found: self.available(),
                }),
            },
        }
    }

    /// The depmod inputs for kernel `kver` as the image has them, with
    /// `added` modules in place (a module at an existing path replaces it).
    pub fn depmod(&self, kver: &str, added: &[ModuleInfo]) -> Result<Depmod, Error> {
        let kernel = self.kernels.get(kver).ok_or_else(|| Error::UnknownKernel {
            kver: kver.to_string(),
            available: self.available(),
        })?;
        let depmod_err = |source| Error::Depmod {
            kver: kver.to_string(),
            source: Box::new(source),
        };
        let mut depmod = Depmod::new(kver);
        for ((_, name), text) in &self.configs {
            depmod.add_config(name, text).map_err(depmod_err)?;
        }
        if let Some(data) = &kernel.builtin {
            depmod.set_builtin(&String::from_utf8_lossy(data));
        }
        if let Some(data) = &kernel.builtin_modinfo {
            depmod.set_builtin_modinfo(data);
        }
        if let Some(data) = &kernel.order {
            depmod.set_order(&String::from_utf8_lossy(data));
        }
        for info in kernel.modules.values().chain(added) {
            depmod.add_module(info.clone());
        }
        Ok(depmod)
    }
}

/// Every file depmod writes for kernel `kver` of the image with `added`
/// modules in place, as (path relative to the image root, content).
pub fn index_files(
    image: &ImageModules,
    kver: &str,
    added: &[ModuleInfo],
) -> Result<Vec<(String, Vec<u8>)>, Error> {
    let depmod = image.depmod(kver, added)?;
    let base = image
        .kernels
        .get(kver)
        .map(|k| k.base.clone())
        .unwrap_or_default();
    let files = depmod.write().map_err(|source| Error::Depmod {
        kver: kver.to_string(),
        source: Box::new(source),
    })?;
    Ok(files
        .into_iter()
        .map(|(name, data)| (format!("{base}/{name}"), data))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::initrd::NewcWriter;
    use crate::initrd::compression::{Compression, compress};
    use crate::initrd::newc::{Header, S_IFDIR, S_IFLNK, S_IFREG};

    fn archive(entries: &[(&str, u32, &[u8])]) -> Vec<u8> {
        let mut w = NewcWriter::new(Vec::new());
        for (i, (name, kind, data)) in entries.iter().enumerate() {
            let h = Header {
                ino: i as u32 + 1,
                mode: kind | if *kind == S_IFDIR { 0o755 } else { 0o644 },
                nlink: 1,
                ..Header::default()
            };
            w.append_bytes(&h, name.as_bytes(), data).unwrap();
        }
        compress(Compression::Gzip, &w.finish().unwrap()).unwrap()
    }

    #[test]
    fn kernels_lists_configs_and_overlaid_modules() {
        let mut img = archive(&[
            ("lib/modules/4.19.0+1", S_IFDIR, b""),
            (
                "lib/modules/4.19.0+1/modules.order",
                S_IFREG,
                b"kernel/a.ko\n",
            ),
            ("lib/modules/4.19.0+1/kernel/bad.ko", S_IFREG, b"not elf"),
            (
                "lib/modules/4.19.0+1/build/skipped.ko",
                S_IFREG,
                b"never read",
            ),
            ("lib/modules/../../etc/x.ko", S_IFREG, b"outside"),
            (
                "usr/lib/modules/5.0.0/modules.builtin",
                S_IFREG,
                b"kernel/b.ko\n",
            ),
            (
                "etc/depmod.d/dist.conf",
                S_IFREG,
                b"search updates built-in\n",
            ),
            ("etc/depmod.d/notes.txt", S_IFREG, b"ignored"),
            ("lib/depmod.d/dist.conf", S_IFREG, b"search extra\n"),
        ]);
        img.extend(archive(&[
            (
                "lib/modules/4.19.0+1/updates/bad2.ko",
                S_IFREG,
                b"still not elf",
            ),
            (
                "lib/modules/4.19.0+1/modules.builtin",
                S_IFLNK,
                b"elsewhere",
            ),
        ]));
        let image = ImageModules::read(&img[..]).unwrap();
        assert_eq!(image.kernel_versions(), ["4.19.0+1", "5.0.0"]);
        assert_eq!(image.kernels["5.0.0"].base, "usr/lib/modules/5.0.0");
        assert_eq!(
            image.kernels["4.19.0+1"].order.as_deref(),
            Some(&b"kernel/a.ko\n"[..])
        );
        assert_eq!(image.kernels["4.19.0+1"].builtin, None);
        assert_eq!(image.unreadable.len(), 2);
        assert!(image.unreadable[0].0.ends_with("kernel/bad.ko"));
        assert!(image.kernels["4.19.0+1"].modules.is_empty());
        assert!(
            image.kernels["4.19.0+1"]
                .overlaid
                .contains("updates/bad2.ko")
        );
        let configs: Vec<_> = image.configs.keys().cloned().collect();
        assert_eq!(configs, [(0, "dist.conf".into()), (3, "dist.conf".into())]);

        assert!(matches!(
            image.choose_kernel(None),
            Err(Error::SeveralKernels { .. })
        ));
        assert_eq!(image.choose_kernel(Some("5.0.0")).unwrap(), "5.0.0");
        assert!(matches!(
            image.choose_kernel(Some("6.0")),
            Err(Error::UnknownKernel { .. })
        ));
        let files = index_files(&image, "4.19.0+1", &[]).unwrap();
        assert!(
            files
                .iter()
                .any(|(p, _)| p == "lib/modules/4.19.0+1/modules.dep.bin")
        );
    }

    #[test]
    fn no_kernel_and_garbage() {
        let img = archive(&[("etc/hostname", S_IFREG, b"x\n")]);
        let image = ImageModules::read(&img[..]).unwrap();
        assert!(matches!(image.choose_kernel(None), Err(Error::NoKernel)));
        assert!(ImageModules::read(&b"garbage that is no archive"[..]).is_err());
    }
}
