//! Building binary RPMs deterministically from plain data.
//!
//! Everything that ends up in the package comes from [`PackageSpec`]: build time and build host
//! are given by the caller, file times are the caller's (and never later than the build time),
//! and no random cookie is written, so the same spec always gives the same bytes.

use std::collections::BTreeSet;
use std::io::Write;

use ::rpm::{BuildConfig, Dependency, DependencyFlags, FileOptions, PackageBuilder, Scriptlet};

use super::Error;
use super::container::{PackageStart, fresh_signature_header, sigtag, write_package};
use super::evr::{check_name, check_version_chars};
use super::index::{Entry, tag};
use super::payload::Compression;

mod dep;

pub use dep::{Dep, DepCmp};

/// The build host the packages isoremix makes record: a name that is no machine's (`.invalid`),
/// so that a package never depends on where it was built.
pub const BUILD_HOST: &str = "isoremix.invalid";

/// Paths must be absolute, clean (no `.`/`..`/empty components) and free of control bytes.
fn check_path(field: &'static str, path: &str) -> Result<(), Error> {
    let invalid = |reason| Error::InvalidField {
        field,
        value: path.to_string(),
        reason,
    };
    let rest = path
        .strip_prefix('/')
        .ok_or_else(|| invalid("must be absolute"))?;
    if rest.is_empty() {
        return Err(invalid("must not be the root directory"));
    }
    if rest
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err(invalid("must not have empty, '.' or '..' components"));
    }
    if path.bytes().any(|c| c.is_ascii_control()) {
        return Err(invalid("must not contain control characters"));
    }
    Ok(())
}

/// A regular file of the package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSpec {
    /// Absolute install path.
    pub path: String,
    /// Permission bits (e.g. `0o644`).
    pub mode: u16,
    /// Owner name (usually `root`).
    pub user: String,
    /// Group name (usually `root`).
    pub group: String,
    /// Modification time in seconds since the epoch (clamped to the build time).
    pub mtime: u32,
    /// The file's bytes.
    pub content: Vec<u8>,
}

impl FileSpec {
    /// A root-owned file.
    pub fn new(path: impl Into<String>, mode: u16, mtime: u32, content: Vec<u8>) -> Self {
        FileSpec {
            path: path.into(),
            mode,
            user: "root".into(),
            group: "root".into(),
            mtime,
            content,
        }
    }
}

/// A symbolic link of the package (root-owned, mode 0777 as rpmbuild records it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymlinkSpec {
    /// Absolute path of the link.
    pub path: String,
    /// What it points to, as written (e.g. `bash`).
    pub target: String,
}

/// A directory owned by the package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirSpec {
    /// Absolute path.
    pub path: String,
    /// Permission bits (e.g. `0o755`).
    pub mode: u16,
    /// Owner name.
    pub user: String,
    /// Group name.
    pub group: String,
    /// Modification time in seconds since the epoch (clamped to the build time).
    pub mtime: u32,
}

impl DirSpec {
    /// A root-owned directory.
    pub fn new(path: impl Into<String>, mode: u16, mtime: u32) -> Self {
        DirSpec {
            path: path.into(),
            mode,
            user: "root".into(),
            group: "root".into(),
            mtime,
        }
    }
}

/// A scriptlet: its interpreter and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptSpec {
    /// Absolute path of the interpreter, e.g. `/bin/sh`.
    pub interpreter: String,
    /// The script text.
    pub body: String,
}

impl ScriptSpec {
    /// A `/bin/sh` scriptlet.
    pub fn sh(body: impl Into<String>) -> Self {
        ScriptSpec {
            interpreter: "/bin/sh".into(),
            body: body.into(),
        }
    }
}

/// Everything a built package contains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageSpec {
    /// Package name.
    pub name: String,
    /// Epoch, if any.
    pub epoch: Option<u32>,
    /// Version.
    pub version: String,
    /// Release.
    pub release: String,
    /// Architecture (`x86_64`, `noarch`).
    pub arch: String,
    /// One-line summary.
    pub summary: String,
    /// Description.
    pub description: String,
    /// License.
    pub license: String,
    /// Group (`System Environment/Kernel`...).
    pub group: String,
    /// URL, if any.
    pub url: Option<String>,
    /// Vendor, if any.
    pub vendor: Option<String>,
    /// Packager, if any.
    pub packager: Option<String>,
    /// Build time, seconds since the epoch (the caller's SOURCE_DATE_EPOCH).
    pub build_time: u32,
    /// Build host name to record.
    pub build_host: String,
    /// Source package file name to record; `None` gives `name-version-release.src.rpm`.
    pub source_rpm: Option<String>,
    /// Payload compression.
    pub compression: Compression,
    /// Requires.
    pub requires: Vec<Dep>,
    /// Provides (the package's own `name = [epoch:]version-release` is always added).
    pub provides: Vec<Dep>,
    /// Conflicts.
    pub conflicts: Vec<Dep>,
    /// Obsoletes.
    pub obsoletes: Vec<Dep>,
    /// Regular files.
    pub files: Vec<FileSpec>,
    /// Directories owned by the package.
    pub dirs: Vec<DirSpec>,
    /// Symbolic links.
    pub symlinks: Vec<SymlinkSpec>,
    /// `%post` scriptlet.
    pub post: Option<ScriptSpec>,
    /// `%postun` scriptlet.
    pub postun: Option<ScriptSpec>,
}

impl PackageSpec {
    /// A spec with the given identity and build stamp and everything else empty.
    pub fn new(
        name: impl Into<String>,
        version: impl Into<String>,
        release: impl Into<String>,
        arch: impl Into<String>,
        build_time: u32,
        build_host: impl Into<String>,
    ) -> Self {
        PackageSpec {
            name: name.into(),
            epoch: None,
            version: version.into(),
            release: release.into(),
            arch: arch.into(),
            summary: String::new(),
            description: String::new(),
            license: "Proprietary".into(),
            group: "Unspecified".into(),
            url: None,
            vendor: None,
            packager: None,
            build_time,
            build_host: build_host.into(),
            source_rpm: None,
            compression: Compression::default(),
            requires: Vec::new(),
            provides: Vec::new(),
            conflicts: Vec::new(),
            obsoletes: Vec::new(),
            files: Vec::new(),
            dirs: Vec::new(),
            symlinks: Vec::new(),
            post: None,
            postun: None,
        }
    }

    /// The `name-version-release.arch.rpm` file name rpmbuild would give the package.
    pub fn file_name(&self) -> String {
        format!(
            "{}-{}-{}.{}.rpm",
            self.name, self.version, self.release, self.arch
        )
    }

    /// Checks every field rpm is strict about: names, versions, paths, text fields.
    pub fn validate(&self) -> Result<(), Error> {
        check_name("package name", &self.name)?;
        check_version_chars("version", &self.version)?;
        check_version_chars("release", &self.release)?;
        check_version_chars("arch", &self.arch)?;
        for (field, text) in [
            ("summary", &self.summary),
            ("license", &self.license),
            ("group", &self.group),
            ("build host", &self.build_host),
        ] {
            check_line(field, text)?;
        }
        for (field, text) in [
            ("source rpm", &self.source_rpm),
            ("url", &self.url),
            ("vendor", &self.vendor),
            ("packager", &self.packager),
        ] {
            if let Some(text) = text {
                check_line(field, text)?;
            }
        }
        if self
            .description
            .bytes()
            .any(|c| c.is_ascii_control() && c != b'\n' && c != b'\t')
        {
            return Err(Error::InvalidField {
                field: "description",
                value: self.description.clone(),
                reason: "must not contain control characters other than newline and tab",
            });
        }
        for dep in self
            .requires
            .iter()
            .chain(&self.provides)
            .chain(&self.conflicts)
            .chain(&self.obsoletes)
        {
            dep.validate()?;
        }
        let mut seen = BTreeSet::new();
        for path in self
            .files
            .iter()
            .map(|f| &f.path)
            .chain(self.dirs.iter().map(|d| &d.path))
            .chain(self.symlinks.iter().map(|l| &l.path))
        {
            check_path("file path", path)?;
            if !seen.insert(path.as_str()) {
                return Err(Error::DuplicatePath { path: path.clone() });
            }
        }
        for (user, group) in self
            .files
            .iter()
            .map(|f| (&f.user, &f.group))
            .chain(self.dirs.iter().map(|d| (&d.user, &d.group)))
        {
            check_name("owner", user)?;
            check_name("group owner", group)?;
        }
        for link in &self.symlinks {
            if link.target.is_empty() || link.target.bytes().any(|c| c.is_ascii_control()) {
                return Err(Error::InvalidField {
                    field: "symlink target",
                    value: link.target.clone(),
                    reason: "must be non-empty text without control characters",
                });
            }
        }
        for script in [&self.post, &self.postun].into_iter().flatten() {
            check_path("scriptlet interpreter", &script.interpreter)?;
        }
        Ok(())
    }
}

fn check_line(field: &'static str, text: &str) -> Result<(), Error> {
    if text.bytes().any(|c| c.is_ascii_control()) {
        return Err(Error::InvalidField {
            field,
            value: text.to_string(),
            reason: "must be a single line without control characters",
        });
    }
    Ok(())
}

/// Builds the package described by `spec` and writes it to `out`. Unsigned; pass the bytes
/// through [`super::sign::sign_package`] to sign them.
pub fn build_package(spec: &PackageSpec, out: &mut impl Write) -> Result<(), Error> {
    spec.validate()?;
    let crate_err = |source| Error::Build {
        name: spec.name.clone(),
        source,
    };
    let config = BuildConfig::v4()
        .compression(spec.compression.to_crate())
        .source_date(spec.build_time);
    let summary = if spec.summary.is_empty() {
        spec.name.as_str()
    } else {
        spec.summary.as_str()
    };
    let mut b = PackageBuilder::new(
        &spec.name,
        &spec.version,
        &spec.license,
        &spec.arch,
        summary,
    );
    b.using_config(config)
        .release(spec.release.clone())
        .description(spec.description.clone())
        .group(spec.group.clone())
        .build_host(&spec.build_host);
    if let Some(e) = spec.epoch {
        b.epoch(e);
    }
    if let Some(url) = &spec.url {
        b.url(url.clone());
    }
    if let Some(vendor) = &spec.vendor {
        b.vendor(vendor.clone());
    }
    if let Some(packager) = &spec.packager {
        b.packager(packager.clone());
    }
    for d in &spec.dirs {
        let opts = FileOptions::dir(d.path.clone())
            .permissions(d.mode & 0o7777)
            .user(d.user.clone())
            .group(d.group.clone())
            .modified_at(d.mtime.into());
        b.with_dir_entry(opts).map_err(crate_err)?;
    }
    for f in &spec.files {
        let opts = FileOptions::new(f.path.clone())
            .permissions(f.mode & 0o7777)
            .user(f.user.clone())
            .group(f.group.clone())
            .modified_at(f.mtime.into());
        b.with_file_contents(f.content.clone(), opts)
            .map_err(crate_err)?;
    }
    for l in &spec.symlinks {
        b.with_symlink(FileOptions::symlink(l.path.clone(), l.target.clone()))
            .map_err(crate_err)?;
    }
    for d in &spec.requires {
        b.requires(d.to_crate());
    }
    for d in &spec.provides {
        b.provides(d.to_crate());
    }
    for d in &spec.conflicts {
        b.conflicts(d.to_crate());
    }
    for d in &spec.obsoletes {
        b.obsoletes(d.to_crate());
    }
    if let Compression::Xz(_) = spec.compression {
        b.requires(Dependency::rpmlib("PayloadIsXz", "5.2-1"));
    }
    let mut interpreters = BTreeSet::new();
    if let Some(s) = &spec.post {
        b.post_install_script(Scriptlet::new(s.body.clone()).prog(vec![s.interpreter.clone()]));
        interpreters.insert((s.interpreter.clone(), DependencyFlags::SCRIPT_POST.bits()));
    }
    if let Some(s) = &spec.postun {
        b.post_uninstall_script(Scriptlet::new(s.body.clone()).prog(vec![s.interpreter.clone()]));
        interpreters.insert((s.interpreter.clone(), DependencyFlags::SCRIPT_POSTUN.bits()));
    }
    for (interp, flag) in interpreters {
        let mut d = Dependency::any(interp);
        d.flags = DependencyFlags::from_bits_truncate(flag);
        b.requires(d);
    }
    let pkg = b.build().map_err(crate_err)?;
    let archive_size = archive_size(spec.compression, &pkg.payload)?;
    let mut bytes = Vec::new();
    pkg.write(&mut bytes).map_err(crate_err)?;

    // Record the uncompressed archive size as rpmbuild does: rpm2cpio and repodata's
    // `size archive` read it.
    let mut rest = bytes.as_slice();
    let mut start = PackageStart::read(&mut rest)?;
    // Name the source package as rpmbuild does (the crate writes "(none)").
    let source_rpm = spec
        .source_rpm
        .clone()
        .unwrap_or_else(|| format!("{}-{}-{}.src.rpm", spec.name, spec.version, spec.release));
    start.main.set(Entry::string(tag::SOURCERPM, &source_rpm));
    let main = start.main.to_bytes();
    let mut sig = fresh_signature_header(&start.signature, &main, Some(rest.len() as u64));
    match u32::try_from(archive_size) {
        Ok(small) => sig.set(Entry::int32(sigtag::PAYLOADSIZE, &[small])),
        Err(_) => sig.set(Entry::int64(sigtag::LONGARCHIVESIZE, &[archive_size])),
    }
    write_package(out, &start.lead, &sig, &main, &mut rest)?;
    Ok(())
}

/// Builds the package and signs it with `key`, the signature created at `time` (see
/// [`super::sign::sign_package`]).
pub fn build_signed_package(
    spec: &PackageSpec,
    key: &super::sign::SigningKey,
    time: u32,
    out: &mut impl Write,
) -> Result<(), Error> {
    let mut unsigned = Vec::new();
    build_package(spec, &mut unsigned)?;
    super::sign::sign_package(&mut std::io::Cursor::new(unsigned), out, key, time)
}

/// Size of the decompressed payload (the cpio archive).
fn archive_size(compression: Compression, payload: &[u8]) -> Result<u64, Error> {
    let mut sink = std::io::sink();
    let copied = match compression {
        Compression::Gzip(_) => {
            std::io::copy(&mut flate2::read::GzDecoder::new(payload), &mut sink)
        }
        Compression::Xz(_) => std::io::copy(&mut liblzma::read::XzDecoder::new(payload), &mut sink),
    };
    copied.map_err(Error::io("measuring the payload archive"))
}

/// A driver package wrapping bare kernel modules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelModules {
    /// Package name (e.g. `igb-module-remix`).
    pub name: String,
    /// Version.
    pub version: String,
    /// Release.
    pub release: String,
    /// Kernel release the modules are for (`uname -r`, e.g. `4.19.0+1`).
    pub kernel_version: String,
    /// The modules: file name (`igb.ko`, `igb.ko.xz`) and content.
    pub modules: Vec<(String, Vec<u8>)>,
}

/// The spec of a driver package as XCP-ng's are made: modules in
/// `/lib/modules/<kver>/updates/`, `depmod -a <kver>` in `%post` and `%postun`, arch `x86_64`.
/// Callers may add requires (e.g. `kernel-uname-r = <kver>`), a summary, a license...
pub fn kernel_module_spec(
    km: &KernelModules,
    build_time: u32,
    build_host: &str,
) -> Result<PackageSpec, Error> {
    let kver = &km.kernel_version;
    if kver.is_empty()
        || kver.contains('/')
        || kver.bytes().any(|c| c.is_ascii_control() || c == b' ')
    {
        return Err(Error::InvalidField {
            field: "kernel version",
            value: kver.clone(),
            reason: "must be one path component without spaces or control characters",
        });
    }
    let mut spec = PackageSpec::new(
        &km.name,
        &km.version,
        &km.release,
        "x86_64",
        build_time,
        build_host,
    );
    spec.summary = format!("Kernel modules for {kver}");
    spec.description = format!(
        "Kernel modules for kernel {kver}: {}.",
        km.modules
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    spec.group = "System Environment/Kernel".into();
    spec.license = "GPLv2".into();
    for (file, content) in &km.modules {
        let plain = !file.is_empty()
            && !file.contains('/')
            && file != "."
            && file != ".."
            && (file.ends_with(".ko") || file.ends_with(".ko.xz") || file.ends_with(".ko.zst"));
        if !plain {
            return Err(Error::InvalidField {
                field: "module file name",
                value: file.clone(),
                reason: "must be a plain file name ending in .ko, .ko.xz or .ko.zst",
            });
        }
        spec.files.push(FileSpec::new(
            format!("/lib/modules/{kver}/updates/{file}"),
            0o644,
            build_time,
            content.clone(),
        ));
    }
    spec.post = Some(ScriptSpec::sh(format!("depmod -a {kver}")));
    spec.postun = Some(ScriptSpec::sh(format!("depmod -a {kver}")));
    Ok(spec)
}
