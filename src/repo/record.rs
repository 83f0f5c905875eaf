//! A package record: everything one package contributes to primary.xml, filelists.xml and
//! other.xml, in the form createrepo_c writes it.
//!
//! [`Record::from_package`] applies createrepo_c's rules to a package header: `rpmlib(...)`
//! requirements dropped, requirements on the package's own "primary" files dropped, requirements
//! already satisfied by an identical provide dropped, duplicate requirements dropped, only the
//! highest `libc.so.6(...)` requirement kept (last), `pre="1"` for `%pre`/`%post`/PreReq needs,
//! legacy weak requirements (`MISSINGOK`) turned into recommends, legacy suggests/enhances
//! split into suggests/recommends and enhances/supplements by their strong flag, dependencies with a
//! non-numeric epoch dropped, and the changelog cut to its newest entries, oldest first, with
//! entries of equal time made distinct by adding seconds to the newer ones.

use std::collections::{BTreeMap, BTreeSet};

use crate::rpm::header::{
    self, FileKind, PackageFile, SENSE_EQUAL, SENSE_GREATER, SENSE_LESS, SENSE_MISSINGOK,
    SENSE_PREREQ, SENSE_SCRIPT_POST, SENSE_SCRIPT_PRE, SENSE_STRONG,
};

/// The number of changelog entries createrepo_c keeps by default.
pub const DEFAULT_CHANGELOG_LIMIT: usize = 10;

/// A dependency as repodata writes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dep {
    /// Capability name.
    pub name: String,
    /// `EQ`, `LT`, `GT`, `LE` or `GE`; `None` for an unversioned dependency.
    pub flags: Option<String>,
    /// Epoch, when the dependency is versioned.
    pub epoch: Option<String>,
    /// Version.
    pub ver: Option<String>,
    /// Release.
    pub rel: Option<String>,
    /// `pre="1"` (only meaningful for requires).
    pub pre: bool,
}

/// One file of the package as repodata lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordFile {
    /// Absolute path.
    pub path: String,
    /// Directory, ghost or plain file.
    pub kind: FileKind,
}

/// One changelog entry as other.xml writes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Changelog {
    /// Author line, trailing spaces removed.
    pub author: String,
    /// Seconds since the epoch (possibly bumped to be distinct).
    pub date: u64,
    /// Text.
    pub text: String,
}

/// A package record: the data of one `<package>` in each of primary, filelists and other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Package name.
    pub name: String,
    /// Architecture.
    pub arch: String,
    /// Epoch as written (decimal).
    pub epoch: String,
    /// Version.
    pub version: String,
    /// Release.
    pub release: String,
    /// SHA-256 of the package file, lowercase hex (the pkgid).
    pub pkgid: String,
    /// Summary.
    pub summary: String,
    /// Description.
    pub description: String,
    /// Packager.
    pub packager: String,
    /// URL.
    pub url: String,
    /// `time file`: chosen by the caller (createrepo_c uses the file's mtime).
    pub time_file: u64,
    /// `time build`.
    pub time_build: u64,
    /// Size of the package file.
    pub size_package: u64,
    /// Installed size.
    pub size_installed: u64,
    /// Payload archive size.
    pub size_archive: u64,
    /// Location of the package relative to the repository root (`Packages/x.rpm`).
    pub location_href: String,
    /// License.
    pub license: String,
    /// Vendor.
    pub vendor: String,
    /// RPM group.
    pub group: String,
    /// Build host.
    pub buildhost: String,
    /// Source RPM.
    pub sourcerpm: String,
    /// Main header start offset.
    pub header_start: u64,
    /// Main header end offset.
    pub header_end: u64,
    /// Provides.
    pub provides: Vec<Dep>,
    /// Requires (filtered as createrepo_c does).
    pub requires: Vec<Dep>,
    /// Conflicts.
    pub conflicts: Vec<Dep>,
    /// Obsoletes.
    pub obsoletes: Vec<Dep>,
    /// Suggests.
    pub suggests: Vec<Dep>,
    /// Enhances.
    pub enhances: Vec<Dep>,
    /// Recommends.
    pub recommends: Vec<Dep>,
    /// Supplements.
    pub supplements: Vec<Dep>,
    /// All files (primary.xml lists only those for which `is_primary_file` holds).
    pub files: Vec<RecordFile>,
    /// Changelog, oldest first.
    pub changelogs: Vec<Changelog>,
}

/// Whether a file is listed in primary.xml: under `/etc/`, `/usr/lib/sendmail`, or any path
/// containing `bin/`.
pub fn is_primary_file(path: &str) -> bool {
    path.starts_with("/etc/") || path == "/usr/lib/sendmail" || path.contains("bin/")
}

/// The repodata name of dependency sense flags (only the comparison bits count).
pub fn flags_name(flags: u32) -> Option<&'static str> {
    match flags & 0xf {
        f if f == SENSE_LESS => Some("LT"),
        f if f == SENSE_GREATER => Some("GT"),
        f if f == SENSE_EQUAL => Some("EQ"),
        f if f == SENSE_LESS | SENSE_EQUAL => Some("LE"),
        f if f == SENSE_GREATER | SENSE_EQUAL => Some("GE"),
        _ => None,
    }
}

/// Epoch, version and release of a dependency version string, as createrepo_c splits it.
/// `None` when the epoch is not numeric (createrepo_c drops such dependencies).
fn split_evr(s: &str) -> Option<(Option<String>, Option<String>, Option<String>)> {
    if s.is_empty() {
        return Some((None, None, None));
    }
    let (epoch, rest) = match s.split_once(':') {
        Some((e, rest)) if e.bytes().all(|b| b.is_ascii_digit()) => {
            let epoch = if e.is_empty() { "0" } else { e };
            (epoch.to_string(), rest)
        }
        Some(_) => return None,
        None => ("0".to_string(), s),
    };
    let (ver, rel) = match rest.split_once('-') {
        Some((v, r)) => (v.to_string(), (!r.is_empty()).then(|| r.to_string())),
        None => (rest.to_string(), None),
    };
    Some((Some(epoch), Some(ver), rel))
}

/// Converts one header dependency; `None` when createrepo_c would drop it for a bad epoch.
pub(crate) fn dep(d: &header::Dependency, pre: bool) -> Option<Dep> {
    let (epoch, ver, rel) = split_evr(&d.version)?;
    Some(Dep {
        name: d.name.clone(),
        flags: flags_name(d.flags).map(str::to_string),
        epoch,
        ver,
        rel,
        pre,
    })
}

/// Converts a list of non-require dependencies.
fn deps(list: &[header::Dependency]) -> Vec<Dep> {
    list.iter().filter_map(|d| dep(d, false)).collect()
}

/// The dependency's "name + flags + version" key createrepo_c uses to match provides.
fn nfv_key(d: &header::Dependency) -> String {
    format!(
        "{}{}{}",
        d.name,
        flags_name(d.flags).unwrap_or(""),
        d.version
    )
}

/// Version inside the first parentheses of a `libc.so.6(...)` name, for ordering.
fn libc_version(name: &str) -> Option<&str> {
    let open = name.find('(')?;
    let rest = name.get(open + 1..)?;
    let close = rest.find(')')?;
    let inner = rest.get(..close)?;
    let digit = inner.find(|c: char| c.is_ascii_digit())?;
    inner.get(digit..)
}

/// Whether `b` is a strictly higher `libc.so.6(...)` requirement than `a`.
fn libc_higher(a: &str, b: &str) -> bool {
    match (libc_version(a), libc_version(b)) {
        (None, None) => false,
        (None, Some(_)) => true,
        (Some(_), None) => false,
        (Some(va), Some(vb)) => crate::rpm::evr::rpmvercmp(vb, va) == std::cmp::Ordering::Greater,
    }
}

/// Filters requirements as createrepo_c does; returns (requires, extra recommends).
fn requires(h: &header::PackageHeader) -> (Vec<Dep>, Vec<Dep>) {
    let own_files: BTreeSet<&str> = h.files.iter().map(|f| f.path.as_str()).collect();
    let provided: BTreeSet<String> = h.provides.iter().map(nfv_key).collect();
    // name -> (flags, version, pre) of the last kept requirement of that name
    let mut seen: BTreeMap<&str, (Option<&str>, &str, bool)> = BTreeMap::new();
    let mut out = Vec::new();
    let mut recommends = Vec::new();
    let mut libc: Option<Dep> = None;
    for r in &h.requires {
        let name = r.name.as_str();
        if name.starts_with("rpmlib(") {
            continue;
        }
        if name.starts_with('/') && own_files.contains(name) && is_primary_file(name) {
            continue;
        }
        if provided.contains(&nfv_key(r)) {
            continue;
        }
        let pre = r.flags & (SENSE_PREREQ | SENSE_SCRIPT_PRE | SENSE_SCRIPT_POST) != 0;
        let flags = flags_name(r.flags);
        if let Some(&(f, v, p)) = seen.get(name)
            && f == flags
            && v == r.version
            && p == pre
        {
            continue;
        }
        let Some(mut d) = dep(r, false) else {
            continue;
        };
        if r.flags & SENSE_MISSINGOK != 0 {
            recommends.push(d);
            continue;
        }
        d.pre = pre;
        if d.name.starts_with("libc.so.6") {
            match &libc {
                Some(best) if !libc_higher(&best.name, &d.name) => {}
                _ => libc = Some(d),
            }
            continue;
        }
        seen.insert(name, (flags, r.version.as_str(), pre));
        out.push(d);
    }
    out.extend(libc);
    (out, recommends)
}

/// The changelog as other.xml lists it: the newest `limit` entries (all with `None`), oldest
/// first, authors without trailing spaces, equal times made distinct.
fn changelogs(entries: &[header::ChangelogEntry], limit: Option<usize>) -> Vec<Changelog> {
    let take = limit.unwrap_or(usize::MAX);
    let mut processed: Vec<Changelog> = Vec::new();
    let mut last_time = 0u64;
    for e in entries.iter().take(take) {
        let mut author = e.author.clone();
        let keep = author.trim_end_matches(' ').len().max(1.min(author.len()));
        author.truncate(keep);
        if e.time == last_time {
            let mut t = e.time;
            for prev in processed.iter_mut().rev() {
                if prev.date == t {
                    prev.date += 1;
                    t += 1;
                } else {
                    break;
                }
            }
        } else {
            last_time = e.time;
        }
        processed.push(Changelog {
            author,
            date: e.time,
            text: e.text.clone(),
        });
    }
    processed.reverse();
    processed
}

impl Record {
    /// Builds the record of a package read with [`header::read_package`].
    ///
    /// `location_href` is the package path relative to the repository root, `time_file` the
    /// value for `<time file=...>` (createrepo_c uses the file's mtime; pass a fixed time for
    /// reproducible output), `changelog_limit` the number of newest changelog entries kept
    /// (`Some(DEFAULT_CHANGELOG_LIMIT)` as createrepo_c, `None` for all).
    pub fn from_package(
        pkg: &PackageFile,
        location_href: &str,
        time_file: u64,
        changelog_limit: Option<usize>,
    ) -> Record {
        let h = &pkg.header;
        let (requires, legacy_recommends) = requires(h);
        let strong = |list: &[header::Dependency], want: bool| -> Vec<header::Dependency> {
            list.iter()
                .filter(|d| (d.flags & SENSE_STRONG != 0) == want)
                .cloned()
                .collect()
        };
        let mut recommends = legacy_recommends;
        recommends.extend(deps(&h.recommends));
        recommends.extend(deps(&strong(&h.old_suggests, true)));
        let mut suggests = deps(&h.suggests);
        suggests.extend(deps(&strong(&h.old_suggests, false)));
        let mut enhances = deps(&h.enhances);
        enhances.extend(deps(&strong(&h.old_enhances, false)));
        let mut supplements = deps(&h.supplements);
        supplements.extend(deps(&strong(&h.old_enhances, true)));
        Record {
            name: h.name.clone(),
            arch: h.arch.clone(),
            epoch: h.epoch.to_string(),
            version: h.version.clone(),
            release: h.release.clone(),
            pkgid: pkg.sha256.clone(),
            summary: h.summary.clone(),
            description: h.description.clone(),
            packager: h.packager.clone(),
            url: h.url.clone(),
            time_file,
            time_build: h.build_time,
            size_package: pkg.size,
            size_installed: h.installed_size,
            size_archive: h.archive_size,
            location_href: location_href.to_string(),
            license: h.license.clone(),
            vendor: h.vendor.clone(),
            group: h.group.clone(),
            buildhost: h.buildhost.clone(),
            sourcerpm: h.sourcerpm.clone(),
            header_start: h.header_start,
            header_end: h.header_end,
            provides: deps(&h.provides),
            requires,
            conflicts: deps(&h.conflicts),
            obsoletes: deps(&h.obsoletes),
            suggests,
            enhances,
            recommends,
            supplements,
            files: h
                .files
                .iter()
                .map(|f| RecordFile {
                    path: f.path.clone(),
                    kind: f.kind,
                })
                .collect(),
            changelogs: changelogs(&h.changelog, changelog_limit),
        }
    }

    /// The package file name (last component of `location_href`).
    pub fn file_name(&self) -> &str {
        self.location_href
            .rsplit('/')
            .next()
            .unwrap_or(&self.location_href)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering;

    #[test]
    fn vercmp_basics() {
        assert_eq!(
            crate::rpm::evr::rpmvercmp("2.4", "2.3.4"),
            Ordering::Greater
        );
        assert_eq!(crate::rpm::evr::rpmvercmp("1.0", "1.0"), Ordering::Equal);
        assert_eq!(crate::rpm::evr::rpmvercmp("1.0~rc1", "1.0"), Ordering::Less);
        assert_eq!(crate::rpm::evr::rpmvercmp("1.0a", "1.0"), Ordering::Greater);
        assert_eq!(crate::rpm::evr::rpmvercmp("10", "9"), Ordering::Greater);
    }

    #[test]
    fn evr_split_like_createrepo() {
        assert_eq!(
            split_evr("1:2.0-3"),
            Some((Some("1".into()), Some("2.0".into()), Some("3".into())))
        );
        assert_eq!(
            split_evr("2.0"),
            Some((Some("0".into()), Some("2.0".into()), None))
        );
        assert_eq!(split_evr("x:2.0"), None);
        assert_eq!(split_evr(""), Some((None, None, None)));
    }

    #[test]
    fn equal_changelog_times_are_bumped() {
        let e = |time, author: &str| header::ChangelogEntry {
            time,
            author: author.into(),
            text: String::new(),
        };
        let out = changelogs(&[e(100, "a  "), e(100, "b"), e(50, "c")], None);
        let dates: Vec<u64> = out.iter().map(|c| c.date).collect();
        assert_eq!(dates, vec![50, 100, 101]);
        assert_eq!(out[2].author, "a");
    }
}
