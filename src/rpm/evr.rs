//! rpm's version ordering: `rpmvercmp` on version strings, and epoch:version-release triples.

use std::cmp::Ordering;
use std::fmt;

use super::Error;

/// Compares two version (or release) strings the way rpm's `rpmvercmp` does.
///
/// The strings are split into runs of digits and runs of letters; any other character only
/// separates runs. Digit runs compare numerically and sort above letter runs; `~` sorts before
/// anything, even the end of the string (`1.0~rc1 < 1.0`); `^` sorts after the end of the
/// string but before anything else (`1.0 < 1.0^git1 < 1.0.1`).
pub fn rpmvercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (mut one, mut two) = (a.as_bytes(), b.as_bytes());
    let is_sep = |c: u8| !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';
    loop {
        while one.first().is_some_and(|&c| is_sep(c)) {
            one = &one[1..];
        }
        while two.first().is_some_and(|&c| is_sep(c)) {
            two = &two[1..];
        }
        let (c1, c2) = (one.first().copied(), two.first().copied());
        if c1 == Some(b'~') || c2 == Some(b'~') {
            if c1 != Some(b'~') {
                return Ordering::Greater;
            }
            if c2 != Some(b'~') {
                return Ordering::Less;
            }
            one = &one[1..];
            two = &two[1..];
            continue;
        }
        if c1 == Some(b'^') || c2 == Some(b'^') {
            if c1.is_none() {
                return Ordering::Less;
            }
            if c2.is_none() {
                return Ordering::Greater;
            }
            if c1 != Some(b'^') {
                return Ordering::Greater;
            }
            if c2 != Some(b'^') {
                return Ordering::Less;
            }
            one = &one[1..];
            two = &two[1..];
            continue;
        }
        let (Some(c1), Some(_)) = (c1, c2) else {
            break;
        };
        let numeric = c1.is_ascii_digit();
        let take = |s: &[u8]| {
            s.iter()
                .take_while(|c| {
                    if numeric {
                        c.is_ascii_digit()
                    } else {
                        c.is_ascii_alphabetic()
                    }
                })
                .count()
        };
        let (n1, n2) = (take(one), take(two));
        let (seg1, seg2) = (&one[..n1], &two[..n2]);
        if seg2.is_empty() {
            // Different kinds of segment: a number is newer than letters.
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let ord = if numeric {
            fn strip(s: &[u8]) -> &[u8] {
                let zeros = s.iter().take_while(|&&c| c == b'0').count();
                &s[zeros..]
            }
            let (d1, d2) = (strip(seg1), strip(seg2));
            d1.len().cmp(&d2.len()).then_with(|| d1.cmp(d2))
        } else {
            seg1.cmp(seg2)
        };
        if ord != Ordering::Equal {
            return ord;
        }
        one = &one[n1..];
        two = &two[n2..];
    }
    match (one.is_empty(), two.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, _) => Ordering::Greater,
    }
}

/// An epoch, version and release, ordered as rpm orders packages.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Evr {
    /// The epoch; `None` when the package has no epoch tag (compares as 0).
    pub epoch: Option<u32>,
    /// The version.
    pub version: String,
    /// The release; may be empty in a dependency that names only a version.
    pub release: String,
}

impl Evr {
    /// Makes an EVR from its parts.
    pub fn new(epoch: Option<u32>, version: impl Into<String>, release: impl Into<String>) -> Self {
        Evr {
            epoch,
            version: version.into(),
            release: release.into(),
        }
    }

    /// Parses `[epoch:]version[-release]` as found in dependency versions.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let invalid = |reason| Error::InvalidField {
            field: "EVR",
            value: text.to_string(),
            reason,
        };
        let (epoch, rest) = match text.split_once(':') {
            Some((e, rest)) => {
                let e: u32 = e
                    .parse()
                    .map_err(|_| invalid("the epoch is not a number"))?;
                (Some(e), rest)
            }
            None => (None, text),
        };
        let (version, release) = match rest.rsplit_once('-') {
            Some((v, r)) => (v, r),
            None => (rest, ""),
        };
        check_version_chars("version", version)?;
        if !release.is_empty() {
            check_version_chars("release", release)?;
        }
        Ok(Evr::new(epoch, version, release))
    }
}

impl Ord for Evr {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .unwrap_or(0)
            .cmp(&other.epoch.unwrap_or(0))
            .then_with(|| rpmvercmp(&self.version, &other.version))
            .then_with(|| {
                if self.release.is_empty() || other.release.is_empty() {
                    Ordering::Equal
                } else {
                    rpmvercmp(&self.release, &other.release)
                }
            })
    }
}

impl PartialOrd for Evr {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Evr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(e) = self.epoch {
            write!(f, "{e}:")?;
        }
        f.write_str(&self.version)?;
        if !self.release.is_empty() {
            write!(f, "-{}", self.release)?;
        }
        Ok(())
    }
}

/// A package's name, EVR and architecture.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Nevra {
    /// The package name.
    pub name: String,
    /// Epoch, version, release.
    pub evr: Evr,
    /// The architecture (`x86_64`, `noarch`...).
    pub arch: String,
}

impl Nevra {
    /// Makes a NEVRA, checking the name, version and release use only characters rpm allows.
    pub fn new(name: &str, evr: Evr, arch: &str) -> Result<Self, Error> {
        check_name("name", name)?;
        check_version_chars("version", &evr.version)?;
        check_version_chars("release", &evr.release)?;
        check_version_chars("arch", arch)?;
        Ok(Nevra {
            name: name.to_string(),
            evr,
            arch: arch.to_string(),
        })
    }

    /// Parses `name-[epoch:]version-release.arch`, optionally followed by `.rpm` (a package
    /// file name).
    pub fn parse(text: &str) -> Result<Self, Error> {
        let invalid = |reason| Error::InvalidField {
            field: "NEVRA",
            value: text.to_string(),
            reason,
        };
        let base = text.strip_suffix(".rpm").unwrap_or(text);
        let (nvr, arch) = base
            .rsplit_once('.')
            .ok_or_else(|| invalid("no .arch suffix"))?;
        let (nv, release) = nvr.rsplit_once('-').ok_or_else(|| invalid("no -release"))?;
        let (name, ev) = nv.rsplit_once('-').ok_or_else(|| invalid("no -version"))?;
        let (epoch, version) = match ev.split_once(':') {
            Some((e, v)) => (
                Some(
                    e.parse()
                        .map_err(|_| invalid("the epoch is not a number"))?,
                ),
                v,
            ),
            None => (None, ev),
        };
        Nevra::new(name, Evr::new(epoch, version, release), arch)
    }

    /// Whether `self` may replace `installed`: same name and a strictly higher EVR.
    /// The packages layer uses this to refuse downgrades.
    pub fn is_upgrade_of(&self, installed: &Nevra) -> bool {
        self.name == installed.name && self.evr > installed.evr
    }
}

impl fmt::Display for Nevra {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}.{}", self.name, self.evr, self.arch)
    }
}

/// Checks a package or dependency name: rpmbuild allows ASCII letters and digits and
/// `._+-`, starting with a letter, digit or `_`.
pub(crate) fn check_name(field: &'static str, name: &str) -> Result<(), Error> {
    let invalid = |reason| Error::InvalidField {
        field,
        value: name.to_string(),
        reason,
    };
    let first = name
        .bytes()
        .next()
        .ok_or_else(|| invalid("must not be empty"))?;
    if !(first.is_ascii_alphanumeric() || first == b'_') {
        return Err(invalid("must start with a letter, a digit or '_'"));
    }
    if !name
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || b"._+-".contains(&c))
    {
        return Err(invalid(
            "may only contain ASCII letters, digits and '.', '_', '+', '-'",
        ));
    }
    Ok(())
}

/// Checks a version, release or arch: ASCII letters and digits and `._+~^`, no `-`.
pub(crate) fn check_version_chars(field: &'static str, value: &str) -> Result<(), Error> {
    let invalid = |reason| Error::InvalidField {
        field,
        value: value.to_string(),
        reason,
    };
    if value.is_empty() {
        return Err(invalid("must not be empty"));
    }
    if !value
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || b"._+~^".contains(&c))
    {
        return Err(invalid(
            "may only contain ASCII letters, digits and '.', '_', '+', '~', '^'",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_orderings() {
        use Ordering::*;
        for (a, b, want) in [
            ("1.0", "1.0", Equal),
            ("1.0", "2.0", Less),
            ("1.0a", "1.0", Greater),
            ("1.0~rc1", "1.0", Less),
            ("1.0^git1", "1.0", Greater),
            ("1.0^git1", "1.0.1", Less),
            ("10", "9", Greater),
            ("010", "10", Equal),
            ("a", "1", Less),
            ("1.0.", "1.0", Equal),
        ] {
            assert_eq!(rpmvercmp(a, b), want, "{a} vs {b}");
        }
    }

    #[test]
    fn nevra_parses_file_names() {
        let n = Nevra::parse("kernel-4.19.19-8.0.10.xcpng8.3.x86_64.rpm").unwrap();
        assert_eq!(n.name, "kernel");
        assert_eq!(n.evr, Evr::new(None, "4.19.19", "8.0.10.xcpng8.3"));
        assert_eq!(n.arch, "x86_64");
        let m = Nevra::parse("xcp-ng-deps-1:8.3-5.noarch").unwrap();
        assert_eq!(m.name, "xcp-ng-deps");
        assert_eq!(m.evr.epoch, Some(1));
        assert_eq!(m.to_string(), "xcp-ng-deps-1:8.3-5.noarch");
        let newer = Nevra::parse("xcp-ng-deps-1:8.3-5.remix1.noarch").unwrap();
        assert!(newer.is_upgrade_of(&m) && !m.is_upgrade_of(&newer));
        assert!(Nevra::parse("noversion.x86_64").is_err());
        assert!(Nevra::parse("bad name-1-1.x86_64").is_err());
    }

    #[test]
    fn epoch_dominates() {
        let a = Evr::parse("1:1.0-1").unwrap();
        let b = Evr::parse("2.0-1").unwrap();
        assert!(a > b);
        assert_eq!(a.to_string(), "1:1.0-1");
    }
}
