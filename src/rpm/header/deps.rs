//! The dependency lists: the name, flags and version tags of each kind.

use rpm::{IndexTag, PackageMetadata};

use super::{Dependency, Error};

/// Name, flags and version tags of one dependency kind.
pub(super) type DepTags = (IndexTag, IndexTag, IndexTag, &'static str);

pub(super) const DEP_PROVIDES: DepTags = (
    IndexTag::RPMTAG_PROVIDENAME,
    IndexTag::RPMTAG_PROVIDEFLAGS,
    IndexTag::RPMTAG_PROVIDEVERSION,
    "PROVIDENAME/FLAGS/VERSION",
);
pub(super) const DEP_REQUIRES: DepTags = (
    IndexTag::RPMTAG_REQUIRENAME,
    IndexTag::RPMTAG_REQUIREFLAGS,
    IndexTag::RPMTAG_REQUIREVERSION,
    "REQUIRENAME/FLAGS/VERSION",
);
pub(super) const DEP_CONFLICTS: DepTags = (
    IndexTag::RPMTAG_CONFLICTNAME,
    IndexTag::RPMTAG_CONFLICTFLAGS,
    IndexTag::RPMTAG_CONFLICTVERSION,
    "CONFLICTNAME/FLAGS/VERSION",
);
pub(super) const DEP_OBSOLETES: DepTags = (
    IndexTag::RPMTAG_OBSOLETENAME,
    IndexTag::RPMTAG_OBSOLETEFLAGS,
    IndexTag::RPMTAG_OBSOLETEVERSION,
    "OBSOLETENAME/FLAGS/VERSION",
);
pub(super) const DEP_SUGGESTS: DepTags = (
    IndexTag::RPMTAG_SUGGESTNAME,
    IndexTag::RPMTAG_SUGGESTFLAGS,
    IndexTag::RPMTAG_SUGGESTVERSION,
    "SUGGESTNAME/FLAGS/VERSION",
);
pub(super) const DEP_ENHANCES: DepTags = (
    IndexTag::RPMTAG_ENHANCENAME,
    IndexTag::RPMTAG_ENHANCEFLAGS,
    IndexTag::RPMTAG_ENHANCEVERSION,
    "ENHANCENAME/FLAGS/VERSION",
);
pub(super) const DEP_RECOMMENDS: DepTags = (
    IndexTag::RPMTAG_RECOMMENDNAME,
    IndexTag::RPMTAG_RECOMMENDFLAGS,
    IndexTag::RPMTAG_RECOMMENDVERSION,
    "RECOMMENDNAME/FLAGS/VERSION",
);
pub(super) const DEP_SUPPLEMENTS: DepTags = (
    IndexTag::RPMTAG_SUPPLEMENTNAME,
    IndexTag::RPMTAG_SUPPLEMENTFLAGS,
    IndexTag::RPMTAG_SUPPLEMENTVERSION,
    "SUPPLEMENTNAME/FLAGS/VERSION",
);

pub(super) const DEP_OLDSUGGESTS: DepTags = (
    IndexTag::RPMTAG_OLDSUGGESTSNAME,
    IndexTag::RPMTAG_OLDSUGGESTSFLAGS,
    IndexTag::RPMTAG_OLDSUGGESTSVERSION,
    "OLDSUGGESTSNAME/FLAGS/VERSION",
);
pub(super) const DEP_OLDENHANCES: DepTags = (
    IndexTag::RPMTAG_OLDENHANCESNAME,
    IndexTag::RPMTAG_OLDENHANCESFLAGS,
    IndexTag::RPMTAG_OLDENHANCESVERSION,
    "OLDENHANCESNAME/FLAGS/VERSION",
);

/// Reads one dependency kind; absent tags give an empty list.
pub(super) fn dependencies(
    meta: &PackageMetadata,
    tags: DepTags,
) -> Result<Vec<Dependency>, Error> {
    let h = &meta.header;
    let (name_tag, flags_tag, version_tag, what) = tags;
    let Ok(names) = h.get_entry_data_as_string_array(name_tag) else {
        return Ok(Vec::new());
    };
    let flags = h.get_entry_data_as_u32_array(flags_tag).unwrap_or_default();
    let versions = h
        .get_entry_data_as_string_array(version_tag)
        .unwrap_or_default();
    if flags.len() != names.len() || versions.len() != names.len() {
        return Err(Error::ArrayMismatch { what });
    }
    Ok(names
        .iter()
        .zip(flags)
        .zip(versions)
        .map(|((name, flags), version)| Dependency {
            name: (*name).to_owned(),
            flags,
            version: version.to_owned(),
        })
        .collect())
}
