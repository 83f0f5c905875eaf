//! install.img: decodable as the kernel unpacks it (every segment, every archive), its files
//! the installer reads (the answer file, the installer's own repository.py), and the kernel
//! module indexes kmod reads (`*.bin`) equal to what depmod would write for the modules it holds.

use std::collections::BTreeMap;
use std::io::{self, BufReader, Seek, SeekFrom};
use std::path::Path;

use super::{Finding, Severity, install_img_memo};
use crate::driver::{ImageModules, index_files};
use crate::initrd::index::Hashing;
use crate::iso::SourceIso;
use crate::xcpng;

/// What install.img holds that the other checks need.
#[derive(Debug, Default)]
pub struct InstallImg {
    /// Whether the image has an install.img that decodes.
    pub readable: bool,
    /// Files kept from it by path (`/answerfile.xml`), as the kernel unpacks them.
    pub files: BTreeMap<String, Vec<u8>>,
    /// What is wrong.
    pub findings: Vec<Finding>,
}

impl InstallImg {
    /// The content of `path` inside install.img, if it is a regular file there.
    pub fn file(&self, path: &str) -> Option<&[u8]> {
        self.files
            .get(&format!("/{}", path.trim_start_matches('/')))
            .map(Vec::as_slice)
    }
}

/// The install.img check's result as [`lookup`] finds it.
pub enum Lookup {
    /// Made now, by decoding the image.
    Fresh(InstallImg),
    /// Taken from the memo, for an image of this length, these first and last bytes and this
    /// digest: it stands only once the image's digest (`crate::initrd::image_digest`, made in
    /// the package pass) is that digest.
    Remembered(InstallImg, [u8; 32]),
}

/// The install.img check's result: from the `memo` folder when it holds one for an image that
/// starts and ends as this one does (to be confirmed by its image digest), else made by
/// [`check`].
pub fn lookup(source: &SourceIso, wanted: &[String], memo: Option<&Path>) -> Lookup {
    let remembered = memo.and_then(|dir| {
        let key = install_img_memo::key(&probe(source)?, wanted)?;
        install_img_memo::load(dir, &key)
    });
    match remembered {
        Some((found, digest)) => Lookup::Remembered(found, digest),
        None => Lookup::Fresh(check(source, wanted, memo)),
    }
}

/// Decodes install.img once, keeping `wanted` files (absolute paths inside it) and the installer's
/// repository.py, and compares its module indexes with depmod's. With a `memo` folder, the
/// result is remembered there (`super::install_img_memo`).
pub fn check(source: &SourceIso, wanted: &[String], memo: Option<&Path>) -> InstallImg {
    let (found, sums) = decode(source, wanted, memo.is_some());
    if let Some(dir) = memo
        && let Some((digest, probe)) = sums
        && let Some(key) = install_img_memo::key(&probe, wanted)
    {
        install_img_memo::store(dir, &key, &digest, &found);
    }
    found
}

/// install.img's digest and probe, in that order.
type Sums = ([u8; 32], [u8; 32]);

/// install.img's probe (its length and first and last bytes, hashed): what finds its memo.
fn probe(source: &SourceIso) -> Option<[u8; 32]> {
    let mut f = source.open_file(xcpng::INSTALL_IMG).ok()?;
    let len = f.seek(SeekFrom::End(0)).ok()?;
    crate::initrd::index::probe(&mut f, len).ok()
}

/// [`check`] without a memo; with `hash`, also install.img's digest and probe, made from the
/// same read (`None` when it did not decode).
fn decode(source: &SourceIso, wanted: &[String], hash: bool) -> (InstallImg, Option<Sums>) {
    let mut out = InstallImg::default();
    if !source.exists(xcpng::INSTALL_IMG) {
        out.findings.push(Finding {
            check: "install-img",
            severity: Severity::Error,
            message: format!("{} is missing: no installer to boot", xcpng::INSTALL_IMG),
        });
        return (out, None);
    }
    let mut names: Vec<String> = wanted
        .iter()
        .map(|p| p.trim_start_matches('/').to_string())
        .collect();
    names.push(
        xcpng::INSTALLER_REPOSITORY_PY
            .trim_start_matches('/')
            .to_string(),
    );
    let keep = |path: &str| {
        names.iter().any(|n| n == path) || (path.contains("/modules/") && path.ends_with(".bin"))
    };
    let read = source
        .open_file(xcpng::INSTALL_IMG)
        .map_err(|e| e.to_string())
        .and_then(|f| {
            let mut hashing = Hashing::new(f);
            let found =
                ImageModules::read_keeping(BufReader::with_capacity(1 << 20, &mut hashing), &keep)
                    .map_err(|e| e.to_string())?;
            // The digest covers the whole image: what the decoder left unread passes too.
            let sums = match hash {
                true => io::copy(&mut hashing, &mut io::sink())
                    .ok()
                    .map(|_| hashing.finish()),
                false => None,
            };
            Ok((found, sums))
        });
    let ((modules, kept), sums) = match read {
        Ok(found) => found,
        Err(why) => {
            out.findings.push(Finding {
                check: "install-img",
                severity: Severity::Error,
                message: format!(
                    "{} cannot be unpacked as the kernel would: {why}",
                    xcpng::INSTALL_IMG
                ),
            });
            return (out, None);
        }
    };
    out.readable = true;
    out.findings.extend(module_indexes(&modules, &kept));
    out.files = kept
        .into_iter()
        .map(|(path, data)| (format!("/{path}"), data))
        .collect();
    (out, sums)
}

/// Each kernel's `*.bin` indexes against what depmod would write for the image's modules.
fn module_indexes(image: &ImageModules, kept: &BTreeMap<String, Vec<u8>>) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut warn = |message: String| {
        out.push(Finding {
            check: "modules",
            severity: Severity::Warning,
            message,
        })
    };
    for (kver, kernel) in &image.kernels {
        let has_any = kept
            .keys()
            .any(|p| p.starts_with(&format!("{}/", kernel.base)));
        if kernel.modules.is_empty() && !has_any {
            continue;
        }
        let expected = match index_files(image, kver, &[]) {
            Ok(files) => files,
            Err(e) => {
                warn(format!(
                    "kernel {kver}: depmod cannot index its modules: {e}"
                ));
                continue;
            }
        };
        for (path, data) in expected.iter().filter(|(p, _)| p.ends_with(".bin")) {
            match kept.get(path) {
                None => warn(format!(
                    "/{path} is missing: modprobe cannot load any module of kernel {kver}"
                )),
                Some(found) if found != data => warn(format!(
                    "/{path} differs from what depmod writes for the image's modules: \
                     modprobe may load the wrong module or none"
                )),
                Some(_) => {}
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::KernelModules;

    #[test]
    fn module_indexes_are_compared_with_depmod() {
        let mut image = ImageModules::default();
        let base = "lib/modules/4.19.0+1".to_string();
        image.kernels.insert(
            "4.19.0+1".into(),
            KernelModules {
                base: base.clone(),
                ..KernelModules::default()
            },
        );
        // No module and no index: nothing to load, nothing to say.
        assert!(module_indexes(&image, &BTreeMap::new()).is_empty());
        // The indexes depmod writes are accepted as they are.
        let written: BTreeMap<String, Vec<u8>> = index_files(&image, "4.19.0+1", &[])
            .unwrap()
            .into_iter()
            .filter(|(p, _)| p.ends_with(".bin"))
            .collect();
        assert!(!written.is_empty());
        assert!(module_indexes(&image, &written).is_empty());
        // A stale one is reported, as is a missing one.
        let mut stale = written.clone();
        let dep = format!("{base}/modules.dep.bin");
        stale.insert(dep.clone(), b"stale".to_vec());
        let alias = format!("{base}/modules.alias.bin");
        stale.remove(&alias);
        let found: Vec<String> = module_indexes(&image, &stale)
            .into_iter()
            .map(|f| f.message)
            .collect();
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found
                .iter()
                .any(|m| m.contains(&dep) && m.contains("differs"))
        );
        assert!(
            found
                .iter()
                .any(|m| m.contains(&alias) && m.contains("missing"))
        );
    }
}
