//! Small packages built in process by isoremix's own RPM writer.

use std::path::{Path, PathBuf};

use isoremix::rpm::{FileSpec, PackageSpec, build_package};

/// The build time of the packages made here.
pub const TIME: u32 = 1_727_740_800;

/// A small `name-version-release.arch` package (vendor `test.invalid`) holding one file,
/// `/usr/share/<name>/README`, that names it; callers add dependencies.
pub fn spec(name: &str, version: &str, release: &str, arch: &str) -> PackageSpec {
    let mut s = PackageSpec::new(name, version, release, arch, TIME, "test.invalid");
    s.summary = format!("{name}, a test package");
    s.description = s.summary.clone();
    s.files.push(FileSpec::new(
        format!("/usr/share/{name}/README"),
        0o644,
        TIME,
        format!("{name} {version}-{release}\n").into_bytes(),
    ));
    s
}

/// Builds `spec` into `dir` (made if missing) under its usual file name; returns its path.
pub fn write(dir: &Path, spec: &PackageSpec) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let mut bytes = Vec::new();
    build_package(spec, &mut bytes).unwrap();
    let path = dir.join(spec.file_name());
    std::fs::write(&path, bytes).unwrap();
    path
}
