//! The sample's `Packages/` and `repodata/`: a few small RPMs, among them
//! the `xcp-ng-deps` meta-package that XCP-ng 8.x's installer installs, `bash`
//! (the `/bin/sh` scriptlets and packages need) and `kernel-alt` (what the
//! `install-alt` boot entry asks for), and optional incompressible padding
//! packages for benchmark-sized sources. As on XCP-ng's ISOs, every package
//! is signed and so is `repomd.xml` (`repodata/repomd.xml.asc`).

use std::io::Write;
use std::path::Path;

use hadris_fs::Content;

use crate::repo::{self, Record};
use crate::rpm::build::{Dep, DepCmp, FileSpec, PackageSpec, SymlinkSpec, build_signed_package};
use crate::rpm::header::read_package;
use crate::rpm::padding::{PaddingSpec, build_padding_package};
use crate::rpm::sign::{SigningKey, sign_package};

use super::{Error, Files, build_err};

/// The build host the sample's packages record.
const BUILD_HOST: &str = "sample.isoremix.invalid";
/// The release of `kernel-alt`'s kernel (`uname -r`), as its files are named.
const KERNEL_ALT_VERSION: &str = "4.19.325+1";
/// The detached signature of `repomd.xml`.
const REPOMD_ASC: &str = "repodata/repomd.xml.asc";
/// The size of one padding package's filler file.
const PADDING_CHUNK: u64 = 32 << 20;

fn spec(name: &str, version: &str, arch: &str, summary: &str, time: u32) -> PackageSpec {
    let mut s = PackageSpec::new(name, version, "1.xcpng8.3", arch, time, BUILD_HOST);
    s.summary = summary.to_string();
    s.description = format!("{summary} (isoremix sample package).");
    s.license = "GPLv2".into();
    s.group = "System Environment/Base".into();
    s.vendor = Some("isoremix sample".into());
    s
}

/// The sample's own packages.
fn specs(time: u32) -> Vec<PackageSpec> {
    let mut release = spec(
        "xcp-ng-release",
        "8.3.0",
        "x86_64",
        "XCP-ng release file",
        time,
    );
    release.files.push(FileSpec::new(
        "/etc/xcp-ng-release",
        0o644,
        time,
        b"XCP-ng release 8.3.0 (isoremix sample)\n".to_vec(),
    ));
    let mut tools = spec("sample-tools", "1.0", "x86_64", "Sample host tools", time);
    tools.files.push(FileSpec::new(
        "/usr/bin/sample-tool",
        0o755,
        time,
        b"#!/bin/sh\necho isoremix sample tool\n".to_vec(),
    ));
    tools.requires.push(Dep::any("/bin/sh"));
    // bash ships /bin/sh as a link to itself and provides both paths, as CentOS 7's does.
    let mut bash = spec(
        "bash",
        "4.2.46",
        "x86_64",
        "The GNU Bourne Again shell",
        time,
    );
    bash.release = "35.el7_9".into();
    bash.license = "GPLv3+".into();
    bash.group = "System Environment/Shells".into();
    bash.files.push(FileSpec::new(
        "/bin/bash",
        0o755,
        time,
        b"isoremix sample placeholder: not a real shell\n".to_vec(),
    ));
    bash.symlinks.push(SymlinkSpec {
        path: "/bin/sh".into(),
        target: "bash".into(),
    });
    bash.provides.push(Dep::any("/bin/sh"));
    bash.provides.push(Dep::any("/bin/bash"));
    // The alternate kernel the install-alt entry installs besides xcp-ng-deps.
    let mut alt = spec(
        "kernel-alt",
        "4.19.325",
        "x86_64",
        "The alternate Linux kernel",
        time,
    );
    alt.group = "System Environment/Kernel".into();
    for (file, what) in [
        ("vmlinuz", "alternate kernel image"),
        ("System.map", "alternate kernel symbol map"),
        ("config", "alternate kernel configuration"),
    ] {
        alt.files.push(FileSpec::new(
            format!("/boot/{file}-{KERNEL_ALT_VERSION}"),
            0o644,
            time,
            format!("isoremix sample placeholder: not a real {what}\n").into_bytes(),
        ));
    }
    let mut docs = spec("sample-docs", "1.0", "noarch", "Sample documentation", time);
    docs.files.push(FileSpec::new(
        "/usr/share/doc/sample-docs/README",
        0o644,
        time,
        b"isoremix sample documentation\n".to_vec(),
    ));
    let mut deps = spec(
        "xcp-ng-deps",
        "8.3",
        "noarch",
        "Packages the installer installs",
        time,
    );
    for name in ["xcp-ng-release", "sample-tools", "sample-docs"] {
        deps.requires.push(Dep::any(name));
    }
    deps.requires
        .push(Dep::versioned("xcp-ng-release", DepCmp::Ge, "8.3.0"));
    vec![release, bash, tools, docs, alt, deps]
}

/// `count` small generated packages (`sample-bulk-0001`...), each with one file of its own,
/// for repository-sized benchmarks.
fn bulk_specs(count: usize, time: u32) -> Vec<PackageSpec> {
    (1..=count)
        .map(|n| {
            let name = format!("sample-bulk-{n:04}");
            let mut s = spec(&name, "1.0", "noarch", "Generated bulk package", time);
            s.compression = crate::rpm::payload::Compression::Gzip(6);
            s.files.push(FileSpec::new(
                format!("/usr/share/sample-bulk/{name}.txt"),
                0o644,
                time,
                format!("{name}: one of the sample's generated packages\n").into_bytes(),
            ));
            s
        })
        .collect()
}

/// Adds `Packages/*.rpm` and `repodata/*` to `files`, every package and
/// `repomd.xml` signed with `key`; with `pad_to`, adds padding packages
/// (written under `work`) until the source is about that big; `bulk` more
/// small generated packages are added too.
pub fn add(
    files: &mut Files,
    work: &Path,
    key: &SigningKey,
    pad_to: Option<u64>,
    bulk: usize,
    time: i64,
    progress: &crate::progress::Progress,
) -> Result<(), Error> {
    let time32 = u32::try_from(time).map_err(build_err)?;
    let mut records: Vec<Record> = Vec::new();
    for spec in specs(time32).into_iter().chain(bulk_specs(bulk, time32)) {
        let mut rpm = Vec::new();
        build_signed_package(&spec, key, time32, &mut rpm).map_err(build_err)?;
        let href = format!("Packages/{}", spec.file_name());
        let pkg = read_package(&rpm[..]).map_err(build_err)?;
        records.push(Record::from_package(&pkg, &href, time as u64, Some(10)));
        files.add(&href, rpm);
    }
    if let Some(target) = pad_to {
        let mut total: u64 = files.files.iter().map(|(_, c)| c.len()).sum();
        let bar = progress.bytes("making padding packages", target.saturating_sub(total));
        let start = total;
        let mut n = 0u64;
        while total < target {
            n += 1;
            let size = PADDING_CHUNK.min(target - total).max(4096);
            let padding = PaddingSpec {
                name: format!("sample-padding-{n:04}"),
                version: "1.0".into(),
                release: "1".into(),
                size,
                seed: n,
            };
            let unsigned = work.join(format!("{}.unsigned.rpm", padding.name));
            let path = work.join(format!("{}.rpm", padding.name));
            let io_err = |path: &Path| {
                let path = path.to_path_buf();
                move |source| Error::Io { path, source }
            };
            let mut out = std::io::BufWriter::new(
                std::fs::File::create(&unsigned).map_err(io_err(&unsigned))?,
            );
            build_padding_package(&padding, time32, BUILD_HOST, &mut out).map_err(build_err)?;
            out.flush().map_err(io_err(&unsigned))?;
            drop(out);
            let mut input =
                std::io::BufReader::new(std::fs::File::open(&unsigned).map_err(io_err(&unsigned))?);
            let mut out =
                std::io::BufWriter::new(std::fs::File::create(&path).map_err(io_err(&path))?);
            sign_package(&mut input, &mut out, key, time32).map_err(build_err)?;
            out.flush().map_err(io_err(&path))?;
            drop(out);
            std::fs::remove_file(&unsigned).map_err(io_err(&unsigned))?;
            let href = format!("Packages/sample-padding-{n:04}-1.0-1.noarch.rpm");
            let pkg = read_package(std::fs::File::open(&path).map_err(io_err(&path))?)
                .map_err(build_err)?;
            records.push(Record::from_package(&pkg, &href, time as u64, Some(10)));
            total += pkg.size;
            bar.set_position(total - start);
            files.add(&href, hadris_fs::host::file(&path).map_err(build_err)?);
        }
        bar.finish();
    }
    repo::sort_records(&mut records);
    let repodata = repo::write_repodata(&records, None, time as u64).map_err(build_err)?;
    for f in repodata.files {
        if f.path == "repodata/repomd.xml" {
            let asc = key
                .detached_signature(&f.bytes[..], time32)
                .map_err(build_err)?;
            files.add(REPOMD_ASC, Content::bytes(asc.into_bytes()));
        }
        files.add(&f.path, Content::bytes(f.bytes));
    }
    Ok(())
}
