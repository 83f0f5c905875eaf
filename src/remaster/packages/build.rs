//! `[[packages.build]]`: small packages built from plain files, stamped with the build's time
//! and a build host that is no machine's, then added as the files of `[packages] add` are.

use super::edits::HostAdd;
use crate::profile::{PackageBuild, PackageBuildFile};
use crate::remaster::error::PackageWriteError;
use crate::remaster::{At, Context, Error};
use crate::rpm::{BUILD_HOST, Dep, FileSpec, PackageSpec, build_package};

/// The folder of the work folder the built packages are written to, apart from other steps'.
const BUILT_DIR: &str = "built-packages";

/// Builds every `[[packages.build]]` package (unsigned: the signing step signs it with the rest)
/// into the work folder, stamped with `time`; returns them as packages to add. Each is named
/// in the per-package detail (`--verbose`); the report lists it as it lists an added file.
pub(super) fn build(
    builds: &[PackageBuild],
    time: u32,
    cx: &mut Context<'_>,
) -> Result<Vec<HostAdd>, Error> {
    if builds.is_empty() {
        return Ok(Vec::new());
    }
    let dir = cx.workdir.join(BUILT_DIR);
    let mut adds = Vec::with_capacity(builds.len());
    for b in builds {
        let at = At::from(&b.origin);
        let failed = |source: PackageWriteError| Error::PackageBuild {
            at: at.clone(),
            name: b.name.value.clone(),
            source: Box::new(source),
        };
        let spec = spec(b, time)?;
        let mut bytes = Vec::new();
        build_package(&spec, &mut bytes).map_err(|e| failed(e.into()))?;
        let path = dir.join(spec.file_name());
        std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(&path, &bytes))
            .map_err(|source| {
                failed(PackageWriteError::File {
                    path: path.clone(),
                    source,
                })
            })?;
        cx.details.push(format!(
            "built {} from {} file(s) ([[packages.build]] at {})",
            spec.file_name(),
            spec.files.len(),
            b.origin
        ));
        adds.push(HostAdd {
            shown: format!("[[packages.build]] {}", b.name.value),
            at,
            path,
        });
    }
    Ok(adds)
}

/// The package `b` describes, its files read from the host, every time `time`.
fn spec(b: &PackageBuild, time: u32) -> Result<PackageSpec, Error> {
    let mut s = PackageSpec::new(
        &b.name.value,
        &b.version.value,
        &b.release,
        b.arch.as_str(),
        time,
        BUILD_HOST,
    );
    s.summary = b.summary.clone();
    s.description = b.description.clone().unwrap_or_else(|| b.summary.clone());
    s.license = b.license.clone();
    if let Some(group) = &b.group {
        s.group = group.clone();
    }
    s.vendor = b.vendor.clone();
    s.requires = b.requires.iter().map(|r| Dep::any(&r.value)).collect();
    s.files = b
        .files
        .iter()
        .map(|f| file(f, time))
        .collect::<Result<_, _>>()?;
    Ok(s)
}

/// One file of a built package, read from the host.
fn file(f: &PackageBuildFile, time: u32) -> Result<FileSpec, Error> {
    let content = crate::input::read(&f.src.value).map_err(|source| Error::HostFile {
        at: At::from(&f.src.origin),
        action: "read",
        path: f.src.value.clone(),
        source,
    })?;
    // The profile allows at most 0o7777.
    let mode = u16::try_from(f.mode).unwrap_or(0o7777);
    Ok(FileSpec::new(&f.dest.value, mode, time, content))
}
