//! Step `[packages]`: the RPM repository the installer installs from.
//!
//! Packages are added (same name as a source package: replaced), removed, and made installed
//! for real: a new release of the meta-package (`xcp-ng-deps`) whose `Requires` name them, or
//! entries in the comps group the installer installs (`xenserver_base`). The repodata is then
//! regenerated, reusing the records of the source's unchanged packages. With a `[signing]` key
//! every new or rewritten package (and any unsigned one) is signed, as is `repomd.xml`; without
//! one, the installer's signature checks are turned off and the user is warned.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

mod pool;

pub use pool::{PulledIn, Updated};

use super::{Context, Error, signing};
use crate::depsolve;
use crate::iso::{self, NewContent, SourceIso};
use crate::profile::PackageEdits;
use crate::repo::{self, GroupsFile, Record, comps, reader, repomd};
use crate::rpm::build::Dep;
use crate::rpm::container::{PackageStart, check_payload, fresh_signature_header, write_package};
use crate::rpm::header::{PackageFile, PackageHeader, read_package};
use crate::rpm::index::Entry;
use crate::rpm::rewrite::{NewRelease, RewriteSpec, rewrite_package};
use crate::rpm::sign::{SigningKey, sign_package, sign_package_reopen};
use crate::rpm::{self, Evr};

/// The meta-package XCP-ng 8.x's installer installs.
pub const DEFAULT_META: &str = "xcp-ng-deps";
/// The comps group XenServer-style installers install (with `xenserver_dom0`).
pub const DEFAULT_GROUP: &str = "xenserver_base";
/// The boot arguments that turn off the installer's package and repository signature checks.
pub const NO_GPGCHECK_ARGS: [&str; 2] = ["no-gpgcheck", "no-repo-gpgcheck"];
/// The answer-file attributes with the same effect (the installer refuses the boot arguments
/// together with an answer file).
pub const NO_GPGCHECK_ATTRIBUTES: [(&str, &str); 2] =
    [("gpgcheck", "false"), ("repo-gpgcheck", "false")];

const REPOMD: &str = "/repodata/repomd.xml";
const REPOMD_ASC: &str = "/repodata/repomd.xml.asc";
const PACKAGES_DIR: &str = "Packages";
/// The suffix of a rewritten meta-package's release (`.remix1`, `.remix2`...).
const RELEASE_SUFFIX: &str = ".remix";

/// Main header tags of the requires arrays.
const REQUIRENAME: u32 = 1049;
const REQUIREFLAGS: u32 = 1048;
const REQUIREVERSION: u32 = 1050;

/// Inputs another step hands to this one besides the profile (e.g. driver RPMs).
#[derive(Debug, Clone, Default)]
pub struct Extra {
    /// RPM files to add, like `[packages] add`.
    pub add: Vec<PathBuf>,
    /// Names the installer must install, like `[packages] install`.
    pub install: Vec<String>,
}

impl Extra {
    fn is_empty(&self) -> bool {
        self.add.is_empty() && self.install.is_empty()
    }
}

/// How the source's installer chooses the packages it installs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstallStyle {
    /// It installs this meta-package and what it requires.
    Meta(String),
    /// It installs this comps group.
    Group(String),
}

impl std::fmt::Display for InstallStyle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InstallStyle::Meta(m) => write!(f, "meta-package {m}"),
            InstallStyle::Group(g) => write!(f, "comps group {g}"),
        }
    }
}

/// What later steps need from this one.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Whether the repository changed.
    pub changed: bool,
    /// The install styles found and used.
    pub styles: Vec<InstallStyle>,
    /// dom0 arguments the interactive boot entries (those naming no answer file) must get:
    /// signature checks off.
    pub dom0_args: Vec<String>,
    /// Attributes the embedded answer file's `<installation>` must get, for the unattended
    /// entries (the same checks off).
    pub answerfile_attributes: Vec<(String, String)>,
    /// The public key file written at the image root, to name first in `.treeinfo [keys]`.
    pub key_file: Option<String>,
}

/// A package of the output repository.
#[derive(Debug, Clone)]
struct Package {
    /// Where it is read from.
    from: From,
    /// Its record, when known (reused or read).
    record: Record,
}

/// The output repository's packages by location.
type Packages = BTreeMap<String, Package>;

#[derive(Debug, Clone, PartialEq, Eq)]
enum From {
    /// Unchanged, in the source image at this location.
    Source,
    /// A file on the host to put at the record's location.
    Host(PathBuf),
}

fn step(at: impl std::fmt::Display, message: impl std::fmt::Display) -> Error {
    Error::Step {
        at: at.to_string(),
        message: message.to_string(),
    }
}

fn whole(message: impl std::fmt::Display) -> Error {
    step("[packages]", message)
}

/// Applies `[packages]` (and `extra`) to the repository on the image, signing with `key` (the
/// `[signing]` key, loaded before the build started).
/// `answerfile_embedded` says whether an answer file goes into install.img (then signature
/// checks are turned off by its attributes for the unattended entries, besides the boot
/// arguments for the interactive ones).
pub fn apply(
    source: &mut SourceIso,
    edits: &PackageEdits,
    key: Option<&SigningKey>,
    extra: &Extra,
    extra_targets: &[String],
    answerfile_embedded: bool,
    cx: &mut Context<'_>,
) -> Result<Outcome, Error> {
    let nothing = edits.add.is_empty()
        && edits.remove.is_empty()
        && edits.install.is_empty()
        && edits.from.is_empty()
        && edits.allow_unresolved.is_empty()
        && extra.is_empty();
    if nothing && key.is_none() {
        return Ok(Outcome::default());
    }
    let time = u32::try_from(cx.time).unwrap_or(u32::MAX);
    let source_repomd = if source.exists(REPOMD) {
        let xml = source.read_file(REPOMD).map_err(whole)?;
        Some(repomd::parse_repomd(&xml).map_err(whole)?)
    } else if source.exists(&format!("/{PACKAGES_DIR}")) {
        cx.report
            .steps
            .push("packages: the source has no repodata: every package is read".into());
        None
    } else {
        return Err(whole(
            "the source has no repository to edit (neither repodata/repomd.xml nor Packages/)",
        ));
    };
    let groups = match &source_repomd {
        Some(md) => reader::read_groups(md, |href| read_repo_file(source, href)).map_err(whole)?,
        None => None,
    };
    let (mut packages, stored) = source_packages(source, source_repomd.as_ref(), cx)?;
    let source_names: BTreeSet<String> = packages.values().map(|p| p.record.name.clone()).collect();

    // Removals, by name.
    for name in &edits.remove {
        let before = packages.len();
        packages.retain(|_, p| p.record.name != name.value);
        if packages.len() == before {
            return Err(step(
                name,
                format!(
                    "cannot remove {}: the source has no such package",
                    name.value
                ),
            ));
        }
        cx.report
            .steps
            .push(format!("packages: removed {}", name.value));
    }
    let removed: BTreeSet<String> = edits.remove.iter().map(|n| n.value.clone()).collect();

    // Additions and replacements.
    let mut adds: Vec<(String, PathBuf)> = edits
        .add
        .iter()
        .map(|a| (a.origin.to_string(), a.value.clone()))
        .collect();
    adds.extend(
        extra
            .add
            .iter()
            .map(|p| (p.display().to_string(), p.clone())),
    );
    let mut added_names: BTreeMap<String, String> = BTreeMap::new();
    for (at, path) in &adds {
        let pkg = read_host_package(path).map_err(|e| step(at, e))?;
        let h = &pkg.header;
        check_host_header(path, h).map_err(|e| step(at, e))?;
        if let Some(first) = added_names.insert(h.name.clone(), path.display().to_string()) {
            return Err(step(
                at,
                format!(
                    "{} and {first} are both package {}: add only one",
                    path.display(),
                    h.name
                ),
            ));
        }
        let evr = Evr::new(
            (h.epoch != 0).then_some(h.epoch),
            h.version.clone(),
            h.release.clone(),
        );
        let replaced: Vec<String> = packages
            .iter()
            .filter(|(_, p)| p.record.name == h.name)
            .map(|(loc, _)| loc.clone())
            .collect();
        for loc in &replaced {
            let old = &packages[loc].record;
            let old_evr = Evr::new(
                old.epoch.parse().ok().filter(|e| *e != 0),
                old.version.clone(),
                old.release.clone(),
            );
            if evr < old_evr && !edits.allow_downgrade {
                return Err(step(
                    at,
                    format!(
                        "{} would replace {} {old_evr} by the lower {evr}: yum would keep the old one; \
                         set [packages] allow_downgrade = true to replace it anyway",
                        path.display(),
                        h.name
                    ),
                ));
            }
            cx.report
                .steps
                .push(format!("packages: {} {old_evr} replaced by {evr}", h.name));
            packages.remove(loc);
        }
        if replaced.is_empty() {
            cx.report
                .steps
                .push(format!("packages: added {}", h.nevra()));
        }
        cx.report.added.push(h.nevra().to_string());
        let location = location_of(h);
        if let Some(other) = packages.get(&location) {
            return Err(step(
                at,
                format!(
                    "{}: its file name {location} is taken by package {}",
                    path.display(),
                    other.record.name
                ),
            ));
        }
        let record = Record::from_package(
            &pkg,
            &location,
            cx.time as u64,
            Some(repo::DEFAULT_CHANGELOG_LIMIT),
        );
        packages.insert(
            location,
            Package {
                from: From::Host(path.clone()),
                record,
            },
        );
    }

    // The pool, and the update respin it may drive.
    let pool = pool::read(&edits.from, cx)?;
    let taken = if edits.update {
        pool::update(&mut packages, &pool, cx)?
    } else {
        BTreeSet::new()
    };

    // What the installer must install, and how it chooses.
    let mut comps_xml = groups.clone();
    let styles = install_styles(
        edits,
        &packages,
        comps_xml.as_ref().map(|(_, x)| x.as_slice()),
    )?;
    let required = already_required(
        &styles,
        &packages,
        comps_xml.as_ref().map(|(_, x)| x.as_slice()),
    )?;
    let mut install: Vec<(String, String)> = if edits.install.is_empty() {
        let needed_by_added = needed_by_others(&added_names, &packages);
        added_names
            .keys()
            .filter(|n| {
                !source_names.contains(*n)
                    && !required.contains(*n)
                    && !needed_by_added.contains(*n)
            })
            .map(|n| ("[packages] add".to_string(), n.clone()))
            .collect()
    } else {
        edits
            .install
            .iter()
            .map(|n| (n.origin.to_string(), n.value.clone()))
            .collect()
    };
    install.extend(
        extra
            .install
            .iter()
            .map(|n| ("driver".to_string(), n.clone())),
    );
    let mut seen = BTreeSet::new();
    install.retain(|(_, n)| seen.insert(n.clone()));

    // Dependencies the pool supplies (and unmet ones tolerated).
    if !pool.is_empty() || !edits.allow_unresolved.is_empty() {
        let mut targets: Vec<String> = Vec::new();
        for style in &styles {
            match style {
                InstallStyle::Meta(meta) => targets.push(meta.clone()),
                InstallStyle::Group(group) => targets.extend(group_members(
                    comps_xml.as_ref().map(|(_, x)| x.as_slice()),
                    group,
                )?),
            }
        }
        targets.extend(install.iter().map(|(_, n)| n.clone()));
        targets.extend(extra_targets.iter().cloned());
        let mut seen = BTreeSet::new();
        targets.retain(|t| seen.insert(t.clone()));
        let allow: Vec<String> = edits
            .allow_unresolved
            .iter()
            .map(|n| n.value.clone())
            .collect();
        let prefer = if edits.update {
            depsolve::Prefer::Newest
        } else {
            depsolve::Prefer::OnMedia
        };
        let at = edits
            .from
            .first()
            .map_or_else(|| "[packages]".to_string(), |f| f.origin.to_string());
        pool::pull_in(
            &mut packages,
            &pool,
            &taken,
            &targets,
            &allow,
            prefer,
            &at,
            cx,
        )?;
    }
    for (at, name) in &install {
        if !packages.values().any(|p| provides(&p.record, name)) {
            return Err(step(
                at,
                format!("cannot install {name}: no package of the repository provides it"),
            ));
        }
    }
    let install: Vec<String> = install.into_iter().map(|(_, n)| n).collect();
    let to_add: Vec<String> = install
        .iter()
        .filter(|n| !required.contains(*n))
        .cloned()
        .collect();
    if !to_add.is_empty() && styles.is_empty() {
        return Err(whole(format!(
            "cannot make the installer install {}: the source has neither the meta-package {DEFAULT_META} \
             nor a comps group {DEFAULT_GROUP}; set [packages] meta = \"<meta-package>\" or group = \"<group>\"",
            to_add.join(", ")
        )));
    }
    for s in &styles {
        cx.report
            .steps
            .push(format!("packages: the installer installs the {s}"));
    }

    let mut comps_changed = false;
    for style in &styles {
        match style {
            InstallStyle::Meta(meta) => {
                rewrite_meta(
                    meta,
                    &to_add,
                    &removed,
                    &mut packages,
                    source,
                    key,
                    time,
                    cx,
                )?;
            }
            InstallStyle::Group(group) => {
                if let Some((_, xml)) = comps_xml.as_mut()
                    && !to_add.is_empty()
                {
                    let names: Vec<&str> = to_add.iter().map(String::as_str).collect();
                    *xml = comps::add_packages(xml, group, &names, comps::ReqKind::Mandatory)
                        .map_err(whole)?;
                    comps_changed = true;
                    cx.report.steps.push(format!(
                        "packages: comps group {group} gains {}",
                        to_add.join(", ")
                    ));
                }
            }
        }
    }

    if let Some(key) = key {
        sign_packages(&mut packages, source, key, time, cx)?;
    }
    // Every record the same as the source repodata's (same package bytes): the repository
    // did not change, and its repodata is kept as it is.
    let unchanged = !comps_changed
        && stored.as_ref().is_some_and(|stored| {
            stored.len() == packages.len()
                && stored.iter().all(|r| {
                    packages
                        .get(&r.location_href)
                        .is_some_and(|p| p.record == *r)
                })
        });
    let changed = !unchanged;
    write_repository(
        source,
        &packages,
        comps_xml.as_ref(),
        key,
        unchanged,
        time,
        cx,
    )?;

    let mut outcome = Outcome {
        changed,
        styles,
        ..Outcome::default()
    };
    match key {
        Some(key) => {
            outcome.key_file = Some(write_key_file(source, key, cx)?);
        }
        None if changed => {
            // Each boot entry gets one of the two: unattended entries read the answer file's
            // attributes, interactive ones the boot arguments (the installer refuses both).
            outcome.dom0_args = NO_GPGCHECK_ARGS.iter().map(|a| a.to_string()).collect();
            if answerfile_embedded {
                outcome.answerfile_attributes = NO_GPGCHECK_ATTRIBUTES
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
            }
            cx.report.warnings.push(format!(
                "packages changed without a [signing] key: the installer's signature checks are turned off \
                 ({}no-gpgcheck no-repo-gpgcheck on the dom0 line of the interactive boot entries); \
                 add a [signing] key to keep them",
                if answerfile_embedded {
                    "gpgcheck=\"false\" repo-gpgcheck=\"false\" in the answer file for the unattended entries, "
                } else {
                    ""
                }
            ));
        }
        None => {}
    }
    Ok(outcome)
}

/// Where a package goes in the output repository: `Packages/<name>-<version>-<release>.<arch>.rpm`.
fn location_of(h: &PackageHeader) -> String {
    format!(
        "{PACKAGES_DIR}/{}-{}-{}.{}.rpm",
        h.name, h.version, h.release, h.arch
    )
}

/// Checks a package from the host: its name, version, release and arch can make a file name,
/// and it is a binary package.
fn check_host_header(path: &Path, h: &PackageHeader) -> Result<(), String> {
    for (field, value) in [
        ("name", &h.name),
        ("version", &h.version),
        ("release", &h.release),
        ("arch", &h.arch),
    ] {
        if !is_file_name_part(value) {
            return Err(format!(
                "{}: its {field} {value:?} cannot be part of a file name",
                path.display()
            ));
        }
    }
    if h.arch == "src" || h.arch == "nosrc" {
        return Err(format!(
            "{}: a source package cannot be installed",
            path.display()
        ));
    }
    Ok(())
}

/// The added packages (by name) that another added package requires: installing the other
/// installs them.
fn needed_by_others(added: &BTreeMap<String, String>, packages: &Packages) -> BTreeSet<String> {
    let records: Vec<&Record> = packages
        .values()
        .map(|p| &p.record)
        .filter(|r| added.contains_key(&r.name))
        .collect();
    records
        .iter()
        .filter(|a| {
            records
                .iter()
                .any(|b| b.name != a.name && b.requires.iter().any(|d| depsolve::satisfies(a, d)))
        })
        .map(|a| a.name.clone())
        .collect()
}

/// The packages the installer installs with a comps group: its mandatory and default ones.
fn group_members(comps: Option<&[u8]>, group: &str) -> Result<Vec<String>, Error> {
    let Some(xml) = comps else {
        return Ok(Vec::new());
    };
    let groups = comps::parse_groups(xml).map_err(whole)?;
    Ok(groups
        .iter()
        .filter(|g| g.id == group)
        .flat_map(|g| &g.packages)
        .filter(|p| matches!(p.kind, comps::ReqKind::Mandatory | comps::ReqKind::Default))
        .map(|p| p.name.clone())
        .collect())
}

/// Whether `s` can be part of a package file name: not empty, no path separator, no
/// whitespace or control character, not starting with a dot.
fn is_file_name_part(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('.')
        && !s
            .chars()
            .any(|c| c == '/' || c == '\\' || c.is_whitespace() || c.is_control())
}

fn read_repo_file(source: &SourceIso, href: &str) -> Result<Vec<u8>, repo::Error> {
    source
        .read_file(&format!("/{href}"))
        .map_err(|e| repo::Error::Io {
            what: href.to_string(),
            source: std::io::Error::other(e.to_string()),
        })
}

/// Reads a package file of the host and checks its digests (header, header and payload,
/// payload): a damaged package is refused, naming the file and the part.
fn read_host_package(path: &Path) -> Result<PackageFile, String> {
    let open = || {
        crate::input::open(path)
            .map(std::io::BufReader::new)
            .map_err(|e| format!("{}: {e}", path.display()))
    };
    let package = read_package(open()?)
        .map_err(|e| format!("{}: not a readable RPM: {e}", path.display()))?;
    rpm::check_digests(&mut open()?)
        .map_err(|e| format!("{}: damaged or tampered package: {e}", path.display()))?;
    Ok(package)
}

/// Every `.rpm` under `/Packages` of the source with its record: the source repodata's record
/// when location and size match, else read (header and checksum) from the image.
fn source_packages(
    source: &SourceIso,
    repomd: Option<&repomd::Repomd>,
    cx: &mut Context<'_>,
) -> Result<(Packages, Option<Vec<Record>>), Error> {
    let stored = repomd.map(|md| reader::read_repo(md, |href| read_repo_file(source, href)));
    let mut all_stored = None;
    let reuse = match stored {
        None => reader::ReuseIndex::default(),
        Some(Ok(records)) => {
            all_stored = Some(records.clone());
            reader::ReuseIndex::new(records)
        }
        Some(Err(e)) => {
            cx.report
                .warnings
                .push(format!("packages: the source's repodata cannot be reused ({e}); every package is read again"));
            reader::ReuseIndex::default()
        }
    };
    let mut found: Vec<(String, u64)> = Vec::new();
    iso::walk(source.tree(), &mut |path, entry| {
        if path.starts_with(&format!("/{PACKAGES_DIR}/"))
            && path.ends_with(".rpm")
            && let Some(content) = entry.node().content()
        {
            found.push((path.trim_start_matches('/').to_string(), content.len()));
        }
    });
    let mut out = BTreeMap::new();
    let mut jobs = Vec::new();
    for (location, size) in found {
        match reuse.lookup(&location, size, None) {
            Some(r) => {
                out.insert(
                    location,
                    Package {
                        from: From::Source,
                        record: r.clone(),
                    },
                );
            }
            None => jobs.push(repo::PackageJob {
                path: PathBuf::from(format!("/{location}")),
                location_href: location,
                time_file: cx.time as u64,
            }),
        }
    }
    let reused = out.len();
    let bar = cx.progress.items("reading packages", jobs.len() as u64);
    let results = repo::read_records(
        &jobs,
        repo::default_threads(),
        Some(repo::DEFAULT_CHANGELOG_LIMIT),
        |job| {
            bar.inc(1);
            source
                .open_file(&job.path.to_string_lossy())
                .map_err(|e| std::io::Error::other(e.to_string()))
        },
    );
    bar.finish();
    for result in results {
        let record = result.map_err(whole)?;
        out.insert(
            record.location_href.clone(),
            Package {
                from: From::Source,
                record,
            },
        );
    }
    cx.report.steps.push(format!(
        "packages: {} source packages ({reused} records reused, {} read)",
        out.len(),
        jobs.len()
    ));
    // The stored records describe the source exactly only when each package was found in them.
    let stored = all_stored.filter(|s| jobs.is_empty() && s.len() == out.len());
    Ok((out, stored))
}

/// Whether `record` is, or provides, `name`.
fn provides(record: &Record, name: &str) -> bool {
    record.name == name || record.provides.iter().any(|d| d.name == name)
}

/// The install styles to use: those the profile names (checked), else the one found.
fn install_styles(
    edits: &PackageEdits,
    packages: &BTreeMap<String, Package>,
    comps: Option<&[u8]>,
) -> Result<Vec<InstallStyle>, Error> {
    let groups = match comps {
        Some(xml) => {
            comps::parse_groups(xml).map_err(|e| whole(format!("the source's comps file: {e}")))?
        }
        None => Vec::new(),
    };
    let has_package = |name: &str| packages.values().any(|p| p.record.name == name);
    let has_group = |id: &str| groups.iter().any(|g| g.id == id);
    let mut styles = Vec::new();
    if let Some(meta) = &edits.meta {
        if !has_package(&meta.value) {
            return Err(step(
                meta,
                format!("the repository has no meta-package {}", meta.value),
            ));
        }
        styles.push(InstallStyle::Meta(meta.value.clone()));
    }
    if let Some(group) = &edits.group {
        if !has_group(&group.value) {
            return Err(step(
                group,
                format!(
                    "the source's comps has no group {} (groups: {})",
                    group.value,
                    groups
                        .iter()
                        .map(|g| g.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        styles.push(InstallStyle::Group(group.value.clone()));
    }
    if styles.is_empty() {
        if has_package(DEFAULT_META) {
            styles.push(InstallStyle::Meta(DEFAULT_META.into()));
        } else if has_group(DEFAULT_GROUP) {
            styles.push(InstallStyle::Group(DEFAULT_GROUP.into()));
        }
    }
    Ok(styles)
}

/// Names the installer already installs directly: the meta-package's requires, the group's
/// package list.
fn already_required(
    styles: &[InstallStyle],
    packages: &BTreeMap<String, Package>,
    comps: Option<&[u8]>,
) -> Result<BTreeSet<String>, Error> {
    let mut out = BTreeSet::new();
    for s in styles {
        match s {
            InstallStyle::Meta(m) => {
                for p in packages.values().filter(|p| &p.record.name == m) {
                    out.extend(p.record.requires.iter().map(|d| d.name.clone()));
                }
            }
            InstallStyle::Group(g) => {
                if let Some(xml) = comps {
                    let groups = comps::parse_groups(xml).map_err(whole)?;
                    for group in groups.iter().filter(|x| &x.id == g) {
                        out.extend(group.packages.iter().map(|p| p.name.clone()));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// The release of the next rewrite: `<release>.remix1`, or the suffix's number plus one.
pub fn next_release(release: &str) -> String {
    if let Some((base, n)) = release.rsplit_once(RELEASE_SUFFIX)
        && let Ok(n) = n.parse::<u32>()
    {
        return format!("{base}{RELEASE_SUFFIX}{}", n.saturating_add(1));
    }
    format!("{release}{RELEASE_SUFFIX}1")
}

/// Writes a new release of the meta-package that requires `to_add` and no longer requires the
/// removed packages nothing else provides.
#[allow(clippy::too_many_arguments)]
fn rewrite_meta(
    meta: &str,
    to_add: &[String],
    removed: &BTreeSet<String>,
    packages: &mut BTreeMap<String, Package>,
    source: &SourceIso,
    key: Option<&SigningKey>,
    time: u32,
    cx: &mut Context<'_>,
) -> Result<(), Error> {
    let Some((location, pkg)) = packages
        .iter()
        .find(|(_, p)| p.record.name == meta)
        .map(|(l, p)| (l.clone(), p.clone()))
    else {
        return Ok(());
    };
    let dropped: BTreeSet<String> = pkg
        .record
        .requires
        .iter()
        .map(|d| d.name.clone())
        .filter(|n| removed.contains(n) && !packages.values().any(|p| provides(&p.record, n)))
        .collect();
    if to_add.is_empty() && dropped.is_empty() {
        return Ok(());
    }
    let at = format!("[packages] meta {meta}");
    let mut input: Box<dyn Read> = match &pkg.from {
        From::Source => Box::new(std::io::BufReader::new(
            source
                .open_file(&format!("/{location}"))
                .map_err(|e| step(&at, e))?,
        )),
        From::Host(path) => Box::new(std::io::BufReader::new(
            crate::input::open(path).map_err(|e| step(&at, format!("{}: {e}", path.display())))?,
        )),
    };
    let trimmed = cx.workdir.join(format!("{meta}.trimmed.rpm"));
    if !dropped.is_empty() {
        let mut out =
            std::io::BufWriter::new(std::fs::File::create(&trimmed).map_err(|e| step(&at, e))?);
        drop_requires(&mut input, &mut out, &dropped).map_err(|e| step(&at, e))?;
        out.flush().map_err(|e| step(&at, e))?;
        drop(out);
        input = Box::new(std::io::BufReader::new(
            std::fs::File::open(&trimmed).map_err(|e| step(&at, e))?,
        ));
        cx.report.steps.push(format!(
            "packages: {meta} no longer requires the removed {}",
            dropped.iter().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    let r = &pkg.record;
    let release = next_release(&r.release);
    let spec = RewriteSpec {
        release: NewRelease::Set(release.clone()),
        add_requires: to_add.iter().map(Dep::any).collect(),
        sign: key.map(|k| (k, time)),
    };
    let new_location = format!(
        "{PACKAGES_DIR}/{}-{}-{release}.{}.rpm",
        r.name, r.version, r.arch
    );
    let path = cx
        .workdir
        .join(format!("{}-{}-{release}.{}.rpm", r.name, r.version, r.arch));
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).map_err(|e| step(&at, e))?);
    let report = rewrite_package(&mut input, &mut out, &spec).map_err(|e| step(&at, e))?;
    out.flush().map_err(|e| step(&at, e))?;
    drop(out);
    let file = read_host_package(&path).map_err(|e| step(&at, e))?;
    let record = Record::from_package(
        &file,
        &new_location,
        cx.time as u64,
        Some(repo::DEFAULT_CHANGELOG_LIMIT),
    );
    packages.remove(&location);
    packages.insert(
        new_location,
        Package {
            from: From::Host(path),
            record,
        },
    );
    cx.report.steps.push(format!(
        "packages: {meta} release {} -> {release}{}",
        report.old_release,
        if report.added.is_empty() {
            String::new()
        } else {
            format!(
                ", requires {}",
                report
                    .added
                    .iter()
                    .map(|d| d.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    ));
    Ok(())
}

/// Copies a package without the requires named in `names`: the main header is re-serialized,
/// the signature header gets fresh digests (and no signatures), the payload is streamed as is.
fn drop_requires(
    input: &mut impl Read,
    output: &mut impl Write,
    names: &BTreeSet<String>,
) -> Result<(), rpm::Error> {
    let mut start = PackageStart::read(input)?;
    let main = &mut start.main;
    let n = main
        .get(REQUIRENAME)
        .map(|e| e.strings())
        .unwrap_or_default();
    let f = main
        .get(REQUIREFLAGS)
        .map(|e| e.int32s())
        .unwrap_or_default();
    let v = main
        .get(REQUIREVERSION)
        .map(|e| e.strings())
        .unwrap_or_default();
    if n.len() != f.len() || n.len() != v.len() {
        return Err(rpm::Error::MalformedHeader {
            part: "main header",
            reason: format!(
                "requires arrays have {}/{}/{} items",
                n.len(),
                f.len(),
                v.len()
            ),
        });
    }
    let keep: Vec<usize> = (0..n.len()).filter(|&i| !names.contains(&n[i])).collect();
    let pick = |xs: &[String]| keep.iter().map(|&i| xs[i].clone()).collect::<Vec<_>>();
    main.set(Entry::string_array(REQUIRENAME, &pick(&n)));
    main.set(Entry::int32(
        REQUIREFLAGS,
        &keep.iter().map(|&i| f[i]).collect::<Vec<_>>(),
    ));
    main.set(Entry::string_array(REQUIREVERSION, &pick(&v)));
    let main_bytes = main.to_bytes();
    let payload_len = start.payload_len();
    let sig = fresh_signature_header(&start.signature, &main_bytes, payload_len);
    let copied = write_package(output, &start.lead, &sig, &main_bytes, input)?;
    check_payload(&start, copied)
}

/// Signs every added package, and every source package that carries no signature at all (the
/// installer would refuse it with its checks on). Rewritten packages are already signed.
fn sign_packages(
    packages: &mut BTreeMap<String, Package>,
    source: &SourceIso,
    key: &SigningKey,
    time: u32,
    cx: &mut Context<'_>,
) -> Result<(), Error> {
    let dir = cx.workdir.join("signed");
    std::fs::create_dir_all(&dir).map_err(whole)?;
    let mut signed = 0usize;
    // Every package is read to see whether it is signed; the unsigned ones are signed.
    let bar = cx.progress.items("signing packages", packages.len() as u64);
    for (location, pkg) in packages.iter_mut() {
        bar.inc(1);
        let at = format!("[signing] {location}");
        // What to sign: added packages (the rewritten meta-package, made in the work folder, is
        // signed already; wrapped driver packages, made there too, are not) and unsigned
        // packages of the source.
        let open = || {
            source
                .open_file(&format!("/{location}"))
                .map(std::io::BufReader::new)
                .map_err(std::io::Error::other)
        };
        let skip = match &pkg.from {
            From::Host(input) => {
                input.starts_with(cx.workdir)
                    && signing::is_signed(&mut std::io::BufReader::new(
                        crate::input::open(input).map_err(|e| step(&at, e))?,
                    ))
                    .map_err(|e| step(&at, e))?
            }
            From::Source => signing::is_signed(&mut open().map_err(|e| step(&at, e))?)
                .map_err(|e| step(&at, e))?,
        };
        if skip {
            continue;
        }
        let path = dir.join(pkg.record.file_name());
        let mut out =
            std::io::BufWriter::new(std::fs::File::create(&path).map_err(|e| step(&at, e))?);
        match &pkg.from {
            From::Host(input) => {
                let mut input =
                    std::io::BufReader::new(crate::input::open(input).map_err(|e| step(&at, e))?);
                sign_package(&mut input, &mut out, key, time).map_err(|e| step(&at, e))?;
            }
            From::Source => {
                sign_package_reopen(open, &mut out, key, time).map_err(|e| step(&at, e))?;
            }
        }
        out.flush().map_err(|e| step(&at, e))?;
        drop(out);
        let file = read_host_package(&path).map_err(|e| step(&at, e))?;
        pkg.record = Record::from_package(
            &file,
            location,
            cx.time as u64,
            Some(repo::DEFAULT_CHANGELOG_LIMIT),
        );
        pkg.from = From::Host(path);
        signed += 1;
    }
    bar.finish();
    let noun = if signed == 1 { "package" } else { "packages" };
    cx.report.steps.push(format!(
        "packages: {signed} {noun} signed with key {}",
        key.fingerprint()
    ));
    Ok(())
}

/// Puts the new and changed packages in the image, removes the gone ones, and writes new
/// repodata (and `repomd.xml.asc` when signing). With `unchanged` the source's repodata is
/// kept (only signed again when there is a key).
#[allow(clippy::too_many_arguments)]
/// Puts the detached signature of `repomd` (repomd.xml's bytes) beside it.
fn sign_repomd(
    source: &mut SourceIso,
    key: &SigningKey,
    repomd: &[u8],
    time: u32,
    cx: &Context<'_>,
) -> Result<(), Error> {
    let asc = key.detached_signature(repomd, time).map_err(whole)?;
    source
        .put_file(REPOMD_ASC, NewContent::Bytes(asc.into_bytes()), cx.datetime)
        .map_err(whole)
}

fn write_repository(
    source: &mut SourceIso,
    packages: &BTreeMap<String, Package>,
    comps: Option<&(String, Vec<u8>)>,
    key: Option<&SigningKey>,
    unchanged: bool,
    time: u32,
    cx: &mut Context<'_>,
) -> Result<(), Error> {
    let mut existing = Vec::new();
    iso::walk(source.tree(), &mut |path, entry| {
        if path.starts_with(&format!("/{PACKAGES_DIR}/"))
            && path.ends_with(".rpm")
            && entry.node().content().is_some()
        {
            existing.push(path.trim_start_matches('/').to_string());
        }
    });
    for location in existing {
        let keep = packages
            .get(&location)
            .is_some_and(|p| p.from == From::Source);
        if !keep {
            source.remove(&format!("/{location}")).map_err(whole)?;
        }
    }
    for (location, pkg) in packages {
        if let From::Host(path) = &pkg.from {
            source
                .put_file(
                    &format!("/{location}"),
                    NewContent::HostFile(path.clone()),
                    cx.datetime,
                )
                .map_err(whole)?;
        }
    }
    if unchanged {
        if let Some(key) = key {
            let repomd_bytes = source.read_file(REPOMD).map_err(whole)?;
            sign_repomd(source, key, &repomd_bytes, time, cx)?;
        }
        cx.report.steps.push(format!(
            "packages: no package changed: the source's repodata is kept{}",
            if key.is_some() {
                ", repomd.xml signed"
            } else {
                ""
            }
        ));
        return Ok(());
    }
    let mut records: Vec<Record> = packages.values().map(|p| p.record.clone()).collect();
    repo::sort_records(&mut records);
    let groups = comps.map(|(name, xml)| GroupsFile { name, xml });
    let files = repo::write_repodata(&records, groups, cx.time as u64).map_err(whole)?;
    if source.exists("/repodata") {
        source.remove("/repodata").map_err(whole)?;
    }
    let mut repomd_bytes = Vec::new();
    for f in &files.files {
        if f.path == "repodata/repomd.xml" {
            repomd_bytes = f.bytes.clone();
        }
        source
            .put_file(
                &format!("/{}", f.path),
                NewContent::Bytes(f.bytes.clone()),
                cx.datetime,
            )
            .map_err(whole)?;
    }
    if let Some(key) = key {
        sign_repomd(source, key, &repomd_bytes, time, cx)?;
    }
    cx.report.steps.push(format!(
        "packages: repodata regenerated for {} packages{}",
        records.len(),
        if key.is_some() {
            ", repomd.xml signed"
        } else {
            ""
        }
    ));
    Ok(())
}

/// Writes our public key at the image root, followed by the source's first key when it is an
/// armored public key (the installer imports the first key file only, and packages the source
/// signed must still verify). Returns the file name.
fn write_key_file(
    source: &mut SourceIso,
    key: &SigningKey,
    cx: &mut Context<'_>,
) -> Result<String, Error> {
    let name = signing::key_file_name(key);
    let mut text = key.public_key_armored().map_err(whole)?.into_bytes();
    if let Ok(t) = source.read_file("/.treeinfo")
        && let Ok(info) = crate::treeinfo::TreeInfo::parse(&String::from_utf8_lossy(&t))
        && let Some((_, first)) = info.options("keys").into_iter().next()
        && first != name
        && let Ok(old) = source.read_file(&format!("/{}", first.trim_start_matches('/')))
        && signing::is_armored_public_key(&old)
    {
        if !text.ends_with(b"\n") {
            text.push(b'\n');
        }
        text.extend_from_slice(&old);
        cx.report.steps.push(format!(
            "packages: key file {name} also carries the source's key {first}"
        ));
    }
    source
        .put_file(&format!("/{name}"), NewContent::Bytes(text), cx.datetime)
        .map_err(whole)?;
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_that_would_make_paths_are_refused() {
        assert!(is_file_name_part("site-tools"));
        assert!(is_file_name_part("1.0"));
        for bad in ["", "..", ".hidden", "a/b", "a\\b", "a b", "a\nb"] {
            assert!(!is_file_name_part(bad), "{bad:?}");
        }
    }

    #[test]
    fn release_suffix_counts_up() {
        assert_eq!(next_release("1.xcpng8.3"), "1.xcpng8.3.remix1");
        assert_eq!(next_release("1.xcpng8.3.remix1"), "1.xcpng8.3.remix2");
        assert_eq!(next_release("1.remixed"), "1.remixed.remix1");
    }
}
