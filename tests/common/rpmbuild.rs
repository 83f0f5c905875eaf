//! Binary RPMs made by rpmbuild for the tests, and file times set as createrepo_c reads them.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{require, run};

/// A spec file: `Name:` plus the rest.
pub struct Spec {
    /// Package name.
    pub name: &'static str,
    /// Everything after the `Name:` line.
    pub body: String,
}

/// Builds a binary RPM from `spec` with rpmbuild under `top`; returns its path.
pub fn build_rpm(top: &Path, spec: &Spec) -> PathBuf {
    require("rpmbuild");
    fs::create_dir_all(top).unwrap();
    let spec_path = top.join(format!("{}.spec", spec.name));
    fs::write(&spec_path, format!("Name: {}\n{}", spec.name, spec.body)).unwrap();
    run(Command::new("rpmbuild")
        .arg("--define")
        .arg(format!("_topdir {}", top.display()))
        .args([
            "--define",
            "_buildhost testhost",
            "--define",
            "_build_id_links none",
        ])
        .args(["--define", "source_date_epoch_from_changelog 0"])
        .arg("--quiet")
        .arg("-bb")
        .arg(&spec_path));
    let rpms = top.join("RPMS");
    for arch in fs::read_dir(&rpms).unwrap() {
        for f in fs::read_dir(arch.unwrap().path()).unwrap() {
            let p = f.unwrap().path();
            let n = p.file_name().unwrap().to_string_lossy().to_string();
            if n.starts_with(&format!("{}-", spec.name))
                && n[spec.name.len() + 1..].starts_with(|c: char| c.is_ascii_digit())
            {
                return p;
            }
        }
    }
    panic!("rpmbuild produced no package for {}", spec.name);
}

/// Sets a file's modification time (seconds since the epoch).
pub fn set_mtime(path: &Path, secs: u64) {
    let f = fs::File::options().write(true).open(path).unwrap();
    f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
        .unwrap();
}
