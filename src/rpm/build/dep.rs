//! Dependencies of a built package (`Requires`, `Provides`...): a name, a comparison and a
//! version, checked as rpm would have them.

use ::rpm::{Dependency, DependencyFlags};

use super::check_path;
use crate::rpm::Error;

/// How a dependency constrains the version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepCmp {
    /// Any version (no version given).
    Any,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `=`
    Eq,
    /// `>=`
    Ge,
    /// `>`
    Gt,
}

impl DepCmp {
    /// The rpm dependency sense bits (`RPMSENSE_LESS` 2, `GREATER` 4, `EQUAL` 8).
    pub fn sense_bits(self) -> u32 {
        match self {
            DepCmp::Any => 0,
            DepCmp::Lt => 2,
            DepCmp::Le => 2 | 8,
            DepCmp::Eq => 8,
            DepCmp::Ge => 4 | 8,
            DepCmp::Gt => 4,
        }
    }

    fn flags(self) -> DependencyFlags {
        DependencyFlags::from_bits_truncate(self.sense_bits())
    }
}

/// A dependency: `name`, or `name <cmp> evr`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dep {
    /// The capability name (package name, virtual provide or absolute file path).
    pub name: String,
    /// The comparison; [`DepCmp::Any`] with an empty `evr` for an unversioned dependency.
    pub cmp: DepCmp,
    /// `[epoch:]version[-release]`, empty when `cmp` is [`DepCmp::Any`].
    pub evr: String,
}

impl Dep {
    /// An unversioned dependency.
    pub fn any(name: impl Into<String>) -> Self {
        Dep {
            name: name.into(),
            cmp: DepCmp::Any,
            evr: String::new(),
        }
    }

    /// A versioned dependency.
    pub fn versioned(name: impl Into<String>, cmp: DepCmp, evr: impl Into<String>) -> Self {
        Dep {
            name: name.into(),
            cmp,
            evr: evr.into(),
        }
    }

    /// Checks the name and version use only characters rpm accepts in a dependency.
    pub fn validate(&self) -> Result<(), Error> {
        if self.name.starts_with('/') {
            check_path("dependency path", &self.name)?;
        } else {
            check_dep_name(&self.name)?;
        }
        match (self.cmp, self.evr.is_empty()) {
            (DepCmp::Any, true) => Ok(()),
            (DepCmp::Any, false) => Err(Error::InvalidField {
                field: "dependency version",
                value: self.evr.clone(),
                reason: "a version needs a comparison",
            }),
            (_, true) => Err(Error::InvalidField {
                field: "dependency version",
                value: self.name.clone(),
                reason: "a comparison needs a version",
            }),
            (_, false) => crate::rpm::Evr::parse(&self.evr).map(|_| ()),
        }
    }

    pub(crate) fn to_crate(&self) -> Dependency {
        let mut d = Dependency::any(self.name.clone());
        d.flags = self.cmp.flags();
        d.version = self.evr.clone();
        d
    }
}

/// Dependency names may also hold parentheses (`kernel(foo)`, `config(bar)`), as rpm's do.
fn check_dep_name(name: &str) -> Result<(), Error> {
    let invalid = |reason| Error::InvalidField {
        field: "dependency name",
        value: name.to_string(),
        reason,
    };
    if name.is_empty() {
        return Err(invalid("must not be empty"));
    }
    if name
        .bytes()
        .any(|c| c.is_ascii_whitespace() || c.is_ascii_control() || b",<>=".contains(&c))
    {
        return Err(invalid(
            "must not contain whitespace, control characters or ',<>='",
        ));
    }
    Ok(())
}
