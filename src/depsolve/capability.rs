//! How rpm matches dependencies: a requirement against a provide (names equal and version
//! ranges overlapping), an obsolete against a package, and `rpmlib(...)` requirements against
//! the features rpm 4.11.3 provides.

use std::cmp::Ordering;
use std::fmt;

use crate::repo::{Dep, Record};
use crate::rpm::Evr;

/// The `rpmlib(...)` features rpm 4.11.3 provides, with their versions (its `lib/rpmds.c`
/// `rpmlibProvides` table, every optional feature compiled in as XCP-ng's build has them:
/// bzip2, xz/lzma, lua, file capabilities). Anything else (`rpmlib(PayloadIsZstd)`,
/// `rpmlib(RichDependencies)`...) makes rpm 4.11 refuse the package.
pub const RPMLIB_411: &[(&str, &str)] = &[
    ("rpmlib(VersionedDependencies)", "3.0.3-1"),
    ("rpmlib(CompressedFileNames)", "3.0.4-1"),
    ("rpmlib(PayloadIsBzip2)", "3.0.5-1"),
    ("rpmlib(PayloadIsXz)", "5.2-1"),
    ("rpmlib(PayloadIsLzma)", "4.4.2-1"),
    ("rpmlib(PayloadFilesHavePrefix)", "4.0-1"),
    ("rpmlib(ExplicitPackageProvide)", "4.0-1"),
    ("rpmlib(HeaderLoadSortsTags)", "4.0.1-1"),
    ("rpmlib(ScriptletInterpreterArgs)", "4.0.3-1"),
    ("rpmlib(PartialHardlinkSets)", "4.0.4-1"),
    ("rpmlib(ConcurrentAccess)", "4.1-1"),
    ("rpmlib(BuiltinLuaScripts)", "4.2.2-1"),
    ("rpmlib(FileDigests)", "4.6.0-1"),
    ("rpmlib(FileCaps)", "4.6.1-1"),
    ("rpmlib(ScriptletExpansion)", "4.9.0-1"),
    ("rpmlib(TildeInVersions)", "4.10.0-1"),
];

/// The architectures XCP-ng's dom0 installs.
pub const ARCHES: &[&str] = &["x86_64", "noarch"];

/// The comparison bits of a versioned dependency.
#[derive(Clone, Copy)]
struct Sense {
    less: bool,
    equal: bool,
    greater: bool,
}

fn sense(flags: Option<&str>) -> Option<Sense> {
    let (less, equal, greater) = match flags? {
        "EQ" => (false, true, false),
        "LT" => (true, false, false),
        "GT" => (false, false, true),
        "LE" => (true, true, false),
        "GE" => (false, true, true),
        _ => return None,
    };
    Some(Sense {
        less,
        equal,
        greater,
    })
}

/// The EVR of a versioned dependency; a missing epoch compares as 0, a missing release matches
/// any release.
pub(crate) fn dep_evr(d: &Dep) -> Evr {
    Evr::new(
        d.epoch.as_deref().and_then(|e| e.parse().ok()),
        d.ver.clone().unwrap_or_default(),
        d.rel.clone().unwrap_or_default(),
    )
}

/// The EVR of a package.
pub(crate) fn record_evr(r: &Record) -> Evr {
    Evr::new(
        r.epoch.parse().ok().filter(|e| *e != 0),
        r.version.clone(),
        r.release.clone(),
    )
}

/// What every package provides without saying: `name = E:V-R`.
pub(crate) fn self_provide(r: &Record) -> Dep {
    Dep {
        name: r.name.clone(),
        flags: Some("EQ".into()),
        epoch: Some(r.epoch.clone()),
        ver: Some(r.version.clone()),
        rel: Some(r.release.clone()),
        pre: false,
    }
}

/// Whether the version ranges of `a` and `b` overlap, as rpm's `rpmdsCompare` decides (the
/// names are not compared). A dependency without a version matches every version.
pub(crate) fn ranges_overlap(a: &Dep, b: &Dep) -> bool {
    let (Some(sa), Some(sb)) = (sense(a.flags.as_deref()), sense(b.flags.as_deref())) else {
        return true;
    };
    match dep_evr(a).cmp(&dep_evr(b)) {
        Ordering::Less => sa.greater || sb.less,
        Ordering::Greater => sa.less || sb.greater,
        Ordering::Equal => {
            (sa.equal && sb.equal) || (sa.less && sb.less) || (sa.greater && sb.greater)
        }
    }
}

/// Whether `obsolete` (an `Obsoletes:` entry) names `package`: obsoletes match package names
/// and versions, never other provides.
pub(crate) fn obsoletes(obsolete: &Dep, package: &Record) -> bool {
    obsolete.name == package.name && ranges_overlap(&self_provide(package), obsolete)
}

/// Whether rpm 4.11.3 provides the `rpmlib(...)` feature `req` asks for.
pub(crate) fn rpmlib_provided(req: &Dep) -> bool {
    RPMLIB_411.iter().any(|(name, version)| {
        *name == req.name && {
            let (ver, rel) = version.split_once('-').unwrap_or((version, ""));
            let provide = Dep {
                name: req.name.clone(),
                flags: Some("EQ".into()),
                epoch: None,
                ver: Some(ver.into()),
                rel: (!rel.is_empty()).then(|| rel.into()),
                pre: false,
            };
            ranges_overlap(&provide, req)
        }
    })
}

/// Whether a requirement is an `rpmlib(...)` feature rather than a capability of a package.
pub(crate) fn is_rpmlib(d: &Dep) -> bool {
    d.name.starts_with("rpmlib(")
}

/// A dependency as rpm prints it: `name`, or `name >= [E:]V[-R]`.
pub(crate) struct DepDisplay<'a>(pub &'a Dep);

impl fmt::Display for DepDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        f.write_str(&d.name)?;
        let op = match d.flags.as_deref() {
            Some("EQ") => "=",
            Some("LT") => "<",
            Some("GT") => ">",
            Some("LE") => "<=",
            Some("GE") => ">=",
            _ => return Ok(()),
        };
        write!(f, " {op} ")?;
        if let Some(e) = d.epoch.as_deref().filter(|e| !e.is_empty() && *e != "0") {
            write!(f, "{e}:")?;
        }
        f.write_str(d.ver.as_deref().unwrap_or(""))?;
        if let Some(r) = &d.rel {
            write!(f, "-{r}")?;
        }
        Ok(())
    }
}

/// Parses a request target: a capability name, optionally followed by an operator and a version
/// (`bar >= 1:2.0-1`).
pub(crate) fn parse_target(text: &str) -> Dep {
    let mut words = text.split_whitespace();
    let name = words.next().unwrap_or("").to_string();
    let flags = match words.next() {
        Some("=") | Some("==") => Some("EQ"),
        Some("<") => Some("LT"),
        Some(">") => Some("GT"),
        Some("<=") => Some("LE"),
        Some(">=") => Some("GE"),
        _ => None,
    };
    let evr = words.next().filter(|_| flags.is_some());
    let (epoch, ver, rel) = match evr {
        Some(evr) => {
            let (epoch, rest) = match evr.split_once(':') {
                Some((e, rest)) => (e.to_string(), rest),
                None => ("0".to_string(), evr),
            };
            let (ver, rel) = match rest.split_once('-') {
                Some((v, r)) => (v.to_string(), Some(r.to_string())),
                None => (rest.to_string(), None),
            };
            (Some(epoch), Some(ver), rel)
        }
        None => (None, None, None),
    };
    Dep {
        name,
        flags: evr.and(flags).map(str::to_string),
        epoch,
        ver,
        rel,
        pre: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dep(text: &str) -> Dep {
        parse_target(text)
    }

    #[test]
    fn ranges_overlap_as_rpm_decides() {
        assert!(ranges_overlap(&dep("a = 1.0-1"), &dep("a >= 1.0")));
        assert!(ranges_overlap(&dep("a = 1.0-1"), &dep("a = 1.0")));
        assert!(!ranges_overlap(&dep("a = 1.0-1"), &dep("a > 1.0")));
        assert!(!ranges_overlap(&dep("a = 1.0-1"), &dep("a >= 1:0.5")));
        assert!(ranges_overlap(&dep("a = 2:0.1-1"), &dep("a >= 1:0.5")));
        assert!(ranges_overlap(&dep("a"), &dep("a < 0.1")));
        assert!(ranges_overlap(&dep("a = 1.0-2"), &dep("a")));
        assert!(!ranges_overlap(&dep("a = 1.0-2"), &dep("a < 1.0-2")));
        assert!(ranges_overlap(&dep("a = 1.0-2"), &dep("a <= 1.0-2")));
    }

    #[test]
    fn rpmlib_features_of_rpm_411() {
        assert!(rpmlib_provided(&dep("rpmlib(PayloadIsXz) <= 5.2-1")));
        assert!(rpmlib_provided(&dep(
            "rpmlib(CompressedFileNames) <= 3.0.4-1"
        )));
        assert!(!rpmlib_provided(&dep("rpmlib(PayloadIsZstd) <= 5.4.18-1")));
        assert!(!rpmlib_provided(&dep(
            "rpmlib(RichDependencies) <= 4.12.0-1"
        )));
        // A feature asked for in a newer version than 4.11.3 has.
        assert!(!rpmlib_provided(&dep("rpmlib(FileDigests) >= 4.7")));
    }

    #[test]
    fn dependencies_print_as_rpm_prints_them() {
        assert_eq!(
            DepDisplay(&dep("bar >= 1:2.0-1")).to_string(),
            "bar >= 1:2.0-1"
        );
        assert_eq!(DepDisplay(&dep("bar <= 2.0")).to_string(), "bar <= 2.0");
        assert_eq!(DepDisplay(&dep("/bin/sh")).to_string(), "/bin/sh");
    }
}
